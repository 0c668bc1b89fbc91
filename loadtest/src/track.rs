//! Which edits reached a replica: state-vector diffing and the writers' send logs.
//!
//! Every edit a writer makes inserts at least one character, so it ends at a unique clock of the
//! writer's clientID. A writer records `(end clock, send instant)` before it sends the edit; a
//! receiver compares its state vector before and after applying a frame, and every edit whose end
//! clock is in a newly covered range was integrated by that frame, however the server batched it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use yrs::{ClientID, StateVector};

/// For each client whose clock advanced from `before` to `after`: `(client, old, new)`, with
/// `old < new`. Clients that did not advance are left out.
pub fn advanced(before: &StateVector, after: &StateVector) -> Vec<(ClientID, u32, u32)> {
    after
        .iter()
        .filter_map(|(client, &new)| {
            let old = before.get(client);
            (new > old).then_some((*client, old, new))
        })
        .collect()
}

/// The edits one writer sent, in clock order.
#[derive(Debug, Default)]
pub struct SendLog {
    edits: Mutex<Vec<(u32, Instant)>>,
}

impl SendLog {
    /// Records an edit ending at `end_clock` (exclusive), sent at `at`.
    pub fn record(&self, end_clock: u32, at: Instant) {
        self.lock().push((end_clock, at));
    }

    /// Number of edits recorded so far.
    pub fn count(&self) -> usize {
        self.lock().len()
    }

    /// Calls `f` with the send instant of every edit integrated when the writer's clock went
    /// from `old` to `new`, and returns how many there were.
    pub fn integrated(&self, old: u32, new: u32, f: impl FnMut(Instant)) -> usize {
        let edits = self.lock();
        let hits = ended_within(&edits, old, new);
        let n = hits.len();
        hits.iter().map(|&(_, at)| at).for_each(f);
        n
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(u32, Instant)>> {
        // A panic while holding this lock cannot leave the vector half-written.
        self.edits.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The entries of `edits` (sorted by end clock) whose end clock is in `(old, new]`.
fn ended_within<T>(edits: &[(u32, T)], old: u32, new: u32) -> &[(u32, T)] {
    let start = edits.partition_point(|(end, _)| *end <= old);
    let stop = edits.partition_point(|(end, _)| *end <= new);
    &edits[start..stop.max(start)]
}

/// The writers of one document, by clientID; fixed before any client connects.
#[derive(Debug, Default)]
pub struct Writers {
    by_client: HashMap<ClientID, std::sync::Arc<SendLog>>,
}

impl Writers {
    /// Registers a writer and returns its log.
    pub fn add(&mut self, client: ClientID) -> std::sync::Arc<SendLog> {
        self.by_client.entry(client).or_default().clone()
    }

    /// The log of `client`, if it is a writer of this document.
    pub fn get(&self, client: &ClientID) -> Option<&SendLog> {
        self.by_client.get(client).map(|log| &**log)
    }

    /// Edits sent by all writers of this document so far.
    pub fn edits_sent(&self) -> usize {
        self.by_client.values().map(|log| log.count()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use yrs::updates::decoder::Decode;
    use yrs::{Doc, ReadTxn, Text, Transact, Update};

    fn sv(entries: &[(u64, u32)]) -> StateVector {
        entries
            .iter()
            .map(|&(c, clock)| (ClientID::new(c), clock))
            .collect()
    }

    #[test]
    fn advanced_lists_only_clients_that_moved() {
        let before = sv(&[(1, 5), (2, 3)]);
        let after = sv(&[(1, 5), (2, 7), (3, 2)]);
        let mut moved = advanced(&before, &after);
        moved.sort_by_key(|(c, _, _)| c.get());
        assert_eq!(
            moved,
            vec![(ClientID::new(2), 3, 7), (ClientID::new(3), 0, 2)]
        );
        assert!(advanced(&after, &after).is_empty());
    }

    #[test]
    fn edits_are_matched_by_end_clock() {
        let edits = [(2u32, 'a'), (5, 'b'), (6, 'c'), (10, 'd')];
        let names = |s: &[(u32, char)]| s.iter().map(|e| e.1).collect::<String>();
        assert_eq!(names(ended_within(&edits, 0, 2)), "a");
        assert_eq!(names(ended_within(&edits, 2, 6)), "bc");
        assert_eq!(
            names(ended_within(&edits, 2, 4)),
            "",
            "edit b is only partly there"
        );
        assert_eq!(names(ended_within(&edits, 0, 100)), "abcd");
        assert_eq!(names(ended_within(&edits, 10, 12)), "");
    }

    /// The whole path on real documents: a batched update carrying two edits is attributed to
    /// both, and an echo of the receiver's own edit to none.
    #[test]
    fn state_vectors_of_real_documents_find_each_edit() {
        let writer = Doc::new();
        let reader = Doc::new();
        let text = writer.get_or_insert_text("content");
        let log = SendLog::default();
        let t0 = Instant::now();
        let mut updates = Vec::new();
        for (i, s) in ["ab", "cde"].iter().enumerate() {
            let mut txn = writer.transact_mut();
            text.insert(&mut txn, 0, s);
            updates.push(txn.encode_update_v1());
            let end = txn.state_vector().get(&writer.client_id());
            log.record(end, t0 + std::time::Duration::from_millis(i as u64));
        }
        let merged = yrs::merge_updates_v1(&updates).expect("merge");
        let apply = |doc: &Doc, bytes: &[u8]| {
            let mut txn = doc.transact_mut();
            let before = txn.state_vector();
            txn.apply_update(Update::decode_v1(bytes).expect("decode"))
                .expect("apply");
            advanced(&before, &txn.state_vector())
        };
        let moved = apply(&reader, &merged);
        assert_eq!(moved, vec![(writer.client_id(), 0, 5)]);
        let mut seen = Vec::new();
        assert_eq!(log.integrated(0, 5, |at| seen.push(at)), 2);
        assert_eq!(seen.len(), 2);
        assert!(
            apply(&writer, &merged).is_empty(),
            "own echo is not a delivery"
        );
    }
}
