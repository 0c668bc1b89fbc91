//! Checks an encoded update (a client's message or a whole snapshot) before yrs decodes it, for
//! the shapes of input on which yrs itself is not safe to run:
//!
//! - **Deeply nested values.** yrs decodes lib0 `Any` values recursively, without a depth
//!   limit: a few tens of kilobytes of nested arrays overflow the thread's stack, which aborts
//!   the process (`catch_unwind` cannot help).
//! - **Deeply nested shared types.** yrs integrates, deletes and garbage-collects a shared type
//!   by recursion into the types it holds: a chain of some thousands of `Y.Map`s, each inside
//!   the previous one, overflows the stack the same way. The walk below reads where every item
//!   hangs ([`Shape`]); the room's nesting record (`nesting.rs`) bounds the depth it reaches,
//!   across updates.
//! - **Many distinct formatting attributes.** Reading the text clones the set of active
//!   attributes for every chunk of text, so time grows as chunks × attributes: a megabyte of
//!   hostile update with a thousand attribute keys takes minutes. With the number of distinct
//!   keys bounded, reading stays linear.
//! - **Too many items.** Every item costs yrs a hundred bytes or more of memory, and an update
//!   of tiny items holds one per few bytes: [`MAX_UPDATE_ITEMS`] bounds them per update.
//!
//! The walk mirrors yrs's v1 update decoding (`Update::decode`, `ItemContent::decode`) using
//! yrs's own primitive readers, and skips values iteratively. Anything it cannot read, yrs
//! would not read either.

use std::collections::{HashMap, HashSet};

use yrs::encoding::read::Read;
use yrs::updates::decoder::{Decoder, DecoderV1};

/// Why an update was refused before decoding. Messages are safe to show to clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum GuardError {
    /// The bytes are not a v1 update.
    #[error("malformed update")]
    Malformed,
    /// A value nests deeper than [`MAX_NESTING`].
    #[error("update values nested too deeply")]
    TooDeep,
    /// More than [`MAX_FORMAT_KEYS`] distinct formatting attributes.
    #[error("too many distinct formatting attributes")]
    TooManyKeys,
    /// More than [`MAX_UPDATE_ITEMS`] blocks in one update (a whole document: more than
    /// [`MAX_DOC_ITEMS`]).
    #[error("too many items in one update")]
    TooManyItems,
    /// Shared types nested deeper than [`MAX_TYPE_DEPTH`].
    #[error("shared types nested too deeply")]
    TypesTooDeep,
    /// A shared type placed under content the document does not have (yet), so its depth
    /// cannot be known.
    #[error("shared type placed under missing content")]
    Unanchored,
    /// The document would hold more than [`MAX_DOC_ITEMS`] items.
    #[error("document has too many items")]
    DocTooManyItems,
}

impl GuardError {
    /// The message, as a static string (for WebSocket close reasons).
    pub fn message(self) -> &'static str {
        match self {
            GuardError::Malformed => "malformed update",
            GuardError::TooDeep => "update values nested too deeply",
            GuardError::TooManyKeys => "too many distinct formatting attributes",
            GuardError::TooManyItems => "too many items in one update",
            GuardError::TypesTooDeep => "shared types nested too deeply",
            GuardError::Unanchored => "shared type placed under missing content",
            GuardError::DocTooManyItems => "document has too many items",
        }
    }
}

/// More distinct formatting attribute keys than this are refused. The pad schema uses seven;
/// Quill knows about twenty.
pub const MAX_FORMAT_KEYS: usize = 64;

/// Shared types nest at most this deep (a root type is at depth 1). The schema nests two
/// levels (DESIGN.md §3: a calc's `sheet:<sid>` root map holds its `cells` map); yrs needs
/// thousands of levels to overflow a 2 MiB stack.
pub const MAX_TYPE_DEPTH: u8 = 32;

/// A document holds at most this many blocks (counted as they arrive, recounted from the
/// snapshot at each compaction): four times the largest calc an import may create
/// (`calc_io::MAX_CELLS`, one item per cell), 60 times a pad typed like the automerge-paper
/// trace (64,025 blocks: `nesting::tests::measure_editing_trace`).
pub const MAX_DOC_ITEMS: usize = 4_000_000;

/// Values nested deeper than this are refused. The pad schema nests two levels.
pub const MAX_NESTING: usize = 64;

/// More blocks (items and garbage-collected ranges) than this in one update are refused: twice
/// the largest calc an import may create (`calc_io::MAX_CELLS`, one item per cell), where a
/// client's first sync carries its whole document in one update (a pad typed like the
/// automerge-paper trace holds 64,025 blocks: `nesting::tests::measure_editing_trace`).
pub const MAX_UPDATE_ITEMS: usize = 2_000_000;

/// The v1 block reference numbers (yrs `block::BLOCK_*_REF_NUMBER`).
const GC: u8 = 0;
const SKIP: u8 = 10;
const TYPE: u8 = 7;
const HAS_ORIGIN: u8 = 0b1000_0000;
const HAS_RIGHT_ORIGIN: u8 = 0b0100_0000;
const HAS_PARENT_SUB: u8 = 0b0010_0000;

/// An item id within a [`Shape`]: the index of its client in [`Shape::clients`], and its clock.
pub type Id = (u32, u32);

/// Marks an absent id in [`Node`]'s references.
const NO_ID: Id = (u32::MAX, u32::MAX);

/// Where an item hangs, as its update says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parent {
    /// Directly in a root type (named in the update).
    Root,
    /// In the shared type made by the item holding this id.
    Type(Id),
    /// In the same type as the items holding these ids (its origin and right origin), either
    /// of which may be absent.
    Beside(Option<Id>, Option<Id>),
}

/// One block of an update, reduced to what nesting depends on.
#[derive(Debug, Clone, Copy)]
struct Node {
    id: Id,
    len: u32,
    /// 0: garbage collected, 1: root, 2: in a type, 3: beside; +4 when the item is a type.
    kind: u8,
    a: Id,
    b: Id,
}

/// The blocks of one update: their ids and lengths, where each item hangs, and which items are
/// shared types. Read by [`shape`]; checked and recorded by the room's nesting record.
#[derive(Debug, Default)]
pub struct Shape {
    /// The client ids the update mentions (as item owners or in references), by index.
    pub clients: Vec<u64>,
    nodes: Vec<Node>,
}

/// One block as [`Shape::blocks`] yields it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Block {
    /// Garbage-collected clocks: no content, no parent.
    Gc {
        /// The first id.
        id: Id,
        /// How many clocks.
        len: u32,
    },
    /// An item.
    Item {
        /// The first id.
        id: Id,
        /// How many clocks (UTF-16 units of a string, values of an array chunk, else 1).
        len: u32,
        /// Where it hangs.
        parent: Parent,
        /// Whether its content is a shared type (which other items may hang in).
        is_type: bool,
    },
}

impl Shape {
    /// Blocks in the update (items and garbage-collected ranges; skipped ranges are not blocks).
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the update holds no block.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The blocks, in the update's order.
    pub fn blocks(&self) -> impl Iterator<Item = Block> + '_ {
        self.nodes.iter().map(|n| {
            let opt = |id: Id| (id != NO_ID).then_some(id);
            if n.kind == 0 {
                return Block::Gc {
                    id: n.id,
                    len: n.len,
                };
            }
            let parent = match n.kind & 3 {
                1 => Parent::Root,
                2 => Parent::Type(n.a),
                _ => Parent::Beside(opt(n.a), opt(n.b)),
            };
            Block::Item {
                id: n.id,
                len: n.len,
                parent,
                is_type: n.kind & 4 != 0,
            }
        })
    }
}

/// Walks an update without decoding it: refuses the shapes yrs cannot be trusted with (see the
/// module's documentation), and returns where its items hang.
pub fn shape(update: &[u8]) -> Result<Shape, GuardError> {
    shape_within(update, MAX_UPDATE_ITEMS)
}

/// [`shape`] for a whole document (a snapshot, a stored update), which may hold as many blocks
/// as a document may ([`MAX_DOC_ITEMS`]).
pub fn document_shape(update: &[u8]) -> Result<Shape, GuardError> {
    shape_within(update, MAX_DOC_ITEMS)
}

fn shape_within(update: &[u8], max_items: usize) -> Result<Shape, GuardError> {
    let mut d = DecoderV1::from(update);
    let mut walk = Walk::default();
    // Every loop below consumes at least one byte per round or fails at the end of the input,
    // so hostile counts cannot make the walk longer than the input.
    let clients: u32 = d.read_var().map_err(bad)?;
    for _ in 0..clients {
        let blocks: u32 = d.read_var().map_err(bad)?;
        // The client as a plain number: yrs's `ClientID` asserts on out-of-range values.
        let client: u64 = d.read_var().map_err(bad)?;
        let mut clock: u32 = d.read_var().map_err(bad)?;
        let client = walk.intern(client);
        for _ in 0..blocks {
            if walk.shape.nodes.len() == max_items {
                return Err(GuardError::TooManyItems);
            }
            let (len, node) = walk.block(&mut d, (client, clock))?;
            clock = clock.checked_add(len).ok_or(GuardError::Malformed)?;
            // yrs makes nothing of an empty item.
            if let Some(node) = node.filter(|_| len > 0) {
                walk.shape.nodes.push(node);
            }
        }
    }
    // The delete set that follows is flat numbers, which yrs reads without recursion.
    Ok(walk.shape)
}

fn bad<E>(_: E) -> GuardError {
    GuardError::Malformed
}

#[derive(Default)]
struct Walk {
    shape: Shape,
    client_index: HashMap<u64, u32>,
    keys: HashSet<String>,
}

impl Walk {
    fn intern(&mut self, client: u64) -> u32 {
        let next = self.shape.clients.len() as u32;
        *self.client_index.entry(client).or_insert_with(|| {
            self.shape.clients.push(client);
            next
        })
    }

    /// Reads one block starting at `id`: its length in clocks, and the block unless it is a
    /// skipped range (which only advances the clock).
    fn block(&mut self, d: &mut DecoderV1, id: Id) -> Result<(u32, Option<Node>), GuardError> {
        let info = d.read_info().map_err(bad)?;
        if info == GC || info == SKIP {
            let len: u32 = d.read_var().map_err(bad)?;
            let gc = Node {
                id,
                len,
                kind: 0,
                a: NO_ID,
                b: NO_ID,
            };
            return Ok((len, (info == GC).then_some(gc)));
        }
        let mut node = Node {
            id,
            len: 0,
            kind: 3,
            a: NO_ID,
            b: NO_ID,
        };
        if info & HAS_ORIGIN != 0 {
            node.a = self.id(d)?;
        }
        if info & HAS_RIGHT_ORIGIN != 0 {
            node.b = self.id(d)?;
        }
        if info & (HAS_ORIGIN | HAS_RIGHT_ORIGIN) == 0 {
            let named_parent = d.read_var::<u32>().map_err(bad)? == 1;
            if named_parent {
                d.read_string().map_err(bad)?;
                node.kind = 1;
            } else {
                node.a = self.id(d)?;
                node.kind = 2;
            }
            if info & HAS_PARENT_SUB != 0 {
                d.read_string().map_err(bad)?;
            }
        }
        let kind = info & 0b1111;
        node.len = self.content(d, kind)?;
        if kind == TYPE {
            node.kind |= 4;
        }
        Ok((node.len, Some(node)))
    }

    fn id(&mut self, d: &mut DecoderV1) -> Result<Id, GuardError> {
        let client: u64 = d.read_var().map_err(bad)?;
        let clock: u32 = d.read_var().map_err(bad)?;
        Ok((self.intern(client), clock))
    }

    /// Skips an item's content; returns its length in clocks, as yrs counts it.
    fn content(&mut self, d: &mut DecoderV1, kind: u8) -> Result<u32, GuardError> {
        Ok(match kind {
            // Deleted: a length.
            1 => d.read_len().map_err(bad)?,
            // Obsolete JSON strings; yrs reads one more string than the count says, and so
            // must we.
            2 => {
                let count = d.read_len().map_err(bad)? as i32;
                let strings = count.saturating_add(1).max(0);
                for _ in 0..strings {
                    d.read_string().map_err(bad)?;
                }
                strings as u32
            }
            // Binary; Embed (JSON text, which yrs parses with a depth limit).
            3 => {
                d.read_buf().map_err(bad)?;
                1
            }
            5 => {
                d.read_string().map_err(bad)?;
                1
            }
            // String, counted in UTF-16 units like yrs's offsets.
            4 => {
                let s = d.read_string().map_err(bad)?;
                u32::try_from(s.encode_utf16().count()).map_err(bad)?
            }
            // Format: the attribute key, then its value as JSON text.
            6 => {
                let key = d.read_string().map_err(bad)?;
                if !self.keys.contains(key) {
                    if self.keys.len() == MAX_FORMAT_KEYS {
                        return Err(GuardError::TooManyKeys);
                    }
                    self.keys.insert(key.to_owned());
                }
                d.read_string().map_err(bad)?;
                1
            }
            // A nested type: XML elements carry a tag name.
            TYPE => {
                match d.read_type_ref().map_err(bad)? {
                    3 => {
                        d.read_string().map_err(bad)?;
                    }
                    0 | 1 | 2 | 4 | 5 | 6 | 9 | 15 => {}
                    _ => return Err(GuardError::Malformed),
                }
                1
            }
            // Any values.
            8 => {
                let count = d.read_len().map_err(bad)?;
                for _ in 0..count {
                    skip_any(d)?;
                }
                count
            }
            // A subdocument: its guid, then its options.
            9 => {
                d.read_string().map_err(bad)?;
                skip_any(d)?;
                1
            }
            _ => return Err(GuardError::Malformed),
        })
    }
}

/// Skips one lib0 `Any` value without recursion, refusing nesting beyond [`MAX_NESTING`].
fn skip_any(d: &mut DecoderV1) -> Result<(), GuardError> {
    // Open containers: values still to skip in each, and whether each value has a key first.
    let mut open: Vec<(usize, bool)> = vec![(1, false)];
    while let Some((remaining, keyed)) = open.last_mut() {
        if *remaining == 0 {
            open.pop();
            continue;
        }
        *remaining -= 1;
        if *keyed {
            d.read_string().map_err(bad)?;
        }
        let container = match d.read_u8().map_err(bad)? {
            // undefined, null, false, true
            127 | 126 | 121 | 120 => None,
            125 => {
                let _: i64 = d.read_var().map_err(bad)?;
                None
            }
            124 => {
                d.read_exact(4).map_err(bad)?;
                None
            }
            123 | 122 => {
                d.read_exact(8).map_err(bad)?;
                None
            }
            119 => {
                d.read_string().map_err(bad)?;
                None
            }
            118 => Some((d.read_var::<usize>().map_err(bad)?, true)),
            117 => Some((d.read_var::<usize>().map_err(bad)?, false)),
            116 => {
                d.read_buf().map_err(bad)?;
                None
            }
            _ => return Err(GuardError::Malformed),
        };
        if let Some(container) = container {
            if open.len() > MAX_NESTING {
                return Err(GuardError::TooDeep);
            }
            open.push(container);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use yrs::types::Attrs;
    use yrs::updates::decoder::Decode;
    use yrs::{Any, Array, Doc, ReadTxn, StateVector, Text, Transact};

    /// The walk alone, on a whole document (types' depth is the nesting record's test).
    fn check(update: &[u8]) -> Result<(), GuardError> {
        document_shape(update).map(drop)
    }

    /// A v1 update with one client, one root-level item of Any content holding `value`.
    fn any_update(value: &[u8]) -> Vec<u8> {
        let mut bytes = vec![1, 1, 1, 0, 8, 1, 1, b'x', 1];
        bytes.extend_from_slice(value);
        bytes.push(0);
        bytes
    }

    /// A formatted pad's snapshot.
    fn rich_snapshot() -> Vec<u8> {
        let doc = Doc::with_client_id(1);
        let text = doc.get_or_insert_text("content");
        let mut txn = doc.transact_mut();
        text.insert(&mut txn, 0, "Title\nbody text été 漢字\n");
        text.format(
            &mut txn,
            0,
            5,
            [("bold".into(), Any::from(true))].into_iter().collect(),
        );
        text.format(
            &mut txn,
            5,
            1,
            [("header".into(), Any::from(1.0))].into_iter().collect(),
        );
        txn.encode_state_as_update_v1(&StateVector::default())
    }

    #[test]
    fn real_documents_pass() {
        check(&rich_snapshot()).expect("rich pad");
        check(
            &Doc::new()
                .transact()
                .encode_state_as_update_v1(&StateVector::default()),
        )
        .expect("empty pad");
        // Every content kind yrs writes: arrays of any values, nested types, embeds, binary.
        let doc = Doc::with_client_id(9);
        let array = doc.get_or_insert_array("a");
        let text = doc.get_or_insert_text("content");
        {
            let mut txn = doc.transact_mut();
            array.insert(&mut txn, 0, Any::from(vec![Any::from(1.5), Any::Null]));
            array.insert(&mut txn, 1, vec![1u8, 2, 3]);
            array.insert(&mut txn, 2, yrs::MapPrelim::from([("k", "v")]));
            array.insert(&mut txn, 3, yrs::XmlElementPrelim::empty("p"));
            text.insert(&mut txn, 0, "x");
            text.insert_embed(&mut txn, 1, Any::from(vec![Any::from(true)]));
            text.remove_range(&mut txn, 0, 1);
        }
        let update = doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        check(&update).expect("every content kind");
    }

    #[test]
    fn deep_nesting_is_refused_before_yrs_sees_it() {
        let mut nested = Vec::new();
        for _ in 0..100_000 {
            nested.extend([117, 1]);
        }
        nested.push(126);
        let update = any_update(&nested);
        assert!(matches!(check(&update), Err(GuardError::TooDeep)));

        let mut shallow = Vec::new();
        for _ in 0..MAX_NESTING {
            shallow.extend([118, 1, 1, b'k']);
        }
        shallow.push(126);
        check(&any_update(&shallow)).expect("nesting at the limit is fine");
        yrs::Update::decode_v1(&any_update(&shallow)).expect("and yrs agrees it is valid");
    }

    #[test]
    fn many_attribute_keys_are_refused() {
        let doc = Doc::with_client_id(3);
        let text = doc.get_or_insert_text("content");
        let mut txn = doc.transact_mut();
        text.insert(&mut txn, 0, "hello");
        for n in 0..=MAX_FORMAT_KEYS {
            let attrs: Attrs = [(format!("k{n}").into(), Any::from(true))]
                .into_iter()
                .collect();
            text.format(&mut txn, 0, 5, attrs);
        }
        let update = txn.encode_state_as_update_v1(&StateVector::default());
        assert!(matches!(check(&update), Err(GuardError::TooManyKeys)));
    }

    #[test]
    fn truncated_and_garbled_input_is_refused_not_panicked_on() {
        let good = rich_snapshot();
        for cut in 0..good.len() {
            let _ = check(&good[..cut]);
        }
        assert!(check(&good[..good.len() / 2]).is_err());
        assert!(check(&any_update(&[200])).is_err());
        assert!(
            check(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]).is_err()
        );
    }
}
