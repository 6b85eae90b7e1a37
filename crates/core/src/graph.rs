//! The Microsoft Graph security incidents client (`/v1.0/security/incidents`).
//!
//! Listing follows Graph's documented limits: pages of at most 50 (`$top` above 50 is a 400) and
//! `@odata.nextLink`; because `$skip` stops at 500, a listing that is cut off continues from a
//! `lastUpdateDateTime` boundary (`$orderby` ascending, `ge` the last value seen, de-duplicated by
//! id) instead of paging deeper. The bearer token is only ever sent to the profile's API origin.

use std::collections::HashSet;
use std::time::Duration;

use rand::Rng;
use reqwest::StatusCode;
use serde::Deserialize;
use url::Url;

use crate::error::{Error, Result};
use crate::incident::{Incident, Severity, Status};
use crate::session::Session;

pub const PAGE_SIZE: usize = 50;
const MAX_ATTEMPTS: u32 = 4;
const MAX_WAIT: Duration = Duration::from_secs(120);

/// An incident exactly as Graph sends it; every field but `id` may be missing.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireIncident {
    id: String,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    severity: Option<Severity>,
    #[serde(default)]
    status: Option<Status>,
    #[serde(default)]
    assigned_to: Option<String>,
    #[serde(default)]
    classification: Option<String>,
    #[serde(default)]
    determination: Option<String>,
    #[serde(default)]
    created_date_time: Option<String>,
    #[serde(default)]
    last_update_date_time: Option<String>,
    #[serde(default)]
    custom_tags: Option<Vec<String>>,
    #[serde(default)]
    incident_web_url: Option<String>,
}

impl From<WireIncident> for Incident {
    fn from(w: WireIncident) -> Self {
        Incident {
            id: w.id,
            display_name: w.display_name.unwrap_or_default(),
            severity: w.severity.unwrap_or(Severity::Unknown),
            status: w.status.unwrap_or(Status::Other(String::new())),
            assigned_to: w.assigned_to.filter(|a| !a.is_empty()),
            classification: w.classification,
            determination: w.determination,
            created: w.created_date_time,
            last_update: w.last_update_date_time,
            tags: w.custom_tags.unwrap_or_default(),
            web_url: w.incident_web_url,
        }
    }
}

#[derive(Deserialize)]
struct Page {
    value: Vec<WireIncident>,
    #[serde(rename = "@odata.nextLink", default)]
    next_link: Option<String>,
}

#[derive(Deserialize)]
struct GraphErrorBody {
    error: GraphError,
}

#[derive(Deserialize)]
struct GraphError {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

pub struct GraphClient {
    http: reqwest::Client,
    base: Url,
}

impl GraphClient {
    pub fn new(base: Url) -> Self {
        let http = reqwest::Client::builder()
            .user_agent(crate::USER_AGENT)
            // A redirect could carry the bearer token elsewhere: follow none.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap_or_default();
        Self { http, base }
    }

    fn incidents_url(&self) -> Url {
        let mut url = self.base.clone();
        let path = format!(
            "{}/security/incidents",
            self.base.path().trim_end_matches('/')
        );
        url.set_path(&path);
        url
    }

    /// Every incident the signed-in account can see.
    pub async fn list_incidents(&self, session: &Session) -> Result<Vec<Incident>> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        let mut boundary: Option<String> = None;
        loop {
            let mut url = self.incidents_url();
            {
                let mut q = url.query_pairs_mut();
                q.append_pair("$top", &PAGE_SIZE.to_string());
                q.append_pair("$orderby", "lastUpdateDateTime asc");
                if let Some(b) = &boundary {
                    q.append_pair("$filter", &format!("lastUpdateDateTime ge {b}"));
                }
            }
            let mut new_in_window = 0usize;
            let mut cut_off;
            loop {
                let page: Page = self.get_json(session, url.clone()).await?;
                cut_off = page.value.len() == PAGE_SIZE;
                for w in page.value {
                    if let Some(lu) = &w.last_update_date_time {
                        if boundary.as_deref().is_none_or(|b| lu.as_str() > b) {
                            boundary = Some(lu.clone());
                        }
                    }
                    if seen.insert(w.id.clone()) {
                        new_in_window += 1;
                        out.push(Incident::from(w));
                    }
                }
                match page.next_link {
                    Some(next) => {
                        url = self.same_origin(&next)?;
                    }
                    None => break,
                }
            }
            // A full last page without a next link means the server stopped paging (the $skip
            // limit): continue from the boundary. Nothing new in a window means we are done.
            if !cut_off || new_in_window == 0 {
                return Ok(out);
            }
        }
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

    /// A GET with the bearer token: one refresh on 401, `Retry-After` on 429, bounded backoff with
    /// jitter on 5xx and network errors (GET is idempotent).
    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        session: &Session,
        url: Url,
    ) -> Result<T> {
        let mut token = session.access_token().await?;
        let mut refreshed = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let sent = self
                .http
                .get(url.clone())
                .bearer_auth(token.expose())
                .header("Prefer", "include-unknown-enum-members")
                .send()
                .await;
            let resp = match sent {
                Ok(r) => r,
                Err(e) if attempt < MAX_ATTEMPTS && (e.is_connect() || e.is_timeout()) => {
                    tokio::time::sleep(backoff(attempt)).await;
                    continue;
                }
                Err(e) => return Err(Error::Network(url.origin().ascii_serialization(), e)),
            };
            let status = resp.status();
            if status.is_success() {
                let body = resp
                    .bytes()
                    .await
                    .map_err(|e| Error::Network(url.origin().ascii_serialization(), e))?;
                return serde_json::from_slice(&body)
                    .map_err(|e| Error::InvalidResponse(format!("incident list: {e}")));
            }
            if status == StatusCode::UNAUTHORIZED {
                if let Some(claims) = claims_challenge(resp.headers()) {
                    // Continuous Access Evaluation: a refresh will not do; the next interactive
                    // sign-in carries these claims.
                    session.require_claims(claims);
                    return Err(Error::ClaimsChallenge);
                }
            }
            if status == StatusCode::UNAUTHORIZED && !refreshed {
                refreshed = true;
                token = session.refresh_after_rejection(&token).await?;
                continue;
            }
            let retry_after = resp
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let body = resp.text().await.unwrap_or_default();
            let retryable = status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error();
            if retryable && attempt < MAX_ATTEMPTS {
                let wait = retry_after
                    .or_else(|| seconds_in_body(&body))
                    .unwrap_or_else(|| backoff(attempt));
                tracing::info!(
                    status = status.as_u16(),
                    wait_s = wait.as_secs_f32(),
                    "incident API asked to wait"
                );
                tokio::time::sleep(wait.min(MAX_WAIT)).await;
                continue;
            }
            return Err(api_error(status, &body, session));
        }
    }
}

/// The `claims` of a `WWW-Authenticate: Bearer ... error="insufficient_claims", claims="<base64>"`
/// challenge, decoded.
fn claims_challenge(headers: &reqwest::header::HeaderMap) -> Option<String> {
    use base64::Engine;
    let value = headers
        .get(reqwest::header::WWW_AUTHENTICATE)?
        .to_str()
        .ok()?;
    if !value.contains("error=\"insufficient_claims\"") {
        return None;
    }
    let start = value.find("claims=\"")? + "claims=\"".len();
    let encoded = &value[start..start + value[start..].find('"')?];
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(encoded))
        .ok()?;
    String::from_utf8(bytes).ok()
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

fn api_error(status: StatusCode, body: &str, session: &Session) -> Error {
    let detail = serde_json::from_str::<GraphErrorBody>(body)
        .map(|b| {
            format!("{} {}", b.error.code, b.error.message)
                .trim()
                .to_owned()
        })
        .unwrap_or_default();
    let message = match status {
        StatusCode::FORBIDDEN => format!(
            "the account lacks permission to read incidents: the app needs {} consented and the account a security role (Security Reader or higher){}",
            session.profile().scopes().rsplit(' ').next().unwrap_or_default(),
            if detail.is_empty() { String::new() } else { format!(" — {detail}") }
        ),
        StatusCode::UNAUTHORIZED => "the incident API rejected the token; sign in again".into(),
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
    fn lenient_parsing_tolerates_missing_fields() {
        let w: WireIncident =
            serde_json::from_str(r#"{"id":"7","severity":"HIGH","extra":1}"#).unwrap();
        let i = Incident::from(w);
        assert_eq!(i.severity, Severity::High);
        assert_eq!(i.display_name, "");
    }

    #[test]
    fn refuses_next_links_to_another_origin() {
        let c = GraphClient::new(Url::parse("http://127.0.0.1:9/v1.0").unwrap());
        assert!(matches!(
            c.same_origin("http://evil.example/v1.0/security/incidents"),
            Err(Error::ForeignOrigin(_))
        ));
        assert!(
            matches!(
                c.same_origin("http://127.0.0.1:10/v1.0/security/incidents"),
                Err(Error::ForeignOrigin(_))
            ),
            "another port is another origin"
        );
        assert!(c
            .same_origin("http://127.0.0.1:9/v1.0/security/incidents?$skip=50")
            .is_ok());
    }
}
