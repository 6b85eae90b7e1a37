//! Incremental sync of a profile's incidents into its encrypted store.
//!
//! Each sync asks only for incidents updated at or after the store's watermark (the newest
//! `lastUpdate` it holds, read alone), and merges them by id in one transaction that writes only
//! the rows that changed. A sync that fails half way saves nothing: the store keeps its previous,
//! consistent state and the next sync starts from its watermark, so nothing is lost. With nothing
//! new, a sync costs one request and writes nothing but its time.

use std::sync::Arc;

use serde::Serialize;
use time::OffsetDateTime;

use crate::auth::session::Session;
use crate::error::{Error, Result};
use crate::incidents::api::{IncidentApi, Progress};
use crate::incidents::cache::{Cache, Snapshot};
use crate::incidents::model::{Alert, Incident};

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncReport {
    /// Incidents the API returned (new or changed, plus the one at the watermark).
    pub fetched: usize,
    /// Incidents in the cache after the sync.
    pub total: usize,
    /// When this sync finished.
    #[serde(with = "time::serde::rfc3339")]
    pub synced_at: OffsetDateTime,
}

/// Runs a blocking cache call on the blocking pool.
async fn blocking<T: Send + 'static>(
    cache: &Arc<Cache>,
    f: impl FnOnce(&Cache) -> Result<T> + Send + 'static,
) -> Result<T> {
    let cache = Arc::clone(cache);
    tokio::task::spawn_blocking(move || f(&cache))
        .await
        .map_err(|e| Error::task("cache", e))?
}

/// The cached incidents, read without the network.
pub async fn cached(cache: &Arc<Cache>) -> Result<Snapshot> {
    blocking(cache, Cache::load).await
}

/// The cached alerts of one incident opened before, if any.
pub async fn cached_detail(cache: &Arc<Cache>, id: &str) -> Result<Option<Vec<Alert>>> {
    let id = id.to_owned();
    blocking(cache, move |c| c.detail(&id)).await
}

/// Keeps an incident's alerts for offline review.
pub async fn remember_detail(cache: &Arc<Cache>, id: &str, alerts: Vec<Alert>) -> Result<()> {
    let id = id.to_owned();
    blocking(cache, move |c| c.save_detail(&id, &alerts)).await
}

pub async fn sync(
    api: &IncidentApi,
    session: &Session,
    cache: &Arc<Cache>,
    progress: Progress<'_>,
) -> Result<(Vec<Incident>, SyncReport)> {
    let watermark = blocking(cache, Cache::watermark).await?;
    let fetched = api.list(session, watermark, progress).await?;
    let count = fetched.len();
    let account = session.account();
    let synced_at = OffsetDateTime::now_utc();
    let merged = blocking(cache, move |c| {
        c.merge(&fetched, synced_at, account.as_ref())
    })
    .await?;
    let snapshot = cached(cache).await?;
    let report = SyncReport {
        fetched: count,
        total: merged.total,
        synced_at,
    };
    Ok((snapshot.incidents, report))
}

/// Applies a written incident to the store (its one row), so the queue shows it at once.
pub async fn remember(cache: &Arc<Cache>, incident: Incident) -> Result<()> {
    blocking(cache, move |c| c.put(&incident)).await
}
