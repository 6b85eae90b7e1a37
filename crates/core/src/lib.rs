//! Incident Desk core: everything that can break, with no desktop around it.
//!
//! Owns sign-in (authorization code + PKCE on a loopback listener), the token store in the OS
//! keychain, the incident API client and the domain model. Deliberately does not know about Tauri,
//! windows or IPC: the desktop shell and the `idesk` CLI are thin adapters over this crate.

pub mod auth;
pub mod background;
pub mod config;
pub mod desk;
pub mod diagnostics;
pub mod error;
pub mod files;
pub mod incidents;
pub mod links;
pub mod logging;
pub mod macros;
pub mod net;
pub mod notify;
pub mod sandbox;
pub mod settings;

pub use error::{Error, ErrorCode};

/// The user agent sent on every request, so a tenant's sign-in logs name the tool.
pub const USER_AGENT: &str = concat!("IncidentDesk/", env!("CARGO_PKG_VERSION"));

/// What this build is: shown by About, `idesk --version` and the diagnostics.
pub mod build {
    pub const VERSION: &str = env!("CARGO_PKG_VERSION");
    /// The commit it was built from (`unknown` outside a git checkout).
    pub const COMMIT: &str = env!("IDESK_COMMIT");
    /// The commit's date, so two builds of one commit say the same (`SOURCE_DATE_EPOCH` wins).
    pub const DATE: &str = env!("IDESK_BUILD_DATE");

    /// `0.1.0 (abc123def456, 2026-11-21)`.
    pub fn describe() -> String {
        format!("{VERSION} ({COMMIT}, {DATE})")
    }
}
