//! The commands the UI calls. Each unpacks its arguments, calls the core and maps the error.

use std::time::Duration;

use idesk_core::browser::{Opener, SystemBrowser};
use idesk_core::claims::{self, TokenInfo};
use idesk_core::config::{Backend, Kind, Profile};
use idesk_core::desk::Desk;
use idesk_core::export;
use idesk_core::incident::{Incident, IncidentDetail, Update};
use idesk_core::oidc::Account;
use idesk_core::sync;
use idesk_core::Error;
use serde::Serialize;
use tauri::{Emitter, State};
use tauri_plugin_dialog::DialogExt;
use tokio::sync::oneshot;

use crate::ipc_error::IpcResult;
use crate::state::AppState;

const SIGN_IN_TIMEOUT: Duration = Duration::from_secs(10 * 60);

/// What the UI knows about a profile: never a token.
#[derive(Serialize)]
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
    retires: Option<&'static str>,
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
            retires: (p.api == Backend::Defender).then_some(idesk_core::api::DEFENDER_RETIREMENT),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppView {
    /// The current profile.
    profile: ProfileView,
    account: Option<Account>,
    /// Every profile, for the switcher.
    profiles: Vec<ProfileView>,
    /// Tokens are kept in memory only (no usable keychain): signing in again is needed next time.
    session_only: bool,
}

/// The view of the current profile, after its silent sign-in from the keychain (tried once).
async fn view(desk: &Desk) -> IpcResult<AppView> {
    let session = desk.current();
    session.resume_once().await?;
    Ok(AppView {
        profile: ProfileView::from(session.profile()),
        account: session.account(),
        profiles: desk.profiles().map(ProfileView::from).collect(),
        session_only: desk.session_only(),
    })
}

#[tauri::command]
pub async fn get_state(state: State<'_, AppState>) -> IpcResult<AppView> {
    view(&*state.desk()?).await
}

/// Switches to another profile; its tokens, if still valid, are used at once.
#[tauri::command]
pub async fn switch_profile(state: State<'_, AppState>, name: String) -> IpcResult<AppView> {
    let desk = state.desk()?;
    desk.switch(&name)?;
    view(&desk).await
}

/// Interactive sign-in in the system browser. Emits `sign-in-url` so the UI can offer the link.
#[tauri::command]
pub async fn sign_in(app: tauri::AppHandle, state: State<'_, AppState>) -> IpcResult<AppView> {
    let desk = state.desk()?;
    let s = desk.current();
    let hint = s.account().and_then(|a| a.username);
    let pending = s.begin_sign_in(hint.as_deref()).await?;
    let url = pending.url.to_string();
    let _ = app.emit("sign-in-url", &url);
    if let Err(e) = SystemBrowser.open(&url) {
        // The UI still shows the link to copy.
        tracing::warn!("{}", e.user_message());
    }
    let (tx, rx) = oneshot::channel();
    *state.cancel.lock().unwrap_or_else(|e| e.into_inner()) = Some(tx);
    let result = s
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

/// With no usable keychain: continue with tokens kept in memory for this run only.
#[tauri::command]
pub async fn use_session_only(state: State<'_, AppState>) -> IpcResult<AppView> {
    view(&*state.use_session_only()?).await
}

/// The link an administrator opens to grant the current profile's app its permissions.
#[tauri::command]
pub fn admin_consent_url(state: State<'_, AppState>) -> IpcResult<String> {
    Ok(state
        .desk()?
        .current()
        .profile()
        .admin_consent_url()?
        .to_string())
}

#[tauri::command]
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

#[tauri::command]
pub async fn sign_out(state: State<'_, AppState>) -> IpcResult<AppView> {
    let desk = state.desk()?;
    desk.current().sign_out().await?;
    view(&desk).await
}

/// The incidents as cached: instant, and available offline.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IncidentsView {
    incidents: Vec<Incident>,
    synced_at: Option<String>,
}

#[tauri::command]
pub async fn cached_incidents(state: State<'_, AppState>) -> IpcResult<IncidentsView> {
    let snap = sync::cached(&state.desk()?.cache()).await?;
    Ok(IncidentsView {
        incidents: snap.incidents,
        synced_at: snap.synced_at,
    })
}

/// Brings the cache up to date with the API; emits `sync-progress` with the running count.
#[tauri::command]
pub async fn sync_incidents(
    app: tauri::AppHandle,
    state: State<'_, AppState>,
) -> IpcResult<IncidentsView> {
    let desk = state.desk()?;
    let s = desk.current();
    if s.account().is_none() {
        return Err(Error::NotSignedIn.into());
    }
    let api = desk.api();
    let progress = move |n: usize| {
        let _ = app.emit("sync-progress", n);
    };
    let (incidents, report) = sync::sync(&api, &s, &desk.cache(), &progress).await?;
    Ok(IncidentsView {
        incidents,
        synced_at: Some(report.synced_at),
    })
}

#[tauri::command]
pub async fn get_incident(state: State<'_, AppState>, id: String) -> IpcResult<IncidentDetail> {
    let desk = state.desk()?;
    Ok(desk.api().get(&desk.current(), &id).await?)
}

/// A triage change. `seen_last_update` is the incident's lastUpdate as the analyst saw it: if it
/// changed since, nothing is written and the error is `conflict`.
#[tauri::command]
pub async fn update_incident(
    state: State<'_, AppState>,
    id: String,
    update: Update,
    seen_last_update: Option<String>,
) -> IpcResult<Incident> {
    let desk = state.desk()?;
    let updated = desk
        .api()
        .update(&desk.current(), &id, &update, seen_last_update.as_deref())
        .await?;
    sync::remember(&desk.cache(), updated.clone()).await?;
    Ok(updated)
}

/// What the current access token grants (audience, tenant, scopes or roles, expiry), never the
/// token itself.
#[tauri::command]
pub async fn token_info(state: State<'_, AppState>) -> IpcResult<TokenInfo> {
    let s = state.desk()?.current();
    let token = s.access_token().await?;
    Ok(claims::inspect(&token, s.profile()))
}

#[derive(Clone, Copy, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    Json,
    Csv,
}

/// Exports the given incidents (the current view, in its order) through a save dialog. Returns
/// where the file went, or nothing when the user cancelled.
#[tauri::command]
pub async fn export_incidents(
    app: tauri::AppHandle,
    state: State<'_, AppState>,
    format: ExportFormat,
    ids: Vec<String>,
) -> IpcResult<Option<String>> {
    let snap = sync::cached(&state.desk()?.cache()).await?;
    let by_id: std::collections::HashMap<&str, &Incident> =
        snap.incidents.iter().map(|i| (i.id.as_str(), i)).collect();
    let chosen: Vec<Incident> = ids
        .iter()
        .filter_map(|id| by_id.get(id.as_str()).map(|i| (*i).clone()))
        .collect();
    let (text, name, ext) = match format {
        ExportFormat::Json => (export::json(&chosen)?, "incidents.json", "json"),
        ExportFormat::Csv => (export::csv(&chosen), "incidents.csv", "csv"),
    };
    let (tx, rx) = oneshot::channel();
    app.dialog()
        .file()
        .set_file_name(name)
        .add_filter(ext.to_uppercase(), &[ext])
        .save_file(move |path| {
            let _ = tx.send(path);
        });
    let Some(path) = rx.await.ok().flatten() else {
        return Ok(None);
    };
    let path = path
        .into_path()
        .map_err(|e| Error::Config(format!("cannot save there: {e}")))?;
    let shown = path.display().to_string();
    tokio::task::spawn_blocking(move || std::fs::write(&path, text))
        .await
        .map_err(|e| Error::Config(format!("export task failed: {e}")))?
        .map_err(|e| Error::Io(shown.clone(), e))?;
    Ok(Some(shown))
}

/// Opens an incident's page in the Defender portal, in the system browser. Only portal addresses
/// are opened: the URL came from the API, and incident data is attacker-influenced.
#[tauri::command]
pub fn open_portal(url: String) -> IpcResult<()> {
    let parsed = url::Url::parse(&url).map_err(|_| Error::Config("not a portal link".into()))?;
    let portal_hosts = [
        "security.microsoft.com",
        "security.microsoft.us",
        "security.apps.mil",
    ];
    if parsed.scheme() != "https" || !parsed.host_str().is_some_and(|h| portal_hosts.contains(&h)) {
        return Err(Error::Config(format!("{url} is not a Defender portal link")).into());
    }
    SystemBrowser.open(parsed.as_str())?;
    Ok(())
}

/// A new profile from the first-run setup: a delegated (interactive) profile. Application profiles
/// are added with `idesk profile add --client-secret-stdin`, so that a secret never crosses IPC.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewProfile {
    name: String,
    tenant: String,
    client_id: String,
    cloud: idesk_core::config::Cloud,
    api: Backend,
    authority: Option<url::Url>,
    api_base: Option<url::Url>,
    read_only: bool,
}

impl From<NewProfile> for Profile {
    fn from(p: NewProfile) -> Self {
        Profile {
            name: p.name.trim().to_owned(),
            tenant: p.tenant.trim().to_owned(),
            client_id: p.client_id.trim().to_owned(),
            cloud: p.cloud,
            api: p.api,
            authority: p.authority,
            api_base: p.api_base,
            sandbox: false,
            kind: Kind::Delegated,
            read_only: p.read_only,
        }
    }
}

/// "Test connection": the profile is valid and its tenant's sign-in endpoint answers. Returns the
/// issuer it found.
#[tauri::command]
pub async fn test_connection(profile: NewProfile) -> IpcResult<String> {
    let profile = Profile::from(profile);
    profile.validate()?;
    let meta =
        idesk_core::oidc::discover(&idesk_core::oidc::http_client(), &profile.authority()?).await?;
    Ok(meta.issuer)
}

/// Saves a new profile, makes it current, and opens it.
#[tauri::command]
pub async fn add_profile(state: State<'_, AppState>, profile: NewProfile) -> IpcResult<AppView> {
    let dirs = idesk_core::config::Dirs::from_env()?;
    let profile = Profile::from(profile);
    let name = profile.name.clone();
    tokio::task::spawn_blocking(move || idesk_core::config::Config::add(&dirs, profile))
        .await
        .map_err(|e| Error::Config(format!("config task failed: {e}")))??;
    let desk = state.reload()?;
    desk.switch(&name)?;
    view(&desk).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_view_sent_over_ipc_has_no_place_for_a_token() {
        let view = AppView {
            profile: ProfileView {
                name: "Sandbox".into(),
                tenant: "t".into(),
                sandbox: true,
                api: Backend::Graph,
                read_only: false,
                application: false,
                retires: None,
            },
            account: Some(Account {
                name: Some("Alice".into()),
                username: Some("alice@contoso.test".into()),
                tenant_id: Some("t".into()),
                object_id: Some("o".into()),
            }),
            profiles: vec![],
            session_only: false,
        };
        let json = serde_json::to_value(&view).unwrap();
        let keys =
            |v: &serde_json::Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        assert_eq!(
            keys(&json),
            ["account", "profile", "profiles", "sessionOnly"],
            "the pinned IPC shape"
        );
        assert_eq!(
            keys(&json["account"]),
            ["name", "objectId", "tenantId", "username"]
        );
        assert_eq!(
            keys(&json["profile"]),
            [
                "api",
                "application",
                "name",
                "readOnly",
                "retires",
                "sandbox",
                "tenant"
            ]
        );
    }
}
