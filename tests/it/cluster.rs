//! Several nodes on one PostgreSQL database: a client (WebSocket or HTTP) of a node that does
//! not hold its document is forwarded to the node that does, and when that node dies its
//! clients reconnect and another node serves the document, with every acknowledged edit; the
//! same through HAProxy configured as deploy/haproxy.cfg says; a node paused (SIGSTOP) past its
//! lease is fenced off when it resumes.

use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

use yrs::Doc;

use crate::client::Client;
use crate::server::{Builder, TestServer};
use crate::store_engines::pg_cluster;

/// Lease length of the test nodes: a dead node's documents are served again within it.
const LEASE_SECS: u64 = 2;

/// A free port on 127.0.0.1: a node must know the address it advertises before it starts.
fn free_addr() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
    listener.local_addr().expect("address").to_string()
}

/// A node named `id` on database `url`.
pub(crate) fn node(url: &str, id: &str) -> Builder {
    let addr = free_addr();
    TestServer::builder().listen(&addr).args(&[
        "--store",
        url,
        "--node-id",
        id,
        "--advertise-url",
        &format!("http://{addr}"),
        "--lease-secs",
        &LEASE_SECS.to_string(),
    ])
}

/// A node named `id` on database `url`, on a port of its own choosing and advertising no
/// URL: other nodes forward to the address it is bound to.
pub(crate) fn node_on_any_port(url: &str, id: &str) -> Builder {
    TestServer::builder().listen("127.0.0.1:0").args(&[
        "--store",
        url,
        "--node-id",
        id,
        "--lease-secs",
        &LEASE_SECS.to_string(),
    ])
}

/// Connects to the document at `url` once a node serves it. An attempt the server closes
/// (its document's node is dead and the lease not expired yet) is retried until `within`
/// passes: the lease expires on the database's clock, with no event to await.
async fn connect_when_served(url: &str, within: Duration) -> Client {
    let deadline = Instant::now() + within;
    loop {
        let mut client = Client::open_url(url, Doc::new()).await;
        if client.try_sync().await {
            return client;
        }
        assert!(
            Instant::now() < deadline,
            "no node served {url} within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_non_owner_forwards_to_the_owner_and_serves_once_the_owner_died() {
    let url = pg_cluster::shared().fresh_url();
    let mut a = node_on_any_port(&url, "a").start().await;
    let b = node_on_any_port(&url, "b").start().await;

    let mut on_a = Client::connect(&a, "shared").await;
    on_a.insert(0, "from a").await;
    on_a.barrier().await;
    let mut on_b = Client::connect(&b, "shared").await;
    assert_eq!(on_b.text(), "from a", "b forwarded the join to a");
    on_b.insert(0, "b+").await;
    on_b.barrier().await;
    on_a.until("b's edit", |c| c.text() == "b+from a").await;
    // An HTTP request for the document is forwarded too: b alone could not load it.
    let (status, text) = b.get("/p/shared/export/txt").await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("b+from a"), "{text}");
    // So is one through the read-only link, which names no document.
    let (_, page) = a.get("/p/shared").await;
    let token = page
        .split("/r/")
        .nth(1)
        .and_then(|rest| rest.split(['"', '/', '?', '<']).next())
        .expect("the pad page links its read-only view");
    let (status, text) = b.get(&format!("/r/{token}/export/txt")).await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("b+from a"), "{text}");
    assert_eq!(b.metric("ardoise_proxied_connections_total").await, 3.0);
    assert_eq!(b.metric("ardoise_node_info{node=\"b\"}").await, 1.0);
    assert_eq!(a.metric("ardoise_node_info{node=\"a\"}").await, 1.0);

    // The owner dies: b's forwarded client is told to reconnect, and b serves the document
    // once a's lease has expired.
    a.kill9().await;
    let frame = on_b.closed_by_server().await.expect("a close frame");
    assert_eq!(u16::from(frame.code), 1012);
    let again = connect_when_served(&b.ws_url("shared"), Duration::from_secs(LEASE_SECS * 5)).await;
    assert_eq!(again.text(), "b+from a", "every acknowledged edit is kept");
}

/// HAProxy in front of the nodes, started by the test on a free port.
struct Haproxy {
    _child: Child,
    addr: String,
    _dir: tempfile::TempDir,
}

impl Haproxy {
    /// The deploy file with the test's addresses: its `bind` line listens on `listen`, and its
    /// `server` lines (the last section's) name `nodes`.
    fn config(listen: &str, nodes: &[String]) -> String {
        let shape =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/haproxy.cfg"))
                .expect("deploy/haproxy.cfg");
        let mut out = String::new();
        for line in shape.lines() {
            let line = line.trim_end();
            match line.split_whitespace().next() {
                Some("bind") => out.push_str(&format!("    bind {listen}\n")),
                Some("server") => {}
                _ => {
                    out.push_str(line);
                    out.push('\n');
                }
            }
        }
        for (i, node) in nodes.iter().enumerate() {
            out.push_str(&format!("    server n{i} {node}\n"));
        }
        out
    }

    /// Starts HAProxy and waits until it accepts connections.
    async fn start(nodes: &[String]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let addr = free_addr();
        let path = dir.path().join("haproxy.cfg");
        std::fs::write(&path, Self::config(&addr, nodes)).expect("writes the config");
        let binary = if std::path::Path::new("/usr/sbin/haproxy").exists() {
            "/usr/sbin/haproxy"
        } else {
            "haproxy"
        };
        let child = Command::new(binary)
            .arg("-db")
            .arg("-f")
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("haproxy starts (tests/setup.sh installs it)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(&addr).await.is_err() {
            assert!(Instant::now() < deadline, "haproxy did not listen in time");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self {
            _child: child,
            addr,
            _dir: dir,
        }
    }

    fn ws_url(&self, name: &str) -> String {
        format!("ws://{}/ws/{name}", self.addr)
    }
}

#[tokio::test]
async fn through_haproxy_three_nodes_converge_and_survive_the_owner_s_death() {
    let url = pg_cluster::shared().fresh_url();
    let mut nodes = Vec::new();
    for id in ["a", "b", "c"] {
        nodes.push(node(&url, id).start().await);
    }
    let addrs: Vec<String> = nodes.iter().map(|n| n.addr.to_string()).collect();
    let proxy = Haproxy::start(&addrs).await;
    let doc = "through-haproxy";

    let mut via = Client::connect_url_synced(&proxy.ws_url(doc)).await;
    via.insert(0, "h").await;
    via.barrier().await;
    // A client straight to each node: at least two reach a node that does not hold it.
    let mut direct = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        let mut client = Client::connect(node, doc).await;
        client.insert(0, &i.to_string()).await;
        client.barrier().await;
        direct.push(client);
    }
    via.until("every node's edit", |c| c.text().chars().count() == 4)
        .await;
    let want = via.text();
    for client in &mut direct {
        client.until("the same text", |c| c.text() == want).await;
    }
    // The node holding the document forwarded nothing; the two others one connection each.
    let mut owner = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        if node.metric("ardoise_proxied_connections_total").await == 0.0 {
            owner.push(i);
        }
    }
    assert_eq!(owner.len(), 1, "one node holds the document");

    nodes[owner[0]].kill9().await;
    // HAProxy takes the dead node out after two failed checks; its document is served again
    // once its lease has expired.
    let within = Duration::from_secs(LEASE_SECS * 5 + 5);
    let again = connect_when_served(&proxy.ws_url(doc), within).await;
    assert_eq!(again.text(), want, "every acknowledged edit is kept");
}

/// Sends `signal` (`STOP`, `CONT`) to `server`'s process.
fn signal(server: &TestServer, signal: &str) {
    let status = std::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(server.pid().to_string())
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -{signal}");
}

#[tokio::test]
async fn a_node_paused_past_its_lease_cannot_write_when_it_resumes_and_its_clients_move() {
    let url = pg_cluster::shared().fresh_url();
    let a = node(&url, "a").start().await;
    let b = node(&url, "b").start().await;
    let mut on_a = Client::connect(&a, "paused").await;
    on_a.insert(0, "a").await;
    on_a.barrier().await;

    signal(&a, "STOP");
    // b forwards to the paused a until a's lease expires, then serves the document itself.
    let within = Duration::from_secs(LEASE_SECS * 5 + 10);
    let mut on_b = connect_when_served(&b.ws_url("paused"), within).await;
    assert_eq!(on_b.text(), "a");
    on_b.insert(1, "b").await;
    on_b.barrier().await;

    // a resumes: its renewal (or any write) finds the lease moved on, so its clients are told
    // to reconnect and nothing it holds is written over b's document.
    signal(&a, "CONT");
    let frame = on_a.closed_by_server().await.expect("a close frame");
    assert_eq!(u16::from(frame.code), 1012);
    let fresh = Client::connect(&b, "paused").await;
    assert_eq!(fresh.text(), "ab");
    assert_eq!(
        a.metric("ardoise_proxied_connections_total").await,
        0.0,
        "a still answers"
    );
}
