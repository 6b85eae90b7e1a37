//! The IPC contract: every command and event the UI may use, from which the TypeScript in
//! `ui/src/lib/ipc/bindings.ts` is generated (`make bindings`). A test fails when the committed
//! file is stale, so the UI can never call a command with arguments the Rust side drops.

use tauri_specta::{collect_commands, collect_events, Builder, ErrorHandlingMode};

use crate::commands;
use crate::events::{
    BackgroundOffline, BackgroundSynced, BackgroundWaiting, BulkProgress, OpenIncident, SignInUrl,
    SyncProgress,
};

#[cfg(test)]
pub const BINDINGS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/ui/src/lib/ipc/bindings.ts");

pub fn builder() -> Builder<tauri::Wry> {
    Builder::<tauri::Wry>::new()
        .commands(collect_commands![
            commands::get_state,
            commands::connect,
            commands::switch_profile,
            commands::sign_in,
            commands::cancel_sign_in,
            commands::use_session_only,
            commands::admin_consent_url,
            commands::sign_out,
            commands::remove_profile,
            commands::queue_status,
            commands::query_queue,
            commands::queue_overview,
            commands::changes,
            commands::mark_changes_seen,
            commands::incident_link,
            commands::update_incidents,
            commands::cancel_update_incidents,
            commands::query_ids,
            commands::sync_incidents,
            commands::get_incident,
            commands::update_incident,
            commands::token_info,
            commands::export_incidents,
            commands::incident_report,
            commands::apply_macro,
            commands::triage_suggestions,
            commands::save_report,
            commands::open_portal,
            commands::test_connection,
            commands::add_profile,
            commands::update_profile,
            commands::get_settings,
            commands::save_settings,
            commands::set_default_profile,
            commands::choose_certificate,
            commands::about,
            commands::diagnostics,
        ])
        .events(collect_events![
            SignInUrl,
            SyncProgress,
            BackgroundSynced,
            BackgroundOffline,
            OpenIncident,
            BulkProgress,
            BackgroundWaiting
        ])
        // Errors reject the promise with `{ code, message }`; ui/src/lib/ipc turns that into an
        // `IpcError` the components switch on.
        .error_handling(ErrorHandlingMode::Throw)
}

/// The TypeScript of the contract.
#[cfg(test)]
pub fn export(path: &std::path::Path) -> Result<(), String> {
    builder()
        .export(
            specta_typescript::Typescript::default()
                .header("// Generated from the Rust commands and events by `make bindings`.\n"),
            path,
        )
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    /// `UPDATE_BINDINGS=1` rewrites the committed file; otherwise a difference fails.
    #[test]
    fn bindings_are_current() {
        let committed = std::path::Path::new(super::BINDINGS);
        if std::env::var_os("UPDATE_BINDINGS").is_some() {
            super::export(committed).expect("bindings export");
            return;
        }
        let fresh = std::env::temp_dir().join(format!("idesk-bindings-{}.ts", std::process::id()));
        super::export(&fresh).expect("bindings export");
        let want = std::fs::read_to_string(&fresh).expect("fresh bindings");
        let _ = std::fs::remove_file(&fresh);
        let have = std::fs::read_to_string(committed).unwrap_or_default();
        assert!(
            have == want,
            "ui/src/lib/ipc/bindings.ts is stale: run `make bindings` and commit the result"
        );
    }
}
