//! Bad input closes only the connection that sent it; the room and the server go on.

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use yrs::{Doc, ReadTxn, StateVector, Text, Transact};

use crate::client::Client;
use crate::server::{TestServer, PATIENCE};

/// Sends `frame` from a fresh connection, expects close code `code`, and checks that a
/// bystander in the same room still edits normally.
async fn closes_only_sender(
    server: &TestServer,
    room: &str,
    bystander: &mut Client,
    frame: WsMessage,
    code: u16,
) {
    let mut bad = Client::connect(server, room).await;
    bad.send_ws(frame.clone()).await;
    let close = bad.closed_by_server().await;
    let got = close.as_ref().map(|f| u16::from(f.code));
    assert_eq!(got, Some(code), "frame {frame:?} closed with {close:?}");
    let before = bystander.text();
    bystander.insert(0, "+").await;
    bystander.barrier().await;
    assert_eq!(bystander.text(), format!("+{before}"));
}

fn valid_update() -> Vec<u8> {
    let doc = Doc::new();
    doc.get_or_insert_text("content")
        .insert(&mut doc.transact_mut(), 0, "some text here");
    let update = doc
        .transact()
        .encode_state_as_update_v1(&StateVector::default());
    update
}

#[tokio::test]
async fn every_malformed_message_closes_only_its_connection() {
    let server = TestServer::start().await;
    let mut bystander = Client::connect(&server, "malformed").await;
    let update = valid_update();
    let truncated = {
        let mut f = bytes::BytesMut::new();
        ardoise::sync::protocol::put_var_uint(&mut f, 0);
        ardoise::sync::protocol::put_var_uint(&mut f, 2);
        ardoise::sync::protocol::put_var_bytes(&mut f, &update[..update.len() / 2]);
        f.freeze()
    };
    let mut trailing = ardoise::sync::protocol::sync_update(&update).to_vec();
    trailing.extend_from_slice(&[1, 2, 3]);
    let garbage_awareness = {
        let mut p = bytes::BytesMut::new();
        ardoise::sync::protocol::put_var_uint(&mut p, 1);
        ardoise::sync::protocol::put_var_uint(&mut p, 42);
        ardoise::sync::protocol::put_var_uint(&mut p, 1);
        ardoise::sync::protocol::put_var_bytes(&mut p, b"{\"a\":");
        ardoise::sync::protocol::awareness(&p)
    };
    // yrs would recurse once per level and overflow the stack: the process would abort.
    let deeply_nested = {
        let mut u = vec![1, 1, 1, 0, 8, 1, 1, b'x', 1];
        for _ in 0..100_000 {
            u.extend([117, 1]);
        }
        u.extend([126, 0]);
        ardoise::sync::protocol::sync_update(&u)
    };
    let cases: Vec<(&str, Bytes)> = vec![
        ("deeply nested values", deeply_nested),
        ("bad varint", Bytes::from(vec![0x80; 12])),
        (
            "length past the buffer",
            Bytes::from(vec![0, 2, 0x7f, 1, 2, 3]),
        ),
        ("unknown sync subtype", Bytes::from(vec![0, 9, 1, 0])),
        ("truncated update", truncated),
        ("garbage awareness JSON", garbage_awareness),
        ("trailing bytes", Bytes::from(trailing)),
        ("empty frame", Bytes::new()),
        (
            "garbage update",
            ardoise::sync::protocol::sync_update(&[0xff; 40]),
        ),
        (
            "garbage state vector",
            ardoise::sync::protocol::sync_step1(&[0xff, 0xff, 0xff]),
        ),
    ];
    for (what, frame) in cases {
        eprintln!("case: {what}");
        closes_only_sender(
            &server,
            "malformed",
            &mut bystander,
            WsMessage::Binary(frame),
            1008,
        )
        .await;
    }
    assert_eq!(server.get("/healthz").await, (200, "ok".into()));
}

#[tokio::test]
async fn text_frames_are_refused() {
    let server = TestServer::start().await;
    let mut bystander = Client::connect(&server, "text").await;
    closes_only_sender(
        &server,
        "text",
        &mut bystander,
        WsMessage::Text("hello".into()),
        1003,
    )
    .await;
}

#[tokio::test]
async fn oversized_messages_are_refused() {
    let server = TestServer::builder()
        .args(&["--max-message-bytes", "4096"])
        .start()
        .await;
    let mut bystander = Client::connect(&server, "big").await;
    let frame = ardoise::sync::protocol::sync_update(&vec![0u8; 8192]);
    closes_only_sender(
        &server,
        "big",
        &mut bystander,
        WsMessage::Binary(frame),
        1009,
    )
    .await;
}

#[tokio::test]
async fn unknown_message_types_are_ignored() {
    let server = TestServer::start().await;
    let mut c = Client::connect(&server, "unknown-type").await;
    c.send(Bytes::from_static(&[2, 0, 3, 1, 2, 3])).await;
    c.send(Bytes::from_static(&[77, 1])).await;
    c.insert(0, "fine").await;
    c.barrier().await;
    assert!(c.closed.is_none());
}

#[tokio::test]
async fn growth_past_the_document_limit_is_refused_and_content_stays() {
    let server = TestServer::builder()
        .args(&["--max-doc-bytes", "20000"])
        .start()
        .await;
    let mut a = Client::connect(&server, "limit").await;
    a.insert(0, &"a".repeat(5000)).await;
    a.barrier().await;
    a.insert(0, &"b".repeat(30000)).await;
    let frame = a.closed_by_server().await.expect("close frame");
    assert_eq!(u16::from(frame.code), 1009);
    assert!(frame.reason.contains("size limit"), "{}", frame.reason);
    let b = Client::connect(&server, "limit").await;
    assert_eq!(b.text(), "a".repeat(5000));
}

/// Performs a WebSocket handshake by hand so the test can then break the framing rules.
async fn raw_socket(server: &TestServer, name: &str) -> TcpStream {
    let mut tcp = TcpStream::connect(server.addr).await.expect("connects");
    let request = format!(
        "GET /ws/{name} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        server.addr
    );
    tcp.write_all(request.as_bytes()).await.expect("writes");
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        tcp.read_exact(&mut byte).await.expect("handshake response");
        head.push(byte[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    tcp
}

/// Reads until the server drops the connection.
async fn until_eof(tcp: &mut TcpStream) {
    let mut buf = vec![0u8; 64 * 1024];
    let done = tokio::time::timeout(PATIENCE, async {
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(
        done.is_ok(),
        "server kept a protocol-violating connection open"
    );
}

fn masked(first: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [1u8, 2, 3, 4];
    let mut frame = vec![first, 0x80 | payload.len() as u8];
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    frame
}

#[tokio::test]
async fn rfc6455_violations_do_not_stop_the_server() {
    let server = TestServer::start().await;
    let mut bystander = Client::connect(&server, "rfc").await;
    let mut huge_length = vec![0x82, 0x80 | 127];
    huge_length.extend_from_slice(&0x7fff_ffff_ffff_ffffu64.to_be_bytes());
    huge_length.extend_from_slice(&[1, 2, 3, 4]);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("64-bit length", huge_length),
        ("reserved opcode", masked(0x83, b"abc")),
        ("reserved control opcode", masked(0x8b, b"")),
        ("unmasked client frame", vec![0x82, 0x03, 0, 0, 0]),
        ("fragmented control frame", masked(0x09, b"ping")),
        ("reserved bits", masked(0xc2, b"abc")),
        ("continuation without start", masked(0x80, b"abc")),
    ];
    for (what, bytes) in cases {
        eprintln!("case: {what}");
        let mut tcp = raw_socket(&server, "rfc").await;
        tcp.write_all(&bytes).await.expect("writes");
        until_eof(&mut tcp).await;
        bystander.insert(0, "+").await;
        bystander.barrier().await;
    }
    assert_eq!(server.get("/healthz").await, (200, "ok".into()));
    assert_eq!(bystander.text(), "+".repeat(7));
}

#[tokio::test]
async fn a_reader_that_never_reads_is_cut_and_memory_stays_bounded() {
    let server = TestServer::builder()
        .args(&["--outbound-queue-bytes", "524288"])
        .start()
        .await;
    let mut writer = Client::connect(&server, "slow").await;
    let mut reader = Client::connect(&server, "slow").await;
    let mut stuck = Vec::new();
    for _ in 0..16 {
        // Joined and synced, then never read again.
        stuck.push(Client::connect(&server, "slow").await);
    }
    let rss_before = server.rss_kib();
    let total = 200 * 50 * 1024;
    let reading = tokio::spawn(async move {
        reader
            .until("everything", |c| {
                c.content().len(&c.doc.transact()) as usize == total
            })
            .await;
    });
    let chunk = "z".repeat(50 * 1024);
    for i in 0..200u32 {
        writer.insert(i * 50 * 1024, &chunk).await;
        if i % 4 == 3 {
            // Reads the echoes too, so this client is not a slow reader itself.
            writer.barrier().await;
        }
    }
    reading.await.expect("reader task");
    // Every stuck reader is cut once its queue is full, so none holds the stream of frames.
    server
        .wait_logs("all stuck readers being cut", stuck.len(), |l| {
            l.contains("code=1013")
        })
        .await;
    let grown_mib = server.rss_kib().saturating_sub(rss_before) / 1024;
    // 10 MiB of text went through: the document, its snapshots and the page cache account
    // for the growth; nothing is kept per stuck reader once it is cut.
    assert!(grown_mib < 256, "server grew by {grown_mib} MiB");
    drop(stuck);
}

/// Reads one server frame (unmasked): its first byte and its payload.
async fn server_frame(tcp: &mut TcpStream) -> (u8, Vec<u8>) {
    let mut head = [0u8; 2];
    tcp.read_exact(&mut head).await.expect("frame header");
    let len = match head[1] & 0x7f {
        126 => {
            let mut n = [0u8; 2];
            tcp.read_exact(&mut n).await.expect("length");
            usize::from(u16::from_be_bytes(n))
        }
        127 => {
            let mut n = [0u8; 8];
            tcp.read_exact(&mut n).await.expect("length");
            usize::try_from(u64::from_be_bytes(n)).expect("length fits")
        }
        n => usize::from(n),
    };
    let mut payload = vec![0u8; len];
    tcp.read_exact(&mut payload).await.expect("payload");
    (head[0], payload)
}

#[tokio::test]
async fn pings_are_answered_and_fragmented_messages_are_assembled() {
    use ardoise::sync::protocol::{self, Message};
    use yrs::updates::encoder::Encode;

    let server = TestServer::start().await;
    let mut tcp = raw_socket(&server, "frames").await;
    tokio::time::timeout(PATIENCE, async {
        tcp.write_all(&masked(0x89, b"hi")).await.expect("ping");
        // The join's frames may come first.
        loop {
            let (first, payload) = server_frame(&mut tcp).await;
            if first == 0x8a {
                assert_eq!(payload, b"hi", "a pong echoes the ping");
                break;
            }
            assert_eq!(first, 0x82, "only binary frames before the pong");
        }
        // A sync step 1 cut into two frames is one message: the room answers it.
        let step1 = protocol::sync_step1(&StateVector::default().encode_v1());
        let (a, b) = step1.split_at(1);
        tcp.write_all(&masked(0x02, a))
            .await
            .expect("first fragment");
        tcp.write_all(&masked(0x80, b))
            .await
            .expect("last fragment");
        loop {
            let (first, payload) = server_frame(&mut tcp).await;
            assert_eq!(first, 0x82);
            if matches!(
                protocol::decode(&Bytes::from(payload)),
                Ok(Message::SyncStep2(_))
            ) {
                break;
            }
        }
    })
    .await
    .expect("the server answers in time");
}
