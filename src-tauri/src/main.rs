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
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("IDESK_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .init();
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
