//! Incident Desk core: everything that can break, with no desktop around it.
//!
//! Owns sign-in (authorization code + PKCE on a loopback listener), the token store in the OS
//! keychain, the incident API client and the domain model. Deliberately does not know about Tauri,
//! windows or IPC: the desktop shell and the `idesk` CLI are thin adapters over this crate.

pub mod api;
pub mod browser;
pub mod cache;
pub mod claims;
pub mod config;
pub mod desk;
pub mod entra;
pub mod error;
pub mod export;
pub mod incident;
pub mod loopback;
pub mod oidc;
pub mod pkce;
pub mod sandbox;
pub mod secret;
pub mod session;
pub mod sync;
pub mod token_store;

pub use error::{Error, ErrorCode};

/// The user agent sent on every request, so a tenant's sign-in logs name the tool.
pub const USER_AGENT: &str = concat!("IncidentDesk/", env!("CARGO_PKG_VERSION"));
