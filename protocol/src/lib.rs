//! The y-websocket wire format (DESIGN.md §2): lib0 varints and the framing of sync, awareness
//! and query-awareness messages. Pure: knows nothing of sockets, documents or rooms.

use bytes::{BufMut, Bytes, BytesMut};

/// Message type of sync messages.
pub const MSG_SYNC: u64 = 0;
/// Message type of awareness updates.
pub const MSG_AWARENESS: u64 = 1;
/// Message type of awareness queries.
pub const MSG_QUERY_AWARENESS: u64 = 3;
/// Message type of the operator's notice to open pads: an ardoise extension, sent by the server
/// only. Its payload is a lib0 `varString` (empty = no notice any more). Stock clients ignore
/// message types they do not know (y-websocket logs and drops them), so they keep working.
pub const MSG_NOTICE: u64 = 100;

const SYNC_STEP1: u64 = 0;
const SYNC_STEP2: u64 = 1;
const SYNC_UPDATE: u64 = 2;

/// One decoded client message. Payloads are zero-copy slices of the received frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// Sync step 1: the sender's encoded state vector.
    SyncStep1(Bytes),
    /// Sync step 2: an encoded v1 update answering a step 1.
    SyncStep2(Bytes),
    /// An encoded v1 update.
    Update(Bytes),
    /// An encoded awareness update.
    Awareness(Bytes),
    /// A request for every known awareness state.
    QueryAwareness,
    /// A message type this server does not handle (ignored, per the protocol).
    Unknown(u64),
}

/// Why a frame is not a valid y-websocket message. Messages are safe to send as close reasons.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ProtocolError {
    /// The frame ended in the middle of a value.
    #[error("message truncated")]
    Truncated,
    /// A varint does not fit in 64 bits.
    #[error("varint too long")]
    VarintOverflow,
    /// A declared length runs past the end of the frame.
    #[error("declared length exceeds message")]
    LengthPastEnd,
    /// A sync message with a subtype other than 0, 1 or 2.
    #[error("unknown sync message subtype {0}")]
    UnknownSyncType(u64),
    /// Bytes remain after a complete message.
    #[error("trailing bytes after message")]
    TrailingBytes,
}

/// A cursor over a lib0-encoded buffer.
#[derive(Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Starts reading `buf` from its first byte.
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// Reads a lib0 `varUint`.
    pub fn var_uint(&mut self) -> Result<u64, ProtocolError> {
        let mut value: u64 = 0;
        let mut shift = 0u32;
        loop {
            let byte = *self.buf.get(self.pos).ok_or(ProtocolError::Truncated)?;
            self.pos += 1;
            let bits = u64::from(byte & 0x7f);
            if shift >= 64 || (shift > 0 && bits >> (64 - shift) != 0) {
                return Err(ProtocolError::VarintOverflow);
            }
            value |= bits << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
            shift += 7;
        }
    }

    /// Reads a lib0 `varUint8Array` (length-prefixed bytes), returning its range in the buffer.
    pub fn var_bytes_range(&mut self) -> Result<std::ops::Range<usize>, ProtocolError> {
        let len = self.var_uint()?;
        let remaining = (self.buf.len() - self.pos) as u64;
        if len > remaining {
            return Err(ProtocolError::LengthPastEnd);
        }
        let start = self.pos;
        self.pos += len as usize;
        Ok(start..self.pos)
    }

    /// Reads a lib0 `varUint8Array`.
    pub fn var_bytes(&mut self) -> Result<&'a [u8], ProtocolError> {
        let range = self.var_bytes_range()?;
        Ok(&self.buf[range])
    }

    /// Fails unless every byte was consumed.
    pub fn finish(&self) -> Result<(), ProtocolError> {
        if self.pos == self.buf.len() {
            Ok(())
        } else {
            Err(ProtocolError::TrailingBytes)
        }
    }
}

/// Appends a lib0 `varUint`.
pub fn put_var_uint(out: &mut BytesMut, mut value: u64) {
    while value >= 0x80 {
        out.put_u8((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.put_u8(value as u8);
}

/// Appends a lib0 `varUint8Array`.
pub fn put_var_bytes(out: &mut BytesMut, bytes: &[u8]) {
    put_var_uint(out, bytes.len() as u64);
    out.put_slice(bytes);
}

/// Decodes one frame into a message; the frame must hold exactly one message.
pub fn decode(frame: &Bytes) -> Result<Message, ProtocolError> {
    let mut r = Reader::new(frame);
    let message = match r.var_uint()? {
        MSG_SYNC => {
            let subtype = r.var_uint()?;
            let payload = frame.slice(r.var_bytes_range()?);
            match subtype {
                SYNC_STEP1 => Message::SyncStep1(payload),
                SYNC_STEP2 => Message::SyncStep2(payload),
                SYNC_UPDATE => Message::Update(payload),
                other => return Err(ProtocolError::UnknownSyncType(other)),
            }
        }
        MSG_AWARENESS => Message::Awareness(frame.slice(r.var_bytes_range()?)),
        MSG_QUERY_AWARENESS => Message::QueryAwareness,
        // Unknown types (y-websocket's auth message among them) are ignored whole.
        other => return Ok(Message::Unknown(other)),
    };
    r.finish()?;
    Ok(message)
}

fn sync_frame(subtype: u64, payload: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(payload.len() + 8);
    put_var_uint(&mut out, MSG_SYNC);
    put_var_uint(&mut out, subtype);
    put_var_bytes(&mut out, payload);
    out.freeze()
}

/// Encodes a sync step 1 carrying an encoded state vector.
pub fn sync_step1(state_vector: &[u8]) -> Bytes {
    sync_frame(SYNC_STEP1, state_vector)
}

/// Encodes a sync step 2 carrying an encoded v1 update.
pub fn sync_step2(update: &[u8]) -> Bytes {
    sync_frame(SYNC_STEP2, update)
}

/// Encodes a sync update message carrying an encoded v1 update.
pub fn sync_update(update: &[u8]) -> Bytes {
    sync_frame(SYNC_UPDATE, update)
}

/// Encodes an awareness message carrying an encoded awareness update.
pub fn awareness(update: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(update.len() + 6);
    put_var_uint(&mut out, MSG_AWARENESS);
    put_var_bytes(&mut out, update);
    out.freeze()
}

/// Encodes the operator's notice (`""` withdraws it).
pub fn notice(text: &str) -> Bytes {
    let mut out = BytesMut::with_capacity(text.len() + 6);
    put_var_uint(&mut out, MSG_NOTICE);
    put_var_bytes(&mut out, text.as_bytes());
    out.freeze()
}

/// The text of a notice frame, or `None` if `frame` is not a well-formed notice.
pub fn notice_text(frame: &[u8]) -> Option<&str> {
    let mut r = Reader::new(frame);
    if r.var_uint().ok()? != MSG_NOTICE {
        return None;
    }
    let text = r.var_bytes().ok()?;
    r.finish().ok()?;
    std::str::from_utf8(text).ok()
}

/// Encodes a query-awareness message.
pub fn query_awareness() -> Bytes {
    Bytes::from_static(&[MSG_QUERY_AWARENESS as u8])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn notices_round_trip_and_decode_as_an_unknown_type() {
        let frame = notice("Maintenance à 22 h");
        assert_eq!(notice_text(&frame), Some("Maintenance à 22 h"));
        assert_eq!(notice_text(&notice("")), Some(""));
        assert_eq!(decode(&frame), Ok(Message::Unknown(MSG_NOTICE)));
        assert_eq!(notice_text(&sync_step1(b"sv")), None);
    }

    #[test]
    fn round_trips_every_message() {
        assert_eq!(
            decode(&sync_step1(b"sv")),
            Ok(Message::SyncStep1(Bytes::from_static(b"sv")))
        );
        assert_eq!(
            decode(&sync_step2(b"u")),
            Ok(Message::SyncStep2(Bytes::from_static(b"u")))
        );
        assert_eq!(
            decode(&sync_update(&[7; 300])),
            Ok(Message::Update(Bytes::from(vec![7; 300])))
        );
        assert_eq!(
            decode(&awareness(b"aw")),
            Ok(Message::Awareness(Bytes::from_static(b"aw")))
        );
        assert_eq!(decode(&query_awareness()), Ok(Message::QueryAwareness));
        assert_eq!(
            decode(&Bytes::from_static(&[2, 0, 1])),
            Ok(Message::Unknown(2))
        );
    }

    #[test]
    fn refuses_malformed_frames() {
        let cases: &[(&[u8], ProtocolError)] = &[
            (&[], ProtocolError::Truncated),
            (&[0x80], ProtocolError::Truncated),
            (&[0xff; 11], ProtocolError::VarintOverflow),
            (&[0, 0, 5, 1, 2], ProtocolError::LengthPastEnd),
            (&[0, 7, 0], ProtocolError::UnknownSyncType(7)),
            (&[0, 2, 1, 9, 9], ProtocolError::TrailingBytes),
            (&[3, 0], ProtocolError::TrailingBytes),
            (&[1], ProtocolError::Truncated),
        ];
        for (frame, err) in cases {
            assert_eq!(
                decode(&Bytes::copy_from_slice(frame)).as_ref(),
                Err(err),
                "{frame:?}"
            );
        }
    }

    #[test]
    fn varints_match_lib0() {
        for value in [0u64, 1, 127, 128, 300, u32::MAX as u64, u64::MAX] {
            let mut out = BytesMut::new();
            put_var_uint(&mut out, value);
            assert_eq!(Reader::new(&out).var_uint(), Ok(value));
        }
        let mut out = BytesMut::new();
        put_var_uint(&mut out, 300);
        assert_eq!(&out[..], &[0xac, 0x02]);
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode(&Bytes::from(bytes));
        }

        #[test]
        fn arbitrary_sync_prefixes_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..32), kind in 0u8..4) {
            let mut frame = vec![kind];
            frame.extend(tail);
            let _ = decode(&Bytes::from(frame));
        }
    }
}
