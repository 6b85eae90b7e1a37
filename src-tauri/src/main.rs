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
    idesk_core::logging::init("info", log_file.as_deref());
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
