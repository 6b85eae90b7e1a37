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

/// A background sync of one profile finished: the queue asks the store again when it is the
/// open profile.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
#[serde(rename_all = "camelCase")]
pub struct BackgroundSynced {
    pub profile: String,
    /// The profile open in the window.
    pub current: bool,
    pub total: u32,
    pub synced_at: String,
    /// Changes this sync recorded in the feed.
    pub changes: u32,
}

/// The background sync could not reach a tenant: the window says "offline" quietly.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
#[serde(rename_all = "camelCase")]
pub struct BackgroundOffline {
    pub profile: String,
    pub message: String,
}

/// Open an incident (a notification was clicked, or an `incidentdesk://` link arrived).
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
#[serde(rename_all = "camelCase")]
pub struct OpenIncident {
    pub profile: String,
    /// `None`: open the change feed (a summary notification).
    pub incident_id: Option<String>,
}

/// A change to several incidents is under way: how many are done.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct BulkProgress {
    pub done: u32,
    pub total: u32,
}

/// The background sync waits for the API's quota (its half of it, or a 429's wait).
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct BackgroundWaiting {
    /// About how long, in seconds.
    pub seconds: u32,
}
