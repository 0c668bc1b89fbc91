//! Storage at scale (issue 8): stores many small pads directly through the `Store`, then
//! measures what must not grow with them: the release server's startup time (spawn until its
//! `listening on` line) and its memory after start; and what should be proportional: disk per
//! pad, the start after a crash (which repairs the database file) and how fast the sweeper
//! erases pads whose lifetime is over.
//!
//! ```sh
//! cargo bench --bench storage_scale -- --pads 1000000 --expired 100000 --dir /tmp/ardoise-scale
//! ```
//! The data directory is removed first and kept afterwards (delete it yourself).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ardoise::config::Config;
use ardoise::doc::lifetime::Lifetime;
use ardoise::doc::meta::{DocMeta, Kind, NewDoc};
use ardoise::doc::secret::CreatorSecret;
use ardoise::service::sweeper::Sweeper;
use ardoise::store::{RedbStore, Store};
use ardoise::sync::clock::Clock;
use ardoise::sync::hub::Hub;
use tokio_util::sync::CancellationToken;
use yrs::{Doc, ReadTxn, StateVector, Text, Transact};

const DAY: u64 = 86_400;

struct Args {
    pads: usize,
    expired: usize,
    dir: PathBuf,
}

fn args() -> Args {
    let mut out = Args {
        pads: 100_000,
        expired: 10_000,
        dir: std::env::temp_dir().join("ardoise-storage-scale"),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--pads" => out.pads = it.next().and_then(|v| v.parse().ok()).expect("--pads N"),
            "--expired" => {
                out.expired = it.next().and_then(|v| v.parse().ok()).expect("--expired N")
            }
            "--dir" => out.dir = it.next().map(PathBuf::from).expect("--dir PATH"),
            _ => {} // `cargo bench` adds `--bench`
        }
    }
    out.expired = out.expired.min(out.pads);
    out
}

/// A small pad as the browser writes it: a few sentences in `content`.
fn small_pad(i: usize) -> Vec<u8> {
    let doc = Doc::with_client_id(i as u64 + 1);
    let text = doc.get_or_insert_text("content");
    text.insert(
        &mut doc.transact_mut(),
        0,
        &format!(
            "Pad {i}: notes of the meeting, a list of things to bring, and who brings them.\n"
        ),
    );
    let snapshot = doc
        .transact()
        .encode_state_as_update_v1(&StateVector::default());
    snapshot
}

fn open(dir: &Path) -> RedbStore {
    ardoise::store::open(dir, 64 << 20, Duration::from_millis(100)).expect("open store")
}

/// Bytes the files under `dir` occupy on disk (allocated blocks).
fn disk_bytes(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let mut total = 0;
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let meta = entry.metadata().expect("metadata");
        total += if meta.is_dir() {
            disk_bytes(&entry.path())
        } else {
            meta.blocks() * 512
        };
    }
    total
}

fn fill(store: &RedbStore, pads: usize, expired: usize) {
    let now = Clock::system().now();
    let lifetime = Lifetime::After(60 * DAY);
    let start = Instant::now();
    for i in 0..pads {
        let name = format!("pad-{i:07}");
        // The first `expired` pads were last edited 61 days ago: due for erasure.
        let edited = if i < expired { now - 61 * DAY } else { now };
        let meta = DocMeta::new(
            NewDoc {
                kind: Kind::Pad,
                lifetime,
                creator: Some(CreatorSecret::generate().hash()),
                provisional: false,
            },
            edited,
        );
        store
            .put_token(meta.read_token.as_str(), &name)
            .expect("token");
        store
            .put_meta(&name, &meta.to_bytes(), meta.expires_at())
            .expect("meta");
        store.checkpoint(&name, &small_pad(i), 0).expect("snapshot");
        if (i + 1) % 100_000 == 0 {
            eprintln!("  stored {} pads in {:.1?}", i + 1, start.elapsed());
        }
    }
    // Written as this version writes, expiry index included: nothing for the one-time
    // migration of older databases to do at the server's start.
    store
        .mark_done(ardoise::store::migrate::EXPIRY_INDEX)
        .expect("mark migrated");
    store.flush().expect("flush");
    println!(
        "stored {pads} pads ({expired} already expired) in {:.1?}",
        start.elapsed()
    );
}

/// Starts the release binary on `dir` and stops it with `signal` (`TERM`, or `KILL` for a
/// crash); returns (time to its `listening on` line, RSS after 2 s, time to serve one pad page).
fn start_server(dir: &Path, signal: &str) -> (Duration, u64, Duration) {
    let start = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ardoise"))
        .args(["--listen", "127.0.0.1:0", "--data"])
        .arg(dir)
        .args(["--shedding-mode", "open", "--retention-sweep-secs", "86400"])
        .env("ARDOISE_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("server starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("first line");
    let startup = start.elapsed();
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .expect("listening line")
        .to_owned();
    std::thread::sleep(Duration::from_secs(2));
    let rss = std::fs::read_to_string(format!("/proc/{}/status", child.id()))
        .expect("status")
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .expect("VmRSS");
    let asked = Instant::now();
    let status = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}"])
        .arg(format!("http://{addr}/p/pad-{:07}", 1))
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let first_page = asked.elapsed();
    assert!(status == "200" || status.is_empty(), "page status {status}");
    let _ = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status();
    let _ = child.wait();
    (startup, rss, first_page)
}

fn sweep(dir: &Path, expired: usize) {
    let store: Arc<dyn Store> = Arc::new(open(dir));
    let config = Config::load_from(["ardoise", "--unload-grace-secs", "0"]).expect("config");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let shutdown = CancellationToken::new();
        let hub = Arc::new(Hub::new(store.clone(), &config, shutdown.clone()));
        let sweeper = Sweeper {
            hub: hub.clone(),
            store: store.clone(),
            clock: Clock::system(),
            archive: None,
        };
        let start = Instant::now();
        let pass = sweeper.pass(&shutdown).await;
        let took = start.elapsed();
        println!(
            "sweep: erased {} of {expired} expired pads in {took:.1?} = {:.0} pads/s (kept {}, failed {})",
            pass.erased,
            pass.erased as f64 / took.as_secs_f64(),
            pass.kept,
            pass.failed
        );
        let left = store.expired(u64::MAX / 2, None, usize::MAX).map(|d| d.len());
        println!("index entries left (all pads not yet due): {left:?}");
        shutdown.cancel();
        hub.wait_stopped().await;
    });
    store.flush().expect("flush");
}

fn main() {
    let Args { pads, expired, dir } = args();
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("data dir");
    println!("storage scale: {pads} pads in {}", dir.display());
    {
        let store = open(&dir);
        fill(&store, pads, expired);
    }
    let disk = disk_bytes(&dir);
    println!(
        "disk: {:.1} MiB = {} bytes per pad",
        disk as f64 / (1 << 20) as f64,
        disk / pads.max(1) as u64
    );
    // Two clean starts, then one killed, so the fourth start repairs the database first.
    for (run, signal) in [(1, "TERM"), (2, "TERM"), (3, "KILL"), (4, "TERM")] {
        let (startup, rss, page) = start_server(&dir, signal);
        let after = if run == 4 { " (after a crash)" } else { "" };
        println!(
            "server start #{run}{after}: listening after {startup:.1?}, RSS {:.1} MiB after 2 s, \
             first pad page in {page:.1?}",
            rss as f64 / 1024.0
        );
    }
    sweep(&dir, expired);
}
