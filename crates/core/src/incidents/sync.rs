//! Incremental sync of a profile's incidents into its encrypted store.
//!
//! Each sync asks only for incidents updated at or after the store's watermark (the newest
//! `lastUpdate` it holds, read alone), and writes the pages as they arrive, `BATCH` incidents to a
//! transaction, only the rows that changed. A sync that fails half way keeps the pages it wrote
//! (those it had not written yet too: they are written before the error is returned; on a full
//! disk, 50 at a time, as many as fit), each whole;
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

/// Incidents written to the store in one transaction during a sync: ten of Graph's pages. Each
/// transaction encrypts and authenticates again every page of the table, its indexes and the
/// full-text index that it touches: with one per listing page, a first sync of 100,000
/// incidents took 13–16 s of CPU, with 500 about 8. Memory stays flat: 500 incidents wait at most.
const BATCH: usize = 500;

/// When a batch does not fit on the disk, it is written again this many at a time, so that as
/// much of it as fits is kept.
const SMALL_BATCH: usize = 50;

/// A sync that wrote at most this many rows hands them to the queue's index, which takes them
/// in place; after a larger one the index is built again from the store.
pub const FOLLOW: usize = 2000;

/// Writes a batch in one transaction; on a full disk, in small ones until one does not fit.
/// Returns where in `batch` the rows written are.
fn put_batch(cache: &Cache, batch: &[Incident], advance: bool) -> Result<Vec<usize>> {
    match cache.put_page(batch, advance) {
        Err(Error::Io(_, e)) if e.kind() == std::io::ErrorKind::StorageFull => {
            let mut written = Vec::new();
            for (n, part) in batch.chunks(SMALL_BATCH).enumerate() {
                let at = n * SMALL_BATCH;
                written.extend(cache.put_page(part, advance)?.into_iter().map(|k| at + k));
            }
            Ok(written)
        }
        other => other,
    }
}

/// A complete sync: its report, and the incidents it wrote when they were few (`FOLLOW`).
pub struct Synced {
    pub report: SyncReport,
    pub written: Option<Vec<Incident>>,
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
    sync_into(api, session, cache, progress)
        .await
        .map(|s| s.report)
}

/// The sync, with the incidents it wrote when they were few: the app's queue index takes them
/// in place instead of reading the whole store again.
pub async fn sync_into(
    api: &IncidentApi,
    session: &Session,
    cache: &Arc<Cache>,
    progress: Progress<'_>,
) -> Result<Synced> {
    let watermark = blocking(cache, Cache::watermark).await?;
    let advance = api.lists_oldest_first();
    let fetched = Arc::new(AtomicUsize::new(0));
    let changed = Arc::new(AtomicUsize::new(0));
    // The pages not written yet, in the order they came.
    let pending: Arc<std::sync::Mutex<Vec<Incident>>> = Arc::default();
    // The incidents written, while they are few.
    let kept: Arc<std::sync::Mutex<Option<Vec<Incident>>>> =
        Arc::new(std::sync::Mutex::new(Some(Vec::new())));
    let write = {
        let (cache, changed, kept) = (Arc::clone(cache), Arc::clone(&changed), Arc::clone(&kept));
        move |batch: Vec<Incident>| {
            let (cache, changed, kept) =
                (Arc::clone(&cache), Arc::clone(&changed), Arc::clone(&kept));
            async move {
                if batch.is_empty() {
                    return Ok(());
                }
                let (batch, written) = blocking(&cache, move |c| {
                    put_batch(c, &batch, advance).map(|written| (batch, written))
                })
                .await?;
                changed.fetch_add(written.len(), Ordering::Relaxed);
                let mut kept = kept.lock().unwrap_or_else(|e| e.into_inner());
                match kept.as_mut() {
                    Some(list) if list.len() + written.len() <= FOLLOW => {
                        let mut written = written.into_iter().peekable();
                        for (k, incident) in batch.into_iter().enumerate() {
                            if written.next_if_eq(&k).is_some() {
                                list.push(incident);
                            }
                        }
                    }
                    _ => *kept = None,
                }
                Ok::<(), Error>(())
            }
        }
    };
    let mut sink = {
        let (fetched, pending, write) = (Arc::clone(&fetched), Arc::clone(&pending), write.clone());
        move |page: Vec<Incident>| -> PageDone {
            fetched.fetch_add(page.len(), Ordering::Relaxed);
            let full = {
                let mut p = pending.lock().unwrap_or_else(|e| e.into_inner());
                p.extend(page);
                (p.len() >= BATCH).then(|| std::mem::take(&mut *p))
            };
            match full {
                Some(batch) => Box::pin(write(batch)),
                None => Box::pin(std::future::ready(Ok(()))),
            }
        }
    };
    let listed = api
        .list_pages(session, watermark, progress, &mut sink)
        .await;
    // What came before a failure is kept too, then the failure is told.
    let rest = std::mem::take(&mut *pending.lock().unwrap_or_else(|e| e.into_inner()));
    write(rest).await?;
    listed?;
    let account = session.account();
    let synced_at = OffsetDateTime::now_utc();
    let merged = blocking(cache, move |c| c.finish_sync(synced_at, account.as_ref())).await?;
    let written = kept.lock().unwrap_or_else(|e| e.into_inner()).take();
    Ok(Synced {
        report: SyncReport {
            fetched: fetched.load(Ordering::Relaxed),
            changed: changed.load(Ordering::Relaxed) + merged.changed,
            total: merged.total,
            synced_at,
        },
        written,
    })
}

/// Applies a written incident to the store (its one row), so the queue shows it at once.
pub async fn remember(cache: &Arc<Cache>, incident: Incident) -> Result<()> {
    blocking(cache, move |c| c.put(&incident)).await
}
