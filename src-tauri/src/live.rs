//! The live desk in the shell: the background sync and its events, desktop notifications, the
//! tray, and `incidentdesk://` links. What to sync when, what changed and what to say about it
//! are decided in idesk-core (`background`, `incidents::changes`, `notify`, `links`).

use std::sync::Arc;
use std::time::Duration;

use idesk_core::background::{self, Outcome};
use idesk_core::config::Dirs;
use idesk_core::notify::{self, Notice};
use idesk_core::settings::Settings;
use idesk_core::ErrorCode;
use tauri::menu::{Menu, MenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager};
use tauri_specta::Event;
use time::OffsetDateTime;

use crate::events::{BackgroundOffline, BackgroundSynced, BackgroundWaiting, OpenIncident};
use crate::state::AppState;

fn settings() -> Settings {
    Dirs::from_env()
        .map(|d| Settings::load_or_default(&d).0)
        .unwrap_or_default()
}

/// Starts the background sync for the life of the app.
pub fn start(app: &AppHandle) {
    let wake = Arc::clone(&app.state::<AppState>().wake);
    let app = app.clone();
    tauri::async_runtime::spawn(background::run(
        || {
            settings()
                .sync_every_secs
                .map(|s| Duration::from_secs(u64::from(s)))
        },
        wake,
        move || sync_once(app.clone()),
    ));
}

/// One background sync of every signed-in profile: events for the window, notifications by the
/// rules, the tray's count.
async fn sync_once(app: AppHandle) -> Outcome {
    let state = app.state::<AppState>();
    let Ok(desk) = state.desk() else {
        return Outcome::Skipped;
    };
    let settings = settings();
    let now = OffsetDateTime::now_utc();
    let mut outcome = Outcome::Skipped;
    // While it runs, say when it waits for the API's quota.
    let watcher = {
        let app = app.clone();
        tauri::async_runtime::spawn(async move {
            let mut said = false;
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                match idesk_core::incidents::api::background_waiting() {
                    Some(wait) if !said => {
                        said = true;
                        let _ = BackgroundWaiting {
                            seconds: u32::try_from(wait.as_secs().max(1)).unwrap_or(u32::MAX),
                        }
                        .emit(&app);
                    }
                    None => said = false,
                    Some(_) => {}
                }
            }
        })
    };
    let results = desk.background_sync().await;
    watcher.abort();
    for synced in results {
        let name = synced.profile.clone();
        match &synced.result {
            Ok(report) => {
                outcome = Outcome::Synced;
                state.syncs.push(&format!(
                    "{name}: background, {} incidents, {} changed, {} new in the feed",
                    report.total,
                    report.changed,
                    synced.changes.len()
                ));
                let _ = BackgroundSynced {
                    profile: name.clone(),
                    current: synced.current,
                    total: u32::try_from(report.total).unwrap_or(u32::MAX),
                    synced_at: idesk_core::incidents::model::rfc3339(report.synced_at),
                    changes: u32::try_from(synced.changes.len()).unwrap_or(u32::MAX),
                }
                .emit(&app);
                if settings.notifications.held(now) {
                    continue;
                }
                let rules = settings.notifications.rules_for(&name);
                for notice in notify::notices(&name, &synced.changes, &rules) {
                    show(&app, notice);
                }
            }
            Err(e) if e.code() == ErrorCode::Offline => {
                if outcome == Outcome::Skipped {
                    outcome = Outcome::Offline;
                }
                let _ = BackgroundOffline {
                    profile: name.clone(),
                    message: e.user_message(),
                }
                .emit(&app);
            }
            Err(e) => {
                tracing::warn!(profile = name, "background sync failed: {e}");
                state
                    .syncs
                    .push(&format!("{name}: background, failed ({:?}): {e}", e.code()));
            }
        }
    }
    refresh_tray(&app).await;
    outcome
}

/// Notification servers may read the body as markup: incident text is attacker-influenced, so
/// it is escaped to stay text.
fn escaped(s: &str) -> String {
    if cfg!(all(unix, not(target_os = "macos"))) {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    } else {
        s.to_owned()
    }
}

/// Shows a notification; a click on it opens its incident (or the change feed).
fn show(app: &AppHandle, notice: Notice) {
    let app = app.clone();
    // Showing blocks on the desktop's notification service, and waiting for the click blocks
    // until the notification goes: a thread of its own.
    std::thread::spawn(move || {
        let shown = notify_rust::Notification::new()
            .appname("Incident Desk")
            .summary(&notice.title)
            .body(&escaped(&notice.body))
            .action("default", "Open")
            .show();
        match shown {
            Ok(handle) => handle.wait_for_action(|action| {
                if action == "default" {
                    open(&app, notice.profile.clone(), notice.incident_id.clone());
                }
            }),
            Err(e) => tracing::warn!("could not show a notification: {e}"),
        }
    });
}

/// Brings the window forward and asks it to open an incident (or the feed) of a profile.
pub fn open(app: &AppHandle, profile: String, incident_id: Option<String>) {
    focus(app);
    let _ = OpenIncident {
        profile,
        incident_id,
    }
    .emit(app);
}

/// Shows, unminimizes and focuses the main window.
pub fn focus(app: &AppHandle) {
    if let Some(w) = app.get_webview_window("main") {
        let _ = w.show();
        let _ = w.unminimize();
        let _ = w.set_focus();
    }
}

/// An `incidentdesk://` link: the incident, in the profile of the link's tenant.
pub fn open_link(app: &AppHandle, link: &str) {
    let Some(wanted) = idesk_core::links::parse(link) else {
        tracing::warn!("ignored a link that is not an incident link");
        return;
    };
    let profile = app.state::<AppState>().desk().ok().and_then(|desk| {
        desk.profiles()
            .find(|p| p.tenant.eq_ignore_ascii_case(&wanted.tenant))
            .map(|p| p.name.clone())
    });
    match profile {
        Some(profile) => open(app, profile, Some(wanted.id)),
        None => {
            focus(app);
            tracing::warn!("no profile for the tenant of a link: {}", wanted.tenant);
        }
    }
}

/// The tray: the unseen count, and open, sync now, pause notifications, quit. Where the desktop
/// has no tray the icon is simply not shown.
pub fn tray(app: &AppHandle) -> tauri::Result<()> {
    let open = MenuItem::with_id(app, "open", "Open Incident Desk", true, None::<&str>)?;
    let sync = MenuItem::with_id(app, "sync", "Sync now", true, None::<&str>)?;
    let pause = MenuItem::with_id(
        app,
        "pause",
        "Pause notifications for an hour",
        true,
        None::<&str>,
    )?;
    let quit = MenuItem::with_id(app, "quit", "Quit", true, None::<&str>)?;
    let menu = Menu::with_items(app, &[&open, &sync, &pause, &quit])?;
    let mut builder = TrayIconBuilder::with_id("main")
        .menu(&menu)
        .tooltip("Incident Desk")
        .on_menu_event(|app, event| match event.id().as_ref() {
            "open" => focus(app),
            "sync" => app.state::<AppState>().wake.notify_one(),
            "pause" => pause_notifications(Duration::from_secs(3600)),
            "quit" => app.exit(0),
            _ => {}
        });
    if let Some(icon) = app.default_window_icon() {
        builder = builder.icon(icon.clone());
    }
    let tray = builder.build(app)?;
    *app.state::<AppState>()
        .tray
        .lock()
        .unwrap_or_else(|e| e.into_inner()) = Some(tray);
    Ok(())
}

fn pause_notifications(for_: Duration) {
    let Ok(dirs) = Dirs::from_env() else { return };
    let (mut s, problem) = Settings::load_or_default(&dirs);
    if problem.is_some() {
        // An unreadable settings file is left for the analyst to see in Settings.
        return;
    }
    s.notifications.paused_until = Some(OffsetDateTime::now_utc() + for_);
    if let Err(e) = s.save(&dirs) {
        tracing::warn!("could not pause notifications: {}", e.user_message());
    }
}

/// The tray shows the open profile's unseen changes.
pub async fn refresh_tray(app: &AppHandle) {
    let Ok(desk) = app.state::<AppState>().desk() else {
        return;
    };
    let unseen = desk.changes(None, 1).await.map(|(_, n)| n).unwrap_or(0);
    let tray = app
        .state::<AppState>()
        .tray
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    if let Some(tray) = tray {
        let label = (unseen > 0).then(|| unseen.to_string());
        let _ = tray.set_title(label.as_deref());
        let _ = tray.set_tooltip(Some(&match unseen {
            0 => "Incident Desk".to_owned(),
            n => format!("Incident Desk: {n} unseen changes"),
        }));
    }
}
