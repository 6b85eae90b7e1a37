//! Sign-in: profiles' identities, the interactive sign-in on a loopback listener, the ID token, the
//! keychain, and a session per profile that keeps access tokens in memory and refreshes them early.
//! Knows nothing of incidents.

pub mod browser;
pub mod certificate;
pub mod challenge;
pub mod claims;
pub mod entra;
pub mod loopback;
pub mod oidc;
pub mod secret;
pub mod session;
pub mod token_store;
