//! What the shell keeps between commands: the desk (profiles and their sessions) and the sign-in
//! under way.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use idesk_core::auth::token_store::{KeychainStore, MemoryStore, TokenStore};
use idesk_core::config::{Dirs, Profile};
use idesk_core::desk::Desk;
use idesk_core::Error;
use tokio::sync::oneshot;

use crate::ipc_error::IpcError;

pub struct AppState {
    /// The desk, or why there is none (no profile, no usable keychain).
    desk: RwLock<Result<Arc<Desk>, IpcError>>,
    /// The sandbox tenant's profile, when `make run` started one (read once, at the edge).
    sandbox: Option<Profile>,
    /// Tokens in memory only, chosen by the user when no keychain is usable.
    session_only: AtomicBool,
    /// Session-only mode's store, kept for the run so a reload keeps the sign-in.
    memory: Arc<MemoryStore>,
    /// Cancels the sign-in under way, if any.
    pub cancel: Mutex<Option<oneshot::Sender<()>>>,
    /// The last syncs' outcomes, for "Copy diagnostics".
    pub syncs: idesk_core::logging::RecentLines,
    /// Starts a background sync now (a setting changed, "Sync now" in the tray).
    pub wake: Arc<tokio::sync::Notify>,
    /// Set to stop the change to several incidents under way.
    pub bulk_cancel: Arc<std::sync::atomic::AtomicBool>,
    /// The tray icon, where the desktop has a tray.
    pub tray: Mutex<Option<tauri::tray::TrayIcon>>,
}

impl AppState {
    /// Opens the desk without touching the network: the app starts on its cache, even offline.
    pub fn load() -> Self {
        let sandbox = std::env::var("IDESK_SANDBOX")
            .ok()
            .filter(|l| !l.trim().is_empty())
            .and_then(|line| match idesk_core::sandbox::profile_from_line(&line) {
                Ok(p) => Some(p),
                Err(e) => {
                    tracing::warn!("ignoring IDESK_SANDBOX: {}", e.user_message());
                    None
                }
            });
        let desk = KeychainStore::open()
            .and_then(|k| open_desk(Arc::new(k), sandbox.clone(), false))
            .map_err(IpcError::from);
        Self {
            desk: RwLock::new(desk),
            sandbox,
            session_only: AtomicBool::default(),
            memory: Arc::default(),
            cancel: Mutex::default(),
            syncs: idesk_core::logging::RecentLines::new(10),
            wake: Arc::default(),
            bulk_cancel: Arc::default(),
            tray: Mutex::default(),
        }
    }

    pub fn desk(&self) -> Result<Arc<Desk>, IpcError> {
        self.desk.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The store credentials go to: the keychain, or memory in session-only mode.
    pub fn store(&self) -> Result<Arc<dyn TokenStore>, Error> {
        Ok(if self.session_only.load(Ordering::SeqCst) {
            Arc::clone(&self.memory) as Arc<dyn TokenStore>
        } else {
            Arc::new(KeychainStore::open()?)
        })
    }

    /// Session-only mode, chosen by the user when no keychain is usable: tokens stay in memory
    /// for this run and are gone when the app quits. Never a plaintext fallback.
    pub fn use_session_only(&self) -> Result<Arc<Desk>, IpcError> {
        self.session_only.store(true, Ordering::SeqCst);
        self.reload()
    }

    /// Opens the desk again after the profiles changed, keeping the current profile if it still
    /// exists.
    pub fn reload(&self) -> Result<Arc<Desk>, IpcError> {
        let session_only = self.session_only.load(Ordering::SeqCst);
        let desk = open_desk(self.store()?, self.sandbox.clone(), session_only);
        let mut slot = self.desk.write().unwrap_or_else(|e| e.into_inner());
        *slot = desk.map_err(IpcError::from);
        slot.clone()
    }
}

fn open_desk(
    store: Arc<dyn TokenStore>,
    sandbox: Option<Profile>,
    session_only: bool,
) -> Result<Arc<Desk>, Error> {
    let dirs = Dirs::from_env()?;
    Ok(Arc::new(Desk::open(&dirs, sandbox, store, session_only)?))
}
