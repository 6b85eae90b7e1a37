//! The local incident store: incidents and the details of those opened, cached for instant start
//! and offline review, encrypted at rest (AES-256-GCM) with a per-profile key kept in the OS
//! keychain, never next to the files.
//!
//! Two files per profile: the queue (`<id>.idc`: watermark, last sync, account, incidents) and the
//! details opened (`<id>.details.idc`), so opening one incident never rewrites the whole queue.
//! Each is `IDC1` + 12-byte nonce + ciphertext, with the profile name and the file's role as
//! associated data, so a file cannot be swapped between profiles or roles. What is inside is the
//! versioned on-disk format of `stored`, its own types: renaming a field the UI sees cannot empty
//! every cache. A file that does not decrypt or parse (torn, tampered, from a lost key, from a
//! newer version) reads as empty, never as garbage; the next sync fills it again.
//!
//! In session-only mode (no usable keychain) the key could not be kept for the next run, so
//! nothing is written to disk at all: the cache lives in memory for this run.
//!
//! All calls block (file and keychain I/O): async callers use `spawn_blocking`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::auth::oidc::Account;
use crate::auth::secret::Secret;
use crate::auth::token_store::TokenStore;
use crate::config::Dirs;
use crate::error::{Error, Result};
use crate::files::write_atomically;
use crate::incidents::model::{Alert, Incident};

const MAGIC: &[u8; 4] = b"IDC1";

/// What the cache holds for a profile's queue.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Snapshot {
    /// The newest `lastUpdate` seen: the next sync asks only for what changed since.
    pub watermark: Option<OffsetDateTime>,
    /// When the last sync finished.
    pub synced_at: Option<OffsetDateTime>,
    /// Who was signed in at the last sync: shown while the tenant cannot be reached.
    pub account: Option<Account>,
    pub incidents: Vec<Incident>,
}

/// The cached alerts of the incidents opened before, by incident id.
pub type Details = HashMap<String, Vec<Alert>>;

/// Where the bytes go: files, or memory for session-only mode.
enum Backing {
    Files { queue: PathBuf, details: PathBuf },
    Memory(Mutex<(Snapshot, Details)>),
}

pub struct Cache {
    backing: Backing,
    profile: String,
    /// The profile's identity (issuer, tenant, client): the key is stored sealed with it.
    fingerprint: String,
    store: Arc<dyn TokenStore>,
}

impl Cache {
    /// The cache of `profile`; `persist: false` keeps it in memory only (session-only mode).
    pub fn new(
        dirs: &Dirs,
        profile: &str,
        fingerprint: &str,
        store: Arc<dyn TokenStore>,
        persist: bool,
    ) -> Self {
        let digest = Sha256::digest(profile.as_bytes());
        let name: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
        let dir = dirs.data.join("cache");
        let backing = if persist {
            Backing::Files {
                queue: dir.join(format!("{name}.idc")),
                details: dir.join(format!("{name}.details.idc")),
            }
        } else {
            Backing::Memory(Mutex::default())
        };
        Self {
            backing,
            profile: profile.to_owned(),
            fingerprint: fingerprint.to_owned(),
            store,
        }
    }

    /// The files this cache writes (none in session-only mode).
    pub fn paths(&self) -> Vec<PathBuf> {
        match &self.backing {
            Backing::Files { queue, details } => vec![queue.clone(), details.clone()],
            Backing::Memory(_) => Vec::new(),
        }
    }

    fn memory(&self) -> Option<std::sync::MutexGuard<'_, (Snapshot, Details)>> {
        match &self.backing {
            Backing::Memory(m) => Some(m.lock().unwrap_or_else(|e| e.into_inner())),
            Backing::Files { .. } => None,
        }
    }

    /// The keychain entry of the cache's key.
    pub fn key_name(&self) -> String {
        format!("cache-key:{}", self.profile)
    }

    fn key(&self, create: bool) -> Result<Option<Aes256Gcm>> {
        let name = self.key_name();
        // A key stored for another identity of this profile name is not used: its files stay
        // unreadable (and are replaced), never mixed into this tenant's queue.
        let raw = match self.store.load(&name)? {
            Some(k) => crate::auth::token_store::unseal(&self.fingerprint, &k)
                .and_then(|k| STANDARD.decode(k.expose()).ok())
                .filter(|k| k.len() == 32),
            None => None,
        };
        let raw = match raw {
            Some(k) => k,
            None if create => {
                let mut k = vec![0u8; 32];
                rand::rng().fill_bytes(&mut k);
                let sealed = crate::auth::token_store::seal(
                    &self.fingerprint,
                    &Secret::new(STANDARD.encode(&k)),
                );
                self.store.save(&name, &sealed)?;
                k
            }
            None => return Ok(None),
        };
        Aes256Gcm::new_from_slice(&raw)
            .map(Some)
            .map_err(|_| Error::Internal("the cache key has the wrong length".into()))
    }

    /// The associated data of a file: binds it to this profile and to its role.
    fn aad(&self, role: &str) -> Vec<u8> {
        format!("{}\n{role}", self.profile).into_bytes()
    }

    /// Decrypts a file; `None` when it is absent or unreadable (logged, never an error: the
    /// next sync fills it again).
    fn open(&self, path: &std::path::Path, role: &str) -> Result<Option<Vec<u8>>> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::Io(path.display().to_string(), e)),
        };
        let Some(cipher) = self.key(false)? else {
            tracing::warn!("the incident cache has no key in the keychain; starting empty");
            return Ok(None);
        };
        if bytes.len() < 16 || &bytes[..4] != MAGIC {
            tracing::warn!("the incident cache is not readable; starting empty");
            return Ok(None);
        }
        let mut nonce = [0u8; 12];
        nonce.copy_from_slice(&bytes[4..16]);
        let nonce = Nonce::from(nonce);
        let aad = self.aad(role);
        match cipher.decrypt(
            &nonce,
            Payload {
                msg: &bytes[16..],
                aad: &aad,
            },
        ) {
            Ok(plain) => Ok(Some(plain)),
            Err(_) => {
                tracing::warn!(
                    "the incident cache does not decrypt (torn or tampered); starting empty"
                );
                Ok(None)
            }
        }
    }

    fn seal(&self, path: &std::path::Path, role: &str, plain: &[u8]) -> Result<()> {
        let cipher = self
            .key(true)?
            .ok_or_else(|| Error::Internal("no cache key after creating one".into()))?;
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let aad = self.aad(role);
        let sealed = cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plain,
                    aad: &aad,
                },
            )
            .map_err(|_| Error::Internal("could not encrypt the incident cache".into()))?;
        let mut out = Vec::with_capacity(16 + sealed.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        write_atomically(path, &out)
    }

    /// The cached queue; empty when there is none or it cannot be read.
    pub fn load(&self) -> Result<Snapshot> {
        if let Some(m) = self.memory() {
            return Ok(m.0.clone());
        }
        let Backing::Files { queue, .. } = &self.backing else {
            return Ok(Snapshot::default());
        };
        let Some(plain) = self.open(queue, "queue")? else {
            return Ok(Snapshot::default());
        };
        Ok(stored::read_queue(&plain).unwrap_or_else(|| {
            tracing::warn!("the incident cache has an unknown format; starting empty");
            Snapshot::default()
        }))
    }

    pub fn save(&self, snapshot: &Snapshot) -> Result<()> {
        if let Some(mut m) = self.memory() {
            m.0 = snapshot.clone();
            return Ok(());
        }
        let Backing::Files { queue, .. } = &self.backing else {
            return Ok(());
        };
        self.seal(queue, "queue", &stored::write_queue(snapshot)?)
    }

    /// The alerts (with evidence) of the incidents opened before.
    pub fn load_details(&self) -> Result<Details> {
        if let Some(m) = self.memory() {
            return Ok(m.1.clone());
        }
        let Backing::Files { details, .. } = &self.backing else {
            return Ok(HashMap::new());
        };
        Ok(self
            .open(details, "details")?
            .and_then(|plain| stored::read_details(&plain))
            .unwrap_or_default())
    }

    /// Keeps an incident's alerts for offline review.
    pub fn save_detail(&self, id: &str, alerts: &[Alert]) -> Result<()> {
        if let Some(mut m) = self.memory() {
            m.1.insert(id.to_owned(), alerts.to_vec());
            return Ok(());
        }
        let mut all = self.load_details()?;
        if all.get(id).map(Vec::as_slice) == Some(alerts) {
            return Ok(());
        }
        all.insert(id.to_owned(), alerts.to_vec());
        let Backing::Files { details, .. } = &self.backing else {
            return Ok(());
        };
        self.seal(details, "details", &stored::write_details(&all)?)
    }

    /// Removes the cached incidents and details, their files and their key.
    pub fn wipe(&self) -> Result<()> {
        if let Some(mut m) = self.memory() {
            *m = Default::default();
        }
        for path in self.paths() {
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::Io(path.display().to_string(), e)),
            }
        }
        self.store.delete(&self.key_name())
    }
}

/// The on-disk format, versioned and separate from the model the UI sees. Version 1 was the
/// queue snapshot without a version field; its field names are kept, so such files still read.
/// Times are kept as RFC 3339 text and read leniently.
mod stored {
    use std::collections::HashMap;

    use serde::{Deserialize, Serialize};

    use super::Snapshot;
    use crate::auth::oidc::Account;
    use crate::error::{Error, Result};
    use crate::incidents::model::{parse_time, rfc3339, Alert, Comment, Evidence, Incident};

    /// The version this build writes. A file of a newer version reads as empty (re-synced).
    pub const VERSION: u32 = 2;

    #[derive(Serialize, Deserialize)]
    struct QueueFile {
        #[serde(default = "v1")]
        version: u32,
        #[serde(default)]
        watermark: Option<String>,
        #[serde(default, rename = "syncedAt")]
        synced_at: Option<String>,
        #[serde(default)]
        account: Option<StoredAccount>,
        #[serde(default)]
        incidents: Vec<StoredIncident>,
    }

    fn v1() -> u32 {
        1
    }

    #[derive(Serialize, Deserialize)]
    struct StoredAccount {
        name: Option<String>,
        username: Option<String>,
        #[serde(rename = "tenantId")]
        tenant_id: Option<String>,
        #[serde(rename = "objectId")]
        object_id: Option<String>,
    }

    #[derive(Serialize, Deserialize)]
    struct StoredComment {
        text: String,
        #[serde(default)]
        author: Option<String>,
        #[serde(default)]
        created: Option<String>,
    }

    #[derive(Serialize, Deserialize)]
    struct StoredIncident {
        id: String,
        #[serde(rename = "displayName")]
        display_name: String,
        severity: String,
        status: String,
        #[serde(default, rename = "assignedTo")]
        assigned_to: Option<String>,
        classification: String,
        determination: String,
        #[serde(default)]
        created: Option<String>,
        #[serde(default, rename = "lastUpdate")]
        last_update: Option<String>,
        #[serde(default)]
        tags: Vec<String>,
        #[serde(default, rename = "systemTags")]
        system_tags: Vec<String>,
        #[serde(default, rename = "webUrl")]
        web_url: Option<String>,
        #[serde(default, rename = "redirectIncidentId")]
        redirect_incident_id: Option<String>,
        #[serde(default)]
        comments: Vec<StoredComment>,
        #[serde(default, rename = "alertCount")]
        alert_count: Option<u32>,
        #[serde(default, rename = "serviceSources")]
        service_sources: Vec<String>,
        #[serde(default)]
        categories: Vec<String>,
    }

    #[derive(Serialize, Deserialize)]
    struct DetailsFile {
        version: u32,
        alerts: HashMap<String, Vec<StoredAlert>>,
    }

    #[derive(Serialize, Deserialize)]
    struct StoredAlert {
        id: String,
        title: String,
        severity: String,
        status: String,
        category: Option<String>,
        service_source: Option<String>,
        mitre_techniques: Vec<String>,
        created: Option<String>,
        web_url: Option<String>,
        evidence: Vec<StoredEvidence>,
    }

    #[derive(Serialize, Deserialize)]
    struct StoredEvidence {
        kind: String,
        title: String,
        details: Vec<(String, String)>,
    }

    fn time_text(t: Option<time::OffsetDateTime>) -> Option<String> {
        t.map(rfc3339)
    }

    fn time_of(s: Option<String>) -> Option<time::OffsetDateTime> {
        s.as_deref().and_then(parse_time)
    }

    impl From<&Incident> for StoredIncident {
        fn from(i: &Incident) -> Self {
            Self {
                id: i.id.clone(),
                display_name: i.display_name.clone(),
                severity: i.severity.as_str().to_owned(),
                status: i.status.as_str().to_owned(),
                assigned_to: i.assigned_to.clone(),
                classification: i.classification.as_str().to_owned(),
                determination: i.determination.as_str().to_owned(),
                created: time_text(i.created),
                last_update: time_text(i.last_update),
                tags: i.tags.clone(),
                system_tags: i.system_tags.clone(),
                web_url: i.web_url.clone(),
                redirect_incident_id: i.redirect_incident_id.clone(),
                comments: i
                    .comments
                    .iter()
                    .map(|c| StoredComment {
                        text: c.text.clone(),
                        author: c.author.clone(),
                        created: time_text(c.created),
                    })
                    .collect(),
                alert_count: i.alert_count,
                service_sources: i.service_sources.clone(),
                categories: i.categories.clone(),
            }
        }
    }

    impl From<StoredIncident> for Incident {
        fn from(s: StoredIncident) -> Self {
            Self {
                id: s.id,
                display_name: s.display_name,
                severity: s.severity.as_str().into(),
                status: s.status.as_str().into(),
                assigned_to: s.assigned_to,
                classification: s.classification.as_str().into(),
                determination: s.determination.as_str().into(),
                created: time_of(s.created),
                last_update: time_of(s.last_update),
                tags: s.tags,
                system_tags: s.system_tags,
                web_url: s.web_url,
                redirect_incident_id: s.redirect_incident_id,
                comments: s
                    .comments
                    .into_iter()
                    .map(|c| Comment {
                        text: c.text,
                        author: c.author,
                        created: time_of(c.created),
                    })
                    .collect(),
                alert_count: s.alert_count,
                service_sources: s.service_sources,
                categories: s.categories,
            }
        }
    }

    impl From<&Alert> for StoredAlert {
        fn from(a: &Alert) -> Self {
            Self {
                id: a.id.clone(),
                title: a.title.clone(),
                severity: a.severity.as_str().to_owned(),
                status: a.status.as_str().to_owned(),
                category: a.category.clone(),
                service_source: a.service_source.clone(),
                mitre_techniques: a.mitre_techniques.clone(),
                created: time_text(a.created),
                web_url: a.web_url.clone(),
                evidence: a
                    .evidence
                    .iter()
                    .map(|e| StoredEvidence {
                        kind: e.kind.clone(),
                        title: e.title.clone(),
                        details: e.details.clone(),
                    })
                    .collect(),
            }
        }
    }

    impl From<StoredAlert> for Alert {
        fn from(a: StoredAlert) -> Self {
            Self {
                id: a.id,
                title: a.title,
                severity: a.severity.as_str().into(),
                status: a.status.as_str().into(),
                category: a.category,
                service_source: a.service_source,
                mitre_techniques: a.mitre_techniques,
                created: time_of(a.created),
                web_url: a.web_url,
                evidence: a
                    .evidence
                    .into_iter()
                    .map(|e| Evidence {
                        kind: e.kind,
                        title: e.title,
                        details: e.details,
                    })
                    .collect(),
            }
        }
    }

    fn json<T: Serialize>(v: &T) -> Result<Vec<u8>> {
        serde_json::to_vec(v).map_err(|e| Error::Internal(format!("cache encoding: {e}")))
    }

    pub fn read_queue(plain: &[u8]) -> Option<Snapshot> {
        let f: QueueFile = serde_json::from_slice(plain).ok()?;
        if f.version > VERSION {
            return None;
        }
        Some(Snapshot {
            watermark: time_of(f.watermark),
            synced_at: time_of(f.synced_at),
            account: f.account.map(|a| Account {
                name: a.name,
                username: a.username,
                tenant_id: a.tenant_id,
                object_id: a.object_id,
            }),
            incidents: f.incidents.into_iter().map(Incident::from).collect(),
        })
    }

    pub fn write_queue(s: &Snapshot) -> Result<Vec<u8>> {
        json(&QueueFile {
            version: VERSION,
            watermark: time_text(s.watermark),
            synced_at: time_text(s.synced_at),
            account: s.account.as_ref().map(|a| StoredAccount {
                name: a.name.clone(),
                username: a.username.clone(),
                tenant_id: a.tenant_id.clone(),
                object_id: a.object_id.clone(),
            }),
            incidents: s.incidents.iter().map(StoredIncident::from).collect(),
        })
    }

    pub fn read_details(plain: &[u8]) -> Option<HashMap<String, Vec<Alert>>> {
        let f: DetailsFile = serde_json::from_slice(plain).ok()?;
        (f.version <= VERSION).then(|| {
            f.alerts
                .into_iter()
                .map(|(id, alerts)| (id, alerts.into_iter().map(Alert::from).collect()))
                .collect()
        })
    }

    pub fn write_details(all: &HashMap<String, Vec<Alert>>) -> Result<Vec<u8>> {
        json(&DetailsFile {
            version: VERSION,
            alerts: all
                .iter()
                .map(|(id, alerts)| (id.clone(), alerts.iter().map(StoredAlert::from).collect()))
                .collect(),
        })
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        /// A queue file as version 1 wrote it (no version field, the view's field names).
        const V1_QUEUE: &str = r#"{"watermark":"2026-11-20T10:00:00Z","syncedAt":"2026-11-20T10:05:00Z","incidents":[{"id":"7","displayName":"Ransomware","severity":"high","status":"active","assignedTo":null,"classification":"unknown","determination":"unknown","created":"2026-11-19T08:00:00.5Z","lastUpdate":"2026-11-20T10:00:00Z","tags":["t"],"systemTags":[],"webUrl":null,"redirectIncidentId":null,"comments":[{"text":"c","author":"a","created":"2026-11-20T09:00:00Z"}],"alertCount":2,"serviceSources":[],"categories":[]}]}"#;

        #[test]
        fn a_version_1_cache_still_reads_and_a_newer_one_reads_as_empty() {
            let s = read_queue(V1_QUEUE.as_bytes()).expect("version 1 reads");
            assert_eq!(s.incidents.len(), 1);
            assert_eq!(s.incidents[0].display_name, "Ransomware");
            assert_eq!(
                s.incidents[0].created.map(|t| t.millisecond()),
                Some(500),
                "fractional seconds kept"
            );
            let again = read_queue(&write_queue(&s).unwrap()).unwrap();
            assert_eq!(again, s, "the current version round-trips");
            let newer = V1_QUEUE.replacen('{', r#"{"version":99,"#, 1);
            assert!(
                read_queue(newer.as_bytes()).is_none(),
                "a file from a newer build is not guessed at"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::token_store::MemoryStore;
    use crate::incidents::model::{Classification, Determination, Evidence, Severity, Status};

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
            last_update: crate::incidents::model::parse_time("2026-11-20T10:00:00Z"),
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

    fn alert() -> Alert {
        Alert {
            id: "a1".into(),
            title: "Suspicious PowerShell".into(),
            severity: Severity::Medium,
            status: Status::Active,
            category: None,
            service_source: None,
            mitre_techniques: vec![],
            created: None,
            web_url: None,
            evidence: vec![Evidence {
                kind: "device".into(),
                title: "srv-finance-42".into(),
                details: vec![],
            }],
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
        let cache = Cache::new(&dirs, "Contoso", "fp", Arc::clone(&store), true);
        const TITLE: &str = "Ransomware activity on srv-finance-42";
        let snap = Snapshot {
            incidents: vec![incident(TITLE)],
            ..Snapshot::default()
        };
        cache.save(&snap).unwrap();
        cache.save_detail("1", &[alert()]).unwrap();
        let [queue, details] = &cache.paths()[..] else {
            panic!("two files")
        };
        let bytes = std::fs::read(queue).unwrap();
        for f in [queue, details] {
            let b = std::fs::read(f).unwrap();
            assert!(
                !b.windows(10)
                    .any(|w| w == &TITLE.as_bytes()[..10] || w == b"srv-financ"),
                "no incident text in clear on disk"
            );
        }
        assert_eq!(cache.load().unwrap().incidents[0].display_name, TITLE);
        assert_eq!(cache.load_details().unwrap()["1"], [alert()]);

        // Another profile's cache cannot read it, even with the same key; a torn file is empty.
        let other = Cache::new(&dirs, "Other", "fp", Arc::clone(&store), true);
        let key = store.load("cache-key:Contoso").unwrap().unwrap();
        store.save("cache-key:Other", &key).unwrap();
        std::fs::copy(queue, &other.paths()[0]).unwrap();
        assert!(
            other.load().unwrap().incidents.is_empty(),
            "bound to its profile"
        );
        std::fs::write(queue, &bytes[..bytes.len() / 2]).unwrap();
        assert!(
            cache.load().unwrap().incidents.is_empty(),
            "a torn file is empty, never garbage"
        );

        cache.save(&snap).unwrap();
        cache.wipe().unwrap();
        assert!(
            cache.paths().iter().all(|p| !p.exists())
                && store.load("cache-key:Contoso").unwrap().is_none(),
            "wipe removes both files and the key"
        );
        let _ = std::fs::remove_dir_all(dirs.data.parent().unwrap());
    }

    #[test]
    fn session_only_writes_nothing_to_disk() {
        let dirs = temp_dirs("memory");
        let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::default());
        let cache = Cache::new(&dirs, "Contoso", "fp", Arc::clone(&store), false);
        cache
            .save(&Snapshot {
                incidents: vec![incident("x")],
                ..Snapshot::default()
            })
            .unwrap();
        cache.save_detail("1", &[alert()]).unwrap();
        assert_eq!(
            cache.load().unwrap().incidents.len(),
            1,
            "kept for this run"
        );
        assert!(
            !dirs.data.exists(),
            "no file that a later run could not decrypt"
        );
        cache.wipe().unwrap();
        assert!(cache.load().unwrap().incidents.is_empty());
    }
}
