//! What history records with each log entry, and how entries become revisions: without any IO.
//!
//! Every log entry (one room tick's merged update) is stored with an [`EntryInfo`]: when it was
//! logged, which clients made it, and whether it was an ordinary edit, a restore or an import.
//! A **revision** is a state of the document that stayed unchanged for [`QUIET_MS`] or more:
//! the last entry of a burst of typing. Its number is that entry's sequence number, unique and
//! increasing across the database, so it never changes meaning (thinning old history merges a
//! burst into its last entry, which keeps the number and the state). A restore is always a
//! revision of its own, and so is the state just before it, so restoring the revision before a
//! restore undoes it.
//!
//! A past version is rebuilt by replaying the log from the nearest checkpoint into a fresh
//! `Doc` ([`rebuild`]), every stored update passing the same bounds as a client's.

use std::collections::BTreeSet;

use yrs::updates::decoder::Decode;
use yrs::{Doc, Transact, Update};

use crate::doc::guard::{self, GuardError};
use crate::doc::nesting::Nesting;

/// How long a state must stay unchanged to be a revision, in milliseconds.
pub const QUIET_MS: u64 = 1000;

/// Most clients one entry records (a tick merges at most this many senders' updates; more
/// are not recorded, the entry is still kept).
pub const MAX_CLIENTS: usize = 256;

/// Most author names an imported entry carries.
pub const MAX_NAMES: usize = 64;

/// Longest author name an imported entry carries, in bytes.
pub const MAX_NAME_BYTES: usize = 200;

/// What made a log entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Clients' edits (or the server's on their behalf: API edits, imports into a live
    /// document).
    Edit,
    /// Restoring revision `from`.
    Restore {
        /// The revision brought back.
        from: u64,
    },
    /// Content brought in from a file: an imported document (no names), or a revision of
    /// another server's history (an Etherpad pad's), with the names of its authors there.
    Import {
        /// The authors' names, as the other server knew them.
        authors: Vec<String>,
    },
}

/// What history records with a log entry beside its update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryInfo {
    /// When the entry was logged (or, for an import, made), in ms since the Unix epoch.
    pub time_ms: u64,
    /// The yrs clientIDs that made it (at most [`MAX_CLIENTS`]).
    pub clients: Vec<u64>,
    /// What made it.
    pub origin: Origin,
}

/// Why stored entry information does not decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("malformed history entry")]
pub struct MalformedInfo;

/// The first byte of an encoded [`EntryInfo`]: its format.
const FORMAT: u8 = 1;

const ORIGIN_EDIT: u64 = 0;
const ORIGIN_RESTORE: u64 = 1;
const ORIGIN_IMPORT: u64 = 2;

impl EntryInfo {
    /// An ordinary edit by `clients` at `time_ms`.
    pub fn edit(time_ms: u64, clients: impl IntoIterator<Item = u64>) -> Self {
        let mut clients: Vec<u64> = clients.into_iter().collect();
        clients.sort_unstable();
        clients.dedup();
        clients.truncate(MAX_CLIENTS);
        Self {
            time_ms,
            clients,
            origin: Origin::Edit,
        }
    }

    /// The stored form: a format byte, then varints (and length-prefixed names).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 + self.clients.len() * 5);
        out.push(FORMAT);
        put_var(&mut out, self.time_ms);
        match &self.origin {
            Origin::Edit => put_var(&mut out, ORIGIN_EDIT),
            Origin::Restore { from } => {
                put_var(&mut out, ORIGIN_RESTORE);
                put_var(&mut out, *from);
            }
            Origin::Import { authors } => {
                put_var(&mut out, ORIGIN_IMPORT);
                let authors = &authors[..authors.len().min(MAX_NAMES)];
                put_var(&mut out, authors.len() as u64);
                for name in authors {
                    let name = cut(name, MAX_NAME_BYTES);
                    put_var(&mut out, name.len() as u64);
                    out.extend_from_slice(name.as_bytes());
                }
            }
        }
        let clients = &self.clients[..self.clients.len().min(MAX_CLIENTS)];
        put_var(&mut out, clients.len() as u64);
        for client in clients {
            put_var(&mut out, *client);
        }
        out
    }

    /// Reads the stored form, within the bounds it was written under.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, MalformedInfo> {
        let mut r = Reader(bytes);
        if r.byte()? != FORMAT {
            return Err(MalformedInfo);
        }
        let time_ms = r.var()?;
        let origin = match r.var()? {
            ORIGIN_EDIT => Origin::Edit,
            ORIGIN_RESTORE => Origin::Restore { from: r.var()? },
            ORIGIN_IMPORT => {
                let n = r.len(MAX_NAMES)?;
                let mut authors = Vec::with_capacity(n);
                for _ in 0..n {
                    let len = r.len(MAX_NAME_BYTES)?;
                    let name = std::str::from_utf8(r.take(len)?).map_err(|_| MalformedInfo)?;
                    authors.push(name.to_owned());
                }
                Origin::Import { authors }
            }
            _ => return Err(MalformedInfo),
        };
        let n = r.len(MAX_CLIENTS)?;
        let mut clients = Vec::with_capacity(n);
        for _ in 0..n {
            clients.push(r.var()?);
        }
        Ok(Self {
            time_ms,
            clients,
            origin,
        })
    }

    fn is_restore(&self) -> bool {
        matches!(self.origin, Origin::Restore { .. })
    }

    /// Whether `self` and `next` come from different kinds of change (edits, a restore, an
    /// import), so a revision ends between them: the state before an import stays a revision.
    fn other_origin(&self, next: &EntryInfo) -> bool {
        std::mem::discriminant(&self.origin) != std::mem::discriminant(&next.origin)
    }
}

/// One revision: a state that stayed unchanged for [`QUIET_MS`] or more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    /// Its number: the sequence number of its last log entry.
    pub rev: u64,
    /// When it was reached (its last entry's time), in ms since the Unix epoch.
    pub time_ms: u64,
    /// The clients whose entries led to it since the previous revision, ascending.
    pub clients: Vec<u64>,
    /// Author names recorded by imported entries since the previous revision.
    pub imported_authors: Vec<String>,
    /// The revision it restored, if it is a restore.
    pub restored_from: Option<u64>,
}

/// Turns log entries, pushed in sequence order, into revisions. Entries of one burst (less
/// than [`QUIET_MS`] apart, of one origin) make one revision, at the last of them.
#[derive(Debug, Default)]
pub struct Coalescer {
    /// The last entry pushed, not yet known to end a revision.
    last: Option<(u64, EntryInfo)>,
    clients: BTreeSet<u64>,
    authors: Vec<String>,
}

impl Coalescer {
    /// Takes the next entry; returns the revision the previous entry ended, if it did.
    pub fn push(&mut self, seq: u64, info: EntryInfo) -> Option<Revision> {
        let ended = match &self.last {
            Some((_, last)) => {
                last.is_restore()
                    || info.is_restore()
                    || last.other_origin(&info)
                    || info.time_ms.saturating_sub(last.time_ms) >= QUIET_MS
            }
            None => false,
        };
        let revision = if ended { self.take() } else { None };
        self.clients.extend(info.clients.iter().copied());
        if let Origin::Import { authors } = &info.origin {
            for name in authors {
                if !self.authors.contains(name) {
                    self.authors.push(name.clone());
                }
            }
        }
        self.last = Some((seq, info));
        revision
    }

    /// After the last stored entry: the revision it ends if it has stayed unchanged until
    /// `now_ms` for [`QUIET_MS`] (a restore at once).
    pub fn finish(mut self, now_ms: u64) -> Option<Revision> {
        let (_, last) = self.last.as_ref()?;
        (last.is_restore() || now_ms.saturating_sub(last.time_ms) >= QUIET_MS)
            .then(|| self.take())
            .flatten()
    }

    fn take(&mut self) -> Option<Revision> {
        let (rev, info) = self.last.take()?;
        Some(Revision {
            rev,
            time_ms: info.time_ms,
            clients: std::mem::take(&mut self.clients).into_iter().collect(),
            imported_authors: std::mem::take(&mut self.authors),
            restored_from: match info.origin {
                Origin::Restore { from } => Some(from),
                _ => None,
            },
        })
    }
}

/// Why a past version could not be rebuilt.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RebuildError {
    /// A stored update fails the bounds a client's must pass.
    #[error("stored update refused: {0}")]
    Refused(#[from] GuardError),
    /// A stored update does not decode or apply.
    #[error("stored update does not decode")]
    Corrupt,
}

/// The document as of a checkpoint `base` (none: the empty document) followed by `log`, in a
/// fresh `Doc`. Every update passes the nesting and shape bounds before yrs sees it.
pub fn rebuild(base: Option<&[u8]>, log: &[(u64, Vec<u8>)]) -> Result<Doc, RebuildError> {
    let doc = Doc::new();
    let mut nesting = Nesting::default();
    {
        let mut txn = doc.transact_mut();
        let updates = base
            .into_iter()
            .chain(log.iter().map(|(_, u)| u.as_slice()));
        for bytes in updates {
            nesting.admit(&guard::document_shape(bytes)?)?;
            let update = Update::decode_v1(bytes).map_err(|_| RebuildError::Corrupt)?;
            txn.apply_update(update)
                .map_err(|_| RebuildError::Corrupt)?;
        }
    }
    Ok(doc)
}

/// One hour, in milliseconds.
pub const HOUR_MS: u64 = 3_600_000;

/// One day, in milliseconds.
pub const DAY_MS: u64 = 24 * HOUR_MS;

/// Revisions older than this are thinned to the last one of each hour.
pub const HOURLY_AFTER_MS: u64 = DAY_MS;

/// Revisions older than this are thinned to the last one of each day.
pub const DAILY_AFTER_MS: u64 = 30 * DAY_MS;

/// What a thinning pass does to a document's history: a pure decision on what it read.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ThinPlan {
    /// Drop everything up to this entry (the last entry of the newest revision older than the
    /// kept period) into a checkpoint there.
    pub forget: Option<u64>,
    /// Runs of entries `(first, last)` that become one entry at `last`: the revisions a kept
    /// revision absorbs, never across a kept one. Oldest first.
    pub merges: Vec<(u64, u64)>,
}

/// A revision with the span of log entries it was made of.
#[derive(Debug, Clone, Copy)]
struct Span {
    first: u64,
    last: u64,
    time_ms: u64,
    /// A restore, or the state just before one: always kept, so restoring the revision before
    /// a restore still undoes it.
    pinned: bool,
    /// A restore: nothing merges into it, so a merged entry is never one.
    restore: bool,
}

/// The thinning of `entries` (a document's history records from its first, in sequence order)
/// as of `now_ms`: with `keep_ms`, revisions older than that are forgotten; revisions older
/// than [`HOURLY_AFTER_MS`] keep the last of each hour, older than [`DAILY_AFTER_MS`] the last
/// of each day. `complete` says `entries` reach the end of the log; otherwise the revision the
/// last entries belong to may go on past them and is left alone. A run of entries merged into
/// a kept revision's last entry leaves every kept revision's state, time and number as they
/// were, and a pause of [`QUIET_MS`] still separates kept revisions.
pub fn thin_plan(
    entries: &[(u64, EntryInfo)],
    complete: bool,
    now_ms: u64,
    keep_ms: Option<u64>,
) -> ThinPlan {
    let spans = spans(entries, complete, now_ms);
    let mut plan = ThinPlan::default();
    let mut from = 0;
    if let Some(keep) = keep_ms {
        let cut = now_ms.saturating_sub(keep);
        if let Some(i) = spans.iter().rposition(|s| s.time_ms < cut) {
            plan.forget = Some(spans[i].last);
            from = i + 1;
        }
    }
    let spans = &spans[from..];
    let bucket = |s: &Span| {
        let age = now_ms.saturating_sub(s.time_ms);
        if age > DAILY_AFTER_MS {
            Some((1u8, s.time_ms / DAY_MS))
        } else if age > HOURLY_AFTER_MS {
            Some((0u8, s.time_ms / HOUR_MS))
        } else {
            None
        }
    };
    let mut run_first = None;
    for (i, span) in spans.iter().enumerate() {
        let b = bucket(span);
        let absorbed = b.is_some()
            && !span.pinned
            && spans
                .get(i + 1)
                .is_some_and(|next| bucket(next) == b && !next.restore);
        if absorbed {
            run_first.get_or_insert(span.first);
        } else if let Some(first) = run_first.take() {
            plan.merges.push((first, span.last));
        }
    }
    plan
}

/// The revisions `entries` make, each with its span of entries (see [`thin_plan`]).
fn spans(entries: &[(u64, EntryInfo)], complete: bool, now_ms: u64) -> Vec<Span> {
    let mut out: Vec<Span> = Vec::new();
    let mut coalescer = Coalescer::default();
    let mut first = None;
    for (seq, info) in entries {
        if let Some(rev) = coalescer.push(*seq, info.clone()) {
            out.push(span(first.take().unwrap_or(rev.rev), &rev));
            if info.is_restore() {
                if let Some(before) = out.last_mut() {
                    before.pinned = true;
                }
            }
        }
        first.get_or_insert(*seq);
    }
    if complete {
        if let Some(rev) = coalescer.finish(now_ms) {
            out.push(span(first.unwrap_or(rev.rev), &rev));
        }
    }
    out
}

fn span(first: u64, rev: &Revision) -> Span {
    Span {
        first,
        last: rev.rev,
        time_ms: rev.time_ms,
        pinned: rev.restored_from.is_some(),
        restore: rev.restored_from.is_some(),
    }
}

/// What history records of a run of entries merged into its last one: the last one's time,
/// every client, and the last one's origin (or an import, with every imported name, if any
/// entry of the run was one). `None` for an empty run.
pub fn merge_infos<'a>(infos: impl IntoIterator<Item = &'a EntryInfo>) -> Option<EntryInfo> {
    let mut clients = BTreeSet::new();
    let mut names: Vec<String> = Vec::new();
    let mut imported = false;
    let mut last = None;
    for info in infos {
        clients.extend(info.clients.iter().copied());
        if let Origin::Import { authors } = &info.origin {
            imported = true;
            for name in authors {
                if !names.contains(name) {
                    names.push(name.clone());
                }
            }
        }
        last = Some(info);
    }
    let last = last?;
    let mut merged = EntryInfo::edit(last.time_ms, clients);
    merged.origin = if imported {
        Origin::Import { authors: names }
    } else {
        last.origin.clone()
    };
    Some(merged)
}

fn put_var(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// `s` cut to at most `max` bytes, on a character boundary.
fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, MalformedInfo> {
        let (first, rest) = self.0.split_first().ok_or(MalformedInfo)?;
        self.0 = rest;
        Ok(*first)
    }

    fn var(&mut self) -> Result<u64, MalformedInfo> {
        let mut n: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            n |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err(MalformedInfo)
    }

    /// A count or length, refused past `max`.
    fn len(&mut self, max: usize) -> Result<usize, MalformedInfo> {
        usize::try_from(self.var()?)
            .ok()
            .filter(|n| *n <= max)
            .ok_or(MalformedInfo)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], MalformedInfo> {
        let (head, rest) = self.0.split_at_checked(n).ok_or(MalformedInfo)?;
        self.0 = rest;
        Ok(head)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use yrs::{GetString, ReadTxn, Text};

    fn info(time_ms: u64, clients: &[u64]) -> EntryInfo {
        EntryInfo::edit(time_ms, clients.iter().copied())
    }

    #[test]
    fn entry_information_reads_back_as_written() {
        let infos = [
            info(1_767_225_600_123, &[7, 3, 7, u64::MAX]),
            EntryInfo {
                time_ms: 5,
                clients: vec![],
                origin: Origin::Restore { from: 42 },
            },
            EntryInfo {
                time_ms: 9,
                clients: vec![1],
                origin: Origin::Import {
                    authors: vec!["Élève Un".into(), "Prof".into()],
                },
            },
        ];
        for i in infos {
            assert_eq!(EntryInfo::from_bytes(&i.to_bytes()), Ok(i));
        }
        assert_eq!(info(1, &[7, 3, 7]).clients, vec![3, 7]);
    }

    #[test]
    fn malformed_or_oversized_information_is_refused() {
        assert_eq!(EntryInfo::from_bytes(&[]), Err(MalformedInfo));
        assert_eq!(EntryInfo::from_bytes(&[2, 0, 0, 0]), Err(MalformedInfo));
        assert_eq!(EntryInfo::from_bytes(&[1, 0, 9, 0]), Err(MalformedInfo));
        // A client count past the bound, without the clients.
        assert_eq!(
            EntryInfo::from_bytes(&[1, 0, 0, 0xff, 0x7f]),
            Err(MalformedInfo)
        );
        // A truncated varint.
        assert_eq!(EntryInfo::from_bytes(&[1, 0x80]), Err(MalformedInfo));
    }

    #[test]
    fn a_change_of_origin_ends_a_revision_within_a_burst() {
        let import = |time_ms| EntryInfo {
            origin: Origin::Import { authors: vec![] },
            ..info(time_ms, &[9])
        };
        let mut c = Coalescer::default();
        assert_eq!(c.push(1, info(1000, &[1])), None);
        assert_eq!(c.push(2, import(1100)).map(|r| r.rev), Some(1));
        assert_eq!(c.push(3, import(1200)), None);
        assert_eq!(c.push(4, info(1300, &[1])).map(|r| r.rev), Some(3));
    }

    #[test]
    fn a_burst_of_entries_is_one_revision_at_its_last_entry() {
        let mut c = Coalescer::default();
        assert_eq!(c.push(10, info(1000, &[1])), None);
        assert_eq!(c.push(11, info(1400, &[2])), None);
        assert_eq!(c.push(12, info(2300, &[1])), None);
        let first = c
            .push(20, info(3300, &[3]))
            .expect("a pause of 1 s ends a revision");
        assert_eq!(
            (first.rev, first.time_ms, first.clients),
            (12, 2300, vec![1, 2])
        );
        // The last entry is a revision once it has stayed unchanged for a second.
        let mut later = Coalescer::default();
        later.push(20, info(3300, &[3]));
        assert_eq!(later.finish(4299), None);
        let mut c2 = Coalescer::default();
        c2.push(20, info(3300, &[3]));
        assert_eq!(c2.finish(4300).map(|r| r.rev), Some(20));
    }

    #[test]
    fn a_restore_is_a_revision_and_so_is_the_state_before_it() {
        let mut c = Coalescer::default();
        c.push(1, info(0, &[1]));
        let before = c.push(
            2,
            EntryInfo {
                time_ms: 10,
                clients: vec![],
                origin: Origin::Restore { from: 1 },
            },
        );
        assert_eq!(before.map(|r| r.rev), Some(1));
        let restore = c
            .push(3, info(20, &[1]))
            .expect("a restore ends its revision");
        assert_eq!((restore.rev, restore.restored_from), (2, Some(1)));
        assert!(c.finish(20).is_none());
    }

    #[test]
    fn a_version_is_rebuilt_from_a_checkpoint_and_the_log_after_it() {
        let live = Doc::new();
        let text = live.get_or_insert_text("content");
        let mut log = Vec::new();
        for (seq, word) in [(1, "ab"), (2, "X"), (3, "Y")] {
            let before = live.transact().state_vector();
            let len = text.len(&live.transact());
            text.insert(&mut live.transact_mut(), len, word);
            log.push((seq, live.transact().encode_state_as_update_v1(&before)));
        }
        let base = {
            let doc = rebuild(None, &log[..1]).expect("rebuild");
            let txn = doc.transact();
            txn.encode_state_as_update_v1(&Default::default())
        };
        let doc = rebuild(Some(&base), &log[1..2]).expect("rebuild");
        let text = doc.get_or_insert_text("content");
        assert_eq!(text.get_string(&doc.transact()), "abX");
        assert_eq!(
            rebuild(None, &[(1, vec![0xff, 0xff])]).err(),
            Some(RebuildError::Refused(GuardError::Malformed))
        );
    }
    fn at(seq: u64, time_ms: u64) -> (u64, EntryInfo) {
        (seq, info(time_ms, &[seq]))
    }

    #[test]
    fn recent_revisions_are_never_thinned() {
        let now = 10 * DAY_MS;
        let entries = [at(1, now - 5000), at(2, now - 3000), at(3, now - 1000)];
        assert_eq!(thin_plan(&entries, true, now, None), ThinPlan::default());
    }

    #[test]
    fn old_revisions_keep_the_last_of_each_hour_then_of_each_day() {
        let now = 100 * DAY_MS;
        let entries = [
            // Day 50 (older than 30 days): three revisions, one of them a burst of two entries.
            at(1, 50 * DAY_MS),
            at(2, 50 * DAY_MS + 500),
            at(3, 50 * DAY_MS + HOUR_MS),
            at(4, 50 * DAY_MS + 5 * HOUR_MS),
            // Day 51: one revision.
            at(5, 51 * DAY_MS),
            // Day 95 (older than a day): two in one hour, one in the next.
            at(6, 95 * DAY_MS),
            at(7, 95 * DAY_MS + 60_000),
            at(8, 95 * DAY_MS + HOUR_MS),
            // Today: kept as they are.
            at(9, now - 10_000),
            at(10, now - 5_000),
        ];
        let plan = thin_plan(&entries, true, now, None);
        assert_eq!(plan.forget, None);
        assert_eq!(plan.merges, [(1, 4), (6, 7)]);
        // Thinning again finds nothing more to do.
        let thinned = [
            at(4, 50 * DAY_MS + 5 * HOUR_MS),
            at(5, 51 * DAY_MS),
            at(7, 95 * DAY_MS + 60_000),
            at(8, 95 * DAY_MS + HOUR_MS),
            at(9, now - 10_000),
            at(10, now - 5_000),
        ];
        assert_eq!(thin_plan(&thinned, true, now, None), ThinPlan::default());
    }

    #[test]
    fn past_the_kept_period_history_is_forgotten_at_a_revision() {
        let now = 100 * DAY_MS;
        let entries = [
            at(1, 5 * DAY_MS),
            at(2, 5 * DAY_MS + 200),
            at(3, 9 * DAY_MS),
            at(4, 95 * DAY_MS),
        ];
        let plan = thin_plan(&entries, true, now, Some(90 * DAY_MS));
        assert_eq!(plan.forget, Some(3));
        assert!(plan.merges.is_empty());
        assert_eq!(
            thin_plan(&entries, true, now, Some(99 * DAY_MS)).forget,
            None
        );
    }

    #[test]
    fn restores_and_the_states_before_them_are_kept_and_runs_stop_at_them() {
        let now = 100 * DAY_MS;
        let base = 50 * DAY_MS;
        let restore = |seq: u64, time_ms: u64| {
            (
                seq,
                EntryInfo {
                    time_ms,
                    clients: vec![],
                    origin: Origin::Restore { from: 1 },
                },
            )
        };
        let entries = [
            at(1, base),
            at(2, base + 2000),
            restore(3, base + 2100),
            at(4, base + 4000),
            at(5, base + 6000),
        ];
        let plan = thin_plan(&entries, true, now, None);
        assert_eq!(plan.merges, [(1, 2), (4, 5)]);
    }

    #[test]
    fn an_unfinished_window_leaves_its_last_revision_alone() {
        let now = 100 * DAY_MS;
        let entries = [at(1, DAY_MS), at(2, DAY_MS + 5000), at(3, DAY_MS + 9000)];
        // Entry 3 may have more of its burst after the window: only 1 and 2 are revisions.
        assert_eq!(thin_plan(&entries, false, now, None).merges, [(1, 2)]);
        assert_eq!(thin_plan(&entries, true, now, None).merges, [(1, 3)]);
    }

    #[test]
    fn merged_information_keeps_the_last_time_every_client_and_imported_names() {
        let import = |time_ms, names: &[&str]| EntryInfo {
            time_ms,
            clients: vec![9],
            origin: Origin::Import {
                authors: names.iter().map(|n| (*n).to_owned()).collect(),
            },
        };
        let run = [
            import(1, &["A", "B"]),
            info(2, &[3]),
            import(3, &["B", "C"]),
        ];
        let merged = merge_infos(&run).expect("a run");
        assert_eq!(merged.time_ms, 3);
        assert_eq!(merged.clients, [3, 9]);
        assert_eq!(
            merged.origin,
            Origin::Import {
                authors: vec!["A".into(), "B".into(), "C".into()]
            }
        );
        let edits = [info(1, &[2]), info(5, &[1])];
        let merged = merge_infos(&edits).expect("a run");
        assert_eq!(
            (merged.time_ms, merged.clients, merged.origin),
            (5, vec![1, 2], Origin::Edit)
        );
        assert_eq!(merge_infos(&[]), None);
    }
}
