//! A Yjs client written with yrs over tokio-tungstenite: it speaks y-websocket exactly as the
//! npm `y-websocket` provider does (step 1 on open, answer step 1 with step 2, apply updates).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ardoise::sync::protocol::{self, Message};
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{Doc, GetString, ReadTxn, StateVector, Text, TextRef, Transact, TransactionMut, Update};

use crate::server::{TestServer, PATIENCE};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

const REMOTE: &str = "remote";

/// One connected client with its own document replica.
pub struct Client {
    ws: Ws,
    /// The replica.
    pub doc: Doc,
    local: Arc<Mutex<Vec<Vec<u8>>>>,
    /// Awareness entries seen: clientID → (clock, JSON state or None).
    pub awareness: HashMap<u64, (u64, Option<String>)>,
    /// Whether a step 2 from the server was applied.
    pub synced: bool,
    /// Step 2 messages received so far.
    pub step2_count: usize,
    /// The close frame received, once the server closed the connection.
    pub closed: Option<Option<CloseFrame>>,
    /// Frames received, in order, raw.
    pub received: Vec<Bytes>,
}

impl Client {
    /// Connects to document `name` with a fresh replica and waits until synced.
    pub async fn connect(server: &TestServer, name: &str) -> Self {
        Self::connect_doc(server, name, Doc::new()).await
    }

    /// Connects with an existing replica (offline edits included) and waits until synced.
    pub async fn connect_doc(server: &TestServer, name: &str, doc: Doc) -> Self {
        let mut client = Self::open(server, name, doc).await;
        let sv = client.doc.transact().state_vector().encode_v1();
        client.send(protocol::sync_step1(&sv)).await;
        client.until("initial sync", |c| c.synced).await;
        client
    }

    /// Waits until the server has applied and persisted everything this client sent: the room
    /// handles a connection's messages in order and answers a step 1 after the updates before it.
    pub async fn barrier(&mut self) {
        let target = self.step2_count + 1;
        let sv = self.doc.transact().state_vector().encode_v1();
        self.send(protocol::sync_step1(&sv)).await;
        self.until("the server's answer to step 1", |c| c.step2_count >= target)
            .await;
    }

    /// Opens the WebSocket without any handshake.
    pub async fn open(server: &TestServer, name: &str, doc: Doc) -> Self {
        Self::open_url(&server.ws_url(name), doc).await
    }

    /// Connects to the document at `url` (through a proxy, say) and waits until synced.
    pub async fn connect_url_synced(url: &str) -> Self {
        let mut client = Self::open_url(url, Doc::new()).await;
        let sv = client.doc.transact().state_vector().encode_v1();
        client.send(protocol::sync_step1(&sv)).await;
        client.until("initial sync", |c| c.synced).await;
        client
    }

    /// Opens the WebSocket at `url` (through a proxy, say) without any handshake.
    pub async fn open_url(url: &str, doc: Doc) -> Self {
        let (ws, _) = tokio::time::timeout(PATIENCE, tokio_tungstenite::connect_async(url))
            .await
            .expect("connects in time")
            .expect("WebSocket upgrade accepted");
        let local = Arc::new(Mutex::new(Vec::new()));
        let sink = local.clone();
        doc.observe_update_v1("test-client", move |txn, event| {
            if txn.origin().is_none() {
                sink.lock().expect("lock").push(event.update.clone());
            }
        })
        .expect("observer");
        Self {
            ws,
            doc,
            local,
            awareness: HashMap::new(),
            synced: false,
            step2_count: 0,
            closed: None,
            received: Vec::new(),
        }
    }

    /// The shared text `content`.
    pub fn content(&self) -> TextRef {
        self.doc.get_or_insert_text("content")
    }

    /// The current text of `content`.
    pub fn text(&self) -> String {
        self.content().get_string(&self.doc.transact())
    }

    /// Edits the replica locally and sends the resulting update.
    pub async fn edit(&mut self, f: impl FnOnce(&mut TransactionMut, &TextRef)) {
        let text = self.content();
        {
            let mut txn = self.doc.transact_mut();
            f(&mut txn, &text);
        }
        self.push_local().await;
    }

    /// Sends every local update not yet sent.
    pub async fn push_local(&mut self) {
        let pending = std::mem::take(&mut *self.local.lock().expect("lock"));
        for update in pending {
            self.send(protocol::sync_update(&update)).await;
        }
    }

    /// Sends one binary frame.
    pub async fn send(&mut self, frame: Bytes) {
        self.ws
            .send(WsMessage::Binary(frame))
            .await
            .expect("frame sent");
    }

    /// Sends an awareness entry for `client` (state `None` = leaving).
    pub async fn send_awareness(&mut self, client: u64, clock: u64, state: Option<&str>) {
        let mut payload = bytes::BytesMut::new();
        protocol::put_var_uint(&mut payload, 1);
        protocol::put_var_uint(&mut payload, client);
        protocol::put_var_uint(&mut payload, clock);
        protocol::put_var_bytes(&mut payload, state.unwrap_or("null").as_bytes());
        self.send(protocol::awareness(&payload)).await;
    }

    /// Sends a raw WebSocket message (for protocol abuse).
    pub async fn send_ws(&mut self, msg: WsMessage) {
        let _ = self.ws.send(msg).await;
    }

    /// Processes incoming frames until `pred` holds; fails the test after [`PATIENCE`].
    pub async fn until(&mut self, what: &str, pred: impl Fn(&Self) -> bool) {
        let outcome = tokio::time::timeout(PATIENCE, async {
            while !pred(self) {
                if !self.step().await {
                    return false;
                }
            }
            true
        })
        .await;
        match outcome {
            Ok(true) => {}
            Ok(false) => panic!("connection closed ({:?}) before {what}", self.closed),
            Err(_) => {
                let text = self.text();
                let head: String = text.chars().take(120).collect();
                panic!(
                    "timed out waiting for {what}; text has {} chars, starts {head:?}",
                    text.chars().count()
                )
            }
        }
    }

    /// Sends step 1 and reads until synced (true) or until the server closes the connection
    /// (false); fails the test after [`PATIENCE`].
    pub async fn try_sync(&mut self) -> bool {
        let sv = self.doc.transact().state_vector().encode_v1();
        self.send(protocol::sync_step1(&sv)).await;
        let outcome = tokio::time::timeout(PATIENCE, async {
            while !self.synced {
                if !self.step().await || self.closed.is_some() {
                    return false;
                }
            }
            true
        })
        .await;
        outcome.expect("the server syncs or closes in time")
    }

    /// Reads until the server closes the connection; returns its close frame.
    pub async fn closed_by_server(&mut self) -> Option<CloseFrame> {
        let outcome = tokio::time::timeout(PATIENCE, async { while self.step().await {} }).await;
        assert!(
            outcome.is_ok(),
            "server did not close the connection in time"
        );
        self.closed.clone().flatten()
    }

    /// Handles one incoming message; false once the connection is closed.
    async fn step(&mut self) -> bool {
        let Some(next) = self.ws.next().await else {
            self.closed.get_or_insert(None);
            return false;
        };
        let frame = match next {
            Ok(WsMessage::Binary(frame)) => frame,
            Ok(WsMessage::Close(frame)) => {
                self.closed = Some(frame);
                return true;
            }
            Ok(_) => return true,
            Err(_) => {
                self.closed.get_or_insert(None);
                return false;
            }
        };
        self.received.push(frame.clone());
        match protocol::decode(&frame).expect("server frames are well-formed") {
            Message::SyncStep1(sv) => {
                let sv = StateVector::decode_v1(&sv).expect("state vector");
                let diff = self.doc.transact().encode_state_as_update_v1(&sv);
                self.send(protocol::sync_step2(&diff)).await;
            }
            Message::SyncStep2(update) => {
                self.apply(&update);
                self.synced = true;
                self.step2_count += 1;
            }
            Message::Update(update) => self.apply(&update),
            Message::Awareness(payload) => {
                for e in ardoise::sync::awareness::decode_update(&payload, usize::MAX)
                    .expect("awareness")
                {
                    self.awareness
                        .insert(e.client, (e.clock, e.state.map(|s| s.to_string())));
                }
            }
            // Like the y-websocket provider: a type it does not know (the operator's notice,
            // kept raw in `received`) is skipped.
            Message::Unknown(_) => {}
            other => panic!("unexpected message from server: {other:?}"),
        }
        true
    }

    fn apply(&self, update: &[u8]) {
        let update = Update::decode_v1(update).expect("server update decodes");
        self.doc
            .transact_mut_with(REMOTE)
            .apply_update(update)
            .expect("server update applies");
    }

    /// Live awareness states seen, by clientID.
    pub fn live_awareness(&self) -> HashMap<u64, String> {
        self.awareness
            .iter()
            .filter_map(|(c, (_, s))| s.clone().map(|s| (*c, s)))
            .collect()
    }

    /// Drops the TCP connection without a close frame.
    pub fn drop_abruptly(self) {
        drop(self.ws);
    }

    /// Closes cleanly with a close frame.
    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }

    /// Inserts `s` at `index` with no formatting.
    pub async fn insert(&mut self, index: u32, s: &str) {
        self.edit(|txn, t| t.insert(txn, index, s)).await;
    }
}
