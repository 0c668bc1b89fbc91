//! Checks an encoded update (a client's message or a whole snapshot) before yrs decodes it, for
//! the two shapes of input on which yrs itself is not safe to run:
//!
//! - **Deeply nested values.** yrs decodes lib0 `Any` values recursively, without a depth
//!   limit: a few tens of kilobytes of nested arrays overflow the thread's stack, which aborts
//!   the process (`catch_unwind` cannot help).
//! - **Many distinct formatting attributes.** Reading the text clones the set of active
//!   attributes for every chunk of text, so time grows as chunks × attributes: a megabyte of
//!   hostile update with a thousand attribute keys takes minutes. With the number of distinct
//!   keys bounded, reading stays linear.
//!
//! The walk mirrors yrs's v1 update decoding (`Update::decode`, `ItemContent::decode`) using
//! yrs's own primitive readers, and skips values iteratively. Anything it cannot read, yrs
//! would not read either.

use std::collections::HashSet;

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
}

/// More distinct formatting attribute keys than this are refused. The pad schema uses seven;
/// Quill knows about twenty.
pub const MAX_FORMAT_KEYS: usize = 64;

/// Values nested deeper than this are refused. The pad schema nests two levels.
pub const MAX_NESTING: usize = 64;

/// The v1 block reference numbers (yrs `block::BLOCK_*_REF_NUMBER`).
const GC: u8 = 0;
const SKIP: u8 = 10;
const HAS_ORIGIN: u8 = 0b1000_0000;
const HAS_RIGHT_ORIGIN: u8 = 0b0100_0000;
const HAS_PARENT_SUB: u8 = 0b0010_0000;

/// Refuses updates yrs cannot be trusted with; accepts everything else yrs can decode.
pub fn check(update: &[u8]) -> Result<(), GuardError> {
    let mut d = DecoderV1::from(update);
    let mut keys = HashSet::new();
    // Every loop below consumes at least one byte per round or fails at the end of the input,
    // so hostile counts cannot make the walk longer than the input.
    let clients: u32 = d.read_var().map_err(bad)?;
    for _ in 0..clients {
        let blocks: u32 = d.read_var().map_err(bad)?;
        // The client as a plain number: yrs's `ClientID` asserts on out-of-range values.
        let _client: u64 = d.read_var().map_err(bad)?;
        let _clock: u32 = d.read_var().map_err(bad)?;
        for _ in 0..blocks {
            block(&mut d, &mut keys)?;
        }
    }
    // The delete set that follows is flat numbers, which yrs reads without recursion.
    Ok(())
}

fn bad<E>(_: E) -> GuardError {
    GuardError::Malformed
}

fn block(d: &mut DecoderV1, keys: &mut HashSet<String>) -> Result<(), GuardError> {
    let info = d.read_info().map_err(bad)?;
    if info == GC || info == SKIP {
        let _len: u32 = d.read_var().map_err(bad)?;
        return Ok(());
    }
    if info & HAS_ORIGIN != 0 {
        id(d)?;
    }
    if info & HAS_RIGHT_ORIGIN != 0 {
        id(d)?;
    }
    if info & (HAS_ORIGIN | HAS_RIGHT_ORIGIN) == 0 {
        let named_parent = d.read_var::<u32>().map_err(bad)? == 1;
        if named_parent {
            d.read_string().map_err(bad)?;
        } else {
            id(d)?;
        }
        if info & HAS_PARENT_SUB != 0 {
            d.read_string().map_err(bad)?;
        }
    }
    content(d, info & 0b1111, keys)
}

fn id(d: &mut DecoderV1) -> Result<(), GuardError> {
    let _client: u64 = d.read_var().map_err(bad)?;
    let _clock: u32 = d.read_var().map_err(bad)?;
    Ok(())
}

fn content(d: &mut DecoderV1, kind: u8, keys: &mut HashSet<String>) -> Result<(), GuardError> {
    match kind {
        // Deleted: a length.
        1 => {
            d.read_len().map_err(bad)?;
        }
        // Obsolete JSON strings; yrs reads one more string than the count says, and so must we.
        2 => {
            let count = d.read_len().map_err(bad)? as i32;
            for _ in 0..count.saturating_add(1).max(0) {
                d.read_string().map_err(bad)?;
            }
        }
        // Binary; String; Embed (JSON text, which yrs parses with a depth limit).
        3 => {
            d.read_buf().map_err(bad)?;
        }
        4 | 5 => {
            d.read_string().map_err(bad)?;
        }
        // Format: the attribute key, then its value as JSON text.
        6 => {
            let key = d.read_string().map_err(bad)?;
            if !keys.contains(key) {
                if keys.len() == MAX_FORMAT_KEYS {
                    return Err(GuardError::TooManyKeys);
                }
                keys.insert(key.to_owned());
            }
            d.read_string().map_err(bad)?;
        }
        // A nested type: XML elements carry a tag name.
        7 => match d.read_type_ref().map_err(bad)? {
            3 => {
                d.read_string().map_err(bad)?;
            }
            0 | 1 | 2 | 4 | 5 | 6 | 9 | 15 => {}
            _ => return Err(GuardError::Malformed),
        },
        // Any values.
        8 => {
            for _ in 0..d.read_len().map_err(bad)? {
                skip_any(d)?;
            }
        }
        // A subdocument: its guid, then its options.
        9 => {
            d.read_string().map_err(bad)?;
            skip_any(d)?;
        }
        _ => return Err(GuardError::Malformed),
    }
    Ok(())
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
