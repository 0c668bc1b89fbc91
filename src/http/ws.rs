//! One WebSocket connection, on its TCP socket: a reader that parses and validates frames and
//! hands messages to the room, and a writer task that finishes what the room could not write at
//! once (a full socket), pings, and sends the close frame. Frames are the room's, encoded once
//! per broadcast (`sync::wire`); most reach the socket from the room's own push.

use std::io::{self, IoSlice};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use hyper::upgrade::Upgraded;
use tokio::io::AsyncReadExt;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::doc::name::DocName;
use crate::http::accept::Slot;
use crate::http::metrics;
use crate::http::ratelimit::ConnLimit;
use crate::http::upgrade;
use crate::sync::awareness::ConnId;
use crate::sync::hub::{Hub, HubError};
use crate::sync::inbound;
use crate::sync::outbox::{self, code, Closer, Outbox, OutboxReceiver, Wire};
use crate::sync::protocol;
use crate::sync::room::RoomHandle;
use crate::sync::wire::{Frame, Message, Reader, WireError};

/// How long the writer tries to deliver a close frame before dropping the socket.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// Bytes asked of the socket per read at least: a typed edit fits, and an idle connection
/// keeps no more than this.
const READ_CHUNK: usize = 512;

/// A read buffer emptied with more capacity than this is let go (after a large message).
const IDLE_READ_CAPACITY: usize = 4096;

static NEXT_CONN: AtomicU64 = AtomicU64::new(1);

/// The socket's write half, as the outbox writes it at once, with the connection's slot.
struct Socket {
    /// Dropped first (fields drop in order): the slot is free before the half's drop sends the
    /// FIN, so a client that sees the end of the stream finds it free.
    _slot: Option<Slot>,
    half: OwnedWriteHalf,
}

impl Wire for Socket {
    fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.half.try_write(buf)
    }

    fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.half.try_write_vectored(bufs)
    }
}

/// Serves one upgraded WebSocket for document `name` until either side closes it; a read-only
/// connection's document updates are dropped by the room.
pub async fn serve(
    upgraded: Upgraded,
    name: DocName,
    read_only: bool,
    hub: Arc<Hub>,
    config: Arc<Config>,
    shutdown: CancellationToken,
) {
    let Some((tcp, slot, early)) = upgrade::socket(upgraded) else {
        tracing::error!("an upgraded connection without its socket; dropped");
        return;
    };
    let conn: ConnId = NEXT_CONN.fetch_add(1, Ordering::Relaxed);
    let (read_half, write_half) = tcp.into_split();
    let socket = Arc::new(Socket {
        _slot: slot,
        half: write_half,
    });
    let (outbox, outrx) = outbox::channel_to(
        config.outbound_queue_messages,
        config.outbound_queue_bytes,
        socket.clone(),
    );
    let closer = outbox.closer().clone();
    let writer = tokio::spawn(write(socket, outrx, closer.clone(), config.ping_interval()));
    let mut input = None;
    match hub.join(&name, conn, &outbox, read_only).await {
        Ok(room) => {
            tracing::debug!(doc = %name, conn, "connection joined");
            let notices = Notices {
                rx: hub.notices(),
                outbox,
                shown: false,
            };
            let read_from = input.insert(Input {
                socket: read_half,
                buf: early,
                reader: Reader::new(config.max_message_bytes),
            });
            read(read_from, &room, conn, &closer, &config, &shutdown, notices).await;
            let _ = room.leave(conn).await;
        }
        Err(HubError::ShuttingDown) => closer.close(code::GOING_AWAY, "server shutting down"),
        Err(HubError::Unavailable) => closer.close(
            code::INTERNAL_ERROR,
            "document unavailable, try again later",
        ),
    }
    closer.close(code::NORMAL, "");
    let _ = writer.await;
    if let Some(input) = input {
        input.discard_unread();
    }
    tracing::debug!(doc = %name, conn, reason = ?closer.reason(), "connection closed");
}

/// The operator's notice as this connection last sent it, and where to send the next.
struct Notices {
    rx: watch::Receiver<Option<Arc<str>>>,
    outbox: Outbox,
    /// Whether a notice is on the client's screen (so clearing it needs a frame).
    shown: bool,
}

impl Notices {
    /// Queues the current notice (or its withdrawal) for the client.
    fn forward(&mut self, closer: &Closer) {
        let text = self.rx.borrow_and_update().clone();
        if text.is_none() && !self.shown {
            return;
        }
        self.shown = text.is_some();
        let frame = protocol::notice(text.as_deref().unwrap_or(""));
        if self.outbox.push(&Frame::binary(&frame)).is_err() {
            closer.close(code::TRY_AGAIN_LATER, "server busy, reconnect");
        }
    }
}

/// The socket's read half and what was read of it but not yet parsed.
struct Input {
    socket: OwnedReadHalf,
    buf: BytesMut,
    reader: Reader,
}

/// Why the next message could not be had.
enum Ended {
    /// The client sent nothing for the idle timeout.
    Idle,
    /// The socket ended or failed.
    Gone,
    /// A frame broke the protocol: close with this code and reason.
    Broken(u16, String),
}

/// Most bytes [`Input::discard_unread`] reads before giving up.
const DISCARD_MAX: usize = 1 << 20;

impl Input {
    /// Reads and drops what the client sent that was never read, without waiting: closing a
    /// socket with unread bytes sends a reset, which can destroy the close frame before the
    /// client reads it (a flooding client cut by its rate limit).
    fn discard_unread(self) {
        let mut scratch = vec![0u8; 16 * 1024];
        let mut read = 0;
        while read < DISCARD_MAX {
            match self.socket.try_read(&mut scratch) {
                Ok(n) if n > 0 => read += n,
                _ => break,
            }
        }
    }

    /// Takes the next message, reading the socket as needed; bounded by the idle timeout per
    /// read. Cancel-safe: bytes read stay in the buffer.
    async fn next(&mut self, idle: Duration) -> Result<Message, Ended> {
        loop {
            let broken = |e: WireError| {
                let code = match e {
                    WireError::TooBig => code::TOO_BIG,
                    WireError::Protocol(_) => code::PROTOCOL_ERROR,
                };
                Ended::Broken(code, e.to_string())
            };
            if let Some(message) = self.reader.next(&mut self.buf).map_err(broken)? {
                if self.buf.is_empty() && self.buf.capacity() > IDLE_READ_CAPACITY {
                    self.buf = BytesMut::new();
                }
                return Ok(message);
            }
            // Bounded by the message size: `wanted` refuses a frame over it from its header.
            let wanted = self.reader.wanted(&self.buf).map_err(broken)?;
            self.buf
                .reserve(wanted.saturating_sub(self.buf.len()).max(READ_CHUNK));
            match tokio::time::timeout(idle, self.socket.read_buf(&mut self.buf)).await {
                Err(_) => return Err(Ended::Idle),
                Ok(Ok(0)) | Ok(Err(_)) => return Err(Ended::Gone),
                Ok(Ok(_)) => {}
            }
        }
    }
}

/// Reads messages until the client leaves, breaks a rule or its rate limit, falls silent, or
/// the connection is closed from elsewhere; every exit sets the close reason. Forwards the
/// operator's notices meanwhile.
async fn read(
    input: &mut Input,
    room: &RoomHandle,
    conn: ConnId,
    closer: &Closer,
    config: &Config,
    shutdown: &CancellationToken,
    mut notices: Notices,
) {
    let mut limit = ConnLimit::new(
        config.conn_messages_per_sec,
        config.conn_bytes_per_sec,
        Instant::now(),
    );
    let mut notices_live = true;
    loop {
        let next = tokio::select! {
            biased;
            _ = closer.closed() => return,
            _ = shutdown.cancelled() => return closer.close(code::GOING_AWAY, "server shutting down"),
            changed = notices.rx.changed(), if notices_live => {
                match changed {
                    Ok(()) => notices.forward(closer),
                    // The hub is gone: the server is stopping.
                    Err(_) => notices_live = false,
                }
                continue;
            }
            next = input.next(config.idle_timeout()) => next,
        };
        let message = match next {
            Err(Ended::Idle) => return closer.close(code::NORMAL, "idle timeout"),
            Err(Ended::Gone) => return closer.close(code::NORMAL, ""),
            Err(Ended::Broken(code, reason)) => return closer.close(code, reason),
            Ok(message) => message,
        };
        if let Err(e) = limit.admit(message_len(&message), Instant::now()) {
            metrics::count_connection_cut();
            return closer.close(code::TRY_AGAIN_LATER, e.to_string());
        }
        let bytes = match message {
            Message::Binary(bytes) => bytes,
            Message::Text(_) => {
                return closer.close(code::UNSUPPORTED_DATA, "text frames are not supported")
            }
            Message::Close => return closer.close(code::NORMAL, ""),
            Message::Ping(payload) => {
                if notices.outbox.push(&Frame::pong(&payload)).is_err() {
                    return closer.close(code::TRY_AGAIN_LATER, "server busy, reconnect");
                }
                continue;
            }
            Message::Pong(_) => continue,
        };
        match inbound::parse(&bytes, config.max_awareness_bytes) {
            Ok(Some(msg)) => {
                let received = std::time::Instant::now();
                if room.inbound(conn, msg, received).await.is_err() {
                    return closer.close(code::INTERNAL_ERROR, "document closed, reconnect");
                }
            }
            Ok(None) => {}
            Err(e) => {
                tracing::debug!(conn, error = %e, "refused frame");
                return closer.close(code::POLICY_VIOLATION, e.to_string());
            }
        }
    }
}

/// Bytes of a received message, as counted against the connection's budget.
fn message_len(message: &Message) -> usize {
    match message {
        Message::Binary(b) | Message::Ping(b) => b.len(),
        Message::Text(n) | Message::Pong(n) => *n,
        Message::Close => 0,
    }
}

/// Most frames taken from the queue for one vectored write.
const WRITE_BATCH: usize = 64;

/// Writes `bufs` whole, waiting for the socket as needed (one system call for several frames
/// when it takes them).
async fn write_all(socket: &OwnedWriteHalf, mut bufs: Vec<Bytes>) -> io::Result<()> {
    bufs.retain(|b| !b.is_empty());
    let mut first = 0;
    while first < bufs.len() {
        socket.writable().await?;
        let slices: Vec<IoSlice<'_>> = bufs[first..].iter().map(|b| IoSlice::new(b)).collect();
        let mut n = match socket.try_write_vectored(&slices) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        };
        drop(slices);
        while n > 0 {
            let head = &mut bufs[first];
            let take = n.min(head.len());
            head.advance(take);
            n -= take;
            if head.is_empty() {
                first += 1;
            }
        }
    }
    Ok(())
}

/// Writes what is queued until the queue is empty; `mid_frame` tells, if this is abandoned,
/// whether a frame was left half written.
async fn drain(
    socket: &OwnedWriteHalf,
    rx: &mut OutboxReceiver,
    mid_frame: &mut bool,
) -> io::Result<()> {
    loop {
        let frames = rx.take(WRITE_BATCH);
        if frames.is_empty() {
            return Ok(());
        }
        *mid_frame = true;
        write_all(socket, frames).await?;
        *mid_frame = false;
    }
}

/// Writes what the room queued and pings; on close, sends the close frame (bounded in time)
/// and stops.
async fn write(socket: Arc<Socket>, mut rx: OutboxReceiver, closer: Closer, ping_every: Duration) {
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + ping_every, ping_every);
    let mut mid_frame = false;
    loop {
        tokio::select! {
            biased;
            _ = closer.closed() => break,
            queued = rx.ready() => if !queued {
                break;
            },
            _ = ping.tick() => rx.queue(&Frame::ping()),
        }
        let drained = tokio::select! {
            biased;
            // A reader that never reads must not pin this task: closing abandons the write.
            _ = closer.closed() => break,
            drained = drain(&socket.half, &mut rx, &mut mid_frame) => drained,
        };
        if drained.is_err() {
            closer.close(code::NORMAL, "");
            mid_frame = true;
            break;
        }
    }
    let rest = rx.close();
    // A close frame after half a frame would garble both: the socket is then just dropped.
    if let (false, Some(reason)) = (mid_frame, closer.reason()) {
        let close = Frame::close(reason.code, &reason.reason);
        let bufs = rest.into_iter().chain([close.wire().clone()]).collect();
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, write_all(&socket.half, bufs)).await;
    }
}
