//! An application profile's certificate credential: the private key and certificate an
//! administrator registered under "Certificates & secrets", kept in the keychain as one PEM text.
//! Each token request carries a fresh client assertion (RFC 7523) signed with the key, in the shape
//! Microsoft's identity platform documents: PS256, `x5t#S256` naming the certificate by its SHA-256
//! thumbprint, audience the token endpoint, issuer and subject the client id, a unique `jti`, ten
//! minutes of validity.

use std::io::Read;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::Serialize;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::secret::Secret;
use crate::error::{Error, Result};

/// The most a certificate file may hold: a key and a chain are a few KB.
pub const MAX_PEM_BYTES: usize = 64 * 1024;

const LIFETIME: Duration = Duration::from_secs(600);

pub struct ClientCertificate {
    key: EncodingKey,
    thumbprint: String,
}

#[derive(Serialize)]
struct AssertionClaims<'a> {
    aud: &'a str,
    iss: &'a str,
    sub: &'a str,
    jti: String,
    nbf: u64,
    iat: u64,
    exp: u64,
}

fn invalid(what: &str) -> Error {
    Error::Invalid(format!("the certificate file {what}"))
}

impl ClientCertificate {
    /// Reads a PEM text holding an unencrypted RSA private key and its certificate (the first
    /// certificate is the one registered; a chain after it is ignored). Checks that the key
    /// belongs to the certificate, so a mismatch is said here rather than as a refusal from the
    /// tenant.
    pub fn from_pem(text: &Secret) -> Result<Self> {
        if text.expose().len() > MAX_PEM_BYTES {
            return Err(invalid("is too large to be a key and its certificate"));
        }
        let blocks = pem::parse_many(text.expose().as_bytes())
            .map_err(|_| invalid("is not a PEM file (a .pfx must be converted first: openssl pkcs12 -in app.pfx -nodes -out app.pem)"))?;
        let mut key = None;
        let mut certificate = None;
        for block in blocks {
            match block.tag() {
                "PRIVATE KEY" | "RSA PRIVATE KEY" if key.is_none() => {
                    key = Some(Zeroizing::new(pem::encode(&block)));
                    // The parsed block's bytes are not zeroized by `pem`; wipe them here.
                    let mut contents = block.into_contents();
                    zeroize::Zeroize::zeroize(&mut contents);
                }
                "ENCRYPTED PRIVATE KEY" => {
                    return Err(invalid(
                        "holds a password-protected key: export it without a password (openssl pkcs8 -topk8 -nocrypt)",
                    ))
                }
                "EC PRIVATE KEY" => {
                    return Err(invalid("holds an EC key: Entra ID signs application certificates with RSA keys"))
                }
                "CERTIFICATE" if certificate.is_none() => certificate = Some(block),
                _ => {}
            }
        }
        let key = key.ok_or_else(|| invalid("has no private key (PEM \"BEGIN PRIVATE KEY\")"))?;
        let certificate =
            certificate.ok_or_else(|| invalid("has no certificate (PEM \"BEGIN CERTIFICATE\")"))?;
        let signing = EncodingKey::from_rsa_pem(key.as_bytes())
            .map_err(|_| invalid("holds a private key that is not a usable RSA key"))?;
        let public = DecodingKey::from_rsa_pem(pem::encode(&certificate).as_bytes())
            .map_err(|_| invalid("holds a certificate without an RSA public key"))?;
        let thumbprint = URL_SAFE_NO_PAD.encode(Sha256::digest(certificate.contents()));
        let me = ClientCertificate {
            key: signing,
            thumbprint,
        };
        // A probe signed with the key must verify with the certificate's public key.
        let probe = me.assertion_at("probe", "probe", SystemTime::now())?;
        let mut validation = Validation::new(Algorithm::PS256);
        validation.set_audience(&["probe"]);
        validation.set_issuer(&["probe"]);
        jsonwebtoken::decode::<serde_json::Value>(&probe, &public, &validation)
            .map_err(|_| invalid("holds a private key that does not belong to its certificate"))?;
        Ok(me)
    }

    /// The certificate's SHA-256 thumbprint, base64url: how Entra finds it on the app registration.
    pub fn thumbprint(&self) -> &str {
        &self.thumbprint
    }

    /// A client assertion for one token request to `token_endpoint`.
    pub fn assertion(&self, client_id: &str, token_endpoint: &str) -> Result<String> {
        self.assertion_at(client_id, token_endpoint, SystemTime::now())
    }

    fn assertion_at(&self, client_id: &str, audience: &str, now: SystemTime) -> Result<String> {
        let now = now
            .duration_since(UNIX_EPOCH)
            .map_err(|_| Error::Internal("the clock is before 1970".into()))?
            .as_secs();
        let mut header = Header::new(Algorithm::PS256);
        header.typ = Some("JWT".into());
        header.x5t_s256 = Some(self.thumbprint.clone());
        let claims = AssertionClaims {
            aud: audience,
            iss: client_id,
            sub: client_id,
            jti: hex(&rand::random::<[u8; 16]>()),
            nbf: now,
            iat: now,
            exp: now + LIFETIME.as_secs(),
        };
        jsonwebtoken::encode(&header, &claims, &self.key)
            .map_err(|e| Error::Internal(format!("signing the client assertion: {e}")))
    }
}

/// Reads and checks a certificate file (PEM: the private key and the certificate), reading at most
/// `MAX_PEM_BYTES`. The text moves into the returned secret without a copy left behind.
pub fn read_pem_file(path: &Path) -> Result<Secret> {
    let shown = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| Error::Io(shown.clone(), e))?;
    let mut text = Zeroizing::new(String::new());
    file.take(MAX_PEM_BYTES as u64 + 1)
        .read_to_string(&mut text)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::InvalidData => invalid("is not a PEM file (it is not text)"),
            _ => Error::Io(shown, e),
        })?;
    let pem = Secret::new(std::mem::take(&mut *text));
    ClientCertificate::from_pem(&pem)?;
    Ok(pem)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A throwaway key and self-signed certificate from openssl (the sandbox makes its own the
    /// same way).
    fn openssl_pair(dir: &std::path::Path, name: &str) -> (String, String) {
        let key = dir.join(format!("{name}.key"));
        let cert = dir.join(format!("{name}.crt"));
        let ok = std::process::Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=test", "-days", "1",
            ])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .stderr(std::process::Stdio::null())
            .status()
            .expect("openssl runs")
            .success();
        assert!(ok, "openssl made a certificate");
        (
            std::fs::read_to_string(key).expect("key"),
            std::fs::read_to_string(cert).expect("cert"),
        )
    }

    #[test]
    fn an_assertion_has_the_shape_entra_documents_and_verifies_with_the_certificate() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (key, cert) = openssl_pair(dir.path(), "a");
        // Certificate first, then the key: the order in the file does not matter.
        let c = ClientCertificate::from_pem(&Secret::new(format!("{cert}{key}"))).expect("reads");
        let der = pem::parse(cert.as_bytes()).expect("pem").into_contents();
        assert_eq!(c.thumbprint(), URL_SAFE_NO_PAD.encode(Sha256::digest(&der)));

        let jwt = c
            .assertion("client-1", "https://login.example/t/oauth2/v2.0/token")
            .expect("signs");
        let header = jsonwebtoken::decode_header(&jwt).expect("header");
        assert_eq!(header.alg, Algorithm::PS256);
        assert_eq!(header.typ.as_deref(), Some("JWT"));
        assert_eq!(header.x5t_s256.as_deref(), Some(c.thumbprint()));
        let mut v = Validation::new(Algorithm::PS256);
        v.set_audience(&["https://login.example/t/oauth2/v2.0/token"]);
        v.set_issuer(&["client-1"]);
        v.set_required_spec_claims(&["exp", "nbf", "aud", "iss", "sub"]);
        let public = DecodingKey::from_rsa_pem(cert.as_bytes()).expect("public key");
        let claims = jsonwebtoken::decode::<serde_json::Value>(&jwt, &public, &v)
            .expect("verifies")
            .claims;
        assert_eq!(claims["sub"], "client-1");
        assert_eq!(
            claims["exp"]
                .as_u64()
                .map(|e| e - claims["iat"].as_u64().unwrap_or(0)),
            Some(600)
        );
        let again = c.assertion("client-1", "aud").expect("signs");
        let again = jsonwebtoken::dangerous::insecure_decode::<serde_json::Value>(&again)
            .expect("decodes")
            .claims;
        assert_ne!(
            claims["jti"], again["jti"],
            "every assertion has its own jti"
        );
    }

    #[test]
    fn a_key_that_is_not_the_certificates_is_refused_before_anything_is_sent() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (_, cert) = openssl_pair(dir.path(), "a");
        let (other_key, _) = openssl_pair(dir.path(), "b");
        let e = ClientCertificate::from_pem(&Secret::new(format!("{other_key}{cert}")))
            .err()
            .expect("refused");
        assert!(
            e.to_string().contains("does not belong to its certificate"),
            "{e}"
        );
    }

    #[test]
    fn incomplete_or_protected_files_say_what_is_missing() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (key, cert) = openssl_pair(dir.path(), "a");
        let cases = [
            (cert.clone(), "has no private key"),
            (key.clone(), "has no certificate"),
            ("not a pem at all".to_owned(), "has no private key"),
            (
                format!("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n{cert}"),
                "password-protected",
            ),
            ("x".repeat(MAX_PEM_BYTES + 1), "too large"),
        ];
        for (text, says) in cases {
            let e = ClientCertificate::from_pem(&Secret::new(text))
                .err()
                .expect("refused");
            assert!(e.to_string().contains(says), "{e} should say {says}");
        }
    }
}
