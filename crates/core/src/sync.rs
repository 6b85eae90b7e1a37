//! Incremental sync of a profile's incidents into its encrypted cache.
//!
//! Each sync asks only for incidents updated at or after the cache's watermark (the newest
//! `lastUpdate` it holds), merges them by id, and saves. A sync that fails half way saves nothing:
//! the cache keeps its previous, consistent state and the next sync starts from its watermark, so
//! nothing is lost. With nothing new, a sync costs one request.

use std::collections::HashMap;
use std::sync::Arc;

use serde::Serialize;

use crate::api::{IncidentApi, Progress};
use crate::cache::{Cache, Snapshot};
use crate::error::{Error, Result};
use crate::incident::Incident;
use crate::session::Session;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncReport {
    /// Incidents the API returned (new or changed, plus the one at the watermark).
    pub fetched: usize,
    /// Incidents in the cache after the sync.
    pub total: usize,
    /// When this sync finished (RFC 3339).
    pub synced_at: String,
}

/// The cached incidents, read without the network.
pub async fn cached(cache: &Arc<Cache>) -> Result<Snapshot> {
    let cache = Arc::clone(cache);
    tokio::task::spawn_blocking(move || cache.load())
        .await
        .map_err(|e| Error::Config(format!("cache task failed: {e}")))?
}

pub async fn sync(
    api: &IncidentApi,
    session: &Session,
    cache: &Arc<Cache>,
    progress: Progress<'_>,
) -> Result<(Vec<Incident>, SyncReport)> {
    let snapshot = cached(cache).await?;
    let fetched = api
        .list(session, snapshot.watermark.as_deref(), progress)
        .await?;
    let count = fetched.len();
    let mut by_id: HashMap<String, Incident> = snapshot
        .incidents
        .into_iter()
        .map(|i| (i.id.clone(), i))
        .collect();
    // Nothing new (only the incident at the watermark, unchanged): the cache is not re-encrypted
    // and rewritten for nothing.
    let changed = fetched.iter().any(|i| by_id.get(&i.id) != Some(i));
    let had_synced = snapshot.synced_at.is_some();
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
        .filter_map(|i| i.last_update.clone())
        .max()
        .or(snapshot.watermark);
    let synced_at = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    if !changed && had_synced {
        let report = SyncReport {
            fetched: count,
            total: incidents.len(),
            synced_at,
        };
        return Ok((incidents, report));
    }
    let saved = Snapshot {
        watermark,
        synced_at: Some(synced_at.clone()),
        incidents,
    };
    let c = Arc::clone(cache);
    let saved = tokio::task::spawn_blocking(move || c.save(&saved).map(|()| saved))
        .await
        .map_err(|e| Error::Config(format!("cache task failed: {e}")))??;
    let report = SyncReport {
        fetched: count,
        total: saved.incidents.len(),
        synced_at,
    };
    Ok((saved.incidents, report))
}

/// Applies a written incident to the cache, so the queue shows it at once.
pub async fn remember(cache: &Arc<Cache>, incident: Incident) -> Result<()> {
    let c = Arc::clone(cache);
    tokio::task::spawn_blocking(move || {
        let mut snap = c.load()?;
        match snap.incidents.iter_mut().find(|i| i.id == incident.id) {
            Some(slot) => *slot = incident,
            None => snap.incidents.push(incident),
        }
        c.save(&snap)
    })
    .await
    .map_err(|e| Error::Config(format!("cache task failed: {e}")))?
}
