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
