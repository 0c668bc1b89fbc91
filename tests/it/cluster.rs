//! Several nodes on one PostgreSQL database: a client (WebSocket or HTTP) of a node that does
//! not hold its document is forwarded to the node that does, and when that node dies its
//! clients reconnect and another node serves the document, with every acknowledged edit; the
//! same through HAProxy configured as deploy/haproxy.cfg says, where at the end a fresh client
//! reads every acknowledged edit back, and again after every node stopped and one started alone
//! on the same database; a node stopped (SIGTERM) or killed (SIGKILL) and started again with its
//! `--node-id` serves its documents again, whole, and the other nodes forward to it; a node
//! paused (SIGSTOP) past its lease is fenced off when it resumes; PostgreSQL stopped under two
//! nodes makes them unready and closes their rooms, and once it is back they serve again
//! without a restart of their own, leases taken anew and nothing acknowledged lost.

use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

use yrs::Doc;

use crate::client::Client;
use crate::server::{eventually, Builder, TestServer};
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
    eventually(within, || async {
        let mut client = Client::open_url(url, Doc::new()).await;
        if client.try_sync().await {
            Ok(client)
        } else {
            Err(format!("no node served {url}"))
        }
    })
    .await
}

/// The lease on document `name` in the database at `url`: its owner and its epoch, which
/// moves on each time a node takes the lease.
async fn lease_of(url: &str, name: &str) -> Option<(String, i64)> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connects to the test database");
    let driver = tokio::spawn(connection);
    let row = client
        .query_opt("SELECT owner, epoch FROM leases WHERE name = $1", &[&name])
        .await
        .expect("reads the leases");
    drop(client);
    let _ = driver.await;
    row.map(|row| (row.get(0), row.get(1)))
}

/// Waits until `server`'s `/readyz` answers `want`: it probes the database, and a success
/// stands for a while, so the answer follows a stop or a start of PostgreSQL a little later.
async fn readyz_becomes(server: &TestServer, want: u16, within: Duration) {
    eventually(within, || async {
        let (status, body) = server.get("/readyz").await;
        if status == want {
            Ok(())
        } else {
            Err(format!(
                "/readyz of {} still {status} {body:?}",
                server.addr
            ))
        }
    })
    .await;
}

/// The close code `client` got from the server, which must have closed it.
async fn close_code(client: &mut Client) -> (u16, String) {
    let frame = client.closed_by_server().await.expect("a close frame");
    (u16::from(frame.code), frame.reason.to_string())
}

/// A client of `server` on document `doc` that typed `text` at its start, acknowledged.
async fn typed(server: &TestServer, doc: &str, text: &str) -> Client {
    let mut client = Client::connect(server, doc).await;
    client.insert(0, text).await;
    client.barrier().await;
    client
}

#[tokio::test]
async fn a_non_owner_forwards_to_the_owner_and_serves_once_the_owner_died() {
    let url = pg_cluster::shared().fresh_url();
    let mut a = node_on_any_port(&url, "a").start().await;
    let b = node_on_any_port(&url, "b").start().await;

    let mut on_a = typed(&a, "shared", "from a").await;
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

#[tokio::test]
async fn a_node_started_again_with_its_id_serves_its_documents_and_the_others_forward_to_it() {
    let url = pg_cluster::shared().fresh_url();
    let a = node(&url, "a").start().await;
    let b = node(&url, "b").start().await;
    let _first_on_a = typed(&a, "after-term", "kept").await;
    let mut on_b = Client::connect(&b, "after-term").await;
    on_b.insert(4, "+b").await;
    on_b.barrier().await;
    assert_eq!(b.metric("ardoise_proxied_connections_total").await, 1.0);

    // SIGTERM: a closes its rooms and gives their leases back; started again (same id, same
    // address) it takes the document back at once, and b forwards to it again.
    let a = a.restart().await;
    let (code, reason) = close_code(&mut on_b).await;
    assert!(
        [1001, 1012].contains(&code),
        "told to reconnect: {code} {reason}"
    );
    let mut on_a = Client::connect(&a, "after-term").await;
    assert_eq!(on_a.text(), "kept+b", "a serves the whole document again");
    let mut on_b = Client::connect(&b, "after-term").await;
    assert_eq!(on_b.text(), "kept+b");
    assert_eq!(
        a.metric("ardoise_proxied_connections_total").await,
        0.0,
        "a holds the document itself"
    );
    assert_eq!(b.metric("ardoise_proxied_connections_total").await, 2.0);
    on_b.insert(0, ">").await;
    on_b.barrier().await;
    on_a.until("b's edit", |c| c.text() == ">kept+b").await;

    let _crash_on_a = typed(&a, "after-kill", "crash").await;
    let mut crash_b = Client::connect(&b, "after-kill").await;
    crash_b.insert(5, "-proof").await;
    crash_b.barrier().await;
    let (owner, before) = lease_of(&url, "after-kill").await.expect("a lease");
    assert_eq!(owner, "a");

    // SIGKILL: a's leases stay behind, unreleased. Started again with the same id, a takes
    // them over as its own (the lease names it; the process that held them is gone), so its
    // documents, those it owned before included, come back with every acknowledged edit.
    let mut a = a;
    a.kill9().await;
    let (code, reason) = close_code(&mut crash_b).await;
    assert_eq!(code, 1012, "told to reconnect: {reason}");
    let a = a.start_again().await;
    let within = Duration::from_secs(LEASE_SECS * 5);
    let crash = connect_when_served(&a.ws_url("after-kill"), within).await;
    assert_eq!(crash.text(), "crash-proof");
    let earlier = connect_when_served(&a.ws_url("after-term"), within).await;
    assert_eq!(earlier.text(), ">kept+b");
    let (owner, after) = lease_of(&url, "after-kill").await.expect("a lease");
    assert_eq!(owner, "a");
    assert!(
        after > before,
        "the lease was taken again: {before} → {after}"
    );
    assert_eq!(
        lease_of(&url, "after-term").await.map(|l| l.0).as_deref(),
        Some("a")
    );
    // b's clients reach both on a, forwarded, without an error: joins and an HTTP export.
    let mut crash_b = Client::connect(&b, "after-kill").await;
    assert_eq!(crash_b.text(), "crash-proof");
    crash_b.insert(0, "no ").await;
    crash_b.barrier().await;
    let (status, text) = b.get("/p/after-kill/export/txt").await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("no crash-proof"), "{text}");
    let earlier_b = Client::connect(&b, "after-term").await;
    assert_eq!(earlier_b.text(), ">kept+b");
    assert_eq!(b.metric("ardoise_proxied_connections_total").await, 6.0);
    assert_eq!(
        a.metric("ardoise_proxied_connections_total").await,
        0.0,
        "a served both itself"
    );
    drop((crash, earlier));
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
    // Busy: every client edits in turn without waiting, then waits for its acknowledgements.
    const ROUNDS: usize = 10;
    for round in 0..ROUNDS {
        via.insert(0, "v").await;
        for (i, client) in direct.iter_mut().enumerate() {
            let at = if (round + i) % 2 == 0 {
                0
            } else {
                u32::try_from(client.text().len()).expect("short text")
            };
            client.insert(at, &i.to_string()).await;
        }
    }
    via.barrier().await;
    for client in &mut direct {
        client.barrier().await;
    }
    let edits = 4 + 4 * ROUNDS;
    via.until("every node's edit", |c| c.text().chars().count() == edits)
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
    let mut again = connect_when_served(&proxy.ws_url(doc), within).await;
    assert_eq!(again.text(), want, "every acknowledged edit is kept");
    again.insert(0, "after").await;
    again.barrier().await;
    let want = again.text();
    let fresh = Client::connect_url_synced(&proxy.ws_url(doc)).await;
    assert_eq!(
        fresh.text(),
        want,
        "a fresh client reads every acknowledged edit"
    );

    // Every node stops; one started alone on the same database reads the same. The nodes that
    // stopped gave their leases back, so it serves the document at once.
    drop((via, direct, again, fresh));
    let dead = owner[0];
    for (i, node) in nodes.into_iter().enumerate() {
        if i != dead {
            let status = node.stop().await;
            assert!(status.success(), "a node exited with {status}");
        }
    }
    let alone = node(&url, "d").start().await;
    let last = Client::connect(&alone, doc).await;
    assert_eq!(
        last.text(),
        want,
        "every acknowledged edit is in the database"
    );
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
    let mut on_a = typed(&a, "paused", "a").await;

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

#[tokio::test]
async fn two_nodes_recover_from_a_postgres_restart_without_restarting_and_lose_nothing() {
    // A cluster of its own: this test stops it.
    let cluster = pg_cluster::Cluster::start().expect("PostgreSQL starts");
    let url = cluster.fresh_url();
    let mut a = node(&url, "a").start().await;
    let mut b = node(&url, "b").start().await;
    // One document held by each node, each with a client of the other node forwarded to it.
    let mut on_a = typed(&a, "held-by-a", "a1").await;
    let mut via_b = typed(&b, "held-by-a", "b1 ").await;
    let mut on_b = typed(&b, "held-by-b", "b2").await;
    let mut via_a = typed(&a, "held-by-b", "a2 ").await;
    // A third document nobody edits during the outage: its room writes nothing, so it has
    // nothing to close for, and its clients edit on afterwards.
    let mut idle = typed(&a, "idle", "idle").await;
    let mut idle_via_b = Client::connect(&b, "idle").await;
    let before_a = lease_of(&url, "held-by-a").await.expect("a lease");
    let before_b = lease_of(&url, "held-by-b").await.expect("a lease");
    assert_eq!((before_a.0.as_str(), before_b.0.as_str()), ("a", "b"));

    cluster.stop();
    let within = Duration::from_secs(LEASE_SECS * 5 + 10);
    readyz_becomes(&a, 503, within).await;
    readyz_becomes(&b, 503, within).await;
    // An edit now cannot be saved: its room closes every client, the forwarded one too.
    for (writer, forwarded) in [(&mut on_a, &mut via_b), (&mut on_b, &mut via_a)] {
        writer.insert(0, "lost ").await;
        for client in [writer, forwarded] {
            let (code, reason) = close_code(client).await;
            assert!([1011, 1013].contains(&code), "{code} {reason}");
            assert!(reason.contains("storage"), "{code} {reason}");
        }
    }
    // A join meanwhile is refused at once, forwarded or not, rather than left hanging.
    for (server, name) in [(&b, "held-by-a"), (&a, "held-by-a"), (&b, "new-in-outage")] {
        let refusal = server.refused_upgrade(name).await;
        assert_eq!(refusal.status(), 503, "{name} on {}", server.addr);
    }
    assert!(
        a.is_alive() && b.is_alive(),
        "a lost database is an error, not a crash"
    );

    cluster.restart();
    readyz_becomes(&a, 200, within).await;
    readyz_becomes(&b, 200, within).await;
    assert_eq!(a.metric("ardoise_storage_writable").await, 1.0);
    assert_eq!(b.metric("ardoise_storage_writable").await, 1.0);
    // Each node's clients come back (the rooms' leases may have expired meanwhile, with no
    // event to await) and find what was acknowledged; editing works through both nodes.
    let mut on_a = connect_when_served(&a.ws_url("held-by-a"), within).await;
    assert_eq!(on_a.text(), "b1 a1", "what was acknowledged is there");
    let mut on_b = connect_when_served(&b.ws_url("held-by-b"), within).await;
    assert_eq!(on_b.text(), "a2 b2", "what was acknowledged is there");
    let mut via_b = connect_when_served(&b.ws_url("held-by-a"), within).await;
    let mut via_a = connect_when_served(&a.ws_url("held-by-b"), within).await;
    on_a.insert(0, "after ").await;
    on_a.barrier().await;
    via_a.insert(0, "after ").await;
    via_a.barrier().await;
    via_b.until("a's edit", |c| c.text() == "after b1 a1").await;
    on_b.until("the edit through a", |c| c.text() == "after a2 b2")
        .await;
    idle.insert(4, "+a").await;
    idle.barrier().await;
    idle_via_b.insert(0, "b+").await;
    idle_via_b.barrier().await;
    idle.until("b's edit", |c| c.text() == "b+idle+a").await;
    // The leases were taken again, each by the node its first client came back to.
    let after_a = lease_of(&url, "held-by-a").await.expect("a lease");
    let after_b = lease_of(&url, "held-by-b").await.expect("a lease");
    assert_eq!((after_a.0.as_str(), after_b.0.as_str()), ("a", "b"));
    assert!(after_a.1 > before_a.1, "{before_a:?} → {after_a:?}");
    assert!(after_b.1 > before_b.1, "{before_b:?} → {after_b:?}");
    for (server, name, want) in [
        (&b, "held-by-a", "after b1 a1"),
        (&a, "held-by-b", "after a2 b2"),
        (&b, "idle", "b+idle+a"),
    ] {
        let fresh = Client::connect(server, name).await;
        assert_eq!(fresh.text(), want, "nothing acknowledged is lost");
    }
}
