//! A connection's bounded outbound queue and its close signal, shared between the room (which
//! fills it) and the connection's writer (which drains it). A frame pushed while nothing waits
//! goes to the socket at once, from the room's task, so an idle connection's delivery is one
//! system call and no task wake-up. Overflow policy: the room never waits; a full queue closes
//! the connection with 1013 so the client reconnects and resyncs.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use bytes::{Buf, Bytes};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::wire::Frame;

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

/// The connection's socket as the room may write it: at once, without waiting.
pub trait Wire: Send + Sync + 'static {
    /// Writes as much of `buf` as the socket takes now; `WouldBlock` when it takes nothing.
    fn try_write(&self, buf: &[u8]) -> io::Result<usize>;

    /// Writes as much of `bufs`, in order, as the socket takes now.
    fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize>;
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
struct Shared {
    frames: Mutex<Frames>,
    /// Wakes the receiver: a frame was queued or the last sender left. A wake-up with
    /// nobody waiting is kept as a permit, so none is lost between a check and a wait.
    ready: Notify,
    max_messages: usize,
    max_bytes: usize,
    /// Where a frame goes straight away when nothing is queued or being written: most
    /// deliveries then cost one system call and no wake-up of the writer task.
    wire: Option<Arc<dyn Wire>>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("frames", &self.frames)
            .field("direct", &self.wire.is_some())
            .finish_non_exhaustive()
    }
}

/// Frames waiting for the writer, as bytes for the wire. The head may be the rest of a frame
/// a direct write began ([`Frames::torn`]); whole frames otherwise.
#[derive(Debug, Default)]
struct Frames {
    queue: VecDeque<Bytes>,
    bytes: usize,
    senders: usize,
    receiver_gone: bool,
    /// The writer took frames it has not finished writing: nothing may go to the wire
    /// directly meanwhile, or frames would interleave.
    writing: bool,
    /// The queue's head is the end of a frame already partly on the wire.
    torn: bool,
}

/// The queue was full: the frame was not queued and the connection must be closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("outbound queue full")]
pub struct Overflow;

/// Creates a queue bounded to `max_messages` frames and `max_bytes` bytes, drained by its
/// receiver only. A single frame larger than `max_bytes` is still accepted into an empty
/// queue, so a large document can be sent.
pub fn channel(max_messages: usize, max_bytes: usize) -> (Outbox, OutboxReceiver) {
    build(max_messages, max_bytes, None)
}

/// Like [`channel`], but a frame pushed while nothing is queued or being written goes to `wire`
/// at once; only what the socket does not take waits for the receiver.
pub fn channel_to(
    max_messages: usize,
    max_bytes: usize,
    wire: Arc<dyn Wire>,
) -> (Outbox, OutboxReceiver) {
    build(max_messages, max_bytes, Some(wire))
}

fn build(
    max_messages: usize,
    max_bytes: usize,
    wire: Option<Arc<dyn Wire>>,
) -> (Outbox, OutboxReceiver) {
    let shared = Arc::new(Shared {
        frames: Mutex::new(Frames {
            senders: 1,
            ..Frames::default()
        }),
        ready: Notify::new(),
        max_messages: max_messages.max(1),
        max_bytes,
        wire,
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
    /// Sends `frame` without waiting: written at once when the connection is idle, else
    /// queued; refused when the queue is full or its writer is gone.
    pub fn push(&self, frame: &Frame) -> Result<(), Overflow> {
        self.push_all(std::slice::from_ref(frame))
    }

    /// Sends `frames` in order as [`Outbox::push`] does, all or none, in one write when the
    /// connection is idle: a keystroke's update and the cursor that moved with it cost the
    /// socket one system call.
    pub fn push_all(&self, frames: &[Frame]) -> Result<(), Overflow> {
        let len: usize = frames.iter().map(Frame::len).sum();
        {
            let mut queued = self.shared.frames();
            if queued.receiver_gone
                || queued.queue.len() + frames.len() > self.shared.max_messages
                || (queued.bytes > 0 && queued.bytes + len > self.shared.max_bytes)
            {
                return Err(Overflow);
            }
            let mut written = 0;
            if let (true, Some(socket)) = (
                queued.queue.is_empty() && !queued.writing,
                &self.shared.wire,
            ) {
                // Under the lock, so the writer cannot start between this write and the queue.
                written = match frames {
                    [one] => socket.try_write(one.wire()),
                    _ => {
                        let slices: Vec<IoSlice<'_>> =
                            frames.iter().map(|f| IoSlice::new(f.wire())).collect();
                        socket.try_write_vectored(&slices)
                    }
                }
                // `WouldBlock`, or a broken socket the writer finds on its own write.
                .unwrap_or(0);
                if written == len {
                    return Ok(());
                }
            }
            for frame in frames {
                let mut wire = frame.wire().clone();
                if written >= wire.len() {
                    written -= wire.len();
                    continue;
                }
                if written > 0 {
                    queued.torn = true;
                    wire.advance(written);
                    written = 0;
                }
                queued.bytes += wire.len();
                queued.queue.push_back(wire);
            }
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
    /// Waits until something is queued (`true`) or every sender is gone with nothing queued
    /// (`false`). Cancel-safe: it takes nothing.
    pub async fn ready(&mut self) -> bool {
        loop {
            {
                let frames = self.shared.frames();
                if !frames.queue.is_empty() {
                    return true;
                }
                if frames.senders == 0 {
                    return false;
                }
            }
            self.shared.ready.notified().await;
        }
    }

    /// Takes up to `max` queued frames (as bytes for the wire) for the writer, which must write
    /// them before it takes again; an empty answer means the queue is drained, and frames may
    /// go to the wire directly again.
    pub fn take(&mut self, max: usize) -> Vec<Bytes> {
        let mut frames = self.shared.frames();
        let n = frames.queue.len().min(max);
        let taken: Vec<Bytes> = frames.queue.drain(..n).collect();
        frames.bytes -= taken.iter().map(Bytes::len).sum::<usize>();
        frames.writing = !taken.is_empty();
        frames.torn = false;
        frames.shrink();
        taken
    }

    /// Queues the writer's own frame (a ping, a pong) behind the others, whatever the bounds.
    pub fn queue(&mut self, frame: &Frame) {
        let mut frames = self.shared.frames();
        if !frames.receiver_gone {
            frames.bytes += frame.len();
            frames.queue.push_back(frame.wire().clone());
        }
    }

    /// Stops the queue for the close: nothing more is written or queued. Answers the rest of
    /// a frame a direct write left half sent, which must precede a close frame on the wire.
    pub fn close(&mut self) -> Option<Bytes> {
        let mut frames = self.shared.frames();
        frames.receiver_gone = true;
        let torn = frames.torn.then(|| frames.queue.pop_front()).flatten();
        frames.queue = VecDeque::new();
        frames.bytes = 0;
        torn
    }

    /// Takes the next frame's message; `None` once every sender is gone and the queue is
    /// empty. For tests, on a queue without a wire (whose frames are whole).
    #[cfg(test)]
    pub async fn recv(&mut self) -> Option<Bytes> {
        if !self.ready().await {
            return None;
        }
        self.try_recv()
    }

    /// The next frame's message if one is queued, without waiting (tests, as [`Self::recv`]).
    #[cfg(test)]
    pub fn try_recv(&mut self) -> Option<Bytes> {
        let wire = self.take(1).pop()?;
        self.shared.frames().writing = false;
        Some(super::wire::payload_of(wire))
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
    /// A burst for a slow client is over: an idle connection keeps a small queue.
    fn shrink(&mut self) {
        if self.queue.is_empty() && self.queue.capacity() > IDLE_CAPACITY {
            self.queue = VecDeque::new();
        }
    }
}

/// Frames of capacity an emptied queue may keep (a join's sync and awareness frames fit).
const IDLE_CAPACITY: usize = 8;

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(payload: &[u8]) -> Frame {
        Frame::binary(payload)
    }

    #[tokio::test]
    async fn bounds_messages_and_bytes() {
        // Bytes count the wire: a 3-byte message is a 5-byte frame.
        let (out, mut rx) = channel(2, 10);
        assert_eq!(
            out.push(&frame(&[0; 50])),
            Ok(()),
            "one big frame fits an empty queue"
        );
        assert_eq!(out.push(&frame(&[0; 1])), Err(Overflow));
        assert_eq!(rx.recv().await.map(|b| b.len()), Some(50));
        assert_eq!(out.push(&frame(&[0; 3])), Ok(()));
        assert_eq!(out.push(&frame(&[0; 3])), Ok(()));
        assert_eq!(out.push(&frame(&[0; 1])), Err(Overflow), "message bound");
        let (out, _rx) = channel(10, 10);
        out.push(&frame(&[0; 3])).expect("first");
        assert_eq!(out.push(&frame(&[0; 4])), Err(Overflow), "byte bound");
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
            out.push(&frame(&[i])).expect("room for one");
            // Let the writer drain, so the queue's 64-frame bound is not what this tests.
            tokio::task::yield_now().await;
        }
        drop(out);
        copy.push(&frame(b"last")).expect("queued");
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
        out.push(&frame(b"a")).expect("queued");
        assert_eq!(rx.recv().await.as_deref(), Some(&b"a"[..]));
        assert_eq!(rx.try_recv(), None);
    }

    #[test]
    fn a_gone_writer_refuses_frames_and_a_drained_queue_shrinks() {
        let (out, mut rx) = channel(1000, 1 << 20);
        for _ in 0..500 {
            out.push(&frame(b"burst")).expect("queued");
        }
        while rx.try_recv().is_some() {}
        assert!(rx.shared.frames().queue.capacity() <= IDLE_CAPACITY);
        assert_eq!(rx.shared.frames().bytes, 0);
        drop(rx);
        assert_eq!(out.push(&frame(b"late")), Err(Overflow));
    }

    /// A socket that takes `room` bytes, then would block.
    #[derive(Default)]
    struct Socket {
        taken: Mutex<Vec<u8>>,
        room: Mutex<usize>,
    }

    /// A socket that takes `room` bytes before it is full.
    fn socket_with_room(room: usize) -> Arc<Socket> {
        let socket = Arc::new(Socket::default());
        *socket.room.lock().expect("room") = room;
        socket
    }

    impl Wire for Socket {
        fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
            let mut room = self.room.lock().expect("room");
            let n = buf.len().min(*room);
            if n == 0 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            *room -= n;
            self.taken
                .lock()
                .expect("taken")
                .extend_from_slice(&buf[..n]);
            Ok(n)
        }

        fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
            let all: Vec<u8> = bufs.iter().flat_map(|b| b.iter().copied()).collect();
            self.try_write(&all)
        }
    }

    #[test]
    fn an_idle_connection_is_written_at_once_and_a_full_one_queues_in_order() {
        let socket = socket_with_room(100);
        let (out, mut rx) = channel_to(64, 1 << 20, socket.clone());
        let a = frame(&[1; 40]);
        out.push(&a).expect("written");
        assert_eq!(*socket.taken.lock().expect("taken"), a.wire()[..]);
        assert!(rx.take(64).is_empty(), "nothing queued");
        // 58 bytes of room left: the second frame goes out in part, the third waits.
        let (b, c) = (frame(&[2; 70]), frame(&[3; 5]));
        out.push(&b).expect("in part");
        out.push(&c).expect("queued");
        assert_eq!(socket.taken.lock().expect("taken").len(), 100);
        let taken = rx.take(64);
        assert_eq!(taken, vec![b.wire().slice(58..), c.wire().clone()]);
        // While the writer holds them, a new frame queues behind, even with room.
        *socket.room.lock().expect("room") = 1000;
        let d = frame(&[4; 3]);
        out.push(&d).expect("queued");
        assert_eq!(socket.taken.lock().expect("taken").len(), 100);
        assert_eq!(rx.take(64), vec![d.wire().clone()]);
        assert!(rx.take(64).is_empty(), "drained: direct again");
        out.push(&d).expect("written");
        assert_eq!(socket.taken.lock().expect("taken").len(), 100 + d.len());
    }

    #[test]
    fn frames_pushed_together_go_in_one_write_or_queue_whole_after_a_partial_one() {
        let socket = socket_with_room(1000);
        let (out, mut rx) = channel_to(64, 1 << 20, socket.clone());
        let (a, b) = (frame(&[1; 10]), frame(&[2; 20]));
        out.push_all(&[a.clone(), b.clone()]).expect("written");
        let mut both = a.wire().to_vec();
        both.extend_from_slice(b.wire());
        assert_eq!(*socket.taken.lock().expect("taken"), both);
        // 15 bytes of room: all of `a` (12) and 3 bytes of `b`; the rest of `b` and `c` wait.
        *socket.room.lock().expect("room") = 15;
        let c = frame(&[3; 5]);
        out.push_all(&[a.clone(), b.clone(), c.clone()])
            .expect("in part");
        assert_eq!(rx.take(64), vec![b.wire().slice(3..), c.wire().clone()]);
        let (out, _rx) = channel_to(2, 1 << 20, socket);
        assert_eq!(
            out.push_all(&[a.clone(), b, c]),
            Err(Overflow),
            "all or none"
        );
    }

    #[test]
    fn a_close_finishes_a_half_written_frame_and_stops_everything_else() {
        let socket = socket_with_room(10);
        let (out, mut rx) = channel_to(64, 1 << 20, socket.clone());
        let big = frame(&[5; 30]);
        out.push(&big).expect("in part");
        out.push(&frame(b"next")).expect("queued");
        assert_eq!(rx.close(), Some(big.wire().slice(10..)));
        assert_eq!(out.push(&frame(b"late")), Err(Overflow));
        let (out, mut rx) = channel_to(64, 1 << 20, socket_with_room(0));
        out.push(&frame(b"whole")).expect("queued: no room at all");
        assert_eq!(rx.close(), None, "nothing of it went out");
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
