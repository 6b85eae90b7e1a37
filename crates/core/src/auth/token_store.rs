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
use crate::config::{Kind, Profile};
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

    /// Deletes the entry only while it still holds `expected`: another process (the app beside
    /// `idesk`) may have stored a newer one since, which must survive. Returns whether it did.
    fn delete_if(&self, key: &str, expected: &Secret) -> Result<bool> {
        match self.load(key)? {
            Some(current) if current == *expected => self.delete(key).map(|()| true),
            _ => Ok(false),
        }
    }
}

/// The keychain entry name of a profile's refresh token.
pub fn refresh_token_key(profile: &str) -> String {
    format!("refresh-token:{profile}")
}

/// The keychain entry name of an application profile's client secret.
pub fn client_secret_key(profile: &str) -> String {
    format!("client-secret:{profile}")
}

/// The keychain entry of a profile's long-lived credential: the refresh token of a delegated
/// profile, the client secret of an application profile.
pub fn credential_key(profile: &Profile) -> String {
    match profile.kind {
        Kind::Delegated => refresh_token_key(&profile.name),
        Kind::Application => client_secret_key(&profile.name),
    }
}

/// A stored value carries the fingerprint of the profile it was stored for (issuer, tenant,
/// client): `idesk-bound <fingerprint>\n<value>`.
const SEAL: &str = "idesk-bound ";

/// The value as stored for the profile with this fingerprint.
pub fn seal(fingerprint: &str, value: &Secret) -> Secret {
    Secret::new(format!("{SEAL}{fingerprint}\n{}", value.expose()))
}

/// The value stored for the profile with this fingerprint; `None` when it was stored for another
/// (or by an earlier version that did not say): such a value must never be sent anywhere.
pub fn unseal(fingerprint: &str, stored: &Secret) -> Option<Secret> {
    let rest = stored.expose().strip_prefix(SEAL)?;
    let (fp, value) = rest.split_once('\n')?;
    (fp == fingerprint && !value.is_empty()).then(|| Secret::new(value))
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

/// The head entry of a value: `v2 <slot> <chunks> <sha256 hex of the whole>`. Its parts are
/// `<key>/<slot><i>`: `/` cannot occur in a profile name, so no profile's key is another's part.
/// A save writes the slot the head does not name, then the head, then removes the old slot: a
/// crash at any point leaves the old value or the new one readable, never neither.
///
/// Heads written before slots existed (`v1 <chunks> <digest>`, parts `<key>#<i>`) are still read.
#[derive(Debug, Clone, PartialEq)]
struct Head {
    slot: Slot,
    chunks: usize,
    digest: String,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Slot {
    Legacy,
    A,
    B,
}

impl Slot {
    fn part(self, key: &str, i: usize) -> String {
        match self {
            Slot::Legacy => format!("{key}#{i}"),
            Slot::A => format!("{key}/a{i}"),
            Slot::B => format!("{key}/b{i}"),
        }
    }

    fn other(self) -> Slot {
        match self {
            Slot::A => Slot::B,
            Slot::B | Slot::Legacy => Slot::A,
        }
    }
}

impl Head {
    fn parse(bytes: &[u8]) -> Option<Self> {
        let text = std::str::from_utf8(bytes).ok()?;
        let parts: Vec<&str> = text.split(' ').collect();
        let (slot, n, digest) = match parts.as_slice() {
            ["v1", n, d] => (Slot::Legacy, *n, *d),
            ["v2", "a", n, d] => (Slot::A, *n, *d),
            ["v2", "b", n, d] => (Slot::B, *n, *d),
            _ => return None,
        };
        let chunks = n.parse().ok().filter(|n| (1..=MAX_CHUNKS).contains(n))?;
        Some(Self {
            slot,
            chunks,
            digest: digest.to_owned(),
        })
    }

    fn encode(&self) -> String {
        let slot = if self.slot == Slot::B { "b" } else { "a" };
        format!("v2 {slot} {} {}", self.chunks, self.digest)
    }
}

fn digest(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl KeychainStore {
    /// Removes the parts of `slot` from part `from` on, up to the first that is missing: parts are
    /// written in order, so a crash can only leave a prefix. Old-layout parts (`<key>#<i>`) are
    /// removed only as far as their head names them: past that, such a name may be another
    /// profile's own entry (profile `a#0`).
    fn remove_parts(&self, key: &str, slot: Slot, from: usize, known: usize) -> Result<()> {
        for i in from..MAX_CHUNKS {
            let name = slot.part(key, i);
            if i >= known && (slot == Slot::Legacy || self.get(&name)?.is_none()) {
                break;
            }
            self.remove(&name)?;
        }
        Ok(())
    }
}

impl TokenStore for KeychainStore {
    fn load(&self, key: &str) -> Result<Option<Secret>> {
        let Some(head) = self.head(key)? else {
            return Ok(None);
        };
        let mut whole = zeroize::Zeroizing::new(Vec::new());
        for i in 0..head.chunks {
            match self.get(&head.slot.part(key, i))? {
                Some(chunk) => whole.extend_from_slice(&zeroize::Zeroizing::new(chunk)),
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
        Ok(std::str::from_utf8(&whole).ok().map(Secret::new))
    }

    fn save(&self, key: &str, value: &Secret) -> Result<()> {
        let bytes = value.expose().as_bytes();
        let chunks: Vec<&[u8]> = bytes.chunks(CHUNK).collect();
        if chunks.is_empty() || chunks.len() > MAX_CHUNKS {
            return Err(Error::Invalid(
                "refusing to store an empty or oversized token".into(),
            ));
        }
        let old = self.head(key)?;
        let slot = old.as_ref().map_or(Slot::A, |h| h.slot.other());
        // The new value's parts go where the head does not point, so the stored value stays
        // whole until the head moves to them.
        for (i, c) in chunks.iter().enumerate() {
            self.entry(&slot.part(key, i))?
                .set_secret(c)
                .map_err(Error::Keychain)?;
        }
        let head = Head {
            slot,
            chunks: chunks.len(),
            digest: digest(bytes),
        };
        self.entry(key)?
            .set_secret(head.encode().as_bytes())
            .map_err(Error::Keychain)?;
        // Leftovers: the new slot beyond this value (an older, longer value), and the old slot.
        self.remove_parts(key, slot, chunks.len(), 0)?;
        if let Some(old) = old {
            self.remove_parts(key, old.slot, 0, old.chunks)?;
        }
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<()> {
        // Without a readable head, still remove whatever parts a crash may have left, in every slot.
        let head = self.head(key)?;
        self.remove(key)?;
        for slot in [Slot::A, Slot::B, Slot::Legacy] {
            let known = head
                .as_ref()
                .filter(|h| h.slot == slot)
                .map_or(0, |h| h.chunks);
            self.remove_parts(key, slot, 0, known)?;
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
