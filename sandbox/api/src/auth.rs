//! Bearer tokens and quotas, as each API enforces them.
//!
//! A token must be signed by the sandbox IdP, be for this tenant's issuer, and carry the API's own
//! audience. Users need a delegated scope and a security role (Security Reader or higher to read,
//! Security Operator or Security Administrator to write); apps need an application role. Every
//! accepted request counts against the caller's quota.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use crate::api_error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Api {
    Graph,
    Defender,
}

impl Api {
    fn audience(self) -> &'static str {
        match self {
            Api::Graph => "https://graph.microsoft.com",
            Api::Defender => "https://api.security.microsoft.com",
        }
    }

    /// (delegated read, delegated write, application read, application write)
    fn permissions(self) -> [&'static str; 4] {
        match self {
            Api::Graph => [
                "SecurityIncident.Read.All",
                "SecurityIncident.ReadWrite.All",
                "SecurityIncident.Read.All",
                "SecurityIncident.ReadWrite.All",
            ],
            Api::Defender => [
                "Incident.Read",
                "Incident.ReadWrite",
                "Incident.Read.All",
                "Incident.ReadWrite.All",
            ],
        }
    }

    /// Requests per window: Graph 150 a minute per app per tenant; Defender 50 a minute and 1,500
    /// an hour.
    fn quotas(self) -> &'static [(usize, Duration)] {
        const GRAPH: &[(usize, Duration)] = &[(150, Duration::from_secs(60))];
        const DEFENDER: &[(usize, Duration)] = &[
            (50, Duration::from_secs(60)),
            (1500, Duration::from_secs(3600)),
        ];
        match self {
            Api::Graph => GRAPH,
            Api::Defender => DEFENDER,
        }
    }
}

const READ_ROLES: &[&str] = &[
    "5d6b6bb7-de71-4623-b4af-96380a352509", // Security Reader
    "5f2222b1-57c3-48ba-8ad5-d4759f1fde6f", // Security Operator
    "194ae4cb-b126-40b2-bd5b-6091b380977d", // Security Administrator
    "f2ef992c-3afb-46b9-b7cf-a126ee74c451", // Global Reader
];
const WRITE_ROLES: &[&str] = &[
    "5f2222b1-57c3-48ba-8ad5-d4759f1fde6f",
    "194ae4cb-b126-40b2-bd5b-6091b380977d",
];

#[derive(Deserialize)]
struct Claims {
    #[serde(default)]
    scp: Option<String>,
    #[serde(default)]
    roles: Option<Vec<String>>,
    #[serde(default)]
    wids: Option<Vec<String>>,
    #[serde(default)]
    appid: Option<String>,
    #[serde(default)]
    tid: Option<String>,
    #[serde(default)]
    upn: Option<String>,
}

/// Who made an accepted request.
pub struct Caller {
    /// The user's principal name, or the app's ID.
    pub upn: String,
}

/// One GET of the IdP's discovery or keys. Bounded: a start that cannot read them fails and says
/// so, rather than waiting for ever.
async fn get_json<T: serde::de::DeserializeOwned>(url: String) -> Result<T, String> {
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;
    let resp = client
        .get(&url)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| format!("{url}: {e}"))?;
    resp.json().await.map_err(|e| format!("{url}: {e}"))
}

pub struct Verifier {
    issuer: String,
    jwks: JwkSet,
    quotas_on: bool,
    /// Request times per (api, tenant, app).
    windows: Mutex<HashMap<(Api, String), VecDeque<Instant>>>,
    /// Requests answered 429, for the control plane's stats.
    throttled: std::sync::atomic::AtomicU64,
}

impl Verifier {
    pub async fn new(issuer: &str) -> Result<Self, String> {
        #[derive(Deserialize)]
        struct Discovery {
            jwks_uri: String,
        }
        let disc: Discovery =
            get_json(format!("{issuer}/.well-known/openid-configuration")).await?;
        let jwks: JwkSet = get_json(disc.jwks_uri).await?;
        // Benchmarks that measure the client, not the wait, may switch the quotas off.
        let quotas_on = std::env::var("SANDBOX_QUOTAS").as_deref() != Ok("off");
        Ok(Self {
            issuer: issuer.to_owned(),
            jwks,
            quotas_on,
            windows: Mutex::default(),
            throttled: std::sync::atomic::AtomicU64::new(0),
        })
    }

    pub fn check(&self, api: Api, headers: &HeaderMap, write: bool) -> Result<Caller, Response> {
        let unauthorized = |msg: &str| {
            let mut r = api_error(
                api,
                StatusCode::UNAUTHORIZED,
                "InvalidAuthenticationToken",
                msg,
            );
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"\", error=\"invalid_token\""),
            );
            r
        };
        let forbidden = |msg: &str| Err(api_error(api, StatusCode::FORBIDDEN, "Forbidden", msg));
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| unauthorized("Access token is empty."))?;
        let head = jsonwebtoken::decode_header(token)
            .map_err(|_| unauthorized("IDX14100: JWT is not well formed."))?;
        let jwk = head
            .kid
            .as_deref()
            .and_then(|k| self.jwks.find(k))
            .ok_or_else(|| unauthorized("Access token signature key is unknown."))?;
        let key = DecodingKey::from_jwk(jwk)
            .map_err(|_| unauthorized("Access token signature key is invalid."))?;
        let mut v = Validation::new(Algorithm::RS256);
        v.set_issuer(&[&self.issuer]);
        v.set_audience(&[api.audience()]);
        let claims = jsonwebtoken::decode::<Claims>(token, &key, &v)
            .map_err(|e| unauthorized(&format!("Access token validation failure: {e}")))?
            .claims;
        let [d_read, d_write, a_read, a_write] = api.permissions();
        let caller;
        if let Some(scp) = &claims.scp {
            let scopes: Vec<&str> = scp.split(' ').collect();
            let wids = claims.wids.unwrap_or_default();
            if !scopes.contains(&d_write) && (write || !scopes.contains(&d_read)) {
                let need = if write { d_write } else { d_read };
                return forbidden(&format!("Missing delegated permission {need}."));
            }
            let roles = if write { WRITE_ROLES } else { READ_ROLES };
            if !wids.iter().any(|w| roles.contains(&w.as_str())) {
                return forbidden(if write {
                    "The user does not have a role that allows updating incidents (Security Operator or Security Administrator)."
                } else {
                    "The user does not have a role that allows reading incidents (Security Reader or higher)."
                });
            }
            caller = Caller {
                upn: claims.upn.unwrap_or_default(),
            };
        } else {
            let roles = claims.roles.unwrap_or_default();
            if !roles.iter().any(|r| r == a_write) && (write || !roles.iter().any(|r| r == a_read))
            {
                let need = if write { a_write } else { a_read };
                return forbidden(&format!("Missing application permission {need}."));
            }
            caller = Caller {
                upn: claims.appid.clone().unwrap_or_default(),
            };
        }
        if self.quotas_on {
            let key = (
                api,
                format!(
                    "{}/{}",
                    claims.tid.unwrap_or_default(),
                    claims.appid.unwrap_or_default()
                ),
            );
            self.count(api, key)?;
        }
        Ok(caller)
    }

    /// Requests answered 429 so far.
    pub fn throttled(&self) -> u64 {
        self.throttled.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn count(&self, api: Api, key: (Api, String)) -> Result<(), Response> {
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let times = windows.entry(key).or_default();
        let now = Instant::now();
        let longest = api.quotas().iter().map(|q| q.1).max().unwrap_or_default();
        while times
            .front()
            .is_some_and(|t| now.duration_since(*t) > longest)
        {
            times.pop_front();
        }
        for &(limit, window) in api.quotas() {
            let in_window: Vec<&Instant> = times
                .iter()
                .filter(|t| now.duration_since(**t) <= window)
                .collect();
            if in_window.len() >= limit {
                let wait = window
                    .saturating_sub(now.duration_since(*in_window[0]))
                    .as_secs()
                    .max(1);
                self.throttled
                    .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                return Err(match api {
                    Api::Graph => {
                        let mut r = api_error(api, StatusCode::TOO_MANY_REQUESTS, "TooManyRequests", "Too many requests.");
                        r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(wait));
                        r
                    }
                    // Defender XDR puts the wait in the body, with no Retry-After header.
                    Api::Defender => api_error(api, StatusCode::TOO_MANY_REQUESTS, "TooManyRequests",
                        &format!("Rate limit is exceeded. You can send requests again in {wait} seconds.")),
                });
            }
        }
        times.push_back(now);
        Ok(())
    }
}
