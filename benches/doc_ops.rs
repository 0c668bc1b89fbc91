//! Criterion benchmarks of the document operations behind the hot path and the heavy requests:
//! applying an update, encoding a snapshot, compaction through storage, exporting a large pad,
//! and one log append inline vs. through the blocking pool (why rooms append inline).
//! Run with `cargo bench --bench doc_ops`; results go in BENCHMARKS.md.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use ardoise::convert::pad::{export_pad, ExportOptions, PadFormat};
use ardoise::store::{Entry, Store};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use yrs::updates::decoder::Decode;
use yrs::{Doc, ReadTxn, StateVector, Text, Transact, Update};

/// Small typing updates from one writer, as a pad sees them.
fn typing_updates(count: usize) -> Vec<Vec<u8>> {
    let doc = Doc::with_client_id(7);
    let text = doc.get_or_insert_text("content");
    (0..count)
        .map(|i| {
            let mut txn = doc.transact_mut();
            let len = text.len(&txn);
            text.insert(&mut txn, (i as u32 * 7919) % (len + 1), "abcd");
            txn.encode_update_v1()
        })
        .collect()
}

/// A pad of about `lines` × 100 characters, typed in 100-character pieces.
fn large_pad(lines: u32) -> Doc {
    let doc = Doc::with_client_id(9);
    let text = doc.get_or_insert_text("content");
    let mut txn = doc.transact_mut();
    for i in 0..lines {
        let len = text.len(&txn);
        let mut line = "lorem ipsum dolor sit amet ".repeat(4);
        line.truncate(99);
        line.push('\n');
        text.insert(&mut txn, (i * 7919) % (len + 1), &line);
    }
    drop(txn);
    doc
}

fn snapshot(doc: &Doc) -> Vec<u8> {
    doc.transact()
        .encode_state_as_update_v1(&StateVector::default())
}

fn apply(c: &mut Criterion) {
    let updates = typing_updates(2_000);
    let base = Doc::with_client_id(1);
    {
        let mut txn = base.transact_mut();
        for u in &updates[..1_999] {
            if let Ok(u) = Update::decode_v1(u) {
                let _ = txn.apply_update(u);
            }
        }
    }
    let state = snapshot(&base);
    let last = &updates[1_999];
    c.bench_function("apply one typing update to a 2,000-edit pad", |b| {
        b.iter_batched(
            || {
                let doc = Doc::with_client_id(1);
                if let Ok(u) = Update::decode_v1(&state) {
                    let _ = doc.transact_mut().apply_update(u);
                }
                doc
            },
            |doc| {
                if let Ok(u) = Update::decode_v1(black_box(last)) {
                    let _ = doc.transact_mut().apply_update(u);
                }
                doc
            },
            BatchSize::LargeInput,
        );
    });
    c.bench_function("merge 32 typing updates into one broadcast", |b| {
        b.iter(|| black_box(yrs::merge_updates_v1(black_box(&updates[..32])).ok()));
    });
}

fn encode(c: &mut Criterion) {
    let big = large_pad(10_000);
    c.bench_function("encode a snapshot of a 1 MB pad", |b| {
        b.iter(|| black_box(snapshot(&big)));
    });
}

fn compaction(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store =
        ardoise::store::open(dir.path(), 64 << 20, Duration::from_millis(100)).expect("open store");
    let big = large_pad(10_000);
    let updates = typing_updates(1_000);
    c.bench_function("checkpoint a 1 MB pad with 1,000 logged updates", |b| {
        b.iter_batched(
            || {
                let entries: Vec<Entry> = updates
                    .iter()
                    .map(|update| Entry { update, info: &[] })
                    .collect();
                store.append("pad", &entries).expect("append")
            },
            |through| {
                let snap = snapshot(&big);
                store.checkpoint("pad", &snap, through).expect("checkpoint");
            },
            BatchSize::PerIteration,
        );
    });
}

fn persist(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store: Arc<dyn Store> = Arc::new(
        ardoise::store::open(dir.path(), 64 << 20, Duration::from_millis(100)).expect("open store"),
    );
    let update = typing_updates(1).remove(0);
    c.bench_function("append one update inline", |b| {
        b.iter(|| {
            let entry = Entry {
                update: &update,
                info: &[],
            };
            store.append("pad", &[entry]).expect("append")
        });
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    c.bench_function("append one update through spawn_blocking", |b| {
        b.iter(|| {
            rt.block_on(async {
                let store = store.clone();
                let update = update.clone();
                tokio::task::spawn_blocking(move || {
                    let entry = Entry {
                        update: &update,
                        info: &[],
                    };
                    store.append("pad", &[entry])
                })
                .await
                .expect("join")
                .expect("append")
            })
        });
    });
}

fn export(c: &mut Criterion) {
    let snap = snapshot(&large_pad(5_000));
    let opts = ExportOptions::default();
    for format in [PadFormat::Txt, PadFormat::Html, PadFormat::Docx] {
        c.bench_function(&format!("export a 500 kB pad as {format}"), |b| {
            b.iter(|| black_box(export_pad(&snap, format, &opts).expect("export")));
        });
    }
}

criterion_group! {
    name = benches;
    // Quick: these document orders of magnitude, not 1 % differences.
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    targets = apply, encode, compaction, persist, export
}
criterion_main!(benches);
