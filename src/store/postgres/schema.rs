//! The PostgreSQL engine's tables, created and migrated by ardoise itself: `schema_version`
//! holds the versions applied; each migration runs in its own transaction under a
//! transaction-level advisory lock, so two servers starting at once apply it once, and a
//! server restarted on a migrated database applies nothing. A later version adds its tables
//! (the cluster's `leases`, say) as the next entry of [`MIGRATIONS`], never by editing one.

use deadpool_postgres::Object;

use crate::store::StoreError;

/// The advisory lock key migrations hold (any constant unique to ardoise: "ardoise" in ASCII).
const MIGRATION_LOCK: i64 = 0x0061_7264_6f69_7365;

/// The migrations, in order: version `i + 1` is `MIGRATIONS[i]`.
const MIGRATIONS: &[&str] = &[
    // 1: documents. Names sort byte-wise (`COLLATE "C"`) as in the other engines, so listing
    // by prefix is one index range. Sequence numbers and client IDs are stored as bigint.
    r#"
    CREATE TABLE docs (
        name text COLLATE "C" PRIMARY KEY,
        meta bytea NOT NULL,
        expires bigint
    );
    CREATE TABLE expiry (
        at bigint NOT NULL,
        name text COLLATE "C" NOT NULL,
        PRIMARY KEY (at, name)
    );
    CREATE TABLE log (
        name text COLLATE "C" NOT NULL,
        seq bigint NOT NULL,
        entry bytea NOT NULL,
        PRIMARY KEY (name, seq)
    );
    CREATE TABLE infos (
        name text COLLATE "C" NOT NULL,
        seq bigint NOT NULL,
        info bytea NOT NULL,
        PRIMARY KEY (name, seq)
    );
    CREATE TABLE checkpoints (
        name text COLLATE "C" NOT NULL,
        seq bigint NOT NULL,
        state bytea NOT NULL,
        PRIMARY KEY (name, seq)
    );
    CREATE TABLE snapshots (
        name text COLLATE "C" PRIMARY KEY,
        state bytea NOT NULL
    );
    CREATE TABLE authors (
        name text COLLATE "C" NOT NULL,
        client bigint NOT NULL,
        author bytea NOT NULL,
        PRIMARY KEY (name, client)
    );
    CREATE TABLE tokens (
        token text COLLATE "C" PRIMARY KEY,
        name text COLLATE "C" NOT NULL
    );
    CREATE TABLE steps (step text PRIMARY KEY);
    CREATE TABLE counters (name text PRIMARY KEY, value bigint NOT NULL);
    INSERT INTO counters (name, value) VALUES ('seq', 0), ('probe', 0);
    "#,
    // 2: leases, for several nodes on one database. One row per document ever leased, kept
    // on release (it only expires), so its epoch never goes back and a fenced-off holder can
    // never match a later lease. `expires` is the database's clock: nodes' clocks never
    // compare with each other.
    r#"
    CREATE TABLE leases (
        name text COLLATE "C" PRIMARY KEY,
        owner text NOT NULL,
        url text NOT NULL,
        epoch bigint NOT NULL,
        expires timestamptz NOT NULL
    );
    "#,
    // 3: nodes, for the admin page's list of a cluster's nodes. One row per node, replaced by
    // each report; `last_seen` is the database's clock, `started_at` the node's (Unix seconds).
    r#"
    CREATE TABLE nodes (
        id text PRIMARY KEY,
        url text NOT NULL,
        last_seen timestamptz NOT NULL,
        started_at bigint NOT NULL,
        version text NOT NULL,
        rooms bigint NOT NULL,
        connections bigint NOT NULL,
        creation_open boolean NOT NULL,
        mode text NOT NULL,
        cause_signal text,
        cause_value double precision,
        cpu_percent double precision,
        memory_mib double precision
    );
    "#,
];

/// Brings the database to the latest schema, one migration per transaction.
pub(super) async fn migrate(client: &mut Object) -> Result<(), StoreError> {
    loop {
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await?;
        // Checked first rather than `CREATE … IF NOT EXISTS`, whose notice every start would log.
        let missing: bool = tx
            .query_one("SELECT to_regclass('schema_version') IS NULL", &[])
            .await?
            .try_get(0)?;
        if missing {
            tx.batch_execute(
                "CREATE TABLE schema_version (
                    version integer PRIMARY KEY,
                    applied_at timestamptz NOT NULL DEFAULT now()
                )",
            )
            .await?;
        }
        let current: i32 = tx
            .query_one("SELECT coalesce(max(version), 0) FROM schema_version", &[])
            .await?
            .try_get(0)?;
        let known = i32::try_from(MIGRATIONS.len()).unwrap_or(i32::MAX);
        if current > known {
            return Err(StoreError::SchemaTooNew(current));
        }
        let Some(sql) = usize::try_from(current)
            .ok()
            .and_then(|done| MIGRATIONS.get(done))
        else {
            tx.commit().await?;
            return Ok(());
        };
        tx.batch_execute(sql).await?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES ($1)",
            &[&(current + 1)],
        )
        .await?;
        tx.commit().await?;
        tracing::info!(version = current + 1, "PostgreSQL schema migrated");
    }
}
