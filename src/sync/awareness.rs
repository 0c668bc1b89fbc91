//! Presence (awareness) states of one room, with the y-protocols clock rules, ownership by
//! connection, renewal timeouts and caps: state size and JSON depth, clients per connection
//! and per room. Pure: time is passed in.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use bytes::BytesMut;

use crate::sync::protocol::{put_var_bytes, put_var_uint, ProtocolError, Reader};

/// Identifies one WebSocket connection within the server.
pub type ConnId = u64;

/// Presence clients one connection may introduce (live or left). A y-websocket connection
/// speaks for one client (its document's clientID); a few more leave room for a page that
/// replaces its document without reconnecting.
pub const MAX_CLIENTS_PER_CONNECTION: usize = 8;

/// Presence clients one room may hold (live or left, from all its connections): far above a
/// class or a meeting, and it bounds what a joining client is sent first.
pub const MAX_CLIENTS_PER_ROOM: usize = 1_000;

/// Arrays and objects nest at most this deep in a presence state. Real states nest four levels
/// (a cursor's relative position); stock JavaScript clients throw on some thousands.
pub const MAX_JSON_DEPTH: usize = 32;

/// The owner of states whose connection left: they are removed once their removal is broadcast.
const DEPARTED: ConnId = ConnId::MAX;

/// One entry of an awareness update as sent by a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The Yjs clientID the state belongs to.
    pub client: u64,
    /// The state's clock; higher wins.
    pub clock: u64,
    /// The JSON state; `None` means the client left.
    pub state: Option<Box<str>>,
}

/// Why an awareness update was refused. Messages are safe to send as close reasons.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum AwarenessError {
    /// The binary framing is broken.
    #[error("malformed awareness update: {0}")]
    Framing(#[from] ProtocolError),
    /// A state is not UTF-8.
    #[error("awareness state is not UTF-8")]
    NotUtf8,
    /// A state is not valid JSON.
    #[error("awareness state is not valid JSON")]
    BadJson,
    /// A state is larger than the configured cap.
    #[error("awareness state larger than {0} bytes")]
    TooLarge(usize),
    /// A state nests arrays or objects deeper than [`MAX_JSON_DEPTH`].
    #[error("awareness state nested too deeply")]
    TooDeep,
    /// The connection would speak for more than [`MAX_CLIENTS_PER_CONNECTION`] clients.
    #[error("too many presence clients on one connection")]
    TooManyClients,
    /// The room would hold more than [`MAX_CLIENTS_PER_ROOM`] clients.
    #[error("too many presence clients in this document")]
    RoomFull,
}

impl AwarenessError {
    /// The message of a refusal decided by the room, as a static string (a close reason).
    pub fn reason(&self) -> &'static str {
        match self {
            AwarenessError::TooManyClients => "too many presence clients on one connection",
            AwarenessError::RoomFull => "too many presence clients in this document",
            _ => "invalid awareness update",
        }
    }
}

/// Decodes an awareness update, checking every state is JSON of at most `max_state` bytes.
pub fn decode_update(payload: &[u8], max_state: usize) -> Result<Vec<Entry>, AwarenessError> {
    decode_client_update(payload, max_state, usize::MAX)
}

/// [`decode_update`] for what a client sends: more than `max_entries` entries are refused
/// before any is read (one connection never speaks for more clients than it may introduce).
pub fn decode_client_update(
    payload: &[u8],
    max_state: usize,
    max_entries: usize,
) -> Result<Vec<Entry>, AwarenessError> {
    let mut r = Reader::new(payload);
    let count = r.var_uint()?;
    // Each entry takes at least three bytes, so a larger count is a lie about the payload.
    if count > payload.len() as u64 / 3 {
        return Err(ProtocolError::LengthPastEnd.into());
    }
    if count > max_entries as u64 {
        return Err(AwarenessError::TooManyClients);
    }
    let mut entries = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let client = r.var_uint()?;
        let clock = r.var_uint()?;
        let raw = r.var_bytes()?;
        if raw.len() > max_state {
            return Err(AwarenessError::TooLarge(max_state));
        }
        let text = std::str::from_utf8(raw).map_err(|_| AwarenessError::NotUtf8)?;
        if !json_depth_within(text, MAX_JSON_DEPTH) {
            return Err(AwarenessError::TooDeep);
        }
        serde_json::from_str::<serde::de::IgnoredAny>(text).map_err(|_| AwarenessError::BadJson)?;
        let state = (text.trim() != "null").then(|| text.into());
        entries.push(Entry {
            client,
            clock,
            state,
        });
    }
    r.finish()?;
    Ok(entries)
}

/// Whether arrays and objects in JSON `text` nest at most `max` deep; counted without parsing
/// or recursion (brackets inside strings do not count). Invalid JSON is left to the parser.
fn json_depth_within(text: &str, max: usize) -> bool {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for b in text.bytes() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return false;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    true
}

#[derive(Debug)]
struct Known {
    clock: u64,
    state: Option<Box<str>>,
    owner: ConnId,
    renewed: Instant,
}

/// The awareness states of one room.
#[derive(Debug, Default)]
pub struct Awareness {
    // Entries whose state is `None` are kept for their clock while their connection stays, so
    // that a stale update cannot bring a departed client back; they go with the connection.
    known: HashMap<u64, Known>,
}

impl Awareness {
    /// Applies entries received from `owner` at `now`; returns the clients whose entry changed
    /// (renewals included, as y-protocols reports them), to be broadcast. Refused whole, with
    /// nothing applied, if the connection would speak for more than
    /// [`MAX_CLIENTS_PER_CONNECTION`] clients or the room hold more than
    /// [`MAX_CLIENTS_PER_ROOM`].
    pub fn apply(
        &mut self,
        owner: ConnId,
        entries: Vec<Entry>,
        now: Instant,
    ) -> Result<Vec<u64>, AwarenessError> {
        let mut taken = HashSet::new();
        let mut added = 0;
        for e in &entries {
            match self.known.get(&e.client) {
                Some(k) if k.owner == owner => {}
                known => {
                    if taken.insert(e.client) && known.is_none() {
                        added += 1;
                    }
                }
            }
        }
        if self.owned_by(owner) + taken.len() > MAX_CLIENTS_PER_CONNECTION {
            return Err(AwarenessError::TooManyClients);
        }
        if self.known.len() + added > MAX_CLIENTS_PER_ROOM {
            return Err(AwarenessError::RoomFull);
        }
        let mut changed = Vec::new();
        for e in entries {
            let accept = match self.known.get(&e.client) {
                None => true,
                Some(k) => {
                    k.clock < e.clock
                        || (k.clock == e.clock && e.state.is_none() && k.state.is_some())
                }
            };
            if !accept {
                continue;
            }
            self.known.insert(
                e.client,
                Known {
                    clock: e.clock,
                    state: e.state,
                    owner,
                    renewed: now,
                },
            );
            changed.push(e.client);
        }
        Ok(changed)
    }

    /// The clients whose states `owner` introduced and still owns (at most
    /// [`MAX_CLIENTS_PER_CONNECTION`]): who a connection speaks for, named in history when its
    /// update carries no block of its own (a deletion).
    pub fn clients_of(&self, owner: ConnId) -> Vec<u64> {
        self.known
            .iter()
            .filter(|(_, k)| k.owner == owner)
            .map(|(client, _)| *client)
            .collect()
    }

    /// Entries `owner` introduced (live or left): at most a room's bound, so counted, not kept.
    fn owned_by(&self, owner: ConnId) -> usize {
        self.known.values().filter(|k| k.owner == owner).count()
    }

    /// Removes every entry introduced by `owner`: each becomes `None` until its removal is
    /// broadcast (then [`Awareness::purge_departed`] drops it); returns them all, left clients
    /// included, so that peers learn of a `null` that arrived just before the leave with the
    /// clock they know, and so that the broadcast that purges them always happens.
    pub fn remove_owner(&mut self, owner: ConnId) -> Vec<u64> {
        let mut removed = Vec::new();
        for (client, k) in &mut self.known {
            if k.owner == owner {
                k.state = None;
                k.owner = DEPARTED;
                removed.push(*client);
            }
        }
        removed
    }

    /// Drops the entries of connections that left, once their removal has been broadcast.
    pub fn purge_departed(&mut self) {
        self.known.retain(|_, k| k.owner != DEPARTED);
    }

    /// Removes live states not renewed within `timeout` before `now`; returns the clients removed.
    pub fn expire(&mut self, now: Instant, timeout: Duration) -> Vec<u64> {
        self.remove_where(|k| now.saturating_duration_since(k.renewed) >= timeout)
    }

    fn remove_where(&mut self, mut pred: impl FnMut(&Known) -> bool) -> Vec<u64> {
        let mut removed = Vec::new();
        for (client, k) in &mut self.known {
            if k.state.is_some() && pred(k) {
                k.state = None;
                removed.push(*client);
            }
        }
        removed
    }

    /// Whether any client has a live state (something [`Awareness::expire`] may remove).
    pub fn has_live(&self) -> bool {
        self.known.values().any(|k| k.state.is_some())
    }

    /// Number of clients with a live state.
    pub fn live(&self) -> usize {
        self.known.values().filter(|k| k.state.is_some()).count()
    }

    /// Encodes the current entries of `clients` (removed ones as `null`) as an awareness update.
    pub fn encode(&self, clients: &[u64]) -> Vec<u8> {
        let mut out = BytesMut::new();
        put_var_uint(&mut out, clients.len() as u64);
        for client in clients {
            let (clock, state) = match self.known.get(client) {
                Some(k) => (k.clock, k.state.as_deref().unwrap_or("null")),
                None => (0, "null"),
            };
            put_var_uint(&mut out, *client);
            put_var_uint(&mut out, clock);
            put_var_bytes(&mut out, state.as_bytes());
        }
        out.to_vec()
    }

    /// Encodes every live state as an awareness update.
    pub fn encode_live(&self) -> Vec<u8> {
        let live: Vec<u64> = self
            .known
            .iter()
            .filter(|(_, k)| k.state.is_some())
            .map(|(c, _)| *c)
            .collect();
        self.encode(&live)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Awareness {
        fn apply_ok(&mut self, owner: ConnId, entries: Vec<Entry>, now: Instant) -> Vec<u64> {
            self.apply(owner, entries, now).expect("accepted")
        }
    }

    fn entry(client: u64, clock: u64, state: Option<&str>) -> Entry {
        Entry {
            client,
            clock,
            state: state.map(Into::into),
        }
    }

    #[test]
    fn encoding_round_trips() {
        let mut a = Awareness::default();
        let now = Instant::now();
        a.apply_ok(
            1,
            vec![
                entry(10, 3, Some(r#"{"user":{"name":"é"}}"#)),
                entry(11, 1, None),
            ],
            now,
        );
        let decoded = decode_update(&a.encode(&[10, 11]), 1024).expect("decodes");
        assert_eq!(
            decoded,
            vec![
                entry(10, 3, Some(r#"{"user":{"name":"é"}}"#)),
                entry(11, 1, None)
            ]
        );
    }

    #[test]
    fn follows_the_clock_rules() {
        let mut a = Awareness::default();
        let now = Instant::now();
        assert!(!a.has_live());
        assert_eq!(a.apply_ok(1, vec![entry(5, 2, Some("{}"))], now), vec![5]);
        assert!(a.has_live());
        assert!(a
            .apply_ok(1, vec![entry(5, 1, Some("{\"old\":1}"))], now)
            .is_empty());
        assert!(a
            .apply_ok(1, vec![entry(5, 2, Some("{\"same\":1}"))], now)
            .is_empty());
        assert_eq!(a.apply_ok(1, vec![entry(5, 2, None)], now), vec![5]);
        assert_eq!(a.live(), 0);
        assert!(!a.has_live(), "a removed state has nothing to expire");
        assert!(
            a.apply_ok(1, vec![entry(5, 2, Some("{}"))], now).is_empty(),
            "stale state cannot return"
        );
        assert_eq!(a.apply_ok(1, vec![entry(5, 3, Some("{}"))], now), vec![5]);
    }

    #[test]
    fn owners_and_timeouts_remove_states() {
        let mut a = Awareness::default();
        let t0 = Instant::now();
        a.apply_ok(
            1,
            vec![entry(5, 1, Some("{}")), entry(6, 1, Some("{}"))],
            t0,
        );
        a.apply_ok(
            2,
            vec![entry(7, 1, Some("{}"))],
            t0 + Duration::from_secs(20),
        );
        let mut gone = a.remove_owner(1);
        gone.sort();
        assert_eq!(gone, vec![5, 6]);
        assert!(a
            .expire(t0 + Duration::from_secs(40), Duration::from_secs(30))
            .is_empty());
        assert_eq!(
            a.expire(t0 + Duration::from_secs(50), Duration::from_secs(30)),
            vec![7]
        );
        assert_eq!(a.encode_live(), vec![0]);
    }

    #[test]
    fn refuses_bad_states() {
        let mut a = Awareness::default();
        a.apply_ok(1, vec![entry(1, 1, Some("{not json"))], Instant::now());
        assert_eq!(
            decode_update(&a.encode(&[1]), 1024),
            Err(AwarenessError::BadJson)
        );
        a.apply_ok(
            1,
            vec![entry(2, 1, Some(&format!("\"{}\"", "x".repeat(100))))],
            Instant::now(),
        );
        assert_eq!(
            decode_update(&a.encode(&[2]), 50),
            Err(AwarenessError::TooLarge(50))
        );
        assert!(matches!(
            decode_update(&[1, 1], 50),
            Err(AwarenessError::Framing(_))
        ));
        assert!(matches!(
            decode_update(&[200, 1], 50),
            Err(AwarenessError::Framing(_))
        ));
    }

    #[test]
    fn deep_json_is_refused_before_parsing() {
        let deep = format!("{}{}", "[".repeat(8_000), "]".repeat(8_000));
        let mut a = Awareness::default();
        a.apply_ok(1, vec![entry(1, 1, Some(&deep))], Instant::now());
        assert_eq!(
            decode_update(&a.encode(&[1]), 1 << 20),
            Err(AwarenessError::TooDeep)
        );
        let at_limit = format!(
            "{}{}",
            r#"{"a":["#.repeat(MAX_JSON_DEPTH / 2),
            "]}".repeat(MAX_JSON_DEPTH / 2)
        );
        assert!(json_depth_within(&at_limit, MAX_JSON_DEPTH));
        assert!(!json_depth_within(&format!("[{at_limit}]"), MAX_JSON_DEPTH));
        // Brackets in strings, escaped quotes included, are text.
        assert!(json_depth_within(r#"["\"[[[[", "]]"]"#, 1));
    }

    #[test]
    fn clients_are_bounded_per_connection_and_per_room() {
        let mut a = Awareness::default();
        let now = Instant::now();
        let many: Vec<Entry> = (0..=MAX_CLIENTS_PER_CONNECTION as u64)
            .map(|c| entry(c, 1, None))
            .collect();
        assert_eq!(
            a.apply(1, many.clone(), now),
            Err(AwarenessError::TooManyClients)
        );
        assert!(a.known.is_empty(), "refused whole");
        // Renewing its own clients is always fine, and so is the same client repeated.
        let mine: Vec<Entry> = (0..MAX_CLIENTS_PER_CONNECTION as u64)
            .map(|c| entry(c, 1, Some("{}")))
            .collect();
        a.apply_ok(1, mine, now);
        a.apply_ok(1, vec![entry(0, 2, Some("{}")), entry(0, 3, None)], now);
        assert_eq!(
            a.apply(1, vec![entry(100, 1, None)], now),
            Err(AwarenessError::TooManyClients)
        );
        // The room fills up across connections.
        let per = MAX_CLIENTS_PER_CONNECTION as u64;
        let mut conn = 2;
        while a.known.len() + (per as usize) <= MAX_CLIENTS_PER_ROOM {
            let base = conn * 1_000;
            a.apply_ok(
                conn,
                (base..base + per).map(|c| entry(c, 1, None)).collect(),
                now,
            );
            conn += 1;
        }
        let base = conn * 1_000;
        assert_eq!(
            a.apply(
                conn,
                (base..base + per).map(|c| entry(c, 1, None)).collect(),
                now
            ),
            Err(AwarenessError::RoomFull)
        );
    }

    #[test]
    fn a_departed_connection_leaves_nothing_behind() {
        let mut a = Awareness::default();
        let now = Instant::now();
        a.apply_ok(1, vec![entry(1, 1, Some("{}")), entry(2, 1, None)], now);
        a.apply_ok(2, vec![entry(3, 1, Some("{}"))], now);
        let mut gone = a.remove_owner(1);
        gone.sort_unstable();
        assert_eq!(gone, vec![1, 2]);
        // The removal is broadcast with the clock peers know, then the entries go.
        assert_eq!(
            decode_update(&a.encode(&[1, 2]), 64),
            Ok(vec![entry(1, 1, None), entry(2, 1, None)])
        );
        a.purge_departed();
        assert_eq!(a.known.len(), 1);
        assert_eq!(a.owned_by(1), 0);
        assert_eq!(a.owned_by(2), 1);
        // A client taken over by another connection counts for that one only.
        a.apply_ok(3, vec![entry(3, 2, Some("{}"))], now);
        assert_eq!((a.owned_by(2), a.owned_by(3)), (0, 1));
    }
}
