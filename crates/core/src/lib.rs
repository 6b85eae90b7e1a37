//! Incident Desk core: everything that can break, with no desktop around it.
//!
//! Owns sign-in (authorization code + PKCE on a loopback listener), the token store in the OS
//! keychain, the incident API client and the domain model. Deliberately does not know about Tauri,
//! windows or IPC: the desktop shell and the `idesk` CLI are thin adapters over this crate.

pub mod auth;
pub mod config;
pub mod desk;
pub mod error;
pub mod files;
pub mod incidents;
pub mod net;
pub mod sandbox;

pub use error::{Error, ErrorCode};

/// The user agent sent on every request, so a tenant's sign-in logs name the tool.
pub const USER_AGENT: &str = concat!("IncidentDesk/", env!("CARGO_PKG_VERSION"));
