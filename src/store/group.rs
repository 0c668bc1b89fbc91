//! Group commit: documents' writes reach an engine that [groups writes](Store::groups_writes)
//! through one thread, which writes whatever is queued as one [`Store::write_batch`] (one
//! transaction) and makes it durable with one [`Store::flush`] when any of it asked to. A
//! caller hears of its write only once the batch is written (and flushed, if it asked): the
//! batch changes what a commit costs, not when a write counts as done.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

use tokio::sync::{mpsc, oneshot};

use super::{DocWrite, Entry, Store, StoreError};

/// Writes waiting for the committer. Past it, submitters wait for room (backpressure onto
/// the rooms, whose own queues then fill): a write is never dropped.
const QUEUE: usize = 1024;

/// Most writes in one batch, so one failure or one slow commit holds back a bounded number.
const MAX_BATCH: usize = 512;

/// Bytes (updates and history records) past which a batch takes no more writes.
const MAX_BATCH_BYTES: usize = 16 << 20;

/// What one document's flush writes, owned so that it can wait in the queue.
#[derive(Debug, Default)]
pub struct DocWrites {
    /// The document's name.
    pub name: String,
    /// New metadata and its expiry (Unix seconds), when they changed.
    pub meta: Option<(Vec<u8>, Option<u64>)>,
    /// Author names to record (clientID, name).
    pub authors: Vec<(u64, String)>,
    /// Log entries: (update, what history records with it), in order.
    pub entries: Vec<(Vec<u8>, Vec<u8>)>,
    /// Whether the write must be durable (`--sync`) before it is answered.
    pub sync: bool,
}

/// The borrowed author names and log entries a [`DocWrite`] of a [`DocWrites`] points into.
type Parts<'a> = (Vec<(u64, &'a str)>, Vec<Entry<'a>>);

impl DocWrites {
    fn bytes(&self) -> usize {
        self.entries.iter().map(|(u, i)| u.len() + i.len()).sum()
    }

    /// The author names and log entries as the store takes them, for [`DocWrites::view`].
    fn parts(&self) -> Parts<'_> {
        let authors = self.authors.iter().map(|(c, n)| (*c, n.as_str())).collect();
        let entries = self
            .entries
            .iter()
            .map(|(update, info)| Entry { update, info })
            .collect();
        (authors, entries)
    }

    /// This write as one element of a [`Store::write_batch`], over its `parts`.
    fn view<'a>(&'a self, parts: &'a Parts<'a>) -> DocWrite<'a> {
        DocWrite {
            name: &self.name,
            meta: self.meta.as_ref().map(|(m, e)| (m.as_slice(), *e)),
            authors: &parts.0,
            entries: &parts.1,
        }
    }
}

/// A queued write and where its outcome goes.
struct Request {
    write: DocWrites,
    reply: oneshot::Sender<Result<u64, StoreError>>,
}

/// Runs before each batch is written; tests hold the committer there.
type BeforeBatch = Box<dyn FnMut() + Send>;

/// Writes documents' flushes to one store, grouped when the engine gains by it, each
/// answered with its last entry's sequence number (see [`Store::append`]).
pub struct Committer {
    store: Arc<dyn Store>,
    /// Whether writes go through the thread (the engine groups writes).
    grouped: bool,
    /// `None` for an engine that does not group writes, and once stopped.
    queue: Mutex<Option<mpsc::Sender<Request>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    batches: Arc<AtomicU64>,
    /// Writes in those batches.
    writes: Arc<AtomicU64>,
}

impl Committer {
    /// The committer of `store`: a thread of its own if the engine groups writes; otherwise
    /// each write runs on the blocking pool by itself, as its engine expects (and as a last
    /// resort when the thread cannot start: slower, never wrong).
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self::start(store, Box::new(|| {}))
    }

    fn start(store: Arc<dyn Store>, before: BeforeBatch) -> Self {
        let batches = Arc::new(AtomicU64::new(0));
        let writes = Arc::new(AtomicU64::new(0));
        let (mut queue, mut thread) = (None, None);
        if store.groups_writes() {
            let (tx, rx) = mpsc::channel(QUEUE);
            let spawned = {
                let store = store.clone();
                let counts = (batches.clone(), writes.clone());
                std::thread::Builder::new()
                    .name("ardoise-commit".into())
                    .spawn(move || run(store, rx, counts, before))
            };
            match spawned {
                Ok(handle) => (queue, thread) = (Some(tx), Some(handle)),
                Err(e) => {
                    tracing::error!(error = %e, "cannot start the storage committer; writing each document on its own")
                }
            }
        }
        Self {
            grouped: queue.is_some(),
            store,
            queue: Mutex::new(queue),
            thread: Mutex::new(thread),
            batches,
            writes,
        }
    }

    /// Writes `write`; answers once it is written (durable too if it asked), with its last
    /// entry's sequence number. [`StoreError::Unavailable`] once the committer stopped.
    pub async fn write(&self, write: DocWrites) -> Result<u64, StoreError> {
        if !self.grouped {
            let store = self.store.clone();
            return tokio::task::spawn_blocking(move || write_alone(&*store, &write))
                .await
                .unwrap_or(Err(StoreError::Panicked));
        }
        let answer = self.enqueue(write).await?;
        // Under paused test time tokio moves the clock on whenever every task waits, and it
        // cannot see this thread working (a blocking-pool task holds the clock still): waiting
        // there keeps a test's timers from jumping ahead in the middle of a write.
        #[cfg(test)]
        let answered = tokio::task::spawn_blocking(move || answer.blocking_recv())
            .await
            .ok()
            .and_then(Result::ok);
        #[cfg(not(test))]
        let answered = answer.await.ok();
        // `None`: the thread dropped the request without answering (it panicked or stopped).
        answered.unwrap_or(Err(StoreError::Unavailable))
    }

    /// Queues `write` for the committer's thread (waiting while the queue is full).
    async fn enqueue(
        &self,
        write: DocWrites,
    ) -> Result<oneshot::Receiver<Result<u64, StoreError>>, StoreError> {
        // Cloned out, so that no lock is held while waiting for room in the queue.
        let Some(queue) = lock(&self.queue).clone() else {
            return Err(StoreError::Unavailable);
        };
        let (reply, answer) = oneshot::channel();
        queue
            .send(Request { write, reply })
            .await
            .map_err(|_| StoreError::Unavailable)?;
        Ok(answer)
    }

    /// Batches written so far.
    pub fn batches(&self) -> u64 {
        self.batches.load(Ordering::Relaxed)
    }

    /// Writes those batches held (over [`Committer::batches`]: the mean batch).
    pub fn writes(&self) -> u64 {
        self.writes.load(Ordering::Relaxed)
    }

    /// Writes what is queued, then ends the thread and lets go of its store, so that the
    /// store's last flush (and its drop) follows the last write. Later writes fail.
    pub async fn stop(&self) {
        let thread = self.close();
        if let Some(thread) = thread {
            let joined = tokio::task::spawn_blocking(move || thread.join()).await;
            if !matches!(joined, Ok(Ok(()))) {
                tracing::error!("the storage committer panicked");
            }
        }
    }

    /// Closes the queue (the thread ends once it has answered what is queued); answers the
    /// thread to join, if it still runs.
    fn close(&self) -> Option<JoinHandle<()>> {
        drop(lock(&self.queue).take());
        lock(&self.thread).take()
    }
}

impl Drop for Committer {
    fn drop(&mut self) {
        // Nobody can be submitting (that borrows the committer), so the thread only finishes
        // the batch in hand: waiting for it keeps the store's drop after its last write.
        if let Some(thread) = self.close() {
            if thread.thread().id() != std::thread::current().id() && thread.join().is_err() {
                tracing::error!("the storage committer panicked");
            }
        }
    }
}

/// The committer's thread: blocks for a write, takes what else is queued (bounded), writes
/// it all in one batch, flushes once if any asked, answers each; ends when the queue closes.
fn run(
    store: Arc<dyn Store>,
    mut rx: mpsc::Receiver<Request>,
    (batches, writes): (Arc<AtomicU64>, Arc<AtomicU64>),
    mut before: BeforeBatch,
) {
    let mut batch = Vec::new();
    while let Some(first) = rx.blocking_recv() {
        let mut bytes = first.write.bytes();
        batch.push(first);
        while batch.len() < MAX_BATCH && bytes < MAX_BATCH_BYTES {
            match rx.try_recv() {
                Ok(next) => {
                    bytes += next.write.bytes();
                    batch.push(next);
                }
                Err(_) => break,
            }
        }
        before();
        let outcomes = commit(&*store, &batch);
        batches.fetch_add(1, Ordering::Relaxed);
        writes.fetch_add(batch.len() as u64, Ordering::Relaxed);
        for (request, outcome) in batch.drain(..).zip(outcomes) {
            // The room may have gone meanwhile: nobody left to tell.
            let _ = request.reply.send(outcome);
        }
    }
}

/// Writes `batch` at once and flushes if any of its successful writes asked; one outcome per
/// request.
fn commit(store: &dyn Store, batch: &[Request]) -> Vec<Result<u64, StoreError>> {
    let parts: Vec<Parts<'_>> = batch.iter().map(|r| r.write.parts()).collect();
    let docs: Vec<DocWrite<'_>> = batch
        .iter()
        .zip(&parts)
        .map(|(r, parts)| r.write.view(parts))
        .collect();
    let mut outcomes = catch_unwind(AssertUnwindSafe(|| store.write_batch(&docs)))
        .unwrap_or_else(|_| docs.iter().map(|_| Err(StoreError::Panicked)).collect());
    // An engine answering fewer outcomes than documents is a bug; their writers must not
    // believe them written.
    outcomes.resize_with(batch.len(), || {
        Err(StoreError::Batched("no outcome for this write".into()))
    });
    outcomes.truncate(batch.len());
    let must_flush = batch
        .iter()
        .zip(&outcomes)
        .any(|(r, outcome)| r.write.sync && outcome.is_ok());
    if must_flush {
        let flushed =
            catch_unwind(AssertUnwindSafe(|| store.flush())).unwrap_or(Err(StoreError::Panicked));
        if let Err(e) = flushed {
            for (r, outcome) in batch.iter().zip(outcomes.iter_mut()) {
                if r.write.sync && outcome.is_ok() {
                    *outcome = Err(e.duplicate());
                }
            }
        }
    }
    outcomes
}

/// One write on its own: [`Store::write_batch`] of one document, then a flush if it asked.
fn write_alone(store: &dyn Store, write: &DocWrites) -> Result<u64, StoreError> {
    let parts = write.parts();
    let doc = write.view(&parts);
    let seq = store
        .write_batch(&[doc])
        .pop()
        .unwrap_or_else(|| Err(StoreError::Batched("no outcome for this write".into())))?;
    if write.sync {
        store.flush()?;
    }
    Ok(seq)
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests;
