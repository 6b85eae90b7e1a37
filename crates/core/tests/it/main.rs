#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns
//! Integration tests of the core, one binary: the loopback listener over real sockets, the token
//! store in the real OS keychain, sign-in against a real OpenID provider, and the incident clients,
//! cache and flows against the sandbox tenant.

mod application;
mod desk;
mod hardening;
mod incident_api;
mod incident_data;
mod keychain;
mod loopback;
mod sign_in;
mod support;
