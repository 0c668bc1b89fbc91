//! The PostgreSQL engine (`--store postgres://…`): one database holds what redb holds in a
//! file, table for table (`schema.rs`). The [`Store`] trait is blocking and is called from the
//! blocking pool and sometimes from async code inline, so the store owns a small runtime of its
//! own: each call is spawned there and its caller waits on a std channel, bounded in time. No
//! call ever enters (or builds) a runtime on the caller's thread, so none can panic with
//! "cannot start a runtime from within a runtime". Every write is one transaction, durable
//! when it commits; the pool reconnects by itself after PostgreSQL comes back.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use deadpool_postgres::{
    Manager, ManagerConfig, Object, Pool, PoolError, RecyclingMethod, Runtime as PoolRuntime,
    Transaction,
};
use tokio_postgres::types::ToSql;
use tokio_postgres::{IsolationLevel, NoTls, Row};

use super::{
    Due, Dump, Entry, Grant, Health, Holder, Lease, Listed, NodeReport, SeenNode, Store,
    StoreError, Stored, MAX_NODES,
};
use crate::config::store_url::PgSettings;

mod schema;
#[cfg(test)]
pub(crate) mod test_cluster;

/// How long one store call may take in all, waiting for a connection included.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// The server-side bound of one statement (and of waiting for a lock).
const STATEMENT_TIMEOUT_MS: u64 = 5_000;
/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Connections kept: rooms write concurrently, but a transaction is short.
const POOL_SIZE: usize = 8;
/// How long a successful write probe stands for (as redb's).
const PROBE_EVERY: Duration = Duration::from_secs(1);

/// Documents in one PostgreSQL database.
pub struct PostgresStore {
    /// Runs every call; taken on drop, so that dropping the store never blocks a runtime.
    runtime: Option<tokio::runtime::Runtime>,
    pool: Pool,
    /// Documents stored: counted once at open, then kept by the writes that add or erase one.
    count: AtomicU64,
    /// The last call reached PostgreSQL (false after an I/O-like failure, until one succeeds).
    reachable: AtomicBool,
    errors: AtomicU64,
    last_probe: Mutex<Option<Instant>>,
    /// The leases taken through this store: document → (owner, epoch), checked by every
    /// write of the document. Locked only to copy an entry out, never across an `.await`.
    held: Mutex<HashMap<String, (String, i64)>>,
    /// Held by a renewal of every lease from its copy of `held` to its end, and by a release
    /// around its statement: a lease released meanwhile is never extended again after it.
    renewing: Mutex<()>,
}

/// A call's parameters, as tokio-postgres takes them.
type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

impl PostgresStore {
    /// The (sequence number, bytes) rows of the read-only query `sql` on document `name` ($1)
    /// and the bigints `nums` ($2, $3, …), read from one consistent snapshot.
    fn seq_rows(
        &self,
        sql: &'static str,
        name: &str,
        nums: &[i64],
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let (name, nums) = (name.to_owned(), nums.to_vec());
        self.run(move |mut c| async move {
            let tx = snapshot(&mut c).await?;
            let mut params: Vec<&(dyn ToSql + Sync)> = vec![&name];
            params.extend(nums.iter().map(|n| n as &(dyn ToSql + Sync)));
            pairs(rows(&tx, sql, &params).await?)
        })
    }

    /// Connects to the database `settings` names (the password from the URL, else
    /// `PGPASSWORD`), creates or migrates its tables, and counts its documents.
    pub fn open(settings: &PgSettings) -> Result<Self, StoreError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("ardoise-postgres")
            .enable_all()
            .build()?;
        let mut config = tokio_postgres::Config::new();
        config
            .user(&settings.user)
            .host(&settings.host)
            .port(settings.port)
            .dbname(&settings.dbname)
            .application_name("ardoise")
            .connect_timeout(CONNECT_TIMEOUT)
            .keepalives(true)
            .options(format!(
                "-c statement_timeout={STATEMENT_TIMEOUT_MS} -c lock_timeout={STATEMENT_TIMEOUT_MS}"
            ));
        let password = settings
            .password
            .clone()
            .or_else(|| std::env::var("PGPASSWORD").ok());
        if let Some(password) = password {
            config.password(password);
        }
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                // A connection the server closed is dropped at recycling, so the pool
                // reconnects once PostgreSQL is back.
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(PoolRuntime::Tokio1)
            .wait_timeout(Some(CALL_TIMEOUT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .recycle_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .map_err(|e| StoreError::PostgresPool(e.to_string()))?;
        let store = PostgresStore {
            runtime: Some(runtime),
            pool,
            count: AtomicU64::new(0),
            reachable: AtomicBool::new(true),
            errors: AtomicU64::new(0),
            last_probe: Mutex::new(None),
            held: Mutex::new(HashMap::new()),
            renewing: Mutex::new(()),
        };
        store.run(|mut c| async move { schema::migrate(&mut c).await })?;
        let count = store.run(|c| async move {
            let row = c.query_one("SELECT count(*) FROM docs", &[]).await?;
            Ok(row.try_get::<_, i64>(0)?)
        })?;
        store
            .count
            .store(u64::try_from(count).unwrap_or(0), Ordering::Relaxed);
        Ok(store)
    }

    /// Runs `work` with a pooled connection on the store's runtime and waits for its answer,
    /// at most [`CALL_TIMEOUT`]; records I/O-like failures for [`Store::health`].
    fn run<T, F, Fut>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(Object) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, StoreError>> + Send + 'static,
    {
        let result = self.call(work);
        match &result {
            Ok(_) => {
                if !self.reachable.swap(true, Ordering::Relaxed) {
                    tracing::info!("storage recovered: PostgreSQL answers again");
                }
            }
            Err(e) if e.is_io() => {
                self.errors.fetch_add(1, Ordering::Relaxed);
                // Logged once per outage: every call fails the same way until it ends.
                if self.reachable.swap(false, Ordering::Relaxed) {
                    tracing::error!(error = %e, "storage failed: PostgreSQL cannot be reached; calls fail until it answers again");
                }
            }
            Err(_) => {}
        }
        result
    }

    fn call<T, F, Fut>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(Object) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, StoreError>> + Send + 'static,
    {
        let Some(runtime) = &self.runtime else {
            return Err(StoreError::Unavailable);
        };
        let pool = self.pool.clone();
        let (answer, answered) = mpsc::sync_channel(1);
        runtime.spawn(async move {
            let job = async move {
                let client = pool.get().await.map_err(pool_error)?;
                work(client).await
            };
            let result = tokio::time::timeout(CALL_TIMEOUT, job)
                .await
                .unwrap_or(Err(StoreError::Timeout));
            // The caller may have stopped waiting: then nobody needs the answer.
            drop(answer.send(result));
        });
        match answered.recv_timeout(CALL_TIMEOUT + Duration::from_secs(1)) {
            Ok(result) => result,
            Err(mpsc::RecvTimeoutError::Timeout) => Err(StoreError::Timeout),
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(StoreError::Panicked),
        }
    }

    /// The lease this store took on `name`, if any, for a write to check.
    fn fence_of(&self, name: &str) -> Option<(String, i64)> {
        self.held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .cloned()
    }

    /// Every stored row as (table, key, value), with keys laid out as the other engines lay
    /// theirs (name, NUL, big-endian number), for the conformance suite.
    #[cfg(test)]
    pub(crate) fn entries_for_tests(&self) -> Vec<(String, Vec<u8>, Vec<u8>)> {
        self.run(|c| async move {
            let mut out = Vec::new();
            let key = |name: &str, n: i64| {
                let mut k = name.as_bytes().to_vec();
                k.push(0);
                k.extend_from_slice(&n.to_be_bytes());
                k
            };
            for row in c.query("SELECT name, meta, expires FROM docs", &[]).await? {
                let name: String = row.try_get(0)?;
                out.push(("meta".into(), name.clone().into_bytes(), row.try_get(1)?));
                if let Some(at) = row.try_get::<_, Option<i64>>(2)? {
                    out.push((
                        "expires".into(),
                        name.into_bytes(),
                        at.to_be_bytes().to_vec(),
                    ));
                }
            }
            for row in c.query("SELECT at, name FROM expiry", &[]).await? {
                let mut k = row.try_get::<_, i64>(0)?.to_be_bytes().to_vec();
                k.extend_from_slice(row.try_get::<_, &str>(1)?.as_bytes());
                out.push(("expiry".into(), k, Vec::new()));
            }
            for (table, sql) in [
                ("log", "SELECT name, seq, entry FROM log"),
                ("infos", "SELECT name, seq, info FROM infos"),
                ("checkpoints", "SELECT name, seq, state FROM checkpoints"),
                ("authors", "SELECT name, client, author FROM authors"),
            ] {
                for row in c.query(sql, &[]).await? {
                    let k = key(row.try_get(0)?, row.try_get(1)?);
                    out.push((table.into(), k, row.try_get(2)?));
                }
            }
            for row in c.query("SELECT name, state FROM snapshots", &[]).await? {
                let name: String = row.try_get(0)?;
                out.push(("snapshots".into(), name.into_bytes(), row.try_get(1)?));
            }
            for row in c.query("SELECT token, name FROM tokens", &[]).await? {
                let (token, name): (String, String) = (row.try_get(0)?, row.try_get(1)?);
                out.push(("tokens".into(), token.into_bytes(), name.into_bytes()));
            }
            Ok(out)
        })
        .expect("reads every table")
    }

    /// Makes every lease expire now, as if its node had stopped renewing.
    #[cfg(test)]
    pub(crate) fn expire_leases_for_tests(&self) {
        self.run(|c| async move {
            c.execute("UPDATE leases SET expires = now()", &[]).await?;
            Ok(())
        })
        .expect("expires");
    }

    /// Inserts an expiry index entry behind the store's back.
    #[cfg(test)]
    pub(crate) fn insert_due_for_tests(&self, at: u64, name: &str) {
        let name = name.to_owned();
        self.run(move |c| async move {
            c.execute(
                "INSERT INTO expiry (at, name) VALUES ($1, $2)",
                &[&num(at), &name],
            )
            .await?;
            Ok(())
        })
        .expect("inserts");
    }

    /// Stores what a version before history left as a document's snapshot.
    #[cfg(test)]
    pub(crate) fn put_legacy_snapshot_for_tests(&self, name: &str, state: &[u8]) {
        let (name, state) = (name.to_owned(), state.to_vec());
        self.run(move |c| async move {
            c.execute(
                "INSERT INTO snapshots (name, state) VALUES ($1, $2)
                 ON CONFLICT (name) DO UPDATE SET state = excluded.state",
                &[&name, &state],
            )
            .await?;
            Ok(())
        })
        .expect("inserts");
    }
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        // Every call has had its answer (callers wait for it): nothing pending is lost, and
        // dropping from async code must not block there.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// A pool failure as a store error: PostgreSQL's own error, or a timeout.
fn pool_error(e: PoolError) -> StoreError {
    match e {
        PoolError::Backend(e) => StoreError::Postgres(e),
        PoolError::Timeout(_) => StoreError::Timeout,
        other => StoreError::PostgresPool(other.to_string()),
    }
}

/// A sequence number, time or count as PostgreSQL's bigint (saturating: none is that large).
fn num(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A limit as bigint.
fn limit_of(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// A client ID as bigint, bit for bit (IDs may use all 64 bits).
fn client_id(client: u64) -> i64 {
    client as i64
}

/// The bigint back as a sequence number.
fn seq_of(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// Fencing: fails with [`StoreError::LeaseLost`] unless `held` (the owner and epoch this store
/// took) is still the lease on `name`. The row is share-locked to the end of `tx`, so a
/// takeover waits for this write to commit: no write lands after another node took over.
/// Without a lease (a single node on PostgreSQL, a one-time migration) nothing is checked.
async fn fence(
    tx: &Transaction<'_>,
    name: &str,
    held: Option<&(String, i64)>,
) -> Result<(), StoreError> {
    let Some((owner, epoch)) = held else {
        return Ok(());
    };
    let found = rows(
        tx,
        "SELECT 1 FROM leases WHERE name = $1 AND owner = $2 AND epoch = $3 FOR SHARE",
        &[&name, owner, epoch],
    )
    .await?;
    if found.is_empty() {
        return Err(StoreError::LeaseLost(name.to_owned()));
    }
    Ok(())
}

/// A lease length as milliseconds for PostgreSQL's interval arithmetic.
fn millis(ttl: Duration) -> f64 {
    ttl.as_secs_f64() * 1000.0
}

/// Starts a read-only transaction that sees one snapshot of the database.
async fn snapshot(c: &mut Object) -> Result<Transaction<'_>, StoreError> {
    Ok(c.build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?)
}

/// Runs a prepared (and cached) query.
async fn rows(tx: &Transaction<'_>, sql: &str, params: Params<'_>) -> Result<Vec<Row>, StoreError> {
    let statement = tx.prepare_cached(sql).await?;
    Ok(tx.query(&statement, params).await?)
}

/// Whether document `name` exists and its log holds entry `seq`, with its metadata row locked:
/// the lock orders a history pass (squash, forget) after or before an erasure, so an erased
/// document never gets entries back.
async fn holds_entry(tx: &Transaction<'_>, name: &str, seq: i64) -> Result<bool, StoreError> {
    let meta = rows(
        tx,
        "SELECT 1 FROM docs WHERE name = $1 FOR UPDATE",
        &[&name],
    )
    .await?;
    if meta.is_empty() {
        return Ok(false);
    }
    let entry = rows(
        tx,
        "SELECT 1 FROM log WHERE name = $1 AND seq = $2",
        &[&name, &seq],
    )
    .await?;
    Ok(!entry.is_empty())
}

/// Runs a prepared (and cached) statement; returns the rows it changed.
async fn exec(tx: &Transaction<'_>, sql: &str, params: Params<'_>) -> Result<u64, StoreError> {
    let statement = tx.prepare_cached(sql).await?;
    Ok(tx.execute(&statement, params).await?)
}

/// (number, bytes) rows.
fn pairs(rows: Vec<Row>) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
    rows.into_iter()
        .map(|row| Ok((row.try_get::<_, i64>(0)? as u64, row.try_get(1)?)))
        .collect()
}

/// The metadata, the latest checkpoint at or before `through` (else the legacy snapshot) and
/// the log after it up to `through`.
async fn rebuild(tx: &Transaction<'_>, name: &str, through: i64) -> Result<Stored, StoreError> {
    let meta = rows(tx, "SELECT meta FROM docs WHERE name = $1", &[&name]).await?;
    let checkpoint = rows(
        tx,
        "SELECT seq, state FROM checkpoints WHERE name = $1 AND seq <= $2
         ORDER BY seq DESC LIMIT 1",
        &[&name, &through],
    )
    .await?;
    let (from, snapshot) = match checkpoint.first() {
        Some(row) => (row.try_get::<_, i64>(0)?, Some(row.try_get(1)?)),
        None => {
            let legacy = rows(tx, "SELECT state FROM snapshots WHERE name = $1", &[&name]).await?;
            let state = legacy.first().map(|r| r.try_get(0)).transpose()?;
            (i64::MIN, state)
        }
    };
    let log = rows(
        tx,
        "SELECT seq, entry FROM log WHERE name = $1 AND seq > $2 AND seq <= $3 ORDER BY seq",
        &[&name, &from, &through],
    )
    .await?;
    Ok(Stored {
        meta: meta.first().map(|r| r.try_get(0)).transpose()?,
        snapshot,
        log: pairs(log)?,
    })
}

/// The smallest string greater than every string starting with `prefix`, if any: the end of
/// a prefix's range in byte (code point) order.
fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let mut next = u32::from(last) + 1;
        if (0xD800..0xE000).contains(&next) {
            next = 0xE000;
        }
        if let Some(c) = char::from_u32(next) {
            chars.push(c);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

impl Store for PostgresStore {
    fn load(&self, name: &str) -> Result<Stored, StoreError> {
        self.version(name, u64::MAX)
    }

    fn meta(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let name = name.to_owned();
        self.run(move |c| async move {
            let statement = c
                .prepare_cached("SELECT meta FROM docs WHERE name = $1")
                .await?;
            let row = c.query_opt(&statement, &[&name]).await?;
            Ok(row.map(|r| r.try_get(0)).transpose()?)
        })
    }

    fn put_meta(&self, name: &str, meta: &[u8], expires: Option<u64>) -> Result<(), StoreError> {
        let (name, meta, expires) = (name.to_owned(), meta.to_vec(), expires.map(num));
        let held = self.fence_of(&name);
        let inserted = self.run(move |mut c| async move {
            let tx = c.transaction().await?;
            fence(&tx, &name, held.as_ref()).await?;
            let old = rows(
                &tx,
                "SELECT expires FROM docs WHERE name = $1 FOR UPDATE",
                &[&name],
            )
            .await?;
            let old: Option<i64> = match old.first() {
                Some(row) => row.try_get(0)?,
                None => None,
            };
            if old != expires {
                if let Some(old) = old {
                    let sql = "DELETE FROM expiry WHERE at = $1 AND name = $2";
                    exec(&tx, sql, &[&old, &name]).await?;
                }
                if let Some(at) = expires {
                    let sql =
                        "INSERT INTO expiry (at, name) VALUES ($1, $2) ON CONFLICT DO NOTHING";
                    exec(&tx, sql, &[&at, &name]).await?;
                }
            }
            let done = rows(
                &tx,
                "INSERT INTO docs (name, meta, expires) VALUES ($1, $2, $3)
                 ON CONFLICT (name) DO UPDATE SET meta = excluded.meta, expires = excluded.expires
                 RETURNING (xmax = 0)",
                &[&name, &meta, &expires],
            )
            .await?;
            let inserted = match done.first() {
                Some(row) => row.try_get::<_, bool>(0)?,
                None => false,
            };
            tx.commit().await?;
            Ok(inserted)
        })?;
        if inserted {
            self.count.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }

    fn append(&self, name: &str, entries: &[Entry<'_>]) -> Result<u64, StoreError> {
        let name = name.to_owned();
        let n = i64::try_from(entries.len()).unwrap_or(i64::MAX);
        let updates: Vec<Vec<u8>> = entries.iter().map(|e| e.update.to_vec()).collect();
        let infos: Vec<(usize, Vec<u8>)> = entries
            .iter()
            .enumerate()
            .filter(|(_, e)| !e.info.is_empty())
            .map(|(i, e)| (i, e.info.to_vec()))
            .collect();
        let held = self.fence_of(&name);
        self.run(move |mut c| async move {
            let tx = c.transaction().await?;
            fence(&tx, &name, held.as_ref()).await?;
            // One counter row for the database: numbers are handed out in commit order, with
            // no gap, as redb's counter does.
            let counter = rows(
                &tx,
                "UPDATE counters SET value = value + $1 WHERE name = 'seq' RETURNING value",
                &[&n],
            )
            .await?;
            let last: i64 = match counter.first() {
                Some(row) => row.try_get(0)?,
                None => return Err(StoreError::CorruptKey { tree: "counters" }),
            };
            let first = last - n + 1;
            let seqs: Vec<i64> = (first..=last).collect();
            exec(
                &tx,
                "INSERT INTO log (name, seq, entry)
                 SELECT $1, s, e FROM unnest($2::bigint[], $3::bytea[]) AS u(s, e)",
                &[&name, &seqs, &updates],
            )
            .await?;
            if !infos.is_empty() {
                let info_seqs: Vec<i64> = infos.iter().map(|(i, _)| seqs[*i]).collect();
                let info_bytes: Vec<Vec<u8>> = infos.into_iter().map(|(_, b)| b).collect();
                exec(
                    &tx,
                    "INSERT INTO infos (name, seq, info)
                     SELECT $1, s, i FROM unnest($2::bigint[], $3::bytea[]) AS u(s, i)",
                    &[&name, &info_seqs, &info_bytes],
                )
                .await?;
            }
            tx.commit().await?;
            Ok(seq_of(last))
        })
    }

    fn checkpoint(&self, name: &str, state: &[u8], through: u64) -> Result<(), StoreError> {
        let (name, state, through) = (name.to_owned(), state.to_vec(), num(through));
        let held = self.fence_of(&name);
        self.run(move |mut c| async move {
            let tx = c.transaction().await?;
            fence(&tx, &name, held.as_ref()).await?;
            exec(
                &tx,
                "INSERT INTO checkpoints (name, seq, state) VALUES ($1, $2, $3)
                 ON CONFLICT (name, seq) DO UPDATE SET state = excluded.state",
                &[&name, &through, &state],
            )
            .await?;
            exec(&tx, "DELETE FROM snapshots WHERE name = $1", &[&name]).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    fn history(
        &self,
        name: &str,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        self.seq_rows(
            "SELECT seq, info FROM infos WHERE name = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            name,
            &[after.map_or(-1, num), limit_of(limit)],
        )
    }

    fn history_before(
        &self,
        name: &str,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        self.seq_rows(
            "SELECT seq, info FROM infos WHERE name = $1 AND seq < $2
             ORDER BY seq DESC LIMIT $3",
            name,
            &[before.map_or(i64::MAX, num), limit_of(limit)],
        )
    }

    fn log_between(
        &self,
        name: &str,
        first: u64,
        last: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        self.seq_rows(
            "SELECT seq, entry FROM log WHERE name = $1 AND seq >= $2 AND seq <= $3
             ORDER BY seq LIMIT $4",
            name,
            &[num(first), num(last), limit_of(limit)],
        )
    }

    fn squash(
        &self,
        name: &str,
        first: u64,
        last: u64,
        update: &[u8],
        info: &[u8],
    ) -> Result<bool, StoreError> {
        if first > last {
            return Ok(false);
        }
        let (name, first, last) = (name.to_owned(), num(first), num(last));
        let (update, info) = (update.to_vec(), info.to_vec());
        let held = self.fence_of(&name);
        self.run(move |mut c| async move {
            let tx = c.transaction().await?;
            fence(&tx, &name, held.as_ref()).await?;
            if !holds_entry(&tx, &name, last).await? {
                return Ok(false);
            }
            for sql in [
                "DELETE FROM log WHERE name = $1 AND seq >= $2 AND seq <= $3",
                "DELETE FROM infos WHERE name = $1 AND seq >= $2 AND seq <= $3",
            ] {
                exec(&tx, sql, &[&name, &first, &last]).await?;
            }
            let base = rows(
                &tx,
                "SELECT EXISTS (SELECT 1 FROM snapshots WHERE name = $1)
                     OR EXISTS (SELECT 1 FROM checkpoints WHERE name = $1 AND seq < $2)",
                &[&name, &first],
            )
            .await?;
            if base.first().map(|r| r.try_get::<_, bool>(0)).transpose()? == Some(true) {
                exec(
                    &tx,
                    "DELETE FROM checkpoints WHERE name = $1 AND seq >= $2 AND seq < $3",
                    &[&name, &first, &last],
                )
                .await?;
            }
            exec(
                &tx,
                "INSERT INTO log (name, seq, entry) VALUES ($1, $2, $3)",
                &[&name, &last, &update],
            )
            .await?;
            if !info.is_empty() {
                exec(
                    &tx,
                    "INSERT INTO infos (name, seq, info) VALUES ($1, $2, $3)",
                    &[&name, &last, &info],
                )
                .await?;
            }
            tx.commit().await?;
            Ok(true)
        })
    }

    fn forget(&self, name: &str, through: u64, state: &[u8]) -> Result<bool, StoreError> {
        let (name, through, state) = (name.to_owned(), num(through), state.to_vec());
        let held = self.fence_of(&name);
        self.run(move |mut c| async move {
            let tx = c.transaction().await?;
            fence(&tx, &name, held.as_ref()).await?;
            if !holds_entry(&tx, &name, through).await? {
                return Ok(false);
            }
            for sql in [
                "DELETE FROM log WHERE name = $1 AND seq <= $2",
                "DELETE FROM infos WHERE name = $1 AND seq <= $2",
                "DELETE FROM checkpoints WHERE name = $1 AND seq < $2",
            ] {
                exec(&tx, sql, &[&name, &through]).await?;
            }
            exec(
                &tx,
                "INSERT INTO checkpoints (name, seq, state) VALUES ($1, $2, $3)
                 ON CONFLICT (name, seq) DO UPDATE SET state = excluded.state",
                &[&name, &through, &state],
            )
            .await?;
            exec(&tx, "DELETE FROM snapshots WHERE name = $1", &[&name]).await?;
            tx.commit().await?;
            Ok(true)
        })
    }

    fn dump(&self, name: &str) -> Result<Dump, StoreError> {
        let name = name.to_owned();
        self.run(move |mut c| async move {
            let tx = snapshot(&mut c).await?;
            let one = |found: Vec<Row>| -> Result<Option<Vec<u8>>, StoreError> {
                Ok(found.first().map(|r| r.try_get(0)).transpose()?)
            };
            let meta = one(rows(&tx, "SELECT meta FROM docs WHERE name = $1", &[&name]).await?)?;
            let snapshot =
                one(rows(&tx, "SELECT state FROM snapshots WHERE name = $1", &[&name]).await?)?;
            let mut lists = Vec::new();
            for sql in [
                "SELECT seq, state FROM checkpoints WHERE name = $1 ORDER BY seq",
                "SELECT seq, entry FROM log WHERE name = $1 ORDER BY seq",
                "SELECT seq, info FROM infos WHERE name = $1 ORDER BY seq",
                "SELECT client, author FROM authors WHERE name = $1 ORDER BY client",
            ] {
                lists.push(pairs(rows(&tx, sql, &[&name]).await?)?);
            }
            let mut authors = lists.pop().unwrap_or_default();
            // Client IDs sort as unsigned numbers in the other engines' keys.
            authors.sort_by_key(|(client, _)| *client);
            let infos = lists.pop().unwrap_or_default();
            let log = lists.pop().unwrap_or_default();
            let checkpoints = lists.pop().unwrap_or_default();
            Ok(Dump {
                meta,
                snapshot,
                checkpoints,
                log,
                infos,
                authors,
            })
        })
    }

    fn put_dump(&self, name: &str, dump: &Dump) -> Result<(), StoreError> {
        let (name, dump) = (name.to_owned(), dump.clone());
        let held = self.fence_of(&name);
        self.run(move |mut c| async move {
            let tx = c.transaction().await?;
            fence(&tx, &name, held.as_ref()).await?;
            if let Some(snapshot) = &dump.snapshot {
                exec(
                    &tx,
                    "INSERT INTO snapshots (name, state) VALUES ($1, $2)
                     ON CONFLICT (name) DO UPDATE SET state = excluded.state",
                    &[&name, snapshot],
                )
                .await?;
            }
            let tables = [
                (
                    "INSERT INTO checkpoints (name, seq, state) VALUES ($1, $2, $3)
                     ON CONFLICT (name, seq) DO UPDATE SET state = excluded.state",
                    &dump.checkpoints,
                ),
                (
                    "INSERT INTO log (name, seq, entry) VALUES ($1, $2, $3)
                     ON CONFLICT (name, seq) DO UPDATE SET entry = excluded.entry",
                    &dump.log,
                ),
                (
                    "INSERT INTO infos (name, seq, info) VALUES ($1, $2, $3)
                     ON CONFLICT (name, seq) DO UPDATE SET info = excluded.info",
                    &dump.infos,
                ),
                (
                    "INSERT INTO authors (name, client, author) VALUES ($1, $2, $3)
                     ON CONFLICT (name, client) DO UPDATE SET author = excluded.author",
                    &dump.authors,
                ),
            ];
            for (sql, list) in tables {
                let statement = tx.prepare_cached(sql).await?;
                for (n, value) in list {
                    tx.execute(&statement, &[&name, &client_id(*n), value])
                        .await?;
                }
            }
            let largest = dump.log.iter().map(|(seq, _)| num(*seq)).max().unwrap_or(0);
            exec(
                &tx,
                "UPDATE counters SET value = greatest(value, $1) WHERE name = 'seq'",
                &[&largest],
            )
            .await?;
            tx.commit().await?;
            Ok(())
        })
    }

    fn version(&self, name: &str, through: u64) -> Result<Stored, StoreError> {
        let (name, through) = (name.to_owned(), num(through));
        self.run(move |mut c| async move {
            let tx = snapshot(&mut c).await?;
            rebuild(&tx, &name, through).await
        })
    }

    fn put_authors(&self, name: &str, authors: &[(u64, &str)]) -> Result<(), StoreError> {
        if authors.is_empty() {
            return Ok(());
        }
        // The last name given for a client wins, as successive writes would.
        let mut last: Vec<(i64, Vec<u8>)> = Vec::new();
        for (client, author) in authors {
            let id = client_id(*client);
            last.retain(|(c, _)| *c != id);
            last.push((id, author.as_bytes().to_vec()));
        }
        let name = name.to_owned();
        let (clients, names): (Vec<i64>, Vec<Vec<u8>>) = last.into_iter().unzip();
        let held = self.fence_of(&name);
        self.run(move |mut c| async move {
            let tx = c.transaction().await?;
            fence(&tx, &name, held.as_ref()).await?;
            exec(
                &tx,
                "INSERT INTO authors (name, client, author)
                 SELECT $1, c, a FROM unnest($2::bigint[], $3::bytea[]) AS u(c, a)
                 ON CONFLICT (name, client) DO UPDATE SET author = excluded.author",
                &[&name, &clients, &names],
            )
            .await?;
            tx.commit().await?;
            Ok(())
        })
    }

    fn authors(&self, name: &str, clients: &[u64]) -> Result<Vec<(u64, String)>, StoreError> {
        let name = name.to_owned();
        let wanted: Vec<u64> = clients.to_vec();
        let ids: Vec<i64> = clients.iter().map(|c| client_id(*c)).collect();
        let found = self.run(move |mut c| async move {
            let tx = snapshot(&mut c).await?;
            let found = rows(
                &tx,
                "SELECT client, author FROM authors WHERE name = $1 AND client = ANY($2)",
                &[&name, &ids],
            )
            .await?;
            pairs(found)
        })?;
        Ok(wanted
            .into_iter()
            .filter_map(|client| {
                found
                    .iter()
                    .find(|(c, _)| *c == client)
                    .map(|(_, v)| (client, String::from_utf8_lossy(v).into_owned()))
            })
            .collect())
    }

    fn flush(&self) -> Result<(), StoreError> {
        // A commit returns once PostgreSQL made it durable: nothing is left to flush.
        Ok(())
    }

    fn writable(&self) -> Result<(), StoreError> {
        let recent = self
            .last_probe
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some_and(|at| at.elapsed() < PROBE_EVERY);
        if recent && self.reachable.load(Ordering::Relaxed) {
            return Ok(());
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.run(move |c| async move {
            c.execute(
                "UPDATE counters SET value = $1 WHERE name = 'probe'",
                &[&num(now)],
            )
            .await?;
            Ok(())
        })?;
        *self
            .last_probe
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
        Ok(())
    }

    fn health(&self) -> Health {
        Health {
            writable: self.reachable.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
        }
    }

    fn put_token(&self, token: &str, name: &str) -> Result<(), StoreError> {
        let (token, name) = (token.to_owned(), name.to_owned());
        self.run(move |c| async move {
            let statement = c
                .prepare_cached(
                    "INSERT INTO tokens (token, name) VALUES ($1, $2)
                     ON CONFLICT (token) DO UPDATE SET name = excluded.name",
                )
                .await?;
            c.execute(&statement, &[&token, &name]).await?;
            Ok(())
        })
    }

    fn token_name(&self, token: &str) -> Result<Option<String>, StoreError> {
        let token = token.to_owned();
        self.run(move |c| async move {
            let statement = c
                .prepare_cached("SELECT name FROM tokens WHERE token = $1")
                .await?;
            let row = c.query_opt(&statement, &[&token]).await?;
            Ok(row.map(|r| r.try_get(0)).transpose()?)
        })
    }

    fn delete(&self, name: &str, token: Option<&str>) -> Result<(), StoreError> {
        let (name, token) = (name.to_owned(), token.map(str::to_owned));
        let held = self.fence_of(&name);
        let erased = self.run(move |mut c| async move {
            let tx = c.transaction().await?;
            fence(&tx, &name, held.as_ref()).await?;
            for sql in [
                "DELETE FROM log WHERE name = $1",
                "DELETE FROM infos WHERE name = $1",
                "DELETE FROM checkpoints WHERE name = $1",
                "DELETE FROM authors WHERE name = $1",
                "DELETE FROM snapshots WHERE name = $1",
            ] {
                exec(&tx, sql, &[&name]).await?;
            }
            if let Some(token) = &token {
                exec(&tx, "DELETE FROM tokens WHERE token = $1", &[token]).await?;
            }
            let gone = rows(
                &tx,
                "DELETE FROM docs WHERE name = $1 RETURNING expires",
                &[&name],
            )
            .await?;
            let erased = match gone.first() {
                Some(row) => {
                    if let Some(at) = row.try_get::<_, Option<i64>>(0)? {
                        let sql = "DELETE FROM expiry WHERE at = $1 AND name = $2";
                        exec(&tx, sql, &[&at, &name]).await?;
                    }
                    true
                }
                None => false,
            };
            tx.commit().await?;
            Ok(erased)
        })?;
        if erased {
            // Saturating: a count off by one must not wrap around.
            let _ = self
                .count
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
        }
        Ok(())
    }

    fn list(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Listed>, StoreError> {
        let (start, end) = (prefix.to_owned(), prefix_end(prefix));
        let after = after.map(str::to_owned);
        let limit = limit_of(limit);
        self.run(move |mut c| async move {
            let tx = snapshot(&mut c).await?;
            let found = rows(
                &tx,
                "SELECT name, meta FROM docs
                 WHERE name >= $1 AND ($2::text IS NULL OR name < $2)
                   AND ($3::text IS NULL OR name > $3)
                 ORDER BY name LIMIT $4",
                &[&start, &end, &after, &limit],
            )
            .await?;
            found
                .into_iter()
                .map(|row| {
                    Ok(Listed {
                        name: row.try_get(0)?,
                        meta: row.try_get(1)?,
                    })
                })
                .collect()
        })
    }

    fn size(&self, name: &str) -> Result<u64, StoreError> {
        let name = name.to_owned();
        let total = self.run(move |mut c| async move {
            let tx = snapshot(&mut c).await?;
            let found = rows(
                &tx,
                "SELECT
                   coalesce((SELECT sum(octet_length(state)) FROM snapshots WHERE name = $1), 0)
                 + coalesce((SELECT sum(octet_length(entry)) FROM log WHERE name = $1), 0)
                 + coalesce((SELECT sum(octet_length(info)) FROM infos WHERE name = $1), 0)
                 + coalesce((SELECT sum(octet_length(state)) FROM checkpoints WHERE name = $1), 0)
                 + coalesce((SELECT sum(octet_length(author)) FROM authors WHERE name = $1), 0)",
                &[&name],
            )
            .await?;
            match found.first() {
                Some(row) => Ok(row.try_get::<_, i64>(0)?),
                None => Ok(0),
            }
        })?;
        Ok(seq_of(total))
    }

    fn expired(&self, now: u64, after: Option<&Due>, limit: usize) -> Result<Vec<Due>, StoreError> {
        let now = num(now);
        let (at, name) = match after {
            Some(due) => (num(due.at), due.name.clone()),
            None => (i64::MIN, String::new()),
        };
        let limit = limit_of(limit);
        self.run(move |mut c| async move {
            let tx = snapshot(&mut c).await?;
            let found = rows(
                &tx,
                "SELECT at, name FROM expiry WHERE at <= $1 AND (at, name) > ($2, $3)
                 ORDER BY at, name LIMIT $4",
                &[&now, &at, &name, &limit],
            )
            .await?;
            found
                .into_iter()
                .map(|row| {
                    Ok(Due {
                        at: seq_of(row.try_get(0)?),
                        name: row.try_get(1)?,
                    })
                })
                .collect()
        })
    }

    fn drop_stale_due(&self, due: &Due) -> Result<(), StoreError> {
        let (at, name) = (num(due.at), due.name.clone());
        self.run(move |mut c| async move {
            let tx = c.transaction().await?;
            exec(
                &tx,
                "DELETE FROM expiry WHERE at = $1 AND name = $2 AND NOT EXISTS
                   (SELECT 1 FROM docs WHERE name = $2 AND expires = $1)",
                &[&at, &name],
            )
            .await?;
            tx.commit().await?;
            Ok(())
        })
    }

    fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    fn index_if_missing(&self, name: &str, meta: &[u8], expires: u64) -> Result<bool, StoreError> {
        let (name, meta, expires) = (name.to_owned(), meta.to_vec(), num(expires));
        self.run(move |mut c| async move {
            let tx = c.transaction().await?;
            let found = rows(
                &tx,
                "SELECT meta, expires FROM docs WHERE name = $1 FOR UPDATE",
                &[&name],
            )
            .await?;
            let Some(row) = found.first() else {
                return Ok(false);
            };
            let (stored, indexed): (Vec<u8>, Option<i64>) = (row.try_get(0)?, row.try_get(1)?);
            if stored != meta || indexed.is_some() {
                return Ok(false);
            }
            exec(
                &tx,
                "INSERT INTO expiry (at, name) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[&expires, &name],
            )
            .await?;
            exec(
                &tx,
                "UPDATE docs SET expires = $1 WHERE name = $2",
                &[&expires, &name],
            )
            .await?;
            tx.commit().await?;
            Ok(true)
        })
    }

    fn done(&self, step: &str) -> Result<bool, StoreError> {
        let step = step.to_owned();
        self.run(move |c| async move {
            let row = c
                .query_opt("SELECT 1 FROM steps WHERE step = $1", &[&step])
                .await?;
            Ok(row.is_some())
        })
    }

    fn mark_done(&self, step: &str) -> Result<(), StoreError> {
        let step = step.to_owned();
        self.run(move |c| async move {
            c.execute(
                "INSERT INTO steps (step) VALUES ($1) ON CONFLICT DO NOTHING",
                &[&step],
            )
            .await?;
            Ok(())
        })
    }

    fn take_lease(
        &self,
        name: &str,
        owner: &str,
        url: &str,
        ttl: Duration,
    ) -> Result<Grant, StoreError> {
        let (doc, who, url, ms) = (
            name.to_owned(),
            owner.to_owned(),
            url.to_owned(),
            millis(ttl),
        );
        let taken = self.run(move |c| async move {
            // One statement, so two nodes racing for it cannot both win: a new row, or a
            // takeover of an expired (or our own) lease with the next epoch.
            let statement = c
                .prepare_cached(
                    "INSERT INTO leases (name, owner, url, epoch, expires)
                     VALUES ($1, $2, $3, 1, now() + $4 * interval '1 millisecond')
                     ON CONFLICT (name) DO UPDATE SET owner = excluded.owner,
                         url = excluded.url, epoch = leases.epoch + 1,
                         expires = excluded.expires
                     WHERE leases.expires <= now() OR leases.owner = excluded.owner
                     RETURNING epoch",
                )
                .await?;
            if let Some(row) = c.query_opt(&statement, &[&doc, &who, &url, &ms]).await? {
                return Ok(Ok(row.try_get::<_, i64>(0)?));
            }
            let holder = c
                .query_opt("SELECT owner, url FROM leases WHERE name = $1", &[&doc])
                .await?;
            Ok(Err(match holder {
                Some(row) => Holder {
                    owner: row.try_get(0)?,
                    url: row.try_get(1)?,
                },
                // Released and taken back in between: report it held, the caller retries.
                None => Holder {
                    owner: String::new(),
                    url: String::new(),
                },
            }))
        })?;
        match taken {
            Ok(epoch) => {
                self.held
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(name.to_owned(), (owner.to_owned(), epoch));
                Ok(Grant::Granted(Lease {
                    name: name.to_owned(),
                    owner: owner.to_owned(),
                    epoch: seq_of(epoch),
                }))
            }
            Err(holder) => Ok(Grant::HeldBy(holder)),
        }
    }

    fn renew_leases(&self, owner: &str, ttl: Duration) -> Result<Vec<Lease>, StoreError> {
        let _renewing = self.renewing.lock().unwrap_or_else(PoisonError::into_inner);
        let (names, epochs): (Vec<String>, Vec<i64>) = self
            .held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|(_, (who, _))| who == owner)
            .map(|(name, (_, epoch))| (name.clone(), *epoch))
            .unzip();
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let (who, ms, asked, epochs_held) =
            (owner.to_owned(), millis(ttl), names.clone(), epochs.clone());
        let renewed: HashSet<String> = self.run(move |c| async move {
            let statement = c
                .prepare_cached(
                    "UPDATE leases SET expires = now() + $3 * interval '1 millisecond'
                     FROM unnest($1::text[], $2::bigint[]) AS ours (name, epoch)
                     WHERE leases.name = ours.name AND leases.epoch = ours.epoch
                         AND leases.owner = $4
                     RETURNING leases.name",
                )
                .await?;
            c.query(&statement, &[&asked, &epochs, &ms, &who])
                .await?
                .iter()
                .map(|row| Ok(row.try_get::<_, String>(0)?))
                .collect()
        })?;
        Ok(names
            .into_iter()
            .zip(epochs_held)
            .filter(|(name, _)| !renewed.contains(name))
            .map(|(name, epoch)| Lease {
                name,
                owner: owner.to_owned(),
                epoch: seq_of(epoch),
            })
            .collect())
    }

    fn release_lease(&self, lease: &Lease) -> Result<(), StoreError> {
        let _renewing = self.renewing.lock().unwrap_or_else(PoisonError::into_inner);
        {
            let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
            let ours = (lease.owner.clone(), num(lease.epoch));
            if held.get(&lease.name) == Some(&ours) {
                held.remove(&lease.name);
            }
        }
        let (name, owner, epoch) = (lease.name.clone(), lease.owner.clone(), num(lease.epoch));
        self.run(move |c| async move {
            // Expired rather than deleted: the epoch must never go back (see the schema).
            c.execute(
                "UPDATE leases SET expires = now()
                 WHERE name = $1 AND owner = $2 AND epoch = $3",
                &[&name, &owner, &epoch],
            )
            .await?;
            Ok(())
        })
    }

    fn lease_holder(&self, name: &str) -> Result<Option<Holder>, StoreError> {
        let name = name.to_owned();
        self.run(move |c| async move {
            let row = c
                .query_opt(
                    "SELECT owner, url FROM leases WHERE name = $1 AND expires > now()",
                    &[&name],
                )
                .await?;
            row.map(|row| {
                Ok(Holder {
                    owner: row.try_get(0)?,
                    url: row.try_get(1)?,
                })
            })
            .transpose()
        })
    }

    fn announce(&self, report: &NodeReport) -> Result<(), StoreError> {
        let r = report.clone();
        self.run(move |c| async move {
            let (signal, value) = r.cause.map_or((None, None), |(s, v)| (Some(s), Some(v)));
            let statement = c
                .prepare_cached(
                    "INSERT INTO nodes (id, url, last_seen, started_at, version, rooms,
                         connections, creation_open, mode, cause_signal, cause_value,
                         cpu_percent, memory_mib)
                     VALUES ($1, $2, now(), $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
                     ON CONFLICT (id) DO UPDATE SET url = excluded.url,
                         last_seen = excluded.last_seen, started_at = excluded.started_at,
                         version = excluded.version, rooms = excluded.rooms,
                         connections = excluded.connections,
                         creation_open = excluded.creation_open, mode = excluded.mode,
                         cause_signal = excluded.cause_signal,
                         cause_value = excluded.cause_value,
                         cpu_percent = excluded.cpu_percent, memory_mib = excluded.memory_mib",
                )
                .await?;
            c.execute(
                &statement,
                &[
                    &r.id,
                    &r.url,
                    &num(r.started_at),
                    &r.version,
                    &num(r.rooms),
                    &num(r.connections),
                    &r.creation_open,
                    &r.mode,
                    &signal,
                    &value,
                    &r.cpu_percent,
                    &r.memory_mib,
                ],
            )
            .await?;
            Ok(())
        })
    }

    fn withdraw(&self, id: &str) -> Result<(), StoreError> {
        let id = id.to_owned();
        self.run(move |c| async move {
            c.execute("DELETE FROM nodes WHERE id = $1", &[&id]).await?;
            Ok(())
        })
    }

    fn nodes(&self) -> Result<Vec<SeenNode>, StoreError> {
        self.run(move |c| async move {
            let rows = c
                .query(
                    "SELECT id, url, started_at, version, rooms, connections, creation_open,
                         mode, cause_signal, cause_value, cpu_percent, memory_mib,
                         extract(epoch FROM last_seen)::float8,
                         greatest(extract(epoch FROM now() - last_seen), 0)::float8
                     FROM nodes ORDER BY id LIMIT $1",
                    &[&limit_of(MAX_NODES)],
                )
                .await?;
            rows.into_iter()
                .map(|row| -> Result<SeenNode, StoreError> {
                    let signal: Option<String> = row.try_get(8)?;
                    let value: Option<f64> = row.try_get(9)?;
                    let last_seen: f64 = row.try_get(12)?;
                    let age: f64 = row.try_get(13)?;
                    Ok(SeenNode {
                        report: NodeReport {
                            id: row.try_get(0)?,
                            url: row.try_get(1)?,
                            started_at: seq_of(row.try_get(2)?),
                            version: row.try_get(3)?,
                            rooms: seq_of(row.try_get(4)?),
                            connections: seq_of(row.try_get(5)?),
                            creation_open: row.try_get(6)?,
                            mode: row.try_get(7)?,
                            cause: signal.zip(value),
                            cpu_percent: row.try_get(10)?,
                            memory_mib: row.try_get(11)?,
                        },
                        // Whole seconds: what a "last seen" needs; a negative or NaN
                        // (impossible from now()) reads as 0.
                        last_seen: last_seen.max(0.0) as u64,
                        age: Duration::try_from_secs_f64(age).unwrap_or_default(),
                    })
                })
                .collect()
        })
    }
}

/// The settings of a test database's URL.
#[cfg(test)]
pub(crate) fn settings_for_tests(url: &str) -> PgSettings {
    match url.parse() {
        Ok(crate::config::store_url::StoreUrl::Postgres(settings)) => settings,
        other => panic!("not a PostgreSQL URL: {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_range_ends_after_every_name_that_starts_with_it() {
        assert_eq!(prefix_end("ab").as_deref(), Some("ac"));
        assert_eq!(prefix_end(""), None);
        assert_eq!(prefix_end("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_end("\u{D7FF}").as_deref(), Some("\u{E000}"));
    }

    #[test]
    fn a_call_from_inside_a_runtime_and_a_drop_there_do_not_panic() {
        let cluster = test_cluster::shared();
        let store = PostgresStore::open(&settings_for_tests(&cluster.fresh_url())).expect("opens");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            store
                .put_meta("a", b"m", None)
                .expect("a call inline in async code");
            assert_eq!(store.count(), 1);
            drop(store);
        });
    }

    #[test]
    fn a_lost_database_fails_calls_and_the_store_recovers_when_it_is_back() {
        let cluster = test_cluster::Cluster::start().expect("PostgreSQL starts");
        let store = PostgresStore::open(&settings_for_tests(&cluster.fresh_url())).expect("opens");
        store.put_meta("a", b"m", None).expect("meta");
        cluster.stop();
        let err = store.meta("a").expect_err("no database");
        assert!(err.is_io(), "{err}");
        assert!(store.writable().is_err());
        assert!(!store.health().writable);
        assert!(store.health().errors > 0);
        cluster.restart();
        store.writable().expect("writable again, without reopening");
        assert!(store.health().writable);
        assert_eq!(store.meta("a").expect("meta").as_deref(), Some(&b"m"[..]));
    }

    #[test]
    fn two_stores_opening_one_new_database_at_once_migrate_it_once() {
        let settings = settings_for_tests(&test_cluster::shared().fresh_url());
        let threads: Vec<_> = (0..3)
            .map(|_| {
                let settings = settings.clone();
                std::thread::spawn(move || PostgresStore::open(&settings).map(|_| ()))
            })
            .collect();
        for thread in threads {
            thread.join().expect("thread").expect("opens");
        }
        let store = PostgresStore::open(&settings).expect("reopens");
        let versions = store
            .run(|c| async move {
                let row = c
                    .query_one("SELECT count(*), max(version) FROM schema_version", &[])
                    .await?;
                Ok((row.try_get::<_, i64>(0)?, row.try_get::<_, i32>(1)?))
            })
            .expect("reads");
        assert_eq!(versions, (3, 3));
    }

    /// Two nodes: two stores on one database.
    fn two_nodes() -> (PostgresStore, PostgresStore) {
        let settings = settings_for_tests(&test_cluster::shared().fresh_url());
        let a = PostgresStore::open(&settings).expect("opens");
        let b = PostgresStore::open(&settings).expect("opens");
        (a, b)
    }

    fn granted(grant: Grant) -> Lease {
        match grant {
            Grant::Granted(lease) => lease,
            Grant::HeldBy(holder) => panic!("held by {holder:?}"),
        }
    }

    const LONG: Duration = Duration::from_secs(60);

    #[test]
    fn two_nodes_cannot_both_hold_a_lease() {
        let (a, b) = two_nodes();
        let lease = granted(a.take_lease("d", "a", "http://a", LONG).expect("takes"));
        assert_eq!(lease.epoch, 1);
        assert_eq!(
            b.take_lease("d", "b", "http://b", LONG).expect("asks"),
            Grant::HeldBy(Holder {
                owner: "a".into(),
                url: "http://a".into()
            })
        );
        assert_eq!(
            b.lease_holder("d").expect("reads").map(|h| h.owner),
            Some("a".into())
        );
        // Another document is free.
        granted(b.take_lease("e", "b", "http://b", LONG).expect("takes"));
        assert!(a.renew_leases("a", LONG).expect("renews").is_empty());
        assert!(b.renew_leases("b", LONG).expect("renews").is_empty());
        a.release_lease(&lease).expect("releases");
        assert_eq!(b.lease_holder("d").expect("reads"), None);
        let next = granted(b.take_lease("d", "b", "http://b", LONG).expect("takes"));
        assert_eq!(
            next.epoch, 2,
            "a takeover after a release moves the epoch on"
        );
    }

    #[test]
    fn one_renewal_extends_every_lease_of_its_node_but_not_a_released_one() {
        let (a, b) = two_nodes();
        // Zero-length leases have expired by the next statement: only the renewal keeps them.
        granted(
            a.take_lease("d", "a", "http://a", Duration::ZERO)
                .expect("takes"),
        );
        granted(
            a.take_lease("e", "a", "http://a", Duration::ZERO)
                .expect("takes"),
        );
        let f = granted(a.take_lease("f", "a", "http://a", LONG).expect("takes"));
        a.release_lease(&f).expect("releases");
        assert!(a.renew_leases("a", LONG).expect("renews").is_empty());
        for name in ["d", "e"] {
            assert!(
                matches!(
                    b.take_lease(name, "b", "http://b", LONG).expect("asks"),
                    Grant::HeldBy(_)
                ),
                "{name} renewed"
            );
        }
        granted(
            b.take_lease("f", "b", "http://b", LONG)
                .expect("a released lease stays free"),
        );
        assert!(
            b.renew_leases("a", LONG).expect("renews").is_empty(),
            "a store renews only the leases it took"
        );
    }

    #[test]
    fn a_stale_holder_s_writes_are_refused_after_a_takeover() {
        let (a, b) = two_nodes();
        a.put_meta("d", b"m", None).expect("meta before any lease");
        // A lease of zero length has expired by the next statement: b takes it over at once
        // (as after a node stopped renewing), without waiting on the clock.
        let stale = granted(
            a.take_lease("d", "a", "http://a", Duration::ZERO)
                .expect("takes"),
        );
        let seq = a
            .append("d", &crate::store::entries(&[b"u1"]))
            .expect("a writes");
        let lease = granted(
            b.take_lease("d", "b", "http://b", LONG)
                .expect("takes over"),
        );
        assert_eq!(lease.epoch, stale.epoch + 1);
        let lost = |r: Result<(), StoreError>| match r {
            Err(StoreError::LeaseLost(name)) => assert_eq!(name, "d"),
            other => panic!("not refused: {other:?}"),
        };
        lost(a.append("d", &crate::store::entries(&[b"u2"])).map(|_| ()));
        lost(a.checkpoint("d", b"s", seq));
        lost(a.put_meta("d", b"m2", Some(5)));
        lost(a.squash("d", seq, seq, b"u", b"i").map(|_| ()));
        lost(a.forget("d", seq, b"s").map(|_| ()));
        lost(a.put_authors("d", &[(1, "x")]));
        lost(a.delete("d", None));
        assert_eq!(
            a.renew_leases("a", LONG).expect("renews"),
            vec![stale.clone()],
            "a renewal tells a of the lease it lost"
        );
        // Nothing of the stale holder landed; the new holder writes.
        let stored = b.load("d").expect("loads");
        assert_eq!(stored.meta.as_deref(), Some(&b"m"[..]));
        assert_eq!(stored.log.len(), 1);
        b.append("d", &crate::store::entries(&[b"u3"]))
            .expect("b writes");
        b.checkpoint("d", b"s", seq).expect("b checkpoints");
        // The stale holder's release does not free the new lease.
        a.release_lease(&stale).expect("no-op");
        assert_eq!(
            a.lease_holder("d").expect("reads").map(|h| h.owner),
            Some("b".into())
        );
        b.delete("d", None).expect("b erases");
    }

    fn report(id: &str, rooms: u64) -> NodeReport {
        NodeReport {
            id: id.into(),
            url: format!("http://{id}"),
            rooms,
            connections: 3,
            creation_open: true,
            mode: "auto".into(),
            cause: None,
            cpu_percent: Some(12.5),
            memory_mib: None,
            started_at: 1_700_000_000,
            version: "9.9.9".into(),
        }
    }

    #[test]
    fn nodes_see_each_other_s_latest_report_until_one_withdraws() {
        let (a, b) = two_nodes();
        assert!(a.nodes().expect("reads").is_empty());
        a.announce(&report("a", 1)).expect("a announces");
        let mut closed = report("b", 2);
        closed.creation_open = false;
        closed.cause = Some(("memory_mib".into(), 900.0));
        b.announce(&closed).expect("b announces");
        // A later report replaces the earlier one.
        a.announce(&report("a", 5)).expect("a announces again");
        let seen = b.nodes().expect("reads");
        let reports: Vec<_> = seen.iter().map(|n| n.report.clone()).collect();
        assert_eq!(reports, [report("a", 5), closed]);
        for node in &seen {
            assert!(node.age < LONG, "just seen: {:?}", node.age);
            assert!(node.last_seen > 0);
        }
        a.withdraw("a").expect("a withdraws");
        let left: Vec<_> = b
            .nodes()
            .expect("reads")
            .into_iter()
            .map(|n| n.report.id)
            .collect();
        assert_eq!(left, ["b"]);
    }
}
