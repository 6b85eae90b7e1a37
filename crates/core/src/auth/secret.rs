//! Secret values: refresh and access tokens, authorization codes, PKCE verifiers.
//!
//! A `Secret` redacts itself in `Debug` and has no `Serialize`, so it cannot reach a log line, a
//! file written through serde, or the IPC channel by accident. Reading it is explicit: `expose()`.

use std::fmt;

#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret text, for the one place that must send or store it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
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
}
