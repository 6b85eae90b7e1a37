//! What the shell keeps between commands: the profile it opened on and its session.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use idesk_core::config::{startup_profile, Config, Dirs, Profile};
use idesk_core::session::Session;
use idesk_core::token_store::{KeychainStore, MemoryStore, TokenStore};
use idesk_core::Error;
use tokio::sync::oneshot;

use crate::ipc_error::IpcError;

pub struct AppState {
    /// The session, or why there is none (no profile, no usable keychain).
    session: RwLock<Result<Arc<Session>, IpcError>>,
    /// Set once the silent sign-in from the keychain has been tried.
    pub resumed: tokio::sync::OnceCell<()>,
    /// Cancels the sign-in under way, if any.
    pub cancel: Mutex<Option<oneshot::Sender<()>>>,
    session_only: AtomicBool,
}

impl AppState {
    pub fn load() -> Self {
        let session = startup().and_then(|p| {
            let store: Arc<dyn TokenStore> = Arc::new(KeychainStore::open()?);
            Ok(Arc::new(Session::new(p, store)))
        });
        Self {
            session: RwLock::new(session.map_err(IpcError::from)),
            resumed: Default::default(),
            cancel: Mutex::default(),
            session_only: AtomicBool::new(false),
        }
    }

    pub fn session(&self) -> Result<Arc<Session>, IpcError> {
        self.session
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Session-only mode, chosen by the user when no keychain is usable: tokens stay in memory
    /// for this run and are gone when the app quits. Never a plaintext fallback.
    pub fn use_session_only(&self) -> Result<Arc<Session>, IpcError> {
        let profile = startup()?;
        let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::default());
        let session = Arc::new(Session::new(profile, store));
        *self.session.write().unwrap_or_else(|e| e.into_inner()) = Ok(Arc::clone(&session));
        self.session_only.store(true, Ordering::SeqCst);
        Ok(session)
    }

    pub fn is_session_only(&self) -> bool {
        self.session_only.load(Ordering::SeqCst)
    }
}

fn startup() -> Result<Profile, Error> {
    let dirs = Dirs::from_env()?;
    let config = Config::load(&dirs)?;
    let sandbox = std::env::var("IDESK_SANDBOX").ok();
    startup_profile(&config, sandbox.as_deref())?.ok_or_else(|| {
        Error::Config("no profile configured: start the sandbox tenant with `make run`, or add a profile with `idesk profile add`".into())
    })
}
