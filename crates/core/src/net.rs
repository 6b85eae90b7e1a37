//! The HTTP clients, built one way for identity and API traffic alike, and bounded reads.
//!
//! Every client follows no redirect (a redirected token request or API call could carry a code, a
//! refresh token or a bearer token to another host), has connect and overall timeouts, trusts the
//! operating system's certificate store as well as the bundled web PKI roots (a TLS-inspecting
//! corporate proxy is trusted in the former), and uses the system proxy settings and
//! `HTTPS_PROXY` / `NO_PROXY` — or the profile's own proxy when it names one. A client that cannot
//! be built so is an error: never a default client with weaker settings.

use std::time::Duration;

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
/// uses one for its identity and API traffic together, and profiles with the same proxy (most
/// often none) share one in the process: building one reads the operating system's certificate
/// store (hundreds of files, about 2 ms), which took a fifth of the CPU of an `idesk sync` that
/// found nothing new when each use built its own, and was paid again for every profile when the
/// app started. Sharing a client shares its connections, never a credential: each request carries
/// its own profile's token.
pub fn client(proxy: Option<&Url>) -> Result<reqwest::Client> {
    static BUILT: std::sync::Mutex<Vec<(Option<Url>, reqwest::Client)>> =
        std::sync::Mutex::new(Vec::new());
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, c)) = built.iter().find(|(p, _)| p.as_ref() == proxy) {
        return Ok(c.clone());
    }
    let c = build(proxy)?;
    built.push((proxy.cloned(), c.clone()));
    Ok(c)
}

fn build(proxy: Option<&Url>) -> Result<reqwest::Client> {
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
pub async fn read_limited(resp: reqwest::Response, limit: usize, what: &str) -> Result<Vec<u8>> {
    let origin = resp.url().origin().ascii_serialization();
    match body_within(resp, limit).await {
        Ok(Some(body)) => Ok(body),
        Ok(None) => Err(too_large(what, limit)),
        Err(e) => Err(Error::Network(origin, e)),
    }
}

/// The body, or `None` as soon as it is known to be longer than `limit` bytes.
pub async fn body_within(
    mut resp: reqwest::Response,
    limit: usize,
) -> std::result::Result<Option<Vec<u8>>, reqwest::Error> {
    let told = resp.content_length();
    if told.is_some_and(|n| n > limit as u64) {
        return Ok(None);
    }
    // Sized once when the server says how long the body is.
    let mut body = Vec::with_capacity(told.map_or(0, |n| n as usize));
    while let Some(chunk) = resp.chunk().await? {
        if body.len() + chunk.len() > limit {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body))
}

fn too_large(what: &str, limit: usize) -> Error {
    Error::InvalidResponse(format!(
        "{what} is larger than {} MiB: refused",
        limit / (1024 * 1024)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A one-request HTTP proxy on loopback: answers 204 and sends the request line it got.
    async fn proxy() -> (Url, tokio::sync::oneshot::Receiver<String>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && s.read(&mut byte).await.unwrap() == 1 {
                head.push(byte[0]);
            }
            let _ = s
                .write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
                .await;
            let text = String::from_utf8_lossy(&head);
            let _ = tx.send(text.lines().next().unwrap_or_default().to_owned());
        });
        (url, rx)
    }

    #[tokio::test]
    async fn each_proxy_has_its_own_shared_client() {
        let (a, got_a) = proxy().await;
        let (b, got_b) = proxy().await;
        // Asked for again and again, in turn, each proxy's client still goes through that proxy.
        for _ in 0..2 {
            client(Some(&a)).unwrap();
            client(Some(&b)).unwrap();
        }
        let via_b = client(Some(&b)).unwrap();
        let status = via_b
            .get("http://incidents.test/b")
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 204);
        assert_eq!(got_b.await.unwrap(), "GET http://incidents.test/b HTTP/1.1");
        let via_a = client(Some(&a)).unwrap();
        via_a.get("http://incidents.test/a").send().await.unwrap();
        assert_eq!(got_a.await.unwrap(), "GET http://incidents.test/a HTTP/1.1");
    }
}
