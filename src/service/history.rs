//! A document's history as the edges show it: pages of revisions with their authors' names, a
//! past version as one update (and its exports), and restoring one. Every read goes to the
//! store on the blocking pool within the file-job bounds (`export::bounded`), never through the
//! document's room, so browsing history cannot slow down the editors; only a restore goes
//! through the room, as an edit.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::Semaphore;
use yrs::{ReadTxn, StateVector, Transact};

use crate::convert::calc::{self as calc_io, bridge, CalcFormat, CalcIoError};
use crate::convert::pad::{export_pad, ExportOptions, PadFormat};
use crate::doc::history::{self, Coalescer, EntryInfo, Revision};
use crate::doc::meta::Kind;
use crate::doc::name::DocName;
use crate::service::export::bounded;
use crate::service::ServiceError;
use crate::store::{Store, StoreError};
use crate::sync::hub::Hub;
use crate::sync::room::Restored;

/// Most revisions one page lists.
pub const MAX_LIMIT: usize = 500;

/// Revisions a page lists when no limit is given.
pub const DEFAULT_LIMIT: usize = 100;

/// History entries read from the store at a time while coalescing.
const CHUNK: usize = 1024;

/// Which revisions a page lists (at most its limit, always oldest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// The newest ones.
    Latest,
    /// The ones after this revision.
    After(u64),
    /// The ones just before this revision.
    Before(u64),
}

/// One revision as the edges list it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevisionInfo {
    /// Its number.
    pub rev: u64,
    /// When it was reached, Unix seconds.
    pub time: u64,
    /// The names of who changed the document since the previous revision (deduplicated, none
    /// empty; possibly none at all).
    pub authors: Vec<String>,
    /// The revision it brought back, if it is a restore.
    pub restored_from: Option<u64>,
}

/// A page of revisions, oldest first, with the cursors to the neighbouring pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevisionPage {
    /// The revisions.
    pub revisions: Vec<RevisionInfo>,
    /// Pass as `after` for the following page; `None` when there is none yet.
    pub next: Option<u64>,
    /// Pass as `before` for older revisions; `None` when there are none.
    pub previous: Option<u64>,
}

/// The kind of document `name`; `NotFound` if it does not exist (or was erased).
pub async fn kind(hub: &Hub, name: &DocName) -> Result<Kind, ServiceError> {
    Ok(hub.meta(name).await?.ok_or(ServiceError::NotFound)?.kind)
}

/// A page of the revisions of document `name`: at most `limit` (1 to [`MAX_LIMIT`]) of them, as
/// `window` says. A state changed less than [`history::QUIET_MS`] ago is not a revision yet.
pub async fn revisions(
    hub: &Hub,
    slots: &Arc<Semaphore>,
    name: &DocName,
    window: Window,
    limit: usize,
) -> Result<RevisionPage, ServiceError> {
    let limit = limit.clamp(1, MAX_LIMIT);
    let store = hub.store().clone();
    let key = name.clone();
    let now = now_ms();
    // Whether the document exists is read in the same job, from the store, not asked of its
    // room: the edge has just resolved its kind, and history never goes through the room.
    bounded(slots, name, "history list", move || {
        match store.meta(key.as_str())? {
            Some(_) => list(store.as_ref(), key.as_str(), window, limit, now).map(Some),
            None => Ok(None),
        }
    })
    .await?
    .map_err(|e| stored(name, e))?
    .ok_or(ServiceError::NotFound)
}

/// Document `name` as of revision `rev`, as one v1 update of the whole document. `NoRevision`
/// unless `rev` is one of its listed revisions.
pub async fn version(
    hub: &Hub,
    slots: &Arc<Semaphore>,
    name: &DocName,
    rev: u64,
) -> Result<Vec<u8>, ServiceError> {
    let store = hub.store().clone();
    let key = name.clone();
    let now = now_ms();
    bounded(slots, name, "history version", move || {
        rebuilt(store.as_ref(), key.as_str(), rev, now)
    })
    .await?
    .map_err(|e| match e {
        Failure::NoRevision => ServiceError::NoRevision,
        Failure::NotFound => ServiceError::NotFound,
        Failure::Store(e) => stored(name, e),
        Failure::Rebuild(e) => {
            tracing::error!(doc = %name, rev, error = %e, "cannot rebuild a version");
            ServiceError::Unavailable
        }
    })
}

/// Pad `name` as of revision `rev`, rendered in `format` with the current exports' converter.
pub async fn export_pad_version(
    hub: &Hub,
    slots: &Arc<Semaphore>,
    name: &DocName,
    rev: u64,
    format: PadFormat,
    options: ExportOptions,
) -> Result<Vec<u8>, ServiceError> {
    let state = version(hub, slots, name, rev).await?;
    bounded(slots, name, "history export", move || {
        export_pad(&state, format, &options)
    })
    .await?
    .map_err(|e| {
        tracing::error!(doc = %name, rev, %format, error = %e, "version export failed");
        ServiceError::FileJobFailed
    })
}

/// Calc `name` as of revision `rev`, rendered in `format` (`sheet`: the 0-based sheet of a CSV)
/// with the current exports' converter.
pub async fn export_calc_version(
    hub: &Hub,
    slots: &Arc<Semaphore>,
    name: &DocName,
    rev: u64,
    format: CalcFormat,
    sheet: impl FnOnce(&calc_io::Book) -> usize + Send + 'static,
) -> Result<Vec<u8>, ServiceError> {
    let state = version(hub, slots, name, rev).await?;
    bounded(slots, name, "history export", move || {
        let book = bridge::read(&state)?;
        let index = sheet(&book);
        calc_io::export(&book, format, index)
    })
    .await?
    .map_err(|e| match e {
        // Past the export's budget: it will not pass later either.
        CalcIoError::TooLarge(why) => ServiceError::TooLarge(why),
        e => {
            tracing::error!(doc = %name, rev, %format, error = %e, "version export failed");
            ServiceError::FileJobFailed
        }
    })
}

/// Makes revision `rev` of document `name` its content again, as a new edit through its room
/// (live editors see it at once); answers with the new revision's number.
pub async fn restore(
    hub: &Hub,
    slots: &Arc<Semaphore>,
    name: &DocName,
    rev: u64,
) -> Result<u64, ServiceError> {
    let state = version(hub, slots, name, rev).await?;
    match hub.restore(name, state, rev).await? {
        Restored::Done { rev } => Ok(rev),
        Restored::Missing => Err(ServiceError::NotFound),
        Restored::TooBig => Err(ServiceError::DocumentTooLarge),
    }
}

/// Why a version could not be read.
enum Failure {
    NoRevision,
    NotFound,
    Store(StoreError),
    Rebuild(history::RebuildError),
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure::Store(e)
    }
}

fn stored(name: &DocName, e: StoreError) -> ServiceError {
    tracing::error!(doc = %name, error = %e, "cannot read history");
    ServiceError::Unavailable
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// An entry's information; a malformed one is logged and skipped.
fn decode(name: &str, seq: u64, bytes: &[u8]) -> Option<EntryInfo> {
    match EntryInfo::from_bytes(bytes) {
        Ok(info) => Some(info),
        Err(e) => {
            tracing::warn!(doc = name, seq, error = %e, "skipping a malformed history entry");
            None
        }
    }
}

/// Whether `rev` is a revision of `name`: its entry exists and ends a revision, as of `now`.
fn is_revision(store: &dyn Store, name: &str, rev: u64, now: u64) -> Result<bool, StoreError> {
    let Some(before) = rev.checked_sub(1) else {
        return Ok(false);
    };
    // The entry and the one after it (which says whether it ended a revision), in one read.
    let mut entries = store.history(name, Some(before), 2)?.into_iter();
    let info = match entries.next() {
        Some((seq, bytes)) if seq == rev => decode(name, seq, &bytes),
        _ => None,
    };
    let Some(info) = info else {
        return Ok(false);
    };
    let mut c = Coalescer::default();
    c.push(rev, info);
    match entries.next() {
        Some((seq, bytes)) => Ok(decode(name, seq, &bytes)
            .and_then(|info| c.push(seq, info))
            .is_some()),
        None => Ok(c.finish(now).is_some()),
    }
}

/// Revision `rev` of `name` rebuilt, as one v1 update.
fn rebuilt(store: &dyn Store, name: &str, rev: u64, now: u64) -> Result<Vec<u8>, Failure> {
    if store.meta(name)?.is_none() {
        return Err(Failure::NotFound);
    }
    if !is_revision(store, name, rev, now)? {
        return Err(Failure::NoRevision);
    }
    let stored = store.version(name, rev)?;
    if stored.meta.is_none() {
        // Erased between the two reads.
        return Err(Failure::NotFound);
    }
    let doc =
        history::rebuild(stored.snapshot.as_deref(), &stored.log).map_err(Failure::Rebuild)?;
    let txn = doc.transact();
    Ok(txn.encode_state_as_update_v1(&StateVector::default()))
}

/// A page of revisions before their authors are named.
struct Found {
    revisions: Vec<Revision>,
    next: Option<u64>,
    previous: Option<u64>,
}

/// The page of revisions of `name` `window` asks for.
fn list(
    store: &dyn Store,
    name: &str,
    window: Window,
    limit: usize,
    now: u64,
) -> Result<RevisionPage, StoreError> {
    let found = match window {
        Window::After(after) => {
            let (mut revs, more) = forward(store, name, after, limit + 1, now)?;
            let more = more || revs.len() > limit;
            revs.truncate(limit);
            let next = more.then(|| revs.last().map(|r| r.rev)).flatten();
            // Older revisions exist if an entry was logged at or before `after`.
            let first = store.history(name, None, 1)?;
            let older = first.first().is_some_and(|(seq, _)| *seq <= after);
            let previous = older.then(|| revs.first().map(|r| r.rev)).flatten();
            Found {
                revisions: revs,
                next,
                previous,
            }
        }
        Window::Before(before) => backward(store, name, Some(before), limit, now)?,
        Window::Latest => backward(store, name, None, limit, now)?,
    };
    Ok(RevisionPage {
        revisions: described(store, name, found.revisions)?,
        next: found.next,
        previous: found.previous,
    })
}

/// Up to `want` revisions made of the entries after `after`, and whether entries were left
/// unread.
fn forward(
    store: &dyn Store,
    name: &str,
    after: u64,
    want: usize,
    now: u64,
) -> Result<(Vec<Revision>, bool), StoreError> {
    let mut revs = Vec::new();
    let mut c = Coalescer::default();
    let mut cursor = after;
    loop {
        let chunk = store.history(name, Some(cursor), CHUNK)?;
        let full = chunk.len() == CHUNK;
        for (seq, bytes) in chunk {
            cursor = seq;
            let Some(info) = decode(name, seq, &bytes) else {
                continue;
            };
            if let Some(rev) = c.push(seq, info) {
                revs.push(rev);
                if revs.len() == want {
                    return Ok((revs, true));
                }
            }
        }
        if !full {
            break;
        }
    }
    revs.extend(c.finish(now));
    Ok((revs, false))
}

/// The last `limit` revisions before `before` (before none: the newest), with the cursors.
// Walks the history back from `before`, newest first, until it has seen the ends of `limit`
// revisions and the end of the one before them: cost linear in the page's entries, not in the
// document's history. Then coalesces those entries forward, as every page does.
fn backward(
    store: &dyn Store,
    name: &str,
    before: Option<u64>,
    limit: usize,
    now: u64,
) -> Result<Found, StoreError> {
    // The first entry at or after `before` decides whether the newest entry before it ends a
    // revision.
    let successor = match before {
        Some(bound) => {
            let from = bound.checked_sub(1);
            let first = store.history(name, from, 1)?.into_iter().next();
            first.and_then(|(seq, bytes)| Some((seq, decode(name, seq, &bytes)?)))
        }
        None => None,
    };
    let mut newer = successor.clone();
    // The entry just after the newest revision's end: what closes it.
    let mut closer: Option<Option<(u64, EntryInfo)>> = None;
    // The entries of the page's revisions, newest first.
    let mut taken: Vec<(u64, EntryInfo)> = Vec::new();
    let mut ends = 0;
    let mut older = false;
    let mut cursor = before;
    'read: loop {
        let chunk = store.history_before(name, cursor, CHUNK)?;
        let full = chunk.len() == CHUNK;
        for (seq, bytes) in chunk {
            cursor = Some(seq);
            let Some(info) = decode(name, seq, &bytes) else {
                continue;
            };
            if ends_revision(seq, &info, newer.as_ref(), now) {
                if ends == limit {
                    older = true;
                    break 'read;
                }
                if ends == 0 {
                    closer = Some(newer.clone());
                }
                ends += 1;
            }
            newer = Some((seq, info.clone()));
            if ends > 0 {
                taken.push((seq, info));
            }
        }
        if !full {
            break;
        }
    }
    let mut c = Coalescer::default();
    let mut revs = Vec::with_capacity(ends);
    for (seq, info) in taken.into_iter().rev() {
        revs.extend(c.push(seq, info));
    }
    match closer {
        Some(Some((seq, info))) => revs.extend(c.push(seq, info)),
        Some(None) => revs.extend(c.finish(now)),
        None => {}
    }
    Ok(Found {
        next: successor.and(revs.last().map(|r| r.rev)),
        previous: older.then(|| revs.first().map(|r| r.rev)).flatten(),
        revisions: revs,
    })
}

/// Whether entry `seq` ends a revision, given the entry after it (`None`: it is the last, and
/// `now` decides), by the one rule of [`Coalescer`].
fn ends_revision(seq: u64, info: &EntryInfo, next: Option<&(u64, EntryInfo)>, now: u64) -> bool {
    let mut c = Coalescer::default();
    c.push(seq, info.clone());
    match next {
        Some((after, next)) => c.push(*after, next.clone()).is_some(),
        None => c.finish(now).is_some(),
    }
}

/// The revisions with their authors' names.
fn described(
    store: &dyn Store,
    name: &str,
    revisions: Vec<Revision>,
) -> Result<Vec<RevisionInfo>, StoreError> {
    let mut clients: Vec<u64> = revisions
        .iter()
        .flat_map(|r| r.clients.iter().copied())
        .collect();
    clients.sort_unstable();
    clients.dedup();
    let names: HashMap<u64, String> = if clients.is_empty() {
        HashMap::new()
    } else {
        store.authors(name, &clients)?.into_iter().collect()
    };
    Ok(revisions
        .into_iter()
        .map(|r| {
            let mut authors: Vec<String> = Vec::new();
            let known = r.clients.iter().filter_map(|c| names.get(c).cloned());
            for author in known.chain(r.imported_authors) {
                let author = author.trim().to_owned();
                if !author.is_empty() && !authors.contains(&author) {
                    authors.push(author);
                }
            }
            RevisionInfo {
                rev: r.rev,
                time: r.time_ms / 1000,
                authors,
                restored_from: r.restored_from,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{open_for_tests, Entry};

    fn edit(time_ms: u64, client: u64) -> Vec<u8> {
        EntryInfo::edit(time_ms, [client]).to_bytes()
    }

    /// A store holding document "d" with entries at the given times (ms), one client each.
    fn store_with(times: &[(u64, u64)]) -> (tempfile::TempDir, crate::store::RedbStore) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = open_for_tests(dir.path());
        store.put_meta("d", b"{}", None).expect("meta");
        for (time, client) in times {
            let info = edit(*time, *client);
            store
                .append(
                    "d",
                    &[Entry {
                        update: b"u",
                        info: &info,
                    }],
                )
                .expect("append");
        }
        (dir, store)
    }

    fn revs(page: &RevisionPage) -> Vec<u64> {
        page.revisions.iter().map(|r| r.rev).collect()
    }

    #[test]
    fn pages_walk_the_revisions_both_ways() {
        // Five bursts of two entries each, 10 s apart: revisions at the 2nd, 4th, ... entry.
        let times: Vec<(u64, u64)> = (0..10u64)
            .map(|i| (10_000 * (i / 2) + 100 * (i % 2), i % 3))
            .collect();
        let (_dir, store) = store_with(&times);
        let all = store.history("d", None, 100).expect("history");
        let seqs: Vec<u64> = all.iter().map(|(s, _)| *s).collect();
        let ends: Vec<u64> = seqs.iter().skip(1).step_by(2).copied().collect();
        let now = 1_000_000;
        let latest = list(&store, "d", Window::Latest, 2, now).expect("list");
        assert_eq!(revs(&latest), ends[3..]);
        assert_eq!((latest.next, latest.previous), (None, Some(ends[3])));
        let older = list(&store, "d", Window::Before(ends[3]), 2, now).expect("list");
        assert_eq!(revs(&older), ends[1..3]);
        assert_eq!((older.next, older.previous), (Some(ends[2]), Some(ends[1])));
        let oldest = list(&store, "d", Window::Before(ends[1]), 2, now).expect("list");
        assert_eq!(revs(&oldest), ends[..1]);
        assert_eq!(oldest.previous, None);
        let first = list(&store, "d", Window::After(0), 3, now).expect("list");
        assert_eq!(revs(&first), ends[..3]);
        assert_eq!((first.next, first.previous), (Some(ends[2]), None));
        let rest = list(&store, "d", Window::After(ends[2]), 3, now).expect("list");
        assert_eq!(revs(&rest), ends[3..]);
        assert_eq!((rest.next, rest.previous), (None, Some(ends[3])));
        // The last burst is not a revision until it has been quiet for a second.
        let typing = list(&store, "d", Window::Latest, 10, 40_500).expect("list");
        assert_eq!(revs(&typing), ends[..4]);
        assert!(is_revision(&store, "d", ends[0], now).expect("read"));
        assert!(!is_revision(&store, "d", seqs[0], now).expect("read"));
        assert!(!is_revision(&store, "d", ends[4], 40_500).expect("read"));
        assert!(!is_revision(&store, "d", 0, now).expect("read"));
        assert!(!is_revision(&store, "d", u64::MAX, now).expect("read"));
    }

    #[test]
    fn a_page_back_is_the_end_of_the_whole_list_before_its_bound() {
        use crate::doc::history::Origin;
        let dir = tempfile::tempdir().expect("temp dir");
        let store = open_for_tests(dir.path());
        store.put_meta("d", b"{}", None).expect("meta");
        // Bursts, pauses and restores (a restore is a revision of its own, and so is the state
        // before it), with uneven gaps.
        let mut time = 0;
        for i in 0..40u64 {
            time += [300, 1500, 200, 999, 1000][(i % 5) as usize];
            let info = if i % 11 == 7 {
                EntryInfo {
                    time_ms: time,
                    clients: vec![],
                    origin: Origin::Restore { from: 1 },
                }
            } else {
                EntryInfo::edit(time, [i % 4])
            };
            let info = info.to_bytes();
            let entry = Entry {
                update: b"u",
                info: &info,
            };
            store.append("d", &[entry]).expect("append");
        }
        let seqs: Vec<u64> = store
            .history("d", None, 100)
            .expect("history")
            .into_iter()
            .map(|(s, _)| s)
            .collect();
        for now in [time, time + 1000] {
            let all = list(&store, "d", Window::After(0), MAX_LIMIT, now).expect("all");
            let all = revs(&all);
            assert!(all.len() > 10, "{all:?}");
            // Pages forward, each from the previous one's `next`, make the whole list.
            for limit in [1, 3, 7] {
                let mut walked = Vec::new();
                let mut after = Some(0);
                while let Some(cursor) = after {
                    let page = list(&store, "d", Window::After(cursor), limit, now).expect("page");
                    walked.extend(revs(&page));
                    after = page.next;
                }
                assert_eq!(walked, all, "{limit} {now}");
            }
            let bounds = seqs.iter().map(|s| Some(*s)).chain([None, Some(u64::MAX)]);
            for bound in bounds {
                for limit in [1, 2, 3, 7, 100] {
                    let window = bound.map_or(Window::Latest, Window::Before);
                    let page = list(&store, "d", window, limit, now).expect("page");
                    let below: Vec<u64> = all
                        .iter()
                        .copied()
                        .filter(|r| bound.is_none_or(|b| *r < b))
                        .collect();
                    let expected = &below[below.len().saturating_sub(limit)..];
                    assert_eq!(revs(&page), expected, "{bound:?} {limit} {now}");
                    let older = below.len() > limit;
                    assert_eq!(page.previous, older.then(|| expected[0]), "{bound:?}");
                }
            }
        }
    }

    #[test]
    fn authors_are_names_without_duplicates_or_blanks() {
        let (_dir, store) = store_with(&[(0, 1), (100, 2), (200, 3), (300, 1)]);
        store
            .put_authors("d", &[(1, "Élève Un"), (2, "  "), (3, "Élève Un")])
            .expect("authors");
        let page = list(&store, "d", Window::Latest, 10, 10_000).expect("list");
        assert_eq!(page.revisions.len(), 1);
        assert_eq!(page.revisions[0].authors, vec!["Élève Un".to_owned()]);
        assert_eq!(page.revisions[0].time, 0);
    }
}
