//! Where refresh tokens are kept: the OS keychain, and nowhere else.
//!
//! Entries live under one service name (`IDESK_KEYCHAIN_SERVICE` overrides it, so tests never touch
//! a user's real entries), keyed by profile. A value is split into chunks that fit Windows'
//! 2560-byte credential limit; a head entry records the chunk count and a SHA-256 of the whole, and
//! a read that does not reassemble to that digest reads as "signed out", never as garbage.
//!
//! Keychain calls block (D-Bus, Keychain Services, Credential Manager), so they run on tokio's
//! blocking pool, never on an async worker thread.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

use crate::auth::secret::Secret;
use crate::error::{Error, Result};

pub const DEFAULT_SERVICE: &str = "incident-desk";
/// Bytes per chunk: below Windows' 2560-byte limit with room for the store's own encoding.
const CHUNK: usize = 1200;
const MAX_CHUNKS: usize = 64;

/// A place for refresh tokens. The keychain in the app; memory for session-only mode.
pub trait TokenStore: Send + Sync {
    fn load(&self, key: &str) -> Result<Option<Secret>>;
    fn save(&self, key: &str, value: &Secret) -> Result<()>;
    fn delete(&self, key: &str) -> Result<()>;
}

/// The keychain entry name of a profile's refresh token.
pub fn refresh_token_key(profile: &str) -> String {
    format!("refresh-token:{profile}")
}

/// The keychain entry name of an application profile's client secret.
pub fn client_secret_key(profile: &str) -> String {
    format!("client-secret:{profile}")
}

pub struct KeychainStore {
    service: String,
    store: Arc<keyring_core::CredentialStore>,
}

impl KeychainStore {
    /// Opens the platform's keychain. Fails with a clear error when there is none usable (e.g. Linux
    /// without a Secret Service): there is no plaintext fallback.
    pub fn open() -> Result<Self> {
        let service = std::env::var("IDESK_KEYCHAIN_SERVICE")
            .ok()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| DEFAULT_SERVICE.to_owned());
        Ok(Self {
            service,
            store: platform_store()?,
        })
    }

    fn entry(&self, user: &str) -> Result<keyring_core::Entry> {
        self.store
            .build(&self.service, user, None)
            .map_err(Error::Keychain)
    }

    fn get(&self, user: &str) -> Result<Option<Vec<u8>>> {
        match self.entry(user)?.get_secret() {
            Ok(v) => Ok(Some(v)),
            Err(keyring_core::Error::NoEntry) => Ok(None),
            Err(e) => Err(Error::Keychain(e)),
        }
    }

    /// The head of a stored value; `None` when there is none or it is not one of ours.
    fn head(&self, key: &str) -> Result<Option<Head>> {
        let head = self.get(key)?.map(|b| Head::parse(&b));
        if let Some(None) = head {
            tracing::warn!(
                key,
                "keychain entry has an unknown layout; treating as signed out"
            );
        }
        Ok(head.flatten())
    }

    fn remove(&self, user: &str) -> Result<()> {
        match self.entry(user)?.delete_credential() {
            Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(()),
            Err(e) => Err(Error::Keychain(e)),
        }
    }
}

#[cfg(target_os = "linux")]
fn platform_store() -> Result<Arc<keyring_core::CredentialStore>> {
    Ok(zbus_secret_service_keyring_store::Store::new().map_err(Error::Keychain)?)
}

#[cfg(target_os = "macos")]
fn platform_store() -> Result<Arc<keyring_core::CredentialStore>> {
    Ok(apple_native_keyring_store::keychain::Store::new().map_err(Error::Keychain)?)
}

#[cfg(target_os = "windows")]
fn platform_store() -> Result<Arc<keyring_core::CredentialStore>> {
    Ok(windows_native_keyring_store::Store::new().map_err(Error::Keychain)?)
}

/// The head entry of a value: `v1 <chunks> <sha256 hex of the whole>`.
struct Head {
    chunks: usize,
    digest: String,
}

impl Head {
    fn parse(bytes: &[u8]) -> Option<Self> {
        let text = std::str::from_utf8(bytes).ok()?;
        let mut parts = text.split(' ');
        let (Some("v1"), Some(n), Some(digest), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        let chunks = n.parse().ok().filter(|n| (1..=MAX_CHUNKS).contains(n))?;
        Some(Self {
            chunks,
            digest: digest.to_owned(),
        })
    }

    fn encode(&self) -> String {
        format!("v1 {} {}", self.chunks, self.digest)
    }
}

fn digest(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl TokenStore for KeychainStore {
    fn load(&self, key: &str) -> Result<Option<Secret>> {
        let Some(head) = self.head(key)? else {
            return Ok(None);
        };
        let mut whole = Vec::new();
        for i in 0..head.chunks {
            match self.get(&format!("{key}#{i}"))? {
                Some(chunk) => whole.extend_from_slice(&chunk),
                None => {
                    tracing::warn!(
                        key,
                        "keychain entry is missing a part; treating as signed out"
                    );
                    return Ok(None);
                }
            }
        }
        if digest(&whole) != head.digest {
            tracing::warn!(key, "keychain entry is torn; treating as signed out");
            return Ok(None);
        }
        Ok(String::from_utf8(whole).ok().map(Secret::new))
    }

    fn save(&self, key: &str, value: &Secret) -> Result<()> {
        let bytes = value.expose().as_bytes();
        let chunks: Vec<&[u8]> = bytes.chunks(CHUNK).collect();
        if chunks.is_empty() || chunks.len() > MAX_CHUNKS {
            return Err(Error::Invalid(
                "refusing to store an empty or oversized token".into(),
            ));
        }
        // Parts first, head last: a crash in between leaves a head that does not match, which
        // reads as signed out.
        for (i, c) in chunks.iter().enumerate() {
            self.entry(&format!("{key}#{i}"))?
                .set_secret(c)
                .map_err(Error::Keychain)?;
        }
        let old_chunks = self.head(key)?.map_or(0, |h| h.chunks);
        let head = Head {
            chunks: chunks.len(),
            digest: digest(bytes),
        };
        self.entry(key)?
            .set_secret(head.encode().as_bytes())
            .map_err(Error::Keychain)?;
        for i in chunks.len()..old_chunks {
            self.remove(&format!("{key}#{i}"))?;
        }
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<()> {
        // Without a readable head, still remove a first part a crash may have left.
        let n = self.head(key)?.map_or(1, |h| h.chunks);
        self.remove(key)?;
        for i in 0..n {
            self.remove(&format!("{key}#{i}"))?;
        }
        Ok(())
    }
}

/// Session-only mode: tokens in memory for this run, chosen explicitly when no keychain is usable.
#[derive(Default)]
pub struct MemoryStore(Mutex<HashMap<String, Secret>>);

impl MemoryStore {
    /// The names of the entries held.
    pub fn keys(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .cloned()
            .collect()
    }
}

impl TokenStore for MemoryStore {
    fn load(&self, key: &str) -> Result<Option<Secret>> {
        Ok(self
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .cloned())
    }
    fn save(&self, key: &str, value: &Secret) -> Result<()> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.to_owned(), value.clone());
        Ok(())
    }
    fn delete(&self, key: &str) -> Result<()> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).remove(key);
        Ok(())
    }
}

/// Runs a blocking store call on the blocking pool.
pub async fn blocking<T: Send + 'static>(
    store: &Arc<dyn TokenStore>,
    f: impl FnOnce(&dyn TokenStore) -> Result<T> + Send + 'static,
) -> Result<T> {
    let store = Arc::clone(store);
    tokio::task::spawn_blocking(move || f(store.as_ref()))
        .await
        .map_err(|e| Error::task("keychain", e))?
}
