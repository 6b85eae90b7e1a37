//! Incident Desk's desktop shell: builds the window, holds the app state, and exposes a few thin
//! commands over `idesk-core`. Logic that can break belongs in the core, not here.

// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use tauri::Manager;

mod commands;
mod contract;
mod events;
mod ipc_error;
mod live;
mod state;

/// Linux: the window draws without GPU compositing unless `IDESK_GPU_COMPOSITING=1` (and WebKit's
/// own variable is not set). A grid of text gains nothing from it; it costs the WebKit processes
/// about 100 MiB (they load the GL driver), and it is the usual cause of a blank window on some
/// GPU drivers. WebKit reads its variable whatever the value, so it is set only when wanted.
///
/// Without compositing the app's own process needs no GL either, yet GTK opens GLX when it opens
/// the display, and WebKit asks EGL which render node to hand the web process; each loads the GL
/// driver, and Mesa's links LLVM: 22–30 MiB of the app's memory, for nothing. So GTK's GL is off,
/// WebKit's DMA-BUF renderer (a compositing path) is off, and WebKit is told a render node instead
/// of asking EGL. Any node will do: the web process opens it only for DMA-BUF, WebGL and video
/// buffers, none of which this window uses without compositing. It is the first by name, else the
/// usual first name on a machine without one. A variable the user has set is kept. The web
/// process still loads the driver: it needs an EGL display.
#[cfg(target_os = "linux")]
fn draw_without_gpu() {
    fn set_default(name: &str, value: impl AsRef<std::ffi::OsStr>) {
        if std::env::var_os(name).is_none() {
            std::env::set_var(name, value);
        }
    }
    if std::env::var_os("WEBKIT_DISABLE_COMPOSITING_MODE").is_none()
        && std::env::var_os("IDESK_GPU_COMPOSITING").is_some_and(|v| v == "1")
    {
        return;
    }
    set_default("WEBKIT_DISABLE_COMPOSITING_MODE", "1");
    set_default("GDK_GL", "disable");
    set_default("WEBKIT_DISABLE_DMABUF_RENDERER", "1");
    let first_render_node = std::fs::read_dir("/dev/dri")
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.as_encoded_bytes().starts_with(b"renderD"))
        })
        .min();
    set_default(
        "WEBKIT_WEB_RENDER_DEVICE_FILE",
        first_render_node.unwrap_or_else(|| "/dev/dri/renderD128".into()),
    );
}

fn main() {
    // Linux: the window draws without GPU compositing unless asked (before any thread starts or
    // GTK and WebKit read the environment).
    #[cfg(target_os = "linux")]
    draw_without_gpu();
    let log_file = idesk_core::logging::app_log_file().ok();
    let (settings, settings_problem) = idesk_core::config::Dirs::from_env()
        .map(|d| idesk_core::settings::Settings::load_or_default(&d))
        .unwrap_or_default();
    idesk_core::logging::init(settings.log_level.directive(), log_file.as_deref());
    if let Some(problem) = settings_problem {
        tracing::warn!("settings not used: {problem}");
    }
    tracing::info!(
        "Incident Desk {} on {} {}",
        idesk_core::build::describe(),
        std::env::consts::OS,
        std::env::consts::ARCH
    );
    let state = state::AppState::load();
    let contract = contract::builder();
    // The window's size and position, beside the settings (never outside the config dir).
    let window_state = idesk_core::config::Dirs::from_env()
        .map(|d| d.config.join("window-state.json"))
        .unwrap_or_else(|_| "window-state.json".into());
    let result = tauri::Builder::default()
        // First: a second launch hands its arguments (a link) to the running app and exits.
        .plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
            live::focus(app);
        }))
        .plugin(tauri_plugin_deep_link::init())
        .plugin(
            tauri_plugin_window_state::Builder::new()
                .with_filename(window_state.to_string_lossy())
                .build(),
        )
        .plugin(tauri_plugin_dialog::init())
        .manage(state)
        .invoke_handler(contract.invoke_handler())
        .setup(move |app| {
            contract.mount_events(app);
            let handle = app.handle().clone();
            {
                use tauri_plugin_deep_link::DeepLinkExt;
                let on_link = handle.clone();
                app.deep_link().on_open_url(move |event| {
                    for url in event.urls() {
                        live::open_link(&on_link, url.as_str());
                    }
                });
            }
            if let Err(e) = live::tray(&handle) {
                tracing::info!("no tray icon: {e}");
            }
            live::start(&handle);
            Ok(())
        })
        .on_window_event(|window, event| {
            // Closing the window can keep the app in the tray (a setting), where there is one.
            if let tauri::WindowEvent::CloseRequested { api, .. } = event {
                let app = window.app_handle();
                let in_tray = app
                    .state::<state::AppState>()
                    .tray
                    .lock()
                    .map(|t| t.is_some())
                    .unwrap_or(false);
                let keep = idesk_core::config::Dirs::from_env()
                    .map(|d| {
                        idesk_core::settings::Settings::load_or_default(&d)
                            .0
                            .close_to_tray
                    })
                    .unwrap_or(false);
                if in_tray && keep {
                    api.prevent_close();
                    let _ = window.hide();
                }
            }
        })
        .run(tauri::generate_context!());
    if let Err(e) = result {
        tracing::error!("Incident Desk could not start: {e}");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// A platform file merged over `tauri.conf.json` the way the Tauri CLI merges it (JSON merge
    /// patch, RFC 7396).
    fn merged(platform: &str) -> serde_json::Value {
        fn patch(target: &mut serde_json::Value, with: &serde_json::Value) {
            match (target, with) {
                (serde_json::Value::Object(t), serde_json::Value::Object(w)) => {
                    for (k, v) in w {
                        if v.is_null() {
                            t.remove(k);
                        } else {
                            patch(t.entry(k.clone()).or_insert(serde_json::Value::Null), v);
                        }
                    }
                }
                (t, w) => *t = w.clone(),
            }
        }
        let read = |name: &str| -> serde_json::Value {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
            serde_json::from_str(&std::fs::read_to_string(&path).expect("config file"))
                .expect("JSON")
        };
        let mut config = read("tauri.conf.json");
        patch(&mut config, &read(&format!("tauri.{platform}.conf.json")));
        config
    }

    /// The Windows and macOS configurations cannot be built here; each is at least a valid Tauri
    /// configuration once merged, and names files that exist.
    #[test]
    fn the_windows_and_macos_bundle_configurations_are_valid_and_complete() {
        for platform in ["windows", "macos"] {
            let config: tauri::Config = serde_json::from_value(merged(platform))
                .unwrap_or_else(|e| panic!("tauri.{platform}.conf.json: {e}"));
            let bundle = &config.bundle;
            assert!(
                bundle
                    .external_bin
                    .as_ref()
                    .is_some_and(|b| b.iter().any(|p| p == "binaries/idesk")),
                "{platform}: idesk ships beside the app"
            );
            if platform == "windows" {
                let hooks = bundle
                    .windows
                    .nsis
                    .as_ref()
                    .and_then(|n| n.installer_hooks.clone());
                let hooks = hooks.expect("the NSIS hooks that put idesk on the PATH");
                let text =
                    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(&hooks))
                        .expect("the hooks file exists");
                assert!(
                    text.contains("NSIS_HOOK_POSTINSTALL")
                        && text.contains("NSIS_HOOK_POSTUNINSTALL")
                );
            }
        }
    }
}
