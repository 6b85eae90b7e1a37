//! The desk: the profiles the desktop app can switch between, and one session per profile, kept
//! for the whole run so that switching back is instant while a profile's tokens are valid.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::api::IncidentApi;
use crate::cache::Cache;
use crate::config::{Config, Dirs, Profile};
use crate::error::{Error, Result};
use crate::session::Session;
use crate::token_store::TokenStore;

pub struct Desk {
    /// One session per profile, never empty; sessions do no I/O until used.
    sessions: Vec<Arc<Session>>,
    /// Each profile's incident cache, in the same order.
    caches: Vec<Arc<Cache>>,
    /// Each profile's API client, in the same order: one per profile for the whole run, so its
    /// pacing under the quota holds across syncs and writes.
    apis: Vec<Arc<IncidentApi>>,
    /// Index into `sessions`.
    current: AtomicUsize,
    session_only: bool,
}

impl Desk {
    /// The configured profiles, plus the sandbox tenant's when one is running (`IDESK_SANDBOX`
    /// holds its `SANDBOX ...` line). Opens on the current profile, else the sandbox, else the first.
    pub fn open(
        dirs: &Dirs,
        sandbox_line: Option<&str>,
        store: Arc<dyn TokenStore>,
        session_only: bool,
    ) -> Result<Self> {
        let config = Config::load(dirs)?;
        let mut profiles: Vec<Profile> = config.profiles.clone();
        let sandbox = sandbox_line
            .map(crate::sandbox::profile_from_line)
            .transpose()?;
        if let Some(s) = &sandbox {
            profiles.retain(|p| p.name != s.name);
            profiles.push(s.clone());
        }
        if profiles.is_empty() {
            return Err(Error::NoProfile);
        }
        let index_of = |name: &str| profiles.iter().position(|p| p.name == name);
        let current = config
            .current
            .as_deref()
            .and_then(index_of)
            .or_else(|| sandbox.as_ref().and_then(|s| index_of(&s.name)))
            .unwrap_or(0);
        let apis = profiles
            .iter()
            .map(|p| IncidentApi::for_profile(p).map(Arc::new))
            .collect::<Result<Vec<_>>>()?;
        let caches = profiles
            .iter()
            .map(|p| Arc::new(Cache::new(dirs, &p.name, Arc::clone(&store))))
            .collect();
        let sessions = profiles
            .into_iter()
            .map(|p| Arc::new(Session::new(p, Arc::clone(&store))))
            .collect();
        Ok(Self {
            sessions,
            caches,
            apis,
            current: AtomicUsize::new(current),
            session_only,
        })
    }

    pub fn profiles(&self) -> impl Iterator<Item = &Profile> {
        self.sessions.iter().map(|s| s.profile())
    }

    /// Tokens are kept in memory only: no usable keychain.
    pub fn session_only(&self) -> bool {
        self.session_only
    }

    /// The session of the current profile.
    pub fn current(&self) -> Arc<Session> {
        let i = self.current.load(Ordering::SeqCst);
        Arc::clone(&self.sessions[i.min(self.sessions.len() - 1)])
    }

    /// The incident API client of the current profile.
    pub fn api(&self) -> Arc<IncidentApi> {
        let i = self.current.load(Ordering::SeqCst);
        Arc::clone(&self.apis[i.min(self.apis.len() - 1)])
    }

    /// The incident cache of the current profile.
    pub fn cache(&self) -> Arc<Cache> {
        let i = self.current.load(Ordering::SeqCst);
        Arc::clone(&self.caches[i.min(self.caches.len() - 1)])
    }

    /// Makes `name` the current profile; its session (and tokens) are kept from before.
    pub fn switch(&self, name: &str) -> Result<Arc<Session>> {
        let i = self
            .sessions
            .iter()
            .position(|s| s.profile().name == name)
            .ok_or_else(|| Error::Config(format!("no profile named {name:?}")))?;
        self.current.store(i, Ordering::SeqCst);
        Ok(Arc::clone(&self.sessions[i]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token_store::MemoryStore;

    const SANDBOX: &str = "SANDBOX issuer=http://127.0.0.1:1/t/v2.0 graph=http://127.0.0.1:2/v1.0 defender=http://127.0.0.1:2 tenant=t client_id=c app_client_id=a app_client_secret=s";

    fn dirs() -> Dirs {
        let base = std::env::temp_dir().join(format!(
            "idesk-desk-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        Dirs {
            config: base.join("config"),
            data: base.join("data"),
        }
    }

    #[test]
    fn opens_on_the_sandbox_when_nothing_is_configured_and_switches_keep_sessions() {
        let d = dirs();
        let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::default());
        assert!(
            Desk::open(&d, None, Arc::clone(&store), false).is_err(),
            "nothing to open on"
        );
        let mut config = Config::default();
        let mut other = crate::sandbox::profile_from_line(SANDBOX).unwrap();
        other.name = "Contoso".into();
        other.sandbox = false;
        config.upsert(other);
        config.save(&d).unwrap();

        let desk = Desk::open(&d, Some(SANDBOX), store, false).unwrap();
        assert_eq!(
            desk.profiles().map(|p| p.name.as_str()).collect::<Vec<_>>(),
            ["Contoso", "Sandbox"]
        );
        assert_eq!(
            desk.current().profile().name,
            "Sandbox",
            "no current profile set: the sandbox"
        );
        let contoso = desk.switch("Contoso").unwrap();
        assert_eq!(desk.current().profile().name, "Contoso");
        desk.switch("Sandbox").unwrap();
        assert!(
            Arc::ptr_eq(&desk.switch("Contoso").unwrap(), &contoso),
            "switching back keeps the session"
        );
        assert!(desk.switch("Nope").is_err());
        let _ = std::fs::remove_dir_all(d.config.parent().unwrap());
    }
}
