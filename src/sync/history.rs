//! History's retention, run on the blocking pool: old revisions thinned (one per hour, then
//! one per day) and, past `[history] keep`, dropped into a checkpoint.
//!
//! What to do is decided by `doc::history::thin_plan` on what one pass reads; this module
//! does the IO. A pass is bounded ([`PASS_ENTRIES`] entries read, [`PASS_MERGES`] merges, each
//! one transaction) so the blocking call stays short; the next pass continues, reading from
//! the start of the log again, where thinned history is a few entries an hour or a day. Every
//! write is a store primitive that does nothing once the document is erased.

use yrs::updates::decoder::Decode;
use yrs::{ReadTxn, StateVector, Transact, Update};

use crate::config::HistoryKeep;
use crate::doc::guard;
use crate::doc::history::{self, EntryInfo};
use crate::store::{Store, StoreError};

/// Most history records (and, separately, log entries) one pass reads.
pub const PASS_ENTRIES: usize = 10_000;

/// Most runs one pass merges (one transaction each).
pub const PASS_MERGES: usize = 64;

/// What a thinning pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Thinned {
    /// Log entries merged into a later one.
    pub merged: usize,
    /// Log entries dropped past the kept period.
    pub dropped: usize,
}

/// Thins the history of document `name` as of `now_ms` under `keep`. Does nothing to a
/// document that no longer exists (its erasure wins).
pub fn thin(
    store: &dyn Store,
    name: &str,
    now_ms: u64,
    keep: HistoryKeep,
) -> Result<Thinned, StoreError> {
    pass(store, name, now_ms, keep, PASS_ENTRIES, PASS_MERGES)
}

/// One pass of [`thin`], reading at most `max_entries` records (and log entries) and merging at
/// most `max_merges` runs.
fn pass(
    store: &dyn Store,
    name: &str,
    now_ms: u64,
    keep: HistoryKeep,
    max_entries: usize,
    max_merges: usize,
) -> Result<Thinned, StoreError> {
    let mut done = Thinned::default();
    if store.meta(name)?.is_none() {
        return Ok(done);
    }
    let rows = store.history(name, None, max_entries)?;
    let complete = rows.len() < max_entries;
    // A record that does not decode is no revision: its entry merges like one without a record.
    let entries: Vec<(u64, EntryInfo)> = rows
        .iter()
        .filter_map(|(seq, bytes)| Some((*seq, EntryInfo::from_bytes(bytes).ok()?)))
        .collect();
    let keep_ms = match keep {
        HistoryKeep::Document => None,
        HistoryKeep::For(d) => Some(u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
    };
    let plan = history::thin_plan(&entries, complete, now_ms, keep_ms);
    if let Some(through) = plan.forget {
        let dropped = entries.iter().filter(|(seq, _)| *seq <= through).count();
        if forget(store, name, through)? {
            done.dropped = dropped;
        }
    }
    let mut budget = max_entries;
    for &(first, last) in plan.merges.iter().take(max_merges) {
        let log = store.log_between(name, first, last, budget)?;
        // Past this pass's budget: the next pass merges it.
        if log.last().map(|(seq, _)| *seq) != Some(last) {
            break;
        }
        budget -= log.len();
        let Some(update) = merge(&log) else {
            tracing::warn!(
                first,
                last,
                "history entries do not merge; left as they are"
            );
            continue;
        };
        let info = history::merge_infos(
            entries
                .iter()
                .filter(|(seq, _)| (first..=last).contains(seq))
                .map(|(_, info)| info),
        );
        let info = info.map(|i| i.to_bytes()).unwrap_or_default();
        if !store.squash(name, first, last, &update, &info)? {
            // Erased (or its history changed) meanwhile: nothing more to do now.
            break;
        }
        done.merged += log.len() - 1;
    }
    Ok(done)
}

/// Rebuilds `name` as of `through` and forgets its history up to there; false if it could
/// not (erased meanwhile, or the version does not rebuild: then history is kept).
fn forget(store: &dyn Store, name: &str, through: u64) -> Result<bool, StoreError> {
    let version = store.version(name, through)?;
    if version.meta.is_none() {
        return Ok(false);
    }
    let doc = match history::rebuild(version.snapshot.as_deref(), &version.log) {
        Ok(doc) => doc,
        Err(e) => {
            tracing::warn!(error = %e, through, "a past version does not rebuild; its history is kept");
            return Ok(false);
        }
    };
    let state = doc
        .transact()
        .encode_state_as_update_v1(&StateVector::default());
    store.forget(name, through, &state)
}

/// The updates of `log` as one, if they merge into an update that decodes and passes the
/// bounds a stored update must.
fn merge(log: &[(u64, Vec<u8>)]) -> Option<Vec<u8>> {
    let updates: Vec<&[u8]> = log.iter().map(|(_, u)| u.as_slice()).collect();
    let merged = yrs::merge_updates_v1(&updates).ok()?;
    guard::document_shape(&merged).ok()?;
    Update::decode_v1(&merged).ok()?;
    Some(merged)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use yrs::{Doc, GetString, Map, Text};

    use super::*;
    use crate::doc::history::{Coalescer, DAY_MS, HOUR_MS};
    use crate::store::{Entry, RedbStore};

    const NOW: u64 = 100 * DAY_MS;

    /// A pad and a calc-like map typed in bursts over 60 days, with checkpoints, stored.
    fn typed(store: &RedbStore, name: &str) {
        store.put_meta(name, b"m", None).expect("meta");
        let doc = Doc::with_client_id(7);
        let text = doc.get_or_insert_text("content");
        let cells = doc.get_or_insert_map("cells");
        for i in 0..240u64 {
            // Bursts of three entries 300 ms apart: fifty over days 60 to 45 ago (thinned per
            // day), twenty over the three days before the last (per hour), ten in the last hour.
            let burst = i / 3;
            let start = match burst {
                0..50 => NOW - 60 * DAY_MS + burst * 7 * HOUR_MS,
                50..70 => NOW - 3 * DAY_MS + (burst - 50) * 20 * 60_000,
                _ => NOW - HOUR_MS + (burst - 70) * 120_000,
            };
            let time = start + (i % 3) * 300;
            let before = doc.transact().state_vector();
            {
                let mut txn = doc.transact_mut();
                let len = text.len(&txn);
                if i % 5 == 4 {
                    text.remove_range(&mut txn, 0, 1);
                } else {
                    text.insert(&mut txn, len, &format!("{i} "));
                }
                cells.insert(&mut txn, format!("A{}", i % 11), i as f64);
            }
            let update = doc.transact().encode_state_as_update_v1(&before);
            let info = EntryInfo::edit(time, [7]).to_bytes();
            let seq = store
                .append(
                    name,
                    &[Entry {
                        update: &update,
                        info: &info,
                    }],
                )
                .expect("append");
            if i % 17 == 16 {
                let state = doc
                    .transact()
                    .encode_state_as_update_v1(&StateVector::default());
                store.checkpoint(name, &state, seq).expect("checkpoint");
            }
        }
    }

    fn revisions(store: &RedbStore, name: &str) -> Vec<u64> {
        let mut coalescer = Coalescer::default();
        let mut out = Vec::new();
        for (seq, info) in store.history(name, None, usize::MAX).expect("history") {
            let info = EntryInfo::from_bytes(&info).expect("info");
            out.extend(coalescer.push(seq, info).map(|r| r.rev));
        }
        out.extend(coalescer.finish(NOW).map(|r| r.rev));
        out
    }

    /// The content of a rebuilt version, through a fresh document made of its encoded state.
    fn content(store: &RedbStore, name: &str, through: u64) -> (String, String) {
        let version = store.version(name, through).expect("version");
        let doc = history::rebuild(version.snapshot.as_deref(), &version.log).expect("rebuild");
        let state = doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        let fresh = Doc::new();
        fresh
            .transact_mut()
            .apply_update(Update::decode_v1(&state).expect("decodes"))
            .expect("applies");
        let text = fresh.get_or_insert_text("content");
        let cells = fresh.get_or_insert_map("cells");
        let txn = fresh.transact();
        let cells: std::collections::BTreeMap<String, String> = cells
            .iter(&txn)
            .map(|(k, v)| (k.to_owned(), v.to_string(&txn)))
            .collect();
        (text.get_string(&txn), format!("{cells:?}"))
    }

    fn thin_to_the_end(store: &RedbStore, name: &str, keep: HistoryKeep) -> Thinned {
        let mut total = Thinned::default();
        loop {
            let pass = thin(store, name, NOW, keep).expect("thin");
            if pass == Thinned::default() {
                return total;
            }
            total.merged += pass.merged;
            total.dropped += pass.dropped;
        }
    }

    /// The revisions of `name` and the content of each, before a pass changes them.
    fn revisions_and_contents(store: &RedbStore, name: &str) -> (Vec<u64>, Vec<(String, String)>) {
        let revs = revisions(store, name);
        let contents = revs.iter().map(|&rev| content(store, name, rev)).collect();
        (revs, contents)
    }

    #[test]
    fn thinning_keeps_every_surviving_revision_byte_for_byte() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = crate::store::open_for_tests(dir.path());
        typed(&store, "pad");
        let (before, states) = revisions_and_contents(&store, "pad");
        let done = thin_to_the_end(&store, "pad", HistoryKeep::Document);
        assert!(done.merged > 0 && done.dropped == 0, "{done:?}");
        let after = revisions(&store, "pad");
        assert!(
            after.len() < before.len(),
            "{} of {}",
            after.len(),
            before.len()
        );
        assert_eq!(after.last(), before.last(), "the current revision stays");
        for rev in &after {
            let i = before
                .iter()
                .position(|r| r == rev)
                .expect("a revision from before");
            assert_eq!(content(&store, "pad", *rev), states[i], "revision {rev}");
        }
        assert_eq!(content(&store, "pad", u64::MAX), states[states.len() - 1]);
        assert_eq!(
            thin(&store, "pad", NOW, HistoryKeep::Document).expect("thin"),
            Thinned::default()
        );
    }

    #[test]
    fn past_the_kept_period_revisions_are_dropped_and_the_rest_stays() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = crate::store::open_for_tests(dir.path());
        typed(&store, "pad");
        let (before, states) = revisions_and_contents(&store, "pad");
        let keep = HistoryKeep::For(Duration::from_secs(50 * 86_400));
        let done = thin_to_the_end(&store, "pad", keep);
        assert!(done.dropped > 0, "{done:?}");
        let after = revisions(&store, "pad");
        for rev in &after {
            let i = before
                .iter()
                .position(|r| r == rev)
                .expect("a revision from before");
            assert_eq!(content(&store, "pad", *rev), states[i], "revision {rev}");
        }
        let oldest = store.history("pad", None, 1).expect("history");
        let info = EntryInfo::from_bytes(&oldest[0].1).expect("info");
        assert!(
            info.time_ms >= NOW - 50 * DAY_MS,
            "nothing older than kept is listed"
        );
        assert_eq!(content(&store, "pad", u64::MAX), states[states.len() - 1]);
    }

    #[test]
    fn small_passes_continue_where_the_last_stopped_and_end_where_one_large_pass_does() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = crate::store::open_for_tests(dir.path());
        typed(&store, "small");
        typed(&store, "large");
        let keep = HistoryKeep::Document;
        let mut passes = 0;
        loop {
            let done = pass(&store, "small", NOW, keep, 40, 2).expect("pass");
            if done == Thinned::default() {
                break;
            }
            passes += 1;
            assert!(passes < 200, "passes make progress");
        }
        assert!(passes > 2, "{passes} passes");
        thin_to_the_end(&store, "large", keep);
        let (small, large) = (revisions(&store, "small"), revisions(&store, "large"));
        assert_eq!(small.len(), large.len());
        for (s, l) in small.iter().zip(&large) {
            assert_eq!(content(&store, "small", *s), content(&store, "large", *l));
        }
    }

    #[test]
    fn a_pass_on_an_erased_document_writes_nothing() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = crate::store::open_for_tests(dir.path());
        typed(&store, "pad");
        store.delete("pad", None).expect("delete");
        let before = store.entries_for_tests();
        let keep = HistoryKeep::For(Duration::from_secs(86_400));
        assert_eq!(
            thin(&store, "pad", NOW, keep).expect("thin"),
            Thinned::default()
        );
        assert_eq!(store.entries_for_tests(), before);
        assert!(before.iter().all(|(_, k, _)| !k.starts_with(b"pad")));
    }
}
