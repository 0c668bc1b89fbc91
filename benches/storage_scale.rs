//! Storage at scale (issues 8 and 22): stores many small pads directly through the `Store` of
//! one engine (redb, sled or PostgreSQL), then measures what must not grow with them: the
//! release server's startup time (spawn until its `listening on` line) and its memory after
//! start; and what should be proportional: disk per pad, the start after a crash and how fast
//! the sweeper erases pads whose lifetime is over.
//!
//! ```sh
//! cargo bench --bench storage_scale -- --pads 1000000 --expired 100000 --dir /tmp/ardoise-scale
//! cargo bench --bench storage_scale -- --store sled --pads 100000 --expired 10000
//! cargo bench --bench storage_scale -- --store postgres --pads 100000 --expired 10000
//! ```
//! The data directory is removed first and kept afterwards (delete it yourself). PostgreSQL is
//! a throwaway cluster the bench starts (as the tests do: Debian's `postgresql`), removed at
//! the end; its pads are stored by 8 threads at once, the embedded engines' by one.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ardoise::config::store_url::StoreUrl;
use ardoise::config::Config;
use ardoise::doc::lifetime::Lifetime;
use ardoise::doc::meta::{DocMeta, Kind, NewDoc};
use ardoise::doc::secret::CreatorSecret;
use ardoise::service::sweeper::Sweeper;
use ardoise::store::Store;
use ardoise::sync::clock::Clock;
use ardoise::sync::hub::Hub;
use tokio_util::sync::CancellationToken;
use yrs::{Doc, ReadTxn, StateVector, Text, Transact};

/// The test PostgreSQL cluster, the very file the conformance suite and tests/it use.
#[path = "../src/store/postgres/test_cluster.rs"]
mod pg_cluster;

const DAY: u64 = 86_400;
/// Threads storing pads into PostgreSQL (one round trip each at a time otherwise).
const PG_WRITERS: usize = 8;

/// The engine measured.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Engine {
    Redb,
    Sled,
    Postgres,
}

struct Args {
    pads: usize,
    expired: usize,
    dir: PathBuf,
    engine: Engine,
}

fn args() -> Args {
    let mut out = Args {
        pads: 100_000,
        expired: 10_000,
        dir: std::env::temp_dir().join("ardoise-storage-scale"),
        engine: Engine::Redb,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--pads" => out.pads = it.next().and_then(|v| v.parse().ok()).expect("--pads N"),
            "--expired" => {
                out.expired = it.next().and_then(|v| v.parse().ok()).expect("--expired N")
            }
            "--dir" => out.dir = it.next().map(PathBuf::from).expect("--dir PATH"),
            "--store" => {
                out.engine = match it.next().as_deref() {
                    Some("redb") => Engine::Redb,
                    Some("sled") => Engine::Sled,
                    Some("postgres") => Engine::Postgres,
                    _ => panic!("--store redb|sled|postgres"),
                }
            }
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

/// The `--store` URL of `engine` for data directory `dir` (`postgres`: the database URL).
fn store_url(engine: Engine, dir: &Path, postgres: Option<&str>) -> String {
    match engine {
        Engine::Redb => format!("redb:{}", dir.join("ardoise.redb").display()),
        Engine::Sled => format!("sled:{}", dir.join("sled").display()),
        Engine::Postgres => postgres.expect("a database").to_owned(),
    }
}

fn open(url: &str, dir: &Path) -> Arc<dyn Store> {
    let url: StoreUrl = url.parse().expect("store URL");
    ardoise::store::open_engine(&url, dir, 64 << 20, Duration::from_millis(100))
        .expect("open store")
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

fn fill(store: &dyn Store, pads: usize, expired: usize, writers: usize) {
    let start = Instant::now();
    std::thread::scope(|scope| {
        for w in 0..writers {
            let range = (w..pads).step_by(writers);
            scope.spawn(move || store_pads(store, range, expired, start));
        }
    });
    // Written as this version writes, expiry index included: nothing for the one-time
    // migration of older databases to do at the server's start.
    store
        .mark_done(ardoise::store::migrate::EXPIRY_INDEX)
        .expect("mark migrated");
    store.flush().expect("flush");
    println!(
        "stored {pads} pads ({expired} already expired, {writers} writer(s)) in {:.1?}",
        start.elapsed()
    );
}

/// Stores the pads numbered `range` (the first `expired` of all due for erasure).
fn store_pads(
    store: &dyn Store,
    range: impl Iterator<Item = usize>,
    expired: usize,
    start: Instant,
) {
    let now = Clock::system().now();
    let lifetime = Lifetime::After(60 * DAY);
    for i in range {
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
            eprintln!("  stored pad {} after {:.1?}", i + 1, start.elapsed());
        }
    }
}

/// Starts the release binary on `dir` and stops it with `signal` (`TERM`, or `KILL` for a
/// crash); returns (time to its `listening on` line, RSS after 2 s, time to serve one pad page).
fn start_server(dir: &Path, store: &str, signal: &str) -> (Duration, u64, Duration) {
    let start = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ardoise"))
        .args(["--listen", "127.0.0.1:0", "--data"])
        .arg(dir)
        .args(["--store", store])
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

fn sweep(store: Arc<dyn Store>, expired: usize) {
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

/// Bytes the database of `url` takes in PostgreSQL (`pg_database_size`: tables, indexes and
/// their TOAST, not the write-ahead log).
fn postgres_bytes(cluster: &pg_cluster::Cluster, url: &str) -> u64 {
    let db = url.rsplit('/').next().expect("database name");
    let psql = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL installed")
        .flatten()
        .map(|e| e.path().join("bin/psql"))
        .find(|p| p.exists())
        .expect("psql");
    let out = Command::new(psql)
        .arg("-h")
        .arg(cluster.dir())
        .args([
            "-p",
            &cluster.port().to_string(),
            "-U",
            pg_cluster::USER,
            "-At",
            "-c",
        ])
        .arg(format!("SELECT pg_database_size('{db}')"))
        .arg(db)
        .output()
        .expect("psql runs");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("a size")
}

fn main() {
    let Args {
        pads,
        expired,
        dir,
        engine,
    } = args();
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("data dir");
    let cluster = (engine == Engine::Postgres)
        .then(|| pg_cluster::Cluster::start().expect("PostgreSQL starts"));
    let db = cluster.as_ref().map(pg_cluster::Cluster::fresh_url);
    let url = store_url(engine, &dir, db.as_deref());
    let shown = db
        .as_ref()
        .map_or(url.as_str(), |_| "a fresh PostgreSQL database");
    println!(
        "storage scale: {pads} pads in {shown} (data directory {})",
        dir.display()
    );
    {
        let store = open(&url, &dir);
        let writers = if engine == Engine::Postgres {
            PG_WRITERS
        } else {
            1
        };
        fill(store.as_ref(), pads, expired, writers);
    }
    let disk = match &cluster {
        Some(cluster) => postgres_bytes(cluster, &url),
        None => disk_bytes(&dir),
    };
    println!(
        "disk: {:.1} MiB = {} bytes per pad",
        disk as f64 / (1 << 20) as f64,
        disk / pads.max(1) as u64
    );
    // Two clean starts, then one killed, so the fourth start recovers from a crash.
    for (run, signal) in [(1, "TERM"), (2, "TERM"), (3, "KILL"), (4, "TERM")] {
        let (startup, rss, page) = start_server(&dir, &url, signal);
        let after = if run == 4 { " (after a crash)" } else { "" };
        println!(
            "server start #{run}{after}: listening after {startup:.1?}, RSS {:.1} MiB after 2 s, \
             first pad page in {page:.1?}",
            rss as f64 / 1024.0
        );
    }
    let store = open(&url, &dir);
    sweep(store.clone(), expired);
    drop(store);
    if let Some(cluster) = cluster {
        cluster.stop();
    }
}
