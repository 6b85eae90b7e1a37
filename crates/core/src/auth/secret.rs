//! Secret values Incident Desk keeps: refresh and access tokens, client secrets, private keys.
//!
//! A `Secret` is a `secrecy::SecretString`: zeroized when dropped, redacted in `Debug`, and without
//! `Serialize`, so it cannot reach a log line, a file written through serde, or the IPC channel by
//! accident. Reading it is explicit: `expose()`. Values that only cross the OAuth protocol use
//! oauth2's own types (`RefreshToken`, `ClientSecret`, `PkceCodeVerifier`, ...); they are converted
//! at that boundary by moving the string, never by copying it.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

#[derive(Clone)]
pub struct Secret(SecretString);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(SecretString::from(value.into()))
    }

    /// The secret text, for the one place that must send or store it.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

/// Compared through their digests, so the time taken does not tell how much of a guess matched.
impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        Sha256::digest(self.expose()) == Sha256::digest(other.expose())
    }
}

impl Eq for Secret {}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret::new)
    }
}

impl From<oauth2::RefreshToken> for Secret {
    fn from(t: oauth2::RefreshToken) -> Self {
        Secret::new(t.into_secret())
    }
}

impl From<oauth2::AccessToken> for Secret {
    fn from(t: oauth2::AccessToken) -> Self {
        Secret::new(t.into_secret())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let s = Secret::new("0.AAAA-refresh-token-value");
        let shown = format!("{s:?} {:?}", Some(&s));
        assert!(
            !shown.contains("refresh-token-value"),
            "Debug leaked the secret: {shown}"
        );
    }

    #[test]
    fn equal_values_compare_equal() {
        assert_eq!(Secret::new("a"), Secret::new("a"));
        assert_ne!(Secret::new("a"), Secret::new("b"));
    }
}
