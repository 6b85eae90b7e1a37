//! The HTTP clients, built one way for identity and API traffic alike, and bounded reads.
//!
//! Every client follows no redirect (a redirected token request or API call could carry a code, a
//! refresh token or a bearer token to another host), has connect and overall timeouts, trusts the
//! operating system's certificate store as well as the bundled web PKI roots (a TLS-inspecting
//! corporate proxy is trusted in the former), and uses the system proxy settings and
//! `HTTPS_PROXY` / `NO_PROXY` — or the profile's own proxy when it names one. A client that cannot
//! be built so is an error: never a default client with weaker settings.

use std::time::Duration;

use bytes::Bytes;
use url::Url;

use crate::error::{Error, Result};

/// The largest identity document, token response or signing-key set read: 1 MiB.
pub const IDENTITY_BODY_LIMIT: usize = 1024 * 1024;
/// The largest incident API page read: 32 MiB.
pub const API_BODY_LIMIT: usize = 32 * 1024 * 1024;

/// An API request's overall timeout: the client's own.
pub const API_TIMEOUT: Duration = Duration::from_secs(60);
/// An identity request's overall timeout, set on each request.
pub const IDENTITY_TIMEOUT: Duration = Duration::from_secs(30);

/// A client with Incident Desk's settings, `API_TIMEOUT` unless a request sets its own. A profile
/// uses one for its identity and API traffic together, and a desk's profiles with the same proxy
/// share one (`Desk::open`): building one reads the operating system's certificate store
/// (hundreds of files, about 2 ms), which took a fifth of the CPU of an `idesk sync` that found
/// nothing new when each use built its own.
pub fn client(proxy: Option<&Url>) -> Result<reqwest::Client> {
    let mut b = reqwest::Client::builder()
        .user_agent(crate::USER_AGENT)
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        .timeout(API_TIMEOUT);
    if let Some(p) = proxy {
        let proxy = reqwest::Proxy::all(p.clone())
            .map_err(|e| Error::Config(format!("the proxy {p} cannot be used: {e}")))?;
        b = b.proxy(proxy);
    }
    b.build()
        .map_err(|e| Error::Internal(format!("the HTTP client could not be set up: {e}")))
}

/// Reads a response body, refusing one longer than `limit` bytes without reading the rest.
pub async fn read_limited(resp: reqwest::Response, limit: usize, what: &str) -> Result<Bytes> {
    let origin = resp.url().origin().ascii_serialization();
    match body_within(resp, limit).await {
        Ok(Some(body)) => Ok(body),
        Ok(None) => Err(too_large(what, limit)),
        Err(e) => Err(Error::Network(origin, e)),
    }
}

/// The body, or `None` as soon as it is known to be longer than `limit` bytes. A body that came
/// in one piece, as a page of incidents mostly does, is handed on as it came, without a copy.
pub async fn body_within(
    mut resp: reqwest::Response,
    limit: usize,
) -> std::result::Result<Option<Bytes>, reqwest::Error> {
    if resp.content_length().is_some_and(|n| n > limit as u64) {
        return Ok(None);
    }
    let mut pieces = Vec::new();
    let mut len = 0;
    while let Some(chunk) = resp.chunk().await? {
        len += chunk.len();
        if len > limit {
            return Ok(None);
        }
        pieces.push(chunk);
    }
    if pieces.len() == 1 {
        return Ok(pieces.pop());
    }
    Ok(Some(Bytes::from(pieces.concat())))
}

fn too_large(what: &str, limit: usize) -> Error {
    Error::InvalidResponse(format!(
        "{what} is larger than {} MiB: refused",
        limit / (1024 * 1024)
    ))
}
