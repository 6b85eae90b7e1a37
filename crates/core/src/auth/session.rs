//! A signed-in session for one profile: interactive sign-in, silent resume from the keychain,
//! access tokens kept in memory and refreshed early, once, and sign-out.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use jsonwebtoken::jwk::JwkSet;
use tokio::sync::OnceCell;
use url::Url;

use crate::auth::loopback::{Callback, Listener};
use crate::auth::oidc::{self, Account, AuthorizeRequest, Grant, Metadata, TokenResponse};
use crate::auth::pkce::{random_token, Pkce};
use crate::auth::secret::Secret;
use crate::auth::token_store::{blocking, client_secret_key, refresh_token_key, TokenStore};
use crate::config::{Kind, Profile};
use crate::error::{Error, Result};

/// Refresh this long before the access token expires.
pub const REFRESH_EARLY: Duration = Duration::from_secs(5 * 60);
/// Without `expires_in`, assume the shortest lifetime Entra issues.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(60 * 60);

pub type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

struct AccessToken {
    value: Secret,
    expires_at: SystemTime,
}

#[derive(Default)]
struct State {
    access: Option<AccessToken>,
    account: Option<Account>,
    /// Claims an API challenged for; the next interactive sign-in asks for them.
    claims: Option<String>,
}

pub struct Session {
    profile: Profile,
    http: reqwest::Client,
    store: Arc<dyn TokenStore>,
    clock: Clock,
    meta: OnceCell<Metadata>,
    jwks: OnceCell<JwkSet>,
    state: Mutex<State>,
    /// Single flight: one refresh at a time per profile. Held across the token request on purpose;
    /// the state lock above never is.
    refresh_gate: tokio::sync::Mutex<()>,
}

/// A sign-in that has its listener up and its URL ready, waiting for the browser.
pub struct PendingSignIn {
    pub url: Url,
    listener: Listener,
    redirect_uri: String,
    state: String,
    nonce: String,
    pkce: Pkce,
}

impl Session {
    pub fn new(profile: Profile, store: Arc<dyn TokenStore>) -> Self {
        Self::with_clock(profile, store, Arc::new(SystemTime::now))
    }

    pub fn with_clock(profile: Profile, store: Arc<dyn TokenStore>, clock: Clock) -> Self {
        Self {
            profile,
            http: oidc::http_client(),
            store,
            clock,
            meta: OnceCell::new(),
            jwks: OnceCell::new(),
            state: Mutex::new(State::default()),
            refresh_gate: tokio::sync::Mutex::new(()),
        }
    }

    pub fn profile(&self) -> &Profile {
        &self.profile
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
                oidc::discover(&self.http, &self.profile.authority()?).await
            })
            .await
    }

    async fn jwks(&self) -> Result<&JwkSet> {
        let meta = self.metadata().await?;
        self.jwks
            .get_or_try_init(|| oidc::fetch_jwks(&self.http, meta))
            .await
    }

    /// The keychain entry of the profile's long-lived credential: the refresh token of a delegated
    /// profile, the client secret of an application profile.
    fn key(&self) -> String {
        match self.profile.kind {
            Kind::Delegated => refresh_token_key(&self.profile.name),
            Kind::Application => client_secret_key(&self.profile.name),
        }
    }

    /// Starts an interactive sign-in: binds the loopback listener and builds the URL to open.
    pub async fn begin_sign_in(&self, login_hint: Option<&str>) -> Result<PendingSignIn> {
        if self.profile.kind == Kind::Application {
            return Err(Error::Invalid(
                "an application profile signs in with its client secret, not in the browser".into(),
            ));
        }
        let meta = self.metadata().await?;
        let listener = Listener::bind().await?;
        let redirect_uri = listener.redirect_uri();
        let (state, nonce, pkce) = (random_token(), random_token(), Pkce::new());
        let scope = self.profile.scopes();
        let claims = self.lock().claims.clone();
        let url = oidc::authorize_url(
            meta,
            &AuthorizeRequest {
                client_id: &self.profile.client_id,
                redirect_uri: &redirect_uri,
                scope: &scope,
                state: &state,
                nonce: &nonce,
                code_challenge: &pkce.challenge,
                login_hint,
                claims: claims.as_deref(),
            },
        );
        Ok(PendingSignIn {
            url,
            listener,
            redirect_uri,
            state,
            nonce,
            pkce,
        })
    }

    /// Waits for the browser, exchanges the code, validates the ID token and keeps the refresh
    /// token in the store. Ends early with `SignInCancelled` when `cancel` completes.
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
            pkce,
            ..
        } = pending;
        let callback = tokio::select! {
            r = tokio::time::timeout(timeout, listener.wait(&state)) => r.map_err(|_| Error::SignInTimeout)??,
            () = cancel => return Err(Error::SignInCancelled),
        };
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
        let resp = self
            .redeem(Grant::AuthorizationCode {
                code: &code,
                redirect_uri: &redirect_uri,
                verifier: &pkce.verifier,
            })
            .await?;
        let account = self.accept(resp, Some(&nonce)).await?;
        self.lock().claims = None;
        account
            .ok_or_else(|| Error::InvalidAuthResponse("no ID token in the sign-in response".into()))
    }

    /// One request to the token endpoint, for the profile's client and scopes.
    async fn redeem(&self, grant: Grant<'_>) -> Result<TokenResponse> {
        let meta = self.metadata().await?;
        let scope = match grant {
            Grant::ClientCredentials { .. } => self.profile.app_scope(),
            _ => self.profile.scopes(),
        };
        oidc::request_token(&self.http, meta, &self.profile.client_id, &scope, grant).await
    }

    /// Keeps a token response: the refresh token is persisted before the access token is used,
    /// because a rotated-out refresh token may be rejected (or revoke the grant) on reuse.
    async fn accept(&self, resp: TokenResponse, nonce: Option<&str>) -> Result<Option<Account>> {
        let account = match &resp.id_token {
            Some(id) => {
                let meta = self.metadata().await?;
                let jwks = self.jwks().await?;
                Some(oidc::validate_id_token(
                    id.expose(),
                    jwks,
                    meta,
                    &self.profile.client_id,
                    nonce,
                    &self.profile.tenant,
                )?)
            }
            None => None,
        };
        if let Some(rt) = resp.refresh_token {
            let key = self.key();
            blocking(&self.store, move |s| s.save(&key, &rt)).await?;
        }
        let lifetime = resp
            .expires_in
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_LIFETIME);
        let mut st = self.lock();
        if self.profile.kind == Kind::Application {
            st.account = Some(Account {
                name: Some(format!("Application {}", self.profile.client_id)),
                username: None,
                tenant_id: Some(self.profile.tenant.clone()),
                object_id: None,
            });
        }
        st.access = Some(AccessToken {
            value: resp.access_token,
            expires_at: (self.clock)() + lifetime,
        });
        if let Some(a) = &account {
            st.account = Some(a.clone());
        }
        Ok(account.or_else(|| st.account.clone()))
    }

    /// Records a claims challenge from an API (RFC 6750 §3 `insufficient_claims`): the access token
    /// is dropped and the next interactive sign-in requests these claims.
    pub fn require_claims(&self, claims: String) {
        let mut st = self.lock();
        st.claims = Some(claims);
        st.access = None;
    }

    /// Signs in silently from the stored refresh token. `Ok(None)` when there is none.
    pub async fn resume(&self) -> Result<Option<Account>> {
        let key = self.key();
        if blocking(&self.store, move |s| s.load(&key))
            .await?
            .is_none()
        {
            return Ok(None);
        }
        match self.refresh(None).await {
            Ok(_) => Ok(self.account()),
            Err(Error::NotSignedIn) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Whether a refresh token (or client secret) is stored for this profile. No network.
    pub async fn has_credential(&self) -> Result<bool> {
        let key = self.key();
        Ok(blocking(&self.store, move |s| s.load(&key))
            .await?
            .is_some())
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
            None => self.refresh(None).await,
        }
    }

    /// After the API rejected `rejected` with 401: refresh once, unless another caller already did.
    pub async fn refresh_after_rejection(&self, rejected: &Secret) -> Result<Secret> {
        self.refresh(Some(rejected)).await
    }

    async fn refresh(&self, rejected: Option<&Secret>) -> Result<Secret> {
        let _gate = self.refresh_gate.lock().await;
        // Double-checked: whoever held the gate before us may have refreshed already.
        if let Some(t) = self.fresh_token() {
            if rejected != Some(&t) {
                return Ok(t);
            }
        }
        let key = self.key();
        let credential = blocking(&self.store, move |s| s.load(&key))
            .await?
            .ok_or(Error::NotSignedIn)?;
        let grant = match self.profile.kind {
            Kind::Delegated => Grant::RefreshToken {
                refresh_token: &credential,
            },
            Kind::Application => Grant::ClientCredentials {
                client_secret: &credential,
            },
        };
        let resp = self.redeem(grant).await;
        let resp = match resp {
            Err(e @ Error::SignedOut(_)) => {
                // The grant is gone: forget the useless token so the next start asks to sign in.
                self.forget().await?;
                return Err(e);
            }
            other => other?,
        };
        let value = resp.access_token.clone();
        self.accept(resp, None).await?;
        Ok(value)
    }

    async fn forget(&self) -> Result<()> {
        *self.lock() = State::default();
        let key = self.key();
        blocking(&self.store, move |s| s.delete(&key)).await
    }

    /// Keeps an application profile's client secret in the keychain, after checking that the
    /// tenant accepts it. A secret that does not work is not kept, and an older one stays.
    pub async fn set_client_secret(&self, secret: Secret) -> Result<Account> {
        if self.profile.kind != Kind::Application {
            return Err(Error::Invalid(
                "only application profiles have a client secret".into(),
            ));
        }
        let resp = self
            .redeem(Grant::ClientCredentials {
                client_secret: &secret,
            })
            .await?;
        let key = self.key();
        blocking(&self.store, move |s| s.save(&key, &secret)).await?;
        self.accept(resp, None).await?;
        self.account().ok_or(Error::NotSignedIn)
    }

    /// Removes the refresh token from the keychain and drops the tokens in memory.
    pub async fn sign_out(&self) -> Result<()> {
        self.forget().await
    }
}
