//! The Etherpad-compatible API end to end, called the way Etherpad's documentation shows:
//! GET with the key in the query, POST forms, `Authorization` headers, every error code with
//! Etherpad's status, edits seen by a live client, chat written by a client, revisions, and a
//! stock `curl` against the running server.

use serde_json::Value;
use yrs::{Any, Array, Map, Transact};

use crate::api::{call as v1, json, KEY, KEY_SHA256};
use crate::client::Client;
use crate::server::{HttpResponse, TestServer, PATIENCE};

async fn server() -> TestServer {
    TestServer::builder()
        .args(&["--api-key-sha256", KEY_SHA256])
        .start()
        .await
}

/// `GET path` without a key of its own; the answer's status and JSON.
async fn get(server: &TestServer, path: &str) -> (u16, Value) {
    answer(server.request("GET", path, &[], "").await)
}

/// `GET /api/1.3.0/{function}?apikey=KEY&{query}`; the answer's `data` once its code is 0.
async fn ok(server: &TestServer, function: &str, query: &str) -> Value {
    let (status, v) = get(
        server,
        &format!("/api/1.3.0/{function}?apikey={KEY}&{query}"),
    )
    .await;
    assert_eq!(
        (status, &v["code"], &v["message"]),
        (200, &0.into(), &"ok".into()),
        "{v}"
    );
    v["data"].clone()
}

/// `GET /api/1.3.0/{function}?apikey=KEY&{query}`, expected to fail with `code` and `status`;
/// its message.
async fn fails(server: &TestServer, function: &str, query: &str, code: u8, status: u16) -> String {
    let (got, v) = get(
        server,
        &format!("/api/1.3.0/{function}?apikey={KEY}&{query}"),
    )
    .await;
    assert_eq!(
        (got, &v["code"], &v["data"]),
        (status, &code.into(), &Value::Null),
        "{v}"
    );
    v["message"].as_str().expect("a message").to_owned()
}

fn answer(r: HttpResponse) -> (u16, Value) {
    assert_eq!(
        r.header("content-type"),
        Some("application/json"),
        "{} {}",
        r.status,
        r.body
    );
    assert_eq!(r.header("cache-control"), Some("no-store"), "{}", r.body);
    (r.status, json(&r))
}

#[tokio::test]
async fn calls_shaped_like_etherpads_documentation() {
    let server = server().await;
    let (status, v) = get(&server, "/api").await;
    assert_eq!(
        (status, v),
        (200, serde_json::json!({"currentVersion": "1.3.0"}))
    );

    // The documentation's first example, on version 1.
    let (status, v) = get(
        &server,
        &format!("/api/1/createPad?apikey={KEY}&padID=x&text=hi"),
    )
    .await;
    assert_eq!(
        (status, &v["code"], &v["data"]),
        (200, &0.into(), &Value::Null),
        "{v}"
    );
    let (_, v) = get(
        &server,
        &format!("/api/1.2.13/getText?api_key={KEY}&padID=x"),
    )
    .await;
    assert_eq!(
        v["data"]["text"].as_str().map(str::trim_end),
        Some("hi"),
        "{v}"
    );

    // A POST form with the key in the body, and the key in an Authorization header.
    let form = format!("apikey={KEY}&padID=x&text=Bonjour+%C3%A0+tous");
    let (_, v) = answer(server.post_form("/api/1.2.13/setText", &form).await);
    assert_eq!(v["code"], 0, "{v}");
    for auth in [KEY.to_owned(), format!("Bearer {KEY}")] {
        let headers = [
            ("Authorization", auth.as_str()),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ];
        let r = server
            .request(
                "POST",
                "/api/1.2.13/appendText",
                &headers,
                "padID=x&text=%21",
            )
            .await;
        assert_eq!(answer(r).1["code"], 0);
    }
    let text = ok(&server, "getText", "padID=x").await;
    assert_eq!(
        text["text"].as_str().map(str::trim_end),
        Some("Bonjour à tous!!")
    );
    let html = ok(&server, "getHTML", "padID=x").await;
    assert!(
        html["html"]
            .as_str()
            .is_some_and(|h| h.contains("Bonjour à tous!!")),
        "{html}"
    );

    // Metadata: the same read-only token and last edit as /api/v1.
    let link = json(&v1(&server, "GET", "/documents/x/read-only-link", "").await);
    let ro = ok(&server, "getReadOnlyID", "padID=x").await;
    assert_eq!(ro["readOnlyID"], link["token"]);
    let info = json(&v1(&server, "GET", "/documents/x", "").await);
    let edited = ok(&server, "getLastEdited", "padID=x").await;
    assert_eq!(
        edited["lastEdited"].as_u64(),
        info["last_edit"].as_u64().map(|s| s * 1000)
    );
    assert_eq!(
        ok(&server, "padUsersCount", "padID=x").await["padUsersCount"],
        0
    );
    assert_eq!(ok(&server, "checkToken", "").await, Value::Null);

    // Creating it again, or under an id that is not an ardoise name, is refused.
    let m = fails(&server, "createPad", "padID=x", 1, 200).await;
    assert_eq!(m, "padID does already exist");
    let m = fails(&server, "createPad", "padID=a%20b", 1, 200).await;
    assert!(
        m.starts_with("padID did not match requirements") && m.contains("letters"),
        "{m}"
    );

    assert_eq!(ok(&server, "deletePad", "padID=x").await, Value::Null);
    let m = fails(&server, "getText", "padID=x", 1, 200).await;
    assert_eq!(m, "padID does not exist");
    assert_eq!(v1(&server, "GET", "/documents/x", "").await.status, 404);
}

#[tokio::test]
async fn errors_carry_etherpads_codes_and_statuses() {
    let server = server().await;
    ok(&server, "createPad", "padID=here").await;
    // Keys: wrong, missing, in a header.
    for (path, headers) in [
        ("/api/1/getText?apikey=wrong&padID=here", vec![]),
        ("/api/1/getText?padID=here", vec![]),
        (
            "/api/1/getText?padID=here",
            vec![("Authorization", "Bearer wrong")],
        ),
    ] {
        let (status, v) = answer(server.request("GET", path, &headers, "").await);
        assert_eq!((status, &v["code"]), (401, &4.into()), "{path}: {v}");
        assert_eq!(v["message"], "no or wrong API key");
    }
    // Parameters, functions, versions.
    assert_eq!(
        fails(&server, "getText", "", 1, 200).await,
        "padID is required"
    );
    assert_eq!(
        fails(&server, "setText", "padID=here", 1, 200).await,
        "text is required"
    );
    let m = fails(&server, "getText", "padID=here&rev=x", 1, 200).await;
    assert!(m.contains("rev"), "{m}");
    let m = fails(&server, "getText", "padID=here&rev=999999", 1, 200).await;
    assert_eq!(m, "rev is not a revision of this pad");
    for group in [
        "createGroup",
        "createAuthor",
        "createSession",
        "listSessionsOfGroup",
    ] {
        let m = fails(&server, group, "groupID=g", 3, 404).await;
        assert!(m.contains("ardoise has no groups"), "{m}");
    }
    assert_eq!(fails(&server, "nope", "", 3, 404).await, "no such function");
    let (status, v) = get(
        &server,
        &format!("/api/9.9/getText?apikey={KEY}&padID=here"),
    )
    .await;
    assert_eq!(
        (status, &v["code"], &v["message"]),
        (404, &3.into(), &"no such api version".into())
    );
    // appendText came with 1.2.13.
    let (_, v) = get(
        &server,
        &format!("/api/1.2.12/appendText?apikey={KEY}&padID=here&text=a"),
    )
    .await;
    assert_eq!(v["code"], 3, "{v}");
    // A calc is not a pad.
    v1(
        &server,
        "POST",
        "/documents",
        r#"{"name":"grid","kind":"calc"}"#,
    )
    .await;
    let m = fails(&server, "getText", "padID=grid", 1, 200).await;
    assert!(m.contains("calc"), "{m}");
    // Another body than a form is said, not ignored.
    let headers = [("Content-Type", "application/json")];
    let path = format!("/api/1/setText?apikey={KEY}");
    let r = server
        .request("POST", &path, &headers, r#"{"padID":"here","text":"x"}"#)
        .await;
    let (status, v) = answer(r);
    assert_eq!((status, &v["code"]), (200, &1.into()), "{v}");
    assert!(v["message"]
        .as_str()
        .is_some_and(|m| m.contains("x-www-form-urlencoded")));
}

/// Sends only the head of a `method` request announcing a 1 GiB form body, and reads the
/// answer: the server must answer without waiting for the body.
async fn announce_a_gigabyte(server: &TestServer, method: &str, path: &str) -> (u16, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connects");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1073741824\r\n\r\n"
    );
    tcp.write_all(head.as_bytes()).await.expect("writes");
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    // Read up to the end of the JSON answer; the server may keep the socket open for the body.
    let read = async {
        loop {
            let n = tcp.read(&mut buf).await.expect("reads");
            raw.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&raw);
            if n == 0 || text.ends_with('}') {
                break;
            }
        }
    };
    tokio::time::timeout(PATIENCE, read)
        .await
        .expect("answered without the body");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("a head");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status");
    (
        status,
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {text}")),
    )
}

#[tokio::test]
async fn the_key_is_checked_before_the_body_and_the_limit_before_a_key_in_the_body() {
    let server = server().await;
    // A wrong key in the query: refused from the head, the announced gigabyte never read.
    let path = "/api/1/setText?apikey=wrong&padID=p";
    for method in ["GET", "POST"] {
        let (status, v) = announce_a_gigabyte(&server, method, path).await;
        assert_eq!((status, &v["code"]), (401, &4.into()), "{method}: {v}");
    }
    // No key outside the body: the body is refused by its declared size before being read.
    let (status, v) = announce_a_gigabyte(&server, "POST", "/api/1/setText").await;
    assert_eq!((status, &v["code"]), (200, &1.into()), "{v}");
    assert!(
        v["message"]
            .as_str()
            .is_some_and(|m| m.contains("too large")),
        "{v}"
    );
    // And a server without a key answers every call as locked.
    let open = TestServer::start().await;
    let (status, v) = get(&open, "/api/1.2/checkToken?apikey=anything").await;
    assert_eq!((status, &v["code"]), (401, &4.into()), "{v}");
}

#[tokio::test]
async fn set_text_is_seen_by_a_live_client() {
    let server = server().await;
    ok(&server, "createPad", "padID=live&text=old").await;
    let mut client = Client::connect(&server, "live").await;
    assert_eq!(client.text().trim_end(), "old");
    assert_eq!(
        ok(&server, "padUsersCount", "padID=live").await["padUsersCount"],
        1
    );
    ok(&server, "setText", "padID=live&text=new+text").await;
    client
        .until("the API's setText", |c| c.text().trim_end() == "new text")
        .await;
    ok(&server, "appendText", "padID=live&text=%0Amore").await;
    client
        .until("the API's appendText", |c| {
            c.text().trim_end() == "new text\nmore"
        })
        .await;
}

#[tokio::test]
async fn list_all_pads_lists_every_pad_and_no_calc() {
    let server = server().await;
    let mut expected = Vec::new();
    for i in 0..5 {
        let name = format!("pad{i}");
        ok(&server, "createPad", &format!("padID={name}")).await;
        expected.push(name);
    }
    v1(
        &server,
        "POST",
        "/documents",
        r#"{"name":"grid","kind":"calc"}"#,
    )
    .await;
    let listed = ok(&server, "listAllPads", "").await;
    let mut names: Vec<String> = listed["padIDs"]
        .as_array()
        .expect("padIDs")
        .iter()
        .map(|v| v.as_str().expect("a name").to_owned())
        .collect();
    names.sort();
    assert_eq!(names, expected);
}

#[tokio::test]
async fn chat_and_authors_written_by_a_client_are_read_back() {
    let server = server().await;
    ok(&server, "createPad", "padID=talk").await;
    let mut client = Client::connect(&server, "talk").await;
    {
        let authors = client.doc.get_or_insert_map("authors");
        let chat = client.doc.get_or_insert_array("chat");
        let client_id = client.doc.client_id().to_string();
        let mut txn = client.doc.transact_mut();
        let entry = |pairs: &[(&str, Any)]| {
            Any::from(
                pairs
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), v.clone()))
                    .collect::<std::collections::HashMap<_, _>>(),
            )
        };
        authors.insert(
            &mut txn,
            client_id,
            entry(&[
                ("id", "a.ana".into()),
                ("name", "Ana".into()),
                ("color", "#aa3355".into()),
            ]),
        );
        for (i, text) in ["bonjour", "ça va ?", "oui"].into_iter().enumerate() {
            let ts = 1_700_000_000_000.0 + i as f64;
            chat.push_back(
                &mut txn,
                entry(&[
                    ("author", "Ana".into()),
                    ("text", text.into()),
                    ("ts", ts.into()),
                ]),
            );
        }
    }
    client.push_local().await;
    client.barrier().await;

    assert_eq!(
        ok(&server, "listAuthorsOfPad", "padID=talk").await["authorIDs"],
        serde_json::json!(["a.ana"])
    );
    let all = ok(&server, "getChatHistory", "padID=talk").await;
    let messages = all["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), 3, "{all}");
    assert_eq!(messages[1]["text"], "ça va ?");
    assert_eq!(messages[1]["userName"], "Ana");
    assert_eq!(messages[1]["time"], 1_700_000_000_001.0);
    assert!(messages[1]
        .as_object()
        .is_some_and(|m| m.contains_key("userId")));
    let some = ok(&server, "getChatHistory", "padID=talk&start=1&end=2").await;
    let texts: Vec<&str> = some["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter_map(|m| m["text"].as_str())
        .collect();
    assert_eq!(texts, ["ça va ?", "oui"]);
    let m = fails(
        &server,
        "getChatHistory",
        "padID=talk&start=2&end=3",
        1,
        200,
    )
    .await;
    assert_eq!(m, "end is higher than the current chatHead");
    let m = fails(
        &server,
        "getChatHistory",
        "padID=talk&start=2&end=1",
        1,
        200,
    )
    .await;
    assert_eq!(m, "start is higher than end");
}

/// The number `getRevisionsCount` answers.
async fn revisions(server: &TestServer, pad: &str) -> u64 {
    let data = ok(server, "getRevisionsCount", &format!("padID={pad}")).await;
    data["revisions"].as_u64().expect("a number")
}

/// Asks until `getRevisionsCount` passes `than`: an edit becomes a revision once the text has
/// been quiet for a second (`doc::history::QUIET_MS`).
async fn revisions_above(server: &TestServer, pad: &str, than: u64) -> u64 {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let now = revisions(server, pad).await;
        if now > than {
            return now;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still {now} revisions"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn the_revisions_count_increases_and_old_revisions_read_back() {
    let server = server().await;
    ok(&server, "createPad", "padID=revs&text=first").await;
    let first = revisions_above(&server, "revs", 0).await;
    ok(&server, "setText", "padID=revs&text=second").await;
    let second = revisions_above(&server, "revs", first).await;
    let old = ok(&server, "getText", &format!("padID=revs&rev={first}")).await;
    assert_eq!(old["text"].as_str().map(str::trim_end), Some("first"));
    let now = ok(&server, "getText", &format!("padID=revs&rev={second}")).await;
    assert_eq!(now["text"].as_str().map(str::trim_end), Some("second"));
}

#[tokio::test]
async fn set_html_goes_through_the_pad_import_and_the_room() {
    let server = server().await;
    ok(&server, "createPad", "padID=web&text=before").await;
    let before = revisions_above(&server, "web", 0).await;
    let mut client = Client::connect(&server, "web").await;
    let html = "<h1>Le titre</h1><p>Un <b>mot</b> gras<script>alert(1)</script></p>\
                <ul><li>un</li><li>deux</li></ul>";
    let form = format!("apikey={KEY}&padID=web&html={}", urlencode(html));
    let (_, v) = answer(server.post_form("/api/1.3.0/setHTML", &form).await);
    assert_eq!(v["code"], 0, "{v}");
    client
        .until("the imported HTML", |c| c.text().starts_with("Le titre\n"))
        .await;
    let text = ok(&server, "getText", "padID=web").await["text"].clone();
    let text = text.as_str().expect("text");
    assert!(
        text.contains("Un mot gras") && text.contains("deux"),
        "{text}"
    );
    assert!(!text.contains("alert"), "scripts are dropped: {text}");
    let got = ok(&server, "getHTML", "padID=web").await["html"].clone();
    let got = got.as_str().expect("html");
    assert!(
        got.contains(">Le titre</h1>") && got.contains("<strong>mot</strong>"),
        "{got}"
    );
    assert!(got.contains(">deux</li>"), "{got}");
    // The text before the import stays a revision.
    let old = ok(&server, "getText", &format!("padID=web&rev={before}")).await;
    assert_eq!(old["text"].as_str().map(str::trim_end), Some("before"));
    // HTML the reader refuses is said (code 1) and changes nothing.
    let deep = "<div>".repeat(1000);
    let form = format!("apikey={KEY}&padID=web&html={}", urlencode(&deep));
    let (status, v) = answer(server.post_form("/api/1.3.0/setHTML", &form).await);
    assert_eq!((status, &v["code"]), (200, &1.into()), "{v}");
    assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    assert!(ok(&server, "getText", "padID=web").await["text"]
        .as_str()
        .is_some_and(|t| t.starts_with("Le titre")));
    assert_eq!(
        fails(&server, "setHTML", "padID=web", 1, 200).await,
        "html is required"
    );
}

/// `s` as a form value: every byte but unreserved ASCII percent-encoded.
fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Runs `curl` with `args`; its standard output, or `None` when curl is not installed.
fn curl(args: &[&str]) -> Option<String> {
    let out = match std::process::Command::new("curl").args(args).output() {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => panic!("curl did not run: {e}"),
    };
    assert!(
        out.status.success(),
        "curl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8(out.stdout).expect("UTF-8 answer"))
}

#[tokio::test]
async fn a_stock_curl_client_as_in_etherpads_documentation() {
    let server = server().await;
    let base = format!("http://{}/api/1.2.13", server.addr);
    let script = move || -> Option<Vec<Value>> {
        let parse = |s: String| serde_json::from_str::<Value>(&s).expect("JSON");
        Some(vec![
            parse(curl(&[
                "-sS",
                &format!("{base}/createPad?apikey={KEY}&padID=curl&text=hello"),
            ])?),
            parse(curl(&[
                "-sS",
                "-X",
                "POST",
                "--data-urlencode",
                "text= world",
                "-d",
                "padID=curl",
                "-d",
                &format!("apikey={KEY}"),
                &format!("{base}/appendText"),
            ])?),
            parse(curl(&[
                "-sS",
                "-H",
                &format!("Authorization: {KEY}"),
                &format!("{base}/getText?padID=curl"),
            ])?),
            parse(curl(&[
                "-sS",
                &format!("{base}/getText?apikey=nope&padID=curl"),
            ])?),
        ])
    };
    let Some(answers) = tokio::task::spawn_blocking(script).await.expect("joins") else {
        eprintln!("SKIPPED: curl is not installed; the stock-client test needs it");
        return;
    };
    assert_eq!(answers[0]["code"], 0, "{}", answers[0]);
    assert_eq!(answers[1]["code"], 0, "{}", answers[1]);
    assert_eq!(
        answers[2]["data"]["text"].as_str().map(str::trim_end),
        Some("hello world")
    );
    assert_eq!(answers[3]["code"], 4);
}

#[tokio::test]
async fn an_etherpad_id_finds_the_pad_migrated_under_its_foreign_name() {
    let server = server().await;
    let id = "Réunion du 3/12 $x";
    let name = ardoise::doc::name::DocName::foreign(id).expect("a name");
    assert_ne!(name.as_str(), id);
    let body = format!(r#"{{"name":"{}"}}"#, name.as_str());
    assert_eq!(v1(&server, "POST", "/documents", &body).await.status, 201);
    v1(
        &server,
        "PUT",
        &format!("/documents/{}/text", name.as_str()),
        r#"{"text":"ordre du jour"}"#,
    )
    .await;
    let encoded = "R%C3%A9union+du+3%2F12+%24x";
    let text = ok(&server, "getText", &format!("padID={encoded}")).await;
    assert_eq!(
        text["text"].as_str().map(str::trim_end),
        Some("ordre du jour")
    );
    let listed = ok(&server, "listAllPads", "").await;
    assert_eq!(listed["padIDs"], serde_json::json!([name.as_str()]));
}
