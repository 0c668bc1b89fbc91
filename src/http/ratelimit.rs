//! Rate limits: a token bucket, the per-connection budget of WebSocket messages and bytes, and a
//! bounded per-address table for HTTP requests and WebSocket upgrades. Pure apart from the
//! clock (tokio's, so tests run with paused time); no HTTP in here.
//!
//! Budgets are averages over [`BURST_SECS`]: a classroom behind one NAT address that opens its
//! pads at once spends the burst, not a per-second allowance. Addresses are kept in memory only,
//! as table keys; they are never logged or stored.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Seconds of budget a bucket holds when full: how long a client may go over its rate.
pub const BURST_SECS: f64 = 10.0;

/// Most addresses tracked at once; beyond, idle entries are evicted and, if none is idle, new
/// addresses pass unlimited until some are (the table never grows past this).
pub const MAX_TRACKED: usize = 65_536;

/// Least time between two sweeps of a full table, so a flood of new addresses costs one sweep
/// per interval, not one per request.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// A token bucket refilled at `rate` per second up to [`BURST_SECS`] of it. A cost is admitted
/// whenever the bucket is not in debt, and may take it below zero: one large message (up to the
/// message size limit) always passes, and the debt is paid back before the next.
///
/// Kept as the time at which the bucket would be full again (the GCRA form): integer
/// nanoseconds, so refills are exact, and one `Instant` per bucket.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: f64,
    /// When the bucket is full again; at or before now means full.
    full_at: Instant,
}

/// Most debt one cost can add: keeps the arithmetic far from `Instant`'s limits.
const MAX_DEBT: Duration = Duration::from_secs(3600);

impl TokenBucket {
    /// A full bucket of `rate` (> 0) per second.
    pub fn new(rate: f64, now: Instant) -> Self {
        Self { rate, full_at: now }
    }

    /// Spends `cost` if the bucket is not in debt; otherwise how long until it is.
    pub fn take(&mut self, cost: f64, now: Instant) -> Result<(), Duration> {
        let burst = Duration::from_secs_f64(BURST_SECS);
        let base = self.full_at.max(now);
        // Time to refill what is missing: beyond the burst, the bucket is in debt.
        let missing = base - now;
        if missing > burst {
            return Err(missing - burst);
        }
        let refill = Duration::try_from_secs_f64(cost / self.rate)
            .unwrap_or(MAX_DEBT)
            .min(MAX_DEBT);
        self.full_at = base + refill;
        Ok(())
    }

    /// Whether the bucket is full at `now`, i.e. indistinguishable from a fresh one.
    fn is_full(&self, now: Instant) -> bool {
        self.full_at <= now
    }
}

/// What one connection may send: messages and bytes per second (0 = unlimited).
#[derive(Debug)]
pub struct ConnLimit {
    messages: Option<TokenBucket>,
    bytes: Option<TokenBucket>,
}

/// Which budget a connection overspent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Exceeded {
    /// Too many messages.
    #[error("too many messages per second, slow down")]
    Messages,
    /// Too many bytes.
    #[error("too many bytes per second, slow down")]
    Bytes,
}

impl ConnLimit {
    /// A connection's budget, starting full.
    pub fn new(messages_per_sec: u32, bytes_per_sec: usize, now: Instant) -> Self {
        let bucket = |rate: f64| (rate > 0.0).then(|| TokenBucket::new(rate, now));
        Self {
            messages: bucket(f64::from(messages_per_sec)),
            bytes: bucket(bytes_per_sec as f64),
        }
    }

    /// Spends one message of `len` bytes.
    pub fn admit(&mut self, len: usize, now: Instant) -> Result<(), Exceeded> {
        if let Some(b) = &mut self.messages {
            b.take(1.0, now).map_err(|_| Exceeded::Messages)?;
        }
        if let Some(b) = &mut self.bytes {
            b.take(len as f64, now).map_err(|_| Exceeded::Bytes)?;
        }
        Ok(())
    }
}

/// The key an address is limited under: an IPv4 address, or the /64 network of an IPv6 one
/// (one host usually has a whole /64, so per-address limits would be trivial to dodge).
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// The per-address limits of the HTTP edge.
#[derive(Debug)]
pub struct IpLimits {
    /// Page and API requests.
    pub requests: IpLimiter,
    /// WebSocket upgrades.
    pub upgrades: IpLimiter,
}

impl IpLimits {
    /// Limits of `requests` and `upgrades` per second and address (0 = unlimited).
    pub fn new(requests: u32, upgrades: u32) -> Self {
        Self {
            requests: IpLimiter::new(requests),
            upgrades: IpLimiter::new(upgrades),
        }
    }
}

/// Per-address token buckets, at most [`MAX_TRACKED`] of them.
#[derive(Debug)]
pub struct IpLimiter {
    rate: f64,
    max: usize,
    table: Mutex<Table>,
}

#[derive(Debug)]
struct Table {
    buckets: HashMap<IpAddr, TokenBucket>,
    last_sweep: Option<Instant>,
}

impl IpLimiter {
    /// A limiter of `rate` per second and address (0 = unlimited).
    pub fn new(rate: u32) -> Self {
        Self::with_capacity(rate, MAX_TRACKED)
    }

    /// A limiter tracking at most `max` addresses.
    pub fn with_capacity(rate: u32, max: usize) -> Self {
        Self {
            rate: f64::from(rate),
            max,
            table: Mutex::new(Table {
                buckets: HashMap::new(),
                last_sweep: None,
            }),
        }
    }

    /// Counts one request from `ip`; `Err(wait)` when its budget is spent.
    pub fn check(&self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        if self.rate <= 0.0 {
            return Ok(());
        }
        let key = client_key(ip);
        // Poisoning only means another request panicked mid-update; the table is still usable.
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(bucket) = table.buckets.get_mut(&key) {
            return bucket.take(1.0, now);
        }
        if table.buckets.len() >= self.max {
            let due = table
                .last_sweep
                .is_none_or(|at| now.saturating_duration_since(at) >= SWEEP_EVERY);
            if due {
                table.last_sweep = Some(now);
                // A full bucket is what a new entry would be: forgetting it changes nothing.
                table.buckets.retain(|_, b| !b.is_full(now));
            }
            if table.buckets.len() >= self.max {
                // Every tracked address is busy: let this one through rather than grow.
                return Ok(());
            }
        }
        let mut bucket = TokenBucket::new(self.rate, now);
        let taken = bucket.take(1.0, now);
        table.buckets.insert(key, bucket);
        taken
    }

    /// Addresses tracked now.
    pub fn tracked(&self) -> usize {
        self.table
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .buckets
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn ip(n: u32) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(n))
    }

    #[tokio::test(start_paused = true)]
    async fn bucket_spends_its_burst_then_refills_at_its_rate() {
        let start = Instant::now();
        let mut b = TokenBucket::new(2.0, start);
        for _ in 0..20 {
            assert!(b.take(1.0, Instant::now()).is_ok());
        }
        // Empty (0 tokens) still admits: only debt refuses.
        assert!(b.take(1.0, Instant::now()).is_ok());
        let wait = b.take(1.0, Instant::now()).expect_err("in debt");
        assert_eq!(wait, Duration::from_millis(500));
        tokio::time::advance(Duration::from_millis(499)).await;
        assert!(b.take(1.0, Instant::now()).is_err());
        tokio::time::advance(Duration::from_millis(1)).await;
        assert!(b.take(1.0, Instant::now()).is_ok());
        // A long pause refills to capacity, not beyond.
        tokio::time::advance(Duration::from_secs(3600)).await;
        for _ in 0..21 {
            assert!(b.take(1.0, Instant::now()).is_ok());
        }
        assert!(b.take(1.0, Instant::now()).is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn one_large_message_passes_and_is_paid_back() {
        let mut c = ConnLimit::new(100, 1000, Instant::now());
        assert_eq!(c.admit(50_000, Instant::now()), Ok(()));
        assert_eq!(c.admit(1, Instant::now()), Err(Exceeded::Bytes));
        // 40 000 bytes of debt at 1000/s.
        tokio::time::advance(Duration::from_secs(40)).await;
        assert_eq!(c.admit(1, Instant::now()), Ok(()));
    }

    #[tokio::test(start_paused = true)]
    async fn message_flood_is_cut_and_zero_means_unlimited() {
        let mut c = ConnLimit::new(10, 0, Instant::now());
        let admitted = (0..1000)
            .take_while(|_| c.admit(10, Instant::now()).is_ok())
            .count();
        assert_eq!(admitted, 101, "the burst (10 s of 10/s) and one into debt");
        let mut free = ConnLimit::new(0, 0, Instant::now());
        assert!((0..10_000).all(|_| free.admit(1 << 20, Instant::now()).is_ok()));
    }

    #[tokio::test(start_paused = true)]
    async fn addresses_have_separate_budgets() {
        let l = IpLimiter::new(1);
        for _ in 0..11 {
            assert!(l.check(ip(1), Instant::now()).is_ok());
        }
        let wait = l.check(ip(1), Instant::now()).expect_err("spent");
        assert!(wait <= Duration::from_secs(1));
        assert!(
            l.check(ip(2), Instant::now()).is_ok(),
            "a neighbour is unaffected"
        );
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(l.check(ip(1), Instant::now()).is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn ipv6_is_limited_per_64_and_mapped_v4_as_v4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().expect("ip");
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().expect("ip");
        assert_eq!(client_key(a), client_key(b));
        let mapped = IpAddr::V6(Ipv4Addr::new(192, 0, 2, 1).to_ipv6_mapped());
        assert_eq!(client_key(mapped), IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)));
        assert_ne!(client_key(a), client_key(IpAddr::V6(Ipv6Addr::LOCALHOST)));
    }

    #[tokio::test(start_paused = true)]
    async fn the_table_stays_bounded_and_evicts_idle_addresses() {
        let l = IpLimiter::with_capacity(1, 4);
        for n in 0..4 {
            assert!(l.check(ip(n), Instant::now()).is_ok());
        }
        // Full of busy addresses: a new one passes untracked.
        assert!(l.check(ip(99), Instant::now()).is_ok());
        assert_eq!(l.tracked(), 4);
        // Once they are idle (refilled), the next sweep makes room.
        tokio::time::advance(Duration::from_secs(2)).await;
        assert!(l.check(ip(100), Instant::now()).is_ok());
        assert_eq!(l.tracked(), 1);
    }
}
