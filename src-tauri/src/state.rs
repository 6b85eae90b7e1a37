//! What the shell keeps between commands: the desk (profiles and their sessions) and the sign-in
//! under way.

use std::sync::{Arc, Mutex, RwLock};

use idesk_core::config::Dirs;
use idesk_core::desk::Desk;
use idesk_core::token_store::{KeychainStore, MemoryStore, TokenStore};
use idesk_core::Error;
use tokio::sync::oneshot;

use crate::ipc_error::IpcError;

pub struct AppState {
    /// The desk, or why there is none (no profile, no usable keychain).
    desk: RwLock<Result<Arc<Desk>, IpcError>>,
    /// Tokens in memory only, chosen by the user when no keychain is usable.
    session_only: std::sync::atomic::AtomicBool,
    /// Cancels the sign-in under way, if any.
    pub cancel: Mutex<Option<oneshot::Sender<()>>>,
}

impl AppState {
    pub fn load() -> Self {
        let desk = KeychainStore::open().and_then(|k| open_desk(Arc::new(k), false));
        Self {
            desk: RwLock::new(desk.map_err(IpcError::from)),
            session_only: Default::default(),
            cancel: Mutex::default(),
        }
    }

    pub fn desk(&self) -> Result<Arc<Desk>, IpcError> {
        self.desk.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Session-only mode, chosen by the user when no keychain is usable: tokens stay in memory
    /// for this run and are gone when the app quits. Never a plaintext fallback.
    pub fn use_session_only(&self) -> Result<Arc<Desk>, IpcError> {
        self.session_only
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.reload()
    }

    /// Opens the desk again after the profiles changed (the first-run setup added one).
    pub fn reload(&self) -> Result<Arc<Desk>, IpcError> {
        let desk = if self.session_only.load(std::sync::atomic::Ordering::SeqCst) {
            open_desk(Arc::new(MemoryStore::default()), true)?
        } else {
            open_desk(Arc::new(KeychainStore::open()?), false)?
        };
        *self.desk.write().unwrap_or_else(|e| e.into_inner()) = Ok(Arc::clone(&desk));
        Ok(desk)
    }
}

fn open_desk(store: Arc<dyn TokenStore>, session_only: bool) -> Result<Arc<Desk>, Error> {
    let dirs = Dirs::from_env()?;
    let sandbox = std::env::var("IDESK_SANDBOX")
        .ok()
        .filter(|l| !l.trim().is_empty());
    Ok(Arc::new(Desk::open(
        &dirs,
        sandbox.as_deref(),
        store,
        session_only,
    )?))
}
