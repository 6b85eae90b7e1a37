//! What the shell keeps between commands: the profile it opened on and its session.

use std::sync::{Arc, Mutex};

use idesk_core::config::{startup_profile, Config, Dirs, Profile};
use idesk_core::session::Session;
use idesk_core::token_store::{KeychainStore, TokenStore};
use idesk_core::Error;
use tokio::sync::oneshot;

pub struct AppState {
    /// The session, or why there is none (no profile, no keychain).
    pub session: Result<Arc<Session>, String>,
    /// Set once the silent sign-in from the keychain has been tried.
    pub resumed: tokio::sync::OnceCell<()>,
    /// Cancels the sign-in under way, if any.
    pub cancel: Mutex<Option<oneshot::Sender<()>>>,
}

impl AppState {
    pub fn load() -> Self {
        Self {
            session: open_session().map_err(|e| e.user_message()),
            resumed: Default::default(),
            cancel: Mutex::default(),
        }
    }
}

fn open_session() -> Result<Arc<Session>, Error> {
    let dirs = Dirs::from_env()?;
    let config = Config::load(&dirs)?;
    let sandbox = std::env::var("IDESK_SANDBOX").ok();
    let profile: Profile = startup_profile(&config, sandbox.as_deref())?.ok_or_else(|| {
        Error::Config("no profile configured: start the sandbox tenant with `make run`, or add a profile with `idesk profile add`".into())
    })?;
    let store: Arc<dyn TokenStore> = Arc::new(KeychainStore::open()?);
    Ok(Arc::new(Session::new(profile, store)))
}
