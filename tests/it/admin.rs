//! The operator's admin API, the notice to open pads, rate limits and the metrics text; the
//! list of nodes, alone and as two nodes on one PostgreSQL database.

use std::collections::HashMap;
use std::io::Write;
use std::time::Duration;

use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::client::Client;
use crate::server::{eventually, HttpResponse, TestServer};

const TOKEN: &str = "correct-horse-battery-staple";

async fn api(server: &TestServer, method: &str, path: &str, body: &str) -> HttpResponse {
    let auth = format!("Bearer {TOKEN}");
    let mut headers = vec![("Authorization", auth.as_str())];
    if !body.is_empty() {
        headers.push(("Content-Type", "application/json"));
    }
    server
        .request(method, &format!("/admin/api/{path}"), &headers, body)
        .await
}

fn json(r: &HttpResponse) -> serde_json::Value {
    serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{e}: {:?}", r.body))
}

/// Parses the exposition strictly enough to catch a malformed line: every sample is
/// `name{labels} value` with a declared family, the text ends with `# EOF`. Returns the samples.
fn parse_openmetrics(text: &str) -> HashMap<String, f64> {
    let mut families = Vec::new();
    let mut samples = HashMap::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if line == "# EOF" {
            assert!(lines.peek().is_none(), "nothing after # EOF");
            return samples;
        }
        if let Some(rest) = line.strip_prefix("# ") {
            let mut words = rest.splitn(3, ' ');
            let kind = words.next().expect("comment kind");
            let family = words.next().expect("family name");
            assert!(
                matches!(kind, "TYPE" | "HELP" | "UNIT"),
                "unknown comment {line:?}"
            );
            if kind == "TYPE" {
                let t = words.next().expect("type");
                assert!(
                    matches!(t, "counter" | "gauge" | "histogram" | "info" | "unknown"),
                    "type {t}"
                );
                families.push(family.to_owned());
            }
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("sample has a value");
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("bad value in {line:?}"));
        let name = series.split('{').next().expect("name");
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "bad metric name in {line:?}"
        );
        if let Some(labels) = series.strip_prefix(name) {
            if !labels.is_empty() {
                assert!(
                    labels.starts_with('{') && labels.ends_with('}'),
                    "bad labels in {line:?}"
                );
            }
        }
        assert!(
            families.iter().any(|f| name.starts_with(f.as_str())),
            "sample {name} of an undeclared family"
        );
        samples.insert(series.to_owned(), value);
    }
    panic!("the exposition does not end with # EOF");
}

fn config_file(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().expect("temp file");
    f.write_all(text.as_bytes()).expect("write");
    f
}

#[tokio::test]
async fn admin_is_404_without_a_token_and_401_with_a_wrong_one() {
    let off = TestServer::start().await;
    assert_eq!(off.get("/admin").await.0, 404);
    assert_eq!(api(&off, "GET", "stats", "").await.status, 404);
    assert_eq!(
        api(&off, "POST", "stats", "").await.status,
        404,
        "not even a 405"
    );

    let server = TestServer::builder()
        .args(&["--admin-token", TOKEN])
        .start()
        .await;
    let page = server
        .request("GET", "/admin", &[("Accept-Language", "fr")], "")
        .await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Jeton d'administration"));
    assert!(page
        .header("content-security-policy")
        .is_some_and(|c| c.contains("script-src 'self'")));
    for auth in ["Bearer wrong", "Bearer ", "Basic abc", ""] {
        let headers: Vec<(&str, &str)> = if auth.is_empty() {
            vec![]
        } else {
            vec![("Authorization", auth)]
        };
        let r = server
            .request("GET", "/admin/api/stats", &headers, "")
            .await;
        assert_eq!(r.status, 401, "{auth:?}");
        assert!(r.header("www-authenticate").is_some());
    }
    assert_eq!(api(&server, "POST", "stats", "").await.status, 405);
    let stats = api(&server, "GET", "stats", "").await;
    assert_eq!(stats.status, 200);
    let stats = json(&stats);
    assert_eq!(stats["creation"]["open"], true);
    assert!(stats["signals"]["rooms"]["high"].is_u64());
}

#[tokio::test]
async fn the_override_closes_and_reopens_creation_through_the_api() {
    let file = config_file(
        "[[trusted_hosts]]\nname = \"Partner pads\"\nurl = \"https://partner.example/p/{name}\"\nweight = 3\n",
    );
    let path = file.path().to_str().expect("utf-8 path");
    let server = TestServer::builder()
        .args(&[
            "--config",
            path,
            "--admin-token",
            TOKEN,
            "--shedding-mode",
            "auto",
        ])
        .start()
        .await;
    let mut existing = Client::connect(&server, "existing").await;
    existing.insert(0, "kept").await;
    existing.barrier().await;

    let closed = api(&server, "PUT", "creation", r#"{"mode":"closed"}"#).await;
    assert_eq!(closed.status, 200, "{}", closed.body);
    assert_eq!(json(&closed)["open"], false);
    let refused = server.get("/p/brand-new?lang=en").await;
    assert_eq!(refused.0, 503);
    assert!(refused.1.contains("Partner pads") && refused.1.contains("https://partner.example"));
    let response = server.refused_upgrade("never-seen").await;
    assert_eq!(response.status(), 503);
    assert!(response.headers().get("retry-after").is_some());
    // Existing documents still sync and edit from two clients.
    let mut second = Client::connect(&server, "existing").await;
    assert_eq!(second.text(), "kept");
    second.insert(4, "!").await;
    existing.until("the edit", |c| c.text() == "kept!").await;

    let opened = api(&server, "PUT", "creation", r#"{"mode":"open"}"#).await;
    assert_eq!(json(&opened)["open"], true);
    assert_eq!(server.get("/p/brand-new").await.0, 200);
    let auto = api(&server, "PUT", "creation", r#"{"mode":"auto"}"#).await;
    assert_eq!(json(&auto)["mode"], "auto");
    let again = api(&server, "PUT", "creation", r#"{"mode":"closed"}"#).await;
    assert_eq!(json(&again)["open"], false);
    assert_eq!(server.get("/p/other-new").await.0, 503);
    assert_eq!(
        api(&server, "PUT", "creation", r#"{"mode":"sideways"}"#)
            .await
            .status,
        400
    );
}

#[tokio::test]
async fn search_lists_documents_with_sizes_and_live_connections_in_pages() {
    let server = TestServer::builder()
        .args(&["--admin-token", TOKEN])
        .start()
        .await;
    let mut live = Client::connect(&server, "class-a").await;
    live.insert(0, "hello").await;
    live.barrier().await;
    for name in ["class-b", "class-c", "other"] {
        assert_eq!(server.get(&format!("/p/{name}")).await.0, 200);
    }
    let first = json(&api(&server, "GET", "documents?prefix=class-&limit=2", "").await);
    let docs = first["documents"].as_array().expect("list");
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[0]["name"], "class-a");
    assert_eq!(docs[0]["kind"], "pad");
    assert_eq!(docs[0]["connections"], 1);
    assert!(docs[0]["bytes"].as_u64().expect("bytes") > 0);
    assert!(docs[0]["last_edit"].as_u64().expect("last edit") > 0);
    assert_eq!(first["next"], "class-b");
    let rest = json(&api(&server, "GET", "documents?prefix=class-&after=class-b", "").await);
    let names: Vec<&str> = rest["documents"]
        .as_array()
        .expect("list")
        .iter()
        .map(|d| d["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["class-c"]);
    assert!(rest["next"].is_null());
    assert_eq!(
        api(&server, "GET", "documents?prefix=no%20spaces", "")
            .await
            .status,
        400
    );
    let stats = json(&api(&server, "GET", "stats", "").await);
    assert_eq!(stats["stored_documents"], 4);
}

#[tokio::test]
async fn delete_disconnects_live_clients_with_4410_and_the_message() {
    let server = TestServer::builder()
        .args(&["--admin-token", TOKEN])
        .start()
        .await;
    let mut a = Client::connect(&server, "doomed").await;
    a.insert(0, "secret").await;
    a.barrier().await;
    let mut b = Client::connect(&server, "doomed").await;
    let r = api(
        &server,
        "DELETE",
        "documents/doomed",
        r#"{"message":"Removed after a complaint"}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    for c in [&mut a, &mut b] {
        let frame = c.closed_by_server().await.expect("a close frame");
        assert_eq!(frame.code, CloseCode::from(4410));
        assert_eq!(frame.reason.as_str(), "Removed after a complaint");
    }
    let list = json(&api(&server, "GET", "documents?prefix=doomed", "").await);
    assert!(list["documents"].as_array().expect("list").is_empty());
    let again = api(&server, "DELETE", "documents/doomed", "{}").await;
    assert_eq!(again.status, 404);
    // The name is free again: a new, empty pad.
    let fresh = Client::connect(&server, "doomed").await;
    assert_eq!(fresh.text(), "");
}

#[tokio::test]
async fn the_notice_reaches_open_pads_and_later_ones_without_breaking_sync() {
    let server = TestServer::builder()
        .args(&["--admin-token", TOKEN])
        .start()
        .await;
    let mut a = Client::connect(&server, "noticed").await;
    let r = api(
        &server,
        "PUT",
        "notice",
        r#"{"message":"Maintenance tonight at 22:00"}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let notice = |c: &Client| {
        c.received
            .iter()
            .filter_map(|f| ardoise::sync::protocol::notice_text(f).map(str::to_owned))
            .last()
    };
    a.until("the notice", |c| {
        notice(c).as_deref() == Some("Maintenance tonight at 22:00")
    })
    .await;
    // A pad opened afterwards gets it too, and both still sync: the notice is a message type
    // a stock client ignores.
    let mut b = Client::connect(&server, "noticed").await;
    b.until("the notice on join", |c| notice(c).is_some()).await;
    b.insert(0, "still syncing").await;
    a.until("b's edit", |c| c.text() == "still syncing").await;
    a.insert(0, ">").await;
    b.until("a's edit", |c| c.text() == ">still syncing").await;

    let cleared = api(&server, "DELETE", "notice", "").await;
    assert_eq!(cleared.status, 200);
    a.until("the withdrawal", |c| notice(c).as_deref() == Some(""))
        .await;
    let too_long = format!(r#"{{"message":"{}"}}"#, "x".repeat(501));
    assert_eq!(api(&server, "PUT", "notice", &too_long).await.status, 400);
}

#[tokio::test]
async fn a_flooding_connection_is_cut_and_its_neighbour_is_not() {
    let server = TestServer::builder()
        .args(&["--conn-messages-per-sec", "5"])
        .start()
        .await;
    let mut calm = Client::connect(&server, "shared").await;
    let mut flood = Client::connect(&server, "shared").await;
    // 5/s over 10 s is a budget of 50 messages: 200 awareness queries overspend it. Sends
    // after the cut may fail; only the close frame matters.
    for _ in 0..200 {
        flood
            .send_ws(WsMessage::Binary(ardoise::sync::protocol::query_awareness()))
            .await;
    }
    let frame = flood.closed_by_server().await.expect("a close frame");
    assert_eq!(frame.code, CloseCode::from(1013));
    assert!(
        frame.reason.contains("too many messages"),
        "{}",
        frame.reason
    );
    calm.insert(0, "unaffected").await;
    calm.barrier().await;
    let other = Client::connect(&server, "shared").await;
    assert_eq!(other.text(), "unaffected");
    let metrics = parse_openmetrics(&server.get("/metrics").await.1);
    assert_eq!(metrics["ardoise_rate_limited_connections_total"], 1.0);
}

#[tokio::test]
async fn per_address_limits_answer_429_and_trust_the_proxy_only_when_told() {
    let limited = ["--ip-requests-per-sec", "1", "--ip-upgrades-per-sec", "1"];
    let server = TestServer::builder()
        .args(&[&limited[..], &["--trust-proxy"]].concat())
        .start()
        .await;
    let from = |ip: &'static str| [("X-Forwarded-For", ip)];
    // The budget is ten seconds of one per second: the first eleven requests pass (the
    // eleventh into debt), and a refusal follows unless every request took a second.
    let mut passed = 0;
    let refused = loop {
        let r = server
            .request("GET", "/", &from("198.51.100.1, 203.0.113.9"), "")
            .await;
        if r.status == 429 {
            break r;
        }
        assert_eq!(r.status, 200);
        passed += 1;
        assert!(passed < 40, "never limited");
    };
    assert!(passed >= 11, "refused after {passed}");
    let secs: u64 = refused
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in seconds");
    assert!((1..=2).contains(&secs), "{secs}");
    // The rightmost entry is the client: the forged one to its left does not matter.
    let neighbour = server
        .request("GET", "/", &from("203.0.113.9, 198.51.100.2"), "")
        .await;
    assert_eq!(neighbour.status, 200);
    // Upgrades have their own budget.
    let upgrade = server
        .request(
            "GET",
            "/ws/some-pad",
            &[("X-Forwarded-For", "203.0.113.9")],
            "",
        )
        .await;
    assert_eq!(
        upgrade.status, 400,
        "counted as an upgrade, refused as not one"
    );
    let metrics = parse_openmetrics(&server.get("/metrics").await.1);
    assert_eq!(
        metrics["ardoise_refusals_total{reason=\"request_rate\"}"],
        1.0
    );

    // Without --trust-proxy the header is ignored: these all come from loopback, which is
    // never limited (it is the proxy itself).
    let direct = TestServer::builder().args(&limited).start().await;
    for _ in 0..15 {
        let r = direct.request("GET", "/", &from("203.0.113.9"), "").await;
        assert_eq!(r.status, 200);
    }
}

#[tokio::test]
async fn metrics_parse_and_move_with_load() {
    let server = TestServer::start().await;
    let before = parse_openmetrics(&server.get("/metrics").await.1);
    assert_eq!(before["ardoise_connections"], 0.0);
    assert_eq!(before["ardoise_stored_documents"], 0.0);
    assert!(before["ardoise_resident_memory_bytes"] > 0.0);
    for reason in ["creation_closed", "request_rate", "upgrade_rate"] {
        assert!(before.contains_key(&format!("ardoise_refusals_total{{reason=\"{reason}\"}}")));
    }
    let mut clients = Vec::new();
    for name in ["m1", "m2", "m2"] {
        let mut c = Client::connect(&server, name).await;
        c.insert(0, "x").await;
        c.barrier().await;
        clients.push(c);
    }
    let after = parse_openmetrics(&server.get("/metrics").await.1);
    assert_eq!(after["ardoise_connections"], 3.0);
    assert_eq!(after["ardoise_rooms"], 2.0);
    assert_eq!(after["ardoise_stored_documents"], 2.0);
    assert!(after.contains_key("ardoise_admission_signal{signal=\"memory_mib\"}"));
}

/// The lease length of `cluster::node`'s nodes.
const NODE_LEASE_SECS: u64 = 2;

/// The nodes `server` lists: (id, this_node, alive), in its order.
async fn listed_nodes(server: &TestServer) -> Vec<(String, bool, bool)> {
    let r = api(server, "GET", "nodes", "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let view = json(&r);
    assert_eq!(view["others_unavailable"], false);
    view["nodes"]
        .as_array()
        .expect("a list of nodes")
        .iter()
        .map(|n| {
            (
                n["id"].as_str().unwrap_or("(none)").to_owned(),
                n["this_node"] == true,
                n["alive"] == true,
            )
        })
        .collect()
}

/// Waits until `server` lists `want`. Nodes report on their own timers, to the database's
/// clock: there is no event to await, so this polls within a bound.
async fn until_listed(server: &TestServer, want: &[(&str, bool, bool)], within: Duration) {
    let want: Vec<_> = want
        .iter()
        .map(|(id, this, alive)| ((*id).to_owned(), *this, *alive))
        .collect();
    let want = &want;
    eventually(within, move || async move {
        let got = listed_nodes(server).await;
        if got == *want {
            Ok(())
        } else {
            Err(format!("listed {got:?}, wanted {want:?}"))
        }
    })
    .await;
}

#[tokio::test]
async fn a_server_alone_lists_itself_with_its_live_figures() {
    let server = TestServer::builder()
        .args(&["--admin-token", TOKEN])
        .start()
        .await;
    let mut client = Client::connect(&server, "nodes-alone").await;
    client.insert(0, "x").await;
    client.barrier().await;
    let r = api(&server, "GET", "nodes", "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let view = json(&r);
    let nodes = view["nodes"].as_array().expect("a list");
    assert_eq!(nodes.len(), 1, "{view}");
    let me = &nodes[0];
    assert_eq!(me["id"], serde_json::Value::Null, "no --node-id");
    assert_eq!(me["this_node"], true);
    assert_eq!(me["alive"], true);
    assert_eq!(me["rooms"], 1);
    assert_eq!(me["connections"], 1);
    assert_eq!(me["creation"]["open"], true);
    // The test servers start with creation forced open; the stats say the same.
    let stats = json(&api(&server, "GET", "stats", "").await);
    assert_eq!(me["creation"], stats["creation"]);
    assert_eq!(me["version"], env!("CARGO_PKG_VERSION"));
    assert!(me["url"]
        .as_str()
        .is_some_and(|u| u.starts_with("http://127.0.0.1:")));
    assert_eq!(api(&server, "POST", "nodes", "").await.status, 405);
    let anonymous = server.request("GET", "/admin/api/nodes", &[], "").await;
    assert_eq!(anonymous.status, 401);
}

#[tokio::test]
async fn nodes_on_one_database_list_each_other_and_show_a_dead_one_as_not_answering() {
    let url = crate::store_engines::pg_cluster::shared().fresh_url();
    let with_token = |b: crate::server::Builder| b.args(&["--admin-token", TOKEN]);
    let a = with_token(crate::cluster::node(&url, "a")).start().await;
    let b = with_token(crate::cluster::node_on_any_port(&url, "b"))
        .start()
        .await;
    let mut c = with_token(crate::cluster::node(&url, "c")).start().await;
    // Each node reports at once, then every third of a lease.
    let within = Duration::from_secs(NODE_LEASE_SECS * 5);
    until_listed(
        &a,
        &[("a", true, true), ("b", false, true), ("c", false, true)],
        within,
    )
    .await;
    until_listed(
        &b,
        &[("b", true, true), ("a", false, true), ("c", false, true)],
        within,
    )
    .await;
    // Another node's figures are its own, as it reported them.
    let mut on_b = Client::connect(&b, "nodes-load").await;
    on_b.insert(0, "x").await;
    on_b.barrier().await;
    let seen_b = eventually(within, || async {
        let view = json(&api(&a, "GET", "nodes", "").await);
        let seen_b = view["nodes"]
            .as_array()
            .and_then(|n| n.iter().find(|n| n["id"] == "b").cloned())
            .expect("b listed");
        if seen_b["rooms"] == 1 && seen_b["connections"] == 1 {
            Ok(seen_b)
        } else {
            Err(format!("b's load never reached a: {seen_b}"))
        }
    })
    .await;
    assert!(seen_b["url"]
        .as_str()
        .is_some_and(|u| u.starts_with("http://127.0.0.1:")));
    assert!(seen_b["seen_secs_ago"].as_u64().is_some());
    // A node that dies stays listed, as not answering, once three leases pass without a report;
    // one stopped cleanly withdraws its row.
    c.kill9().await;
    let status = b.stop().await;
    assert!(status.success(), "b exited with {status}");
    until_listed(
        &a,
        &[("a", true, true), ("c", false, false)],
        Duration::from_secs(NODE_LEASE_SECS * 3 + 10),
    )
    .await;
}
