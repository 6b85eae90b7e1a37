//! Incremental sync of a profile's incidents into its encrypted store.
//!
//! Each sync asks only for incidents updated at or after the store's watermark (the newest
//! `lastUpdate` it holds, read alone), and writes each page as it arrives, in its own transaction,
//! only the rows that changed. A sync that fails half way keeps the pages it wrote, each whole;
//! when the listing comes oldest change first (Graph) the watermark moved with them and the next
//! sync resumes there, otherwise (Defender XDR) it starts again from the old watermark and finds
//! those pages unchanged. With nothing new, a sync costs one request and writes nothing but its
//! time.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use serde::Serialize;
use time::OffsetDateTime;

use crate::auth::session::Session;
use crate::error::{Error, Result};
use crate::incidents::api::{IncidentApi, PageDone, Progress};
use crate::incidents::cache::{Cache, Snapshot};
use crate::incidents::model::{Incident, IncidentDetail};

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncReport {
    /// Incidents the API returned (new or changed, plus the one at the watermark).
    pub fetched: usize,
    /// Incidents new or different from the stored ones (rows written).
    pub changed: usize,
    /// Incidents in the cache after the sync, merged ones left out (as the queue counts them).
    pub total: usize,
    /// When this sync finished.
    #[serde(with = "time::serde::rfc3339")]
    pub synced_at: OffsetDateTime,
}

/// Runs a blocking cache call on the blocking pool.
pub async fn blocking<T: Send + 'static>(
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

/// The store's sync state, without reading its incidents.
pub async fn status(cache: &Arc<Cache>) -> Result<Snapshot> {
    blocking(cache, Cache::status).await
}

/// The cached alerts and texts of one incident opened before, if any.
pub async fn cached_detail(
    cache: &Arc<Cache>,
    id: &str,
) -> Result<Option<crate::incidents::cache::StoredDetail>> {
    let id = id.to_owned();
    blocking(cache, move |c| c.detail(&id)).await
}

/// Keeps an incident's alerts and texts for offline review.
pub async fn remember_detail(cache: &Arc<Cache>, id: &str, detail: IncidentDetail) -> Result<()> {
    let id = id.to_owned();
    blocking(cache, move |c| c.save_detail(&id, &detail)).await
}

/// Lists what changed since the watermark, writing each page to the store as it arrives (memory
/// stays flat with the tenant's size). A sync that fails half way keeps the pages it wrote; with
/// a listing oldest change first, the next sync resumes after them.
pub async fn sync(
    api: &IncidentApi,
    session: &Session,
    cache: &Arc<Cache>,
    progress: Progress<'_>,
) -> Result<(Vec<Incident>, SyncReport)> {
    let report = sync_store(api, session, cache, progress).await?;
    Ok((cached(cache).await?.incidents, report))
}

/// The sync alone, without reading the queue back (what `idesk sync` needs): memory stays flat
/// with the tenant's size.
pub async fn sync_store(
    api: &IncidentApi,
    session: &Session,
    cache: &Arc<Cache>,
    progress: Progress<'_>,
) -> Result<SyncReport> {
    let watermark = blocking(cache, Cache::watermark).await?;
    let advance = api.lists_oldest_first();
    let fetched = Arc::new(AtomicUsize::new(0));
    let changed = Arc::new(AtomicUsize::new(0));
    let mut sink = {
        let (cache, fetched, changed) = (
            Arc::clone(cache),
            Arc::clone(&fetched),
            Arc::clone(&changed),
        );
        move |page: Vec<Incident>| -> PageDone {
            let (cache, fetched, changed) = (
                Arc::clone(&cache),
                Arc::clone(&fetched),
                Arc::clone(&changed),
            );
            Box::pin(async move {
                fetched.fetch_add(page.len(), Ordering::Relaxed);
                let written = blocking(&cache, move |c| c.put_page(&page, advance)).await?;
                changed.fetch_add(written, Ordering::Relaxed);
                Ok(())
            })
        }
    };
    api.list_pages(session, watermark, progress, &mut sink)
        .await?;
    let account = session.account();
    let synced_at = OffsetDateTime::now_utc();
    let merged = blocking(cache, move |c| c.finish_sync(synced_at, account.as_ref())).await?;
    Ok(SyncReport {
        fetched: fetched.load(Ordering::Relaxed),
        changed: changed.load(Ordering::Relaxed) + merged.changed,
        total: merged.total,
        synced_at,
    })
}

/// Applies a written incident to the store (its one row), so the queue shows it at once.
pub async fn remember(cache: &Arc<Cache>, incident: Incident) -> Result<()> {
    blocking(cache, move |c| c.put(&incident)).await
}
