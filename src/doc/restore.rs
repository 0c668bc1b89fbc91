//! Making a live document's content that of an earlier version, as forward edits: what a
//! restore from history applies through the room.
//!
//! Pads: the live and the target text are read as units (a character or an embed) carrying the
//! yrs ID of the item that holds them. The target is an earlier state of the same log, so a unit
//! visible in both has the same ID in both, in the same order: matching by ID is exact and
//! linear, and those units are never touched (cursors and authorship survive), only reformatted
//! when their attributes differ. Between two matched units, units equal by character and author
//! are kept too (the same clientID, or clients with equal `authors` entries: text retyped
//! identically by the same person, or the text of an earlier restore of the same version): at
//! either end of the gap, then by a Myers diff of its middle capped in edits and work; the rest
//! of the gap is deleted and re-inserted. Re-inserted text keeps its author's colour: it is typed by one
//! fresh clientID per original author (clients with equal `authors` entries are one author; at
//! most [`MAX_AUTHOR_GROUPS`]), through a helper `Doc` with that client id whose update is
//! applied to `live`, and `authors[fresh]` gets a copy of the original's entry.
//!
//! Calcs: id arrays keep their longest common subsequence (a sort or a deleted row comes back
//! by deleting and re-inserting the ids that moved: cells are keyed by id, so nothing else
//! moves), maps get the keys whose values differ. `chat` is never touched, `authors` only added
//! to, other root types left alone.

use std::collections::{BTreeSet, HashMap, HashSet};

use yrs::types::text::{Diff, YChange};
use yrs::types::Attrs;
use yrs::updates::decoder::Decode;
use yrs::{
    Any, Array, ArrayPrelim, ArrayRef, ClientID, Doc, Map, MapPrelim, MapRef, OffsetKind, Options,
    Out, ReadTxn, Snapshot, StateVector, Text, TextRef, Transact, TransactionMut, Update, WriteTxn,
    ID,
};

use crate::doc::calc::schema::{SHEETS, SHEET_PREFIX};
use crate::doc::edit::CONTENT;

/// The root map of authors: clientID (decimal string) → `{id, name, color}` (DESIGN.md §3).
pub const AUTHORS: &str = "authors";

/// Deepest nesting of shared types a calc restore walks: a root map (0) holding maps (1) whose
/// values are plain (DESIGN.md §3). Anything nested deeper is left as it is.
const MAX_MAP_DEPTH: usize = 1;

/// Most authors whose re-inserted text keeps its colour in one restore: each costs a helper
/// document synced with the whole live state. Past it, text is re-inserted without an author
/// (one more helper).
pub const MAX_AUTHOR_GROUPS: usize = 32;

/// Draws of a fresh clientID before giving up (a collision among 2³² ids is already rare).
const CLIENT_ID_TRIES: usize = 64;

/// Why a version could not be restored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RestoreError {
    /// yrs refused an update made from the version.
    #[error("the version could not be applied")]
    Apply,
    /// No clientID unused in the document could be drawn for re-inserted text.
    #[error("no fresh client id")]
    NoClientId,
    /// An edit computed from the documents fell outside the live text (a defect: refused rather
    /// than letting yrs panic).
    #[error("the restore edits do not fit the live document")]
    OutOfRange,
}

/// Changes `live` so that its content is `target`'s, in one or more transactions on `live`
/// (whose observers see them as ordinary changes): for a pad, one for deletions and
/// reformatting then one per original author of re-inserted text; for a calc, one. Restoring a
/// document's own state changes nothing (no transaction writes anything). On an error, the
/// transactions already made stay (none is expected: errors are defects or a yrs refusal).
pub fn restore(live: &Doc, target: &Doc) -> Result<(), RestoreError> {
    if live.guid() == target.guid() {
        // The same document (or a handle on it): nothing to do, and two transactions on it at
        // once would block.
        return Ok(());
    }
    restore_pad(live, target)?;
    restore_calc(live, target)
}

fn root_names(doc: &Doc) -> BTreeSet<String> {
    doc.transact()
        .root_refs()
        .map(|(name, _)| name.to_owned())
        .collect()
}

// ---------------------------------------------------------------- pads

/// What one unit of text is.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Char(char),
    Embed(Any),
    /// An embedded shared type: not part of the pad schema, never re-inserted.
    Other,
}

/// One unit of a pad's text with where it comes from.
#[derive(Debug)]
struct Unit {
    piece: Piece,
    /// The yrs ID of this unit (embeds: unknown).
    id: Option<ID>,
    /// Index of its chunk's attributes in the text's attribute table.
    attrs: usize,
    /// Who typed it ([`Authorship`]): clients whose `authors` entries are equal (a restore's
    /// fresh client and the original it copies) are one author.
    author: usize,
}

impl Unit {
    /// Offset units yrs counts for it in a document with `kind` offsets.
    fn len(&self, kind: OffsetKind) -> u32 {
        match (&self.piece, kind) {
            (Piece::Char(c), OffsetKind::Bytes) => c.len_utf8() as u32,
            (Piece::Char(c), OffsetKind::Utf16) => c.len_utf16() as u32,
            _ => 1,
        }
    }

    fn client(&self) -> Option<u64> {
        self.id.map(|id| id.client.get())
    }

    /// Equal by content and author: what is kept without an ID match.
    fn same_as(&self, other: &Unit) -> bool {
        self.piece == other.piece && self.author == other.author
    }
}

/// A text read as units, with the attribute sets of its chunks.
struct Units {
    units: Vec<Unit>,
    attrs: Vec<Attrs>,
}

/// Reads `text` of `doc` unit by unit. A diff between the current state and the empty one marks
/// every visible item as added, with its ID, one chunk per item.
fn read_units(doc: &Doc, text: &TextRef) -> Units {
    let mut txn = doc.transact_mut();
    let now = txn.snapshot();
    let chunks: Vec<Diff<YChange>> = text.diff_range(
        &mut txn,
        Some(&now),
        Some(&Snapshot::default()),
        YChange::identity,
    );
    let mut out = Units {
        units: Vec::new(),
        attrs: Vec::new(),
    };
    for chunk in chunks {
        let attrs = chunk.attributes.map(|a| *a).unwrap_or_default();
        if out.attrs.last() != Some(&attrs) {
            out.attrs.push(attrs);
        }
        let at = out.attrs.len() - 1;
        // Text chunks carry their item's ID; embeds carry none (a string embed is thus told
        // apart from text).
        match (chunk.insert, chunk.ychange) {
            (Out::Any(Any::String(s)), Some(change)) => {
                let mut id = Some(change.id);
                for c in s.chars() {
                    out.units.push(Unit {
                        piece: Piece::Char(c),
                        id,
                        attrs: at,
                        author: 0,
                    });
                    // yrs clocks count UTF-16 code units whatever the offset kind.
                    if let Some(id) = id.as_mut() {
                        id.clock += c.len_utf16() as u32;
                    }
                }
            }
            (Out::Any(any), _) => out.units.push(Unit {
                piece: Piece::Embed(any),
                id: None,
                attrs: at,
                author: 0,
            }),
            (_, _) => out.units.push(Unit {
                piece: Piece::Other,
                id: None,
                attrs: at,
                author: 0,
            }),
        }
    }
    out
}

/// One step of the edit script, in document order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    /// Live unit kept as the target unit.
    Keep(usize, usize),
    /// Live unit deleted.
    Delete(usize),
    /// Target unit inserted.
    Insert(usize),
}

/// Numbers the authors of units: one number per distinct `authors` entry, one per client
/// without an entry, one for units without a client (embeds).
#[derive(Default)]
struct Authorship {
    by_client: HashMap<u64, usize>,
    by_entry: HashMap<String, usize>,
    last: Option<(u64, usize)>,
}

impl Authorship {
    fn of(&mut self, client: Option<u64>, authors: &HashMap<String, Any>) -> usize {
        let Some(client) = client else { return 0 };
        if let Some((c, a)) = self.last {
            if c == client {
                return a;
            }
        }
        let next = 1 + self.by_client.len();
        let a = match self.by_client.get(&client) {
            Some(&a) => a,
            None => {
                let a = match authors.get(&client.to_string()) {
                    Some(entry) => *self.by_entry.entry(entry_key(entry)).or_insert(next),
                    None => next,
                };
                self.by_client.insert(client, a);
                a
            }
        };
        self.last = Some((client, a));
        a
    }
}

/// A canonical text of an `authors` entry (map keys sorted), to compare entries by value.
fn entry_key(entry: &Any) -> String {
    match entry {
        Any::Map(map) => {
            let mut pairs: Vec<(&String, &Any)> = map.iter().collect();
            pairs.sort_by(|a, b| a.0.cmp(b.0));
            format!("{pairs:?}")
        }
        other => format!("{other:?}"),
    }
}

/// The ID ranges a text's visible units occupy, by client: answers "is this unit there too?"
/// without hashing every unit (a lookup is O(1) inside the run last found).
struct Runs {
    by_client: HashMap<u64, Vec<(u32, u32)>>,
}

impl Runs {
    fn of(units: &[Unit]) -> Self {
        let mut by_client: HashMap<u64, Vec<(u32, u32)>> = HashMap::new();
        let mut current: Option<(u64, u32, u32)> = None;
        for id in units.iter().filter_map(|u| u.id) {
            let (client, clock) = (id.client.get(), id.clock);
            match current.as_mut() {
                Some((c, _, end)) if *c == client && *end == clock => *end = clock + 1,
                _ => {
                    if let Some((c, start, end)) = current.take() {
                        by_client.entry(c).or_default().push((start, end));
                    }
                    current = Some((client, clock, clock + 1));
                }
            }
        }
        if let Some((c, start, end)) = current {
            by_client.entry(c).or_default().push((start, end));
        }
        for runs in by_client.values_mut() {
            runs.sort_unstable();
        }
        Runs { by_client }
    }

    /// For each of `units`, whether its ID is among these runs.
    fn holds(&self, units: &[Unit]) -> Vec<bool> {
        let mut last: Option<(u64, u32, u32)> = None;
        units
            .iter()
            .map(|u| {
                let Some(id) = u.id else { return false };
                let (client, clock) = (id.client.get(), id.clock);
                if let Some((c, start, end)) = last {
                    if c == client && (start..end).contains(&clock) {
                        return true;
                    }
                }
                let Some(runs) = self.by_client.get(&client) else {
                    return false;
                };
                let k = runs.partition_point(|&(start, _)| start <= clock);
                match k.checked_sub(1).map(|k| runs[k]) {
                    Some((start, end)) if clock < end => {
                        last = Some((client, start, end));
                        true
                    }
                    _ => false,
                }
            })
            .collect()
    }
}

/// The edit script from `live` to `target`: linear (one lookup per unit, one merge walk).
fn script(live: &[Unit], target: &[Unit]) -> Vec<Op> {
    // A unit in both texts has its ID in both.
    let mut live_common = Runs::of(target).holds(live);
    let mut target_common = Runs::of(live).holds(target);
    let mut raw = Vec::with_capacity(live.len().max(target.len()));
    let (mut i, mut j) = (0, 0);
    while i < live.len() || j < target.len() {
        if i < live.len() && !live_common[i] {
            raw.push(Op::Delete(i));
            i += 1;
        } else if j < target.len() && !target_common[j] {
            raw.push(Op::Insert(j));
            j += 1;
        } else if i < live.len() && j < target.len() && live[i].id == target[j].id {
            raw.push(Op::Keep(i, j));
            i += 1;
            j += 1;
        } else {
            // Both are common but out of order (cannot happen for versions of one document):
            // neither is kept, which stays correct.
            if let Some(flag) = live_common.get_mut(i) {
                *flag = false;
            }
            if let Some(flag) = target_common.get_mut(j) {
                *flag = false;
            }
        }
    }
    keep_equal_ends(raw, live, target)
}

/// Most edits a gap's middle may need for a Myers diff of it; past it the middle is replaced.
const MYERS_MAX_D: usize = 128;
/// Most (gap length × edit cap) a gap's Myers diff may cost.
const MYERS_MAX_WORK: usize = 4_000_000;

/// In each run between kept units, keeps the units equal by content and author: at both ends,
/// then in the middle by a Myers diff capped at [`MYERS_MAX_D`] edits.
fn keep_equal_ends(raw: Vec<Op>, live: &[Unit], target: &[Unit]) -> Vec<Op> {
    let mut out = Vec::with_capacity(raw.len());
    let mut gone = Vec::new();
    let mut new = Vec::new();
    let flush = |out: &mut Vec<Op>, gone: &mut Vec<usize>, new: &mut Vec<usize>| {
        let prefix = gone
            .iter()
            .zip(new.iter())
            .take_while(|(&l, &t)| live[l].same_as(&target[t]))
            .count();
        let suffix = gone[prefix..]
            .iter()
            .rev()
            .zip(new[prefix..].iter().rev())
            .take_while(|(&l, &t)| live[l].same_as(&target[t]))
            .count();
        out.extend((0..prefix).map(|k| Op::Keep(gone[k], new[k])));
        let (mid_gone, mid_new) = (
            &gone[prefix..gone.len() - suffix],
            &new[prefix..new.len() - suffix],
        );
        let work = (mid_gone.len() + mid_new.len()).saturating_mul(MYERS_MAX_D);
        let pairs = if mid_gone.is_empty() || mid_new.is_empty() || work > MYERS_MAX_WORK {
            None
        } else {
            myers(
                mid_gone.len(),
                mid_new.len(),
                |a, b| live[mid_gone[a]].same_as(&target[mid_new[b]]),
                MYERS_MAX_D,
            )
        };
        // Deletions, then insertions, up to each kept pair (the order both passes expect).
        let (mut a0, mut b0) = (0, 0);
        for (a, b) in pairs.unwrap_or_default() {
            out.extend(mid_gone[a0..a].iter().map(|&l| Op::Delete(l)));
            out.extend(mid_new[b0..b].iter().map(|&t| Op::Insert(t)));
            out.push(Op::Keep(mid_gone[a], mid_new[b]));
            (a0, b0) = (a + 1, b + 1);
        }
        out.extend(mid_gone[a0..].iter().map(|&l| Op::Delete(l)));
        out.extend(mid_new[b0..].iter().map(|&t| Op::Insert(t)));
        out.extend(
            (0..suffix)
                .rev()
                .map(|k| Op::Keep(gone[gone.len() - 1 - k], new[new.len() - 1 - k])),
        );
        gone.clear();
        new.clear();
    };
    for op in raw {
        match op {
            Op::Delete(l) => gone.push(l),
            Op::Insert(t) => new.push(t),
            Op::Keep(..) => {
                if !gone.is_empty() || !new.is_empty() {
                    flush(&mut out, &mut gone, &mut new);
                }
                out.push(op);
            }
        }
    }
    flush(&mut out, &mut gone, &mut new);
    out
}

/// The matched pairs `(a, b)` of a shortest edit script between `0..n` and `0..m` under `eq`
/// (Myers' greedy algorithm), or `None` if it needs more than `max_d` edits. O((n + m)·max_d)
/// time, O(max_d²) memory.
fn myers(
    n: usize,
    m: usize,
    eq: impl Fn(usize, usize) -> bool,
    max_d: usize,
) -> Option<Vec<(usize, usize)>> {
    let max_d = max_d.min(n + m);
    let (n_i, m_i) = (n as isize, m as isize);
    let offset = max_d as isize + 1;
    let at = |k: isize| (k + offset) as usize;
    // v[at(k)]: furthest x reached on diagonal k = x - y; trace[d]: v before step d.
    let mut v = vec![0isize; 2 * max_d + 3];
    let mut trace = Vec::new();
    let mut end = None;
    'steps: for d in 0..=max_d as isize {
        trace.push(v.clone());
        let mut k = -d;
        while k <= d {
            let mut x = if k == -d || (k != d && v[at(k - 1)] < v[at(k + 1)]) {
                v[at(k + 1)]
            } else {
                v[at(k - 1)] + 1
            };
            let mut y = x - k;
            while x < n_i && y < m_i && y >= 0 && eq(x as usize, y as usize) {
                x += 1;
                y += 1;
            }
            v[at(k)] = x;
            if x >= n_i && y >= m_i {
                end = Some(d);
                break 'steps;
            }
            k += 2;
        }
    }
    end?;
    let mut pairs = Vec::new();
    let (mut x, mut y) = (n_i, m_i);
    for (d, v) in trace.iter().enumerate().rev() {
        let d = d as isize;
        let k = x - y;
        let prev_k = if k == -d || (k != d && v[at(k - 1)] < v[at(k + 1)]) {
            k + 1
        } else {
            k - 1
        };
        let prev_x = v[at(prev_k)];
        let prev_y = prev_x - prev_k;
        while x > prev_x && y > prev_y {
            x -= 1;
            y -= 1;
            pairs.push((x as usize, y as usize));
        }
        if d > 0 {
            (x, y) = (prev_x, prev_y);
        }
    }
    pairs.reverse();
    Some(pairs)
}

/// The attributes turning `from` into `to` (`Null` removes one).
fn attrs_delta(from: &Attrs, to: &Attrs) -> Attrs {
    let mut delta: Attrs = to
        .iter()
        .filter(|(k, v)| from.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for k in from.keys() {
        if !to.contains_key(k) {
            delta.insert(k.clone(), Any::Null);
        }
    }
    delta
}

/// Marks a target unit that no group inserts.
const NO_GROUP: usize = usize::MAX;

/// Who re-inserted text is typed as: the original author's entry (or none).
struct Group {
    entry: Option<Any>,
    client: u64,
}

fn restore_pad(live: &Doc, target: &Doc) -> Result<(), RestoreError> {
    let (live_roots, target_roots) = (root_names(live), root_names(target));
    if !live_roots.contains(CONTENT) && !target_roots.contains(CONTENT) {
        return Ok(());
    }
    let kind = live.offset_kind();
    let live_text = live.get_or_insert_text(CONTENT);
    let target_text = target.get_or_insert_text(CONTENT);
    let mut have = read_units(live, &live_text);
    let mut want = read_units(target, &target_text);
    let authors: HashMap<String, Any> = {
        let txn = live.transact();
        txn.get_map(AUTHORS)
            .map(|m| {
                m.iter(&txn)
                    .filter_map(|(k, v)| match v {
                        Out::Any(any) => Some((k.to_owned(), any)),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut authorship = Authorship::default();
    for unit in have.units.iter_mut().chain(want.units.iter_mut()) {
        unit.author = authorship.of(unit.client(), &authors);
    }
    let ops = script(&have.units, &want.units);

    // Deletions and reformatting of kept text, by the live document's own client.
    {
        let mut txn = live.transact_mut();
        let mut pos = 0u32;
        let mut k = 0;
        while k < ops.len() {
            match ops[k] {
                Op::Insert(_) => k += 1,
                Op::Delete(_) => {
                    let mut len = 0;
                    while let Some(&Op::Delete(l)) = ops.get(k) {
                        len += have.units[l].len(kind);
                        k += 1;
                    }
                    if pos + len > live_text.len(&txn) {
                        return Err(RestoreError::OutOfRange);
                    }
                    live_text.remove_range(&mut txn, pos, len);
                }
                Op::Keep(l0, t0) => {
                    let (from, to) = (have.units[l0].attrs, want.units[t0].attrs);
                    let mut len = 0;
                    while let Some(&Op::Keep(l, t)) = ops.get(k) {
                        if (have.units[l].attrs, want.units[t].attrs) != (from, to) {
                            break;
                        }
                        len += have.units[l].len(kind);
                        k += 1;
                    }
                    let delta = attrs_delta(&have.attrs[from], &want.attrs[to]);
                    if !delta.is_empty() {
                        if pos + len > live_text.len(&txn) {
                            return Err(RestoreError::OutOfRange);
                        }
                        live_text.format(&mut txn, pos, len, delta);
                    }
                    pos += len;
                }
            }
        }
    }

    // Insertions, one helper document per original author.
    let inserted: Vec<usize> = ops
        .iter()
        .filter_map(|op| match op {
            Op::Insert(t) if want.units[*t].piece != Piece::Other => Some(*t),
            _ => None,
        })
        .collect();
    if inserted.is_empty() {
        return Ok(());
    }
    let mut taken: HashSet<u64> = {
        let txn = live.transact();
        let mut ids: HashSet<u64> = txn.state_vector().iter().map(|(c, _)| c.get()).collect();
        ids.extend(
            target
                .transact()
                .state_vector()
                .iter()
                .map(|(c, _)| c.get()),
        );
        ids.extend(authors.keys().filter_map(|k| k.parse::<u64>().ok()));
        ids.insert(live.client_id().get());
        ids
    };
    let mut groups: Vec<Group> = Vec::new();
    let mut by_client: HashMap<Option<u64>, usize> = HashMap::new();
    // Group of each target unit to insert ([`NO_GROUP`] for the others).
    let mut group_of = vec![NO_GROUP; want.units.len()];
    let mut last: Option<(Option<u64>, usize)> = None;
    for &t in &inserted {
        let client = want.units[t].client();
        let known = match last {
            Some((c, g)) if c == client => Some(g),
            _ => by_client.get(&client).copied(),
        };
        let g = match known {
            Some(g) => g,
            None => {
                let mut entry = client.and_then(|c| authors.get(&c.to_string()).cloned());
                if groups.len() >= MAX_AUTHOR_GROUPS && !groups.iter().any(|g| g.entry == entry) {
                    // Past the cap, text is re-typed without an author (uncoloured).
                    entry = None;
                }
                let g = match groups.iter().position(|g| g.entry == entry) {
                    Some(g) => g,
                    None => {
                        groups.push(Group {
                            entry,
                            client: fresh_client(&mut taken)?,
                        });
                        groups.len() - 1
                    }
                };
                by_client.insert(client, g);
                g
            }
        };
        group_of[t] = g;
        last = Some((client, g));
    }
    for (g, group) in groups.iter().enumerate() {
        insert_group(live, kind, &want, &ops, &group_of, g, group)?;
    }
    Ok(())
}

/// A clientID (32 bits, as Yjs draws them) no one has used in this document.
fn fresh_client(taken: &mut HashSet<u64>) -> Result<u64, RestoreError> {
    for _ in 0..CLIENT_ID_TRIES {
        let n = u64::from(u32::from_le_bytes(crate::doc::random::random_bytes::<4>()));
        if n != 0 && taken.insert(n) {
            return Ok(n);
        }
    }
    Err(RestoreError::NoClientId)
}

/// Inserts group `g`'s units as its fresh client: a helper document synced from `live` makes
/// the edit, and its update is applied to `live`. Units of earlier groups are in place already;
/// later groups' are not, so offsets count kept units and earlier groups' only.
fn insert_group(
    live: &Doc,
    kind: OffsetKind,
    want: &Units,
    ops: &[Op],
    group_of: &[usize],
    g: usize,
    group: &Group,
) -> Result<(), RestoreError> {
    let mut options = Options::with_client_id(ClientID::new(group.client));
    options.offset_kind = kind;
    let helper = Doc::with_options(options);
    let state = live
        .transact()
        .encode_state_as_update_v1(&StateVector::default());
    let live_sv = live.transact().state_vector();
    {
        let update = Update::decode_v1(&state).map_err(|_| RestoreError::Apply)?;
        helper
            .transact_mut()
            .apply_update(update)
            .map_err(|_| RestoreError::Apply)?;
    }
    {
        let mut txn = helper.transact_mut();
        let text = txn.get_or_insert_text(CONTENT);
        let mut pos = 0u32;
        let mut k = 0;
        while k < ops.len() {
            let t0 = match ops[k] {
                Op::Delete(_) => {
                    k += 1;
                    continue;
                }
                Op::Keep(_, t) => {
                    pos += want.units[t].len(kind);
                    k += 1;
                    continue;
                }
                Op::Insert(t) => t,
            };
            match group_of[t0] {
                h if h == g => {}
                h if h < g => {
                    pos += want.units[t0].len(kind);
                    k += 1;
                    continue;
                }
                _ => {
                    k += 1;
                    continue;
                }
            }
            // A run of this group's characters with one set of attributes, or one embed.
            let attrs = want.units[t0].attrs;
            let mut run = String::new();
            let mut embed = None;
            match &want.units[t0].piece {
                Piece::Embed(any) => {
                    embed = Some(any.clone());
                    k += 1;
                }
                _ => {
                    while let Some(&Op::Insert(t)) = ops.get(k) {
                        let unit = &want.units[t];
                        match unit.piece {
                            Piece::Char(c) if unit.attrs == attrs && group_of[t] == g => {
                                run.push(c);
                                k += 1;
                            }
                            _ => break,
                        }
                    }
                }
            }
            if pos > text.len(&txn) {
                return Err(RestoreError::OutOfRange);
            }
            let attributes = want.attrs[attrs].clone();
            if let Some(any) = embed {
                text.insert_embed_with_attributes(&mut txn, pos, any, attributes);
                pos += 1;
            } else {
                text.insert_with_attributes(&mut txn, pos, &run, attributes);
                pos += match kind {
                    OffsetKind::Bytes => run.len() as u32,
                    OffsetKind::Utf16 => run.encode_utf16().count() as u32,
                };
            }
        }
        if let Some(entry) = &group.entry {
            let authors = txn.get_or_insert_map(AUTHORS);
            authors.insert(&mut txn, group.client.to_string(), entry.clone());
        }
    }
    let update = helper.transact().encode_diff_v1(&live_sv);
    let update = Update::decode_v1(&update).map_err(|_| RestoreError::Apply)?;
    live.transact_mut()
        .apply_update(update)
        .map_err(|_| RestoreError::Apply)
}

// ---------------------------------------------------------------- calcs

fn is_calc_root(name: &str) -> bool {
    name == SHEETS || name.starts_with(SHEET_PREFIX)
}

fn restore_calc(live: &Doc, target: &Doc) -> Result<(), RestoreError> {
    let names: BTreeSet<String> = root_names(live)
        .into_iter()
        .chain(root_names(target))
        .filter(|n| is_calc_root(n))
        .collect();
    if names.is_empty() {
        return Ok(());
    }
    let ttxn = target.transact();
    let mut txn = live.transact_mut();
    for name in names {
        if name == SHEETS {
            let want: Vec<Out> = ttxn
                .get_array(SHEETS)
                .map(|a| a.iter(&ttxn).collect())
                .unwrap_or_default();
            let array = txn.get_or_insert_array(SHEETS);
            sync_array(&mut txn, &array, &want);
        } else {
            let want = ttxn.get_map(name.as_str());
            let map = txn.get_or_insert_map(name.as_str());
            sync_map(&mut txn, &map, &ttxn, want.as_ref(), 0);
        }
    }
    Ok(())
}

/// What identifies an array element: its plain value (ids are strings).
#[derive(Debug, PartialEq, Eq, Hash)]
enum Key {
    Str(String),
    Other(String),
}

fn key(value: &Out) -> Option<Key> {
    match value {
        Out::Any(Any::String(s)) => Some(Key::Str(s.to_string())),
        Out::Any(any) => Some(Key::Other(format!("{any:?}"))),
        _ => None,
    }
}

/// Makes `array` hold `want`'s plain values: the longest common subsequence stays, the rest is
/// deleted and inserted in target order. Elements appear once each in an id array, so the
/// common subsequence is a longest increasing subsequence of target positions: O(n log n).
fn sync_array(txn: &mut TransactionMut, array: &ArrayRef, want: &[Out]) {
    let have: Vec<Out> = array.iter(txn).collect();
    let mut first: HashMap<Key, usize> = HashMap::with_capacity(want.len());
    for (j, v) in want.iter().enumerate() {
        if let Some(k) = key(v) {
            first.entry(k).or_insert(j);
        }
    }
    let mut seen = HashSet::new();
    let pairs: Vec<(usize, usize)> = have
        .iter()
        .enumerate()
        .filter_map(|(i, v)| {
            let j = *first.get(&key(v)?)?;
            seen.insert(j).then_some((i, j))
        })
        .collect();
    let kept = longest_increasing(&pairs);
    let kept_live: HashSet<usize> = kept.iter().map(|&(i, _)| i).collect();
    let kept_target: HashSet<usize> = kept.iter().map(|&(_, j)| j).collect();
    // Deletions from the end, a run at a time.
    let mut i = have.len();
    while i > 0 {
        if kept_live.contains(&(i - 1)) {
            i -= 1;
            continue;
        }
        let end = i;
        while i > 0 && !kept_live.contains(&(i - 1)) {
            i -= 1;
        }
        array.remove_range(txn, i as u32, (end - i) as u32);
    }
    let mut pos = 0u32;
    let mut j = 0;
    while j < want.len() {
        if kept_target.contains(&j) {
            pos += 1;
            j += 1;
            continue;
        }
        let mut run = Vec::new();
        while j < want.len() && !kept_target.contains(&j) {
            // Nested shared types are not part of an id array: not recreated.
            if let Out::Any(any) = &want[j] {
                run.push(any.clone());
            }
            j += 1;
        }
        let n = run.len() as u32;
        if n > 0 {
            array.insert_range(txn, pos, run);
            pos += n;
        }
    }
}

/// A longest subsequence of `pairs` (increasing in `.0`) whose `.1` increases too.
fn longest_increasing(pairs: &[(usize, usize)]) -> Vec<(usize, usize)> {
    // tails[k]: index in `pairs` of the smallest tail of an increasing run of length k + 1.
    let mut tails: Vec<usize> = Vec::new();
    let mut prev: Vec<Option<usize>> = vec![None; pairs.len()];
    for (p, &(_, j)) in pairs.iter().enumerate() {
        let k = tails.partition_point(|&q| pairs[q].1 < j);
        prev[p] = k.checked_sub(1).map(|k| tails[k]);
        if k == tails.len() {
            tails.push(p);
        } else {
            tails[k] = p;
        }
    }
    let mut out = Vec::with_capacity(tails.len());
    let mut at = tails.last().copied();
    while let Some(p) = at {
        out.push(pairs[p]);
        at = prev[p];
    }
    out.reverse();
    out
}

/// Makes `map` hold `want`'s entries: differing values set, missing keys removed, nested arrays
/// and maps synced in place (created when missing) down to [`MAX_MAP_DEPTH`].
fn sync_map<T: ReadTxn>(
    txn: &mut TransactionMut,
    map: &MapRef,
    ttxn: &T,
    want: Option<&MapRef>,
    depth: usize,
) {
    let entries: Vec<(String, Out)> = want
        .map(|m| m.iter(ttxn).map(|(k, v)| (k.to_owned(), v)).collect())
        .unwrap_or_default();
    let wanted: HashSet<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
    let stale: Vec<String> = map
        .keys(txn)
        .filter(|k| !wanted.contains(k))
        .map(str::to_owned)
        .collect();
    for k in stale {
        map.remove(txn, &k);
    }
    for (k, v) in entries {
        let current = map.get(txn, &k);
        match v {
            Out::Any(any) if !matches!(&current, Some(Out::Any(cur)) if *cur == any) => {
                map.insert(txn, k, any);
            }
            // Equal plain values stay as they are.
            Out::Any(_) => {}
            Out::YArray(array) if depth < MAX_MAP_DEPTH => {
                let values: Vec<Out> = array.iter(ttxn).collect();
                match current {
                    Some(Out::YArray(live)) => sync_array(txn, &live, &values),
                    _ => {
                        let plain: Vec<Any> = values
                            .into_iter()
                            .filter_map(|v| match v {
                                Out::Any(any) => Some(any),
                                _ => None,
                            })
                            .collect();
                        map.insert(txn, k, ArrayPrelim::from(plain));
                    }
                }
            }
            Out::YMap(nested) if depth < MAX_MAP_DEPTH => {
                let live = match current {
                    Some(Out::YMap(live)) => live,
                    _ => map.insert(txn, k, MapPrelim::default()),
                };
                sync_map(txn, &live, ttxn, Some(&nested), depth + 1);
            }
            // Other shared types, or deeper than the schema: left as they are.
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests;
