//! One WebSocket connection: a reader that validates frames and hands them to the room, and a
//! writer that drains the connection's outbox, pings, and sends the close frame.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::doc::name::DocName;
use crate::http::metrics;
use crate::http::ratelimit::ConnLimit;
use crate::sync::awareness::ConnId;
use crate::sync::hub::{Hub, HubError};
use crate::sync::inbound;
use crate::sync::outbox::{self, code, Closer, Outbox, OutboxReceiver};
use crate::sync::protocol;
use crate::sync::room::RoomHandle;

/// How long the writer tries to deliver a close frame before dropping the socket.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

static NEXT_CONN: AtomicU64 = AtomicU64::new(1);

/// Serves one upgraded WebSocket for document `name` until either side closes it; a read-only
/// connection's document updates are dropped by the room.
pub async fn serve(
    socket: WebSocket,
    name: DocName,
    read_only: bool,
    hub: Arc<Hub>,
    config: Arc<Config>,
    shutdown: CancellationToken,
) {
    let conn: ConnId = NEXT_CONN.fetch_add(1, Ordering::Relaxed);
    let (outbox, outrx) =
        outbox::channel(config.outbound_queue_messages, config.outbound_queue_bytes);
    let closer = outbox.closer().clone();
    let (sink, stream) = socket.split();
    let writer = tokio::spawn(write(sink, outrx, closer.clone(), config.ping_interval()));
    match hub.join(&name, conn, &outbox, read_only).await {
        Ok(room) => {
            tracing::debug!(doc = %name, conn, "connection joined");
            let notices = Notices {
                rx: hub.notices(),
                outbox,
                shown: false,
            };
            read(stream, &room, conn, &closer, &config, &shutdown, notices).await;
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
        if self.outbox.push(frame).is_err() {
            closer.close(code::TRY_AGAIN_LATER, "server busy, reconnect");
        }
    }
}

/// Reads frames until the client leaves, breaks a rule or its rate limit, falls silent, or the
/// connection is closed from elsewhere; every exit sets the close reason. Forwards the
/// operator's notices meanwhile.
async fn read(
    mut stream: SplitStream<WebSocket>,
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
            next = tokio::time::timeout(config.idle_timeout(), stream.next()) => next,
        };
        let frame = match next {
            Err(_) => return closer.close(code::NORMAL, "idle timeout"),
            Ok(None) => return closer.close(code::NORMAL, ""),
            Ok(Some(Err(e))) => return closer.close(error_code(&e), "websocket protocol error"),
            Ok(Some(Ok(frame))) => frame,
        };
        if let Err(e) = limit.admit(frame_len(&frame), Instant::now()) {
            metrics::count_connection_cut();
            return closer.close(code::TRY_AGAIN_LATER, e.to_string());
        }
        let bytes = match frame {
            Message::Binary(bytes) => bytes,
            Message::Text(_) => {
                return closer.close(code::UNSUPPORTED_DATA, "text frames are not supported")
            }
            Message::Close(_) => return closer.close(code::NORMAL, ""),
            Message::Ping(_) | Message::Pong(_) => continue,
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
fn frame_len(frame: &Message) -> usize {
    match frame {
        Message::Binary(b) | Message::Ping(b) | Message::Pong(b) => b.len(),
        Message::Text(t) => t.len(),
        Message::Close(_) => 0,
    }
}

/// Most frames written before one flush: the rest wait for the next round.
const WRITE_BATCH: usize = 64;

/// Writes `first` and whatever else is already queued (up to [`WRITE_BATCH`] frames), then
/// flushes once: one system call for a burst of broadcasts instead of one per frame.
async fn send_batch(
    sink: &mut SplitSink<WebSocket, Message>,
    rx: &mut OutboxReceiver,
    first: Message,
) -> Result<(), axum::Error> {
    sink.feed(first).await?;
    for _ in 1..WRITE_BATCH {
        match rx.try_recv() {
            Some(frame) => sink.feed(Message::Binary(frame)).await?,
            None => break,
        }
    }
    sink.flush().await
}

/// Close code for a WebSocket-level read error.
fn error_code(e: &axum::Error) -> u16 {
    let text = e.to_string();
    if text.contains("too long") || text.contains("too big") || text.contains("Space limit") {
        code::TOO_BIG
    } else {
        code::PROTOCOL_ERROR
    }
}

/// Sends queued frames and pings; on close, sends the close frame (bounded in time) and stops.
async fn write(
    mut sink: SplitSink<WebSocket, Message>,
    mut rx: OutboxReceiver,
    closer: Closer,
    ping_every: Duration,
) {
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + ping_every, ping_every);
    loop {
        let message = tokio::select! {
            biased;
            _ = closer.closed() => break,
            frame = rx.recv() => match frame {
                Some(frame) => Message::Binary(frame),
                None => break,
            },
            _ = ping.tick() => Message::Ping(Default::default()),
        };
        let sent = tokio::select! {
            biased;
            // A reader that never reads must not pin this task: closing abandons the send.
            _ = closer.closed() => break,
            sent = send_batch(&mut sink, &mut rx, message) => sent,
        };
        if sent.is_err() {
            closer.close(code::NORMAL, "");
            break;
        }
    }
    if let Some(reason) = closer.reason() {
        let frame = CloseFrame {
            code: reason.code,
            reason: reason.reason.as_ref().into(),
        };
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, sink.send(Message::Close(Some(frame)))).await;
    }
}
