//! A signed-in session for one profile: interactive sign-in, silent resume from the keychain,
//! access tokens kept in memory and refreshed early, once, and sign-out.
//!
//! Every stored credential is sealed with the profile's fingerprint (issuer, tenant, client): one
//! stored for another identity of the same profile name is deleted, never sent. Sign-out bumps a
//! generation that no older sign-in or refresh may persist over, so an answer already in flight
//! cannot undo it.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use jsonwebtoken::jwk::JwkSet;
use oauth2::{AuthorizationCode, CsrfToken, PkceCodeVerifier};
use tokio::sync::OnceCell;
use url::Url;

use crate::auth::certificate::ClientCertificate;
use crate::auth::loopback::{Callback, Listener};
use crate::auth::oidc::{
    self, Account, AuthorizeRequest, ClientProof, Grant, IdentityHttp, Metadata, TokenSet, Verified,
};
use crate::auth::secret::Secret;
use crate::auth::token_store::{blocking, credential_key, seal, unseal, TokenStore};
use crate::config::{Credential, Kind, Profile};
use crate::error::{Error, Result};

/// Refresh this long before the access token expires.
pub const REFRESH_EARLY: Duration = Duration::from_secs(5 * 60);
/// Without `expires_in`, assume the shortest lifetime Entra issues.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(60 * 60);
/// An unknown signing key makes the keys be fetched again, at most this often.
const JWKS_REFETCH: Duration = Duration::from_secs(60);

pub type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

struct AccessToken {
    value: Secret,
    expires_at: SystemTime,
}

#[derive(Default)]
struct State {
    access: Option<AccessToken>,
    account: Option<Account>,
    /// The ID token's `sub` of this run's sign-in: a refresh must name the same one.
    subject: Option<String>,
    /// Claims an API challenged for; the next interactive sign-in (one attempt) asks for them.
    claims: Option<String>,
}

struct Keys {
    set: JwkSet,
    /// When an unknown key ID last made the keys be fetched again.
    refetched: Option<Instant>,
}

pub struct Session {
    profile: Profile,
    fingerprint: String,
    http: IdentityHttp,
    store: Arc<dyn TokenStore>,
    clock: Clock,
    meta: OnceCell<Metadata>,
    keys: tokio::sync::Mutex<Option<Keys>>,
    state: Mutex<State>,
    /// Bumped by sign-out: a sign-in or refresh begun before may not persist anything.
    generation: AtomicU64,
    /// Single flight: one refresh at a time per profile. Held across the token request on purpose;
    /// the state lock above never is. Sign-out takes it too, so it waits for a refresh in flight.
    refresh_gate: tokio::sync::Mutex<()>,
}

/// A sign-in that has its listener up and its URL ready, waiting for the browser.
pub struct PendingSignIn {
    pub url: Url,
    listener: Listener,
    redirect_uri: String,
    state: CsrfToken,
    nonce: String,
    verifier: PkceCodeVerifier,
    generation: u64,
}

impl Session {
    pub fn new(profile: Profile, store: Arc<dyn TokenStore>) -> Result<Self> {
        Self::with_clock(profile, store, Arc::new(SystemTime::now))
    }

    pub fn with_clock(profile: Profile, store: Arc<dyn TokenStore>, clock: Clock) -> Result<Self> {
        let http = IdentityHttp::new(profile.proxy.as_ref())?;
        Self::built(profile, store, clock, http)
    }

    /// A session over an HTTP client the caller already has for the profile's proxy (a desk's
    /// profiles with the same proxy share one).
    pub(crate) fn with_http(
        profile: Profile,
        store: Arc<dyn TokenStore>,
        http: IdentityHttp,
    ) -> Result<Self> {
        Self::built(profile, store, Arc::new(SystemTime::now), http)
    }

    fn built(
        profile: Profile,
        store: Arc<dyn TokenStore>,
        clock: Clock,
        http: IdentityHttp,
    ) -> Result<Self> {
        Ok(Self {
            fingerprint: profile.fingerprint()?,
            http,
            profile,
            store,
            clock,
            meta: OnceCell::new(),
            keys: tokio::sync::Mutex::new(None),
            state: Mutex::new(State::default()),
            generation: AtomicU64::new(0),
            refresh_gate: tokio::sync::Mutex::new(()),
        })
    }

    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// The profile's HTTP client, for its API traffic too.
    pub(crate) fn http_client(&self) -> reqwest::Client {
        self.http.client()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn account(&self) -> Option<Account> {
        self.lock().account.clone()
    }

    pub fn access_expires_at(&self) -> Option<SystemTime> {
        self.lock().access.as_ref().map(|a| a.expires_at)
    }

    async fn metadata(&self) -> Result<&Metadata> {
        self.meta
            .get_or_try_init(|| async {
                oidc::discover(&self.http, &self.profile.authority()?, &self.profile.tenant).await
            })
            .await
    }

    /// The key an ID token is signed with. An unknown key ID fetches the keys again (the provider
    /// rotated them); tokens naming unknown keys make that happen at most once a minute.
    async fn signing_key(&self, kid: &str) -> Result<jsonwebtoken::jwk::Jwk> {
        let meta = self.metadata().await?;
        let mut keys = self.keys.lock().await;
        if let Some(k) = keys.as_ref().and_then(|k| k.set.find(kid)) {
            return Ok(k.clone());
        }
        let refetched = match keys.as_ref() {
            None => None,
            Some(k) if k.refetched.is_some_and(|t| t.elapsed() < JWKS_REFETCH) => {
                return Err(Error::InvalidAuthResponse(
                    "the ID token is signed with an unknown key".into(),
                ))
            }
            Some(_) => Some(Instant::now()),
        };
        let set = oidc::fetch_jwks(&self.http, meta).await?;
        *keys = Some(Keys { set, refetched });
        keys.as_ref()
            .and_then(|k| k.set.find(kid))
            .cloned()
            .ok_or_else(|| {
                Error::InvalidAuthResponse("the ID token is signed with an unknown key".into())
            })
    }

    async fn verify(&self, id_token: &Secret, nonce: Option<&str>) -> Result<Verified> {
        let kid = oidc::key_id(id_token.expose())?;
        let jwk = self.signing_key(&kid).await?;
        oidc::validate_id_token(
            id_token.expose(),
            &jwk,
            self.metadata().await?,
            &self.profile.client_id,
            nonce,
            &self.profile.tenant,
        )
    }

    /// The keychain entry of the profile's long-lived credential.
    fn key(&self) -> String {
        credential_key(&self.profile)
    }

    /// The stored credential, if it was stored for this profile's identity. One stored for another
    /// (the profile was re-added with another tenant, authority or client) is deleted unsent.
    async fn credential(&self) -> Result<Option<Secret>> {
        let key = self.key();
        let fp = self.fingerprint.clone();
        blocking(&self.store, move |s| {
            let Some(raw) = s.load(&key)? else {
                return Ok(None);
            };
            match unseal(&fp, &raw) {
                Some(v) => Ok(Some(v)),
                None => {
                    tracing::warn!(
                        key,
                        "a stored credential belongs to another tenant or app registration; deleted unsent"
                    );
                    s.delete_if(&key, &raw)?;
                    Ok(None)
                }
            }
        })
        .await
    }

    /// Stores the credential, unless a sign-out came since `generation` was read. The caller holds
    /// the refresh gate, so a sign-out cannot slip between the check and the write.
    async fn persist(&self, value: Secret, generation: u64) -> Result<()> {
        if self.generation.load(Ordering::SeqCst) != generation {
            return Err(Error::NotSignedIn);
        }
        let (key, sealed) = (self.key(), seal(&self.fingerprint, &value));
        blocking(&self.store, move |s| s.save(&key, &sealed)).await
    }

    /// Starts an interactive sign-in: binds the loopback listener and builds the URL to open.
    pub async fn begin_sign_in(&self, login_hint: Option<&str>) -> Result<PendingSignIn> {
        if self.profile.kind == Kind::Application {
            return Err(Error::Invalid(
                "an application profile signs in with its client credentials, not in the browser"
                    .into(),
            ));
        }
        let generation = self.generation.load(Ordering::SeqCst);
        let meta = self.metadata().await?;
        let listener = Listener::bind().await?;
        let redirect_uri = listener.redirect_uri();
        let scope = self.profile.scopes();
        // A claims challenge is asked for in one attempt only: a bad one cannot block sign-in.
        let claims = self.lock().claims.take();
        let auth = oidc::authorize(
            meta,
            &AuthorizeRequest {
                client_id: &self.profile.client_id,
                redirect_uri: &redirect_uri,
                scope: &scope,
                login_hint,
                claims: claims.as_deref(),
                prompt: None,
            },
        )?;
        Ok(PendingSignIn {
            url: auth.url,
            listener,
            redirect_uri,
            state: auth.state,
            nonce: auth.nonce,
            verifier: auth.verifier,
            generation,
        })
    }

    /// Waits for the browser, exchanges the code, validates the ID token and keeps the refresh
    /// token in the store. Ends early with `SignInCancelled` when `cancel` completes. The browser's
    /// page says "Signed in" only when all of that succeeded.
    pub async fn finish_sign_in(
        &self,
        pending: PendingSignIn,
        timeout: Duration,
        cancel: impl Future<Output = ()>,
    ) -> Result<Account> {
        let PendingSignIn {
            listener,
            redirect_uri,
            state,
            nonce,
            verifier,
            generation,
            ..
        } = pending;
        let (callback, page) = tokio::select! {
            r = tokio::time::timeout(timeout, listener.wait(state)) => r.map_err(|_| Error::SignInTimeout)??,
            () = cancel => return Err(Error::SignInCancelled),
        };
        let result = self
            .complete(callback, &redirect_uri, &nonce, verifier, generation)
            .await;
        page.report(result.is_ok());
        result
    }

    async fn complete(
        &self,
        callback: Callback,
        redirect_uri: &str,
        nonce: &str,
        verifier: PkceCodeVerifier,
        generation: u64,
    ) -> Result<Account> {
        let (code, iss) = match callback {
            Callback::Code { code, iss } => (code, iss),
            // The user said no in the browser (no code, or AADSTS65004 "declined consent"); an
            // access_denied with another code (Conditional Access, ...) is explained instead.
            Callback::Error { error, description }
                if error == "access_denied"
                    && matches!(
                        crate::auth::entra::aadsts_code(None, Some(&description)),
                        None | Some(65004)
                    ) =>
            {
                return Err(Error::SignInCancelled)
            }
            Callback::Error { error, description } => {
                return Err(Error::identity(&error, None, Some(&description)))
            }
        };
        let meta = self.metadata().await?;
        // RFC 9207: when the server names itself, it must be the issuer we started with.
        if iss.as_deref().is_some_and(|i| i != meta.issuer) {
            return Err(Error::InvalidAuthResponse(
                "the response came from a different issuer".into(),
            ));
        }
        let tokens = oidc::request_token(
            &self.http,
            meta,
            &self.profile.client_id,
            &self.profile.scopes(),
            Grant::AuthorizationCode {
                code: AuthorizationCode::new(code.expose().to_owned()),
                redirect_uri,
                verifier,
            },
        )
        .await?;
        let id_token = tokens.id_token.as_ref().ok_or_else(|| {
            Error::InvalidAuthResponse("no ID token in the sign-in response".into())
        })?;
        let verified = self.verify(id_token, Some(nonce)).await?;
        if let Some(rt) = tokens.refresh_token.clone() {
            let _gate = self.refresh_gate.lock().await;
            self.persist(rt, generation).await?;
        }
        {
            let mut st = self.lock();
            st.subject = Some(verified.subject.clone());
            st.account = Some(verified.account.clone());
        }
        self.keep_access(&tokens);
        Ok(verified.account)
    }

    fn keep_access(&self, tokens: &TokenSet) {
        let lifetime = tokens.expires_in.unwrap_or(DEFAULT_LIFETIME);
        self.lock().access = Some(AccessToken {
            value: tokens.access_token.clone(),
            expires_at: (self.clock)() + lifetime,
        });
    }

    /// Records a claims challenge from an API (RFC 6750 §3 `insufficient_claims`, already checked
    /// by the caller): the access token is dropped and the next interactive sign-in asks for them.
    pub fn require_claims(&self, claims: String) {
        let mut st = self.lock();
        st.claims = Some(claims);
        st.access = None;
    }

    /// Signs in silently from the stored refresh token. `Ok(None)` when there is none: the
    /// refresh reads it (once: each keychain read is a round trip, over D-Bus on Linux) and
    /// answers `NotSignedIn` without it, before anything is sent.
    pub async fn resume(&self) -> Result<Option<Account>> {
        self.resume_with(None).await
    }

    /// `resume` with the credential the caller has just read from the keychain (`None` in it: none
    /// is stored) and the `generation` it read it at: used instead of a second read of the same
    /// entry, unless a sign-out has begun since.
    pub(crate) async fn resume_with(&self, known: Option<Known>) -> Result<Option<Account>> {
        match self.refresh(None, known).await {
            Ok(_) => Ok(self.account()),
            Err(Error::NotSignedIn) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Moves when a sign-out begins and again once it has deleted the credential: a credential
    /// read outside the refresh gate at an unchanged generation predates any sign-out.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Whether a refresh token (or client secret) is stored for this profile. No network.
    pub async fn has_credential(&self) -> Result<bool> {
        Ok(self.credential().await?.is_some())
    }

    fn fresh_token(&self) -> Option<Secret> {
        let st = self.lock();
        let a = st.access.as_ref()?;
        let now = (self.clock)();
        (a.expires_at > now + REFRESH_EARLY).then(|| a.value.clone())
    }

    /// An access token valid for at least the next few minutes.
    pub async fn access_token(&self) -> Result<Secret> {
        match self.fresh_token() {
            Some(t) => Ok(t),
            None => self.refresh(None, None).await,
        }
    }

    /// After the API rejected `rejected` with 401: refresh once, unless another caller already did.
    pub async fn refresh_after_rejection(&self, rejected: &Secret) -> Result<Secret> {
        self.refresh(Some(rejected), None).await
    }

    async fn refresh(&self, rejected: Option<&Secret>, known: Option<Known>) -> Result<Secret> {
        let _gate = self.refresh_gate.lock().await;
        // Double-checked: whoever held the gate before us may have refreshed already.
        if let Some(t) = self.fresh_token() {
            if rejected != Some(&t) {
                return Ok(t);
            }
        }
        let generation = self.generation.load(Ordering::SeqCst);
        let credential = match known {
            Some((seen, credential)) if seen == generation => credential,
            _ => self.credential().await?,
        }
        .ok_or(Error::NotSignedIn)?;
        let meta = self.metadata().await?;
        let (scope, grant) = match self.profile.kind {
            Kind::Delegated => (self.profile.scopes(), Grant::RefreshToken(&credential)),
            Kind::Application => (
                self.profile.app_scope(),
                Grant::ClientCredentials(self.client_proof(&credential, meta)?),
            ),
        };
        let tokens =
            match oidc::request_token(&self.http, meta, &self.profile.client_id, &scope, grant)
                .await
            {
                Err(e @ Error::SignedOut(_)) => {
                    // The grant is gone: forget this token — only this one: another process may
                    // have stored a newer one meanwhile.
                    *self.lock() = State::default();
                    let (key, rejected) = (self.key(), seal(&self.fingerprint, &credential));
                    blocking(&self.store, move |s| s.delete_if(&key, &rejected)).await?;
                    return Err(e);
                }
                other => other?,
            };
        // A rotated refresh token is kept before anything that can fail: the old one may no
        // longer be honoured.
        if let Some(rt) = tokens.refresh_token.clone() {
            self.persist(rt, generation).await?;
        }
        if self.profile.kind == Kind::Application {
            self.lock().account = Some(Account {
                name: Some(format!("Application {}", self.profile.client_id)),
                username: None,
                tenant_id: Some(self.profile.tenant.clone()),
                object_id: None,
            });
        } else if let Some(id) = &tokens.id_token {
            let verified = self.verify(id, None).await?;
            let mut st = self.lock();
            if st.subject.as_ref().is_some_and(|s| *s != verified.subject)
                || st.account.as_ref().is_some_and(|a| {
                    a.tenant_id.is_some() && a.tenant_id != verified.account.tenant_id
                })
            {
                *st = State::default();
                return Err(Error::InvalidAuthResponse(
                    "the refreshed sign-in names another account or tenant: sign in again".into(),
                ));
            }
            st.subject = Some(verified.subject);
            st.account = Some(verified.account);
        }
        self.keep_access(&tokens);
        Ok(tokens.access_token)
    }

    /// How an application proves itself with `credential`: the client secret itself, or a fresh
    /// client assertion signed with the certificate's key for this tenant's token endpoint.
    fn client_proof<'a>(&self, credential: &'a Secret, meta: &Metadata) -> Result<ClientProof<'a>> {
        Ok(match self.profile.credential {
            Credential::Secret => ClientProof::Secret(credential),
            Credential::Certificate => ClientProof::Assertion(
                ClientCertificate::from_pem(credential)?
                    .assertion(&self.profile.client_id, meta.token_endpoint.as_str())?,
            ),
        })
    }

    /// Keeps an application profile's credential (its client secret, or its certificate's key
    /// and certificate as PEM) in the keychain, after checking that the tenant accepts it. One
    /// that does not work is not kept, and an older one stays.
    pub async fn set_app_credential(&self, credential: Secret) -> Result<Account> {
        if self.profile.kind != Kind::Application {
            return Err(Error::Invalid(
                "only application profiles have a client secret or certificate".into(),
            ));
        }
        let generation = self.generation.load(Ordering::SeqCst);
        let meta = self.metadata().await?;
        let tokens = oidc::request_token(
            &self.http,
            meta,
            &self.profile.client_id,
            &self.profile.app_scope(),
            Grant::ClientCredentials(self.client_proof(&credential, meta)?),
        )
        .await?;
        {
            let _gate = self.refresh_gate.lock().await;
            self.persist(credential, generation).await?;
        }
        self.keep_access(&tokens);
        let account = Account {
            name: Some(format!("Application {}", self.profile.client_id)),
            username: None,
            tenant_id: Some(self.profile.tenant.clone()),
            object_id: None,
        };
        self.lock().account = Some(account.clone());
        Ok(account)
    }

    /// Removes the credential from the keychain and drops the tokens in memory. Waits for a
    /// refresh in flight, and no sign-in or refresh begun before can store a token afterwards.
    pub async fn sign_out(&self) -> Result<()> {
        let _gate = self.refresh_gate.lock().await;
        self.generation.fetch_add(1, Ordering::SeqCst);
        *self.lock() = State::default();
        let key = self.key();
        let deleted = blocking(&self.store, move |s| s.delete(&key)).await;
        // Again once the entry is gone: a credential read meanwhile, outside the gate, is stale.
        self.generation.fetch_add(1, Ordering::SeqCst);
        deleted
    }
}

/// A credential read from the keychain (`None`: none stored), with the session's generation
/// when it was read (`Session::generation`).
pub(crate) type Known = (u64, Option<Secret>);
