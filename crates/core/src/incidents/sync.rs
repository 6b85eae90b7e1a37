//! Incremental sync of a profile's incidents into its encrypted cache.
//!
//! Each sync asks only for incidents updated at or after the cache's watermark (the newest
//! `lastUpdate` it holds), merges them by id, and saves. A sync that fails half way saves nothing:
//! the cache keeps its previous, consistent state and the next sync starts from its watermark, so
//! nothing is lost. With nothing new, a sync costs one request.

use std::collections::HashMap;
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
    blocking(cache, move |c| Ok(c.load_details()?.remove(&id))).await
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
    let snapshot = cached(cache).await?;
    let fetched = api.list(session, snapshot.watermark, progress).await?;
    let count = fetched.len();
    let mut by_id: HashMap<String, Incident> = snapshot
        .incidents
        .into_iter()
        .map(|i| (i.id.clone(), i))
        .collect();
    let account = session.account();
    // Nothing new (only the incident at the watermark, unchanged): the cache is not re-encrypted
    // and rewritten for nothing.
    let changed = fetched.iter().any(|i| by_id.get(&i.id) != Some(i))
        || snapshot.synced_at.is_none()
        || (account.is_some() && account != snapshot.account);
    for i in fetched {
        by_id.insert(i.id.clone(), i);
    }
    let mut incidents: Vec<Incident> = by_id.into_values().collect();
    incidents.sort_by(|a, b| {
        b.last_update
            .cmp(&a.last_update)
            .then_with(|| a.id.cmp(&b.id))
    });
    let watermark = incidents
        .iter()
        .filter_map(|i| i.last_update)
        .max()
        .or(snapshot.watermark);
    let synced_at = OffsetDateTime::now_utc();
    let report = SyncReport {
        fetched: count,
        total: incidents.len(),
        synced_at,
    };
    if !changed {
        return Ok((incidents, report));
    }
    let saved = Snapshot {
        watermark,
        synced_at: Some(synced_at),
        account: account.or(snapshot.account),
        incidents,
    };
    let saved = blocking(cache, move |c| c.save(&saved).map(|()| saved)).await?;
    Ok((saved.incidents, report))
}

/// Applies a written incident to the cache, so the queue shows it at once.
pub async fn remember(cache: &Arc<Cache>, incident: Incident) -> Result<()> {
    blocking(cache, move |c| {
        let mut snap = c.load()?;
        match snap.incidents.iter_mut().find(|i| i.id == incident.id) {
            Some(slot) => *slot = incident,
            None => snap.incidents.push(incident),
        }
        c.save(&snap)
    })
    .await
}
