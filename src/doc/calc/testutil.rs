//! Helpers for the calc unit tests.

use yrs::updates::decoder::Decode;
use yrs::{Doc, ReadTxn, Transact, Update};

/// Exchanges what each document lacks, both ways.
pub fn sync(a: &Doc, b: &Doc) {
    let to_b = a
        .transact()
        .encode_state_as_update_v1(&b.transact().state_vector());
    let to_a = b
        .transact()
        .encode_state_as_update_v1(&a.transact().state_vector());
    b.transact_mut()
        .apply_update(Update::decode_v1(&to_b).unwrap())
        .unwrap();
    a.transact_mut()
        .apply_update(Update::decode_v1(&to_a).unwrap())
        .unwrap();
}
