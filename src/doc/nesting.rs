//! How deep a document's shared types nest, kept beside the yrs `Doc` so that an update is
//! checked before yrs sees it. yrs integrates, deletes and garbage-collects nested types by
//! recursion, so a chain of a few thousand types (built in one update or over many) overflows
//! the stack and aborts the process; yrs offers no public way to ask an item's parent, so the
//! room keeps its own record. Pure.
//!
//! The record maps every item id the document was given to the depth of the type it hangs in
//! (root types are at depth 1). An item names its place as a root, as the type made by another
//! item, or as its neighbours' type (origin, right origin); [`Nesting::admit`] resolves those
//! references against the update's own items and the record, iteratively, refuses an update
//! that would place a type deeper than [`MAX_TYPE_DEPTH`] or under content whose depth it
//! cannot know, then records the update's items. Where the update and the record disagree
//! (an item sent again with other references, a neighbour in another type), the deeper depth
//! is taken: the record never says less than yrs does, so the bound holds for what yrs built.

use std::collections::{BTreeMap, HashMap};

use crate::doc::guard::{Block, GuardError, Id, Parent, Shape};
pub use crate::doc::guard::{MAX_DOC_ITEMS, MAX_TYPE_DEPTH};

/// The depth of garbage-collected ranges: yrs turns anything placed beside them into garbage
/// too, so any depth is an upper bound; the lowest keeps references to them usable.
const GC_DEPTH: u8 = 1;

/// The depth record of one document.
/// Refuses a whole document (a snapshot, an export's input) yrs cannot be trusted with on its
/// own; accepts everything else yrs can decode. The shared types' depth is counted from the
/// update's own roots: for an update applied to a live document, use [`Nesting::admit`].
pub fn check_document(update: &[u8]) -> Result<(), GuardError> {
    let shape = crate::doc::guard::document_shape(update)?;
    Nesting::default().admit(&shape)
}

#[derive(Debug, Default)]
pub struct Nesting {
    /// Per client: runs of clocks `start → (end, depth of the type they hang in)`, disjoint.
    clients: HashMap<u64, BTreeMap<u32, (u32, u8)>>,
    /// Blocks admitted since the record was started.
    items: usize,
}

/// A depth as resolution computes it: `None` when it cannot be known (the content is missing,
/// or references go round in a circle).
type Depth = Option<u8>;

/// The deeper of two depths; an unknown depth is deeper than any.
fn deeper(a: Depth, b: Depth) -> Depth {
    Some(a?.max(b?))
}

impl Nesting {
    /// Blocks admitted so far (an upper bound of the blocks yrs holds: it merges and collects).
    pub fn items(&self) -> usize {
        self.items
    }

    /// Checks that applying `shape`'s update keeps the document within [`MAX_TYPE_DEPTH`] and
    /// [`MAX_DOC_ITEMS`], then records its items. Nothing is recorded when it is refused.
    pub fn admit(&mut self, shape: &Shape) -> Result<(), GuardError> {
        if self.items.saturating_add(shape.len()) > MAX_DOC_ITEMS {
            return Err(GuardError::DocTooManyItems);
        }
        let blocks: Vec<Block> = shape.blocks().collect();
        let depths = self.resolve(shape, &blocks);
        for (block, depth) in blocks.iter().zip(&depths) {
            if let Block::Item { is_type: true, .. } = block {
                match depth {
                    None => return Err(GuardError::Unanchored),
                    Some(d) if *d >= MAX_TYPE_DEPTH => return Err(GuardError::TypesTooDeep),
                    Some(_) => {}
                }
            }
        }
        for (block, depth) in blocks.iter().zip(depths) {
            let (id, len) = match *block {
                Block::Gc { id, len } | Block::Item { id, len, .. } => (id, len),
            };
            // An item whose depth is unknown is not recorded: nothing may hang beside it.
            if let Some(depth) = depth {
                self.record(shape.clients[id.0 as usize], id.1, len, depth);
            }
        }
        self.items += shape.len();
        Ok(())
    }

    /// The depth of the type each block hangs in, resolved without recursion.
    fn resolve(&self, shape: &Shape, blocks: &[Block]) -> Vec<Depth> {
        // The update's own blocks by id, to find the block holding a referenced clock.
        let mut by_id: Vec<(u32, u32, u32, usize)> = blocks
            .iter()
            .enumerate()
            .map(|(n, b)| match *b {
                Block::Gc { id, len } | Block::Item { id, len, .. } => {
                    (id.0, id.1, id.1.saturating_add(len), n)
                }
            })
            .collect();
        by_id.sort_unstable();
        let find = |id: Id| -> Option<usize> {
            let at = by_id.partition_point(|&(c, start, _, _)| (c, start) <= id);
            let &(c, _, end, n) = by_id.get(at.checked_sub(1)?)?;
            (c == id.0 && id.1 < end).then_some(n)
        };
        let recorded = |id: Id| self.depth_of(shape.clients[id.0 as usize], id.1);

        #[derive(Clone, Copy, PartialEq)]
        enum State {
            New,
            Open,
            Done,
        }
        let mut state = vec![State::New; blocks.len()];
        let mut depth: Vec<Depth> = vec![None; blocks.len()];
        // The blocks whose depth a block's depends on, in this update: at most two.
        let deps = |n: usize| -> [Option<usize>; 2] {
            match blocks[n] {
                Block::Gc { .. } => [None, None],
                Block::Item { parent, .. } => match parent {
                    Parent::Root => [None, None],
                    Parent::Type(p) => [find(p), None],
                    Parent::Beside(a, b) => [a.and_then(find), b.and_then(find)],
                },
            }
        };
        let mut stack = Vec::new();
        for start in 0..blocks.len() {
            stack.push(start);
            while let Some(&n) = stack.last() {
                if state[n] == State::Done {
                    stack.pop();
                    continue;
                }
                if state[n] == State::New {
                    state[n] = State::Open;
                    let waiting: Vec<usize> = deps(n)
                        .into_iter()
                        .flatten()
                        .filter(|&d| state[d] == State::New)
                        .collect();
                    if !waiting.is_empty() {
                        stack.extend(waiting);
                        continue;
                    }
                }
                // Every dependency is done, or open (on the path to this block: a circle,
                // whose depth stays unknown).
                let of = |id: Id| -> Depth {
                    let here = find(id).map(|d| {
                        if state[d] == State::Done {
                            depth[d]
                        } else {
                            None
                        }
                    });
                    match (here, recorded(id)) {
                        (Some(a), Some(b)) => deeper(a, Some(b)),
                        (Some(a), None) => a,
                        (None, b) => b,
                    }
                };
                depth[n] = match blocks[n] {
                    Block::Gc { .. } => Some(GC_DEPTH),
                    Block::Item { parent, .. } => match parent {
                        Parent::Root => Some(1),
                        // In the type that item makes: one level below the item itself.
                        Parent::Type(p) => {
                            of(p).map(|d| d.saturating_add(1).min(MAX_TYPE_DEPTH + 1))
                        }
                        Parent::Beside(a, b) => {
                            let (a, b) = (a.map(of), b.map(of));
                            match (a, b) {
                                (Some(a), Some(b)) => deeper(a, b),
                                (Some(x), None) | (None, Some(x)) => x,
                                (None, None) => None,
                            }
                        }
                    },
                };
                state[n] = State::Done;
                stack.pop();
            }
        }
        depth
    }

    /// The recorded depth of the type the item holding `clock` of `client` hangs in.
    fn depth_of(&self, client: u64, clock: u32) -> Option<u8> {
        let runs = self.clients.get(&client)?;
        let (_, &(end, depth)) = runs.range(..=clock).next_back()?;
        (clock < end).then_some(depth)
    }

    /// Records `len` clocks of `client` from `start` at `depth`, keeping the deeper depth where
    /// they were already recorded.
    fn record(&mut self, client: u64, start: u32, len: u32, depth: u8) {
        let end = start.saturating_add(len);
        let runs = self.clients.entry(client).or_default();
        // The usual case: the client's next clocks, often at the depth of its last run.
        match runs.last_key_value().map(|(&s, &r)| (s, r)) {
            None => {
                runs.insert(start, (end, depth));
                return;
            }
            Some((s, (e, d))) if start >= e => {
                if start == e && d == depth {
                    runs.insert(s, (end, d));
                } else {
                    runs.insert(start, (end, depth));
                }
                return;
            }
            Some(_) => {}
        }
        // Overlap with recorded runs (an update sent again): split into pieces, keep the
        // deeper depth of each.
        let overlapping: Vec<(u32, u32, u8)> = runs
            .range(..end)
            .rev()
            .take_while(|(_, &(e, _))| e > start)
            .map(|(&s, &(e, d))| (s, e, d))
            .collect();
        for (s, _, _) in &overlapping {
            runs.remove(s);
        }
        let mut cuts: Vec<u32> = vec![start, end];
        for &(s, e, _) in &overlapping {
            cuts.extend([s, e]);
        }
        cuts.sort_unstable();
        cuts.dedup();
        for w in cuts.windows(2) {
            let (a, b) = (w[0], w[1]);
            let old = overlapping
                .iter()
                .find(|&&(s, e, _)| s <= a && b <= e)
                .map(|&(_, _, d)| d);
            let new = (start <= a && b <= end).then_some(depth);
            if let Some(d) = old.into_iter().chain(new).max() {
                runs.insert(a, (b, d));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::guard::shape;
    use yrs::encoding::write::Write;
    use yrs::updates::decoder::Decode;
    use yrs::{Doc, Map, MapPrelim, MapRef, ReadTxn, StateVector, Text, Transact, Update};

    /// Adds a chain of `depth` maps under the deepest map of root map `root` (each the value of
    /// key `k` of the previous one); returns the update.
    fn chain(doc: &Doc, depth: usize) -> Vec<u8> {
        let before = doc.transact().state_vector();
        let mut map: MapRef = doc.get_or_insert_map("root");
        let mut txn = doc.transact_mut();
        while let Some(yrs::Out::YMap(next)) = map.get(&txn, "k") {
            map = next;
        }
        for _ in 0..depth {
            map = map.insert(&mut txn, "k", MapPrelim::default());
        }
        txn.encode_state_as_update_v1(&before)
    }

    #[test]
    fn the_schema_passes() {
        let doc = Doc::with_client_id(1);
        let sheet = doc.get_or_insert_map("sheet:a");
        let text = doc.get_or_insert_text("content");
        {
            let mut txn = doc.transact_mut();
            let cells = sheet.insert(&mut txn, "cells", MapPrelim::default());
            cells.insert(&mut txn, "r1:c1", "42");
            text.insert(&mut txn, 0, "hello");
        }
        let update = doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        let mut n = Nesting::default();
        n.admit(&shape(&update).unwrap()).expect("schema");
        assert!(n.items() >= 3);
    }

    #[test]
    fn depth_is_bounded_within_one_update() {
        let ok = chain(&Doc::with_client_id(1), MAX_TYPE_DEPTH as usize - 1);
        Nesting::default()
            .admit(&shape(&ok).unwrap())
            .expect("at the limit");
        let deep = chain(&Doc::with_client_id(1), MAX_TYPE_DEPTH as usize);
        assert_eq!(
            Nesting::default().admit(&shape(&deep).unwrap()),
            Err(GuardError::TypesTooDeep)
        );
    }

    #[test]
    fn depth_is_bounded_across_updates_and_clients() {
        let doc = Doc::with_client_id(1);
        let mut n = Nesting::default();
        let mut refused = None;
        // Each round, another client adds 5 levels under the deepest map.
        for round in 0..10u64 {
            let peer = Doc::with_client_id(100 + round);
            let full = doc
                .transact()
                .encode_state_as_update_v1(&StateVector::default());
            peer.transact_mut()
                .apply_update(Update::decode_v1(&full).unwrap())
                .unwrap();
            let update = chain(&peer, 5);
            match n.admit(&shape(&update).unwrap()) {
                Ok(()) => doc
                    .transact_mut()
                    .apply_update(Update::decode_v1(&update).unwrap())
                    .unwrap(),
                Err(e) => {
                    refused = Some((round, e));
                    break;
                }
            }
        }
        // Six rounds make 30 maps, the deepest hanging at depth 30; the seventh would hang maps
        // at depths 31 to 35.
        assert_eq!(refused, Some((6, GuardError::TypesTooDeep)));
    }

    #[test]
    fn a_type_under_missing_content_is_refused_and_text_is_not() {
        let doc = Doc::with_client_id(1);
        let first = chain(&doc, 2);
        let second = chain(&doc, 1);
        // The second update hangs under the first, which the record has not seen.
        assert_eq!(
            Nesting::default().admit(&shape(&second).unwrap()),
            Err(GuardError::Unanchored)
        );
        let mut n = Nesting::default();
        n.admit(&shape(&first).unwrap()).unwrap();
        n.admit(&shape(&second).unwrap()).unwrap();

        // Plain text after text the server lacks is accepted (yrs keeps it pending).
        let doc = Doc::with_client_id(2);
        let text = doc.get_or_insert_text("content");
        text.insert(&mut doc.transact_mut(), 0, "ab");
        let sv = doc.transact().state_vector();
        text.insert(&mut doc.transact_mut(), 2, "cd");
        let later = doc.transact().encode_state_as_update_v1(&sv);
        Nesting::default().admit(&shape(&later).unwrap()).unwrap();
    }

    #[test]
    fn records_merge_and_keep_the_deeper_depth() {
        let mut n = Nesting::default();
        n.record(7, 0, 10, 1);
        n.record(7, 10, 5, 1);
        assert_eq!(n.clients[&7].len(), 1, "adjacent runs at one depth merge");
        n.record(7, 15, 1, 3);
        n.record(7, 5, 12, 2);
        assert_eq!(n.depth_of(7, 4), Some(1));
        assert_eq!(n.depth_of(7, 5), Some(2));
        assert_eq!(n.depth_of(7, 14), Some(2));
        assert_eq!(n.depth_of(7, 15), Some(3));
        assert_eq!(n.depth_of(7, 16), Some(2));
        assert_eq!(n.depth_of(7, 17), None);
        assert_eq!(n.depth_of(8, 0), None);
    }

    /// How one generated map item hangs: the fuzz target's nested shapes.
    #[derive(Debug, Clone)]
    enum Place {
        /// Under key `a` or `b` of root map `root`.
        Root(bool),
        /// In the map made by the item `n` clocks before it (or the first).
        In(u32),
        /// Beside the item `n` clocks before it (or the first): its origin.
        Beside(u32),
        /// In the map made by the item before it: chains.
        Last,
        /// In a map never sent.
        Missing,
    }

    /// A v1 update of maps by client 9 from `clock`, placed as `places` say, with a delete set
    /// removing `delete`, written by hand as a hostile client would.
    fn encode(clock: u32, places: &[Place], delete: Option<u32>) -> Vec<u8> {
        let mut out = Vec::new();
        out.write_var(1);
        out.write_var(places.len() as u64);
        out.write_var(9);
        out.write_var(u64::from(clock));
        for (n, place) in places.iter().enumerate() {
            let at = clock + n as u32;
            let back = |k: u32| at - k.min(at);
            // The first item hangs in the root: everything else hangs under it.
            let place = if at == 0 { &Place::Root(true) } else { place };
            match *place {
                Place::Root(a) => {
                    out.extend([0x27, 1, 4]);
                    out.extend(b"root");
                    out.extend([1, if a { b'a' } else { b'b' }]);
                }
                Place::In(_) | Place::Last | Place::Missing => {
                    let parent = match *place {
                        Place::In(k) => back(k),
                        Place::Last => back(1),
                        // An id this client never sends.
                        _ => at + 1_000,
                    };
                    out.extend([0x27, 0, 9]);
                    out.write_var(u64::from(parent));
                    // A key of its own: no item replaces (deletes) another.
                    out.write_string(&at.to_string());
                }
                Place::Beside(k) => {
                    out.extend([0x87, 9]);
                    out.write_var(u64::from(back(k)));
                }
            }
            // Type ref: YMap.
            out.push(1);
        }
        match delete {
            None => out.push(0),
            Some(at) => {
                for v in [1, 9, 1, u64::from(at), 1] {
                    out.write_var(v);
                }
            }
        }
        out
    }

    /// The deepest type under root map `root` (at depth 1), exploring no deeper than `cap`.
    fn deepest(doc: &Doc, cap: usize) -> usize {
        use yrs::{Array, Out};
        // Typed first: a root made by an update is of no type until asked for as one.
        let root = doc.get_or_insert_map("root");
        let txn = doc.transact();
        let mut open: Vec<(Out, usize)> = vec![(Out::YMap(root), 1)];
        let mut max = 0;
        while let Some((out, depth)) = open.pop() {
            max = max.max(depth);
            if depth >= cap {
                continue;
            }
            match out {
                Out::YMap(m) => open.extend(m.iter(&txn).map(|(_, v)| (v, depth + 1))),
                Out::YArray(a) => open.extend(a.iter(&txn).map(|v| (v, depth + 1))),
                _ => {}
            }
        }
        max
    }

    fn place() -> impl proptest::strategy::Strategy<Value = Place> {
        use proptest::prelude::*;
        prop_oneof![
            4 => any::<bool>().prop_map(Place::Root),
            12 => (1u32..8).prop_map(Place::In),
            8 => (1u32..8).prop_map(Place::Beside),
            48 => Just(Place::Last),
            1 => Just(Place::Missing),
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        /// Nested shapes, sent as several updates with deletions: whatever the record admits,
        /// yrs applies without its types passing the bound.
        #[test]
        fn admitted_documents_stay_within_the_bound(
            chunks in proptest::collection::vec(
                (proptest::collection::vec(place(), 1..40), proptest::option::of(0u32..300)),
                1..8,
            ),
        ) {
            let doc = Doc::new();
            let mut nesting = Nesting::default();
            let mut clock = 0;
            for (places, delete) in &chunks {
                let update = encode(clock, places, *delete);
                clock += places.len() as u32;
                let Ok(shape) = shape(&update) else { continue };
                if nesting.admit(&shape).is_err() {
                    // Not applied; the client goes on (from another connection).
                    continue;
                }
                let update = Update::decode_v1(&update).expect("the guard read it");
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    doc.transact_mut().apply_update(update)
                }));
            }
            let depth = deepest(&doc, MAX_TYPE_DEPTH as usize + 8);
            proptest::prop_assert!(depth <= MAX_TYPE_DEPTH as usize, "types {depth} deep");
        }

        /// Chains within the bound are admitted however they are split into updates.
        #[test]
        fn chains_within_the_bound_pass(depth in 1u32..u32::from(MAX_TYPE_DEPTH), split in 1u32..8) {
            // The first item hangs in the root, each next one in the previous.
            let places = vec![Place::Last; depth as usize];
            let mut nesting = Nesting::default();
            for (n, part) in places.chunks(split as usize).enumerate() {
                let update = encode(n as u32 * split, part, None);
                proptest::prop_assert_eq!(nesting.admit(&shape(&update).unwrap()), Ok(()));
            }
        }
    }

    /// The figures behind [`MAX_DOC_ITEMS`] and `guard::MAX_UPDATE_ITEMS`: an editing trace
    /// like the automerge-paper one (not available offline; generated instead): 182,000
    /// single-character insertions and 77,000 deletions by one author, typing where the cursor
    /// is, moving it nearby one edit in 250 and anywhere one in 1,000. `cargo test --lib measure_editing_trace -- --ignored --nocapture`.
    #[test]
    #[ignore = "a measurement, not a check"]
    fn measure_editing_trace() {
        use yrs::{GetString, Text};
        let doc = Doc::with_client_id(1);
        let text = doc.get_or_insert_text("content");
        let mut nesting = Nesting::default();
        // A small deterministic generator (xorshift), so the trace is the same every run.
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let (mut cursor, mut len, mut largest_update) = (0u32, 0u32, 0usize);
        for _ in 0..259_778 {
            // Now and then the author moves: mostly nearby, sometimes anywhere.
            match next(1000) {
                0 => cursor = next(u64::from(len) + 1) as u32,
                1..=4 => {
                    let near = cursor.saturating_sub(100) + next(200) as u32;
                    cursor = near.min(len);
                }
                _ => {}
            }
            let before = doc.transact().state_vector();
            {
                let mut txn = doc.transact_mut();
                if next(100) < 30 && cursor > 0 {
                    text.remove_range(&mut txn, cursor - 1, 1);
                    cursor -= 1;
                    len -= 1;
                } else {
                    let c = (b'a' + next(26) as u8) as char;
                    text.insert(&mut txn, cursor, &c.to_string());
                    cursor += 1;
                    len += 1;
                }
            }
            let update = doc.transact().encode_state_as_update_v1(&before);
            let shape = shape(&update).unwrap();
            largest_update = largest_update.max(shape.len());
            nesting.admit(&shape).unwrap();
        }
        let snapshot = doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        let blocks = crate::doc::guard::document_shape(&snapshot).unwrap().len();
        let chars = text.get_string(&doc.transact()).chars().count();
        eprintln!(
            "{chars} chars; snapshot {} bytes, {blocks} blocks; {} blocks admitted one edit at a \
             time, at most {largest_update} per update; {} depth runs",
            snapshot.len(),
            nesting.items(),
            nesting.clients.values().map(BTreeMap::len).sum::<usize>()
        );
    }
}
