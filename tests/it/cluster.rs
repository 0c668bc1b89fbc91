//! Several nodes on one PostgreSQL database: a client (WebSocket or HTTP) of a node that does
//! not hold its document is forwarded to the node that does, and when that node dies its clients reconnect
//! and another node serves the document, with every acknowledged edit.

use std::time::{Duration, Instant};

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
fn node(url: &str, id: &str) -> Builder {
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

/// Connects to `name` through `server` once a node serves it. An attempt the server closes
/// (its document's node is dead and the lease not expired yet) is retried until `within`
/// passes: the lease expires on the database's clock, with no event to await.
async fn connect_when_served(server: &TestServer, name: &str, within: Duration) -> Client {
    let deadline = Instant::now() + within;
    loop {
        let mut client = Client::open(server, name, Doc::new()).await;
        if client.try_sync().await {
            return client;
        }
        assert!(
            Instant::now() < deadline,
            "no node served {name} within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_non_owner_forwards_to_the_owner_and_serves_once_the_owner_died() {
    let url = pg_cluster::shared().fresh_url();
    let mut a = node(&url, "a").start().await;
    let b = node(&url, "b").start().await;

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
    assert_eq!(b.metric("ardoise_proxied_connections_total").await, 2.0);
    assert_eq!(b.metric("ardoise_node_info{node=\"b\"}").await, 1.0);
    assert_eq!(a.metric("ardoise_node_info{node=\"a\"}").await, 1.0);

    // The owner dies: b's forwarded client is told to reconnect, and b serves the document
    // once a's lease has expired.
    a.kill9().await;
    let frame = on_b.closed_by_server().await.expect("a close frame");
    assert_eq!(u16::from(frame.code), 1012);
    let again = connect_when_served(&b, "shared", Duration::from_secs(LEASE_SECS * 5)).await;
    assert_eq!(again.text(), "b+from a", "every acknowledged edit is kept");
}
