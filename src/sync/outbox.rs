//! A connection's bounded outbound queue and its close signal, shared between the room (which
//! fills it) and the connection's writer (which drains it). Overflow policy: the room never
//! waits; a full queue closes the connection with 1013 so the client reconnects and resyncs.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use bytes::Bytes;
use tokio::sync::Notify;
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
    /// The document moved to another node (its lease was taken over); reconnecting finds it
    /// there.
    pub const SERVICE_RESTART: u16 = 1012;
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
#[derive(Debug)]
pub struct Outbox {
    shared: Arc<Shared>,
    closer: Closer,
}

/// The receiving side, held by the connection's writer.
#[derive(Debug)]
pub struct OutboxReceiver {
    shared: Arc<Shared>,
}

/// The queue itself. A tokio `mpsc` channel allocates a 32-slot block up front (1 KiB for
/// `Bytes`, on every connection, idle or not); this deque grows only with what is queued, and
/// the room's pushes never wait either way.
#[derive(Debug)]
struct Shared {
    frames: Mutex<Frames>,
    /// Wakes the receiver: a frame was queued or the last sender left. A wake-up with
    /// nobody waiting is kept as a permit, so none is lost between a check and a wait.
    ready: Notify,
    max_messages: usize,
    max_bytes: usize,
}

#[derive(Debug, Default)]
struct Frames {
    queue: VecDeque<Bytes>,
    bytes: usize,
    senders: usize,
    receiver_gone: bool,
}

/// The queue was full: the frame was not queued and the connection must be closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("outbound queue full")]
pub struct Overflow;

/// Creates a queue bounded to `max_messages` frames and `max_bytes` bytes. A single frame larger
/// than `max_bytes` is still accepted into an empty queue, so a large document can be sent.
pub fn channel(max_messages: usize, max_bytes: usize) -> (Outbox, OutboxReceiver) {
    let shared = Arc::new(Shared {
        frames: Mutex::new(Frames {
            senders: 1,
            ..Frames::default()
        }),
        ready: Notify::new(),
        max_messages: max_messages.max(1),
        max_bytes,
    });
    (
        Outbox {
            shared: shared.clone(),
            closer: Closer::default(),
        },
        OutboxReceiver { shared },
    )
}

impl Shared {
    fn frames(&self) -> MutexGuard<'_, Frames> {
        // Nothing panics while holding the lock; if something did, the queue is still whole.
        self.frames.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Outbox {
    /// Queues `frame` without waiting; refused when the queue is full or its writer is gone.
    pub fn push(&self, frame: Bytes) -> Result<(), Overflow> {
        {
            let mut frames = self.shared.frames();
            let len = frame.len();
            if frames.receiver_gone
                || frames.queue.len() >= self.shared.max_messages
                || (frames.bytes > 0 && frames.bytes + len > self.shared.max_bytes)
            {
                return Err(Overflow);
            }
            frames.bytes += len;
            frames.queue.push_back(frame);
        }
        self.shared.ready.notify_one();
        Ok(())
    }

    /// The connection's close signal.
    pub fn closer(&self) -> &Closer {
        &self.closer
    }
}

impl Clone for Outbox {
    fn clone(&self) -> Self {
        self.shared.frames().senders += 1;
        Self {
            shared: self.shared.clone(),
            closer: self.closer.clone(),
        }
    }
}

impl Drop for Outbox {
    fn drop(&mut self) {
        let last = {
            let mut frames = self.shared.frames();
            frames.senders -= 1;
            frames.senders == 0
        };
        if last {
            self.shared.ready.notify_one();
        }
    }
}

impl OutboxReceiver {
    /// Takes the next frame; `None` once every sender is gone and the queue is empty.
    /// Cancel-safe: a frame is only taken by a call that returns it.
    pub async fn recv(&mut self) -> Option<Bytes> {
        loop {
            {
                let mut frames = self.shared.frames();
                if let Some(frame) = frames.take() {
                    return Some(frame);
                }
                if frames.senders == 0 {
                    return None;
                }
            }
            self.shared.ready.notified().await;
        }
    }

    /// Takes the next frame if one is queued, without waiting.
    pub fn try_recv(&mut self) -> Option<Bytes> {
        self.shared.frames().take()
    }
}

impl Drop for OutboxReceiver {
    fn drop(&mut self) {
        let mut frames = self.shared.frames();
        frames.receiver_gone = true;
        frames.queue = VecDeque::new();
        frames.bytes = 0;
    }
}

impl Frames {
    fn take(&mut self) -> Option<Bytes> {
        let frame = self.queue.pop_front()?;
        self.bytes -= frame.len();
        if self.queue.is_empty() && self.queue.capacity() > IDLE_CAPACITY {
            // A burst for a slow client is over: an idle connection keeps a small queue.
            self.queue = VecDeque::new();
        }
        Some(frame)
    }
}

/// Frames of capacity an emptied queue may keep (a join's sync and awareness frames fit).
const IDLE_CAPACITY: usize = 8;

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
    async fn the_writer_wakes_for_frames_and_ends_with_the_last_sender() {
        let (out, mut rx) = channel(64, 1 << 20);
        let copy = out.clone();
        let writer = tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(frame) = rx.recv().await {
                got.push(frame);
            }
            got
        });
        for i in 0..100u8 {
            out.push(Bytes::from(vec![i])).expect("room for one");
            // Let the writer drain, so the queue's 64-frame bound is not what this tests.
            tokio::task::yield_now().await;
        }
        drop(out);
        copy.push(Bytes::from_static(b"last")).expect("queued");
        drop(copy);
        let got = writer.await.expect("writer");
        assert_eq!(got.len(), 101);
        assert!(got[..100]
            .iter()
            .enumerate()
            .all(|(i, f)| f[..] == [i as u8]));
        assert_eq!(&got[100][..], b"last");
    }

    #[tokio::test(start_paused = true)]
    async fn a_recv_cancelled_while_waiting_loses_nothing() {
        let (out, mut rx) = channel(4, 100);
        let waited = tokio::time::timeout(std::time::Duration::from_millis(1), rx.recv()).await;
        assert!(waited.is_err(), "nothing was queued");
        out.push(Bytes::from_static(b"a")).expect("queued");
        assert_eq!(rx.recv().await.as_deref(), Some(&b"a"[..]));
        assert_eq!(rx.try_recv(), None);
    }

    #[test]
    fn a_gone_writer_refuses_frames_and_a_drained_queue_shrinks() {
        let (out, mut rx) = channel(1000, 1 << 20);
        for _ in 0..500 {
            out.push(Bytes::from_static(b"burst")).expect("queued");
        }
        while rx.try_recv().is_some() {}
        assert!(rx.shared.frames().queue.capacity() <= IDLE_CAPACITY);
        assert_eq!(rx.shared.frames().bytes, 0);
        drop(rx);
        assert_eq!(out.push(Bytes::from_static(b"late")), Err(Overflow));
    }

    #[tokio::test]
    async fn first_close_reason_wins() {
        let (out, _rx) = channel(1, 1);
        out.closer().close(code::TRY_AGAIN_LATER, "slow");
        out.closer().close(code::NORMAL, "later");
        let reason = out.closer().closed().await;
        assert_eq!(reason.code, code::TRY_AGAIN_LATER);
    }

    #[test]
    fn a_long_reason_is_cut_to_a_close_frame_on_a_char_boundary() {
        let (out, _rx) = channel(1, 1);
        out.closer().close(code::GONE, "é".repeat(100));
        let reason = out.closer().reason().expect("a reason");
        assert_eq!(
            reason.reason,
            "é".repeat(61),
            "122 bytes: 123 would split an é"
        );
    }
}
