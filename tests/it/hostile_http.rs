//! The HTTP edge under hostile clients (issue 16, items 4, 8 and 11): bodies are refused from
//! their declared length before they are read and as they stream past the limit, credentials
//! are checked before any body; silent, dribbling and idle connections are closed after the
//! header timeout; connections past the cap are closed at once and counted; names made of dots
//! are refused; the `Bearer` scheme is read in any case.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::server::{TestServer, PATIENCE};

/// The API key of the test servers and its SHA-256 (`printf %s secret | sha256sum`).
const KEY: &str = "secret";
const KEY_SHA256: &str = "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b";
const ADMIN: &str = "admin-token";

/// What a body of this size would cost if it were read.
const ONE_GIB: &str = "1073741824";

/// Opens a connection and sends `head` (request line and headers, up to the blank line) and
/// `body`.
async fn send(server: &TestServer, head: &str, body: &[u8]) -> TcpStream {
    let mut tcp = TcpStream::connect(server.addr).await.expect("connects");
    let mut bytes = head.as_bytes().to_vec();
    bytes.extend_from_slice(body);
    tcp.write_all(&bytes).await.expect("writes");
    tcp
}

/// A request head with `headers`, without a body.
fn head(method: &str, path: &str, headers: &[(&str, &str)]) -> String {
    let mut h = format!("{method} {path} HTTP/1.1\r\nHost: test\r\n");
    for (k, v) in headers {
        h.push_str(&format!("{k}: {v}\r\n"));
    }
    h.push_str("\r\n");
    h
}

/// Reads a response head and its `Content-Length` body; returns the status and the body.
async fn response(tcp: &mut TcpStream) -> (u16, String) {
    let read = async {
        let mut raw = Vec::new();
        let mut buf = [0u8; 4096];
        let end = loop {
            if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                break end + 4;
            }
            let n = tcp.read(&mut buf).await.expect("reads the response");
            assert!(n > 0, "connection closed before a response");
            raw.extend_from_slice(&buf[..n]);
        };
        let head = String::from_utf8_lossy(&raw[..end]).into_owned();
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("status line");
        let length: usize = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse().ok())?
            })
            .unwrap_or(0);
        while raw.len() < end + length {
            let n = tcp.read(&mut buf).await.expect("reads the body");
            assert!(n > 0, "connection closed inside the body");
            raw.extend_from_slice(&buf[..n]);
        }
        (
            status,
            String::from_utf8_lossy(&raw[end..end + length]).into_owned(),
        )
    };
    tokio::time::timeout(PATIENCE, read)
        .await
        .expect("a response in time (was the body read first?)")
}

/// Waits until the server closes `tcp` (end of stream or reset), ignoring what it sends.
async fn closed(tcp: &mut TcpStream, what: &str) {
    let wait = async {
        let mut buf = [0u8; 1024];
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    assert!(
        tokio::time::timeout(PATIENCE, wait).await.is_ok(),
        "the server did not close the {what}"
    );
}

/// A chunked body of `len` bytes in 64 KiB chunks, without its final chunk: a server that
/// waited for the end would wait for ever.
fn unfinished_chunks(len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + len / 8);
    let mut left = len;
    while left > 0 {
        let n = left.min(64 * 1024);
        out.extend_from_slice(format!("{n:x}\r\n").as_bytes());
        out.resize(out.len() + n, b'x');
        out.extend_from_slice(b"\r\n");
        left -= n;
    }
    out
}

#[tokio::test]
async fn huge_declared_bodies_are_refused_before_a_byte_is_read() {
    let server = TestServer::builder()
        .args(&["--api-key-sha256", KEY_SHA256, "--admin-token", ADMIN])
        .start()
        .await;
    let peak_before = server.peak_rss_kib();
    let right = format!("Bearer {KEY}");
    let admin = format!("Bearer {ADMIN}");
    // (method, path, credential, content type, expected status): each declares 1 GiB and
    // sends nothing of it, so only an answer given before reading can come back.
    let cases = [
        ("PUT", "/_/x", "Bearer wrong", "text/csv", 401),
        ("PUT", "/_/x", right.as_str(), "text/csv", 413),
        ("POST", "/_/x", "Bearer wrong", "text/plain", 401),
        ("POST", "/_/x", right.as_str(), "text/plain", 413),
        ("POST", "/_", right.as_str(), "text/csv", 413),
        (
            "PUT",
            "/api/v1/documents/x/text",
            "Bearer wrong",
            "application/json",
            401,
        ),
        (
            "PUT",
            "/api/v1/documents/x/text",
            right.as_str(),
            "application/json",
            413,
        ),
        (
            "PUT",
            "/admin/api/notice",
            "Bearer wrong",
            "application/json",
            401,
        ),
        (
            "PUT",
            "/admin/api/notice",
            admin.as_str(),
            "application/json",
            413,
        ),
        (
            "POST",
            "/import",
            "",
            "multipart/form-data; boundary=b",
            413,
        ),
    ];
    // All at once, as the probe did with four.
    let mut connections = Vec::new();
    for (method, path, auth, content_type, _) in &cases {
        let mut headers = vec![("Content-Type", *content_type), ("Content-Length", ONE_GIB)];
        if !auth.is_empty() {
            headers.push(("Authorization", auth));
        }
        connections.push(send(&server, &head(method, path, &headers), b"").await);
    }
    for ((method, path, auth, _, status), tcp) in cases.iter().zip(&mut connections) {
        let (got, body) = response(tcp).await;
        assert_eq!(got, *status, "{method} {path} with {auth:?}: {body}");
        if *status == 413 && path.starts_with("/_") {
            assert!(body.contains("import limit"), "{body}");
        }
    }
    let grown = server.peak_rss_kib().saturating_sub(peak_before);
    assert!(grown < 16 * 1024, "peak RSS grew by {grown} KiB");
}

#[tokio::test]
async fn chunked_bodies_are_refused_as_they_pass_the_limit() {
    let limit: usize = 4 << 20;
    let limit_arg = limit.to_string();
    let mut server = TestServer::builder()
        .args(&[
            "--api-key-sha256",
            KEY_SHA256,
            "--max-import-bytes",
            &limit_arg,
            "--api-max-body-bytes",
            &limit_arg,
        ])
        .start()
        .await;
    let peak_before = server.peak_rss_kib();
    let auth = format!("Bearer {KEY}");
    for (path, content_type, status) in [
        ("/_/x", "text/csv", 413),
        ("/api/v1/documents/x/text", "application/json", 413),
    ] {
        let chunked = [
            ("Content-Type", content_type),
            ("Transfer-Encoding", "chunked"),
            ("Authorization", auth.as_str()),
        ];
        // One byte past the limit and no final chunk: refused only if counted as it streams.
        let mut tcp = send(
            &server,
            &head("PUT", path, &chunked),
            &unfinished_chunks(limit + 1),
        )
        .await;
        let (got, body) = response(&mut tcp).await;
        assert_eq!(got, status, "{path}: {body}");
        // The wrong key is refused before the body, which is then never read.
        let wrong = [
            ("Content-Type", content_type),
            ("Transfer-Encoding", "chunked"),
            ("Authorization", "Bearer wrong"),
        ];
        let mut tcp = send(&server, &head("PUT", path, &wrong), b"").await;
        assert_eq!(response(&mut tcp).await.0, 401, "{path}");
    }
    let grown = server.peak_rss_kib().saturating_sub(peak_before);
    // At most one body's worth at a time (a growing buffer may hold twice its length).
    assert!(
        grown < 3 * limit as u64 / 1024 + 8 * 1024,
        "peak RSS grew by {grown} KiB"
    );
    assert!(server.is_alive());
    let (status, _) = server.get("/healthz").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn silent_dribbling_and_idle_connections_are_closed_after_the_header_timeout() {
    let mut server = TestServer::builder()
        .args(&["--http-header-timeout-secs", "1"])
        .start()
        .await;
    let mut silent = TcpStream::connect(server.addr).await.expect("connects");
    // Headers started and never finished.
    let mut dribbler = send(&server, "GET / HTTP/1.1\r\nHost: test\r\nX-Slow: a", b"").await;
    // A kept-alive connection, idle after its first response.
    let mut idle = send(&server, &head("GET", "/healthz", &[]), b"").await;
    assert_eq!(response(&mut idle).await.0, 200);
    closed(&mut silent, "silent connection").await;
    closed(&mut dribbler, "header dribbler").await;
    closed(&mut idle, "idle kept-alive connection").await;
    assert!(server.is_alive());
    assert_eq!(server.get("/healthz").await.0, 200);
}

#[tokio::test]
async fn connections_past_the_cap_are_closed_at_once_and_counted() {
    let server = TestServer::builder()
        .args(&["--max-connections", "3", "--http-header-timeout-secs", "3"])
        .start()
        .await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(TcpStream::connect(server.addr).await.expect("connects"));
    }
    // The kernel completes the handshake; the server closes it without a word.
    let mut extra = TcpStream::connect(server.addr).await.expect("connects");
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(PATIENCE, extra.read(&mut buf))
        .await
        .expect("closed at once, long before the header timeout");
    assert!(matches!(read, Ok(0) | Err(_)), "no answer: {read:?}");
    // The held ones go at their header timeout; then the cap has room for the scrape.
    for tcp in &mut held {
        closed(tcp, "held connection").await;
    }
    let (status, metrics) = server.get("/metrics").await;
    assert_eq!(status, 200);
    assert!(
        metrics.contains("ardoise_refusals_total{reason=\"connections_total\"} 1\n"),
        "{metrics}"
    );
    assert!(metrics.contains("ardoise_refusals_total{reason=\"connections_per_address\"} 0\n"));
    assert!(metrics.contains("ardoise_tcp_connections 1\n"), "{metrics}");
}

#[tokio::test]
async fn names_made_of_dots_are_refused() {
    let server = TestServer::builder()
        .args(&["--api-key-sha256", KEY_SHA256])
        .start()
        .await;
    let auth = format!("Bearer {KEY}");
    for name in [".", "..", "..."] {
        let (status, body) = server.get(&format!("/p/{name}")).await;
        assert_eq!(status, 400, "/p/{name}");
        assert!(body.contains("made of dots only"), "{body}");
        let form = server.post_form("/new", &format!("name={name}")).await;
        assert_eq!(form.status, 400, "/new {name}");
        let put = server
            .request(
                "PUT",
                &format!("/_/{name}"),
                &[("Content-Type", "text/csv"), ("Authorization", &auth)],
                "1\n",
            )
            .await;
        assert_eq!(put.status, 400, "/_/{name}");
        let api = server
            .request(
                "POST",
                "/api/v1/documents",
                &[
                    ("Content-Type", "application/json"),
                    ("Authorization", &auth),
                ],
                &format!("{{\"name\": \"{name}\"}}"),
            )
            .await;
        assert_eq!(api.status, 400, "API {name}: {}", api.body);
    }
    // A dot inside a name is still a name.
    assert_eq!(server.get("/p/a.b").await.0, 200);
}

#[tokio::test]
async fn the_bearer_scheme_is_read_in_any_case_by_both_apis() {
    let server = TestServer::builder()
        .args(&["--api-key-sha256", KEY_SHA256, "--admin-token", ADMIN])
        .start()
        .await;
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let admin = format!("{scheme} {ADMIN}");
        let r = server
            .request("GET", "/admin/api/stats", &[("Authorization", &admin)], "")
            .await;
        assert_eq!(r.status, 200, "admin with {scheme}: {}", r.body);
        let api = format!("{scheme} {KEY}");
        let r = server
            .request("GET", "/api/v1/stats", &[("Authorization", &api)], "")
            .await;
        assert_eq!(r.status, 200, "API with {scheme}: {}", r.body);
    }
    let r = server
        .request(
            "GET",
            "/admin/api/stats",
            &[("Authorization", "bearer nope")],
            "",
        )
        .await;
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn bodies_held_at_once_share_one_budget() {
    // Four import limits' worth at most: 4 MiB here, so five bodies of 900 KiB cannot all be
    // held, whatever order the server reads them in.
    let mut server = TestServer::builder()
        .args(&["--max-import-bytes", "1048576"])
        .start()
        .await;
    let chunked = [
        ("Content-Type", "text/csv"),
        ("Transfer-Encoding", "chunked"),
    ];
    let mut pending = Vec::new();
    for _ in 0..6 {
        // Unfinished: a body the server accepts stays held until the client goes.
        let body = unfinished_chunks(900 * 1024);
        pending.push(send(&server, &head("PUT", "/_/x", &chunked), &body).await);
    }
    // The refused ones answer; the held ones wait for the rest of their body.
    let mut refused = 0;
    let answers: Vec<_> = pending
        .iter_mut()
        .map(|tcp| Box::pin(response(tcp)))
        .collect();
    let mut answers = answers;
    while refused < 2 {
        let ((status, body), _, rest) = futures_util::future::select_all(answers).await;
        assert_eq!(status, 503, "{body}");
        assert!(body.contains("too many request bodies"), "{body}");
        refused += 1;
        answers = rest;
    }
    drop(answers);
    drop(pending);
    assert!(server.is_alive());
    assert_eq!(server.get("/healthz").await.0, 200);
}
