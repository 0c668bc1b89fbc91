//! An Etherpad pad's revisions replayed into a pad document, one history entry per revision.
//!
//! The Etherpad text (UTF-16 units with attribute sets, [`Text`]) is the reference: each
//! changeset is applied to it, and what it changed ([`Edit`]s) is mirrored into a yrs
//! document whose positions count UTF-16 units too, so an Etherpad position maps to a yrs one
//! by leaving out the line markers before it (the unit marks record which units the yrs text
//! holds, and the line kind each newline has there). Text is typed by its author's own
//! clientID: each author has a helper document, caught up with the pad before it types (from
//! the updates it missed, or one diff when it missed many), whose transaction's update is the
//! pad's change; a revision's entry is its updates merged.
//!
//! Best effort: a changeset that does not apply, or a state the mirror cannot follow (a
//! marker that stops or starts being one), makes the pad's text be written anew from the
//! Etherpad text (for a changeset that does not apply, from the next key revision's `atext`),
//! as one entry. After the last revision, if the text differs from the pad's final `atext`,
//! one last entry writes that; so applying every entry in order gives the final pad exactly.
//! The authors map comes with the first entry, the chat with the last.

use std::collections::HashMap;
use std::sync::Arc;

use yrs::types::Attrs;
use yrs::updates::decoder::Decode;
use yrs::{
    Any, Array, Doc, Map, OffsetKind, Options, Out, ReadTxn, Text as _, TextRef, Transact,
    TransactionMut, Update, WriteTxn,
};

use super::atext::{utf16, Style, Styles};
use super::changeset::{unpack, Edit, Pool, Sets, Text};
use super::RevRecord;
use crate::convert::pad::import::{HistoryEntry, ImportError};
use crate::convert::pad::model::LineKind;
use crate::doc::history::{EntryInfo, Origin};

/// Most revisions replayed: past it, the replay starts from a key revision this close to
/// the end.
pub const MAX_ENTRIES: usize = 100_000;

/// Most replay work, counted as the text's length (UTF-16 units) summed over the revisions
/// replayed: yrs finds a position by walking the text from its start, so that sum is what a
/// replay costs, and an uploaded file must read within the file jobs' time limit. 500 million
/// is a few seconds on one core (BENCHMARKS.md). Past it, the replay starts from a later key
/// revision, and what came before is the first entry.
pub const MAX_WORK: u64 = 500_000_000;

/// A helper document this far behind the pad catches up from one diff, not update by update.
const CATCH_UP_BY_DIFF: usize = 32;

const CONTENT: &str = "content";

/// A v1 update that changes nothing: no blocks, no deletions.
const EMPTY_UPDATE: [u8; 2] = [0, 0];

/// Unit mark: the yrs text holds the unit.
const SHOWN: u8 = 1;
/// Unit mark: a line marker, not in the yrs text.
const HIDDEN: u8 = 2;
/// Shift of a newline's line kind code in its mark.
const KIND_SHIFT: u8 = 4;

fn kind_code(kind: LineKind) -> u8 {
    match kind {
        LineKind::Paragraph => 0,
        LineKind::Bullet => 1,
        LineKind::Ordered => 2,
        LineKind::Heading(level) => 2 + level.clamp(1, 3),
    }
}

/// What the replay needs from the import.
pub struct Context<'a> {
    /// The pad's pool (Etherpad's pool only grows: every revision's numbers are in it).
    pub pool: &'a Pool,
    /// Author id → clientID.
    pub authors: &'a HashMap<String, u64>,
    /// Author names by clientID, for the entries' record.
    pub names: &'a HashMap<u64, String>,
    /// The pad as the draft wrote it: its authors map and chat are copied.
    pub draft: &'a Doc,
}

/// The pad's state and history from its revisions, ending exactly at `final_text`.
pub fn replay(
    revs: &[(u32, RevRecord)],
    final_text: &Text,
    sets: &mut Sets,
    styles: &mut Styles,
    ctx: &Context,
    max_work: u64,
) -> Result<(Vec<u8>, Vec<HistoryEntry>), ImportError> {
    let start = first_replayed(revs, max_work);
    let mut r = Replay {
        pool: ctx.pool,
        sets,
        styles,
        writer: Writer::new(ctx.authors.values().copied().collect())?,
        text: Text {
            units: vec![u16::from(b'\n')],
            sets: vec![0],
            marks: vec![Text::NEW],
        },
        entries: Vec::new(),
    };
    // The first entry holds the authors map and the pad's initial empty line.
    r.writer.main_edit(|txn| copy_authors(ctx.draft, txn));
    r.insert_units(0, r.text.len(), 0)?;
    let mut skip_to_key = false;
    let mut last_time = 0;
    for (i, (_, rev)) in revs.iter().enumerate().skip(start) {
        let author = rev
            .meta
            .author
            .as_str()
            .and_then(|a| ctx.authors.get(a).copied());
        let time = rev.meta.timestamp.as_u64().unwrap_or(last_time);
        last_time = time;
        let key = rev.meta.atext.as_ref();
        let applied = if skip_to_key || (i == start && start > 0) {
            false
        } else {
            match r.text.apply(&rev.changeset, r.pool, r.sets) {
                Ok(edits) => {
                    if !r.mirror(author, &edits)? {
                        // The text is right, the mirror lost track: write it anew.
                        let text = r.text.clone();
                        r.rewrite(author, text)?;
                    }
                    true
                }
                Err(_) => false,
            }
        };
        if !applied {
            // Start again from this revision's text if it is a key revision; otherwise go
            // on to the next one that is.
            match key.and_then(|k| Text::from_atext(&k.text, &k.attribs, r.pool, r.sets).ok()) {
                Some(text) => {
                    r.rewrite(author, text)?;
                    skip_to_key = false;
                }
                None => skip_to_key = true,
            }
        }
        if skip_to_key {
            continue;
        }
        r.end_entry(time, author, ctx)?;
        if r.entries.len() >= MAX_ENTRIES {
            break;
        }
    }
    if r.text.units != final_text.units || r.text.sets != final_text.sets {
        r.rewrite(None, final_text.clone())?;
    }
    r.writer.main_edit(|txn| copy_chat(ctx.draft, txn));
    let mut names: Vec<String> = ctx.names.values().cloned().collect();
    names.sort();
    let last = r.writer.take_revision()?;
    if let Some(update) = last {
        r.entries.push(HistoryEntry {
            update,
            info: EntryInfo {
                time_ms: last_time,
                clients: Vec::new(),
                origin: Origin::Import { authors: names },
            },
        });
    }
    let state = r
        .writer
        .main
        .transact()
        .encode_state_as_update_v1(&yrs::StateVector::default());
    Ok((state, r.entries))
}

/// The first revision replayed: of the last [`MAX_ENTRIES`], as many as `max_work` allows
/// (each costs the length of the text it applies to, read from its changeset's header), moved
/// forward to a key revision when the replay does not start at the first one; past the end
/// when there is none.
fn first_replayed(revs: &[(u32, RevRecord)], max_work: u64) -> usize {
    let mut work = 0u64;
    let mut start = revs.len();
    while start > 0 && revs.len() - start < MAX_ENTRIES {
        // A header that does not parse costs nothing here: its revision will not apply.
        let cost = unpack(&revs[start - 1].1.changeset).map_or(0, |c| u64::from(c.old_len));
        if work + cost > max_work {
            break;
        }
        work += cost;
        start -= 1;
    }
    if start == 0 {
        return 0;
    }
    (start..revs.len())
        .find(|&i| revs[i].1.meta.atext.is_some())
        .unwrap_or(revs.len())
}

struct Replay<'a> {
    pool: &'a Pool,
    sets: &'a mut Sets,
    styles: &'a mut Styles,
    writer: Writer,
    text: Text,
    entries: Vec<HistoryEntry>,
}

fn invalid(e: super::changeset::EasyError) -> ImportError {
    ImportError::Invalid(e.0)
}

impl Replay<'_> {
    fn style(&mut self, i: usize) -> Result<Style, ImportError> {
        self.styles
            .get(self.text.sets[i], self.pool, self.sets)
            .cloned()
            .map_err(invalid)
    }

    fn is_marker(&mut self, i: usize) -> Result<bool, ImportError> {
        Ok(self.text.line_start(i) && self.style(i)?.marker)
    }

    /// The kind of the line starting at `start`.
    fn line_kind(&mut self, start: usize) -> Result<LineKind, ImportError> {
        if start < self.text.len() && self.is_marker(start)? {
            Ok(self.style(start)?.line)
        } else {
            Ok(LineKind::Paragraph)
        }
    }

    fn line_start_of(&self, i: usize) -> usize {
        self.text.units[..i]
            .iter()
            .rposition(|&u| u == u16::from(b'\n'))
            .map_or(0, |p| p + 1)
    }

    fn shown_before(&self, i: usize) -> u32 {
        self.text.marks[..i]
            .iter()
            .filter(|&&m| m & SHOWN != 0)
            .count() as u32
    }

    /// Types units `from..to` (not yet in the yrs text) at yrs position `y`, each by its
    /// author; returns the position after them.
    fn insert_units(&mut self, from: usize, to: usize, mut y: u32) -> Result<u32, ImportError> {
        let mut i = from;
        while i < to {
            if self.is_marker(i)? {
                self.text.marks[i] = HIDDEN;
                i += 1;
                continue;
            }
            if self.text.units[i] == u16::from(b'\n') {
                let kind = self.line_kind(self.line_start_of(i))?;
                let author = self.style(i)?.author;
                self.writer.edit(author, |text, txn| {
                    text.insert_with_attributes(txn, y, "\n", line_attrs(kind));
                })?;
                self.text.marks[i] = SHOWN | kind_code(kind) << KIND_SHIFT;
                y += 1;
                i += 1;
                continue;
            }
            // A run of one set, up to a newline or a possible marker.
            let set = self.text.sets[i];
            let mut end = i + 1;
            while end < to && self.text.sets[end] == set && self.text.units[end] != u16::from(b'\n')
            {
                end += 1;
            }
            let style = self.style(i)?;
            let piece = utf16(&self.text.units[i..end]).map_err(invalid)?;
            let attrs = inline_attrs(&style);
            self.writer.edit(style.author, |text, txn| {
                text.insert_with_attributes(txn, y, &piece, attrs);
            })?;
            for m in &mut self.text.marks[i..end] {
                *m = SHOWN;
            }
            y += (end - i) as u32;
            i = end;
        }
        Ok(y)
    }

    /// Mirrors a changeset's edits into the yrs text; `false` when the mirror cannot follow.
    fn mirror(&mut self, author: Option<u64>, edits: &[Edit]) -> Result<bool, ImportError> {
        let (mut p, mut y) = (0usize, 0u32);
        let (mut lo, mut hi) = (usize::MAX, 0usize);
        for edit in edits {
            let at = match edit {
                Edit::Insert { at, .. } | Edit::Delete { at, .. } | Edit::Format { at, .. } => *at,
            };
            y += self.text.marks[p..at]
                .iter()
                .filter(|&&m| m & SHOWN != 0)
                .count() as u32;
            p = at;
            lo = lo.min(at);
            match edit {
                Edit::Delete { marks, .. } => {
                    let n = marks.iter().filter(|&&m| m & SHOWN != 0).count() as u32;
                    if n > 0 {
                        self.writer.edit(author, |text, txn| {
                            text.remove_range(txn, y, n);
                        })?;
                    }
                    hi = hi.max(at);
                }
                Edit::Insert { len, .. } => {
                    y = self.insert_units(at, at + len, y)?;
                    p = at + len;
                    hi = hi.max(p);
                }
                Edit::Format { old, .. } => {
                    let end = at + old.len();
                    let mut i = at;
                    while i < end {
                        let shown = self.text.marks[i] & SHOWN != 0;
                        let newline = self.text.units[i] == u16::from(b'\n');
                        if !shown || newline {
                            y += u32::from(shown);
                            i += 1;
                            continue;
                        }
                        let (new_set, old_set) = (self.text.sets[i], old[i - at]);
                        let mut j = i + 1;
                        while j < end
                            && self.text.sets[j] == new_set
                            && old[j - at] == old_set
                            && self.text.marks[j] & SHOWN != 0
                            && self.text.units[j] != u16::from(b'\n')
                        {
                            j += 1;
                        }
                        let new = self.style(i)?;
                        let before = self
                            .styles
                            .get(old_set, self.pool, self.sets)
                            .cloned()
                            .map_err(invalid)?;
                        let n = (j - i) as u32;
                        if new.author != before.author {
                            // Authorship is the item's clientID: the text is typed again.
                            self.writer.edit(author, |text, txn| {
                                text.remove_range(txn, y, n);
                            })?;
                            for m in &mut self.text.marks[i..j] {
                                *m = Text::NEW;
                            }
                            self.insert_units(i, j, y)?;
                        } else if new.inline != before.inline {
                            let attrs = inline_attrs(&new);
                            self.writer.edit(author, |text, txn| {
                                text.format(txn, y, n, attrs);
                            })?;
                        }
                        y += n;
                        i = j;
                    }
                    p = end;
                    hi = hi.max(end);
                }
            }
        }
        if lo == usize::MAX {
            return Ok(true);
        }
        self.fix_lines(author, lo, hi)
    }

    /// Checks the lines around `lo..hi` after an edit: every unit is in the yrs text unless
    /// it is a marker (`false` if not), and each newline has its line's kind there.
    fn fix_lines(
        &mut self,
        author: Option<u64>,
        lo: usize,
        hi: usize,
    ) -> Result<bool, ImportError> {
        let start = self.line_start_of(lo.min(self.text.len()));
        let mut end = hi.min(self.text.len());
        end = self.text.units[end..]
            .iter()
            .position(|&u| u == u16::from(b'\n'))
            .map_or(self.text.len(), |q| end + q + 1);
        let mut y = self.shown_before(start);
        let mut line_start = start;
        for i in start..end {
            let marker = self.is_marker(i)?;
            let mark = self.text.marks[i];
            if marker != (mark & HIDDEN != 0) || marker == (mark & SHOWN != 0) {
                return Ok(false);
            }
            if self.text.units[i] == u16::from(b'\n') {
                let kind = self.line_kind(line_start)?;
                if mark >> KIND_SHIFT != kind_code(kind) {
                    self.writer.edit(author, |text, txn| {
                        text.format(txn, y, 1, line_attrs(kind));
                    })?;
                    self.text.marks[i] = SHOWN | kind_code(kind) << KIND_SHIFT;
                }
                line_start = i + 1;
            }
            y += u32::from(mark & SHOWN != 0);
        }
        Ok(true)
    }

    /// Writes the pad's text anew as `text`.
    fn rewrite(&mut self, author: Option<u64>, text: Text) -> Result<(), ImportError> {
        let shown = self.shown_before(self.text.len());
        if shown > 0 {
            self.writer
                .edit(author, |t, txn| t.remove_range(txn, 0, shown))?;
        }
        self.text = text;
        for m in &mut self.text.marks {
            *m = Text::NEW;
        }
        self.insert_units(0, self.text.len(), 0)?;
        Ok(())
    }

    fn end_entry(
        &mut self,
        time_ms: u64,
        author: Option<u64>,
        ctx: &Context,
    ) -> Result<(), ImportError> {
        if let Some(update) = self.writer.take_revision()? {
            let names = author
                .and_then(|a| ctx.names.get(&a).cloned())
                .into_iter()
                .collect();
            self.entries.push(HistoryEntry {
                update,
                info: EntryInfo {
                    time_ms,
                    clients: author.into_iter().collect(),
                    origin: Origin::Import { authors: names },
                },
            });
        }
        Ok(())
    }
}

fn inline_attrs(style: &Style) -> Attrs {
    let mut attrs = Attrs::new();
    for (key, on) in [
        ("bold", style.inline.bold),
        ("italic", style.inline.italic),
        ("underline", style.inline.underline),
        ("strike", style.inline.strike),
    ] {
        attrs.insert(Arc::from(key), if on { Any::Bool(true) } else { Any::Null });
    }
    attrs
}

fn line_attrs(kind: LineKind) -> Attrs {
    let (header, list) = match kind {
        LineKind::Paragraph => (Any::Null, Any::Null),
        LineKind::Heading(level) => (Any::from(f64::from(level)), Any::Null),
        LineKind::Bullet => (Any::Null, Any::from("bullet")),
        LineKind::Ordered => (Any::Null, Any::from("ordered")),
    };
    Attrs::from([(Arc::from("header"), header), (Arc::from("list"), list)])
}

fn doc_with_client(client: u64) -> Doc {
    let mut options = Options::with_client_id(yrs::block::ClientID::new(client));
    options.offset_kind = OffsetKind::Utf16;
    // yrs cleans formatting after a remote update in a local transaction of its own, which
    // would make the pad differ from its log: the documents here only ever take the log.
    options.cleanup_formatting = false;
    Doc::with_options(options)
}

fn write_error() -> ImportError {
    ImportError::Invalid("the pad's history could not be written".into())
}

fn apply(doc: &Doc, update: &[u8]) -> Result<(), ImportError> {
    let update = Update::decode_v1(update).map_err(|_| write_error())?;
    doc.transact_mut()
        .apply_update(update)
        .map_err(|_| write_error())
}

/// The pad document, and the authors' helper documents that type into it.
struct Writer {
    main: Doc,
    /// clientID → (helper document, how much of `log` it has).
    helpers: HashMap<u64, (Doc, usize)>,
    /// Every update the pad took, in order.
    log: Vec<Vec<u8>>,
    /// Where the current revision's updates start in `log`.
    revision_start: usize,
}

impl Writer {
    /// A pad typed, where no author does, by a clientID not in `taken`.
    fn new(mut taken: std::collections::HashSet<u64>) -> Result<Self, ImportError> {
        let client = super::fresh_client(&mut taken)?;
        Ok(Self {
            main: doc_with_client(client),
            helpers: HashMap::new(),
            log: Vec::new(),
            revision_start: 0,
        })
    }

    /// Runs `f` on the pad as its own client.
    fn main_edit(&mut self, f: impl FnOnce(&mut TransactionMut)) {
        let mut txn = self.main.transact_mut();
        f(&mut txn);
        let update = txn.encode_update_v1();
        drop(txn);
        self.push(update);
    }

    /// Logs an update the pad took (none for a transaction that changed nothing).
    fn push(&mut self, update: Vec<u8>) {
        if update != EMPTY_UPDATE {
            self.log.push(update);
        }
    }

    /// Runs `f` on the pad's text as `client` (`None`: nobody known, the pad's own client).
    fn edit(
        &mut self,
        client: Option<u64>,
        f: impl FnOnce(&TextRef, &mut TransactionMut),
    ) -> Result<(), ImportError> {
        let Some(client) = client else {
            let mut txn = self.main.transact_mut();
            let text = txn.get_or_insert_text(CONTENT);
            f(&text, &mut txn);
            let update = txn.encode_update_v1();
            drop(txn);
            self.push(update);
            return Ok(());
        };
        let (helper, seen) = self
            .helpers
            .entry(client)
            .or_insert_with(|| (doc_with_client(client), 0));
        if self.log.len() - *seen > CATCH_UP_BY_DIFF {
            let known = helper.transact().state_vector();
            let diff = self.main.transact().encode_diff_v1(&known);
            apply(helper, &diff)?;
        } else {
            for update in &self.log[*seen..] {
                apply(helper, update)?;
            }
        }
        let update = {
            let mut txn = helper.transact_mut();
            let text = txn.get_or_insert_text(CONTENT);
            f(&text, &mut txn);
            txn.encode_update_v1()
        };
        if update != EMPTY_UPDATE {
            apply(&self.main, &update)?;
            self.log.push(update);
        }
        *seen = self.log.len();
        Ok(())
    }

    /// The updates since the last call, as one (`None` if there were none).
    fn take_revision(&mut self) -> Result<Option<Vec<u8>>, ImportError> {
        let updates = &self.log[self.revision_start..];
        self.revision_start = self.log.len();
        match updates {
            [] => Ok(None),
            [one] => Ok(Some(one.clone())),
            many => yrs::merge_updates_v1(many)
                .map(Some)
                .map_err(|_| write_error()),
        }
    }
}

/// Copies the draft's authors map into the pad.
fn copy_authors(draft: &Doc, txn: &mut TransactionMut) {
    let entries: Vec<(String, Any)> = {
        let txn = draft.transact();
        match txn.get_map("authors") {
            Some(map) => map
                .iter(&txn)
                .filter_map(|(k, v)| match v {
                    Out::Any(any) => Some((k.to_owned(), any)),
                    _ => None,
                })
                .collect(),
            None => Vec::new(),
        }
    };
    if entries.is_empty() {
        return;
    }
    let map = txn.get_or_insert_map("authors");
    for (k, v) in entries {
        map.insert(txn, k, v);
    }
}

/// Copies the draft's chat into the pad.
fn copy_chat(draft: &Doc, txn: &mut TransactionMut) {
    let messages: Vec<Any> = {
        let txn = draft.transact();
        match txn.get_array("chat") {
            Some(chat) => chat
                .iter(&txn)
                .filter_map(|v| match v {
                    Out::Any(any) => Some(any),
                    _ => None,
                })
                .collect(),
            None => Vec::new(),
        }
    };
    if messages.is_empty() {
        return;
    }
    let chat = txn.get_or_insert_array("chat");
    for m in messages {
        chat.push_back(txn, m);
    }
}
