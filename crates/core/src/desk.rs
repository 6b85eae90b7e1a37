//! The desk: every flow a user can start, in one place, for the desktop app and `idesk` alike.
//!
//! It holds the profiles the user can switch between and, per profile, one session (tokens), one
//! API client (pacing under the quota) and one cache, kept for the whole run so that switching back
//! is instant while a profile's tokens are valid. A Tauri command and an `idesk` subcommand are each
//! a few lines over one of these calls, so the two front ends cannot disagree.
//!
//! Nothing here touches the network until a flow needs it: opening the desk, its status and the
//! cached queue work offline, which is what lets the app start instantly and without a tenant.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::auth::oidc::{Account, IdentityHttp};
use crate::auth::secret::Secret;
use crate::auth::session::{Known, PendingSignIn, Session};
use crate::auth::token_store::{
    client_secret_key, credential_key, refresh_token_key, unseal, TokenStore,
};
use crate::config::{Config, Credential, Dirs, Kind, Profile};
use crate::error::{Error, Result};
use crate::incidents::api::{IncidentApi, Progress};
use crate::incidents::bulk::{self, BulkEdit, BulkResult, BulkTarget, NotSaved};
use crate::incidents::cache::{Cache, Snapshot};
use crate::incidents::changes::Change;
use crate::incidents::export::{self, ExportFormat};
use crate::incidents::model::{Incident, IncidentDetail, Status, Update};
use crate::incidents::queue::{
    Overview, QueueIndex, QueuePage, QueueQuery, Shown, Suggestions, Window,
};
use crate::incidents::report::{self, ReportFormat};
use crate::incidents::sync::{self, SyncReport};

/// One profile's parts for the run.
struct Entry {
    session: Arc<Session>,
    api: Arc<IncidentApi>,
    cache: Arc<Cache>,
    store: Arc<dyn TokenStore>,
    /// The binding check, done once per run before anything is read or sent.
    bound: tokio::sync::OnceCell<()>,
    /// What the binding check found and deleted, said once.
    notice: std::sync::Mutex<Option<String>>,
    /// The queue's index over the store, built on first use, patched in place by writes and
    /// small syncs, and replaced after a large sync, a forgotten incident or a wipe.
    queue: Arc<tokio::sync::RwLock<Option<QueueIndex>>>,
    /// A build of the index is under way in the background.
    building: Arc<std::sync::atomic::AtomicBool>,
    /// Told when that build ends: a query that needs the index waits for it rather than
    /// reading the whole store a second time.
    built: Arc<tokio::sync::Notify>,
    /// Counts this desk's writes to the store, so a background build that raced one builds
    /// again.
    writes: Arc<std::sync::atomic::AtomicU64>,
    /// Counts the indexes built, so a window can tell an answer from an older one.
    generation: std::sync::atomic::AtomicU32,
    /// Whether the keychain holds this profile's credential, as last read: the all-profiles
    /// queue asks on every keystroke, the keychain once. Forgotten at sign-out.
    credential: std::sync::Mutex<Option<bool>>,
    /// The rows of the last windows, parsed (see `rows`).
    shown: std::sync::Mutex<ShownRows>,
}

/// The incidents of the last windows shown, read from the store at one generation of the
/// index: a keystroke shows many of the rows the one before it showed, and a row found here
/// costs no read and no parse. Emptied when the index changes, and when it is full.
#[derive(Default)]
struct ShownRows {
    generation: u32,
    rows: HashMap<String, Incident>,
}

/// At most this many rows are kept in `ShownRows` (a few megabytes).
const SHOWN_ROWS: usize = 2000;

impl Entry {
    fn new(
        dirs: &Dirs,
        profile: Profile,
        store: &Arc<dyn TokenStore>,
        http: IdentityHttp,
        persist: bool,
    ) -> Result<Self> {
        let session = Session::with_http(profile, Arc::clone(store), http)?;
        let profile = session.profile();
        Ok(Self {
            api: Arc::new(IncidentApi::with_client(profile, session.http_client())?),
            cache: Arc::new(Cache::new(
                dirs,
                &profile.name,
                &profile.fingerprint()?,
                Arc::clone(store),
                persist,
            )),
            session: Arc::new(session),
            store: Arc::clone(store),
            bound: tokio::sync::OnceCell::new(),
            notice: std::sync::Mutex::default(),
            queue: Arc::default(),
            building: Arc::default(),
            built: Arc::default(),
            writes: Arc::default(),
            generation: std::sync::atomic::AtomicU32::default(),
            credential: std::sync::Mutex::default(),
            shown: std::sync::Mutex::default(),
        })
    }

    fn name(&self) -> &str {
        &self.session.profile().name
    }

    /// Signed in this run, or with a credential in the keychain: a profile of the
    /// all-profiles queue. A keychain that cannot answer counts as not signed in.
    async fn signed_in(&self) -> bool {
        if self.session.account().is_some() {
            return true;
        }
        if let Some(known) = *self.credential.lock().unwrap_or_else(|e| e.into_inner()) {
            return known;
        }
        let has = match self.session.has_credential().await {
            Ok(has) => has,
            Err(err) => {
                tracing::warn!(profile = self.name(), "keychain: {}", err.user_message());
                return false;
            }
        };
        *self.credential.lock().unwrap_or_else(|e| e.into_inner()) = Some(has);
        has
    }

    /// Brings this profile's store up to date, and its index with it.
    async fn sync(&self, progress: Progress<'_>) -> Result<SyncReport> {
        // The index as the sync found it: a triage write, a detail or another sync that changes
        // it meanwhile may hold a newer row than the one this sync wrote.
        let before = self.queue.read().await.as_ref().map(QueueIndex::generation);
        let result = sync::sync_into(&self.api, &self.session, &self.cache, progress).await;
        // A sync that changed nothing (the usual one, at launch and every few minutes) leaves
        // the index, and a build under way, as they are.
        if result.as_ref().is_ok_and(|s| s.report.changed == 0) {
            return result.map(|s| s.report);
        }
        // A build under way read the store before these writes: it reads it again.
        self.writes.fetch_add(1, Ordering::SeqCst);
        let mut queue = self.queue.write().await;
        let Some(index) = queue.as_mut() else {
            return result.map(|s| s.report);
        };
        match &result {
            // A few rows written (the tenant's changes since the last sync): the index takes
            // them in place, without reading the whole store again.
            Ok(sync::Synced {
                written: Some(rows),
                ..
            }) if before == Some(index.generation()) => {
                index.upsert_all(rows, self.next_generation());
            }
            // Many rows, a failed sync that may have kept some pages, or an index changed
            // during the sync: the index is built again from what the store holds, the old one
            // answering meanwhile.
            _ => {
                drop(queue);
                if let Err(err) = self.refresh_index().await {
                    tracing::warn!("could not read the store back: {}", err.user_message());
                    *self.queue.write().await = None;
                }
            }
        }
        result.map(|s| s.report)
    }

    /// One background sync of this profile, when it is signed in: the report and the changes
    /// recorded (by the sync, and by the details fetched after it).
    async fn background_sync(&self) -> Result<Option<(SyncReport, Vec<Change>)>> {
        let e = self.ready().await?;
        let signed_in = e.session.account().is_some() || e.session.resume().await?.is_some();
        if !signed_in {
            return Ok(None);
        }
        let before = sync::blocking(&e.cache, Cache::latest_seq).await?;
        let report = e.sync(&|_| {}).await?;
        let stale = sync::blocking(&e.cache, |c| c.stale_details(PREFETCH)).await?;
        for id in stale {
            match e.api.get(&e.session, &id).await {
                Ok(detail) => e.remember(&id, detail).await?,
                Err(Error::Api { status: 404, .. }) => {
                    e.forget(&id).await?;
                }
                // Offline, throttled past the budget, or refused: the next sync tries again.
                Err(err) => {
                    tracing::info!("background detail fetch stopped: {}", err.user_message());
                    break;
                }
            }
        }
        let changes = sync::blocking(&e.cache, move |c| c.changes_after(before)).await?;
        Ok(Some((report, changes)))
    }

    /// A number no index or change of this profile's queue had: a window tells an answer from
    /// an older one by it, and the last windows' rows are kept per number.
    fn next_generation(&self) -> u32 {
        self.generation
            .fetch_add(1, Ordering::SeqCst)
            .wrapping_add(1)
    }

    /// A fresh index of the store, built off the async threads.
    async fn build_index(&self) -> Result<QueueIndex> {
        load_index(Arc::clone(&self.cache), self.next_generation()).await
    }

    /// Keeps a fetched detail in the store (and its entities in the entity index); the queue's
    /// search follows its entities at once.
    async fn remember(&self, id: &str, detail: IncidentDetail) -> Result<()> {
        let values = entity_values(&detail);
        sync::remember_detail(&self.cache, id, detail).await?;
        if let Some(index) = self.queue.write().await.as_mut() {
            index.set_entities(id, values, self.next_generation());
        }
        Ok(())
    }

    /// An incident the tenant no longer returns leaves the store and the queue; the feed says
    /// so. Returns whether it was held.
    async fn forget(&self, id: &str) -> Result<bool> {
        let key = id.to_owned();
        let gone = sync::blocking(&self.cache, move |c| c.forget(&key)).await?;
        self.writes.fetch_add(1, Ordering::SeqCst);
        if gone && self.queue.read().await.is_some() {
            self.refresh_index().await?;
        }
        Ok(gone)
    }

    /// Starts building the index in the background, unless one is built or being built: the
    /// first windows come from the store's own indexes meanwhile (`Cache::window`).
    fn start_build(&self) {
        if self.building.swap(true, Ordering::SeqCst) {
            return;
        }
        let (cache, queue, building, built, writes) = (
            Arc::clone(&self.cache),
            Arc::clone(&self.queue),
            Arc::clone(&self.building),
            Arc::clone(&self.built),
            Arc::clone(&self.writes),
        );
        let generation = self.next_generation();
        tokio::spawn(async move {
            loop {
                let seen = writes.load(Ordering::SeqCst);
                let Ok(index) = load_index(Arc::clone(&cache), generation).await else {
                    // The next query that needs the index builds it and says what failed.
                    break;
                };
                let mut slot = queue.write().await;
                if writes.load(Ordering::SeqCst) != seen {
                    // The store changed while it was read: read it again.
                    continue;
                }
                if slot.is_none() {
                    *slot = Some(index);
                }
                break;
            }
            building.store(false, Ordering::SeqCst);
            built.notify_waiters();
        });
    }

    /// The queue's index, built from the store if there is none yet.
    async fn index(&self) -> Result<tokio::sync::RwLockReadGuard<'_, QueueIndex>> {
        loop {
            let read = self.queue.read().await;
            if let Ok(index) = tokio::sync::RwLockReadGuard::try_map(read, Option::as_ref) {
                return Ok(index);
            }
            // A background build is under way: wait for it (a failed one leaves no index, and
            // this query builds it, saying what failed).
            let ended = self.built.notified();
            if !self.building.load(Ordering::SeqCst) {
                break;
            }
            ended.await;
        }
        let mut write = self.queue.write().await;
        if write.is_none() {
            *write = Some(self.build_index().await?);
        }
        tokio::sync::RwLockReadGuard::try_map(write.downgrade(), Option::as_ref)
            .map_err(|_| Error::Internal("the queue's index was dropped while built".into()))
    }

    /// The store changed under the index (a sync, a wipe): build it again now, and swap it in
    /// whole, so a query never waits for the build.
    async fn refresh_index(&self) -> Result<()> {
        let fresh = self.build_index().await?;
        *self.queue.write().await = Some(fresh);
        Ok(())
    }

    /// The incidents with these IDs, in this order, for a window the index answered at
    /// `generation`: from the last windows' rows where they are, else read from the store. A row
    /// forgotten since the index answered is `None`; the index is rebuilt after that change.
    async fn rows(&self, generation: u32, ids: Vec<String>) -> Result<Vec<Option<Incident>>> {
        let started = std::time::Instant::now();
        let mut rows: Vec<Option<Incident>> = Vec::with_capacity(ids.len());
        let mut missing = Vec::new();
        {
            let mut shown = self.shown.lock().unwrap_or_else(|e| e.into_inner());
            if shown.generation != generation {
                *shown = ShownRows {
                    generation,
                    rows: HashMap::new(),
                };
            }
            for (k, id) in ids.iter().enumerate() {
                let kept = shown.rows.get(id).cloned();
                if kept.is_none() {
                    missing.push(k);
                }
                rows.push(kept);
            }
        }
        if missing.is_empty() {
            return Ok(rows);
        }
        let wanted: Vec<String> = missing.iter().map(|&k| ids[k].clone()).collect();
        let read = sync::blocking(&self.cache, move |c| c.incidents(&wanted)).await?;
        let mut shown = self.shown.lock().unwrap_or_else(|e| e.into_inner());
        if shown.generation == generation && shown.rows.len() + read.len() > SHOWN_ROWS {
            shown.rows.clear();
        }
        for (k, incident) in missing.iter().zip(read) {
            if let (Some(i), true) = (&incident, shown.generation == generation) {
                shown.rows.insert(i.id.clone(), i.clone());
            }
            rows[*k] = incident;
        }
        tracing::debug!(
            "queue window: {} rows, {} read from the store, in {} µs",
            ids.len(),
            missing.len(),
            started.elapsed().as_micros()
        );
        Ok(rows)
    }

    /// A window of this profile's queue with its rows.
    async fn fill(&self, window: Window) -> Result<QueuePage> {
        let Window { mut page, ids } = window;
        page.rows = self
            .rows(page.generation, ids)
            .await?
            .into_iter()
            .flatten()
            .collect();
        Ok(page)
    }

    /// Before the profile's credential or cache is used: anything stored for another identity
    /// under this profile's name (it was re-added with another authority, tenant or client) is
    /// deleted — credential, cached incidents and their key — and the user is told.
    async fn ready(&self) -> Result<&Self> {
        self.bind(&mut None).await
    }

    /// `ready`; when this call is the one that checks the keychain, `known` gets the profile's own
    /// credential as it read it there, for a silent sign-in right after to use instead of a
    /// second read of the same entry (a round trip each, over D-Bus on Linux).
    async fn bind(&self, known: &mut Option<Known>) -> Result<&Self> {
        self.bound
            .get_or_try_init(|| async {
                let profile = self.session.profile().clone();
                let generation = self.session.generation();
                let (store, cache) = (Arc::clone(&self.store), Arc::clone(&self.cache));
                let (found, own) =
                    tokio::task::spawn_blocking(move || rebind(&profile, store.as_ref(), &cache))
                        .await
                        .map_err(|e| Error::task("keychain", e))??;
                *known = Some((generation, own));
                if let Some(notice) = found {
                    tracing::warn!("{notice}");
                    *self.notice.lock().unwrap_or_else(|e| e.into_inner()) = Some(notice);
                }
                Ok::<_, Error>(())
            })
            .await?;
        Ok(self)
    }
}

/// Deletes what is stored for `profile`'s name but bound to another identity. Returns what it
/// said it did, when it did anything, and the profile's own credential, when one is stored for it.
fn rebind(
    profile: &Profile,
    store: &dyn TokenStore,
    cache: &Cache,
) -> Result<(Option<String>, Option<Secret>)> {
    let fp = profile.fingerprint()?;
    let own_key = credential_key(profile);
    let (mut foreign, mut own) = (false, None);
    for key in [
        refresh_token_key(&profile.name),
        client_secret_key(&profile.name),
        cache.key_name(),
    ] {
        if let Some(raw) = store.load(&key)? {
            match unseal(&fp, &raw) {
                Some(value) if key == own_key => own = Some(value),
                Some(_) => {}
                None => {
                    store.delete_if(&key, &raw)?;
                    foreign = true;
                }
            }
        }
    }
    if !foreign {
        return Ok((None, own));
    }
    cache.wipe()?;
    let notice = format!(
        "Profile {:?} now names another sign-in authority, tenant or app registration: its earlier \
         sign-in and cached incidents were deleted, unsent. Sign in again.",
        profile.name
    );
    Ok((Some(notice), own))
}

/// The queue's index over what `cache` holds, built off the async threads.
async fn load_index(cache: Arc<Cache>, generation: u32) -> Result<QueueIndex> {
    tokio::task::spawn_blocking(move || {
        let started = std::time::Instant::now();
        let index = cache.queue_index(generation)?;
        tracing::info!(
            "queue index built: {} incidents in {} ms",
            index.len(),
            started.elapsed().as_millis()
        );
        Ok(index)
    })
    .await
    .map_err(|e| Error::task("cache", e))?
}

/// How far back "seen in N other incidents" looks.
const PIVOT_DAYS: i64 = 30;

/// The entity values a detail's evidence names, as the queue's search takes them.
fn entity_values(detail: &IncidentDetail) -> Vec<String> {
    let mut values: Vec<String> = detail
        .alerts
        .iter()
        .flat_map(|a| &a.evidence)
        .flat_map(|e| e.pivots().into_iter().map(|(_, v)| v))
        .collect();
    values.sort();
    values.dedup();
    values
}

/// Changes shown in an incident's timeline, at most.
const HISTORY: usize = 100;

/// Details fetched per background sync and profile, at most: within half the quota, with room
/// for the analyst.
pub const PREFETCH: usize = 10;

/// One profile's background sync.
#[derive(Debug)]
pub struct BackgroundSync {
    pub profile: String,
    /// The profile open in the window.
    pub current: bool,
    pub result: Result<SyncReport>,
    /// The changes it recorded, newest first.
    pub changes: Vec<Change>,
}

/// What is known about the current profile's sign-in without asking the tenant.
#[derive(Debug, Clone, PartialEq)]
pub struct Standing {
    /// A refresh token (or client secret) is stored, or a session is live.
    pub signed_in: bool,
    /// The live account, else the one cached at the last sync.
    pub account: Option<Account>,
    /// Something the user must be told once, e.g. that a re-added profile's old sign-in and
    /// cache were deleted.
    pub notice: Option<String>,
}

pub struct Desk {
    dirs: Dirs,
    store: Arc<dyn TokenStore>,
    /// Never empty.
    entries: Vec<Entry>,
    /// Index into `entries`.
    current: AtomicUsize,
    session_only: bool,
}

impl Desk {
    /// The configured profiles, plus `extra` (the sandbox tenant's, when one runs). Opens on the
    /// current profile, else `extra`, else the first. `session_only`: no usable keychain, so
    /// `store` is memory and nothing is cached on disk.
    pub fn open(
        dirs: &Dirs,
        extra: Option<Profile>,
        store: Arc<dyn TokenStore>,
        session_only: bool,
    ) -> Result<Self> {
        let config = Config::load(dirs)?;
        let mut profiles: Vec<Profile> = config.profiles.clone();
        if let Some(s) = &extra {
            profiles.retain(|p| p.name != s.name);
            profiles.push(s.clone());
        }
        if profiles.is_empty() {
            return Err(Error::NoProfile);
        }
        let index_of = |name: &str| profiles.iter().position(|p| p.name == name);
        let current = config
            .current
            .as_deref()
            .and_then(index_of)
            .or_else(|| extra.as_ref().and_then(|s| index_of(&s.name)))
            .unwrap_or(0);
        let mut clients = Vec::new();
        let entries = profiles
            .into_iter()
            .map(|p| {
                let http = shared_http(&mut clients, p.proxy.as_ref())?;
                Entry::new(dirs, p, &store, http, !session_only)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            dirs: dirs.clone(),
            store,
            entries,
            current: AtomicUsize::new(current),
            session_only,
        })
    }

    pub fn profiles(&self) -> impl Iterator<Item = &Profile> {
        self.entries.iter().map(|e| e.session.profile())
    }

    /// Tokens are kept in memory only: no usable keychain.
    pub fn session_only(&self) -> bool {
        self.session_only
    }

    fn entry(&self) -> &Entry {
        let i = self.current.load(Ordering::SeqCst);
        &self.entries[i.min(self.entries.len() - 1)]
    }

    /// The current profile's parts, once their binding is checked.
    async fn ready(&self) -> Result<&Entry> {
        self.entry().ready().await
    }

    /// The session of the current profile.
    pub fn current(&self) -> Arc<Session> {
        Arc::clone(&self.entry().session)
    }

    /// The current profile.
    pub fn profile(&self) -> &Profile {
        self.entry().session.profile()
    }

    /// Makes `name` (a configured profile, or the sandbox's) the profile that opens at start.
    pub fn set_default(&self, name: &str) -> Result<()> {
        if !self.profiles().any(|p| p.name == name) {
            return Err(Error::Config(format!("no profile named {name:?}")));
        }
        let mut config = Config::load(&self.dirs)?;
        config.current = Some(name.to_owned());
        config.save(&self.dirs)
    }

    /// Makes `name` the current profile; its session (and tokens) are kept from before.
    pub fn switch(&self, name: &str) -> Result<()> {
        let i = self
            .entries
            .iter()
            .position(|e| e.session.profile().name == name)
            .ok_or_else(|| Error::Config(format!("no profile named {name:?}")))?;
        self.current.store(i, Ordering::SeqCst);
        Ok(())
    }

    /// The current profile's sign-in as far as it is known without the network.
    pub async fn standing(&self) -> Result<Standing> {
        let e = self.ready().await?;
        let notice = e.notice.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(account) = e.session.account() {
            return Ok(Standing {
                signed_in: true,
                account: Some(account),
                notice,
            });
        }
        let signed_in = e.session.has_credential().await?;
        let account = if signed_in {
            sync::status(&e.cache).await?.account
        } else {
            None
        };
        Ok(Standing {
            signed_in,
            account,
            notice,
        })
    }

    /// The silent sign-in from the keychain: `Ok(None)` when there is nothing to sign in with.
    /// Fails with `Offline` when the tenant cannot be reached; the cache stays usable.
    pub async fn resume(&self) -> Result<Option<Account>> {
        let mut known = None;
        let s = &self.entry().bind(&mut known).await?.session;
        if let Some(a) = s.account() {
            return Ok(Some(a));
        }
        s.resume_with(known).await
    }

    /// Starts an interactive sign-in in the browser for the current profile.
    pub async fn begin_sign_in(&self) -> Result<PendingSignIn> {
        let s = &self.ready().await?.session;
        let hint = s.account().and_then(|a| a.username);
        s.begin_sign_in(hint.as_deref()).await
    }

    /// Waits for the browser and completes the sign-in begun with `begin_sign_in`.
    pub async fn finish_sign_in(
        &self,
        pending: PendingSignIn,
        timeout: Duration,
        cancel: impl std::future::Future<Output = ()>,
    ) -> Result<Account> {
        self.entry()
            .session
            .finish_sign_in(pending, timeout, cancel)
            .await
    }

    /// Signs the current profile out: the refresh token (or client secret) leaves the keychain.
    /// With `wipe`, the cached incidents and details go too, with their key.
    pub async fn sign_out(&self, wipe: bool) -> Result<()> {
        let e = self.entry();
        e.session.sign_out().await?;
        *e.credential.lock().unwrap_or_else(|e| e.into_inner()) = Some(false);
        if wipe {
            let cache = Arc::clone(&e.cache);
            tokio::task::spawn_blocking(move || cache.wipe())
                .await
                .map_err(|e| Error::task("cache", e))??;
            e.writes.fetch_add(1, Ordering::SeqCst);
            *e.queue.write().await = None;
            // No incident stays in memory either.
            *e.shown.lock().unwrap_or_else(|e| e.into_inner()) = ShownRows::default();
        }
        Ok(())
    }

    /// The cached queue of the current profile, without the network.
    pub async fn cached(&self) -> Result<Snapshot> {
        sync::cached(&self.ready().await?.cache).await
    }

    /// Runs `f` on the current profile's store, off the async threads: a read too large to
    /// hand over as one value (`Cache::each_newest_first`) is consumed where it is read.
    pub async fn with_store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Cache) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        sync::blocking(&self.ready().await?.cache, f).await
    }

    /// The current profile's store without its incidents: the last sync's time and account, and
    /// how many incidents it holds.
    pub async fn store_status(&self) -> Result<(Snapshot, usize)> {
        let e = self.ready().await?;
        let status = sync::status(&e.cache).await?;
        let total = match e.queue.read().await.as_ref() {
            Some(index) => index.shown_total(),
            None => sync::blocking(&e.cache, Cache::count).await?,
        };
        Ok((status, total))
    }

    /// What opening the current profile's store set aside and re-syncs (an earlier version's
    /// cache, an unreadable database), said once.
    pub fn store_notice(&self) -> Option<String> {
        self.entry().cache.take_notice()
    }

    /// The profiles of the all-profiles queue, in the order configured: every one signed in
    /// whose store can be read. One that cannot is left out and logged; the others still show.
    async fn signed_in_entries(&self) -> Vec<&Entry> {
        let mut out = Vec::new();
        for e in &self.entries {
            match e.ready().await {
                Ok(e) if e.signed_in().await => out.push(e),
                Ok(_) => {}
                Err(err) => {
                    tracing::warn!(profile = e.name(), "left out: {}", err.user_message());
                }
            }
        }
        out
    }

    /// The names of the profiles the all-profiles queue holds.
    pub async fn signed_in_profiles(&self) -> Vec<String> {
        let entries = self.signed_in_entries().await;
        entries.iter().map(|e| e.name().to_owned()).collect()
    }

    /// One window of every signed-in profile's queue merged, each row with its profile. "Mine"
    /// is the analyst of each profile's tenant.
    async fn query_all(&self, q: &QueueQuery) -> Result<QueuePage> {
        let entries = self.signed_in_entries().await;
        let mut indexes = Vec::with_capacity(entries.len());
        for e in &entries {
            indexes.push(e.index().await?);
        }
        let mut parts = Vec::with_capacity(entries.len());
        for (e, index) in entries.iter().zip(&indexes) {
            let me = match e.session.account() {
                Some(a) => a.username,
                None => sync::status(&e.cache)
                    .await?
                    .account
                    .and_then(|a| a.username),
            };
            parts.push(crate::incidents::queue::Part {
                profile: e.name(),
                index,
                me,
            });
        }
        let Window { mut page, ids } =
            crate::incidents::queue::query_across(&parts, q, time::OffsetDateTime::now_utc());
        drop(parts);
        let generations: Vec<u32> = indexes.iter().map(|x| x.generation()).collect();
        drop(indexes);
        // Each row from its own profile's store.
        let mut rows: Vec<Option<Incident>> = vec![None; ids.len()];
        for (e, generation) in entries.iter().zip(generations) {
            let at: Vec<usize> = (0..ids.len())
                .filter(|&k| page.profiles[k] == e.name())
                .collect();
            if at.is_empty() {
                continue;
            }
            let wanted: Vec<String> = at.iter().map(|&k| ids[k].clone()).collect();
            let found = e.rows(generation, wanted).await?;
            for (k, incident) in at.into_iter().zip(found) {
                rows[k] = incident;
            }
        }
        (page.profiles, page.rows) = std::mem::take(&mut page.profiles)
            .into_iter()
            .zip(rows)
            .filter_map(|(p, r)| r.map(|r| (p, r)))
            .unzip();
        Ok(page)
    }

    /// Runs `f` on every signed-in profile's store, with the profile's name, in the order
    /// configured, off the async threads (`Cache::each_newest_first_across`).
    pub async fn with_stores<T: Send + 'static>(
        &self,
        f: impl FnOnce(&[(String, Arc<Cache>)]) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let stores: Vec<(String, Arc<Cache>)> = self
            .signed_in_entries()
            .await
            .iter()
            .map(|e| (e.name().to_owned(), Arc::clone(&e.cache)))
            .collect();
        tokio::task::spawn_blocking(move || f(&stores))
            .await
            .map_err(|e| Error::task("cache", e))?
    }

    /// Every incident of the all-profiles view `q`, in its order, with its profile's name.
    async fn matches_across(&self, q: &QueueQuery) -> Result<Vec<(String, Incident)>> {
        let mut out = Vec::new();
        let mut offset = 0u32;
        loop {
            let page = self
                .query_all(&QueueQuery {
                    offset,
                    limit: crate::incidents::queue::MAX_WINDOW,
                    ..q.clone()
                })
                .await?;
            let n = u32::try_from(page.rows.len()).unwrap_or(u32::MAX);
            out.extend(page.profiles.into_iter().zip(page.rows));
            offset += n;
            if n == 0 || offset >= page.matched {
                return Ok(out);
            }
        }
    }

    /// Brings every signed-in profile's store up to date, one after the other, each paced by
    /// its own API client. Returns each profile's outcome: one failing does not stop the others.
    pub async fn sync_all(&self, progress: Progress<'_>) -> Vec<(String, Result<SyncReport>)> {
        let mut out = Vec::new();
        for e in self.signed_in_entries().await {
            let result = async {
                if e.session.account().is_none() && e.session.resume().await?.is_none() {
                    return Err(Error::NotSignedIn);
                }
                e.sync(progress).await
            }
            .await;
            out.push((e.name().to_owned(), result));
        }
        out
    }

    /// Every incident updated since `since` (or all) of every signed-in profile, straight from
    /// each tenant, with its profile's name. Returns each profile's outcome: its pages as read.
    pub async fn list_across(
        &self,
        since: Option<time::OffsetDateTime>,
    ) -> Vec<(String, Result<Vec<Vec<Incident>>>)> {
        let mut out = Vec::new();
        for e in self.signed_in_entries().await {
            let result = async {
                if e.session.account().is_none() && e.session.resume().await?.is_none() {
                    return Err(Error::NotSignedIn);
                }
                e.api.list(&e.session, since, &|_| {}).await
            }
            .await;
            out.push((e.name().to_owned(), result));
        }
        out
    }

    /// One window of the current profile's queue (or of all profiles', `all_profiles`), from
    /// the store, without the network.
    pub async fn query(&self, q: &QueueQuery) -> Result<QueuePage> {
        if q.all_profiles {
            return self.query_all(q).await;
        }
        let e = self.ready().await?;
        let now = time::OffsetDateTime::now_utc();
        let answered = e.queue.read().await.as_ref().map(|x| x.query(q, now));
        if let Some(window) = answered {
            return e.fill(window).await;
        }
        // No index yet (the app just started): the store answers a simple window at once, and
        // the index is built meanwhile for the next keystroke, starting once that window is
        // answered so as not to slow it (on two cores the build and the window's first load
        // share the CPU: started at launch, it put first rows at 100,000 incidents from 0.9 s
        // to 1.4 s).
        if q.simple() {
            let q = q.clone();
            let page = sync::blocking(&e.cache, move |c| c.window(&q, now)).await;
            e.start_build();
            return page;
        }
        let window = e.index().await?.query(q, now);
        e.fill(window).await
    }

    /// The current profile's change feed, newest first, with how many are unseen.
    pub async fn changes(
        &self,
        since: Option<time::OffsetDateTime>,
        limit: usize,
    ) -> Result<(Vec<Change>, usize)> {
        let e = self.ready().await?;
        sync::blocking(&e.cache, move |c| {
            Ok((c.changes(since, limit)?, c.unseen()?))
        })
        .await
    }

    /// Marks the feed seen, up to the change `up_to` (all with `None`).
    pub async fn mark_seen(&self, up_to: Option<i64>) -> Result<()> {
        let e = self.ready().await?;
        sync::blocking(&e.cache, move |c| c.mark_seen(up_to)).await
    }

    /// Every incident of a queue view, in its order, as shown (a "select all").
    pub async fn query_ids(&self, q: &QueueQuery) -> Result<Vec<Shown>> {
        let e = self.ready().await?;
        Ok(e.index().await?.shown(q, time::OffsetDateTime::now_utc()))
    }

    /// The overview's counts over the current profile's store.
    pub async fn overview(&self) -> Result<Overview> {
        let e = self.ready().await?;
        Ok(e.index().await?.overview(time::OffsetDateTime::now_utc()))
    }

    /// Recent assignees and the store's tags, for the triage form.
    pub async fn suggestions(&self) -> Result<Suggestions> {
        let e = self.ready().await?;
        Ok(e.index().await?.suggestions())
    }

    /// Brings the current profile's store up to date with its tenant; returns the queue.
    pub async fn sync(&self, progress: Progress<'_>) -> Result<(Vec<Incident>, SyncReport)> {
        let report = self.sync_store(progress).await?;
        Ok((self.cached().await?.incidents, report))
    }

    /// The same sync, without reading the queue back (`idesk sync`).
    pub async fn sync_store(&self, progress: Progress<'_>) -> Result<SyncReport> {
        let e = self.ready().await?;
        if e.session.account().is_none() && self.resume().await?.is_none() {
            return Err(Error::NotSignedIn);
        }
        e.sync(progress).await
    }

    /// The background sync of every signed-in profile (see `background`), each paced to half
    /// its API's quota: the store brought up to date, the index with it, then the details of
    /// active incidents updated since their details were fetched, newest first, a few per sync.
    /// Returns, per profile that is signed in, the outcome and the changes it recorded.
    pub async fn background_sync(&self) -> Vec<BackgroundSync> {
        let current = self.current.load(Ordering::SeqCst);
        let mut out = Vec::new();
        for (k, e) in self.entries.iter().enumerate() {
            let profile = e.session.profile().name.clone();
            let result = crate::incidents::api::in_background(e.background_sync()).await;
            let (result, changes) = match result {
                Ok(None) => continue,
                Ok(Some((report, changes))) => (Ok(report), changes),
                Err(err) => (Err(err), Vec::new()),
            };
            out.push(BackgroundSync {
                profile,
                current: k == current,
                result,
                changes,
            });
        }
        out
    }

    /// Every incident updated since `since` (or all), straight from the tenant, not cached: the
    /// pages as read.
    pub async fn list(&self, since: Option<time::OffsetDateTime>) -> Result<Vec<Vec<Incident>>> {
        let e = self.entry();
        if self.resume().await?.is_none() {
            return Err(Error::NotSignedIn);
        }
        e.api.list(&e.session, since, &|_| {}).await
    }

    /// One incident with its alerts and evidence, from the tenant; when the tenant cannot be
    /// reached, as cached when it was last opened (`from_cache`). With the changes the app's
    /// syncs saw on it (at most `HISTORY`), for its timeline.
    pub async fn incident(&self, id: &str) -> Result<IncidentDetail> {
        let e = self.entry();
        let fetched = match self.resume().await {
            Ok(Some(_)) => e.api.get(&e.session, id).await,
            Ok(None) => Err(Error::NotSignedIn),
            Err(err) => Err(err),
        };
        let key = id.to_owned();
        let history = || sync::blocking(&e.cache, move |c| c.changes_of(&key, HISTORY));
        match fetched {
            Ok(mut detail) => {
                // Kept for offline review; failing to keep it must not hide the detail.
                if let Err(err) = e.remember(id, detail.clone()).await {
                    tracing::warn!(
                        "could not cache the incident's details: {}",
                        err.user_message()
                    );
                }
                detail.history = history().await.unwrap_or_default();
                detail.pivots = self.pivots(e, &detail).await;
                Ok(detail)
            }
            Err(Error::Api {
                status: 404,
                message,
            }) => {
                // Gone from the tenant (deleted, merged away, out of scope): out of the store
                // and the queue, and the feed says so.
                if let Err(err) = e.forget(id).await {
                    tracing::warn!("could not forget a gone incident: {}", err.user_message());
                }
                Err(Error::Api {
                    status: 404,
                    message,
                })
            }
            Err(err) if err.code() == crate::ErrorCode::Offline => {
                let key = id.to_owned();
                let incident = sync::blocking(&e.cache, move |c| c.get(&key)).await?;
                match (incident, sync::cached_detail(&e.cache, id).await?) {
                    (Some(incident), Some(stored)) => {
                        let mut detail = IncidentDetail {
                            incident,
                            alerts: stored.alerts,
                            summary: stored.summary,
                            description: stored.description,
                            history: history().await.unwrap_or_default(),
                            pivots: Vec::new(),
                            from_cache: true,
                        };
                        detail.pivots = self.pivots(e, &detail).await;
                        Ok(detail)
                    }
                    _ => Err(err),
                }
            }
            Err(err) => Err(err),
        }
    }

    /// A triage change, checked against the rules, written if nobody changed the incident since
    /// `seen_last_update`, then applied to the cache so the queue shows it at once.
    pub async fn update(
        &self,
        id: &str,
        update: &Update,
        seen_last_update: Option<time::OffsetDateTime>,
    ) -> Result<Incident> {
        update.check()?;
        let e = self.entry();
        if self.resume().await?.is_none() {
            return Err(Error::NotSignedIn);
        }
        let updated = e
            .api
            .update(&e.session, id, update, seen_last_update)
            .await?;
        sync::remember(&e.cache, updated.clone()).await?;
        e.writes.fetch_add(1, Ordering::SeqCst);
        if let Some(index) = e.queue.write().await.as_mut() {
            index.upsert(&updated, e.next_generation());
        }
        Ok(updated)
    }

    /// One change applied to each incident of a selection, one by one under the API's pacing,
    /// each with its own conflict check: an incident changed since it was shown, merged into
    /// another, or already as asked is skipped and listed; one the API refuses is listed as
    /// failed. Offline or cancelled (`cancel` set), the rest is listed as not sent.
    /// `progress(done, total)` after each.
    pub async fn update_many(
        &self,
        targets: &[BulkTarget],
        edit: &BulkEdit,
        progress: &(dyn Fn(usize, usize) + Send + Sync),
        cancel: &std::sync::atomic::AtomicBool,
    ) -> Result<BulkResult> {
        if edit.is_empty() {
            return Err(Error::Invalid("nothing to change".into()));
        }
        let e = self.ready().await?;
        if self.resume().await?.is_none() {
            return Err(Error::NotSignedIn);
        }
        let mut result = BulkResult::default();
        let mut stop: Option<String> = None;
        let mut followed = std::collections::HashSet::new();
        for (n, t) in targets.iter().enumerate() {
            if stop.is_none() && cancel.load(Ordering::SeqCst) {
                stop = Some("not sent: cancelled".into());
            }
            if let Some(reason) = &stop {
                result.skipped.push(NotSaved {
                    id: t.id.clone(),
                    reason: reason.clone(),
                });
                continue;
            }
            let outcome = async {
                let mut current = self.as_it_is(e, &t.id).await?;
                let mut seen = t.seen_last_update;
                // Asked to, a merged incident's change goes to the incident it joined — once,
                // and not when that incident is in the selection itself.
                if edit.follow_merges && current.status == Status::Redirected {
                    if let Some(into) = current.redirect_incident_id.clone() {
                        if targets.iter().any(|x| x.id == into) || !followed.insert(into.clone()) {
                            return Ok(Err(format!(
                                "merged into #{into}, which this change already covers"
                            )));
                        }
                        current = self.as_it_is(e, &into).await?;
                        seen = None;
                    }
                }
                let update = edit.update_for(&current);
                match bulk::precheck(&current, &update) {
                    Some(reason) => Ok(Err(reason)),
                    None => self.update(&current.id, &update, seen).await.map(Ok),
                }
            }
            .await;
            match outcome {
                Ok(Ok(saved)) => result.saved.push(saved),
                Ok(Err(reason)) => result.skipped.push(NotSaved {
                    id: t.id.clone(),
                    reason,
                }),
                Err(err @ Error::Conflict(_)) => result.skipped.push(NotSaved {
                    id: t.id.clone(),
                    reason: err.user_message(),
                }),
                Err(err) if err.code() == crate::ErrorCode::Offline => {
                    result.failed.push(NotSaved {
                        id: t.id.clone(),
                        reason: err.user_message(),
                    });
                    stop = Some("not sent: the tenant cannot be reached".into());
                }
                Err(err) => result.failed.push(NotSaved {
                    id: t.id.clone(),
                    reason: err.user_message(),
                }),
            }
            progress(n + 1, targets.len());
        }
        Ok(result)
    }

    /// The current profile's macro `name` (from the settings file), applied to these incidents
    /// as one bulk change by the signed-in analyst, each incident checked on its own.
    pub async fn apply_macro(
        &self,
        name: &str,
        targets: &[BulkTarget],
        progress: &(dyn Fn(usize, usize) + Send + Sync),
        cancel: &std::sync::atomic::AtomicBool,
    ) -> Result<BulkResult> {
        let settings = crate::settings::Settings::load(&self.dirs)?;
        let profile = self.profile().name.clone();
        let chosen = crate::macros::find(settings.macros_for(&profile), name).ok_or_else(|| {
            Error::Invalid(format!(
                "the profile {profile} has no macro named \"{name}\""
            ))
        })?;
        let me = self.current().account().and_then(|a| a.username);
        let edit = chosen.edit(me.as_deref(), time::OffsetDateTime::now_utc());
        self.update_many(targets, &edit, progress, cancel).await
    }

    /// An incident as stored, or as the tenant has it when the store does not hold it.
    async fn as_it_is(&self, e: &Entry, id: &str) -> Result<Incident> {
        let key = id.to_owned();
        match sync::blocking(&e.cache, move |c| c.get(&key)).await? {
            Some(i) => Ok(i),
            None => Ok(e.api.get(&e.session, id).await?.incident),
        }
    }

    /// The detail's entities seen in other stored incidents of the last `PIVOT_DAYS` days. A
    /// store that cannot answer leaves them out: the detail still shows.
    async fn pivots(
        &self,
        e: &Entry,
        detail: &IncidentDetail,
    ) -> Vec<crate::incidents::model::Pivot> {
        let since = time::OffsetDateTime::now_utc() - time::Duration::days(PIVOT_DAYS);
        let (id, alerts) = (detail.incident.id.clone(), detail.alerts.clone());
        sync::blocking(&e.cache, move |c| c.pivots(&id, &alerts, since))
            .await
            .unwrap_or_else(|err| {
                tracing::warn!("could not read the entity index: {}", err.user_message());
                Vec::new()
            })
    }

    /// A report of these incidents (Markdown or HTML), each read as `incident` reads it: from
    /// the tenant, or as cached when it cannot be reached.
    pub async fn report(&self, ids: &[String], format: ReportFormat) -> Result<String> {
        if ids.is_empty() {
            return Err(Error::Invalid("name at least one incident".into()));
        }
        let mut details = Vec::with_capacity(ids.len());
        for id in ids {
            details.push(self.incident(id).await?);
        }
        Ok(report::render(
            &details,
            format,
            time::OffsetDateTime::now_utc(),
        ))
    }

    /// The incidents of a queue view, in its order, as JSON or CSV.
    pub async fn export_view(&self, q: &QueueQuery, format: ExportFormat) -> Result<String> {
        if q.all_profiles {
            let rows = self.matches_across(q).await?;
            let rows: Vec<export::Across<'_>> = rows
                .iter()
                .map(|(profile, incident)| export::Across { profile, incident })
                .collect();
            return export::render_across(&rows, format);
        }
        let e = self.ready().await?;
        let ids = e.index().await?.ids(q, time::OffsetDateTime::now_utc());
        let rows = sync::blocking(&e.cache, move |c| c.incidents(&ids)).await?;
        let chosen: Vec<&Incident> = rows.iter().flatten().collect();
        export::render(&chosen, format)
    }

    /// The cached incidents with these ids, in this order, as JSON or CSV.
    pub async fn export(&self, ids: &[String], format: ExportFormat) -> Result<String> {
        let snap = self.cached().await?;
        let by_id: HashMap<&str, &Incident> =
            snap.incidents.iter().map(|i| (i.id.as_str(), i)).collect();
        let chosen: Vec<&Incident> = ids
            .iter()
            .filter_map(|id| by_id.get(id.as_str()).copied())
            .collect();
        export::render(&chosen, format)
    }

    /// Removes a profile: its credential, its cache and key, and its entry in the profiles file.
    /// Works on a profile this desk does not hold too (`idesk profile remove`).
    pub async fn remove_profile(&self, name: &str) -> Result<()> {
        remove_profile(&self.dirs, &self.store, name, self.session_only).await
    }
}

/// The HTTP client for a profile with proxy `proxy`: the one `clients` has for it, else a new one,
/// kept there. Profiles with the same proxy (most often none) share a client: building one reads
/// the system's certificate store (about 2 ms), once per profile when the app started until now.
/// Sharing one shares its connections, never a credential: each request carries its own
/// profile's token.
fn shared_http(
    clients: &mut Vec<(Option<url::Url>, IdentityHttp)>,
    proxy: Option<&url::Url>,
) -> Result<IdentityHttp> {
    if let Some((_, http)) = clients.iter().find(|(p, _)| p.as_ref() == proxy) {
        return Ok(http.clone());
    }
    let http = IdentityHttp::new(proxy)?;
    clients.push((proxy.cloned(), http.clone()));
    Ok(http)
}

/// Checks an application profile's new credential with the tenant, then keeps it in the keychain;
/// refuses one for a delegated profile. Says whether one was given: the callers decide whether the
/// profile may go without.
async fn keep_credential(
    store: &Arc<dyn TokenStore>,
    profile: &Profile,
    credential: Option<Secret>,
) -> Result<bool> {
    match (profile.kind, credential) {
        (Kind::Application, Some(credential)) => {
            Session::new(profile.clone(), Arc::clone(store))?
                .set_app_credential(credential)
                .await?;
            Ok(true)
        }
        (Kind::Delegated, Some(_)) => Err(Error::Invalid(
            "a delegated profile signs in in the browser and has no client secret".into(),
        )),
        (_, None) => Ok(false),
    }
}

/// Checks a new profile and saves it as the current one. An application profile's credential
/// (client secret, or certificate key and certificate as PEM) is checked with the tenant first and
/// kept in the keychain only; nothing is saved when it fails.
pub async fn add_profile(
    dirs: &Dirs,
    store: &Arc<dyn TokenStore>,
    profile: Profile,
    credential: Option<Secret>,
) -> Result<()> {
    profile.validate()?;
    if !keep_credential(store, &profile, credential).await? && profile.kind == Kind::Application {
        return Err(Error::Invalid(match profile.credential {
            Credential::Secret => "an application profile needs its client secret".into(),
            Credential::Certificate => {
                "an application profile needs its certificate and private key".into()
            }
        }));
    }
    let dirs = dirs.clone();
    tokio::task::spawn_blocking(move || Config::add(&dirs, profile))
        .await
        .map_err(|e| Error::task("profiles", e))?
}

/// Saves an edited profile under its name, keeping which profile opens at start. An application
/// profile keeps its stored credential when none is given, as long as it still names the same
/// authority, tenant and app registration; otherwise the credential must be given again (the old
/// one is bound to the old registration and is deleted when the profile next opens).
pub async fn update_profile(
    dirs: &Dirs,
    store: &Arc<dyn TokenStore>,
    profile: Profile,
    credential: Option<Secret>,
) -> Result<()> {
    profile.validate()?;
    let mut config = Config::load(dirs)?;
    let before = config
        .profile(&profile.name)
        .ok_or_else(|| Error::Config(format!("no profile named {:?}", profile.name)))?;
    let same_binding = before.fingerprint()? == profile.fingerprint()?;
    if !keep_credential(store, &profile, credential).await?
        && profile.kind == Kind::Application
        && !same_binding
    {
        return Err(Error::Invalid(
            "the tenant, authority or app registration changed: give the application's \
             credential again"
                .into(),
        ));
    }
    config.upsert(profile);
    let dirs = dirs.clone();
    tokio::task::spawn_blocking(move || config.save(&dirs))
        .await
        .map_err(|e| Error::task("profiles", e))?
}

/// The profile that opens at start, when one is chosen.
pub fn default_profile(dirs: &Dirs) -> Option<String> {
    Config::load(dirs).ok()?.current
}

/// "Test connection": the profile is valid and its tenant's sign-in endpoint answers. Returns the
/// issuer it found.
pub async fn test_connection(profile: &Profile) -> Result<String> {
    profile.validate()?;
    let http = crate::auth::oidc::IdentityHttp::new(profile.proxy.as_ref())?;
    let meta = crate::auth::oidc::discover(&http, &profile.authority()?, &profile.tenant).await?;
    Ok(meta.issuer)
}

/// Removes a profile: signs it out (its credential leaves the keychain), wipes its cache files and
/// key, and drops it from the profiles file.
pub async fn remove_profile(
    dirs: &Dirs,
    store: &Arc<dyn TokenStore>,
    name: &str,
    session_only: bool,
) -> Result<()> {
    let mut config = Config::load(dirs)?;
    let profile = config
        .profile(name)
        .cloned()
        .ok_or_else(|| Error::Config(format!("no profile named {name:?}")))?;
    let fingerprint = profile.fingerprint()?;
    Session::new(profile, Arc::clone(store))?.sign_out().await?;
    let cache = Cache::new(dirs, name, &fingerprint, Arc::clone(store), !session_only);
    let (dirs, name) = (dirs.clone(), name.to_owned());
    tokio::task::spawn_blocking(move || {
        cache.wipe()?;
        config.profiles.retain(|p| p.name != name);
        if config.current.as_deref() == Some(&name) {
            config.current = None;
        }
        config.save(&dirs)
    })
    .await
    .map_err(|e| Error::task("profiles", e))?
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::token_store::MemoryStore;

    /// A one-request HTTP proxy on loopback: answers 204 and sends the request line it got.
    async fn proxy() -> (url::Url, tokio::sync::oneshot::Receiver<String>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = url::Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && s.read(&mut byte).await.unwrap() == 1 {
                head.push(byte[0]);
            }
            let _ = s
                .write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
                .await;
            let text = String::from_utf8_lossy(&head);
            let _ = tx.send(text.lines().next().unwrap_or_default().to_owned());
        });
        (url, rx)
    }

    #[tokio::test]
    async fn profiles_share_a_client_only_with_the_same_proxy() {
        let (a, got_a) = proxy().await;
        let (b, got_b) = proxy().await;
        let mut clients = Vec::new();
        for p in [Some(&a), None, Some(&b), Some(&a), None] {
            shared_http(&mut clients, p).unwrap();
        }
        assert_eq!(clients.len(), 3, "one client per proxy, and one for none");
        // Each proxy's client goes through that proxy, whichever was asked for first.
        let within = std::time::Duration::from_secs(10);
        for (proxy, got, path) in [(&b, got_b, "/b"), (&a, got_a, "/a")] {
            let http = shared_http(&mut clients, Some(proxy)).unwrap().client();
            let url = format!("http://incidents.test{path}");
            let sent = tokio::time::timeout(within, http.get(&url).send()).await;
            assert_eq!(sent.unwrap().unwrap().status(), 204);
            let line = tokio::time::timeout(within, got).await.unwrap().unwrap();
            assert_eq!(line, format!("GET {url} HTTP/1.1"));
        }
        assert_eq!(clients.len(), 3);
    }

    const SANDBOX: &str = "SANDBOX issuer=http://127.0.0.1:1/t/v2.0 graph=http://127.0.0.1:2/v1.0 defender=http://127.0.0.1:2 tenant=t client_id=c app_client_id=a app_client_secret=s";

    fn dirs() -> Dirs {
        let base = std::env::temp_dir().join(format!(
            "idesk-desk-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        Dirs {
            config: base.join("config"),
            data: base.join("data"),
        }
    }

    #[test]
    fn opens_on_the_sandbox_when_nothing_is_configured_and_switches_keep_sessions() {
        let d = dirs();
        let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::default());
        let sandbox = crate::sandbox::profile_from_line(SANDBOX).unwrap();
        assert!(
            Desk::open(&d, None, Arc::clone(&store), false).is_err(),
            "nothing to open on"
        );
        let mut config = Config::default();
        let mut other = sandbox.clone();
        other.name = "Contoso".into();
        other.sandbox = false;
        config.upsert(other);
        config.save(&d).unwrap();

        let desk = Desk::open(&d, Some(sandbox), store, false).unwrap();
        assert_eq!(
            desk.profiles().map(|p| p.name.as_str()).collect::<Vec<_>>(),
            ["Contoso", "Sandbox"]
        );
        assert_eq!(
            desk.profile().name,
            "Sandbox",
            "no current profile set: the sandbox"
        );
        desk.switch("Contoso").unwrap();
        let contoso = desk.current();
        assert_eq!(desk.profile().name, "Contoso");
        desk.switch("Sandbox").unwrap();
        desk.switch("Contoso").unwrap();
        assert!(
            Arc::ptr_eq(&desk.current(), &contoso),
            "switching back keeps the session"
        );
        assert!(desk.switch("Nope").is_err());
        let _ = std::fs::remove_dir_all(d.config.parent().unwrap());
    }

    #[tokio::test]
    async fn a_profile_re_added_for_another_tenant_loses_its_old_sign_in_and_cache_and_says_so() {
        use crate::auth::token_store::{refresh_token_key, seal};
        use crate::incidents::cache::Snapshot;
        let d = dirs();
        let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::default());
        let mut first = crate::sandbox::profile_from_line(SANDBOX).unwrap();
        first.name = "Contoso".into();
        first.sandbox = false;
        Config::add(&d, first.clone()).unwrap();
        // What a signed-in, synced profile leaves behind.
        let fp = first.fingerprint().unwrap();
        store
            .save(
                &refresh_token_key("Contoso"),
                &seal(&fp, &Secret::new("rt-of-tenant-t")),
            )
            .unwrap();
        let cache = Cache::new(&d, "Contoso", &fp, Arc::clone(&store), true);
        cache
            .save(&Snapshot {
                incidents: vec![],
                watermark: Some(time::OffsetDateTime::UNIX_EPOCH),
                ..Snapshot::default()
            })
            .unwrap();
        assert!(cache.paths()[0].exists());

        // Re-added under the same name for another tenant and client.
        let mut second = first.clone();
        second.tenant = "other-tenant".into();
        second.client_id = "other-client".into();
        Config::add(&d, second).unwrap();
        let desk = Desk::open(&d, None, Arc::clone(&store), false).unwrap();
        let standing = desk.standing().await.unwrap();
        assert!(!standing.signed_in, "the old sign-in is not this profile's");
        assert!(
            standing
                .notice
                .as_deref()
                .is_some_and(|n| n.contains("deleted")),
            "and the user is told: {:?}",
            standing.notice
        );
        assert!(store.load(&refresh_token_key("Contoso")).unwrap().is_none());
        assert!(
            !cache.paths()[0].exists(),
            "the old tenant's incidents and watermark are gone"
        );
        assert_eq!(desk.cached().await.unwrap().watermark, None);
        assert_eq!(desk.standing().await.unwrap().notice, None, "said once");
        let _ = std::fs::remove_dir_all(d.config.parent().unwrap());
    }

    /// A `MemoryStore` that counts the reads of each entry.
    #[derive(Default)]
    struct Counted(MemoryStore, std::sync::Mutex<HashMap<String, usize>>);

    impl Counted {
        fn reads(&self, key: &str) -> usize {
            self.1.lock().unwrap().get(key).copied().unwrap_or(0)
        }
    }

    impl TokenStore for Counted {
        fn load(&self, key: &str) -> Result<Option<Secret>> {
            *self.1.lock().unwrap().entry(key.to_owned()).or_default() += 1;
            self.0.load(key)
        }
        fn save(&self, key: &str, value: &Secret) -> Result<()> {
            self.0.save(key, value)
        }
        fn delete(&self, key: &str) -> Result<()> {
            self.0.delete(key)
        }
    }

    #[tokio::test]
    async fn a_silent_sign_in_reads_the_credential_once_with_the_check_of_what_is_stored() {
        let d = dirs();
        let store = Arc::new(Counted::default());
        let mut profile = crate::sandbox::profile_from_line(SANDBOX).unwrap();
        profile.name = "Contoso".into();
        profile.sandbox = false;
        Config::add(&d, profile.clone()).unwrap();
        let key = credential_key(&profile);
        let desk = Desk::open(&d, None, Arc::clone(&store) as Arc<dyn TokenStore>, false).unwrap();
        assert!(desk.resume().await.unwrap().is_none(), "nothing stored");
        assert_eq!(store.reads(&key), 1, "read by the check, then used as read");
        assert!(desk.resume().await.unwrap().is_none());
        assert_eq!(store.reads(&key), 2, "what the check read is used once");
        let _ = std::fs::remove_dir_all(d.config.parent().unwrap());
    }

    #[tokio::test]
    async fn a_credential_read_before_a_sign_out_is_not_used_after_it() {
        let store = Arc::new(Counted::default());
        let profile = crate::sandbox::profile_from_line(SANDBOX).unwrap();
        let key = credential_key(&profile);
        let session = Session::new(profile, Arc::clone(&store) as Arc<dyn TokenStore>).unwrap();
        let read_at = session.generation();
        assert!(session
            .resume_with(Some((read_at, None)))
            .await
            .unwrap()
            .is_none());
        assert_eq!(store.reads(&key), 0, "what was read is not read again");
        session.sign_out().await.unwrap();
        let stale = Some((read_at, Some(Secret::new("read-before-the-sign-out"))));
        assert!(
            session.resume_with(stale).await.unwrap().is_none(),
            "signed out: the keychain, read again, has nothing"
        );
        assert_eq!(store.reads(&key), 1);
    }
}
