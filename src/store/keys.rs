//! The key layout every engine shares (the redb tables and the sled trees alike): a document's
//! log, history records, checkpoints and author names are keyed `name 0x00 u64` (big-endian, so
//! one document's entries are one ordered range), the expiry index by big-endian time then name.

use super::{Due, StoreError};

/// Reads a big-endian `u64` value (a counter, an expiry time).
pub(super) fn counter_of(bytes: &[u8]) -> Option<u64> {
    <[u8; 8]>::try_from(bytes).ok().map(u64::from_be_bytes)
}

/// The first key of `name`'s log range: `name 0x00`.
pub(super) fn log_prefix(name: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(name.len() + 9);
    key.extend_from_slice(name.as_bytes());
    key.push(0);
    key
}

/// The first key after every log key of `name` (names hold no NUL, and `name 0x01` sorts
/// before any longer name's `name x … 0x00`).
pub(super) fn log_end(name: &str) -> Vec<u8> {
    let mut key = name.as_bytes().to_vec();
    key.push(1);
    key
}

/// The key of entry `seq` (or client `seq`) of `name`.
pub(super) fn log_key(name: &str, seq: u64) -> Vec<u8> {
    let mut key = log_prefix(name);
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

/// Key of a completed one-time step in `counters`.
pub(super) fn done_key(step: &str) -> Vec<u8> {
    format!("done:{step}").into_bytes()
}

/// The expiry index's key of `name` due at `at`.
pub(super) fn due_key(at: u64, name: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(8 + name.len());
    key.extend_from_slice(&at.to_be_bytes());
    key.extend_from_slice(name.as_bytes());
    key
}

/// The index entry a key of the expiry index stands for.
pub(super) fn due_of(key: &[u8]) -> Result<Due, StoreError> {
    let corrupt = || StoreError::CorruptKey { tree: "expiry" };
    let (at, name) = key.split_at_checked(8).ok_or_else(corrupt)?;
    Ok(Due {
        at: u64::from_be_bytes(at.try_into().map_err(|_| corrupt())?),
        name: String::from_utf8(name.to_vec()).map_err(|_| corrupt())?,
    })
}

/// The sequence number that ends a log key whose name part is `prefix_len` bytes.
pub(super) fn seq_of(key: &[u8], prefix_len: usize) -> Result<u64, StoreError> {
    key.get(prefix_len..)
        .and_then(|s| <[u8; 8]>::try_from(s).ok())
        .map(u64::from_be_bytes)
        .ok_or(StoreError::CorruptKey { tree: "log" })
}
