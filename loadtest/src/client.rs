//! One simulated client: a yrs replica over a y-websocket connection.
//!
//! It connects, syncs (sends step 1, answers the server's step 1 with step 2, waits for the
//! server's step 2), sends one awareness state, then applies every update it receives and, if it
//! is a writer, edits `Y.Text "content"` at a fixed rate until the run stops. With `cursor`, a
//! writer follows each edit with an awareness update that moves its cursor to the end of the
//! inserted text, as the pad editor does on every keystroke: both frames are written together.
//!
//! A counting client (`count_only`) decodes nothing after the handshake and does not even apply
//! the server's state: it only counts the frames it receives. A counting writer edits its own
//! replica, which is valid Yjs traffic. This lets one core drive thousands of clients; latency
//! and convergence are then measured by the decoding clients alone.

use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ardoise_protocol::{self as protocol, Message};
use bytes::{Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::{Interval, MissedTickBehavior};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message as WsMessage};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{ClientID, Doc, GetString, ReadTxn, StateVector, Text, TextRef, Transact, Update};

use crate::track::{advanced, SendLog, Writers};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Longest wait for a connection to be synced.
pub const SYNC_TIMEOUT: Duration = Duration::from_secs(30);
/// Read buffer of each connection (see [`ws_config`]).
const READ_BUFFER_BYTES: usize = 8 * 1024;
/// Longest wait for the closing handshake at the end (the server's close frame); generous, as
/// a loaded server answers late and the wait costs nothing once it answers.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(10);

/// Where a run is; every client follows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Clients connect and sync; nobody edits.
    Setup,
    /// Writers edit.
    Run,
    /// Writers stopped; outstanding updates arrive.
    Drain,
    /// Clients report and disconnect.
    Stop,
}

/// Live totals over all clients, for progress and for ending the drain early.
#[derive(Debug)]
pub struct Counters {
    /// Clients synced.
    pub synced: AtomicUsize,
    /// Clients that could not connect or sync.
    pub failed: AtomicUsize,
    /// Edits sent.
    pub edits: AtomicU64,
    /// Writers that synced and may still send edits: the end-of-run accounting waits for
    /// this to fall to zero so that no edit is sent after it reads the counts.
    pub editing: AtomicUsize,
    /// (edit, receiving client) pairs integrated by decoding clients.
    pub delivered: AtomicU64,
    /// Frames received after sync by counting clients.
    pub frames: AtomicU64,
    /// Propagation latency of every delivery, in µs.
    pub latency: Mutex<Histogram<u64>>,
    /// The same since the last [`Counters::take_window`], for `ramp`.
    pub window: Mutex<Histogram<u64>>,
}

impl Default for Counters {
    fn default() -> Self {
        Self {
            synced: AtomicUsize::new(0),
            failed: AtomicUsize::new(0),
            edits: AtomicU64::new(0),
            editing: AtomicUsize::new(0),
            delivered: AtomicU64::new(0),
            frames: AtomicU64::new(0),
            latency: Mutex::new(crate::stats::histogram()),
            window: Mutex::new(crate::stats::histogram()),
        }
    }
}

impl Counters {
    /// The latencies recorded since the previous call.
    pub fn take_window(&self) -> Histogram<u64> {
        let mut window = lock(&self.window);
        let taken = window.clone();
        window.reset();
        taken
    }

    /// A copy of every latency recorded so far.
    pub fn latencies(&self) -> Histogram<u64> {
        lock(&self.latency).clone()
    }
}

/// A panic while a histogram was locked cannot leave it unusable: recording is a few adds.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Why a client did not get synced, or lost its connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The server refused the connection: HTTP 503/429 at upgrade or close 1013.
    Refused(String),
    /// Anything else: network error, timeout, malformed frame, unexpected close.
    Error(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Refused(why) => write!(f, "refused: {why}"),
            Failure::Error(why) => write!(f, "error: {why}"),
        }
    }
}

fn error(e: impl fmt::Display) -> Failure {
    Failure::Error(e.to_string())
}

/// Everything one client needs to run.
pub struct Spec {
    /// The document's WebSocket URL.
    pub url: String,
    /// The replica, created beforehand so that a writer's clientID is known to the others.
    pub doc: Doc,
    /// The writer's send log, for writers.
    pub log: Option<Arc<SendLog>>,
    /// Edits per second, for writers.
    pub rate: f64,
    /// The writers of the document, to attribute received edits.
    pub writers: Arc<Writers>,
    /// Clients of the document synced so far.
    pub room_synced: Arc<AtomicUsize>,
    /// Run-wide totals.
    pub counters: Arc<Counters>,
    /// The run's phase.
    pub phase: watch::Receiver<Phase>,
    /// Count frames instead of decoding them (see the module doc).
    pub count_only: bool,
    /// Characters inserted by each edit.
    pub chars: usize,
    /// Each edit is followed by an awareness update moving the writer's cursor.
    pub cursor: bool,
}

/// What one client saw.
#[derive(Debug)]
pub struct Outcome {
    /// Connect → synced, or why that failed.
    pub sync: Result<Duration, Failure>,
    /// The text of the replica at the end, if the client synced.
    pub text: Option<String>,
    /// Why the connection ended before the run did, if it did.
    pub lost: Option<Failure>,
}

/// Runs one client until the phase becomes [`Phase::Stop`].
pub async fn run(spec: Spec) -> Outcome {
    let Spec {
        url,
        doc,
        log,
        rate,
        writers,
        room_synced,
        counters,
        mut phase,
        count_only,
        chars,
        cursor,
    } = spec;
    let mut replica = Replica::new(doc, writers, counters.clone());
    replica.count_only = count_only;
    replica.chars = chars.max(1);
    replica.cursor = cursor;
    let started = Instant::now();
    let connected = tokio::time::timeout(SYNC_TIMEOUT, replica.connect(&url))
        .await
        .unwrap_or_else(|_| Err(error("sync timed out")));
    let mut ws = match connected {
        Ok(ws) => ws,
        Err(failure) => {
            counters.failed.fetch_add(1, Ordering::Relaxed);
            return Outcome {
                sync: Err(failure),
                text: None,
                lost: None,
            };
        }
    };
    let sync = started.elapsed();
    room_synced.fetch_add(1, Ordering::Relaxed);
    counters.synced.fetch_add(1, Ordering::Relaxed);

    let mut ticker: Option<Interval> = None;
    let mut edited = false;
    // Set while this client counts in `counters.editing`.
    let mut editing = false;
    let mut rng = fastrand::Rng::new();
    let mut lost = None;
    loop {
        let now = *phase.borrow_and_update();
        match now {
            Phase::Run if !edited && log.is_some() && rate > 0.0 => {
                edited = true;
                editing = true;
                counters.editing.fetch_add(1, Ordering::SeqCst);
                ticker = Some(writer_ticker(rate, &mut rng));
            }
            Phase::Drain | Phase::Stop if editing => {
                ticker = None;
                editing = false;
                counters.editing.fetch_sub(1, Ordering::SeqCst);
                continue;
            }
            Phase::Drain => ticker = None,
            Phase::Stop => break,
            _ => {}
        }
        let step = tokio::select! {
            next = ws.next() => replica.receive(next),
            // The phase is read again here, after `editing` was raised, so that an edit is
            // either counted in `editing` or never sent once the run has left `Run`.
            () = tick(&mut ticker) => match &log {
                Some(log) if *phase.borrow() == Phase::Run => {
                    let (update, cursor) = replica.edit(&mut rng, log);
                    Ok(Action::Edit(update, cursor))
                }
                _ => Ok(Action::Idle),
            },
            changed = phase.changed() => match changed {
                Ok(()) => Ok(Action::Idle),
                Err(_) => break,
            },
        };
        let sent = match step {
            Ok(Action::Send(frame)) => send(&mut ws, frame).await,
            Ok(Action::Edit(update, cursor)) => send_all(&mut ws, [Some(update), cursor]).await,
            Ok(Action::Idle | Action::Synced) => Ok(()),
            Err(failure) => Err(failure),
        };
        if let Err(failure) = sent {
            lost = Some(failure);
            break;
        }
    }
    if editing {
        counters.editing.fetch_sub(1, Ordering::SeqCst);
    }
    if lost.is_some() {
        // Keep the replica for the report, but wait for the end of the run like the others.
        while *phase.borrow_and_update() != Phase::Stop {
            if phase.changed().await.is_err() {
                break;
            }
        }
    } else {
        close(ws).await;
    }
    Outcome {
        sync: Ok(sync),
        text: (!count_only).then(|| replica.text()),
        lost,
    }
}

/// Connects to `url`, syncs a fresh replica and returns its text: the server's view of a
/// document, for the convergence check.
pub async fn snapshot(url: &str) -> Result<String, Failure> {
    let mut replica = Replica::new(
        Doc::new(),
        Arc::new(Writers::default()),
        Arc::new(Counters::default()),
    );
    let ws = tokio::time::timeout(SYNC_TIMEOUT, replica.connect(url))
        .await
        .map_err(|_| error("sync timed out"))??;
    close(ws).await;
    Ok(replica.text())
}

/// A writer's clock: `rate` ticks per second from a random phase, so that writers do not all
/// fire together. Ticks the generator could not keep up with are skipped, not bunched.
fn writer_ticker(rate: f64, rng: &mut fastrand::Rng) -> Interval {
    let period = Duration::from_secs_f64(1.0 / rate);
    let offset = period.mul_f64(rng.f64());
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + offset, period);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    ticker
}

async fn tick(ticker: &mut Option<Interval>) {
    match ticker {
        Some(ticker) => {
            ticker.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// What the client does next.
enum Action {
    /// Nothing to do.
    Idle,
    /// Send this frame.
    Send(Bytes),
    /// Send an edit's update, then its cursor's awareness update if any, in one flush.
    Edit(Bytes, Option<Bytes>),
    /// The server's step 2 was applied: the replica is synced.
    Synced,
}

/// A client's document replica and what it measured.
struct Replica {
    doc: Doc,
    client: ClientID,
    text: TextRef,
    writers: Arc<Writers>,
    counters: Arc<Counters>,
    /// Whether frames are counted instead of decoded, once synced.
    count_only: bool,
    synced: bool,
    /// Characters inserted by each edit.
    chars: usize,
    /// Each edit also moves this client's cursor (an awareness update).
    cursor: bool,
    /// The clock of this client's last awareness state.
    awareness_clock: u64,
}

impl Replica {
    fn new(doc: Doc, writers: Arc<Writers>, counters: Arc<Counters>) -> Self {
        let text = doc.get_or_insert_text("content");
        Self {
            client: doc.client_id(),
            doc,
            text,
            writers,
            counters,
            count_only: false,
            synced: false,
            chars: 4,
            cursor: false,
            awareness_clock: 0,
        }
    }

    /// Opens the WebSocket, syncs and sends one awareness state.
    async fn connect(&mut self, url: &str) -> Result<Ws, Failure> {
        let (mut ws, _) =
            tokio_tungstenite::connect_async_with_config(url, Some(ws_config()), true)
                .await
                .map_err(|e| match e {
                    WsError::Http(response)
                        if matches!(
                            response.status(),
                            StatusCode::SERVICE_UNAVAILABLE | StatusCode::TOO_MANY_REQUESTS
                        ) =>
                    {
                        Failure::Refused(format!("HTTP {}", response.status()))
                    }
                    other => error(other),
                })?;
        let sv = self.doc.transact().state_vector().encode_v1();
        send(&mut ws, protocol::sync_step1(&sv)).await?;
        loop {
            match self.receive(ws.next().await)? {
                Action::Synced => {
                    self.synced = true;
                    break;
                }
                Action::Send(frame) => send(&mut ws, frame).await?,
                Action::Edit(..) | Action::Idle => {}
            }
        }
        let state = self.awareness(None);
        send(&mut ws, state).await?;
        Ok(ws)
    }

    /// Handles one incoming WebSocket message.
    fn receive(&mut self, next: Option<Result<WsMessage, WsError>>) -> Result<Action, Failure> {
        let frame = match next {
            Some(Ok(WsMessage::Binary(frame))) => frame,
            Some(Ok(WsMessage::Close(close))) => {
                return Err(match close {
                    Some(c) if c.code == CloseCode::Again => {
                        Failure::Refused(format!("closed 1013: {}", c.reason))
                    }
                    Some(c) => error(format!("closed by the server: {} {}", c.code, c.reason)),
                    None => error("closed by the server"),
                })
            }
            Some(Ok(_)) => return Ok(Action::Idle),
            Some(Err(e)) => return Err(error(e)),
            None => return Err(error("connection lost")),
        };
        if self.count_only && self.synced {
            self.counters.frames.fetch_add(1, Ordering::Relaxed);
            return Ok(Action::Idle);
        }
        match protocol::decode(&frame).map_err(error)? {
            Message::SyncStep1(sv) => {
                let sv = StateVector::decode_v1(&sv).map_err(error)?;
                let diff = self.doc.transact().encode_state_as_update_v1(&sv);
                Ok(Action::Send(protocol::sync_step2(&diff)))
            }
            Message::SyncStep2(_) if self.count_only => Ok(Action::Synced),
            Message::SyncStep2(update) => {
                self.integrate(&update)?;
                Ok(Action::Synced)
            }
            Message::Update(update) => {
                self.integrate(&update)?;
                Ok(Action::Idle)
            }
            Message::Awareness(_) | Message::QueryAwareness | Message::Unknown(_) => {
                Ok(Action::Idle)
            }
        }
    }

    /// Applies an update and records the latency of every writer's edit it completed.
    fn integrate(&mut self, update: &[u8]) -> Result<(), Failure> {
        let update = Update::decode_v1(update).map_err(error)?;
        let moved = {
            let mut txn = self.doc.transact_mut();
            let before = txn.state_vector();
            txn.apply_update(update).map_err(error)?;
            advanced(&before, &txn.state_vector())
        };
        if moved.is_empty() {
            return Ok(());
        }
        let now = Instant::now();
        let mut delivered = 0;
        let mut latencies = Vec::new();
        for (client, old, new) in moved {
            if let Some(log) = self.writers.get(&client) {
                delivered += log.integrated(old, new, |sent| {
                    latencies.push(now.saturating_duration_since(sent));
                });
            }
        }
        if !latencies.is_empty() {
            for h in [&self.counters.latency, &self.counters.window] {
                let mut h = lock(h);
                for &d in &latencies {
                    crate::stats::record(&mut h, d);
                }
            }
        }
        self.counters
            .delivered
            .fetch_add(delivered as u64, Ordering::Relaxed);
        Ok(())
    }

    /// Makes one edit and returns the frame that carries it: `chars` ASCII characters inserted
    /// at a random position, and in one edit out of ten 1–3 characters deleted first. With
    /// `cursor`, also the awareness update that puts this client's cursor just after the
    /// inserted text.
    fn edit(&mut self, rng: &mut fastrand::Rng, log: &SendLog) -> (Bytes, Option<Bytes>) {
        let (update, end) = {
            let mut txn = self.doc.transact_mut();
            let len = self.text.len(&txn);
            if len > 0 && rng.u8(..10) == 0 {
                let n = rng.u32(1..=3).min(len);
                self.text.remove_range(&mut txn, rng.u32(0..=len - n), n);
            }
            let len = self.text.len(&txn);
            let chunk: String = (0..self.chars).map(|_| rng.alphanumeric()).collect();
            self.text.insert(&mut txn, rng.u32(0..=len), &chunk);
            let update = txn.encode_update_v1();
            (update, txn.state_vector().get(&self.client))
        };
        // The inserted characters took this client's clocks `end - chars..end`: the cursor sits
        // after the last of them.
        let cursor = self.cursor.then(|| self.awareness(Some(end - 1)));
        log.record(end, Instant::now());
        self.counters.edits.fetch_add(1, Ordering::Relaxed);
        (protocol::sync_update(&update), cursor)
    }

    /// This client's next awareness state, as y-protocols encodes it (one entry, the clock one
    /// past the previous state's): the user, as the pad editor sets it, and with `cursor` the
    /// clock of the character the cursor follows, as y-codemirror.next's `cursor` field: an
    /// empty selection whose anchor and head are the same Yjs relative position (JSON).
    fn awareness(&mut self, cursor: Option<u32>) -> Bytes {
        self.awareness_clock += 1;
        let client = self.client.get();
        let user = format!(
            r##""user":{{"name":"loadtest {}","color":"#30bced"}}"##,
            client % 10_000
        );
        let state = match cursor {
            None => format!("{{{user}}}"),
            Some(clock) => {
                let pos = format!(
                    r#"{{"type":null,"tname":null,"item":{{"client":{client},"clock":{clock}}},"assoc":0}}"#
                );
                format!(r#"{{{user},"cursor":{{"anchor":{pos},"head":{pos}}}}}"#)
            }
        };
        let mut payload = BytesMut::with_capacity(state.len() + 24);
        protocol::put_var_uint(&mut payload, 1);
        protocol::put_var_uint(&mut payload, client);
        protocol::put_var_uint(&mut payload, self.awareness_clock);
        protocol::put_var_bytes(&mut payload, state.as_bytes());
        protocol::awareness(&payload)
    }

    fn text(&self) -> String {
        self.text.get_string(&self.doc.transact())
    }
}

/// tungstenite zero-fills its whole read buffer before every read: the default 128 KiB made
/// `memset` a quarter of the generator's CPU time. Frames here are small; a large step 2 is
/// simply read in several pieces.
fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default().read_buffer_size(READ_BUFFER_BYTES)
}

/// Ends a connection with the closing handshake: a close frame, then reading until the
/// server's. Dropping the socket at once would reset the connection while the server may not
/// have read everything this client sent (a reset discards it), and what was sent would not
/// count on the server.
async fn close(mut ws: Ws) {
    let handshake = async {
        if ws.close(None).await.is_ok() {
            while let Some(Ok(_)) = ws.next().await {}
        }
    };
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, handshake).await;
}

async fn send(ws: &mut Ws, frame: Bytes) -> Result<(), Failure> {
    ws.send(WsMessage::Binary(frame)).await.map_err(error)
}

/// Sends frames back to back as a browser does: all written, then one flush, so that they
/// usually share a TCP segment.
async fn send_all(
    ws: &mut Ws,
    frames: impl IntoIterator<Item = Option<Bytes>>,
) -> Result<(), Failure> {
    for frame in frames.into_iter().flatten() {
        ws.feed(WsMessage::Binary(frame)).await.map_err(error)?;
    }
    ws.flush().await.map_err(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The entry of an awareness frame of one client: (client, clock, state).
    fn decode_awareness(frame: &Bytes) -> (u64, u64, serde_json::Value) {
        let Message::Awareness(payload) = protocol::decode(frame).expect("a valid frame") else {
            panic!("an awareness frame expected");
        };
        let mut r = protocol::Reader::new(&payload);
        assert_eq!(r.var_uint().expect("count"), 1, "one client per update");
        let client = r.var_uint().expect("client");
        let clock = r.var_uint().expect("clock");
        let state = r.var_bytes().expect("state");
        r.finish().expect("nothing after the entry");
        let state = serde_json::from_slice(state).expect("the state is JSON");
        (client, clock, state)
    }

    #[test]
    fn each_edit_moves_the_cursor_after_the_inserted_text() {
        let counters = Arc::new(Counters::default());
        let mut replica = Replica::new(Doc::new(), Arc::default(), counters.clone());
        replica.cursor = true;
        replica.chars = 3;
        let me = replica.client.get();
        let log = SendLog::default();
        let mut rng = fastrand::Rng::with_seed(7);

        let (id, clock, state) = decode_awareness(&replica.awareness(None));
        assert_eq!((id, clock), (me, 1));
        assert!(state.get("cursor").is_none(), "{state}");
        assert!(state["user"]["name"].is_string(), "{state}");

        for expected_clock in 2..=6 {
            let (update, cursor) = replica.edit(&mut rng, &log);
            assert!(matches!(protocol::decode(&update), Ok(Message::Update(_))));
            let (id, clock, state) = decode_awareness(&cursor.expect("a cursor update"));
            assert_eq!(id, me);
            assert_eq!(clock, expected_clock, "the clock grows by one an edit");
            assert!(state["user"]["name"].is_string(), "{state}");
            let cursor = &state["cursor"];
            assert_eq!(cursor["anchor"], cursor["head"], "an empty selection");
            let end = replica.doc.transact().state_vector().get(&replica.client);
            let pos = &cursor["head"];
            assert_eq!(pos["item"]["client"], me);
            assert_eq!(pos["item"]["clock"], end - 1, "the last inserted character");
            assert_eq!(pos["assoc"], 0);
            assert!(pos["type"].is_null() && pos["tname"].is_null(), "{pos}");
        }
        assert_eq!(counters.edits.load(Ordering::Relaxed), 5);

        // Without --cursor an edit is the update alone.
        replica.cursor = false;
        assert!(replica.edit(&mut rng, &log).1.is_none());
    }

    #[test]
    fn awareness_frames_are_not_deliveries() {
        let counters = Arc::new(Counters::default());
        let writer_doc = Doc::new();
        let mut writers = Writers::default();
        let log = writers.add(writer_doc.client_id());
        let writers = Arc::new(writers);
        let mut writer = Replica::new(writer_doc, writers.clone(), Arc::default());
        writer.cursor = true;
        let mut reader = Replica::new(Doc::new(), writers, counters.clone());
        reader.synced = true;

        let (update, cursor) = writer.edit(&mut fastrand::Rng::with_seed(1), &log);
        let cursor = cursor.expect("a cursor update");
        let frame = |b: Bytes| Some(Ok(WsMessage::Binary(b)));
        assert!(matches!(reader.receive(frame(cursor)), Ok(Action::Idle)));
        assert_eq!(counters.delivered.load(Ordering::Relaxed), 0);
        assert!(matches!(reader.receive(frame(update)), Ok(Action::Idle)));
        assert_eq!(counters.delivered.load(Ordering::Relaxed), 1);
        assert_eq!(reader.text(), writer.text());
    }
}
