//! A throwaway PostgreSQL cluster for tests, shared by the library's conformance suite and the
//! end-to-end tests (tests/it includes this very file): Debian's `initdb` into a temporary
//! directory, `postgres` on a free 127.0.0.1 port with its socket in that directory, run as the
//! `postgres` user when the tests run as root. Local socket connections are trusted (to create
//! databases); TCP ones, which the store uses, need the password [`PASSWORD`]. One cluster per
//! test process ([`shared`]), one fresh database per test; a test that stops PostgreSQL starts
//! its own ([`Cluster::start`]). Needs nothing of the crate, so both can include it.

#![allow(dead_code)]

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

/// The superuser's name in test clusters.
pub const USER: &str = "ardoise";
/// Its password (over TCP).
pub const PASSWORD: &str = "test-secret-pw";

/// A running (or stopped) test cluster; dropping it stops PostgreSQL and removes its files.
pub struct Cluster {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
    /// The `postgres` user's (uid, gid) when the tests run as root.
    owner: Option<(u32, u32)>,
    server: Mutex<Option<Child>>,
    databases: AtomicUsize,
}

/// The directory of the newest installed PostgreSQL's programs.
fn bin_dir() -> Result<PathBuf, String> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin).ok_or_else(|| {
        "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): \
         apt-get install postgresql"
            .to_owned()
    })
}

/// The `postgres` user's (uid, gid) from /etc/passwd.
fn postgres_user() -> Result<(u32, u32), String> {
    let passwd = std::fs::read_to_string("/etc/passwd").map_err(|e| e.to_string())?;
    passwd
        .lines()
        .find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            (fields.first() == Some(&"postgres"))
                .then(|| Some((fields.get(2)?.parse().ok()?, fields.get(3)?.parse().ok()?)))?
        })
        .ok_or_else(|| "no `postgres` user to run PostgreSQL as: apt-get install postgresql".into())
}

/// Runs `cmd`, failing with its output.
fn run(cmd: &mut Command, what: &str) -> Result<(), String> {
    let out = cmd.output().map_err(|e| format!("{what}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

impl Cluster {
    /// Creates a cluster in a new temporary directory and starts it.
    pub fn start() -> Result<Cluster, String> {
        let bin = bin_dir()?;
        // SAFETY: geteuid has no preconditions and cannot fail.
        let root = unsafe { libc::geteuid() } == 0;
        let owner = if root { Some(postgres_user()?) } else { None };
        let dir = std::env::temp_dir().join(format!(
            "ardoise-pg-{}-{}",
            std::process::id(),
            NEXT_DIR.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let pwfile = dir.join("pw");
        std::fs::write(&pwfile, PASSWORD).map_err(|e| e.to_string())?;
        if let Some((uid, gid)) = owner {
            for path in [&dir, &pwfile] {
                std::os::unix::fs::chown(path, Some(uid), Some(gid)).map_err(|e| e.to_string())?;
            }
        }
        let cluster = Cluster {
            port: free_port()?,
            dir,
            bin,
            owner,
            server: Mutex::new(None),
            databases: AtomicUsize::new(0),
        };
        let mut initdb = cluster.command("initdb");
        initdb
            .arg("-D")
            .arg(cluster.dir.join("data"))
            .args(["-U", USER, "-E", "UTF8", "--no-locale", "--no-sync"])
            .args(["--auth-local=trust", "--auth-host=scram-sha-256"])
            .arg(format!("--pwfile={}", pwfile.display()));
        run(&mut initdb, "initdb")?;
        cluster.launch()?;
        Ok(cluster)
    }

    /// A command running PostgreSQL's program `name` as the cluster's owner.
    fn command(&self, name: &str) -> Command {
        let mut cmd = Command::new(self.bin.join(name));
        if let Some((uid, gid)) = self.owner {
            cmd.uid(uid).gid(gid);
        }
        cmd.current_dir(&self.dir).stdin(Stdio::null());
        cmd
    }

    /// Starts `postgres` and waits until it accepts connections.
    fn launch(&self) -> Result<(), String> {
        let log = std::fs::File::create(self.dir.join("log")).map_err(|e| e.to_string())?;
        let err = log.try_clone().map_err(|e| e.to_string())?;
        let child = self
            .command("postgres")
            .arg("-D")
            .arg(self.dir.join("data"))
            .arg("-p")
            .arg(self.port.to_string())
            .arg("-k")
            .arg(&self.dir)
            .args(["-c", "listen_addresses=127.0.0.1", "-c", "fsync=on"])
            .stdout(log)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("postgres: {e}"))?;
        *self.server.lock().unwrap_or_else(PoisonError::into_inner) = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ready = Command::new(self.bin.join("pg_isready"))
                .args(["-q", "-h", "127.0.0.1", "-p", &self.port.to_string()])
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                return Ok(());
            }
            let exited = self
                .server
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .as_mut()
                .is_some_and(|c| c.try_wait().ok().flatten().is_some());
            if exited || Instant::now() > deadline {
                let log = std::fs::read_to_string(self.dir.join("log")).unwrap_or_default();
                return Err(format!("PostgreSQL did not start: {log}"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops PostgreSQL (a fast shutdown: clients are disconnected) and waits for it.
    pub fn stop(&self) {
        let child = self
            .server
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(mut child) = child {
            let stopped = self
                .command("pg_ctl")
                .arg("-D")
                .arg(self.dir.join("data"))
                .args(["stop", "-m", "fast", "-w"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if !stopped {
                drop(child.kill());
            }
            drop(child.wait());
        }
    }

    /// Starts PostgreSQL again on the same port and files.
    pub fn restart(&self) {
        if let Err(e) = self.launch() {
            panic!("{e}");
        }
    }

    /// The URL of database `db` over TCP, with the password.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://{USER}:{PASSWORD}@127.0.0.1:{}/{db}", self.port)
    }

    /// The TCP port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Creates a new, empty database and returns its URL.
    pub fn fresh_url(&self) -> String {
        let n = self.databases.fetch_add(1, Ordering::Relaxed);
        let db = format!("t{n}");
        let created = run(
            Command::new(self.bin.join("createdb"))
                .arg("-h")
                .arg(&self.dir)
                .args(["-p", &self.port.to_string(), "-U", USER, &db]),
            "createdb",
        );
        if let Err(e) = created {
            panic!("{e}");
        }
        self.url(&db)
    }

    /// The cluster's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
        drop(std::fs::remove_dir_all(&self.dir));
    }
}

/// Numbers the clusters of one process.
static NEXT_DIR: AtomicUsize = AtomicUsize::new(0);

/// A port nothing listens on now.
fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}

static SHARED: OnceLock<Result<Cluster, String>> = OnceLock::new();

/// Stops the shared cluster when the test process exits (a static is never dropped).
extern "C" fn stop_shared() {
    if let Some(Ok(cluster)) = SHARED.get() {
        cluster.stop();
        drop(std::fs::remove_dir_all(&cluster.dir));
    }
}

/// The test process's cluster, started on first use; fails the test, naming the package to
/// install, when PostgreSQL is missing.
pub fn shared() -> &'static Cluster {
    let cluster = SHARED.get_or_init(|| {
        let cluster = Cluster::start();
        if cluster.is_ok() {
            // SAFETY: registers a plain function without arguments, which only stops the
            // cluster and removes its directory.
            unsafe { libc::atexit(stop_shared) };
        }
        cluster
    });
    match cluster {
        Ok(cluster) => cluster,
        Err(e) => panic!("{e}"),
    }
}
