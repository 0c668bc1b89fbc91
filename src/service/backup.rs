//! The operator's backup (`POST /api/v1/backup`): a consistent copy of every stored document
//! into a fresh data directory under `DATA/backups/`, written on the blocking pool while live
//! rooms keep working. The copy itself is `store::backup`; this names it and runs it.

use std::path::Path;
use std::sync::Arc;

use crate::doc::meta::unix_now;
use crate::doc::random::random_hex;
use crate::service::ServiceError;
use crate::store::backup::{backup_to, BackupReport};
use crate::store::Store;

/// Copies every document of `store` into a new directory `data/backups/backup-{time}-{random}`
/// (with a database cache of `cache_bytes`); the cause of a failure is logged, not returned.
pub async fn run(
    store: Arc<dyn Store>,
    data: &Path,
    cache_bytes: usize,
) -> Result<BackupReport, ServiceError> {
    // The random part keeps two backups asked for in the same second apart.
    let dir = data
        .join("backups")
        .join(format!("backup-{}-{}", unix_now(), &random_hex()[..8]));
    let report = tokio::task::spawn_blocking(move || backup_to(&*store, &dir, cache_bytes))
        .await
        .map_err(|_| ServiceError::Unavailable)?
        .map_err(|e| {
            tracing::error!(error = %e, "backup failed");
            ServiceError::Unavailable
        })?;
    tracing::info!(documents = report.documents, path = %report.path.display(), "backup written");
    Ok(report)
}
