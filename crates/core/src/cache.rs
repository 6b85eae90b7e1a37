//! The local incident store: incidents cached for instant start and offline review, encrypted at
//! rest (AES-256-GCM) with a per-profile key kept in the OS keychain, never next to the file.
//!
//! File layout: `IDC1` + 12-byte nonce + ciphertext (with the profile name as associated data, so a
//! file cannot be swapped between profiles). Writes are atomic (temp file + rename); a file that
//! does not decrypt — torn, tampered, or from a lost key — reads as empty, never as garbage.
//! All calls block (file and keychain I/O): async callers use `spawn_blocking`.

use std::path::PathBuf;
use std::sync::Arc;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::{write_atomically, Dirs};
use crate::error::{Error, Result};
use crate::incident::Incident;
use crate::secret::Secret;
use crate::token_store::TokenStore;

const MAGIC: &[u8; 4] = b"IDC1";

/// What the cache holds for a profile.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    /// The newest `lastUpdate` seen: the next sync asks only for what changed since.
    pub watermark: Option<String>,
    /// When the last sync finished (RFC 3339).
    pub synced_at: Option<String>,
    pub incidents: Vec<Incident>,
}

pub struct Cache {
    path: PathBuf,
    profile: String,
    store: Arc<dyn TokenStore>,
}

impl Cache {
    pub fn new(dirs: &Dirs, profile: &str, store: Arc<dyn TokenStore>) -> Self {
        let digest = Sha256::digest(profile.as_bytes());
        let name: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
        Self {
            path: dirs.data.join("cache").join(format!("{name}.idc")),
            profile: profile.to_owned(),
            store,
        }
    }

    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    fn key_name(&self) -> String {
        format!("cache-key:{}", self.profile)
    }

    fn key(&self, create: bool) -> Result<Option<Aes256Gcm>> {
        let name = self.key_name();
        let raw = match self.store.load(&name)? {
            Some(k) => STANDARD.decode(k.expose()).ok().filter(|k| k.len() == 32),
            None => None,
        };
        let raw = match raw {
            Some(k) => k,
            None if create => {
                let mut k = vec![0u8; 32];
                rand::rng().fill_bytes(&mut k);
                self.store.save(&name, &Secret::new(STANDARD.encode(&k)))?;
                k
            }
            None => return Ok(None),
        };
        Aes256Gcm::new_from_slice(&raw)
            .map(Some)
            .map_err(|_| Error::Config("invalid cache key".into()))
    }

    /// The cached snapshot; empty when there is none or it cannot be read.
    pub fn load(&self) -> Result<Snapshot> {
        let bytes = match std::fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Snapshot::default()),
            Err(e) => return Err(Error::Io(self.path.display().to_string(), e)),
        };
        let Some(cipher) = self.key(false)? else {
            tracing::warn!("the incident cache has no key in the keychain; starting empty");
            return Ok(Snapshot::default());
        };
        if bytes.len() < 16 || &bytes[..4] != MAGIC {
            tracing::warn!("the incident cache is not readable; starting empty");
            return Ok(Snapshot::default());
        }
        let mut nonce = [0u8; 12];
        nonce.copy_from_slice(&bytes[4..16]);
        let plain = match cipher.decrypt(
            &Nonce::from(nonce),
            Payload {
                msg: &bytes[16..],
                aad: self.profile.as_bytes(),
            },
        ) {
            Ok(p) => p,
            Err(_) => {
                tracing::warn!(
                    "the incident cache does not decrypt (torn or tampered); starting empty"
                );
                return Ok(Snapshot::default());
            }
        };
        Ok(serde_json::from_slice(&plain).unwrap_or_default())
    }

    pub fn save(&self, snapshot: &Snapshot) -> Result<()> {
        let cipher = self
            .key(true)?
            .ok_or_else(|| Error::Config("no cache key".into()))?;
        let plain = serde_json::to_vec(snapshot).map_err(|e| Error::Config(e.to_string()))?;
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: &plain,
                    aad: self.profile.as_bytes(),
                },
            )
            .map_err(|_| Error::Config("could not encrypt the incident cache".into()))?;
        let mut out = Vec::with_capacity(16 + sealed.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        write_atomically(&self.path, &out)
    }

    /// Removes the cached incidents and their key.
    pub fn wipe(&self) -> Result<()> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::Io(self.path.display().to_string(), e)),
        }
        self.store.delete(&self.key_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::{Classification, Determination, Severity, Status};
    use crate::token_store::MemoryStore;

    fn incident(title: &str) -> Incident {
        Incident {
            id: "1".into(),
            display_name: title.into(),
            severity: Severity::High,
            status: Status::Active,
            assigned_to: None,
            classification: Classification::Unknown,
            determination: Determination::Unknown,
            created: None,
            last_update: Some("2026-11-20T10:00:00Z".into()),
            tags: vec![],
            system_tags: vec![],
            web_url: None,
            redirect_incident_id: None,
            comments: vec![],
            alert_count: None,
            service_sources: vec![],
            categories: vec![],
        }
    }

    fn temp_dirs(tag: &str) -> Dirs {
        let base = std::env::temp_dir().join(format!("idesk-cache-{tag}-{}", std::process::id()));
        Dirs {
            config: base.join("c"),
            data: base.join("d"),
        }
    }

    #[test]
    fn round_trips_and_holds_no_text_in_clear() {
        let dirs = temp_dirs("clear");
        let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::default());
        let cache = Cache::new(&dirs, "Contoso", Arc::clone(&store));
        const TITLE: &str = "Ransomware activity on srv-finance-42";
        let snap = Snapshot {
            watermark: Some("w".into()),
            synced_at: None,
            incidents: vec![incident(TITLE)],
        };
        cache.save(&snap).unwrap();
        let bytes = std::fs::read(cache.path()).unwrap();
        assert!(
            !bytes.windows(10).any(|w| w == &TITLE.as_bytes()[..10]),
            "no incident text in clear on disk"
        );
        assert_eq!(cache.load().unwrap().incidents[0].display_name, TITLE);

        // Another profile's key cannot read it, and a torn file reads as empty.
        let other = Cache {
            path: cache.path.clone(),
            profile: "Other".into(),
            store: Arc::clone(&store),
        };
        assert!(other.load().unwrap().incidents.is_empty());
        std::fs::write(cache.path(), &bytes[..bytes.len() / 2]).unwrap();
        assert!(
            cache.load().unwrap().incidents.is_empty(),
            "a torn file is empty, never garbage"
        );

        cache.save(&snap).unwrap();
        cache.wipe().unwrap();
        assert!(
            !cache.path().exists() && store.load("cache-key:Contoso").unwrap().is_none(),
            "wipe removes file and key"
        );
        let _ = std::fs::remove_dir_all(dirs.data.parent().unwrap());
    }
}
