//! A connection's bounded outbound queue and its close signal, shared between the room (which
//! fills it) and the connection's writer (which drains it). Overflow policy: the room never
//! waits; a full queue closes the connection with 1013 so the client reconnects and resyncs.

use std::borrow::Cow;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// WebSocket close codes the server uses (RFC 6455 §7.4.1).
pub mod code {
    /// Normal closure.
    pub const NORMAL: u16 = 1000;
    /// The server is shutting down.
    pub const GOING_AWAY: u16 = 1001;
    /// The peer broke the WebSocket protocol.
    pub const PROTOCOL_ERROR: u16 = 1002;
    /// A data type the server does not accept (text frames).
    pub const UNSUPPORTED_DATA: u16 = 1003;
    /// A message violated the y-websocket protocol or a policy.
    pub const POLICY_VIOLATION: u16 = 1008;
    /// A message or the document is too large.
    pub const TOO_BIG: u16 = 1009;
    /// The server hit an internal error; reconnecting resyncs.
    pub const INTERNAL_ERROR: u16 = 1011;
    /// The client fell behind; reconnecting resyncs.
    pub const TRY_AGAIN_LATER: u16 = 1013;
    /// The document was deleted (expired or erased by its creator or the operator); an
    /// application code (RFC 6455 §7.4.2: 4000–4999), modelled on HTTP 410, so clients know
    /// not to reconnect.
    pub const GONE: u16 = 4410;
}

/// Why a connection is being closed: sent to the client in the close frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseReason {
    /// The WebSocket close code.
    pub code: u16,
    /// A short human-readable reason (at most 123 bytes on the wire).
    pub reason: Cow<'static, str>,
}

/// A one-shot close signal: the first reason set wins; everyone waiting is woken.
#[derive(Debug, Clone, Default)]
pub struct Closer {
    inner: Arc<CloserInner>,
}

#[derive(Debug, Default)]
struct CloserInner {
    reason: OnceLock<CloseReason>,
    token: CancellationToken,
}

impl Closer {
    /// Asks for the connection to close; ignored if a reason was already set.
    pub fn close(&self, code: u16, reason: impl Into<Cow<'static, str>>) {
        let mut reason = reason.into();
        if reason.len() > 123 {
            // Control frames carry at most 125 bytes, two of which are the code.
            let mut cut = 123;
            while !reason.is_char_boundary(cut) {
                cut -= 1;
            }
            reason = Cow::Owned(reason[..cut].to_owned());
        }
        let _ = self.inner.reason.set(CloseReason { code, reason });
        self.inner.token.cancel();
    }

    /// Waits until a close is asked for and returns its reason.
    pub async fn closed(&self) -> CloseReason {
        self.inner.token.cancelled().await;
        self.reason().unwrap_or(CloseReason {
            code: code::NORMAL,
            reason: Cow::Borrowed(""),
        })
    }

    /// The close reason, if a close was asked for.
    pub fn reason(&self) -> Option<CloseReason> {
        self.inner.reason.get().cloned()
    }
}

/// The sending side, held by the room.
#[derive(Debug, Clone)]
pub struct Outbox {
    tx: mpsc::Sender<Bytes>,
    queued: Arc<AtomicUsize>,
    max_bytes: usize,
    closer: Closer,
}

/// The receiving side, held by the connection's writer.
#[derive(Debug)]
pub struct OutboxReceiver {
    rx: mpsc::Receiver<Bytes>,
    queued: Arc<AtomicUsize>,
}

/// The queue was full: the frame was not queued and the connection must be closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("outbound queue full")]
pub struct Overflow;

/// Creates a queue bounded to `max_messages` frames and `max_bytes` bytes. A single frame larger
/// than `max_bytes` is still accepted into an empty queue, so a large document can be sent.
pub fn channel(max_messages: usize, max_bytes: usize) -> (Outbox, OutboxReceiver) {
    let (tx, rx) = mpsc::channel(max_messages.max(1));
    let queued = Arc::new(AtomicUsize::new(0));
    (
        Outbox {
            tx,
            queued: queued.clone(),
            max_bytes,
            closer: Closer::default(),
        },
        OutboxReceiver { rx, queued },
    )
}

impl Outbox {
    /// Queues `frame` without waiting.
    pub fn push(&self, frame: Bytes) -> Result<(), Overflow> {
        let len = frame.len();
        let before = self.queued.fetch_add(len, Ordering::AcqRel);
        if before > 0 && before + len > self.max_bytes {
            self.queued.fetch_sub(len, Ordering::AcqRel);
            return Err(Overflow);
        }
        self.tx.try_send(frame).map_err(|_| {
            self.queued.fetch_sub(len, Ordering::AcqRel);
            Overflow
        })
    }

    /// The connection's close signal.
    pub fn closer(&self) -> &Closer {
        &self.closer
    }
}

impl OutboxReceiver {
    /// Takes the next frame; `None` once every sender is gone and the queue is empty.
    pub async fn recv(&mut self) -> Option<Bytes> {
        let frame = self.rx.recv().await?;
        self.queued.fetch_sub(frame.len(), Ordering::AcqRel);
        Some(frame)
    }

    /// Takes the next frame if one is queued, without waiting.
    pub fn try_recv(&mut self) -> Option<Bytes> {
        let frame = self.rx.try_recv().ok()?;
        self.queued.fetch_sub(frame.len(), Ordering::AcqRel);
        Some(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bounds_messages_and_bytes() {
        let (out, mut rx) = channel(2, 10);
        assert_eq!(
            out.push(Bytes::from(vec![0; 50])),
            Ok(()),
            "one big frame fits an empty queue"
        );
        assert_eq!(out.push(Bytes::from(vec![0; 1])), Err(Overflow));
        assert_eq!(rx.recv().await.map(|b| b.len()), Some(50));
        assert_eq!(out.push(Bytes::from(vec![0; 4])), Ok(()));
        assert_eq!(out.push(Bytes::from(vec![0; 4])), Ok(()));
        assert_eq!(
            out.push(Bytes::from(vec![0; 1])),
            Err(Overflow),
            "message bound"
        );
    }

    #[tokio::test]
    async fn first_close_reason_wins() {
        let (out, _rx) = channel(1, 1);
        out.closer().close(code::TRY_AGAIN_LATER, "slow");
        out.closer().close(code::NORMAL, "later");
        let reason = out.closer().closed().await;
        assert_eq!(reason.code, code::TRY_AGAIN_LATER);
        out.closer().close(code::NORMAL, "é".repeat(100));
    }
}
