//! Proof Key for Code Exchange (RFC 7636) and the random `state` / `nonce` values.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::auth::secret::Secret;

/// 32 random octets, base64url: 43 characters of the unreserved set (RFC 7636 §4.1).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

pub struct Pkce {
    pub verifier: Secret,
    pub challenge: String,
}

impl Pkce {
    /// `code_challenge = BASE64URL(SHA256(ASCII(code_verifier)))`, method S256 (RFC 7636 §4.2).
    pub fn new() -> Self {
        let verifier = random_token();
        let challenge = challenge_of(&verifier);
        Self {
            verifier: Secret::new(verifier),
            challenge,
        }
    }
}

fn challenge_of(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

impl Default for Pkce {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_matches_rfc7636_appendix_b() {
        // RFC 7636 Appendix B test vector.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert_eq!(
            challenge_of(verifier),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn verifier_has_the_required_length_and_alphabet() {
        let p = Pkce::new();
        let v = p.verifier.expose();
        assert_eq!(v.len(), 43);
        assert!(v
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c)));
        assert_ne!(
            Pkce::new().verifier.expose(),
            v,
            "each sign-in must use a fresh verifier"
        );
    }
}
