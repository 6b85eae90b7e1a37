//! The events the shell sends the UI. Typed like the commands: their TypeScript is generated.

use serde::{Deserialize, Serialize};

/// A sign-in started: the URL opened in the browser, for the "copy sign-in link" fallback. It
/// carries the PKCE challenge and state, never a secret.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct SignInUrl {
    pub url: String,
}

/// The running count of incidents fetched during a sync.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct SyncProgress {
    pub fetched: u32,
}
