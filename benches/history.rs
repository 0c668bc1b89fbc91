//! What keeping history costs (issue 20), on a real editing trace: Martin Kleppmann's
//! automerge-paper trace (259,778 single-character edits writing a LaTeX paper;
//! benches/traces/README.md), typed into a pad through a real room (`Hub::apply`), one edit per
//! log entry as a typist's ticks make them. Measures the database after the trace with history
//! kept, per keystroke, against what the same text costs without history (its one checkpoint);
//! and the time to rebuild a revision in the middle of a 100,000-update log (what a history
//! preview or export pays before rendering).
//!
//! ```sh
//! cargo bench --bench history            # the whole trace
//! cargo bench --bench history -- --edits 120000
//! ```

use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ardoise::config::Config;
use ardoise::doc::history::rebuild;
use ardoise::doc::lifetime::Lifetime;
use ardoise::doc::meta::{DocMeta, Kind, NewDoc};
use ardoise::doc::name::DocName;
use ardoise::store::{RedbStore, Store};
use ardoise::sync::hub::Hub;
use ardoise::sync::room::Applied;
use tokio_util::sync::CancellationToken;
use yrs::{Doc, GetString, ReadTxn, StateVector, Text, Transact};

/// The trace, gzipped JSON: `{"txns": [{"patches": [[pos, deleted, inserted]]}], "endContent"}`.
const TRACE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/benches/traces/automerge-paper.json.gz"
);

/// The rebuild is timed in the middle of a log this long.
const LOG_FOR_REBUILD: usize = 100_000;

/// Rebuilds timed (the median and the slowest are reported).
const REBUILDS: usize = 21;

#[derive(serde::Deserialize)]
struct Trace {
    txns: Vec<Txn>,
    #[serde(rename = "endContent")]
    end_content: String,
}

#[derive(serde::Deserialize)]
struct Txn {
    patches: Vec<(u32, u32, String)>,
}

fn trace() -> Trace {
    let file = std::fs::File::open(TRACE).expect("the trace (benches/traces)");
    let mut json = String::new();
    flate2::read::GzDecoder::new(file)
        .read_to_string(&mut json)
        .expect("gunzip the trace");
    serde_json::from_str(&json).expect("parse the trace")
}

fn edits_arg() -> Option<usize> {
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        if arg == "--edits" {
            return it.next().and_then(|v| v.parse().ok());
        }
    }
    None
}

/// Bytes the files under `dir` take (their lengths).
fn file_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .expect("read dir")
        .flatten()
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum()
}

fn open(dir: &Path) -> RedbStore {
    ardoise::store::open(dir, 64 << 20, Duration::from_millis(100)).expect("open store")
}

fn new_pad() -> NewDoc {
    NewDoc {
        kind: Kind::Pad,
        lifetime: Lifetime::After(365 * 86_400),
        creator: None,
        provisional: false,
    }
}

/// The median and the slowest of `REBUILDS` rebuilds of `name` as of entry `rev`, and the
/// rebuilt text's length.
fn time_rebuilds(store: &dyn Store, name: &str, rev: u64) -> (Duration, Duration, usize) {
    let mut times = Vec::with_capacity(REBUILDS);
    let mut chars = 0;
    for _ in 0..REBUILDS {
        let start = Instant::now();
        let parts = store.version(name, rev).expect("version");
        let doc = rebuild(parts.snapshot.as_deref(), &parts.log).expect("rebuild");
        let state = doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        times.push(start.elapsed());
        chars = doc
            .get_or_insert_text("content")
            .get_string(&doc.transact())
            .chars()
            .count();
        std::hint::black_box(state);
    }
    times.sort();
    (times[REBUILDS / 2], times[REBUILDS - 1], chars)
}

fn main() {
    let trace = trace();
    let total: usize = trace.txns.iter().map(|t| t.patches.len()).sum();
    let edits = edits_arg().unwrap_or(total).min(total);
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("with-history");
    std::fs::create_dir_all(&data).expect("data dir");
    let store: Arc<RedbStore> = Arc::new(open(&data));
    let config = Config::load_from(["ardoise"]).expect("default configuration");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let name = DocName::parse("automerge-paper").expect("name");
    let shutdown = CancellationToken::new();
    let hub = Hub::new(store.clone(), &config, shutdown.clone());
    let typist = Doc::with_client_id(7);
    let text = typist.get_or_insert_text("content");
    // Each transaction's own update, as a Yjs client sends it (a state-vector diff would carry
    // the whole delete set every time).
    let sent = Arc::new(std::sync::Mutex::new(Vec::<Vec<u8>>::new()));
    let sink = sent.clone();
    typist
        .observe_update_v1("sent", move |_, e| {
            if let Ok(mut sent) = sink.lock() {
                sent.push(e.update.clone());
            }
        })
        .expect("observe the typist");
    let mut update_bytes = 0usize;
    let mut mid_entry = None;
    let start = Instant::now();
    rt.block_on(async {
        hub.open(&name, Some(new_pad())).await.expect("create");
        let mut done = 0;
        'typing: for txn in &trace.txns {
            for (pos, deleted, inserted) in &txn.patches {
                if done == edits {
                    break 'typing;
                }
                {
                    let mut t = typist.transact_mut();
                    if *deleted > 0 {
                        text.remove_range(&mut t, *pos, *deleted);
                    }
                    if !inserted.is_empty() {
                        text.insert(&mut t, *pos, inserted);
                    }
                }
                let update = match sent.lock() {
                    Ok(mut sent) => sent.pop().expect("the edit's update"),
                    Err(_) => panic!("the typist's observer panicked"),
                };
                update_bytes += update.len();
                let applied = hub.apply(&name, &update).await.expect("apply");
                assert_eq!(applied, Applied::Done);
                done += 1;
                if done == LOG_FOR_REBUILD / 2 {
                    mid_entry = store
                        .history(name.as_str(), None, usize::MAX)
                        .ok()
                        .and_then(|h| h.last().map(|(seq, _)| *seq));
                }
                if done % 50_000 == 0 {
                    eprintln!("  typed {done} edits in {:.1?}", start.elapsed());
                }
            }
        }
        shutdown.cancel();
        hub.wait_stopped().await;
    });
    let typed = start.elapsed();
    if edits == total {
        let final_text = text.get_string(&typist.transact());
        assert_eq!(
            final_text, trace.end_content,
            "the trace replays to its end"
        );
    }
    store.flush().expect("flush");
    let entries = store
        .history(name.as_str(), None, usize::MAX)
        .expect("history")
        .len();
    let stored = store.size(name.as_str()).expect("size");
    // The rebuild in the middle of the first 100,000 entries: its checkpoint and the log after it.
    let rebuild_times = mid_entry
        .filter(|_| edits >= LOG_FOR_REBUILD)
        .map(|rev| time_rebuilds(&*store, name.as_str(), rev));
    drop(hub);
    drop(store);
    let with_history = file_bytes(&data);

    // The same text without history: its metadata and one checkpoint of the final state, what
    // the server kept before issue 20 once the log was compacted.
    let bare = dir.path().join("without-history");
    std::fs::create_dir_all(&bare).expect("data dir");
    let final_state = typist
        .transact()
        .encode_state_as_update_v1(&StateVector::default());
    {
        let store = open(&bare);
        let meta = DocMeta::new(new_pad(), 0);
        store
            .put_meta(name.as_str(), &meta.to_bytes(), meta.expires_at())
            .expect("meta");
        store
            .checkpoint(name.as_str(), &final_state, 0)
            .expect("checkpoint");
        store.flush().expect("flush");
    }
    let without_history = file_bytes(&bare);

    println!("automerge-paper trace: {edits} edits typed through a room in {typed:.1?}");
    println!(
        "  updates sent: {update_bytes} bytes ({:.1} per edit); log entries kept: {entries}",
        update_bytes as f64 / edits as f64
    );
    println!(
        "  stored for the pad (Store::size): {stored} bytes; final state {} bytes",
        final_state.len()
    );
    println!(
        "  database files with history: {with_history} bytes ({:.1} per keystroke)",
        with_history as f64 / edits as f64
    );
    println!("  database files without history (one checkpoint): {without_history} bytes");
    if let Some((median, slowest, chars)) = rebuild_times {
        println!(
            "  rebuild of entry {} of {LOG_FOR_REBUILD} ({chars} characters): median {median:.1?}, slowest {slowest:.1?} of {REBUILDS}",
            LOG_FOR_REBUILD / 2
        );
    }
}
