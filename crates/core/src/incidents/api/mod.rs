//! The incident APIs: Microsoft Graph `/security/incidents` (the default) and the Defender XDR API
//! `/api/incidents` (retiring 2027-02-01), behind one client.
//!
//! HTTP hygiene lives here, once: the bearer token goes only to the profile's API origin (a next
//! link or redirect elsewhere is refused); requests are paced under the documented quotas; a 429
//! waits for `Retry-After`, else the body's "in N seconds", else backs off with jitter; only
//! idempotent requests are retried after server errors, boundedly; a 401 refreshes once; a claims
//! challenge asks for an interactive sign-in; a 403 says which permission or role is missing.

mod defender;
mod graph;
mod pacer;

use std::time::Duration;

use rand::Rng;
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use time::OffsetDateTime;
use url::Url;

use crate::auth::session::Session;
use crate::config::{Backend, Profile};
use crate::error::{Error, Result};
use crate::incidents::model::{Incident, IncidentDetail, Status, Update};

pub use pacer::{background_waiting, in_background, Pacer};

const MAX_ATTEMPTS: u32 = 4;
const API_BODY_LIMIT: usize = crate::net::API_BODY_LIMIT;
const ERROR_BODY_LIMIT: usize = 64 * 1024;
const MAX_WAIT: Duration = Duration::from_secs(120);

/// The Defender XDR incidents API stops working on this date (Message Center MC1220762).
pub const DEFENDER_RETIREMENT: &str = "2027-02-01";

/// Reads one listing page of `backend` the way a listing does: the incidents and the next link.
/// Pure and total, for `make fuzz`: any bytes give incidents or an error, never a panic.
pub fn read_page(backend: Backend, body: &[u8]) -> Result<(Vec<Incident>, Option<String>)> {
    match backend {
        Backend::Graph => graph::read_page(body),
        Backend::Defender => defender::read_page(body),
    }
}

/// Guards a listing against a server that pages forever: a next link seen before, or a page that
/// brings no incident not seen before, ends it.
#[derive(Default)]
pub(crate) struct PageGuard {
    links: std::collections::HashSet<String>,
}

impl PageGuard {
    /// The next link to follow, or `None` when following it would go round in circles.
    fn follow(&mut self, t: &Transport, link: &str, new_on_page: usize) -> Result<Option<Url>> {
        let url = t.same_origin(link)?;
        if new_on_page == 0 {
            tracing::warn!("the incident API's page brought nothing new; listing ends here");
            return Ok(None);
        }
        if !self.links.insert(url.as_str().to_owned()) {
            return Err(Error::InvalidResponse(
                "the incident API sent a page link it had sent before: listing stopped".into(),
            ));
        }
        Ok(Some(url))
    }
}

/// One page of a listing, for progress reports.
pub type Progress<'a> = &'a (dyn Fn(usize) + Send + Sync);

/// What a page sink's call returns: done when the page is kept.
pub type PageDone = std::pin::Pin<Box<dyn std::future::Future<Output = Result<()>> + Send>>;

/// Where a listing's pages go as they arrive (the sync writes each to the store), so memory does
/// not grow with the tenant and an interrupted listing keeps what it had.
pub type PageSink<'a> = &'a mut (dyn FnMut(Vec<Incident>) -> PageDone + Send);

pub struct IncidentApi {
    transport: Transport,
    backend: Backend,
}

impl IncidentApi {
    pub fn for_profile(profile: &Profile) -> Result<Self> {
        Self::with_client(profile, crate::net::client(profile.proxy.as_ref())?)
    }

    /// The profile's API over a client it already has (its sign-in's: see `net::client`).
    pub fn with_client(profile: &Profile, http: reqwest::Client) -> Result<Self> {
        let base = profile.api_base()?;
        let quotas = match profile.api {
            Backend::Graph => pacer::GRAPH,
            Backend::Defender => pacer::DEFENDER,
        };
        Ok(Self {
            transport: Transport::new(base, Pacer::new(quotas), Pacer::half_of(quotas), http),
            backend: profile.api,
        })
    }

    /// Every incident updated at or after `since` (RFC 3339), or all of them, page by page into
    /// `sink` (each incident once). Calls `progress` with the running count after each page.
    pub async fn list_pages(
        &self,
        session: &Session,
        since: Option<OffsetDateTime>,
        progress: Progress<'_>,
        sink: PageSink<'_>,
    ) -> Result<()> {
        match self.backend {
            Backend::Graph => graph::list(&self.transport, session, since, progress, sink).await,
            Backend::Defender => {
                defender::list(&self.transport, session, since, progress, sink).await
            }
        }
    }

    /// The same listing, gathered page by page as read: each incident is moved once, into its
    /// page, and never again (one growing list moved each of 10,000 incidents, some 400 bytes,
    /// twice on average, into ever larger fresh memory).
    pub async fn list(
        &self,
        session: &Session,
        since: Option<OffsetDateTime>,
        progress: Progress<'_>,
    ) -> Result<Vec<Vec<Incident>>> {
        let pages = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let gathered = std::sync::Arc::clone(&pages);
        let mut sink = move |page: Vec<Incident>| -> PageDone {
            if !page.is_empty() {
                gathered
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(page);
            }
            Box::pin(std::future::ready(Ok(())))
        };
        self.list_pages(session, since, progress, &mut sink).await?;
        drop(sink);
        let mut pages = pages.lock().unwrap_or_else(|e| e.into_inner());
        Ok(std::mem::take(&mut *pages))
    }

    /// Whether a listing comes oldest change first (Graph's `$orderby`): then the sync watermark
    /// may move after each page, and an interrupted sync resumes where it stopped. Defender XDR's
    /// listing has no order, so its watermark moves only when a listing completes.
    pub fn lists_oldest_first(&self) -> bool {
        self.backend == Backend::Graph
    }

    /// One incident with its alerts and evidence.
    pub async fn get(&self, session: &Session, id: &str) -> Result<IncidentDetail> {
        match self.backend {
            Backend::Graph => graph::get(&self.transport, session, id).await,
            Backend::Defender => defender::get(&self.transport, session, id).await,
        }
    }

    /// Applies a triage change, after re-reading the incident: if it changed since the analyst saw
    /// it (`seen_last_update`), nothing is written and `Error::Conflict` carries the current state.
    pub async fn update(
        &self,
        session: &Session,
        id: &str,
        update: &Update,
        seen_last_update: Option<OffsetDateTime>,
    ) -> Result<Incident> {
        update.check()?;
        let current = self.get(session, id).await?.incident;
        // A merged incident's alerts live in the incident it joined: a change here would be lost.
        if current.status == Status::Redirected {
            return Err(Error::Merged {
                id: id.to_owned(),
                into: current.redirect_incident_id,
            });
        }
        if let Some(seen) = seen_last_update {
            if current.last_update != Some(seen) {
                return Err(Error::Conflict(Box::new(current)));
            }
        }
        match self.backend {
            Backend::Graph => graph::update(&self.transport, session, id, update).await,
            Backend::Defender => defender::update(&self.transport, session, id, update).await,
        }
    }
}

/// An API reply read as `T`, whose strings may point into `body`. UTF-8 is checked once for the
/// whole body, not string by string: a page has thousands.
fn json_of<'a, T: serde::Deserialize<'a>>(body: &'a [u8]) -> Result<T> {
    let text = std::str::from_utf8(body)
        .map_err(|e| Error::InvalidResponse(format!("incident API: not UTF-8: {e}")))?;
    serde_json::from_str(text).map_err(|e| Error::InvalidResponse(format!("incident API: {e}")))
}

/// The HTTP side, shared by both backends.
pub(crate) struct Transport {
    http: reqwest::Client,
    base: Url,
    pacer: Pacer,
    /// Background work's share: half the quota (see `in_background`).
    background: Pacer,
}

impl Transport {
    /// `http` follows no redirect (one could carry the bearer token elsewhere) and has
    /// timeouts: see `net::client`.
    fn new(base: Url, pacer: Pacer, background: Pacer, http: reqwest::Client) -> Self {
        Self {
            http,
            base,
            pacer,
            background,
        }
    }

    /// `base` + `path` (+ query pairs).
    fn url(&self, path: &str, query: &[(&str, String)]) -> Url {
        let mut url = self.base.clone();
        url.set_path(&format!("{}{path}", self.base.path().trim_end_matches('/')));
        if !query.is_empty() {
            let mut q = url.query_pairs_mut();
            for (k, v) in query {
                q.append_pair(k, v);
            }
        }
        url
    }

    /// Parses a link the server gave and refuses it unless it points at the profile's API origin.
    fn same_origin(&self, link: &str) -> Result<Url> {
        let url = Url::parse(link)
            .map_err(|_| Error::InvalidResponse(format!("invalid next link {link:?}")))?;
        if url.origin() != self.base.origin() {
            return Err(Error::ForeignOrigin(url.origin().ascii_serialization()));
        }
        Ok(url)
    }

    async fn get_json<T: DeserializeOwned>(&self, session: &Session, url: Url) -> Result<T> {
        json_of(&self.get(session, url).await?)
    }

    /// A GET's body, for a reply read in place (`json_of`).
    async fn get(&self, session: &Session, url: Url) -> Result<bytes::Bytes> {
        self.send(session, Method::GET, url, None).await
    }

    /// One request with the bearer token. GET is retried after network and server errors; a write
    /// only after a 401 (refreshed) or a 429 (not processed), never after a 5xx it may have reached.
    async fn send(
        &self,
        session: &Session,
        method: Method,
        url: Url,
        body: Option<&serde_json::Value>,
    ) -> Result<bytes::Bytes> {
        if url.origin() != self.base.origin() {
            return Err(Error::ForeignOrigin(url.origin().ascii_serialization()));
        }
        let idempotent = method == Method::GET;
        let origin = url.origin().ascii_serialization();
        let mut token = session.access_token().await?;
        let mut refreshed = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            if pacer::is_background() {
                self.background.wait().await;
            }
            self.pacer.wait().await;
            let mut req = self
                .http
                .request(method.clone(), url.clone())
                .bearer_auth(token.expose())
                .header("Prefer", "include-unknown-enum-members");
            if let Some(b) = body {
                req = req.json(b);
            }
            let resp = match req.send().await {
                Ok(r) => r,
                Err(e)
                    if idempotent
                        && attempt < MAX_ATTEMPTS
                        && (e.is_connect() || e.is_timeout()) =>
                {
                    tokio::time::sleep(backoff(attempt)).await;
                    continue;
                }
                Err(e) => return Err(Error::Network(origin, e)),
            };
            let status = resp.status();
            if status.is_success() {
                return crate::net::read_limited(resp, API_BODY_LIMIT, "an incident API page")
                    .await;
            }
            if status == StatusCode::UNAUTHORIZED {
                if let Some(claims) = claims_challenge(resp.headers()) {
                    // Continuous Access Evaluation: a refresh will not do; the next interactive
                    // sign-in carries these claims.
                    session.require_claims(claims);
                    return Err(Error::ClaimsChallenge);
                }
                if !refreshed {
                    refreshed = true;
                    token = session.refresh_after_rejection(&token).await?;
                    continue;
                }
            }
            let retry_after = resp
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            // An error body is read for its message only: a little of it is enough.
            let text = crate::net::read_limited(resp, ERROR_BODY_LIMIT, "an error answer")
                .await
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
            let retryable =
                status == StatusCode::TOO_MANY_REQUESTS || (idempotent && status.is_server_error());
            if retryable && attempt < MAX_ATTEMPTS {
                let wait = retry_after
                    .or_else(|| seconds_in_body(&text))
                    .unwrap_or_else(|| backoff(attempt));
                tracing::info!(
                    status = status.as_u16(),
                    wait_s = wait.as_secs_f32(),
                    "incident API asked to wait"
                );
                if status == StatusCode::TOO_MANY_REQUESTS {
                    pacer::background_waits(wait.min(MAX_WAIT));
                }
                tokio::time::sleep(wait.min(MAX_WAIT)).await;
                continue;
            }
            return Err(api_error(status, &text, session));
        }
    }
}

/// The checked claims of a `WWW-Authenticate` claims challenge (see `auth::challenge`). A challenge
/// that cannot be accepted is logged and treated as a plain 401.
fn claims_challenge(headers: &reqwest::header::HeaderMap) -> Option<String> {
    let value = headers
        .get(reqwest::header::WWW_AUTHENTICATE)?
        .to_str()
        .ok()?;
    match crate::auth::challenge::claims_request(value) {
        Ok(claims) => claims,
        Err(why) => {
            tracing::warn!("ignoring the incident API's claims challenge: {why}");
            None
        }
    }
}

/// Defender XDR puts the wait in the 429 body: "You can send requests again in 52 seconds."
fn seconds_in_body(body: &str) -> Option<Duration> {
    let rest = &body[body.find(" in ")? + 4..];
    let n: String = rest.chars().take_while(char::is_ascii_digit).collect();
    rest[n.len()..]
        .trim_start()
        .starts_with("second")
        .then(|| n.parse().ok().map(Duration::from_secs))?
}

fn backoff(attempt: u32) -> Duration {
    let base = 500u64 * 2u64.pow(attempt.min(6));
    Duration::from_millis(base + rand::rng().random_range(0..base / 2))
}

#[derive(serde::Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(serde::Deserialize)]
struct ErrorDetail {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
    /// Defender XDR's tracking ID, for support.
    #[serde(default)]
    target: Option<String>,
}

fn api_error(status: StatusCode, body: &str, session: &Session) -> Error {
    let detail = serde_json::from_str::<ErrorBody>(body)
        .map(|b| {
            let mut d = format!("{} {}", b.error.code, b.error.message)
                .trim()
                .to_owned();
            if let Some(t) = b.error.target.filter(|t| !t.is_empty()) {
                d.push_str(&format!(" (tracking ID {t})"));
            }
            d
        })
        .unwrap_or_default();
    let suffix = if detail.is_empty() {
        String::new()
    } else {
        format!(" — {detail}")
    };
    let profile = session.profile();
    let message = match status {
        StatusCode::FORBIDDEN => format!(
            "the account lacks a permission or role: the app needs {} consented, and the account a security role (Security Reader to read; Security Operator to triage){suffix}",
            profile.scopes().rsplit(' ').next().unwrap_or_default(),
        ),
        StatusCode::UNAUTHORIZED => format!("the incident API rejected the token; sign in again{suffix}"),
        StatusCode::NOT_FOUND => format!("no such incident, or the account cannot see it{suffix}"),
        _ if detail.is_empty() => status.canonical_reason().unwrap_or("error").to_owned(),
        _ => detail,
    };
    Error::Api {
        status: status.as_u16(),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_wait_from_a_defender_429_body() {
        assert_eq!(
            seconds_in_body("Rate limit is exceeded. You can send requests again in 52 seconds."),
            Some(Duration::from_secs(52))
        );
        assert_eq!(seconds_in_body("try again in a while"), None);
    }

    #[test]
    fn refuses_next_links_to_another_origin() {
        let t = Transport::new(
            Url::parse("http://127.0.0.1:9/v1.0").unwrap(),
            Pacer::unlimited(),
            Pacer::unlimited(),
            crate::net::client(None).unwrap(),
        );
        assert!(matches!(
            t.same_origin("http://evil.example/v1.0/security/incidents"),
            Err(Error::ForeignOrigin(_))
        ));
        assert!(
            matches!(
                t.same_origin("http://127.0.0.1:10/v1.0/security/incidents"),
                Err(Error::ForeignOrigin(_))
            ),
            "another port is another origin"
        );
        assert!(t
            .same_origin("http://127.0.0.1:9/v1.0/security/incidents?$skip=50")
            .is_ok());
    }
}
