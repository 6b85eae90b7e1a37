//! Incident Desk's desktop shell: builds the window, holds the app state, and exposes a few thin
//! commands over `idesk-core`. Logic that can break belongs in the core, not here.

// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod commands;
mod contract;
mod events;
mod ipc_error;
mod state;

fn main() {
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
    let result = tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .manage(state)
        .invoke_handler(contract.invoke_handler())
        .setup(move |app| {
            contract.mount_events(app);
            Ok(())
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
