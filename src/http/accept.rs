//! The accept loop: each TCP connection takes a slot (under caps in total and per client
//! address; beyond them it is closed at once and counted), then hyper serves HTTP/1.1 on it with
//! a header-read timeout, which hyper also starts when a keep-alive connection goes idle. The
//! slot travels with the socket into a WebSocket upgrade, so live editors count until they
//! leave; what governs them then is their own ping and idle rules (`ws.rs`). An accept error
//! such as running out of file descriptors pauses accepting (logged once, with backoff) instead
//! of ending the server.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_service::Service;

use crate::http::metrics::{Metrics, Refusal};

/// First pause after an accept error; it doubles up to [`MAX_BACKOFF`] while errors last.
const FIRST_BACKOFF: Duration = Duration::from_millis(10);

/// Longest pause between two accept attempts while accepting fails.
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// Largest read buffer of a connection, so of a request head (hyper's default is ~400 KB):
/// a thousand slow clients sending headers cost at most 64 MiB until their header timeout.
/// Bodies stream through it in pieces, whatever their size.
const READ_BUFFER: usize = 64 * 1024;

/// How long shutdown waits for connections to finish their requests: as long as the longest
/// export may run. A client dribbling a body would otherwise hold the shutdown for ever.
const DRAIN_GRACE: Duration = Duration::from_secs(30);

/// File descriptors kept out of the connection cap, for the database, logs and exports.
const FD_RESERVE: u64 = 64;

/// How connections are accepted and served.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Longest wait for a complete request head, from the connection's opening or the end of
    /// the previous response.
    pub header_timeout: Duration,
    /// Whether the TCP peer is a reverse proxy (then it is not capped per address: every
    /// visitor arrives from it).
    pub trust_proxy: bool,
}

/// Why a connection was closed at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The server holds its maximum of connections.
    Total,
    /// The client's address holds its maximum of connections.
    PerAddress,
}

/// The open-connection counts, in total and per client address (an IPv4 address or an IPv6
/// /64). The table holds only addresses with an open connection, so it never has more entries
/// than the total cap.
#[derive(Debug)]
pub struct Slots {
    max_total: usize,
    max_per_address: usize,
    open: Mutex<Open>,
}

#[derive(Debug, Default)]
struct Open {
    total: usize,
    per_address: HashMap<IpAddr, usize>,
}

impl Slots {
    /// Caps of `max_total` connections and `max_per_address` per address (0: no cap).
    pub fn new(max_total: usize, max_per_address: usize) -> Arc<Self> {
        Arc::new(Self {
            max_total: if max_total == 0 {
                usize::MAX
            } else {
                max_total
            },
            max_per_address: if max_per_address == 0 {
                usize::MAX
            } else {
                max_per_address
            },
            open: Mutex::new(Open::default()),
        })
    }

    /// A slot for a connection from `address` (`None`: counted in the total only), or why not.
    pub fn take(self: &Arc<Self>, address: Option<IpAddr>) -> Result<Slot, Refused> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if open.total >= self.max_total {
            return Err(Refused::Total);
        }
        let address = address.map(crate::http::ratelimit::client_key);
        if let Some(key) = address {
            let n = open.per_address.get(&key).copied().unwrap_or(0);
            if n >= self.max_per_address {
                return Err(Refused::PerAddress);
            }
            open.per_address.insert(key, n + 1);
        }
        open.total += 1;
        Ok(Slot {
            slots: self.clone(),
            address,
        })
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.open.lock().unwrap_or_else(|e| e.into_inner()).total
    }

    /// Addresses with an open connection (tests).
    #[cfg(test)]
    fn addresses(&self) -> usize {
        self.open
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .per_address
            .len()
    }
}

/// One open connection's place; given back when dropped.
#[derive(Debug)]
pub struct Slot {
    slots: Arc<Slots>,
    address: Option<IpAddr>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.slots.open.lock().unwrap_or_else(|e| e.into_inner());
        open.total = open.total.saturating_sub(1);
        if let Some(key) = self.address {
            if let Some(n) = open.per_address.get_mut(&key) {
                *n -= 1;
                if *n == 0 {
                    open.per_address.remove(&key);
                }
            }
        }
    }
}

/// The connection cap to use: `configured` (0: none), lowered to the process's open-file
/// limit minus a reserve, so the cap refuses before the kernel does.
pub fn effective_cap(configured: usize) -> usize {
    let Some(files) = open_files_limit() else {
        return configured;
    };
    let room = usize::try_from(files.saturating_sub(FD_RESERVE).max(1)).unwrap_or(usize::MAX);
    if configured == 0 || configured > room {
        tracing::info!(
            configured,
            cap = room,
            open_files = files,
            "connection cap lowered to the open-file limit"
        );
        room
    } else {
        configured
    }
}

/// The soft limit on open files, from `/proc/self/limits` (`None` elsewhere or unlimited).
fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.trim_start_matches("Max open files")
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Errors about one connection, not about accepting: skip it and go on.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// Serves `app` on `listener` until `shutdown` resolves; then stops accepting, asks every
/// connection to finish its request and close, and returns once they have (or after
/// [`DRAIN_GRACE`]). Upgraded
/// WebSockets are no longer hyper's: their owners close them.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    settings: Settings,
    slots: Arc<Slots>,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()>,
) {
    let connections = TaskTracker::new();
    let closing = CancellationToken::new();
    let mut backoff = FIRST_BACKOFF;
    let mut failing = false;
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let (tcp, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) if is_connection_error(&e) => continue,
            Err(e) => {
                // Out of file descriptors (or memory): the pending connections stay in the
                // kernel's backlog until some close.
                if !failing {
                    tracing::error!(error = %e, "cannot accept connections; retrying with backoff");
                    failing = true;
                }
                tokio::select! {
                    () = &mut shutdown => break,
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        if failing {
            tracing::info!("accepting connections again");
            failing = false;
            backoff = FIRST_BACKOFF;
        }
        // Loopback is the reverse proxy or the operator's tooling, and behind a trusted proxy
        // every visitor shares its address: neither is capped per address.
        let address =
            Some(peer.ip()).filter(|ip| !settings.trust_proxy && !ip.to_canonical().is_loopback());
        let slot = match slots.take(address) {
            Ok(slot) => slot,
            Err(why) => {
                metrics.refused(match why {
                    Refused::Total => Refusal::ConnectionsTotal,
                    Refused::PerAddress => Refusal::ConnectionsPerAddress,
                });
                drop(tcp);
                continue;
            }
        };
        // Nagle's algorithm would hold small updates back for a delayed ACK.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::warn!(error = %e, "cannot set TCP_NODELAY");
        }
        connections.spawn(serve_one(
            tcp,
            slot,
            peer,
            app.clone(),
            settings.header_timeout,
            closing.clone(),
        ));
    }
    drop(listener);
    closing.cancel();
    connections.close();
    if tokio::time::timeout(DRAIN_GRACE, connections.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            left = connections.len(),
            "some HTTP connections did not finish in time; leaving them"
        );
    }
}

/// Serves one connection until it closes, upgrades, or shutdown has let it finish.
async fn serve_one(
    tcp: TcpStream,
    slot: Slot,
    peer: SocketAddr,
    app: Router,
    header_timeout: Duration,
    closing: CancellationToken,
) {
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        // The peer address feeds the per-address rate limits (`middleware::throttle`), nothing
        // else.
        request.extensions_mut().insert(ConnectInfo(peer));
        let mut app = app.clone();
        async move { app.call(request.map(Body::new)).await }
    });
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .max_buf_size(READ_BUFFER)
        .serve_connection(
            TokioIo::new(Counted {
                slot: Some(slot),
                tcp,
            }),
            service,
        )
        .with_upgrades();
    tokio::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = closing.cancelled() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(e) = result {
        // Timeouts, resets and malformed requests: the client's business, not the operator's.
        tracing::debug!(error = %e, "connection ended with an error");
    }
}

/// A TCP stream holding its connection slot, so the slot is given back only when the socket
/// is shut down or closed, including after a WebSocket upgrade took it from hyper. The slot is
/// given back first, so a client that sees the end of the stream finds it free.
pub(crate) struct Counted {
    slot: Option<Slot>,
    tcp: TcpStream,
}

impl Counted {
    /// The socket and its slot, for a WebSocket served on the socket itself: the slot must
    /// live as long as the socket does.
    pub(crate) fn into_parts(self) -> (TcpStream, Option<Slot>) {
        (self.tcp, self.slot)
    }
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.tcp).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Given back before the FIN leaves, for the same reason as the field order.
        self.slot = None;
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().expect("ip"))
    }

    #[test]
    fn the_caps_refuse_past_their_count_and_slots_come_back() {
        let slots = Slots::new(4, 2);
        let a1 = slots.take(ip("203.0.113.1")).expect("first");
        let a2 = slots.take(ip("203.0.113.1")).expect("second");
        assert_eq!(
            slots.take(ip("203.0.113.1")).err(),
            Some(Refused::PerAddress)
        );
        // The same IPv6 /64 is one address.
        let b1 = slots.take(ip("2001:db8::1")).expect("v6");
        assert_eq!(
            slots.take(ip("2001:db8::1")).map(drop),
            Ok(()),
            "second of the /64"
        );
        let b2 = slots.take(ip("2001:db8::2")).expect("v6 again");
        assert_eq!(slots.take(ip("2001:db8::3")).err(), Some(Refused::Total));
        assert_eq!(slots.open(), 4);
        drop(a1);
        assert_eq!(slots.open(), 3);
        let unaddressed = slots.take(None).expect("total only");
        assert_eq!(slots.take(None).err(), Some(Refused::Total));
        drop((a2, b1, b2, unaddressed));
        assert_eq!(slots.open(), 0);
        assert_eq!(slots.addresses(), 0, "no entry outlives its connections");
    }

    #[test]
    fn zero_means_no_cap() {
        let slots = Slots::new(0, 0);
        let held: Vec<Slot> = (0..1000)
            .map(|_| slots.take(ip("198.51.100.7")).expect("no cap"))
            .collect();
        assert_eq!(slots.open(), 1000);
        drop(held);
        assert_eq!(slots.open(), 0);
    }

    #[test]
    fn the_cap_stays_under_the_open_file_limit() {
        if let Some(files) = open_files_limit() {
            let cap = effective_cap(usize::MAX);
            assert!((cap as u64) < files, "{cap} < {files}");
            assert_eq!(effective_cap(1), 1);
        }
    }
}
