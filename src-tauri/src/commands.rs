//! The commands the UI calls: each unpacks its arguments, calls one core flow and maps the error.
//! Their TypeScript twins are generated from these signatures (see `contract`).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use idesk_core::auth::browser::{Opener, SystemBrowser};
use idesk_core::auth::claims::{self, TokenInfo};
use idesk_core::auth::oidc::Account;
use idesk_core::config::{Backend, Cloud, Credential, Kind, Profile, Region};
use idesk_core::desk::{self, Desk};
use idesk_core::incidents::bulk::{BulkEdit, BulkResult, BulkTarget};
use idesk_core::incidents::changes::Change;
use idesk_core::incidents::export::ExportFormat;
use idesk_core::incidents::model::{Incident, IncidentDetail, Update};
use idesk_core::incidents::portal;
use idesk_core::incidents::queue::{Overview, QueuePage, QueueQuery, Shown, Suggestions};
use idesk_core::incidents::report::ReportFormat;
use idesk_core::settings::Settings;
use idesk_core::Error;
use serde::{Deserialize, Serialize};
use tauri::State;
use tauri_plugin_dialog::DialogExt;
use tauri_specta::Event;
use time::OffsetDateTime;
use tokio::sync::oneshot;

use crate::events::{BulkProgress, SignInUrl, SyncProgress};
use crate::ipc_error::IpcResult;
use crate::state::AppState;

const SIGN_IN_TIMEOUT: Duration = Duration::from_secs(10 * 60);

/// What the UI knows about a profile: never a token.
#[derive(Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ProfileView {
    name: String,
    tenant: String,
    sandbox: bool,
    api: Backend,
    /// Asks for read permissions only: triage is unavailable.
    read_only: bool,
    /// Signs in as the app (client credentials), not as a person.
    application: bool,
    /// For Defender XDR profiles: the date that API stops working.
    retires: Option<String>,
    /// The rest of the profile, for the settings screen's editor (no credential: only its kind).
    client_id: String,
    cloud: Cloud,
    authority: Option<url::Url>,
    api_base: Option<url::Url>,
    region: Option<Region>,
    proxy: Option<url::Url>,
    /// An application profile's kind of credential.
    credential: Option<Credential>,
}

impl From<&Profile> for ProfileView {
    fn from(p: &Profile) -> Self {
        Self {
            name: p.name.clone(),
            tenant: p.tenant.clone(),
            sandbox: p.sandbox,
            api: p.api,
            read_only: p.read_only,
            application: p.kind == Kind::Application,
            retires: (p.api == Backend::Defender)
                .then(|| idesk_core::incidents::api::DEFENDER_RETIREMENT.to_owned()),
            client_id: p.client_id.clone(),
            cloud: p.cloud,
            authority: p.authority.clone(),
            api_base: p.api_base.clone(),
            region: p.region,
            proxy: p.proxy.clone(),
            credential: (p.kind == Kind::Application).then_some(p.credential),
        }
    }
}

#[derive(Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct AppView {
    /// The current profile.
    profile: ProfileView,
    /// A refresh token (or client secret) is stored, or a session is live: the queue can be shown
    /// from the cache at once, and a silent sign-in (`connect`) can follow.
    signed_in: bool,
    /// The signed-in account; while the tenant cannot be reached, the one of the last sync.
    account: Option<Account>,
    /// Every profile, for the switcher.
    profiles: Vec<ProfileView>,
    /// Tokens are kept in memory only (no usable keychain): signing in again is needed next time.
    session_only: bool,
    /// Something to tell the user once, e.g. that a re-added profile's earlier sign-in and cached
    /// incidents were deleted because it now names another tenant or app registration.
    notice: Option<String>,
}

/// The view of the current profile, from what is known without the network.
async fn view(desk: &Desk) -> IpcResult<AppView> {
    let standing = desk.standing().await?;
    Ok(AppView {
        profile: ProfileView::from(desk.profile()),
        signed_in: standing.signed_in,
        account: standing.account,
        profiles: desk.profiles().map(ProfileView::from).collect(),
        session_only: desk.session_only(),
        notice: standing.notice,
    })
}

/// The app's state at start: no network call, so the cached queue shows at once, even offline.
#[tauri::command]
#[specta::specta]
pub async fn get_state(state: State<'_, AppState>) -> IpcResult<AppView> {
    view(&*state.desk()?).await
}

/// The silent sign-in from the keychain. Fails with `offline` when the tenant cannot be reached
/// (the UI keeps the cached queue and retries), `not_signed_in` when the tenant refused the stored
/// sign-in; with nothing stored, the view says `signedIn: false`.
#[tauri::command]
#[specta::specta]
pub async fn connect(state: State<'_, AppState>) -> IpcResult<AppView> {
    let desk = state.desk()?;
    desk.resume().await?;
    view(&desk).await
}

/// Switches to another profile; its tokens, if still valid, are used at once.
#[tauri::command]
#[specta::specta]
pub async fn switch_profile(state: State<'_, AppState>, name: String) -> IpcResult<AppView> {
    let desk = state.desk()?;
    desk.switch(&name)?;
    view(&desk).await
}

/// Interactive sign-in in the system browser. Emits `SignInUrl` so the UI can offer the link.
#[tauri::command]
#[specta::specta]
pub async fn sign_in(app: tauri::AppHandle, state: State<'_, AppState>) -> IpcResult<AppView> {
    let desk = state.desk()?;
    let pending = desk.begin_sign_in().await?;
    let url = pending.url.to_string();
    let _ = SignInUrl { url: url.clone() }.emit(&app);
    if let Err(e) = SystemBrowser.open(&url) {
        // The UI still shows the link to copy.
        tracing::warn!("{}", e.user_message());
    }
    let (tx, rx) = oneshot::channel();
    *state.cancel.lock().unwrap_or_else(|e| e.into_inner()) = Some(tx);
    let result = desk
        .finish_sign_in(pending, SIGN_IN_TIMEOUT, async {
            let _ = rx.await;
        })
        .await;
    state
        .cancel
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take();
    result?;
    view(&desk).await
}

#[tauri::command]
#[specta::specta]
pub fn cancel_sign_in(state: State<'_, AppState>) {
    if let Some(tx) = state
        .cancel
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take()
    {
        let _ = tx.send(());
    }
}

/// With no usable keychain: continue with tokens kept in memory for this run only.
#[tauri::command]
#[specta::specta]
pub async fn use_session_only(state: State<'_, AppState>) -> IpcResult<AppView> {
    view(&*state.use_session_only()?).await
}

/// The link an administrator opens to grant the current profile's app its permissions.
#[tauri::command]
#[specta::specta]
pub fn admin_consent_url(state: State<'_, AppState>) -> IpcResult<String> {
    Ok(state.desk()?.profile().admin_consent_url()?.to_string())
}

/// Signs out of the current profile; with `wipe`, its cached incidents and their key go too.
#[tauri::command]
#[specta::specta]
pub async fn sign_out(state: State<'_, AppState>, wipe: bool) -> IpcResult<AppView> {
    let desk = state.desk()?;
    desk.sign_out(wipe).await?;
    view(&desk).await
}

/// Removes a profile with its sign-in and cached incidents. Fails with `no_profile` when it was
/// the last one (the UI shows the setup).
#[tauri::command]
#[specta::specta]
pub async fn remove_profile(state: State<'_, AppState>, name: String) -> IpcResult<AppView> {
    state.desk()?.remove_profile(&name).await?;
    view(&*state.reload()?).await
}

/// What the store holds for the current profile: how many incidents, and when it was last
/// synced. Instant, and available offline; the rows come from `query_queue`.
#[derive(Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct QueueStatus {
    total: u32,
    #[serde(with = "time::serde::rfc3339::option")]
    #[specta(type = Option<String>)]
    synced_at: Option<OffsetDateTime>,
    /// What opening the store set aside and re-syncs (an earlier version's cache, an unreadable
    /// database), said once.
    notice: Option<String>,
}

#[tauri::command]
#[specta::specta]
pub async fn queue_status(state: State<'_, AppState>) -> IpcResult<QueueStatus> {
    let desk = state.desk()?;
    let (status, total) = desk.store_status().await?;
    Ok(QueueStatus {
        total: u32::try_from(total).unwrap_or(u32::MAX),
        synced_at: status.synced_at,
        notice: desk.store_notice(),
    })
}

/// One window of the queue: the count, the rows `[offset, offset + limit)` for a filter, search
/// and sort, and the filter menus' facets. From the store, without the network.
#[tauri::command]
#[specta::specta]
pub async fn query_queue(state: State<'_, AppState>, query: QueueQuery) -> IpcResult<QueuePage> {
    Ok(state.desk()?.query(&query).await?)
}

/// The change feed: what the syncs found changed elsewhere, newest first.
#[derive(Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ChangeFeed {
    changes: Vec<Change>,
    /// How many the analyst has not seen.
    unseen: u32,
}

/// "Since you last looked": the newest changes (at most 500) and the unseen count.
#[tauri::command]
#[specta::specta]
pub async fn changes(state: State<'_, AppState>) -> IpcResult<ChangeFeed> {
    let (changes, unseen) = state.desk()?.changes(None, 500).await?;
    Ok(ChangeFeed {
        changes,
        unseen: u32::try_from(unseen).unwrap_or(u32::MAX),
    })
}

/// Marks the feed seen up to the change `up_to` (every change with `null`).
#[tauri::command]
#[specta::specta]
pub async fn mark_changes_seen(
    app: tauri::AppHandle,
    state: State<'_, AppState>,
    up_to: Option<u32>,
) -> IpcResult<()> {
    state.desk()?.mark_seen(up_to.map(i64::from)).await?;
    crate::live::refresh_tray(&app).await;
    Ok(())
}

/// The `incidentdesk://` link to an incident of the open profile, for "Copy link"; `null` when
/// the profile's tenant cannot be named in a link.
#[tauri::command]
#[specta::specta]
pub fn incident_link(state: State<'_, AppState>, id: String) -> IpcResult<Option<String>> {
    let desk = state.desk()?;
    Ok(idesk_core::links::incident_link(
        &desk.profile().tenant,
        &id,
    ))
}

/// The overview's counts over the store.
#[tauri::command]
#[specta::specta]
pub async fn queue_overview(state: State<'_, AppState>) -> IpcResult<Overview> {
    Ok(state.desk()?.overview().await?)
}

/// Recent assignees and the store's tags, for the triage form's suggestions.
#[tauri::command]
#[specta::specta]
pub async fn triage_suggestions(state: State<'_, AppState>) -> IpcResult<Suggestions> {
    Ok(state.desk()?.suggestions().await?)
}

/// Brings the store up to date with the tenant; emits `SyncProgress` with the running count.
/// With `all_profiles`, every signed-in profile's store, one after the other: the answer counts
/// them all, and names in its notice the profiles that could not be synced (it fails only when
/// none could).
#[tauri::command]
#[specta::specta]
pub async fn sync_incidents(
    app: tauri::AppHandle,
    state: State<'_, AppState>,
    all_profiles: bool,
) -> IpcResult<QueueStatus> {
    let progress = move |n: usize| {
        let fetched = u32::try_from(n).unwrap_or(u32::MAX);
        let _ = SyncProgress { fetched }.emit(&app);
    };
    let desk = state.desk()?;
    let outcomes = if all_profiles {
        desk.sync_all(&progress).await
    } else {
        let name = desk.current().profile().name.clone();
        vec![(name, desk.sync_store(&progress).await)]
    };
    let (mut total, mut synced_at, mut failed, mut first_error) = (0usize, None, Vec::new(), None);
    for (name, result) in outcomes {
        match result {
            Ok(r) => {
                state.syncs.push(&format!(
                    "{name}: ok, {} incidents, {} changed",
                    r.total, r.changed
                ));
                total += r.total;
                synced_at = Some(r.synced_at);
            }
            Err(e) => {
                tracing::warn!(profile = name, "sync failed: {e}");
                state
                    .syncs
                    .push(&format!("{name}: failed ({:?}): {e}", e.code()));
                failed.push(format!("{name} ({})", e.user_message()));
                first_error.get_or_insert(e);
            }
        }
    }
    if synced_at.is_none() {
        if let Some(e) = first_error {
            return Err(e.into());
        }
    }
    let notice = match (desk.store_notice(), failed.is_empty()) {
        (notice, true) => notice,
        (notice, false) => Some(
            notice
                .into_iter()
                .chain([format!("Not synced: {}.", failed.join("; "))])
                .collect::<Vec<_>>()
                .join(" "),
        ),
    };
    Ok(QueueStatus {
        total: u32::try_from(total).unwrap_or(u32::MAX),
        synced_at,
        notice,
    })
}

/// One incident with its alerts and evidence; offline, as cached when it was last opened.
#[tauri::command]
#[specta::specta]
pub async fn get_incident(state: State<'_, AppState>, id: String) -> IpcResult<IncidentDetail> {
    Ok(state.desk()?.incident(&id).await?)
}

/// A triage change. `seen_last_update` is the incident's lastUpdate as the analyst saw it: if it
/// changed since, nothing is written and the error is `conflict`.
#[tauri::command]
#[specta::specta]
pub async fn update_incident(
    state: State<'_, AppState>,
    id: String,
    update: Update,
    seen_last_update: Option<Rfc3339>,
) -> IpcResult<Incident> {
    let seen = seen_last_update.map(|t| t.0);
    Ok(state.desk()?.update(&id, &update, seen).await?)
}

/// One change to each incident of a selection (`BulkProgress` after each); each is checked on
/// its own, and the result names what was saved, skipped and failed.
#[tauri::command]
#[specta::specta]
pub async fn update_incidents(
    app: tauri::AppHandle,
    state: State<'_, AppState>,
    targets: Vec<BulkTarget>,
    edit: BulkEdit,
) -> IpcResult<BulkResult> {
    let cancel = Arc::clone(&state.bulk_cancel);
    cancel.store(false, Ordering::SeqCst);
    let progress = bulk_progress(app);
    Ok(state
        .desk()?
        .update_many(&targets, &edit, &progress, &cancel)
        .await?)
}

/// Applies the current profile's macro `name` (as saved in the settings) to these incidents, as
/// `update_incidents` applies a change: progress events, Cancel, a result per incident.
#[tauri::command]
#[specta::specta]
pub async fn apply_macro(
    app: tauri::AppHandle,
    state: State<'_, AppState>,
    name: String,
    targets: Vec<BulkTarget>,
) -> IpcResult<BulkResult> {
    let cancel = Arc::clone(&state.bulk_cancel);
    cancel.store(false, Ordering::SeqCst);
    let progress = bulk_progress(app);
    Ok(state
        .desk()?
        .apply_macro(&name, &targets, &progress, &cancel)
        .await?)
}

/// A bulk change's progress, as `BulkProgress` events to the window.
fn bulk_progress(app: tauri::AppHandle) -> impl Fn(usize, usize) + Send + Sync {
    move |done: usize, total: usize| {
        let _ = BulkProgress {
            done: u32::try_from(done).unwrap_or(u32::MAX),
            total: u32::try_from(total).unwrap_or(u32::MAX),
        }
        .emit(&app);
    }
}

/// Stops the change to several incidents under way after the incident being written.
#[tauri::command]
#[specta::specta]
pub fn cancel_update_incidents(state: State<'_, AppState>) {
    state.bulk_cancel.store(true, Ordering::SeqCst);
}

/// Every incident of a queue view, in its order, with its `lastUpdate` as shown: "select all".
#[tauri::command]
#[specta::specta]
pub async fn query_ids(state: State<'_, AppState>, query: QueueQuery) -> IpcResult<Vec<Shown>> {
    Ok(state.desk()?.query_ids(&query).await?)
}

/// A time from the UI, as RFC 3339 text.
#[derive(Debug, Clone, Copy)]
pub struct Rfc3339(OffsetDateTime);

impl<'de> Deserialize<'de> for Rfc3339 {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        time::serde::rfc3339::deserialize(d).map(Rfc3339)
    }
}

impl specta::Type for Rfc3339 {
    fn definition(types: &mut specta::Types) -> specta::datatype::DataType {
        <String as specta::Type>::definition(types)
    }
}

/// What the current access token grants (audience, tenant, scopes or roles, expiry), never the
/// token itself.
#[tauri::command]
#[specta::specta]
pub async fn token_info(state: State<'_, AppState>) -> IpcResult<TokenInfo> {
    let s = state.desk()?.current();
    let token = s.access_token().await?;
    Ok(claims::inspect(&token, s.profile()))
}

/// Exports the incidents of a queue view (every match, in its order) through a save dialog.
/// Returns where the file went, or nothing when the user cancelled.
#[tauri::command]
#[specta::specta]
pub async fn export_incidents(
    app: tauri::AppHandle,
    state: State<'_, AppState>,
    format: ExportFormat,
    view: QueueQuery,
) -> IpcResult<Option<String>> {
    let text = state.desk()?.export_view(&view, format).await?;
    let ext = format.extension();
    let (tx, rx) = oneshot::channel();
    app.dialog()
        .file()
        .set_file_name(format!("incidents.{ext}"))
        .add_filter(ext.to_uppercase(), &[ext])
        .save_file(move |path| {
            let _ = tx.send(path);
        });
    let Some(path) = chosen(rx, "cannot save there").await? else {
        return Ok(None);
    };
    let shown = path.display().to_string();
    tokio::task::spawn_blocking(move || {
        idesk_core::files::write_atomically(&path, text.as_bytes())
    })
    .await
    .map_err(|e| Error::task("export", e))??;
    Ok(Some(shown))
}

/// A report of these incidents (Markdown or HTML), to copy.
#[tauri::command]
#[specta::specta]
pub async fn incident_report(
    state: State<'_, AppState>,
    ids: Vec<String>,
    format: ReportFormat,
) -> IpcResult<String> {
    Ok(state.desk()?.report(&ids, format).await?)
}

/// A report of these incidents saved through a save dialog. Returns where the file went, or
/// nothing when the user cancelled.
#[tauri::command]
#[specta::specta]
pub async fn save_report(
    app: tauri::AppHandle,
    state: State<'_, AppState>,
    ids: Vec<String>,
    format: ReportFormat,
) -> IpcResult<Option<String>> {
    let text = state.desk()?.report(&ids, format).await?;
    let ext = format.extension();
    let name = match ids.as_slice() {
        [one] if one.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') => {
            format!("incident-{one}.{ext}")
        }
        _ => format!("incidents-report.{ext}"),
    };
    let (tx, rx) = oneshot::channel();
    app.dialog()
        .file()
        .set_file_name(name)
        .add_filter(ext.to_uppercase(), &[ext])
        .save_file(move |path| {
            let _ = tx.send(path);
        });
    let Some(path) = chosen(rx, "cannot save there").await? else {
        return Ok(None);
    };
    let shown = path.display().to_string();
    tokio::task::spawn_blocking(move || {
        idesk_core::files::write_atomically(&path, text.as_bytes())
    })
    .await
    .map_err(|e| Error::task("report", e))??;
    Ok(Some(shown))
}

/// The path a file dialog answered with, or nothing when the user cancelled.
async fn chosen(
    rx: oneshot::Receiver<Option<tauri_plugin_dialog::FilePath>>,
    refused: &str,
) -> IpcResult<Option<std::path::PathBuf>> {
    let Some(path) = rx.await.ok().flatten() else {
        return Ok(None);
    };
    let path = path
        .into_path()
        .map_err(|e| Error::Invalid(format!("{refused}: {e}")))?;
    Ok(Some(path))
}

/// Opens an incident's page in the Defender portal, in the system browser: portal links only.
#[tauri::command]
#[specta::specta]
pub fn open_portal(url: String) -> IpcResult<()> {
    SystemBrowser.open(portal::checked_link(&url)?.as_str())?;
    Ok(())
}

/// A new profile from the setup screen: the analyst's own account (signed in in the browser), or,
/// with `application`, the app registration's own identity (client credentials).
#[derive(Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct NewProfile {
    name: String,
    tenant: String,
    client_id: String,
    cloud: Cloud,
    api: Backend,
    authority: Option<url::Url>,
    api_base: Option<url::Url>,
    read_only: bool,
    /// The Defender XDR API's regional host, when chosen.
    region: Option<Region>,
    /// A proxy for this profile, in place of the system's.
    proxy: Option<url::Url>,
    /// Set for an application profile: how it proves itself.
    application: Option<NewCredential>,
}

/// An application profile's credential as the setup screen gives it. A client secret crosses IPC
/// once, toward Rust, and nothing sends it back; a certificate is named by its file, which Rust
/// reads, so its private key never enters the window at all.
/// When editing a profile, `null` keeps the credential stored in the keychain.
#[derive(Deserialize, specta::Type)]
#[serde(tag = "credential", rename_all = "camelCase")]
pub enum NewCredential {
    Secret {
        #[specta(type = Option<String>)]
        secret: Option<idesk_core::auth::secret::Secret>,
    },
    Certificate {
        /// A PEM file with the private key and the certificate.
        path: Option<String>,
    },
}

impl NewProfile {
    /// The profile, and the credential to check and keep (read from its file for a certificate).
    async fn into_parts(self) -> IpcResult<(Profile, Option<idesk_core::auth::secret::Secret>)> {
        let (kind, credential, secret) = match self.application {
            None => (Kind::Delegated, Credential::Secret, None),
            Some(NewCredential::Secret { secret }) => {
                (Kind::Application, Credential::Secret, secret)
            }
            Some(NewCredential::Certificate { path: None }) => {
                (Kind::Application, Credential::Certificate, None)
            }
            Some(NewCredential::Certificate { path: Some(path) }) => {
                let path = std::path::PathBuf::from(path.trim());
                let pem = tokio::task::spawn_blocking(move || {
                    idesk_core::auth::certificate::read_pem_file(&path)
                })
                .await
                .map_err(|e| Error::task("certificate", e))??;
                (Kind::Application, Credential::Certificate, Some(pem))
            }
        };
        let profile = Profile {
            name: self.name.trim().to_owned(),
            tenant: self.tenant.trim().to_owned(),
            client_id: self.client_id.trim().to_owned(),
            cloud: self.cloud,
            api: self.api,
            authority: self.authority,
            api_base: self.api_base,
            sandbox: false,
            kind,
            credential,
            read_only: self.read_only,
            region: self.region,
            proxy: self.proxy,
        };
        Ok((profile, secret))
    }
}

/// "Test connection": the profile is valid and its tenant's sign-in endpoint answers. Returns the
/// issuer it found. The setup screen sends no credential here.
#[tauri::command]
#[specta::specta]
pub async fn test_connection(profile: NewProfile) -> IpcResult<String> {
    let (profile, _) = profile.into_parts().await?;
    Ok(desk::test_connection(&profile).await?)
}

/// Saves a new profile, makes it current, and opens it. An application profile's credential is
/// checked with the tenant first, then kept in the keychain only.
#[tauri::command]
#[specta::specta]
pub async fn add_profile(state: State<'_, AppState>, profile: NewProfile) -> IpcResult<AppView> {
    let dirs = idesk_core::config::Dirs::from_env()?;
    let (profile, credential) = profile.into_parts().await?;
    desk::add_profile(&dirs, &state.store()?, profile, credential).await?;
    view(&*state.reload()?).await
}

/// Saves an edited profile under its name (the settings screen). An application profile keeps its
/// stored credential unless a new one is given.
#[tauri::command]
#[specta::specta]
pub async fn update_profile(state: State<'_, AppState>, profile: NewProfile) -> IpcResult<AppView> {
    let dirs = idesk_core::config::Dirs::from_env()?;
    let (profile, credential) = profile.into_parts().await?;
    let open = state.desk()?.profile().name.clone();
    desk::update_profile(&dirs, &state.store()?, profile, credential).await?;
    // The edited profile's new values take effect; the one that was open stays open.
    let desk = state.reload()?;
    let _ = desk.switch(&open);
    view(&desk).await
}

/// What the settings screen shows: the settings, which profile opens at start, and why the saved
/// settings could not be used, if they could not.
#[derive(Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct SettingsView {
    settings: Settings,
    default_profile: Option<String>,
    problem: Option<String>,
}

#[tauri::command]
#[specta::specta]
pub fn get_settings() -> IpcResult<SettingsView> {
    let dirs = idesk_core::config::Dirs::from_env()?;
    let (settings, problem) = Settings::load_or_default(&dirs);
    Ok(SettingsView {
        settings,
        default_profile: idesk_core::desk::default_profile(&dirs),
        problem,
    })
}

/// Saves the settings; the log level applies at once.
#[tauri::command]
#[specta::specta]
pub fn save_settings(state: State<'_, AppState>, settings: Settings) -> IpcResult<Settings> {
    let dirs = idesk_core::config::Dirs::from_env()?;
    settings.save(&dirs)?;
    idesk_core::logging::set_level(settings.log_level.directive());
    tracing::info!(level = settings.log_level.directive(), "settings saved");
    // The background sync takes a new interval at once.
    state.wake.notify_one();
    Ok(settings)
}

/// Makes `name` the profile that opens at start.
#[tauri::command]
#[specta::specta]
pub fn set_default_profile(state: State<'_, AppState>, name: String) -> IpcResult<()> {
    Ok(state.desk()?.set_default(&name)?)
}

/// A component bundled into the app, with its licence.
#[derive(Serialize, Deserialize, specta::Type)]
pub struct Component {
    name: String,
    version: String,
    license: String,
}

/// What the About dialog shows.
#[derive(Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct AboutInfo {
    version: String,
    commit: String,
    /// The date of the commit it was built from.
    built: String,
    os: String,
    config_dir: String,
    data_dir: String,
    log_file: Option<String>,
    /// Every bundled crate and UI package with its licence (src-tauri/licenses.json).
    components: Vec<Component>,
}

/// Version, build, where the app keeps its files, and the bundled components' licences.
#[tauri::command]
#[specta::specta]
pub fn about() -> IpcResult<AboutInfo> {
    let dirs = idesk_core::config::Dirs::from_env()?;
    let components: Vec<Component> = serde_json::from_str(include_str!("../licenses.json"))
        .map_err(|e| Error::Internal(format!("the licence list: {e}")))?;
    Ok(AboutInfo {
        version: idesk_core::build::VERSION.into(),
        commit: idesk_core::build::COMMIT.into(),
        built: idesk_core::build::DATE.into(),
        os: idesk_core::diagnostics::os_name(),
        config_dir: dirs.config.display().to_string(),
        data_dir: dirs.data.display().to_string(),
        log_file: idesk_core::logging::app_log_file()
            .ok()
            .map(|f| f.display().to_string()),
        components,
    })
}

/// A support ticket's worth of facts: version, OS, the kinds of profiles (no names, tenants or
/// secrets), the last warnings and errors, the last syncs.
#[tauri::command]
#[specta::specta]
pub fn diagnostics(state: State<'_, AppState>) -> IpcResult<String> {
    let profiles = idesk_core::config::Dirs::from_env()
        .and_then(|d| idesk_core::config::Config::load(&d))
        .map(|c| c.profiles)
        .unwrap_or_default();
    Ok(idesk_core::diagnostics::report(
        &profiles,
        state.store().is_ok(),
        &state.syncs.lines(),
    ))
}

/// Asks for an application certificate file (PEM) in the system's file dialog. Returns its path,
/// or nothing when the user cancelled; the file is read only when the profile is saved.
#[tauri::command]
#[specta::specta]
pub async fn choose_certificate(app: tauri::AppHandle) -> IpcResult<Option<String>> {
    let (tx, rx) = oneshot::channel();
    app.dialog()
        .file()
        .add_filter("PEM", &["pem", "crt", "key", "cer"])
        .pick_file(move |path| {
            let _ = tx.send(path);
        });
    let path = chosen(rx, "cannot read from there").await?;
    Ok(path.map(|p| p.display().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_view_sent_over_ipc_has_no_place_for_a_token() {
        let view = AppView {
            profile: ProfileView::from(&Profile {
                kind: Kind::Application,
                ..idesk_core::sandbox::profile_from_line(
                    "SANDBOX issuer=http://127.0.0.1:1/t/v2.0 graph=http://127.0.0.1:2/v1.0 \
                     defender=http://127.0.0.1:2 tenant=t client_id=c",
                )
                .unwrap()
            }),
            signed_in: true,
            account: Some(Account {
                name: Some("Alice".into()),
                username: Some("alice@contoso.test".into()),
                tenant_id: Some("t".into()),
                object_id: Some("o".into()),
            }),
            profiles: vec![],
            session_only: false,
            notice: None,
        };
        let json = serde_json::to_value(&view).unwrap();
        let keys =
            |v: &serde_json::Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        assert_eq!(
            keys(&json),
            [
                "account",
                "notice",
                "profile",
                "profiles",
                "sessionOnly",
                "signedIn"
            ],
            "the pinned IPC shape"
        );
        assert_eq!(
            keys(&json["account"]),
            ["name", "objectId", "tenantId", "username"]
        );
        // A profile is described, its credential only by kind.
        assert_eq!(
            keys(&json["profile"]),
            [
                "api",
                "apiBase",
                "application",
                "authority",
                "clientId",
                "cloud",
                "credential",
                "name",
                "proxy",
                "readOnly",
                "region",
                "retires",
                "sandbox",
                "tenant"
            ]
        );
        assert_eq!(json["profile"]["credential"], "secret");
    }

    #[test]
    fn a_null_assignee_unassigns_and_a_missing_one_changes_nothing() {
        let cleared: Update = serde_json::from_str(r#"{"assignedTo":null}"#).unwrap();
        assert_eq!(cleared.assigned_to, Some(None), "null clears the assignee");
        let untouched: Update = serde_json::from_str(r#"{"status":"active"}"#).unwrap();
        assert_eq!(untouched.assigned_to, None, "absent leaves it alone");
    }
}
