//! Micro-benchmarks of the per-message server path, without sockets: parsing a frame, applying
//! a batch of small updates in one transaction, and snapshotting a large document.
//! Run with `cargo bench --bench sync_path`; results go in BENCHMARKS.md.

use std::hint::black_box;
use std::time::{Duration, Instant};

use ardoise::sync::{inbound, protocol};
use yrs::updates::decoder::Decode;
use yrs::{Doc, ReadTxn, StateVector, Text, Transact, Update};

/// Runs `f` repeatedly for about `budget` and prints the mean time per call.
fn bench(label: &str, budget: Duration, mut f: impl FnMut()) {
    f();
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < budget {
        f();
        n += 1;
    }
    let per = start.elapsed() / n.max(1) as u32;
    println!("{label:<48} {per:>12.2?} per call ({n} calls)");
}

/// Small typing updates from one writer, as a pad sees them.
fn typing_updates(count: usize) -> Vec<Vec<u8>> {
    let doc = Doc::with_client_id(7);
    let text = doc.get_or_insert_text("content");
    (0..count)
        .map(|i| {
            let mut txn = doc.transact_mut();
            let len = text.len(&txn);
            text.insert(&mut txn, (i as u32 * 7919) % (len + 1), "abc");
            txn.encode_update_v1()
        })
        .collect()
}

fn main() {
    let budget = Duration::from_secs(2);
    let updates = typing_updates(10_000);
    let frame = protocol::sync_update(&updates[500]);

    bench(
        "parse one typing frame (framing + yrs decode)",
        budget,
        || {
            black_box(inbound::parse(black_box(&frame), 16 * 1024).ok());
        },
    );

    bench("apply 10k typing updates, batches of 32", budget, || {
        let doc = Doc::new();
        for batch in updates.chunks(32) {
            let mut txn = doc.transact_mut();
            for u in batch {
                if let Ok(u) = Update::decode_v1(u) {
                    let _ = txn.apply_update(u);
                }
            }
        }
        black_box(doc);
    });

    let big = Doc::new();
    {
        let text = big.get_or_insert_text("content");
        let mut txn = big.transact_mut();
        for i in 0..10_000u32 {
            let len = text.len(&txn);
            text.insert(&mut txn, (i * 7919) % (len + 1), &"x".repeat(100));
        }
    }
    bench(
        "snapshot a 1 MB pad (encode_state_as_update_v1)",
        budget,
        || {
            black_box(
                big.transact()
                    .encode_state_as_update_v1(&StateVector::default()),
            );
        },
    );
}
