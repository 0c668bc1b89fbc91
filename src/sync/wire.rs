//! WebSocket framing (RFC 6455), without IO: the server's frames, encoded once so a room's
//! broadcast is one buffer every subscriber's socket writes as it is, and the client's frames,
//! parsed under every rule a hostile peer may break (masking, opcodes, fragmentation, control
//! frame limits, a size bound checked from the header, before a byte of payload is buffered).

use bytes::{Buf, BufMut, Bytes, BytesMut};

/// One server frame as it goes on the wire: header and payload in one shared buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    wire: Bytes,
    /// Where the payload starts (after the 2, 4 or 10 header bytes).
    header: u8,
}

const OP_CONTINUATION: u8 = 0x0;
const OP_TEXT: u8 = 0x1;
const OP_BINARY: u8 = 0x2;
const OP_CLOSE: u8 = 0x8;
const OP_PING: u8 = 0x9;
const OP_PONG: u8 = 0xa;

/// Longest payload of a control frame (RFC 6455 §5.5).
const MAX_CONTROL: usize = 125;

/// Most frames one message may be cut into: rate limits count messages and their bytes, so
/// a stream of empty continuation frames must not be free to send (clients cut messages in a
/// few frames if at all).
const MAX_FRAGMENTS: u32 = 1024;

impl Frame {
    /// A binary message (every y-websocket message is one).
    pub fn binary(payload: &[u8]) -> Self {
        Self::encode(OP_BINARY, payload)
    }

    /// A ping (the writer's keep-alive).
    pub fn ping() -> Self {
        Self::encode(OP_PING, &[])
    }

    /// The answer to a client's ping, echoing at most a control frame's payload.
    pub fn pong(payload: &[u8]) -> Self {
        Self::encode(OP_PONG, &payload[..payload.len().min(MAX_CONTROL)])
    }

    /// A close frame with `code` and `reason` (cut to fit a control frame).
    pub fn close(code: u16, reason: &str) -> Self {
        let mut cut = reason.len().min(MAX_CONTROL - 2);
        while !reason.is_char_boundary(cut) {
            cut -= 1;
        }
        let mut payload = Vec::with_capacity(2 + cut);
        payload.extend_from_slice(&code.to_be_bytes());
        payload.extend_from_slice(&reason.as_bytes()[..cut]);
        Self::encode(OP_CLOSE, &payload)
    }

    fn encode(opcode: u8, payload: &[u8]) -> Self {
        let len = payload.len();
        let mut wire = BytesMut::with_capacity(10 + len);
        wire.put_u8(0x80 | opcode);
        if len < 126 {
            wire.put_u8(len as u8);
        } else if let Ok(len) = u16::try_from(len) {
            wire.put_u8(126);
            wire.put_u16(len);
        } else {
            wire.put_u8(127);
            wire.put_u64(len as u64);
        }
        let header = wire.len() as u8;
        wire.extend_from_slice(payload);
        Self {
            wire: wire.freeze(),
            header,
        }
    }

    /// The bytes to write: header and payload.
    pub fn wire(&self) -> &Bytes {
        &self.wire
    }

    /// The message the frame carries.
    pub fn payload(&self) -> &[u8] {
        &self.wire[usize::from(self.header)..]
    }

    /// Bytes on the wire.
    pub fn len(&self) -> usize {
        self.wire.len()
    }

    /// Whether the frame has no bytes at all (never, for an encoded frame).
    pub fn is_empty(&self) -> bool {
        self.wire.is_empty()
    }
}

/// The message of a whole server frame given as its bytes (tests read queues with it).
#[cfg(test)]
pub(crate) fn payload_of(wire: Bytes) -> Bytes {
    let header = match wire[1] & 0x7f {
        126 => 4,
        127 => 10,
        _ => 2,
    };
    wire.slice(header..)
}

/// A complete message from the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A binary message (what y-websocket sends).
    Binary(Bytes),
    /// A text message, of this many bytes (the server refuses them; their content is not kept).
    Text(usize),
    /// A ping to answer with its payload.
    Ping(Bytes),
    /// A pong (an answer to the server's ping).
    Pong(usize),
    /// The client closes.
    Close,
}

/// A frame broke the protocol; the connection must close (1009 or 1002).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// A message or frame over the size bound.
    #[error("message too big")]
    TooBig,
    /// Anything else RFC 6455 forbids.
    #[error("websocket protocol error: {0}")]
    Protocol(&'static str),
}

/// Assembles the client's messages from what the socket gave, frame by frame.
#[derive(Debug)]
pub struct Reader {
    max_message: usize,
    /// A fragmented data message under way: whether it is text, and its payload so far.
    partial: Option<(bool, BytesMut)>,
    /// Frames of the message under way.
    fragments: u32,
}

/// A parsed frame header.
struct Header {
    fin: bool,
    opcode: u8,
    mask: [u8; 4],
    /// Header bytes, including the mask.
    len: usize,
    payload: usize,
}

impl Reader {
    /// A reader refusing messages (and frames) over `max_message` bytes.
    pub fn new(max_message: usize) -> Self {
        Self {
            max_message,
            partial: None,
            fragments: 0,
        }
    }

    /// Takes the next complete message out of `buf`. `Ok(None)`: more bytes are needed, at
    /// least [`Reader::wanted`] in all; nothing is consumed until a frame is whole.
    pub fn next(&mut self, buf: &mut BytesMut) -> Result<Option<Message>, WireError> {
        loop {
            let Some(header) = self.header(buf)? else {
                return Ok(None);
            };
            if buf.len() < header.len + header.payload {
                return Ok(None);
            }
            buf.advance(header.len);
            let mut payload = buf.split_to(header.payload);
            unmask(&mut payload, header.mask);
            match header.opcode {
                OP_CLOSE => return Ok(Some(Message::Close)),
                OP_PING => return Ok(Some(Message::Ping(payload.freeze()))),
                OP_PONG => return Ok(Some(Message::Pong(payload.len()))),
                OP_TEXT | OP_BINARY if header.fin => {
                    return Ok(Some(data(header.opcode == OP_TEXT, payload)));
                }
                OP_TEXT | OP_BINARY => {
                    self.partial = Some((header.opcode == OP_TEXT, payload));
                    self.fragments = 1;
                }
                _ => {
                    // A continuation: `header` checked that a message is under way.
                    let Some((text, mut so_far)) = self.partial.take() else {
                        return Err(WireError::Protocol("continuation without a start"));
                    };
                    self.fragments += 1;
                    if self.fragments > MAX_FRAGMENTS {
                        return Err(WireError::Protocol("message cut into too many frames"));
                    }
                    so_far.unsplit(payload);
                    if header.fin {
                        return Ok(Some(data(text, so_far)));
                    }
                    self.partial = Some((text, so_far));
                }
            }
        }
    }

    /// Bytes `buf` must hold before [`Reader::next`] can take the frame it starts: at least a
    /// header's worth, then the whole frame (bounded by the message size, checked first).
    pub fn wanted(&self, buf: &[u8]) -> Result<usize, WireError> {
        match self.header(buf)? {
            Some(h) => Ok(h.len + h.payload),
            None => Ok(header_len(buf)),
        }
    }

    /// Parses and checks the header at the start of `buf`, if it is all there.
    fn header(&self, buf: &[u8]) -> Result<Option<Header>, WireError> {
        if buf.len() < 2 {
            return Ok(None);
        }
        let (b0, b1) = (buf[0], buf[1]);
        let fin = b0 & 0x80 != 0;
        let opcode = b0 & 0x0f;
        if b0 & 0x70 != 0 {
            return Err(WireError::Protocol("reserved bits set"));
        }
        if b1 & 0x80 == 0 {
            return Err(WireError::Protocol("unmasked client frame"));
        }
        match opcode {
            OP_CLOSE | OP_PING | OP_PONG => {
                if !fin {
                    return Err(WireError::Protocol("fragmented control frame"));
                }
                if usize::from(b1 & 0x7f) > MAX_CONTROL {
                    return Err(WireError::Protocol("control frame too long"));
                }
            }
            OP_TEXT | OP_BINARY if self.partial.is_some() => {
                return Err(WireError::Protocol("new message inside a fragmented one"));
            }
            OP_TEXT | OP_BINARY => {}
            OP_CONTINUATION if self.partial.is_none() => {
                return Err(WireError::Protocol("continuation without a start"));
            }
            OP_CONTINUATION => {}
            _ => return Err(WireError::Protocol("reserved opcode")),
        }
        let len = header_len(buf);
        if buf.len() < len {
            return Ok(None);
        }
        let payload = match b1 & 0x7f {
            126 => u64::from(u16::from_be_bytes([buf[2], buf[3]])),
            127 => {
                let mut n = [0u8; 8];
                n.copy_from_slice(&buf[2..10]);
                u64::from_be_bytes(n)
            }
            n => u64::from(n),
        };
        let so_far = self.partial.as_ref().map_or(0, |(_, p)| p.len()) as u64;
        if payload.saturating_add(so_far) > self.max_message as u64 {
            return Err(WireError::TooBig);
        }
        let mut mask = [0u8; 4];
        mask.copy_from_slice(&buf[len - 4..len]);
        Ok(Some(Header {
            fin,
            opcode,
            mask,
            len,
            // Bounded by `max_message` just above.
            payload: payload as usize,
        }))
    }
}

/// Header length announced by the first two bytes (mask included; 2 if they are not there).
fn header_len(buf: &[u8]) -> usize {
    match buf.get(1).map(|b| b & 0x7f) {
        None => 2,
        Some(126) => 2 + 2 + 4,
        Some(127) => 2 + 8 + 4,
        Some(_) => 2 + 4,
    }
}

fn data(text: bool, payload: BytesMut) -> Message {
    if text {
        Message::Text(payload.len())
    } else {
        Message::Binary(payload.freeze())
    }
}

fn unmask(payload: &mut [u8], mask: [u8; 4]) {
    for (i, b) in payload.iter_mut().enumerate() {
        *b ^= mask[i % 4];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client frame: `first` is the FIN/opcode byte.
    fn client(first: u8, payload: &[u8]) -> Vec<u8> {
        let mask = [9u8, 8, 7, 6];
        let mut f = vec![first];
        let len = payload.len();
        if len < 126 {
            f.push(0x80 | len as u8);
        } else if len <= 0xffff {
            f.push(0x80 | 126);
            f.extend_from_slice(&(len as u16).to_be_bytes());
        } else {
            f.push(0x80 | 127);
            f.extend_from_slice(&(len as u64).to_be_bytes());
        }
        f.extend_from_slice(&mask);
        f.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        f
    }

    fn parse_all(reader: &mut Reader, bytes: &[u8]) -> Result<Vec<Message>, WireError> {
        let mut buf = BytesMut::from(bytes);
        let mut out = Vec::new();
        while let Some(m) = reader.next(&mut buf)? {
            out.push(m);
        }
        Ok(out)
    }

    #[test]
    fn server_frames_use_the_shortest_length_and_keep_their_payload() {
        for (len, header) in [(0, 2), (125, 2), (126, 4), (65535, 4), (65536, 10)] {
            let payload = vec![7u8; len];
            let f = Frame::binary(&payload);
            assert_eq!(f.len(), header + len);
            assert_eq!(f.wire()[0], 0x82);
            assert_eq!(f.payload(), &payload[..]);
        }
        let close = Frame::close(1013, &"é".repeat(100));
        assert_eq!(&close.payload()[..2], &1013u16.to_be_bytes());
        assert_eq!(close.payload().len(), 2 + 122, "cut on a char boundary");
        assert!(std::str::from_utf8(&close.payload()[2..]).is_ok());
    }

    #[test]
    fn messages_come_whole_whatever_the_reads() {
        let mut bytes = client(0x82, b"hello");
        bytes.extend(client(0x89, b"p"));
        bytes.extend(client(0x02, b"frag"));
        bytes.extend(client(0x8a, b""));
        bytes.extend(client(0x80, b"ment"));
        bytes.extend(client(0x82, &vec![1u8; 300]));
        bytes.extend(client(0x88, &1000u16.to_be_bytes()));
        let expected = vec![
            Message::Binary(Bytes::from_static(b"hello")),
            Message::Ping(Bytes::from_static(b"p")),
            Message::Pong(0),
            Message::Binary(Bytes::from_static(b"fragment")),
            Message::Binary(Bytes::from(vec![1u8; 300])),
            Message::Close,
        ];
        assert_eq!(
            parse_all(&mut Reader::new(1000), &bytes),
            Ok(expected.clone())
        );
        // Byte by byte, as the slowest socket would give them.
        let mut reader = Reader::new(1000);
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for b in bytes {
            buf.put_u8(b);
            assert!(reader.wanted(&buf).expect("valid") > 0);
            while let Some(m) = reader.next(&mut buf).expect("valid") {
                got.push(m);
            }
        }
        assert_eq!(got, expected);
        assert!(buf.is_empty());
    }

    #[test]
    fn sizes_are_refused_from_the_header() {
        let reader = Reader::new(100);
        let big = client(0x82, &[0u8; 101]);
        assert_eq!(reader.wanted(&big[..6]), Err(WireError::TooBig));
        let mut huge = vec![0x82, 0x80 | 127];
        huge.extend_from_slice(&u64::MAX.to_be_bytes());
        huge.extend_from_slice(&[0; 4]);
        assert_eq!(reader.wanted(&huge), Err(WireError::TooBig));
        // Fragments count together.
        let mut frags = client(0x02, &[0u8; 60]);
        frags.extend(client(0x80, &[0u8; 60]));
        assert_eq!(
            parse_all(&mut Reader::new(100), &frags),
            Err(WireError::TooBig)
        );
        assert_eq!(
            parse_all(&mut Reader::new(100), &client(0x81, b"text")),
            Ok(vec![Message::Text(4)])
        );
    }

    #[test]
    fn empty_fragments_are_bounded() {
        let mut bytes = client(0x02, b"a");
        for _ in 0..MAX_FRAGMENTS {
            bytes.extend(client(0x00, b""));
        }
        assert_eq!(
            parse_all(&mut Reader::new(1 << 20), &bytes),
            Err(WireError::Protocol("message cut into too many frames"))
        );
        let mut ok = client(0x02, b"a");
        for _ in 0..MAX_FRAGMENTS - 2 {
            ok.extend(client(0x00, b""));
        }
        ok.extend(client(0x80, b"b"));
        assert_eq!(
            parse_all(&mut Reader::new(1 << 20), &ok),
            Ok(vec![Message::Binary(Bytes::from_static(b"ab"))])
        );
    }

    #[test]
    fn protocol_violations_are_refused() {
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("reserved opcode", client(0x83, b"abc")),
            ("reserved control opcode", client(0x8b, b"")),
            ("unmasked", vec![0x82, 0x03, 0, 0, 0]),
            ("fragmented control", client(0x09, b"ping")),
            ("reserved bits", client(0xc2, b"abc")),
            ("continuation without start", client(0x80, b"abc")),
            ("long control", client(0x89, &[0u8; 126])),
            ("new message inside a fragmented one", {
                let mut b = client(0x02, b"a");
                b.extend(client(0x82, b"b"));
                b
            }),
        ];
        for (what, bytes) in cases {
            let got = parse_all(&mut Reader::new(1 << 20), &bytes);
            assert!(
                matches!(got, Err(WireError::Protocol(_))),
                "{what}: {got:?}"
            );
        }
    }
}
