//! The local incident store: one encrypted SQLite database per profile (SQLCipher: every page is
//! AES-256 encrypted), with a random 256-bit key kept in the OS keychain, sealed with the profile's
//! fingerprint, never next to the file. It holds the incidents, the details of those opened (for
//! offline review), the sync watermark and who was signed in, and a full-text index.
//!
//! - WAL mode, and a busy timeout: the app and `idesk` may use one store at once; a writer waits,
//!   readers go on.
//! - Writes are transactions: a sync merges only the incidents that changed, a triage write touches
//!   one row, and a failure (a full disk) leaves the last committed state readable.
//! - The schema is versioned (`PRAGMA user_version`) and migrated forward in a transaction.
//! - A database that does not open with the key (torn, tampered, another key), belongs to another
//!   profile, or was written by a newer build is set aside: deleted and re-synced, never a crash.
//! - The AES-GCM files of earlier versions (`<id>.idc`) are deleted on first open: the next sync
//!   fills the store again.
//!
//! In session-only mode (no usable keychain) the key could not be kept for the next run, so
//! nothing is written to disk at all: the store is an in-memory database for this run.
//!
//! All calls block (file and keychain I/O): async callers use `spawn_blocking`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rand::RngCore;
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::auth::oidc::Account;
use crate::auth::secret::Secret;
use crate::auth::token_store::TokenStore;
use crate::config::Dirs;
use crate::error::{Error, Result};
use crate::incidents::changes::Change;
use crate::incidents::model::{
    Alert, Classification, Evidence, Incident, IncidentDetail, Pivot, Related, Status,
};
use crate::incidents::queue::{Assignment, QueueIndex, QueuePage, QueueQuery};

/// What the store holds for a profile's queue.
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

/// A stored detail: an incident's alerts, and the texts only its detail carries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredDetail {
    pub alerts: Vec<Alert>,
    pub summary: Option<String>,
    pub description: Option<String>,
}

/// What a sync's merge did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Merged {
    /// Incidents new or different from the stored ones (rows written).
    pub changed: usize,
    /// Incidents in the store afterwards, merged ones left out (as the queue counts them).
    pub total: usize,
}

/// Other incidents named in a pivot, at most.
const PIVOT_RECENT: usize = 10;

/// Merged incidents (status `redirected`) are left out of the queue unless asked for.
const NOT_MERGED: &str = "status <> 'redirected'";
/// The count the queue shows, kept by the store's triggers (schema 5): no scan of the table.
const COUNT_SHOWN: &str = "SELECT n FROM counts WHERE name = 'shown'";

/// The schema, one step per version; `PRAGMA user_version` says how many have been applied.
const MIGRATIONS: &[&str] = &[
    // 1: incidents (the stored form as JSON, with the columns the queue sorts and filters on),
    //    the details opened, a few named values, and a full-text index over titles, tags and
    //    comments (rowid = the incident's rowid).
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
     CREATE TABLE incidents (
       id TEXT PRIMARY KEY,
       last_update INTEGER,
       created INTEGER,
       severity TEXT NOT NULL,
       status TEXT NOT NULL,
       assigned_to TEXT,
       classification TEXT NOT NULL,
       body TEXT NOT NULL
     );
     CREATE INDEX incidents_by_update ON incidents (last_update DESC, id);
     CREATE INDEX incidents_by_status ON incidents (status, severity, last_update DESC);
     CREATE INDEX incidents_by_assignee ON incidents (assigned_to, last_update DESC);
     CREATE TABLE details (incident_id TEXT PRIMARY KEY, body TEXT NOT NULL) WITHOUT ROWID;
     CREATE VIRTUAL TABLE incidents_text USING fts5 (title, tags, comments, tokenize = 'unicode61');",
    // 2: the change feed ("since you last looked"): what each sync found changed elsewhere; and
    //    the incident's lastUpdate each stored detail was fetched at, so the background sync
    //    fetches again only the details of incidents that changed since.
    "CREATE TABLE changes (
       seq INTEGER PRIMARY KEY AUTOINCREMENT,
       incident_id TEXT NOT NULL,
       at INTEGER NOT NULL,
       seen INTEGER NOT NULL DEFAULT 0,
       body TEXT NOT NULL
     );
     CREATE INDEX changes_unseen ON changes (seen, seq);
     ALTER TABLE details ADD COLUMN seen_update INTEGER;",
    // 3: the entity index: what each stored detail's evidence names (device, user, IP, file hash
    //    or name, URL, mailbox), lowercased, for search and "seen in N other incidents". Filled
    //    from the details already stored when the step is applied.
    "CREATE TABLE entities (
       kind TEXT NOT NULL,
       value TEXT NOT NULL,
       incident_id TEXT NOT NULL,
       PRIMARY KEY (kind, value, incident_id)
     ) WITHOUT ROWID;
     CREATE INDEX entities_by_incident ON entities (incident_id);",
    // 4: every column the queue's filters test, with the sort keys: the store answers a filtered
    //    count and window from this index alone, without decrypting the incidents' pages (the
    //    app's first second, before the queue's own index is built). Since schema 6 it serves a
    //    time range's count and the windows with few matches.
    "CREATE INDEX IF NOT EXISTS incidents_filtered
       ON incidents (status, severity, assigned_to, last_update, id);",
    // 5: how many incidents the queue shows (merged ones left out), kept by triggers on every
    //    insert, delete and status change, whoever writes (the app or idesk): a sync that finds
    //    nothing new says the total without counting 100,000 rows.
    "CREATE TABLE IF NOT EXISTS counts (name TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
     INSERT OR REPLACE INTO counts (name, n)
       SELECT 'shown', count(*) FROM incidents WHERE status <> 'redirected';
     CREATE TRIGGER IF NOT EXISTS counts_insert AFTER INSERT ON incidents WHEN new.status <> 'redirected'
       BEGIN UPDATE counts SET n = n + 1 WHERE name = 'shown'; END;
     CREATE TRIGGER IF NOT EXISTS counts_delete AFTER DELETE ON incidents WHEN old.status <> 'redirected'
       BEGIN UPDATE counts SET n = n - 1 WHERE name = 'shown'; END;
     CREATE TRIGGER IF NOT EXISTS counts_status AFTER UPDATE OF status ON incidents
       WHEN (old.status <> 'redirected') <> (new.status <> 'redirected')
       BEGIN UPDATE counts SET n = n + iif(new.status <> 'redirected', 1, -1) WHERE name = 'shown'; END;",
    // 6: the app's first second, before the queue's index is built:
    //    - what the index reads of each incident, a short JSON array beside its body (no
    //      comments, links or other texts), written with it under the incident's rowid (a new
    //      incident's row is appended, as in the table: keyed by ID, each sync transaction
    //      rewrote pages all over it; like incidents_text it relies on rowids, which nothing
    //      renumbers: the store is never vacuumed): the index is built from this table, a
    //      fraction of the incidents' pages. Filled from the bodies already stored when the step
    //      is applied;
    //    - the queue's counts by status, severity and assignee, kept by triggers like the
    //      shown count: a filter's count is a sum over a few rows, not a scan;
    //    - the newest-first index carries the filtered columns: a filtered window is read in
    //      order from it and ends with its last row, not after sorting every match.
    "CREATE TABLE IF NOT EXISTS queue_rows (incident INTEGER PRIMARY KEY, row TEXT NOT NULL);
     CREATE TRIGGER IF NOT EXISTS queue_rows_delete AFTER DELETE ON incidents
       BEGIN DELETE FROM queue_rows WHERE incident = old.rowid; END;
     CREATE TABLE IF NOT EXISTS queue_counts (
       status TEXT NOT NULL,
       severity TEXT NOT NULL,
       unassigned INTEGER NOT NULL,
       assignee TEXT NOT NULL,
       n INTEGER NOT NULL,
       PRIMARY KEY (status, severity, unassigned, assignee)
     ) WITHOUT ROWID;
     DELETE FROM queue_counts;
     INSERT INTO queue_counts (status, severity, unassigned, assignee, n)
       SELECT status, severity, assigned_to IS NULL, coalesce(lower(assigned_to), ''), count(*)
       FROM incidents GROUP BY 1, 2, 3, 4;
     CREATE TRIGGER IF NOT EXISTS queue_counts_insert AFTER INSERT ON incidents BEGIN
       INSERT INTO queue_counts (status, severity, unassigned, assignee, n)
         VALUES (new.status, new.severity, new.assigned_to IS NULL, coalesce(lower(new.assigned_to), ''), 1)
         ON CONFLICT DO UPDATE SET n = n + 1;
     END;
     CREATE TRIGGER IF NOT EXISTS queue_counts_delete AFTER DELETE ON incidents BEGIN
       UPDATE queue_counts SET n = n - 1
         WHERE status = old.status AND severity = old.severity
           AND unassigned = (old.assigned_to IS NULL) AND assignee = coalesce(lower(old.assigned_to), '');
     END;
     CREATE TRIGGER IF NOT EXISTS queue_counts_update AFTER UPDATE OF status, severity, assigned_to ON incidents
       WHEN old.status IS NOT new.status OR old.severity IS NOT new.severity
         OR old.assigned_to IS NOT new.assigned_to
     BEGIN
       UPDATE queue_counts SET n = n - 1
         WHERE status = old.status AND severity = old.severity
           AND unassigned = (old.assigned_to IS NULL) AND assignee = coalesce(lower(old.assigned_to), '');
       INSERT INTO queue_counts (status, severity, unassigned, assignee, n)
         VALUES (new.status, new.severity, new.assigned_to IS NULL, coalesce(lower(new.assigned_to), ''), 1)
         ON CONFLICT DO UPDATE SET n = n + 1;
     END;
     CREATE INDEX IF NOT EXISTS incidents_recent
       ON incidents (last_update DESC, id, status, severity, assigned_to);
     DROP INDEX IF EXISTS incidents_by_update;",
];

/// The schema version that added the entity index.
const ENTITIES_VERSION: usize = 3;
/// The schema version that added the queue's rows.
const QUEUE_ROWS_VERSION: usize = 6;

const INCIDENT_BODY: &str = "SELECT body FROM incidents WHERE id = ?1";
/// An incident's row in `queue_rows` (schema 6), under the incident's rowid.
const PUT_QUEUE_ROW: &str = "INSERT OR REPLACE INTO queue_rows (incident, row) VALUES (?1, ?2)";
const DETAIL_BODY: &str = "SELECT body FROM details WHERE incident_id = ?1";

/// The change feed keeps this many changes, the newest.
const KEEP_CHANGES: i64 = 5000;

/// Who and when, for the changes a sync records.
struct Feed {
    me: Option<String>,
    at: OffsetDateTime,
}

/// Each incident's indexed entity values (device, user, IP, ...), by incident ID.
pub type EntityValues = HashMap<String, Vec<String>>;

/// Where the database lives: a file, or memory for session-only mode.
enum Backing {
    File(PathBuf),
    Memory,
}

/// Said when an earlier version's cache file is found: it is deleted, not migrated.
pub const LEGACY_DROPPED: &str = "The incident cache of an earlier version was deleted: the queue \
is filled again by the next sync.";
/// Said when the database cannot be read with this profile's key (torn, tampered, another
/// profile's or key's), or its key is gone from the keychain.
pub const UNREADABLE: &str = "Cache unreadable — re-syncing: the stored incidents could not be \
read with this profile's key (damaged, or another profile's), so they were set aside and the next \
sync fills the queue again.";

pub struct Cache {
    backing: Backing,
    profile: String,
    /// The profile's identity (issuer, tenant, client): the key is stored sealed with it.
    fingerprint: String,
    store: Arc<dyn TokenStore>,
    /// The legacy AES-GCM files of this profile, deleted on first open and by `wipe`.
    legacy: Vec<PathBuf>,
    conn: Mutex<Option<Connection>>,
    /// What opening the store set aside (an earlier version's cache, an unreadable database),
    /// for the user, said once (`take_notice`).
    notice: Mutex<Option<String>>,
}

/// The stored form's JSON, and time as milliseconds (sortable, unlike RFC 3339 text with and
/// without fractions).
fn millis(t: Option<OffsetDateTime>) -> Option<i64> {
    t.map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
}

fn db_error(e: rusqlite::Error) -> Error {
    // A full disk is the user's to fix, and loses nothing: the failed transaction rolled back,
    // and the store holds what was committed before.
    if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull) {
        return Error::Io(
            "the incident store".into(),
            std::io::Error::new(
                std::io::ErrorKind::StorageFull,
                "the disk is full; the last synced state is kept: free some space and sync again",
            ),
        );
    }
    Error::Internal(format!("incident store: {e}"))
}

impl Cache {
    /// The store of `profile`; `persist: false` keeps it in memory only (session-only mode).
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
        Self {
            backing: if persist {
                Backing::File(dir.join(format!("{name}.db")))
            } else {
                Backing::Memory
            },
            profile: profile.to_owned(),
            fingerprint: fingerprint.to_owned(),
            store,
            legacy: vec![
                dir.join(format!("{name}.idc")),
                dir.join(format!("{name}.details.idc")),
            ],
            conn: Mutex::new(None),
            notice: Mutex::new(None),
        }
    }

    /// What the last opening of the store set aside and re-syncs, once: the window and `idesk`
    /// say it, so a queue that starts empty is never a mystery.
    pub fn take_notice(&self) -> Option<String> {
        self.notice.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    fn say(&self, notice: &str) {
        tracing::warn!("{notice}");
        *self.notice.lock().unwrap_or_else(|e| e.into_inner()) = Some(notice.to_owned());
    }

    /// The files this store may write (none in session-only mode): the database and its WAL.
    pub fn paths(&self) -> Vec<PathBuf> {
        match &self.backing {
            Backing::File(db) => ["", "-wal", "-shm"]
                .iter()
                .map(|suffix| PathBuf::from(format!("{}{suffix}", db.display())))
                .collect(),
            Backing::Memory => Vec::new(),
        }
    }

    /// The keychain entry of the store's key.
    pub fn key_name(&self) -> String {
        format!("cache-key:{}", self.profile)
    }

    /// The raw key: from the keychain, or a new one when `create`. A key stored for another
    /// identity of this profile name is not used: its database stays unreadable (and is
    /// replaced), never mixed into this tenant's queue.
    fn key(&self, create: bool) -> Result<Option<Secret>> {
        let name = self.key_name();
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
        Ok(Some(Secret::new(hex::encode(raw))))
    }

    fn remove_files(&self, paths: &[PathBuf]) -> Result<()> {
        for path in paths {
            match std::fs::remove_file(path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::Io(path.display().to_string(), e)),
            }
        }
        Ok(())
    }

    /// The open database, opening it first when needed. `None` when there is nothing stored and
    /// `create` is false (a read of a store never written).
    fn db(&self, create: bool) -> Result<Option<MutexGuard<'_, Option<Connection>>>> {
        let mut guard = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        if guard.is_none() {
            *guard = self.open(create)?;
        }
        Ok(guard.is_some().then_some(guard))
    }

    fn open(&self, create: bool) -> Result<Option<Connection>> {
        let Backing::File(path) = &self.backing else {
            let conn = Connection::open_in_memory().map_err(db_error)?;
            self.prepare(&conn)?;
            return Ok(Some(conn));
        };
        if self.legacy.iter().any(|p| p.exists()) {
            self.say(LEGACY_DROPPED);
            self.remove_files(&self.legacy)?;
        }
        let exists = path.exists();
        let key = match self.key(false)? {
            Some(k) => Some(k),
            None if exists => {
                self.say(UNREADABLE);
                self.remove_files(&self.paths())?;
                None
            }
            None => None,
        };
        let key = match key {
            Some(k) => k,
            None if create => self
                .key(true)?
                .ok_or_else(|| Error::Internal("no store key after creating one".into()))?,
            None => return Ok(None),
        };
        if !exists && !create {
            return Ok(None);
        }
        if let Some(dir) = path.parent() {
            crate::files::private_dir(dir)?;
        }
        match self.open_file(path, &key) {
            Ok(conn) => Ok(Some(conn)),
            Err(reason) => {
                tracing::warn!("the incident store cannot be read: {reason}");
                self.say(UNREADABLE);
                self.remove_files(&self.paths())?;
                if !create {
                    return Ok(None);
                }
                self.open_file(path, &key)
                    .map(Some)
                    .map_err(|e| Error::Io(path.display().to_string(), std::io::Error::other(e)))
            }
        }
    }

    /// Opens the file with the key and brings its schema up to date; `Err` with the reason when
    /// it is not this profile's readable store.
    fn open_file(&self, path: &Path, key: &Secret) -> std::result::Result<Connection, String> {
        let conn = Connection::open(path).map_err(|e| e.to_string())?;
        // The user's only, like every file the app writes; SQLite gives its WAL and shared-memory
        // files the database file's mode.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| e.to_string())?;
        }
        // A raw key: SQLCipher skips its key derivation. The hex is ours, never user text.
        conn.execute_batch(&format!("PRAGMA key = \"x'{}'\";", key.expose()))
            .map_err(|e| e.to_string())?;
        conn.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))
            .map_err(|_| {
                "not readable with this profile's key: torn, tampered or another key".to_owned()
            })?;
        self.prepare(&conn).map_err(|e| e.user_message())?;
        Ok(conn)
    }

    /// Pragmas, migrations, and the owner check.
    fn prepare(&self, conn: &Connection) -> Result<()> {
        conn.busy_timeout(Duration::from_secs(10))
            .map_err(db_error)?;
        // A page cache of up to 4 MiB (SQLite's default is 2): the windows read their rows'
        // pages again as the list scrolls back and forth. The first windows no longer scan an
        // index (schema 6), so a larger cache, 16 MiB until then, would hold memory for nothing.
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -4096;",
        )
        .map_err(db_error)?;
        let version: usize = conn
            .query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))
            .map_err(db_error)? as usize;
        if version > MIGRATIONS.len() {
            return Err(Error::Internal(format!(
                "written by a newer version (schema {version})"
            )));
        }
        if version < MIGRATIONS.len() {
            let tx = conn.unchecked_transaction().map_err(db_error)?;
            for step in &MIGRATIONS[version..] {
                tx.execute_batch(step).map_err(db_error)?;
            }
            if version < ENTITIES_VERSION {
                Self::index_stored_details(&tx)?;
            }
            if version < QUEUE_ROWS_VERSION {
                Self::queue_stored_incidents(&tx)?;
            }
            tx.execute_batch(&format!("PRAGMA user_version = {}", MIGRATIONS.len()))
                .map_err(db_error)?;
            tx.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('profile', ?1)",
                params![self.profile],
            )
            .map_err(db_error)?;
            tx.commit().map_err(db_error)?;
        }
        let owner: Option<String> = conn
            .query_row("SELECT value FROM meta WHERE key = 'profile'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(db_error)?;
        if owner.as_deref() != Some(self.profile.as_str()) {
            return Err(Error::Internal("it belongs to another profile".into()));
        }
        Ok(())
    }

    /// Runs `f` on the open database; `empty` when nothing is stored yet.
    fn read<T>(&self, empty: T, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        match self.db(false)? {
            Some(guard) => f(guard
                .as_ref()
                .ok_or_else(|| Error::Internal("store closed".into()))?),
            None => Ok(empty),
        }
    }

    /// Runs `f` in a transaction, committed when it succeeds. A failure (a full disk) rolls back:
    /// the last committed state stays readable.
    fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut guard = self
            .db(true)?
            .ok_or_else(|| Error::Internal("no incident store".into()))?;
        let conn = guard
            .as_mut()
            .ok_or_else(|| Error::Internal("store closed".into()))?;
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(db_error)?;
        let out = f(&tx)?;
        tx.commit().map_err(db_error)?;
        Ok(out)
    }

    fn meta(conn: &Connection, key: &str) -> Result<Option<String>> {
        conn.query_row("SELECT value FROM meta WHERE key = ?1", params![key], |r| {
            r.get(0)
        })
        .optional()
        .map_err(db_error)
    }

    fn set_meta(tx: &Transaction<'_>, key: &str, value: Option<String>) -> Result<()> {
        match value {
            Some(v) => tx.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![key, v],
            ),
            None => tx.execute("DELETE FROM meta WHERE key = ?1", params![key]),
        }
        .map(|_| ())
        .map_err(db_error)
    }

    /// The sync watermark alone: a sync with nothing new reads nothing else.
    pub fn watermark(&self) -> Result<Option<OffsetDateTime>> {
        self.read(None, |c| {
            Ok(Self::meta(c, "watermark")?
                .as_deref()
                .and_then(crate::incidents::model::parse_time))
        })
    }

    /// Every stored incident, newest update first (to the millisecond the store keeps, then by
    /// ID: as `load` but for two updates in one millisecond), handed to `f` one at a time while
    /// it returns `Ok(true)`: read in the newest-first index's order, so only the incident at
    /// hand is held (`idesk incidents --offline` of 100,000 incidents). One read transaction
    /// serves the whole listing, so it is consistent with itself; while `f` is slow (a pager
    /// that stops reading) the app's writes still go through (WAL), but its checkpoints cannot
    /// shorten the WAL past this read until it ends. An error from `f` ends the read and is
    /// returned.
    pub fn each_newest_first(&self, mut f: impl FnMut(Incident) -> Result<bool>) -> Result<()> {
        self.read((), |c| {
            let mut failed = None;
            Self::each_text(
                c,
                "SELECT body FROM incidents ORDER BY last_update DESC, id",
                |body| match stored::incident(body) {
                    Some(i) => f(i).unwrap_or_else(|e| {
                        failed = Some(e);
                        false
                    }),
                    None => {
                        tracing::warn!("an unreadable incident in the store was skipped");
                        true
                    }
                },
            )?;
            failed.map_or(Ok(()), Err)
        })
    }

    /// Every stored incident of several stores, newest update first across them (to the
    /// millisecond, then by ID, then in the order of `stores`), handed to `f` with the number of
    /// its store while it returns `Ok(true)`. Each store is read by `each_newest_first` on a
    /// thread of its own, a few incidents ahead of the merge, so the listing holds a few
    /// incidents per store however many they hold (`idesk incidents --all-profiles --offline`).
    /// A store that fails partway ends its own list: the others' incidents are still handed
    /// over, and the error is returned at the end.
    pub fn each_newest_first_across(
        stores: &[&Cache],
        mut f: impl FnMut(usize, Incident) -> Result<bool>,
    ) -> Result<()> {
        /// How far each store's reader reads ahead of the merge.
        const AHEAD: usize = 64;
        fn newest_first(i: &Incident) -> (std::cmp::Reverse<Option<i64>>, &str) {
            (std::cmp::Reverse(millis(i.last_update)), &i.id)
        }
        std::thread::scope(|scope| {
            let mut readers = Vec::with_capacity(stores.len());
            let mut channels = Vec::with_capacity(stores.len());
            for &cache in stores {
                let (tx, rx) = std::sync::mpsc::sync_channel::<Incident>(AHEAD);
                // A send fails once the merge has stopped: the reader stops too.
                readers
                    .push(scope.spawn(move || cache.each_newest_first(|i| Ok(tx.send(i).is_ok()))));
                channels.push(rx);
            }
            // Every reader opens its store at once; each one's first incident heads its list.
            let mut heads: Vec<_> = channels
                .into_iter()
                .map(|rx| {
                    let first = rx.recv().ok();
                    (rx, first)
                })
                .collect();
            let mut failed = None;
            loop {
                let next = heads
                    .iter()
                    .enumerate()
                    .filter_map(|(k, (_, head))| head.as_ref().map(|i| (newest_first(i), k)))
                    .min();
                let Some((_, k)) = next else { break };
                let (rx, head) = &mut heads[k];
                let Some(incident) = std::mem::replace(head, rx.recv().ok()) else {
                    break;
                };
                match f(k, incident) {
                    Ok(true) => {}
                    Ok(false) => break,
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                }
            }
            drop(heads);
            let mut result = failed.map_or(Ok(()), Err);
            for reader in readers {
                let read = reader.join().unwrap_or_else(|panic| {
                    let why = panic
                        .downcast_ref::<&str>()
                        .map(|s| (*s).to_owned())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_default();
                    Err(Error::Internal(format!("a store's reader stopped: {why}")))
                });
                if result.is_ok() {
                    result = read;
                }
            }
            result
        })
    }

    /// The store's sync state without its incidents: the watermark, the last sync's time and
    /// account (what the app shows before the queue).
    pub fn status(&self) -> Result<Snapshot> {
        self.read(Snapshot::default(), Self::status_from)
    }

    fn status_from(c: &Connection) -> Result<Snapshot> {
        let time = |k: &str| -> Result<Option<OffsetDateTime>> {
            Ok(Self::meta(c, k)?
                .as_deref()
                .and_then(crate::incidents::model::parse_time))
        };
        Ok(Snapshot {
            watermark: time("watermark")?,
            synced_at: time("synced_at")?,
            account: Self::meta(c, "account")?
                .as_deref()
                .and_then(stored::account),
            incidents: Vec::new(),
        })
    }

    /// The stored queue, newest first; empty when there is none.
    pub fn load(&self) -> Result<Snapshot> {
        self.read(Snapshot::default(), Self::load_from)
    }

    /// The queue's index of every stored incident and the entities their details name, read on
    /// a connection of its own: it is built in the background, and a read of the whole store on
    /// the shared connection would hold up the window's queries until it ends. Session-only
    /// stores, in memory, read the shared one.
    ///
    /// The rows come in the table's own order, unsorted (the index sorts): read through an
    /// index, each row is a random page read, and a page decrypted again once the page cache is
    /// full, about six times slower at 100,000 incidents. The file's rows are read on one
    /// thread while a second parses and indexes them.
    pub fn queue_index(&self, generation: u32) -> Result<QueueIndex> {
        let Backing::File(path) = &self.backing else {
            return self.read(QueueIndex::new(&[], generation), |c| {
                let mut index =
                    QueueIndex::filling(Self::entities_from(c)?, generation, Self::rows(c)?);
                Self::each_queue_row(c, |row| {
                    stored::indexed(row, |i| index.push_fields(i));
                    true
                })?;
                Ok(index.finish())
            });
        };
        // The shared connection opens (and migrates) the store first.
        if self.db(false)?.is_none() {
            return Ok(QueueIndex::new(&[], generation));
        }
        let key = self
            .key(false)?
            .ok_or_else(|| Error::Internal("the store's key is gone from the keychain".into()))?;
        let conn = Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(db_error)?;
        conn.execute_batch(&format!("PRAGMA key = \"x'{}'\";", key.expose()))
            .map_err(db_error)?;
        conn.busy_timeout(Duration::from_secs(10))
            .map_err(db_error)?;
        // One read transaction for the entities and the rows: one state of the store.
        conn.execute_batch("BEGIN").map_err(db_error)?;
        let mut index =
            QueueIndex::filling(Self::entities_from(&conn)?, generation, Self::rows(&conn)?);
        // Rows cross in batches of one buffer each (their text end to end, and where each
        // ends): a few allocations per batch instead of one per row, and buffers large enough
        // to go back to the system once parsed. Small in tests, so that they hand over several.
        const BATCH: usize = if cfg!(test) { 4 << 10 } else { 256 << 10 };
        let (send, batches) = std::sync::mpsc::sync_channel::<(String, Vec<usize>)>(4);
        let read = move || {
            let fresh = || (String::with_capacity(BATCH + 4096), Vec::new());
            let (mut text, mut ends) = fresh();
            Self::each_queue_row(&conn, |row| {
                text.push_str(row);
                ends.push(text.len());
                if text.len() < BATCH {
                    return true;
                }
                let (t, e) = fresh();
                send.send((
                    std::mem::replace(&mut text, t),
                    std::mem::replace(&mut ends, e),
                ))
                .is_ok()
            })?;
            // Nobody listens only when the indexing has stopped, which says so itself.
            let _ = send.send((text, ends));
            conn.execute_batch("COMMIT").map_err(db_error)
        };
        let fill = move || {
            let mut unreadable = 0usize;
            for (text, ends) in batches {
                let mut start = 0;
                for end in ends {
                    if !stored::indexed(&text[start..end], |i| index.push_fields(i)) {
                        unreadable += 1;
                    }
                    start = end;
                }
            }
            if unreadable > 0 {
                tracing::warn!("{unreadable} unreadable incident(s) in the store were skipped");
            }
            index
        };
        let stopped = |what: &str| Error::Internal(format!("the store's {what} stopped"));
        let index = std::thread::scope(|s| {
            let reader = s.spawn(read);
            let filled = s.spawn(fill).join().map_err(|_| stopped("indexer"));
            reader.join().map_err(|_| stopped("reader"))??;
            filled
        })?;
        Ok(index.finish())
    }

    /// How many rows the store holds, merged ones too: the kept count and a seek.
    fn rows(c: &Connection) -> Result<usize> {
        c.query_row(
            &format!(
                "SELECT ({COUNT_SHOWN}) + (SELECT count(*) FROM incidents WHERE status = 'redirected')"
            ),
            [],
            |r| r.get::<_, i64>(0),
        )
        .map(|n| usize::try_from(n).unwrap_or(0))
        .map_err(db_error)
    }

    /// Calls `f` with what the queue's index reads of every stored incident (`queue_rows`,
    /// schema 6), while it says go on.
    fn each_queue_row(c: &Connection, f: impl FnMut(&str) -> bool) -> Result<()> {
        Self::each_text(c, "SELECT row FROM queue_rows", f)
    }

    /// Calls `f` with every stored incident's body, in the table's order, while it says go on.
    fn each_body(c: &Connection, f: impl FnMut(&str) -> bool) -> Result<()> {
        Self::each_text(c, "SELECT body FROM incidents", f)
    }

    /// Calls `f` with each row's one text column of `sql`, while it says go on.
    fn each_text(c: &Connection, sql: &str, mut f: impl FnMut(&str) -> bool) -> Result<()> {
        let mut stmt = c.prepare(sql).map_err(db_error)?;
        let mut rows = stmt.query([]).map_err(db_error)?;
        while let Some(row) = rows.next().map_err(db_error)? {
            let text = row
                .get_ref(0)
                .and_then(|v| v.as_str().map_err(Into::into))
                .map_err(db_error)?;
            if !f(text) {
                break;
            }
        }
        Ok(())
    }

    /// The whole store, newest update first (then by ID): the rows are read in the table's
    /// order and sorted here (see `queue_index`).
    fn load_from(c: &Connection) -> Result<Snapshot> {
        let mut incidents = Vec::new();
        Self::each_body(c, |body| {
            match stored::incident(body) {
                Some(i) => incidents.push(i),
                None => tracing::warn!("an unreadable incident in the store was skipped"),
            }
            true
        })?;
        incidents.sort_by(|a, b| {
            b.last_update
                .cmp(&a.last_update)
                .then_with(|| a.id.cmp(&b.id))
        });
        Ok(Snapshot {
            incidents,
            ..Self::status_from(c)?
        })
    }

    /// Writes incidents that are new or differ from the stored ones, one row each, with their
    /// text index; returns where in `incidents` those written are, in order.
    fn upsert(
        tx: &Transaction<'_>,
        incidents: &[Incident],
        feed: Option<&Feed>,
    ) -> Result<Vec<usize>> {
        let mut current = tx
            .prepare_cached("SELECT rowid, body FROM incidents WHERE id = ?1")
            .map_err(db_error)?;
        let mut put = tx
            .prepare_cached(
                "INSERT INTO incidents (id, last_update, created, severity, status, assigned_to, classification, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (id) DO UPDATE SET last_update = excluded.last_update,
                   created = excluded.created, severity = excluded.severity, status = excluded.status,
                   assigned_to = excluded.assigned_to, classification = excluded.classification,
                   body = excluded.body
                 RETURNING rowid",
            )
            .map_err(db_error)?;
        let mut queue = tx.prepare_cached(PUT_QUEUE_ROW).map_err(db_error)?;
        let mut unindex = tx
            .prepare_cached("DELETE FROM incidents_text WHERE rowid = ?1")
            .map_err(db_error)?;
        let mut index = tx
            .prepare_cached(
                "INSERT INTO incidents_text (rowid, title, tags, comments) VALUES (?1, ?2, ?3, ?4)",
            )
            .map_err(db_error)?;
        let mut written = Vec::new();
        for (k, i) in incidents.iter().enumerate() {
            let body = stored::incident_json(i)?;
            let before: Option<(i64, String)> = current
                .query_row(params![i.id], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
                .map_err(db_error)?;
            if before.as_ref().is_some_and(|(_, b)| *b == body) {
                continue;
            }
            if let Some(feed) = feed {
                let old = before.as_ref().and_then(|(_, b)| stored::incident(b));
                for c in crate::incidents::changes::diff(
                    old.as_ref(),
                    Some(i),
                    feed.me.as_deref(),
                    feed.at,
                ) {
                    Self::record(tx, &c)?;
                }
            }
            let rowid: i64 = put
                .query_row(
                    params![
                        i.id,
                        millis(i.last_update),
                        millis(i.created),
                        i.severity.as_str(),
                        i.status.as_str(),
                        i.assigned_to,
                        i.classification.as_str(),
                        body
                    ],
                    |r| r.get(0),
                )
                .map_err(db_error)?;
            queue
                .execute(params![rowid, stored::queue_row(i)?])
                .map_err(db_error)?;
            if before.is_some() {
                unindex.execute(params![rowid]).map_err(db_error)?;
            }
            let comments: Vec<&str> = i.comments.iter().map(|c| c.text.as_str()).collect();
            index
                .execute(params![
                    rowid,
                    i.display_name,
                    i.tags.join(" "),
                    comments.join("\n")
                ])
                .map_err(db_error)?;
            written.push(k);
        }
        Ok(written)
    }

    /// One page of a sync, kept at once in its own transaction: an interrupted sync keeps what it
    /// had. With `advance` (a listing oldest change first), the watermark moves to the page's
    /// newest `lastUpdate`, so the next sync resumes after it. Returns where in `incidents` the
    /// rows written are.
    ///
    /// Once the store has held a complete sync, what a page changes is recorded in the change
    /// feed (the first sync's incidents are not news).
    pub fn put_page(&self, incidents: &[Incident], advance: bool) -> Result<Vec<usize>> {
        self.write(|tx| {
            let feed = Self::feed(tx)?;
            let written = Self::upsert(tx, incidents, feed.as_ref())?;
            if feed.is_some() && !written.is_empty() {
                Self::trim_changes(tx)?;
            }
            if advance {
                let old = Self::meta(tx, "watermark")?
                    .as_deref()
                    .and_then(crate::incidents::model::parse_time);
                let newest = incidents.iter().filter_map(|i| i.last_update).max();
                if let Some(w) = newest.max(old) {
                    Self::set_meta(tx, "watermark", Some(crate::incidents::model::rfc3339(w)))?;
                }
            }
            Ok(written)
        })
    }

    /// The end of a complete sync: the watermark moves to the newest `lastUpdate` held, and the
    /// sync's time and account are kept.
    pub fn finish_sync(
        &self,
        synced_at: OffsetDateTime,
        account: Option<&Account>,
    ) -> Result<Merged> {
        self.merge(&[], synced_at, account)
    }

    /// A sync's result: the fetched incidents merged by id (only changed rows written), the
    /// watermark moved to the newest `lastUpdate` held, the sync time and account kept. One
    /// transaction: all of it, or (on failure) none of it.
    pub fn merge(
        &self,
        fetched: &[Incident],
        synced_at: OffsetDateTime,
        account: Option<&Account>,
    ) -> Result<Merged> {
        self.write(|tx| {
            let changed = Self::upsert(tx, fetched, None)?.len();
            let newest: Option<i64> = tx
                .query_row("SELECT max(last_update) FROM incidents", [], |r| r.get(0))
                .map_err(db_error)?;
            let newest = newest.and_then(|ms| {
                OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
            });
            let old = Self::meta(tx, "watermark")?
                .as_deref()
                .and_then(crate::incidents::model::parse_time);
            let watermark = newest.max(old);
            Self::set_meta(
                tx,
                "watermark",
                watermark.map(crate::incidents::model::rfc3339),
            )?;
            Self::set_meta(
                tx,
                "synced_at",
                Some(crate::incidents::model::rfc3339(synced_at)),
            )?;
            if let Some(a) = account {
                Self::set_meta(tx, "account", Some(stored::account_json(a)?))?;
            }
            let total: i64 = tx
                .query_row(COUNT_SHOWN, [], |r| r.get(0))
                .map_err(db_error)?;
            Ok(Merged {
                changed,
                total: total as usize,
            })
        })
    }

    /// Replaces everything with `snapshot` (tests and imports; a sync uses `merge`).
    pub fn save(&self, snapshot: &Snapshot) -> Result<()> {
        self.write(|tx| {
            tx.execute_batch("DELETE FROM incidents; DELETE FROM incidents_text;")
                .map_err(db_error)?;
            Self::upsert(tx, &snapshot.incidents, None)?;
            Self::set_meta(
                tx,
                "watermark",
                snapshot.watermark.map(crate::incidents::model::rfc3339),
            )?;
            Self::set_meta(
                tx,
                "synced_at",
                snapshot.synced_at.map(crate::incidents::model::rfc3339),
            )?;
            let account = snapshot
                .account
                .as_ref()
                .map(stored::account_json)
                .transpose()?;
            Self::set_meta(tx, "account", account)
        })
    }

    /// A written incident, so the queue shows it at once: one row.
    pub fn put(&self, incident: &Incident) -> Result<()> {
        self.write(|tx| Self::upsert(tx, std::slice::from_ref(incident), None).map(|_| ()))
    }

    /// The change feed's context for a sync's pages: recording only once a complete sync is
    /// held, labelled for the account of the last sync.
    fn feed(tx: &Transaction<'_>) -> Result<Option<Feed>> {
        if Self::meta(tx, "synced_at")?.is_none() {
            return Ok(None);
        }
        let me = Self::meta(tx, "account")?
            .as_deref()
            .and_then(stored::account)
            .and_then(|a| a.username);
        Ok(Some(Feed {
            me,
            at: OffsetDateTime::now_utc(),
        }))
    }

    fn record(tx: &Transaction<'_>, c: &Change) -> Result<()> {
        tx.prepare_cached("INSERT INTO changes (incident_id, at, body) VALUES (?1, ?2, ?3)")
            .map_err(db_error)?
            .execute(params![
                c.incident_id,
                millis(Some(c.at)),
                serde_json::to_string(c).map_err(|e| Error::Internal(e.to_string()))?
            ])
            .map_err(db_error)?;
        Ok(())
    }

    fn trim_changes(tx: &Transaction<'_>) -> Result<()> {
        tx.execute(
            "DELETE FROM changes WHERE seq <= (SELECT max(seq) FROM changes) - ?1",
            params![KEEP_CHANGES],
        )
        .map_err(db_error)?;
        Ok(())
    }

    /// The change feed, newest first: changes seen after `since` (or all kept), at most `limit`.
    pub fn changes(&self, since: Option<OffsetDateTime>, limit: usize) -> Result<Vec<Change>> {
        let since = millis(since).unwrap_or(i64::MIN);
        self.read(Vec::new(), |c| {
            Self::select_changes(
                c,
                "SELECT seq, seen, body FROM changes WHERE at >= ?1 ORDER BY seq DESC LIMIT ?2",
                params![since, limit as i64],
            )
        })
    }

    /// The changes recorded for one incident, newest first (its timeline).
    pub fn changes_of(&self, id: &str, limit: usize) -> Result<Vec<Change>> {
        self.read(Vec::new(), |c| {
            Self::select_changes(
                c,
                "SELECT seq, seen, body FROM changes WHERE incident_id = ?1 ORDER BY seq DESC LIMIT ?2",
                params![id, limit as i64],
            )
        })
    }

    fn select_changes(
        c: &Connection,
        sql: &str,
        args: impl rusqlite::Params,
    ) -> Result<Vec<Change>> {
        let mut stmt = c.prepare(sql).map_err(db_error)?;
        let rows = stmt
            .query_map(args, |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, bool>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .map_err(db_error)?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, seen, body) = row.map_err(db_error)?;
            match serde_json::from_str::<Change>(&body) {
                Ok(change) => out.push(Change {
                    seq,
                    seen,
                    ..change
                }),
                Err(_) => tracing::warn!("an unreadable change in the store was skipped"),
            }
        }
        Ok(out)
    }

    /// The stored JSON of one incident (`INCIDENT_BODY`) or its details (`DETAIL_BODY`).
    fn body(conn: &Connection, sql: &str, id: &str) -> Result<Option<String>> {
        conn.query_row(sql, params![id], |r| r.get(0))
            .optional()
            .map_err(db_error)
    }

    /// One stored incident.
    pub fn get(&self, id: &str) -> Result<Option<Incident>> {
        Ok(self.incidents(&[id.to_owned()])?.pop().flatten())
    }

    /// The stored incidents with these IDs, in this order; `None` for one the store no longer
    /// holds (forgotten since it was asked for). A window's rows: the queue's index holds none.
    pub fn incidents(&self, ids: &[String]) -> Result<Vec<Option<Incident>>> {
        self.read(vec![None; ids.len()], |c| {
            let mut stmt = c.prepare_cached(INCIDENT_BODY).map_err(db_error)?;
            ids.iter()
                .map(|id| {
                    let body: Option<String> = stmt
                        .query_row(params![id], |r| r.get(0))
                        .optional()
                        .map_err(db_error)?;
                    Ok(body.as_deref().and_then(stored::incident))
                })
                .collect()
        })
    }

    /// How many incidents the store holds, merged ones left out (as the queue counts).
    pub fn count(&self) -> Result<usize> {
        self.read(0, |c| {
            c.query_row(COUNT_SHOWN, [], |r| r.get::<_, i64>(0))
                .map(|n| n as usize)
                .map_err(db_error)
        })
    }

    /// A window of a simple query (`QueueQuery::simple`) straight from the table and its
    /// indexes, without reading every incident: what the app shows while the queue's index is
    /// built. No facets, generation 0 (the window asks again for them).
    pub fn window(&self, q: &QueueQuery, now: OffsetDateTime) -> Result<QueuePage> {
        use rusqlite::types::Value;
        let f = &q.filter;
        // The filter twice, with the same arguments: over the incidents, and over the kept
        // counts (`queue_counts`), which answer it unless it asks for a time range.
        let mut clauses: Vec<String> = Vec::new();
        let mut counts: Vec<String> = Vec::new();
        let mut countable = true;
        let mut args: Vec<Value> = Vec::new();
        let mut list = |column: &str, values: &[String], clauses: &mut Vec<String>| {
            if !values.is_empty() {
                let marks = vec!["?"; values.len()].join(", ");
                clauses.push(format!("{column} IN ({marks})"));
                args.extend(values.iter().map(|v| Value::Text(v.clone())));
            }
        };
        // As the queue's index: merged incidents only when asked for, beside any others.
        let merged = Status::Redirected.as_str();
        let show_merged = f.show_merged || f.statuses.iter().any(|s| s == merged);
        match (f.statuses.is_empty(), show_merged) {
            (true, false) => clauses.push(NOT_MERGED.into()),
            (true, true) => {}
            (false, false) => list("status", &f.statuses, &mut clauses),
            (false, true) => {
                let mut statuses = f.statuses.clone();
                statuses.push(merged.to_owned());
                list("status", &statuses, &mut clauses);
            }
        }
        list("severity", &f.severities, &mut clauses);
        counts.clone_from(&clauses);
        match f.assignment {
            Assignment::Any => {}
            Assignment::Unassigned => {
                clauses.push("assigned_to IS NULL".into());
                counts.push("unassigned = 1".into());
            }
            Assignment::Mine => {
                clauses.push("lower(assigned_to) = lower(?)".into());
                counts.push("unassigned = 0 AND assignee = lower(?)".into());
                args.push(q.me.clone().map_or(Value::Null, Value::Text));
            }
        }
        if let Some(h) = f.updated_within_hours {
            clauses.push("last_update >= ?".into());
            countable = false;
            let since = now - time::Duration::hours(i64::from(h));
            args.push(millis(Some(since)).map_or(Value::Null, Value::Integer));
        }
        let filter = if clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", clauses.join(" AND "))
        };
        let count = if countable {
            let filter = if counts.is_empty() {
                String::new()
            } else {
                format!("WHERE {}", counts.join(" AND "))
            };
            format!("SELECT coalesce(sum(n), 0) FROM queue_counts {filter}")
        } else {
            format!("SELECT count(*) FROM incidents INDEXED BY incidents_filtered {filter}")
        };
        let limit = i64::from(q.limit.min(crate::incidents::queue::MAX_WINDOW));
        self.read(
            QueuePage {
                total: 0,
                matched: 0,
                offset: q.offset,
                rows: Vec::new(),
                tags: Vec::new(),
                sources: Vec::new(),
                generation: 0,
                profiles: Vec::new(),
            },
            |c| {
                let total: i64 = c
                    .query_row(COUNT_SHOWN, [], |r| r.get(0))
                    .map_err(db_error)?;
                let matched: i64 = c
                    .query_row(&count, rusqlite::params_from_iter(args.iter()), |r| {
                        r.get(0)
                    })
                    .map_err(db_error)?;
                let mut page_args = args.clone();
                page_args.push(Value::Integer(limit));
                page_args.push(Value::Integer(i64::from(q.offset)));
                // The window's rows are picked from the newest-first index, which holds the
                // filtered columns: read in order, it stops at the window's last row. When few
                // incidents match (a rare status, a light "mine"), that read would walk most of
                // it: they are found in the filtered index and sorted instead. Then only the
                // rows' bodies are read.
                let few = countable && matched <= 4 * (limit + i64::from(q.offset));
                let picked = if few {
                    "incidents_filtered"
                } else {
                    "incidents_recent"
                };
                let mut stmt = c
                    .prepare(&format!(
                        "SELECT body FROM incidents WHERE rowid IN (
                           SELECT rowid FROM incidents INDEXED BY {picked} {filter}
                           ORDER BY last_update DESC, id LIMIT ? OFFSET ?)
                         ORDER BY last_update DESC, id"
                    ))
                    .map_err(db_error)?;
                let rows = stmt
                    .query_map(rusqlite::params_from_iter(page_args.iter()), |r| {
                        r.get::<_, String>(0)
                    })
                    .map_err(db_error)?;
                let mut out = Vec::new();
                for body in rows {
                    if let Some(i) = stored::incident(&body.map_err(db_error)?) {
                        out.push(i);
                    }
                }
                Ok(QueuePage {
                    total: total as u32,
                    matched: matched as u32,
                    offset: q.offset,
                    rows: out,
                    tags: Vec::new(),
                    sources: Vec::new(),
                    generation: 0,
                    profiles: Vec::new(),
                })
            },
        )
    }

    /// The newest change's number (0 when there is none).
    pub fn latest_seq(&self) -> Result<i64> {
        self.read(0, |c| {
            c.query_row("SELECT coalesce(max(seq), 0) FROM changes", [], |r| {
                r.get(0)
            })
            .map_err(db_error)
        })
    }

    /// The changes recorded after change `seq`, newest first.
    pub fn changes_after(&self, seq: i64) -> Result<Vec<Change>> {
        Ok(self
            .changes(None, KEEP_CHANGES as usize)?
            .into_iter()
            .take_while(|c| c.seq > seq)
            .collect())
    }

    /// Active and in-progress incidents, most recently updated first, whose details were never
    /// fetched or were fetched before their last update: what the background sync fetches.
    pub fn stale_details(&self, limit: usize) -> Result<Vec<String>> {
        self.read(Vec::new(), |c| {
            let mut stmt = c
                .prepare(
                    "SELECT i.id FROM incidents i LEFT JOIN details d ON d.incident_id = i.id
                     WHERE i.status IN ('active', 'inProgress')
                       AND (d.seen_update IS NULL OR d.seen_update < i.last_update)
                     ORDER BY i.last_update DESC LIMIT ?1",
                )
                .map_err(db_error)?;
            let ids = stmt
                .query_map(params![limit as i64], |r| r.get::<_, String>(0))
                .map_err(db_error)?
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(db_error)?;
            Ok(ids)
        })
    }

    /// How many changes the analyst has not seen.
    pub fn unseen(&self) -> Result<usize> {
        self.read(0, |c| {
            c.query_row("SELECT count(*) FROM changes WHERE seen = 0", [], |r| {
                r.get::<_, i64>(0)
            })
            .map(|n| n as usize)
            .map_err(db_error)
        })
    }

    /// Marks every change up to `seq` (all, with `None`) as seen.
    pub fn mark_seen(&self, up_to: Option<i64>) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE changes SET seen = 1 WHERE seen = 0 AND seq <= ?1",
                params![up_to.unwrap_or(i64::MAX)],
            )
            .map_err(db_error)?;
            Ok(())
        })
    }

    /// An incident the tenant no longer returns (deleted, merged away, out of scope): its row
    /// and details leave the store, and the feed says so. Returns whether it was held.
    pub fn forget(&self, id: &str) -> Result<bool> {
        self.write(|tx| {
            let before: Option<(i64, String)> = tx
                .query_row(
                    "SELECT rowid, body FROM incidents WHERE id = ?1",
                    params![id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(db_error)?;
            let Some((rowid, body)) = before else {
                return Ok(false);
            };
            if let Some(feed) = Self::feed(tx)? {
                let old = stored::incident(&body);
                for c in
                    crate::incidents::changes::diff(old.as_ref(), None, feed.me.as_deref(), feed.at)
                {
                    Self::record(tx, &c)?;
                }
            }
            tx.execute(
                "DELETE FROM incidents_text WHERE rowid = ?1",
                params![rowid],
            )
            .map_err(db_error)?;
            tx.execute("DELETE FROM incidents WHERE rowid = ?1", params![rowid])
                .map_err(db_error)?;
            tx.execute("DELETE FROM details WHERE incident_id = ?1", params![id])
                .map_err(db_error)?;
            tx.execute("DELETE FROM entities WHERE incident_id = ?1", params![id])
                .map_err(db_error)?;
            Ok(true)
        })
    }

    /// The ids of the incidents whose title, tags or comments match `query` (FTS5 syntax, each
    /// word a prefix), best match first.
    pub fn search(&self, query: &str) -> Result<Vec<String>> {
        let terms: Vec<String> = query
            .split_whitespace()
            .map(|w| format!("\"{}\"*", w.replace('"', "\"\"")))
            .collect();
        if terms.is_empty() {
            return Ok(Vec::new());
        }
        self.read(Vec::new(), |c| {
            let mut stmt = c
                .prepare(
                    "SELECT i.id FROM incidents_text t JOIN incidents i ON i.rowid = t.rowid
                     WHERE incidents_text MATCH ?1 ORDER BY rank",
                )
                .map_err(db_error)?;
            let ids = stmt
                .query_map(params![terms.join(" ")], |r| r.get(0))
                .map_err(db_error)?
                .collect::<std::result::Result<Vec<String>, _>>()
                .map_err(db_error)?;
            Ok(ids)
        })
    }

    /// The alerts (with evidence) and texts of one incident opened before.
    pub fn detail(&self, id: &str) -> Result<Option<StoredDetail>> {
        self.read(None, |c| {
            Ok(Self::body(c, DETAIL_BODY, id)?
                .as_deref()
                .and_then(stored::detail))
        })
    }

    /// Every incident's stored alerts.
    pub fn load_details(&self) -> Result<Details> {
        self.read(HashMap::new(), |c| {
            let mut stmt = c
                .prepare("SELECT incident_id, body FROM details")
                .map_err(db_error)?;
            let rows = stmt
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
                .map_err(db_error)?;
            let mut all = HashMap::new();
            for row in rows {
                let (id, body) = row.map_err(db_error)?;
                if let Some(d) = stored::detail(&body) {
                    all.insert(id, d.alerts);
                }
            }
            Ok(all)
        })
    }

    /// Keeps an incident's alerts and texts for offline review: one row.
    pub fn save_detail(&self, id: &str, detail: &IncidentDetail) -> Result<()> {
        let body = stored::detail_json(detail)?;
        let alerts = &detail.alerts;
        self.write(|tx| {
            let before = Self::body(tx, DETAIL_BODY, id)?;
            // Alerts the stored detail did not have are news (when there was a stored detail to
            // compare with: a first look at an incident is not).
            if let (Some(before), Some(feed)) = (before.as_deref(), Self::feed(tx)?) {
                let known: std::collections::HashSet<String> = stored::detail(before)
                    .unwrap_or_default()
                    .alerts
                    .into_iter()
                    .map(|a| a.id)
                    .collect();
                let new = alerts.iter().filter(|a| !known.contains(&a.id)).count();
                let incident = Self::body(tx, INCIDENT_BODY, id)?;
                if let (true, Some(i)) = (new > 0, incident.as_deref().and_then(stored::incident)) {
                    let c =
                        crate::incidents::changes::new_alerts(&i, new, feed.me.as_deref(), feed.at);
                    Self::record(tx, &c)?;
                }
            }
            tx.execute(
                "INSERT INTO details (incident_id, body, seen_update)
                 VALUES (?1, ?2, (SELECT last_update FROM incidents WHERE id = ?1))
                 ON CONFLICT (incident_id) DO UPDATE SET body = excluded.body,
                   seen_update = excluded.seen_update",
                params![id, body],
            )
            .map_err(db_error)?;
            Self::index_entities(tx, id, alerts)
        })
    }

    /// The queue's row of every incident stored before schema 6.
    fn queue_stored_incidents(tx: &Connection) -> Result<()> {
        let mut put = tx.prepare(PUT_QUEUE_ROW).map_err(db_error)?;
        let mut read = tx
            .prepare("SELECT rowid, body FROM incidents")
            .map_err(db_error)?;
        let mut rows = read.query([]).map_err(db_error)?;
        let mut unreadable = 0usize;
        while let Some(r) = rows.next().map_err(db_error)? {
            let rowid: i64 = r.get(0).map_err(db_error)?;
            let body = r
                .get_ref(1)
                .and_then(|v| v.as_str().map_err(Into::into))
                .map_err(db_error)?;
            let Some(i) = stored::incident(body) else {
                unreadable += 1;
                continue;
            };
            put.execute(params![rowid, stored::queue_row(&i)?])
                .map_err(db_error)?;
        }
        if unreadable > 0 {
            tracing::warn!(
                "{unreadable} unreadable incident(s) in the store left out of the queue"
            );
        }
        Ok(())
    }

    /// The entity index of every stored detail, from the details (a migration).
    fn index_stored_details(tx: &Connection) -> Result<()> {
        let mut stmt = tx
            .prepare("SELECT incident_id, body FROM details")
            .map_err(db_error)?;
        let rows: Vec<(String, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(db_error)?
            .collect::<std::result::Result<_, _>>()
            .map_err(db_error)?;
        for (id, body) in rows {
            if let Some(d) = stored::detail(&body) {
                Self::index_entities(tx, &id, &d.alerts)?;
            }
        }
        Ok(())
    }

    /// Replaces one incident's entries in the entity index with what `alerts` name.
    fn index_entities(tx: &Connection, id: &str, alerts: &[Alert]) -> Result<()> {
        tx.execute("DELETE FROM entities WHERE incident_id = ?1", params![id])
            .map_err(db_error)?;
        let mut insert = tx
            .prepare_cached(
                "INSERT OR IGNORE INTO entities (kind, value, incident_id) VALUES (?1, ?2, ?3)",
            )
            .map_err(db_error)?;
        for (kind, value) in alerts
            .iter()
            .flat_map(|a| &a.evidence)
            .flat_map(Evidence::pivots)
        {
            insert.execute(params![kind, value, id]).map_err(db_error)?;
        }
        Ok(())
    }

    /// Every incident's indexed entity values (for the queue's search).
    pub fn entity_values(&self) -> Result<HashMap<String, Vec<String>>> {
        self.read(HashMap::new(), Self::entities_from)
    }

    fn entities_from(c: &Connection) -> Result<EntityValues> {
        let mut stmt = c
            .prepare("SELECT incident_id, value FROM entities ORDER BY incident_id")
            .map_err(db_error)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(db_error)?;
        let mut all: HashMap<String, Vec<String>> = HashMap::new();
        for row in rows {
            let (id, value) = row.map_err(db_error)?;
            all.entry(id).or_default().push(value);
        }
        Ok(all)
    }

    /// For each entity `alerts` name, the other stored incidents that name it too, updated since
    /// `since` (merged ones left out): how many, how many true positives, and the most recent few.
    pub fn pivots(&self, id: &str, alerts: &[Alert], since: OffsetDateTime) -> Result<Vec<Pivot>> {
        let mut wanted: Vec<(String, String, String)> = Vec::new();
        for e in alerts.iter().flat_map(|a| &a.evidence) {
            for (kind, value) in e.pivots() {
                if !wanted.iter().any(|(_, k, v)| *k == kind && *v == value) {
                    wanted.push((e.key.clone(), kind, value));
                }
            }
        }
        let since = millis(Some(since)).unwrap_or(i64::MIN);
        self.read(Vec::new(), |c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT i.id, i.classification, i.body FROM entities e
                     JOIN incidents i ON i.id = e.incident_id
                     WHERE e.kind = ?1 AND e.value = ?2 AND e.incident_id <> ?3
                       AND i.status <> 'redirected' AND i.last_update >= ?4
                     ORDER BY i.last_update DESC, i.id",
                )
                .map_err(db_error)?;
            let mut out = Vec::new();
            for (evidence_key, kind, value) in wanted {
                let rows = stmt
                    .query_map(params![kind, value, id, since], |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                        ))
                    })
                    .map_err(db_error)?;
                let mut pivot = Pivot {
                    evidence_key,
                    kind,
                    value,
                    others: 0,
                    true_positives: 0,
                    recent: Vec::new(),
                };
                for row in rows {
                    let (other, classification, body) = row.map_err(db_error)?;
                    pivot.others += 1;
                    if classification == Classification::TruePositive.as_str() {
                        pivot.true_positives += 1;
                    }
                    if pivot.recent.len() < PIVOT_RECENT {
                        if let Some(i) = stored::incident(&body) {
                            pivot.recent.push(Related {
                                id: other,
                                display_name: i.display_name,
                                classification: i.classification,
                            });
                        }
                    }
                }
                if pivot.others > 0 {
                    out.push(pivot);
                }
            }
            Ok(out)
        })
    }

    /// Removes the stored incidents and details: the database, its WAL, any earlier version's
    /// files, and the key.
    pub fn wipe(&self) -> Result<()> {
        let mut guard = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(conn) = guard.take() {
            let _ = conn.close();
        }
        self.remove_files(&self.paths())?;
        self.remove_files(&self.legacy)?;
        self.store.delete(&self.key_name())
    }
}

/// The stored form of an incident, its alerts and the account: JSON in the store's rows, separate
/// from the model the UI sees, so renaming a field the UI sees cannot empty every store. Field
/// names are those of the earlier cache files. Times are kept as RFC 3339 text and read leniently.
mod stored {
    use std::borrow::Cow;

    use serde::{Deserialize, Serialize};

    use crate::auth::oidc::Account;
    use crate::error::{Error, Result};
    use crate::incidents::model::{
        parse_time, rfc3339, Alert, Comment, Evidence, Incident, IncidentDetail, Severity, Status,
    };
    use crate::incidents::queue::Fields;

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
        #[serde(
            default,
            rename = "priorityScore",
            skip_serializing_if = "Option::is_none"
        )]
        priority_score: Option<u32>,
        #[serde(
            default,
            rename = "lastModifiedBy",
            skip_serializing_if = "Option::is_none"
        )]
        last_modified_by: Option<String>,
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
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        recommended_actions: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detection_source: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        threat: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        actor: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        first_activity: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_activity: Option<String>,
    }

    #[derive(Serialize, Deserialize)]
    struct StoredEvidence {
        kind: String,
        title: String,
        details: Vec<(String, String)>,
        /// Earlier versions had none: computed from the details when read.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        verdict: Option<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        roles: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        remediation: Option<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        tags: Vec<String>,
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
                priority_score: i.priority_score,
                last_modified_by: i.last_modified_by.clone(),
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
                priority_score: s.priority_score,
                last_modified_by: s.last_modified_by,
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
                        key: Some(e.key.clone()),
                        verdict: e.verdict.clone(),
                        roles: e.roles.clone(),
                        remediation: e.remediation_status.clone(),
                        tags: e.tags.clone(),
                    })
                    .collect(),
                description: a.description.clone(),
                recommended_actions: a.recommended_actions.clone(),
                detection_source: a.detection_source.clone(),
                threat: a.threat_display_name.clone(),
                actor: a.actor_display_name.clone(),
                first_activity: time_text(a.first_activity),
                last_activity: time_text(a.last_activity),
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
                        key: e
                            .key
                            .unwrap_or_else(|| Evidence::key_of(&e.kind, &e.details)),
                        kind: e.kind,
                        title: e.title,
                        details: e.details,
                        verdict: e.verdict,
                        roles: e.roles,
                        remediation_status: e.remediation,
                        tags: e.tags,
                    })
                    .collect(),
                description: a.description,
                recommended_actions: a.recommended_actions,
                detection_source: a.detection_source,
                threat_display_name: a.threat,
                actor_display_name: a.actor,
                first_activity: time_of(a.first_activity),
                last_activity: time_of(a.last_activity),
            }
        }
    }

    fn json<T: Serialize>(v: &T) -> Result<String> {
        serde_json::to_string(v).map_err(|e| Error::Internal(format!("store encoding: {e}")))
    }

    pub fn incident_json(i: &Incident) -> Result<String> {
        json(&StoredIncident::from(i))
    }

    pub fn incident(body: &str) -> Option<Incident> {
        serde_json::from_str::<StoredIncident>(body)
            .ok()
            .map(Incident::from)
    }

    /// What the queue's index reads of an incident (`queue_rows`), as a JSON array: ID, name,
    /// severity, status, assignee, created and last update (Unix nanoseconds), tags, alert
    /// count, service sources, priority. Strings are borrowed from the text where they have no
    /// escapes: the index is built without an `Incident` per row.
    #[derive(Serialize, Deserialize)]
    struct QueueRow<'a>(
        #[serde(borrow)] Cow<'a, str>,
        #[serde(borrow)] Cow<'a, str>,
        #[serde(borrow)] Cow<'a, str>,
        #[serde(borrow)] Cow<'a, str>,
        #[serde(borrow)] Option<Cow<'a, str>>,
        Option<i64>,
        Option<i64>,
        #[serde(borrow)] Vec<Cow<'a, str>>,
        Option<u32>,
        #[serde(borrow)] Vec<Cow<'a, str>>,
        Option<u32>,
    );

    /// A time as the queue's index keeps it (`queue::nanos`), so that an index built from these
    /// rows and one patched in place agree, out-of-range times too.
    fn nanos(t: Option<time::OffsetDateTime>) -> Option<i64> {
        t.map(|t| crate::incidents::queue::nanos(Some(t)))
    }

    fn at(n: Option<i64>) -> Option<time::OffsetDateTime> {
        n.and_then(crate::incidents::queue::time_of)
    }

    /// An incident's row in `queue_rows`.
    pub fn queue_row(i: &Incident) -> Result<String> {
        fn words(v: &[String]) -> Vec<Cow<'_, str>> {
            v.iter().map(|s| Cow::Borrowed(s.as_str())).collect()
        }
        json(&QueueRow(
            Cow::Borrowed(&i.id),
            Cow::Borrowed(&i.display_name),
            Cow::Borrowed(i.severity.as_str()),
            Cow::Borrowed(i.status.as_str()),
            i.assigned_to.as_deref().map(Cow::Borrowed),
            nanos(i.created),
            nanos(i.last_update),
            words(&i.tags),
            i.alert_count,
            words(&i.service_sources),
            i.priority_score,
        ))
    }

    /// Calls `f` with what the queue's index reads of an incident, from its row in
    /// `queue_rows`; false when the row cannot be read. Severity and status are read as
    /// `incident` reads them.
    pub fn indexed(row: &str, f: impl FnOnce(&Fields<'_>)) -> bool {
        let Ok(QueueRow(
            id,
            name,
            severity,
            status,
            assignee,
            created,
            updated,
            tags,
            alerts,
            sources,
            priority,
        )) = serde_json::from_str::<QueueRow<'_>>(row)
        else {
            return false;
        };
        let (severity, status) = (Severity::from(&*severity), Status::from(&*status));
        f(&Fields {
            id: &id,
            name: &name,
            severity: severity.as_str(),
            status: status.as_str(),
            assignee: assignee.as_deref(),
            created: at(created),
            updated: at(updated),
            alerts,
            priority,
            tags: tags.iter().map(|t| &**t).collect(),
            sources: sources.iter().map(|s| &**s).collect(),
        });
        true
    }

    /// A detail as stored: its alerts and texts. Earlier versions stored the alerts alone.
    #[derive(Serialize, Deserialize)]
    #[serde(untagged)]
    enum StoredDetailBody {
        Full {
            alerts: Vec<StoredAlert>,
            #[serde(default)]
            summary: Option<String>,
            #[serde(default)]
            description: Option<String>,
        },
        AlertsOnly(Vec<StoredAlert>),
    }

    pub fn detail_json(d: &IncidentDetail) -> Result<String> {
        json(&StoredDetailBody::Full {
            alerts: d.alerts.iter().map(StoredAlert::from).collect(),
            summary: d.summary.clone(),
            description: d.description.clone(),
        })
    }

    pub fn detail(body: &str) -> Option<super::StoredDetail> {
        let alerts = |a: Vec<StoredAlert>| a.into_iter().map(Alert::from).collect();
        Some(match serde_json::from_str::<StoredDetailBody>(body).ok()? {
            StoredDetailBody::Full {
                alerts: a,
                summary,
                description,
            } => super::StoredDetail {
                alerts: alerts(a),
                summary,
                description,
            },
            StoredDetailBody::AlertsOnly(a) => super::StoredDetail {
                alerts: alerts(a),
                ..Default::default()
            },
        })
    }

    pub fn account_json(a: &Account) -> Result<String> {
        json(&StoredAccount {
            name: a.name.clone(),
            username: a.username.clone(),
            tenant_id: a.tenant_id.clone(),
            object_id: a.object_id.clone(),
        })
    }

    pub fn account(body: &str) -> Option<Account> {
        let a: StoredAccount = serde_json::from_str(body).ok()?;
        Some(Account {
            name: a.name,
            username: a.username,
            tenant_id: a.tenant_id,
            object_id: a.object_id,
        })
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn a_detail_stored_by_an_earlier_version_reads_with_keys_computed() {
            // Alerts alone, evidence without key or verdict.
            let earlier = r#"[{"id":"a","title":"t","severity":"high","status":"new","category":null,"service_source":null,"mitre_techniques":[],"created":null,"web_url":null,"evidence":[{"kind":"ip","title":"203.0.113.9","details":[["ipAddress","203.0.113.9"]]}]}]"#;
            let d = detail(earlier).unwrap();
            assert_eq!(d.summary, None);
            assert_eq!(d.alerts[0].evidence[0].key, "ip:203.0.113.9");
            assert_eq!(d.alerts[0].evidence[0].verdict, None);
        }

        /// An incident as the earlier cache files spelled it.
        const EARLIER: &str = r#"{"id":"7","displayName":"Ransomware","severity":"high","status":"active","assignedTo":null,"classification":"unknown","determination":"unknown","created":"2026-11-19T08:00:00.5Z","lastUpdate":"2026-11-20T10:00:00Z","tags":["t"],"systemTags":[],"webUrl":null,"redirectIncidentId":null,"comments":[{"text":"c","author":"a","created":"2026-11-20T09:00:00Z"}],"alertCount":2,"serviceSources":[],"categories":[]}"#;

        #[test]
        fn the_stored_form_reads_the_earlier_spelling_and_round_trips() {
            let i = incident(EARLIER).expect("reads");
            assert_eq!(i.display_name, "Ransomware");
            assert_eq!(
                i.created.map(|t| t.millisecond()),
                Some(500),
                "fractional seconds kept"
            );
            assert_eq!(incident(&incident_json(&i).unwrap()), Some(i));
            assert!(
                incident("{\"id\":1}").is_none(),
                "a row that is not an incident is not guessed at"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::token_store::MemoryStore;
    use crate::incidents::model::{
        parse_time, Classification, Comment, Evidence, Severity, Status,
    };

    fn incident(id: &str, title: &str, updated: &str) -> Incident {
        Incident {
            severity: Severity::High,
            last_update: parse_time(updated),
            ..Incident::new(id, title)
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
                key: "device:srv-finance-42".into(),
                verdict: Some("malicious".into()),
                roles: vec!["compromised".into()],
                remediation_status: None,
                tags: vec![],
                details: vec![("deviceDnsName".into(), "srv-finance-42".into())],
            }],
            description: Some("PowerShell ran an encoded command.".into()),
            recommended_actions: None,
            detection_source: Some("antivirus".into()),
            threat_display_name: None,
            actor_display_name: None,
            first_activity: None,
            last_activity: None,
        }
    }

    /// A detail of these alerts, as the API gives it.
    fn detail(alerts: Vec<Alert>) -> IncidentDetail {
        IncidentDetail {
            incident: incident("0", TITLE, "2026-11-20T10:00:00Z"),
            alerts,
            summary: Some("An attack in two stages".into()),
            description: None,
            history: vec![],
            pivots: Vec::new(),
            from_cache: false,
        }
    }

    fn dirs() -> (tempfile::TempDir, Dirs) {
        let tmp = tempfile::tempdir().unwrap();
        let dirs = Dirs {
            config: tmp.path().join("c"),
            data: tmp.path().join("d"),
        };
        (tmp, dirs)
    }

    const TITLE: &str = "Ransomware activity on srv-finance-42";

    #[test]
    fn each_newest_first_hands_over_the_stored_incidents_in_load_order_and_stops_when_asked() {
        let (_tmp, dirs) = dirs();
        let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::default());
        let cache = Cache::new(&dirs, "Contoso", "fp", Arc::clone(&store), true);
        // Stored as 3, 5, 12, 7, 1 (a later write keeps a row where it is) and listed as 7, 12,
        // 3, 5, 1: "7" written again with the newest time, ties on the time by ID, and an
        // incident without a time last.
        let mut incidents: Vec<Incident> = [
            ("3", "2026-11-20T11:00:00Z"),
            ("5", "2026-11-20T10:00:00Z"),
            ("12", "2026-11-20T11:00:00Z"),
            ("7", "2026-11-20T09:00:00Z"),
        ]
        .iter()
        .map(|(id, t)| incident(id, TITLE, t))
        .collect();
        let mut timeless = incident("1", TITLE, "2026-11-20T08:00:00Z");
        timeless.last_update = None;
        incidents.push(timeless);
        cache.put_page(&incidents, true).unwrap();
        let mut moved = incidents[3].clone();
        moved.last_update = parse_time("2026-11-20T12:00:00Z");
        cache.put(&moved).unwrap();
        let mut stored = Vec::new();
        cache
            .read((), |c| {
                Cache::each_text(c, "SELECT id FROM incidents ORDER BY rowid", |id| {
                    stored.push(id.to_owned());
                    true
                })
            })
            .unwrap();
        assert_eq!(stored, ["3", "5", "12", "7", "1"], "the table's own order");

        let mut seen = Vec::new();
        cache
            .each_newest_first(|i| {
                seen.push(i.id);
                Ok(true)
            })
            .unwrap();
        assert_eq!(seen, ["7", "12", "3", "5", "1"]);
        let loaded: Vec<String> = cache
            .load()
            .unwrap()
            .incidents
            .into_iter()
            .map(|i| i.id)
            .collect();
        assert_eq!(seen, loaded, "the same order as the whole store's");

        let mut first_two = Vec::new();
        cache
            .each_newest_first(|i| {
                first_two.push(i.id);
                Ok(first_two.len() < 2)
            })
            .unwrap();
        assert_eq!(first_two, ["7", "12"], "stops when told");

        let mut handed = 0;
        let failed = cache.each_newest_first(|_| {
            handed += 1;
            Err(Error::Invalid("the reader gave up".into()))
        });
        assert!(matches!(failed, Err(Error::Invalid(m)) if m == "the reader gave up"));
        assert_eq!(handed, 1, "an error ends the read");
    }

    #[test]
    fn several_stores_are_listed_newest_first_across_them_holding_a_few_rows_each() {
        let (_tmp, dirs) = dirs();
        let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::default());
        let a = Cache::new(&dirs, "Contoso", "fp", Arc::clone(&store), true);
        let b = Cache::new(&dirs, "Fabrikam", "fp", Arc::clone(&store), true);
        let empty = Cache::new(&dirs, "Empty", "fp", Arc::clone(&store), true);
        let mut timeless = incident("1", TITLE, "2026-11-20T08:00:00Z");
        timeless.last_update = None;
        // "8" is newer than the other store's "4" but in the same millisecond, the store's
        // precision: the millisecond, then the ID, order them.
        let mut in_a: Vec<Incident> = [
            ("3", "2026-11-20T11:00:00Z"),
            ("5", "2026-11-20T10:00:00Z"),
            ("8", "2026-11-20T11:30:00.0007Z"),
        ]
        .iter()
        .map(|(id, t)| incident(id, TITLE, t))
        .collect();
        in_a.push(timeless);
        a.put_page(&in_a, true).unwrap();
        // More than a reader reads ahead, each a minute older than the one before.
        let older = (100..200).map(|n| {
            let t = parse_time("2026-11-19T23:59:00Z").unwrap() - time::Duration::minutes(n - 100);
            let mut i = incident(&n.to_string(), TITLE, "2026-11-19T00:00:00Z");
            i.last_update = Some(t);
            i
        });
        let in_b: Vec<Incident> = [
            ("4", "2026-11-20T11:30:00.0005Z"),
            ("3", "2026-11-20T11:00:00Z"),
            ("2", "2026-11-20T11:00:00Z"),
            ("9", "2026-11-20T10:30:00Z"),
        ]
        .iter()
        .map(|(id, t)| incident(id, TITLE, t))
        .chain(older)
        .collect();
        b.put_page(&in_b, true).unwrap();
        let stores = [&a, &empty, &b];
        let names = ["A", "E", "B"];
        let listed = |stop_after: usize| {
            let mut seen = Vec::new();
            Cache::each_newest_first_across(&stores, |k, i| {
                seen.push(format!("{}:{}", names[k], i.id));
                Ok(seen.len() < stop_after)
            })
            .map(|()| seen)
        };
        // Ties on the time by ID, then in the stores' order; an incident without a time last.
        let mut expected: Vec<String> = ["B:4", "A:8", "B:2", "A:3", "B:3", "B:9", "A:5"]
            .map(String::from)
            .to_vec();
        expected.extend((100..200).map(|n| format!("B:{n}")));
        expected.push("A:1".into());
        assert_eq!(listed(usize::MAX).unwrap(), expected);
        // Stopping while a reader waits to hand over more ends every reader.
        assert_eq!(listed(10).unwrap(), expected[..10]);
        assert_eq!(listed(1).unwrap(), ["B:4"]);

        let mut handed = 0;
        let failed = Cache::each_newest_first_across(&stores, |_, _| {
            handed += 1;
            Err(Error::Invalid("the reader gave up".into()))
        });
        assert!(matches!(failed, Err(Error::Invalid(m)) if m == "the reader gave up"));
        assert_eq!(handed, 1, "an error ends the listing");
        assert!(Cache::each_newest_first_across(&[], |_, _| Ok(true)).is_ok());
    }

    #[test]
    fn syncs_after_the_first_record_what_changed_elsewhere_and_the_feed_is_kept_and_marked_seen() {
        use crate::incidents::changes::ChangeKind;
        let (_tmp, dirs) = dirs();
        let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::default());
        let cache = Cache::new(&dirs, "Contoso", "fp", Arc::clone(&store), true);
        let me = Account {
            name: None,
            username: Some("alice@contoso.test".into()),
            tenant_id: None,
            object_id: None,
        };
        let first: Vec<Incident> = (1..=3)
            .map(|n| incident(&n.to_string(), TITLE, "2026-11-20T10:00:00Z"))
            .collect();
        // The first sync's pages, then its end: nothing is news yet.
        cache.put_page(&first, false).unwrap();
        cache
            .finish_sync(OffsetDateTime::now_utc(), Some(&me))
            .unwrap();
        assert!(cache.changes(None, 100).unwrap().is_empty());

        // The next sync: one assigned to me elsewhere, one new, one unchanged.
        let mut mine = first[0].clone();
        mine.assigned_to = Some("Alice@contoso.test".into());
        mine.last_update = parse_time("2026-11-20T11:00:00Z");
        let new = incident("4", "New one", "2026-11-20T11:00:00Z");
        cache
            .put_page(&[mine.clone(), first[1].clone(), new], true)
            .unwrap();
        // This app's own write is no news.
        let mut own = first[2].clone();
        own.tags = vec!["mine".into()];
        cache.put(&own).unwrap();
        let feed = cache.changes(None, 100).unwrap();
        let kinds: Vec<(&str, ChangeKind, bool)> = feed
            .iter()
            .map(|c| (c.incident_id.as_str(), c.kind, c.mine))
            .collect();
        assert_eq!(
            kinds,
            [
                ("4", ChangeKind::NewIncident, false),
                ("1", ChangeKind::AssignmentChanged, true)
            ],
            "newest first"
        );
        assert_eq!(cache.unseen().unwrap(), 2);

        // A detail fetched again with an alert it did not have; then an incident gone.
        cache.save_detail("2", &detail(vec![alert()])).unwrap();
        let mut more = alert();
        more.id = "a2".into();
        cache
            .save_detail("2", &detail(vec![alert(), more]))
            .unwrap();
        assert!(cache.forget("3").unwrap());
        assert!(!cache.forget("3").unwrap(), "forgotten once");
        let feed = cache.changes(None, 100).unwrap();
        assert_eq!(feed[0].kind, ChangeKind::Gone);
        assert_eq!(feed[1].kind, ChangeKind::NewAlerts);
        assert_eq!(feed[1].detail, "1 new alert");
        assert_eq!(
            cache.load().unwrap().incidents.len(),
            3,
            "gone from the store"
        );

        // Marked seen up to a change; kept across a reopen.
        cache.mark_seen(Some(feed[1].seq)).unwrap();
        assert_eq!(cache.unseen().unwrap(), 1, "the newest stays unseen");
        drop(cache);
        let again = Cache::new(&dirs, "Contoso", "fp", Arc::clone(&store), true);
        assert_eq!(again.unseen().unwrap(), 1);
        assert_eq!(again.changes(None, 100).unwrap().len(), 4);
        let future = OffsetDateTime::now_utc() + time::Duration::hours(1);
        assert!(
            again.changes(Some(future), 100).unwrap().is_empty(),
            "since"
        );
        again.mark_seen(None).unwrap();
        assert_eq!(again.unseen().unwrap(), 0);
    }

    #[test]
    fn the_index_read_from_the_store_answers_as_one_built_from_its_incidents() {
        use crate::incidents::queue::{Assignment, QueueFilter, QueueSort, SortKey};
        let (_tmp, dirs) = dirs();
        let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::default());
        let cache = Cache::new(&dirs, "Contoso", "fp", Arc::clone(&store), true);
        let titles = [
            "Ransomware on \"SRV-01\"",
            "Path C:\\Temp\\x.exe ran",
            "Ärger auf DC-02 \u{202e}",
            "plain title",
        ];
        let incidents: Vec<Incident> = (0..200)
            .map(|n: usize| {
                let mut i = incident(
                    &(5000 + n).to_string(),
                    titles[n % 4],
                    &format!("2026-11-{:02}T10:{:02}:07.{:03}Z", 1 + n % 20, n % 60, n),
                );
                i.created = parse_time(&format!("2026-10-{:02}T08:00:00Z", 1 + n % 28));
                i.status = [
                    Status::Active,
                    Status::Redirected,
                    Status::from("someNewStatus"),
                ][n % 3]
                    .clone();
                i.severity =
                    [Severity::High, Severity::Low, Severity::from("UnSpecified")][n % 3].clone();
                i.assigned_to =
                    (!n.is_multiple_of(5)).then(|| ["Bob@Contoso.test", "eve"][n % 2].into());
                i.tags = match n % 4 {
                    0 => vec![],
                    1 => vec!["VIP".into(), "Needs \"review\"".into()],
                    _ => vec!["vip".into()],
                };
                i.service_sources = vec!["microsoftDefenderForEndpoint".into()];
                i.alert_count = (!n.is_multiple_of(6)).then_some((n % 9) as u32);
                i.priority_score = n.is_multiple_of(2).then_some((n % 100) as u32);
                i
            })
            .collect();
        cache
            .merge(&incidents, OffsetDateTime::now_utc(), None)
            .unwrap();
        let from_store = cache.queue_index(1).unwrap();
        let from_incidents = QueueIndex::new(&cache.load().unwrap().incidents, 1);
        let now = parse_time("2026-11-21T12:00:00Z").unwrap();
        let mut queries = Vec::new();
        for key in [
            SortKey::Severity,
            SortKey::Id,
            SortKey::DisplayName,
            SortKey::Status,
            SortKey::AssignedTo,
            SortKey::LastUpdate,
            SortKey::Created,
            SortKey::AlertCount,
            SortKey::Priority,
        ] {
            for desc in [false, true] {
                queries.push(QueueQuery {
                    sort: QueueSort { key, desc },
                    ..QueueQuery::default()
                });
            }
        }
        for filter in [
            QueueFilter {
                tag: "VIP".into(),
                ..QueueFilter::default()
            },
            QueueFilter {
                search: "\"srv-01\"".into(),
                ..QueueFilter::default()
            },
            QueueFilter {
                search: "c:\\temp\\x.exe".into(),
                ..QueueFilter::default()
            },
            QueueFilter {
                search: "ärger vip".into(),
                show_merged: true,
                ..QueueFilter::default()
            },
            QueueFilter {
                assignment: Assignment::Mine,
                source: "microsoftDefenderForEndpoint".into(),
                updated_within_hours: Some(24 * 10),
                ..QueueFilter::default()
            },
            QueueFilter {
                severities: vec!["unknown".into()],
                statuses: vec!["someNewStatus".into()],
                ..QueueFilter::default()
            },
        ] {
            queries.push(QueueQuery {
                filter,
                me: Some("bob@contoso.TEST".into()),
                ..QueueQuery::default()
            });
        }
        for q in queries {
            let q = QueueQuery { limit: 500, ..q };
            let (a, b) = (from_store.query(&q, now), from_incidents.query(&q, now));
            assert!(!a.ids.is_empty(), "{q:?}");
            assert_eq!(a.ids, b.ids, "{q:?}");
            assert_eq!(a.page, b.page, "{q:?}");
            assert_eq!(from_store.shown(&q, now), from_incidents.shown(&q, now));
        }
        assert_eq!(from_store.overview(now), from_incidents.overview(now));
        assert_eq!(from_store.suggestions(), from_incidents.suggestions());
    }

    #[test]
    fn a_simple_window_from_the_store_is_the_window_the_queue_index_gives_through_writes_and_migration(
    ) {
        use crate::incidents::queue::QueueFilter;
        let (_tmp, dirs) = dirs();
        let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::default());
        let cache = Cache::new(&dirs, "Contoso", "fp", Arc::clone(&store), true);
        // Every seventh incident was merged into another: left out unless asked for.
        let statuses = [
            Status::Active,
            Status::InProgress,
            Status::Resolved,
            Status::Active,
            Status::InProgress,
            Status::Resolved,
            Status::Redirected,
        ];
        let severities = [Severity::High, Severity::Medium, Severity::Low];
        let incidents: Vec<Incident> = (0..300)
            .map(|n: usize| {
                let mut i = incident(
                    &(1000 + n).to_string(),
                    TITLE,
                    // Ties on purpose: ten incidents per minute.
                    &format!("2026-11-20T{:02}:{:02}:00Z", 10 + n / 600, (n / 10) % 60),
                );
                i.status = statuses[n % 7].clone();
                i.severity = severities[n % 3 / 2 + n % 2].clone();
                i.assigned_to = match n % 4 {
                    0 => None,
                    1 => Some("Alice@Contoso.test".into()),
                    _ => Some("bob@contoso.test".into()),
                };
                i
            })
            .collect();
        cache
            .merge(&incidents, OffsetDateTime::now_utc(), None)
            .unwrap();
        // The index is built from a read on a connection of its own, in batches handed over
        // from a second thread: the same store, every row of it.
        let index = cache.queue_index(1).unwrap();
        assert_eq!(index.len(), 300);
        assert!(incidents.iter().all(|i| index.contains(&i.id)));
        // A window's rows are read back by ID, in the order asked, as they were written.
        let mut ids: Vec<String> = incidents.iter().rev().map(|i| i.id.clone()).collect();
        ids.push("no-such-id".into());
        let back = cache.incidents(&ids).unwrap();
        assert_eq!(back.last(), Some(&None));
        let back: Vec<Incident> = back.into_iter().flatten().collect();
        assert_eq!(back, incidents.iter().rev().cloned().collect::<Vec<_>>());
        let now = parse_time("2026-11-20T12:00:00Z").unwrap();
        // The index keeps each `lastUpdate` exactly (a selection's conflict check compares it).
        let every = QueueQuery {
            filter: QueueFilter {
                show_merged: true,
                ..QueueFilter::default()
            },
            ..QueueQuery::default()
        };
        let shown = index.shown(&every, now);
        assert_eq!(shown.len(), 300);
        for s in &shown {
            let i = incidents.iter().find(|i| i.id == s.id).unwrap();
            assert_eq!(s.last_update, i.last_update);
        }
        let queries = [
            QueueQuery::default(),
            QueueQuery {
                filter: QueueFilter {
                    statuses: vec!["active".into(), "inProgress".into()],
                    severities: vec!["high".into(), "medium".into()],
                    ..QueueFilter::default()
                },
                ..QueueQuery::default()
            },
            QueueQuery {
                filter: QueueFilter {
                    assignment: Assignment::Mine,
                    updated_within_hours: Some(1),
                    ..QueueFilter::default()
                },
                me: Some("alice@contoso.TEST".into()),
                ..QueueQuery::default()
            },
            QueueQuery {
                filter: QueueFilter {
                    assignment: Assignment::Unassigned,
                    ..QueueFilter::default()
                },
                ..QueueQuery::default()
            },
            QueueQuery {
                filter: QueueFilter {
                    statuses: vec!["active".into(), "inProgress".into()],
                    severities: vec!["high".into()],
                    assignment: Assignment::Unassigned,
                    ..QueueFilter::default()
                },
                ..QueueQuery::default()
            },
            QueueQuery {
                filter: QueueFilter {
                    statuses: vec!["active".into(), "inProgress".into()],
                    assignment: Assignment::Mine,
                    ..QueueFilter::default()
                },
                me: Some("alice@contoso.TEST".into()),
                ..QueueQuery::default()
            },
            QueueQuery {
                filter: QueueFilter {
                    statuses: vec!["redirected".into()],
                    ..QueueFilter::default()
                },
                ..QueueQuery::default()
            },
            QueueQuery {
                filter: QueueFilter {
                    statuses: vec!["active".into()],
                    show_merged: true,
                    ..QueueFilter::default()
                },
                ..QueueQuery::default()
            },
            QueueQuery {
                filter: QueueFilter {
                    show_merged: true,
                    ..QueueFilter::default()
                },
                ..QueueQuery::default()
            },
        ];
        let hidden = incidents
            .iter()
            .filter(|i| i.status == Status::Redirected)
            .count();
        assert!(hidden > 0);
        assert_eq!(
            cache.count().unwrap(),
            300 - hidden,
            "merged are not counted"
        );
        // The store's kept counts and newest-first index against a fresh queue index of every
        // row the store holds.
        let check = |cache: &Cache, when: &str| {
            let index = cache.queue_index(1).unwrap();
            assert_eq!(index.len(), cache.load().unwrap().incidents.len(), "{when}");
            for q in &queries {
                for offset in [0, 17, 290] {
                    let q = QueueQuery {
                        offset,
                        limit: 40,
                        ..q.clone()
                    };
                    assert!(q.simple());
                    let ids =
                        |p: &QueuePage| p.rows.iter().map(|i| i.id.clone()).collect::<Vec<_>>();
                    let (from_store, from_index) =
                        (cache.window(&q, now).unwrap(), index.query(&q, now));
                    assert_eq!(ids(&from_store), from_index.ids, "{when}: {q:?}");
                    assert_eq!(
                        (from_store.total, from_store.matched),
                        (from_index.page.total, from_index.page.matched),
                        "{when}: {q:?}"
                    );
                }
            }
        };
        check(&cache, "after the first sync");
        // Writes that move incidents between the kept counts: assignees taken and dropped (in
        // other letter cases), severities and statuses changed, merges and un-merges, one
        // triage write, incidents forgotten.
        let mut changed: Vec<Incident> = incidents.iter().take(40).cloned().collect();
        for (n, i) in changed.iter_mut().enumerate() {
            i.assigned_to = match n % 3 {
                0 => None,
                1 => Some("ALICE@contoso.test".into()),
                _ => Some("carol@contoso.test".into()),
            };
            i.severity = severities[(n + 1) % 3].clone();
            i.status = statuses[(n + 3) % 7].clone();
        }
        cache.put_page(&changed, true).unwrap();
        let mut taken = incidents[100].clone();
        taken.assigned_to = Some("alice@contoso.test".into());
        cache.put(&taken).unwrap();
        for id in ["1050", "1051", "1056"] {
            assert!(cache.forget(id).unwrap());
        }
        check(&cache, "after writes");
        // Back to schema 5, as an earlier build left it, with a row written then: opened
        // again, the store fills its queue rows and counts from what it holds.
        cache
            .write(|tx| {
                tx.execute_batch(
                    "DROP TRIGGER queue_rows_delete; DROP TABLE queue_rows;
                     DROP TRIGGER queue_counts_insert; DROP TRIGGER queue_counts_delete;
                     DROP TRIGGER queue_counts_update; DROP TABLE queue_counts;
                     DROP INDEX incidents_recent;
                     CREATE INDEX incidents_by_update ON incidents (last_update DESC, id);
                     PRAGMA user_version = 5;",
                )
                .map_err(db_error)?;
                let mut late = incident("9999", TITLE, "2026-11-20T11:59:00Z");
                late.assigned_to = Some("Alice@contoso.test".into());
                tx.execute(
                    "INSERT INTO incidents (id, last_update, created, severity, status, assigned_to, classification, body)
                     VALUES (?1, ?2, NULL, ?3, ?4, ?5, ?6, ?7)",
                    params![
                        late.id,
                        millis(late.last_update),
                        late.severity.as_str(),
                        late.status.as_str(),
                        late.assigned_to,
                        late.classification.as_str(),
                        stored::incident_json(&late)?
                    ],
                )
                .map_err(db_error)?;
                Ok(())
            })
            .unwrap();
        drop(cache);
        let again = Cache::new(&dirs, "Contoso", "fp", Arc::clone(&store), true);
        let index = again.queue_index(1).unwrap();
        assert!(index.contains("9999"), "a row written at schema 5");
        check(&again, "migrated from schema 5");
    }

    #[test]
    fn two_processes_on_one_store_wait_for_each_other_and_never_corrupt_it() {
        // The app and idesk: two connections to the same file, each with its own `Cache`.
        let (_tmp, dirs) = dirs();
        let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::default());
        let app = Arc::new(Cache::new(&dirs, "Contoso", "fp", Arc::clone(&store), true));
        app.merge(&[], OffsetDateTime::now_utc(), None).unwrap();
        let cli = Arc::new(Cache::new(&dirs, "Contoso", "fp", Arc::clone(&store), true));
        let writer = |cache: Arc<Cache>, first: usize| {
            std::thread::spawn(move || {
                for page in 0..20 {
                    let incidents: Vec<Incident> = (0..50)
                        .map(|n| {
                            let id = first + page * 50 + n;
                            incident(&id.to_string(), TITLE, "2026-11-20T10:00:00Z")
                        })
                        .collect();
                    cache.put_page(&incidents, true).unwrap();
                }
            })
        };
        let reader = {
            let cli = Arc::clone(&cli);
            std::thread::spawn(move || {
                let mut seen = 0;
                for _ in 0..50 {
                    let n = cli.count().unwrap();
                    assert!(n >= seen, "a reader sees whole pages, never fewer");
                    seen = n;
                }
            })
        };
        let (a, b) = (
            writer(Arc::clone(&app), 0),
            writer(Arc::clone(&cli), 10_000),
        );
        a.join().unwrap();
        b.join().unwrap();
        reader.join().unwrap();
        assert_eq!(app.count().unwrap(), 2000);
        assert_eq!(cli.load().unwrap().incidents.len(), 2000);
        let ok: String = app
            .read(String::new(), |c| {
                c.query_row("PRAGMA integrity_check", [], |r| r.get(0))
                    .map_err(db_error)
            })
            .unwrap();
        assert_eq!(ok, "ok");
    }

    #[test]
    fn a_version_1_store_migrates_to_the_change_feed_keeping_its_incidents() {
        let (_tmp, dirs) = dirs();
        let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::default());
        let cache = Cache::new(&dirs, "Contoso", "fp", Arc::clone(&store), true);
        cache
            .merge(
                &[incident("1", TITLE, "2026-11-20T10:00:00Z")],
                OffsetDateTime::now_utc(),
                None,
            )
            .unwrap();
        // Back to schema 1, as an earlier build left it.
        cache
            .write(|tx| {
                tx.execute_batch(
                    "DROP TABLE entities; DROP TABLE changes;
                     ALTER TABLE details DROP COLUMN seen_update; PRAGMA user_version = 1;",
                )
                .map_err(db_error)
            })
            .unwrap();
        drop(cache);
        let again = Cache::new(&dirs, "Contoso", "fp", Arc::clone(&store), true);
        assert_eq!(again.load().unwrap().incidents.len(), 1, "kept");
        assert_eq!(again.unseen().unwrap(), 0, "the feed exists, empty");
        let version: i64 = again
            .read(0, |c| {
                c.query_row("PRAGMA user_version", [], |r| r.get(0))
                    .map_err(db_error)
            })
            .unwrap();
        assert_eq!(version, MIGRATIONS.len() as i64);
    }

    /// A detail naming this device, user and file hash.
    fn naming(device: &str) -> IncidentDetail {
        let mut a = alert();
        let ev = |kind: &str, key: &str, details: &[(&str, &str)]| Evidence {
            kind: kind.into(),
            title: details[0].1.into(),
            key: key.into(),
            verdict: None,
            roles: vec![],
            remediation_status: None,
            tags: vec![],
            details: details
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        };
        a.evidence = vec![
            ev(
                "device",
                &format!("device:{device}"),
                &[("deviceDnsName", device)],
            ),
            ev(
                "user",
                "user:lee",
                &[
                    ("userPrincipalName", "Lee@Contoso.test"),
                    ("accountName", "lee"),
                ],
            ),
            ev("process", "process:1", &[("processCommandLine", "cmd.exe")]),
        ];
        detail(vec![a])
    }

    #[test]
    fn the_entity_index_follows_the_stored_details_and_answers_pivots() {
        let (_tmp, dirs) = dirs();
        let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::default());
        let cache = Cache::new(&dirs, "Contoso", "fp", Arc::clone(&store), true);
        let mut tp = incident("2", "Earlier one", "2026-11-20T09:00:00Z");
        tp.classification = Classification::TruePositive;
        let mut merged = incident("4", "Merged", "2026-11-20T09:00:00Z");
        merged.status = Status::Redirected;
        let incidents = [
            incident("1", TITLE, "2026-11-20T10:00:00Z"),
            tp,
            incident("3", "Old one", "2026-09-01T09:00:00Z"),
            merged,
        ];
        cache
            .merge(&incidents, OffsetDateTime::now_utc(), None)
            .unwrap();
        for id in ["1", "2", "3", "4"] {
            cache.save_detail(id, &naming("SRV-FINANCE-42")).unwrap();
        }
        let since = parse_time("2026-10-21T00:00:00Z").unwrap();
        let pivots = cache
            .pivots("1", &naming("srv-finance-42").alerts, since)
            .unwrap();
        let device = pivots.iter().find(|p| p.kind == "device").unwrap();
        assert_eq!(device.value, "srv-finance-42", "lowercased");
        assert_eq!(device.evidence_key, "device:srv-finance-42");
        assert_eq!(
            (device.others, device.true_positives),
            (1, 1),
            "not itself, not the old one, not the merged one"
        );
        assert_eq!(device.recent[0].display_name, "Earlier one");
        assert_eq!(
            pivots.iter().filter(|p| p.kind == "user").count(),
            2,
            "the UPN and the account name"
        );
        assert!(
            pivots.iter().all(|p| p.kind != "process"),
            "command lines are not pivots"
        );
        let values = cache.entity_values().unwrap();
        assert!(values["1"].contains(&"lee@contoso.test".to_owned()));

        // A detail stored again replaces its entries; a forgotten incident leaves the index.
        cache.save_detail("2", &naming("wks-other")).unwrap();
        let pivots = cache
            .pivots("1", &naming("srv-finance-42").alerts, since)
            .unwrap();
        assert!(pivots.iter().all(|p| p.kind != "device"), "{pivots:?}");
        cache.forget("2").unwrap();
        assert!(!cache.entity_values().unwrap().contains_key("2"));
        assert!(cache
            .pivots("1", &naming("srv-finance-42").alerts, since)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn a_version_2_store_gains_the_entity_index_of_its_stored_details() {
        let (_tmp, dirs) = dirs();
        let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::default());
        let cache = Cache::new(&dirs, "Contoso", "fp", Arc::clone(&store), true);
        cache
            .merge(
                &[incident("1", TITLE, "2026-11-20T10:00:00Z")],
                OffsetDateTime::now_utc(),
                None,
            )
            .unwrap();
        cache.save_detail("1", &naming("srv-finance-42")).unwrap();
        cache
            .write(|tx| {
                tx.execute_batch("DROP TABLE entities; PRAGMA user_version = 2;")
                    .map_err(db_error)
            })
            .unwrap();
        drop(cache);
        let again = Cache::new(&dirs, "Contoso", "fp", Arc::clone(&store), true);
        let values = again.entity_values().unwrap();
        assert!(
            values["1"].contains(&"srv-finance-42".to_owned()),
            "{values:?}"
        );
    }

    #[test]
    fn the_kept_count_follows_every_write_and_a_version_4_store_gains_it() {
        let (_tmp, dirs) = dirs();
        let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::default());
        let cache = Cache::new(&dirs, "Contoso", "fp", Arc::clone(&store), true);
        let counted = |c: &Cache| -> usize {
            c.read(0, |c| {
                c.query_row(
                    "SELECT count(*) FROM incidents WHERE status <> 'redirected'",
                    [],
                    |r| r.get::<_, i64>(0),
                )
                .map_err(db_error)
            })
            .unwrap() as usize
        };
        let merged = |id: &str, status: Status| Incident {
            status,
            ..incident(id, TITLE, "2026-11-20T10:00:00Z")
        };
        let now = OffsetDateTime::now_utc();
        let steps: Vec<Vec<Incident>> = vec![
            (1..=5)
                .map(|n| incident(&n.to_string(), TITLE, "2026-11-20T10:00:00Z"))
                .collect(),
            vec![
                merged("2", Status::Redirected),
                merged("6", Status::Redirected),
            ],
            vec![
                merged("2", Status::Resolved),
                merged("3", Status::InProgress),
            ],
            vec![merged("6", Status::Redirected)],
        ];
        let mut totals = Vec::new();
        for step in &steps {
            let total = cache.merge(step, now, None).unwrap().total;
            assert_eq!(total, counted(&cache), "after merging {step:?}");
            totals.push(total);
        }
        assert_eq!(totals, [5, 4, 5, 5]);
        assert!(cache.forget("4").unwrap());
        assert!(cache.forget("6").unwrap());
        assert_eq!((cache.count().unwrap(), counted(&cache)), (4, 4));
        let mut snap = cache.load().unwrap();
        snap.incidents.truncate(2);
        cache.save(&snap).unwrap();
        assert_eq!((cache.count().unwrap(), counted(&cache)), (2, 2));
        // Back to schema 4, as an earlier build left it, with a row the triggers never saw.
        cache
            .write(|tx| {
                tx.execute_batch(
                    "DROP TABLE counts; DROP TRIGGER counts_insert; DROP TRIGGER counts_delete;
                     DROP TRIGGER counts_status; PRAGMA user_version = 4;",
                )
                .map_err(db_error)
            })
            .unwrap();
        cache
            .write(|tx| {
                Cache::upsert(tx, &[incident("7", TITLE, "2026-11-21T10:00:00Z")], None).map(|_| ())
            })
            .unwrap();
        drop(cache);
        let again = Cache::new(&dirs, "Contoso", "fp", Arc::clone(&store), true);
        assert_eq!((again.count().unwrap(), counted(&again)), (3, 3));
    }

    #[test]
    fn round_trips_holds_no_text_in_clear_and_wipes_everything() {
        let (_tmp, dirs) = dirs();
        let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::default());
        let cache = Cache::new(&dirs, "Contoso", "fp", Arc::clone(&store), true);
        assert_eq!(
            cache.load().unwrap(),
            Snapshot::default(),
            "nothing stored yet"
        );
        assert!(!dirs.data.exists(), "reading creates nothing");
        let snap = Snapshot {
            watermark: parse_time("2026-11-20T10:00:00Z"),
            synced_at: parse_time("2026-11-20T10:05:00Z"),
            account: Some(Account {
                name: Some("Alice".into()),
                username: Some("alice@contoso.test".into()),
                tenant_id: None,
                object_id: None,
            }),
            incidents: vec![incident("1", TITLE, "2026-11-20T10:00:00Z")],
        };
        cache.save(&snap).unwrap();
        cache.save_detail("1", &detail(vec![alert()])).unwrap();
        assert_eq!(cache.load().unwrap(), snap);
        let stored = cache.detail("1").unwrap().unwrap();
        assert_eq!(stored.alerts, vec![alert()]);
        assert_eq!(stored.summary.as_deref(), Some("An attack in two stages"));
        for f in cache.paths().iter().filter(|p| p.exists()) {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(f).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o600, "{} is the user's only", f.display());
            }
            let b = std::fs::read(f).unwrap();
            assert!(
                !b.windows(10)
                    .any(|w| w == &TITLE.as_bytes()[..10] || w == b"srv-financ"),
                "no incident text in clear in {}",
                f.display()
            );
        }

        cache.wipe().unwrap();
        assert!(
            cache.paths().iter().all(|p| !p.exists())
                && store.load("cache-key:Contoso").unwrap().is_none(),
            "wipe removes the database, its WAL and the key"
        );
        assert_eq!(cache.load().unwrap(), Snapshot::default());
    }

    #[test]
    fn a_foreign_torn_or_keyless_database_is_set_aside_and_re_synced_never_a_crash() {
        let (_tmp, dirs) = dirs();
        let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::default());
        let snap = Snapshot {
            incidents: vec![incident("1", TITLE, "2026-11-20T10:00:00Z")],
            ..Snapshot::default()
        };
        let write = |profile: &str| {
            let c = Cache::new(&dirs, profile, "fp", Arc::clone(&store), true);
            c.save(&snap).unwrap();
            drop(c); // closes it: the WAL is folded into the file
        };
        write("Contoso");
        let contoso = Cache::new(&dirs, "Contoso", "fp", Arc::clone(&store), true);
        let db = contoso.paths()[0].clone();

        // Another profile's file, even with the same key: not read as this profile's.
        let other = Cache::new(&dirs, "Other", "fp", Arc::clone(&store), true);
        store
            .save(
                "cache-key:Other",
                &store.load("cache-key:Contoso").unwrap().unwrap(),
            )
            .unwrap();
        std::fs::copy(&db, &other.paths()[0]).unwrap();
        assert!(
            other.load().unwrap().incidents.is_empty(),
            "bound to its profile"
        );

        // Another key (a re-bound profile's, or a lost one): unreadable, set aside.
        let rebound = Cache::new(&dirs, "Contoso", "another-fp", Arc::clone(&store), true);
        assert!(rebound.load().unwrap().incidents.is_empty());
        assert_eq!(
            rebound.take_notice().as_deref(),
            Some(UNREADABLE),
            "and says so"
        );
        assert_eq!(rebound.take_notice(), None, "once");
        rebound.save(&snap).unwrap();
        assert_eq!(
            rebound.load().unwrap().incidents.len(),
            1,
            "and the store works again"
        );
        drop(rebound);

        // Torn: half a file.
        let torn = Cache::new(&dirs, "Contoso", "another-fp", Arc::clone(&store), true);
        let bytes = std::fs::read(&db).unwrap();
        std::fs::write(&db, &bytes[..bytes.len() / 2]).unwrap();
        assert!(
            torn.load().unwrap().incidents.is_empty(),
            "a torn file is empty, never garbage"
        );

        // The key gone from the keychain: the file cannot be read by anyone; it is removed.
        drop(torn);
        write("Keyless");
        store.delete("cache-key:Keyless").unwrap();
        let keyless = Cache::new(&dirs, "Keyless", "fp", Arc::clone(&store), true);
        assert!(keyless.load().unwrap().incidents.is_empty());
        assert!(!keyless.paths()[0].exists());
        assert_eq!(keyless.take_notice().as_deref(), Some(UNREADABLE));
        drop(contoso);
    }

    #[test]
    fn a_sync_merges_only_what_changed_and_a_write_touches_one_row() {
        let (_tmp, dirs) = dirs();
        let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::default());
        let cache = Cache::new(&dirs, "Contoso", "fp", Arc::clone(&store), true);
        // An earlier version's files are dropped on first open.
        std::fs::create_dir_all(dirs.data.join("cache")).unwrap();
        for p in &cache.legacy {
            std::fs::write(p, b"IDC1 old").unwrap();
        }
        let now = OffsetDateTime::now_utc();
        let first: Vec<Incident> = (0..50)
            .map(|n| {
                incident(
                    &n.to_string(),
                    &format!("Incident {n}"),
                    "2026-11-20T10:00:00Z",
                )
            })
            .collect();
        let merged = cache.merge(&first, now, None).unwrap();
        assert_eq!(
            merged,
            Merged {
                changed: 50,
                total: 50
            }
        );
        assert!(cache.legacy.iter().all(|p| !p.exists()));
        assert_eq!(cache.take_notice().as_deref(), Some(LEGACY_DROPPED));
        assert_eq!(
            cache.watermark().unwrap(),
            parse_time("2026-11-20T10:00:00Z")
        );

        // The incident at the watermark comes back unchanged, one is new, one changed.
        let mut again = vec![
            first[0].clone(),
            incident("50", "New one", "2026-11-20T11:00:00Z"),
        ];
        let mut changed = first[7].clone();
        changed.status = Status::Resolved;
        changed.last_update = parse_time("2026-11-20T11:30:00.250Z");
        again.push(changed.clone());
        let merged = cache.merge(&again, now, None).unwrap();
        assert_eq!(
            merged,
            Merged {
                changed: 2,
                total: 51
            }
        );
        assert_eq!(cache.watermark().unwrap(), changed.last_update);
        let loaded = cache.load().unwrap();
        assert_eq!(loaded.incidents[0], changed, "newest first, fractions kept");
        assert_eq!(loaded.incidents[1].id, "50");

        // A triage write: that row, found by its new text too.
        let mut assigned = first[3].clone();
        assigned.assigned_to = Some("alice@contoso.test".into());
        assigned.comments.push(Comment {
            text: "Escalated to the mailbox team".into(),
            author: None,
            created: None,
        });
        cache.put(&assigned).unwrap();
        assert!(cache.load().unwrap().incidents.contains(&assigned));
        assert_eq!(cache.search("mailbox").unwrap(), ["3"]);
        assert_eq!(cache.search("new").unwrap(), ["50"]);
        assert_eq!(
            cache.search("\"; DROP").unwrap(),
            Vec::<String>::new(),
            "query text is data"
        );
        assert_eq!(cache.load().unwrap().incidents.len(), 51);
    }

    #[test]
    fn session_only_writes_nothing_to_disk() {
        let (_tmp, dirs) = dirs();
        let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::default());
        let cache = Cache::new(&dirs, "Contoso", "fp", Arc::clone(&store), false);
        cache
            .merge(
                &[incident("1", "x", "2026-11-20T10:00:00Z")],
                OffsetDateTime::now_utc(),
                None,
            )
            .unwrap();
        cache.save_detail("1", &detail(vec![alert()])).unwrap();
        assert_eq!(
            cache.load().unwrap().incidents.len(),
            1,
            "kept for this run"
        );
        assert!(
            !dirs.data.exists(),
            "no file that a later run could not decrypt"
        );
        assert!(
            store.load("cache-key:Contoso").unwrap().is_none(),
            "no key either"
        );
        cache.wipe().unwrap();
        assert!(cache.load().unwrap().incidents.is_empty());
    }
}
