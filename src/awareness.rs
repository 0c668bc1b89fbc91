//! Presence (awareness) states of one room, with the y-protocols clock rules, ownership by
//! connection, renewal timeouts and a size cap. Pure: time is passed in.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bytes::BytesMut;

use crate::protocol::{put_var_bytes, put_var_uint, ProtocolError, Reader};

/// Identifies one WebSocket connection within the server.
pub type ConnId = u64;

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
}

/// Decodes an awareness update, checking every state is JSON of at most `max_state` bytes.
pub fn decode_update(payload: &[u8], max_state: usize) -> Result<Vec<Entry>, AwarenessError> {
    let mut r = Reader::new(payload);
    let count = r.var_uint()?;
    // Each entry takes at least three bytes, so a larger count is a lie about the payload.
    if count > payload.len() as u64 / 3 {
        return Err(ProtocolError::LengthPastEnd.into());
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
    // Entries whose state is `None` are kept for their clock, so that a stale update
    // cannot bring a departed client back.
    known: HashMap<u64, Known>,
}

impl Awareness {
    /// Applies entries received from `owner` at `now`; returns the clients whose entry changed
    /// (renewals included, as y-protocols reports them), to be broadcast.
    pub fn apply(&mut self, owner: ConnId, entries: Vec<Entry>, now: Instant) -> Vec<u64> {
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
        changed
    }

    /// Removes every live state introduced by `owner`; returns the clients removed.
    pub fn remove_owner(&mut self, owner: ConnId) -> Vec<u64> {
        self.remove_where(|k| k.owner == owner)
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
        a.apply(
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
        assert_eq!(a.apply(1, vec![entry(5, 2, Some("{}"))], now), vec![5]);
        assert!(a
            .apply(1, vec![entry(5, 1, Some("{\"old\":1}"))], now)
            .is_empty());
        assert!(a
            .apply(1, vec![entry(5, 2, Some("{\"same\":1}"))], now)
            .is_empty());
        assert_eq!(a.apply(1, vec![entry(5, 2, None)], now), vec![5]);
        assert_eq!(a.live(), 0);
        assert!(
            a.apply(1, vec![entry(5, 2, Some("{}"))], now).is_empty(),
            "stale state cannot return"
        );
        assert_eq!(a.apply(1, vec![entry(5, 3, Some("{}"))], now), vec![5]);
    }

    #[test]
    fn owners_and_timeouts_remove_states() {
        let mut a = Awareness::default();
        let t0 = Instant::now();
        a.apply(
            1,
            vec![entry(5, 1, Some("{}")), entry(6, 1, Some("{}"))],
            t0,
        );
        a.apply(
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
        a.apply(1, vec![entry(1, 1, Some("{not json"))], Instant::now());
        assert_eq!(
            decode_update(&a.encode(&[1]), 1024),
            Err(AwarenessError::BadJson)
        );
        a.apply(
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
}
