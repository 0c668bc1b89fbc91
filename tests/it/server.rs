//! Starts the real `ardoise` binary, by default on port 0 with a temporary data directory, and
//! reads its first stdout line for the address, as any script would. `TestServer::builder()` is
//! the one way to start it; the `TestServer` it returns reads the server's logs and speaks HTTP.

use std::net::SocketAddr;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio::sync::watch;

/// The server binary Cargo built for this test run.
pub const BINARY: &str = env!("CARGO_BIN_EXE_ardoise");

/// Longest wait for anything a test expects to happen; reaching it fails the test.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// How to start a server, ripgrep's `TestCommand` style: every setting has a default and
/// `start` runs the binary, e.g. `TestServer::builder().args(&["--sync"]).start().await`.
///
/// Load shedding is forced open unless the arguments set `--shedding-mode`: the suite itself
/// loads the machine, and only the shedding tests are about refusing new documents.
#[derive(Clone)]
pub struct Builder {
    args: Vec<String>,
    data: Option<Arc<TempDir>>,
    listen: String,
    log: Option<String>,
    store: Option<String>,
}

impl Builder {
    /// Adds command-line arguments (after `--listen` and `--data`).
    pub fn args(mut self, args: &[&str]) -> Self {
        self.args.extend(args.iter().map(|a| a.to_string()));
        self
    }

    /// Runs on an existing data directory (default: a fresh temporary one).
    pub fn data(mut self, data: Arc<TempDir>) -> Self {
        self.data = Some(data);
        self
    }

    /// Stores documents with the engine `scheme` (`sled`, `redb`) in `DATA/store`, through
    /// `--store` (default: no `--store`, so the default engine in the data directory).
    pub fn store(mut self, scheme: &str) -> Self {
        self.store = Some(scheme.to_owned());
        self
    }

    /// Listens on `addr` (default `127.0.0.1:0`).
    pub fn listen(mut self, addr: &str) -> Self {
        self.listen = addr.to_owned();
        self
    }

    /// Sets `ARDOISE_LOG` to `filter`, or with `None` leaves it unset so the binary's default
    /// level applies (default `info,ardoise=debug`, which the log-reading helpers rely on).
    pub fn log(mut self, filter: Option<&str>) -> Self {
        self.log = filter.map(str::to_owned);
        self
    }

    /// Starts the binary and waits for its first stdout line, which holds the address.
    pub async fn start(mut self) -> TestServer {
        if !self.args.iter().any(|a| a == "--shedding-mode") {
            self.args.extend(["--shedding-mode".into(), "open".into()]);
        }
        let data = self
            .data
            .get_or_insert_with(|| Arc::new(tempfile::tempdir().expect("temp dir")))
            .clone();
        let mut command = Command::new(BINARY);
        command
            .arg("--listen")
            .arg(&self.listen)
            .arg("--data")
            .arg(data.path())
            .args(&self.args);
        if let Some(scheme) = &self.store {
            command
                .arg("--store")
                .arg(format!("{scheme}:{}", data.path().join("store").display()));
        }
        match &self.log {
            Some(filter) => command.env("ARDOISE_LOG", filter),
            None => command.env_remove("ARDOISE_LOG"),
        };
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("server binary starts");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout piped")).lines();
        let first = tokio::time::timeout(PATIENCE, stdout.next_line())
            .await
            .expect("server prints its address in time")
            .expect("stdout readable")
            .expect("server printed a first line");
        let addr = first
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
            .parse()
            .expect("first line holds an address");
        tokio::spawn(async move { while let Ok(Some(_)) = stdout.next_line().await {} });
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (count_tx, log_count) = watch::channel(0);
        let mut stderr = BufReader::new(child.stderr.take().expect("stderr piped")).lines();
        let sink = logs.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = stderr.next_line().await {
                let n = {
                    let mut logs = sink.lock().expect("log lock");
                    logs.push(line);
                    logs.len()
                };
                let _ = count_tx.send(n);
            }
        });
        TestServer {
            child,
            addr,
            data,
            builder: self,
            logs,
            log_count,
        }
    }
}

/// A running server process.
pub struct TestServer {
    child: Child,
    /// The address it listens on.
    pub addr: SocketAddr,
    /// Its data directory (kept across restarts).
    pub data: Arc<TempDir>,
    /// How it was started (data directory included), to start it again the same way.
    builder: Builder,
    logs: Arc<Mutex<Vec<String>>>,
    log_count: watch::Receiver<usize>,
}

impl TestServer {
    /// A builder with the defaults: no extra arguments, a fresh data directory, port 0.
    pub fn builder() -> Builder {
        Builder {
            args: Vec::new(),
            data: None,
            listen: "127.0.0.1:0".into(),
            log: Some("info,ardoise=debug".into()),
            store: None,
        }
    }

    /// Starts a server with the defaults (`TestServer::builder().start()`).
    pub async fn start() -> Self {
        Self::builder().start().await
    }

    /// The WebSocket URL of document `name` (under `--base-path` if the server has one).
    pub fn ws_url(&self, name: &str) -> String {
        let base = self
            .builder
            .args
            .iter()
            .position(|a| a == "--base-path")
            .and_then(|i| self.builder.args.get(i + 1))
            .map_or("", |b| b.trim_end_matches('/'));
        format!("ws://{}{base}/ws/{name}", self.addr)
    }

    /// Waits until the server logs a line that satisfies `pred`.
    pub async fn wait_log(&self, what: &str, pred: impl Fn(&str) -> bool) {
        self.wait_logs(what, 1, pred).await;
    }

    /// Waits until the server logs `n` lines that satisfy `pred`.
    pub async fn wait_logs(&self, what: &str, n: usize, pred: impl Fn(&str) -> bool) {
        let mut count = self.log_count.clone();
        let found = tokio::time::timeout(PATIENCE, async {
            loop {
                if self
                    .logs
                    .lock()
                    .expect("log lock")
                    .iter()
                    .filter(|l| pred(l))
                    .count()
                    >= n
                {
                    return;
                }
                if count.changed().await.is_err() {
                    panic!("server exited before logging {what}");
                }
            }
        })
        .await;
        assert!(found.is_ok(), "server did not log {what}");
    }

    /// Every log line so far.
    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().expect("log lock").clone()
    }

    /// Number of log lines so far that satisfy `pred`.
    pub fn count_logs(&self, pred: impl Fn(&str) -> bool) -> usize {
        self.logs
            .lock()
            .expect("log lock")
            .iter()
            .filter(|l| pred(l))
            .count()
    }

    /// Waits until the server logs that document `name` was unloaded.
    pub async fn wait_unloaded(&self, name: &str) {
        let field = format!("doc={name}");
        let is_field = |l: &str| l.ends_with(&field) || l.contains(&format!("{field} "));
        self.wait_log(&format!("unload of {name}"), |l| {
            l.contains("room unloaded") && is_field(l)
        })
        .await;
    }

    /// Resident memory of the server process, in KiB.
    pub fn rss_kib(&self) -> u64 {
        self.proc_status_kib("VmRSS:")
    }

    /// The most resident memory the server process has had since it started, in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        self.proc_status_kib("VmHWM:")
    }

    fn proc_status_kib(&self, field: &str) -> u64 {
        let pid = self.child.id().expect("server running");
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("{field} line"))
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id().expect("server running")
    }

    /// Whether the server process is still running (it has not exited or aborted).
    pub fn is_alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The value of the unlabelled metric `name` in `/metrics`.
    pub async fn metric(&self, name: &str) -> f64 {
        let (status, body) = self.get("/metrics").await;
        assert_eq!(status, 200);
        body.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in\n{body}"))
    }

    /// The HTTP answer that refused a WebSocket upgrade to `/ws/{name}` (the test fails if the
    /// upgrade is accepted).
    pub async fn refused_upgrade(
        &self,
        name: &str,
    ) -> tokio_tungstenite::tungstenite::http::Response<Option<Vec<u8>>> {
        let err = tokio_tungstenite::connect_async(self.ws_url(name))
            .await
            .expect_err("upgrade refused");
        let tokio_tungstenite::tungstenite::Error::Http(response) = err else {
            panic!("expected an HTTP refusal for {name}, got {err}");
        };
        *response
    }

    /// Sends SIGTERM and waits for the process to exit.
    pub async fn stop(mut self) -> ExitStatus {
        self.terminate().await
    }

    async fn terminate(&mut self) -> ExitStatus {
        let pid = self.child.id().expect("server running");
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(pid.to_string())
            .status()
            .await
            .expect("kill runs");
        assert!(status.success(), "kill -TERM failed");
        tokio::time::timeout(PATIENCE, self.child.wait())
            .await
            .expect("server exits in time after SIGTERM")
            .expect("wait works")
    }

    /// Kills the process with SIGKILL, as a crash would.
    pub async fn kill9(&mut self) {
        self.child.start_kill().expect("SIGKILL sent");
        self.child.wait().await.expect("wait works");
    }

    /// Stops the server cleanly and starts a new one on the same data directory.
    pub async fn restart(mut self) -> Self {
        let status = self.terminate().await;
        assert!(status.success(), "server exited with {status}");
        self.builder.clone().start().await
    }

    /// Starts a new server on the same data directory after a crash.
    pub async fn start_again(&self) -> Self {
        self.builder.clone().start().await
    }

    /// Plain HTTP GET; returns the status code and the body.
    pub async fn get(&self, path: &str) -> (u16, String) {
        let r = self.request("GET", path, &[], "").await;
        (r.status, r.body)
    }

    /// One HTTP/1.1 request over a fresh connection.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> HttpResponse {
        self.request_bytes(method, path, headers, body.as_bytes())
            .await
    }

    /// A POST of an HTML form (`application/x-www-form-urlencoded`) over a fresh connection.
    pub async fn post_form(&self, path: &str, body: &str) -> HttpResponse {
        let form = [("Content-Type", "application/x-www-form-urlencoded")];
        self.request("POST", path, &form, body).await
    }

    /// One HTTP/1.1 request with a binary body over a fresh connection.
    pub async fn request_bytes(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> HttpResponse {
        let mut tcp = TcpStream::connect(self.addr).await.expect("connects");
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
            self.addr
        );
        for (k, v) in headers {
            request.push_str(&format!("{k}: {v}\r\n"));
        }
        if !body.is_empty() || method == "POST" {
            request.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        request.push_str("\r\n");
        let mut request = request.into_bytes();
        request.extend_from_slice(body);
        tcp.write_all(&request).await.expect("writes");
        let mut raw = Vec::new();
        tokio::time::timeout(PATIENCE, tcp.read_to_end(&mut raw))
            .await
            .expect("response in time")
            .expect("reads");
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("header end");
        let head = String::from_utf8_lossy(&raw[..split]).into_owned();
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .expect("status line");
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let body_bytes = raw[split + 4..].to_vec();
        HttpResponse {
            status,
            headers,
            body: String::from_utf8_lossy(&body_bytes).into_owned(),
            bytes: body_bytes,
        }
    }
}

/// A parsed HTTP response (the body is not de-chunked: tests read fixed-length responses).
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Headers, names lowercased.
    pub headers: Vec<(String, String)>,
    /// Body as text (lossy).
    pub body: String,
    /// Body bytes.
    pub bytes: Vec<u8>,
}

impl HttpResponse {
    /// The first value of header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if std::thread::panicking() {
            if let Ok(logs) = self.logs.lock() {
                eprintln!("--- server log ({}) ---", self.addr);
                for line in logs
                    .iter()
                    .rev()
                    .take(200)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                {
                    eprintln!("{line}");
                }
            }
        }
    }
}

/// Polls `probe` every 100 ms until it answers `Ok`, and fails with its last `Err` (what it
/// saw) once `within` has passed: for a state that changes on another process's timer or
/// clock (a lease expiring, a node's report), where there is no event to await.
pub async fn eventually<T, F, Fut>(within: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match probe().await {
            Ok(done) => return done,
            Err(seen) => assert!(
                tokio::time::Instant::now() < deadline,
                "{seen} after {within:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
