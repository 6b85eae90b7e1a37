//! The loopback listener that receives the authorization response (RFC 8252 §7.3).
//!
//! It listens on 127.0.0.1 (and [::1] on the same port where available) on an ephemeral port, and
//! takes exactly one callback whose `state` matches. Anything else — a favicon request, a forged or
//! stale `state`, a wrong path — is answered and ignored without ending the wait. After the valid
//! callback the browser is redirected to a clean `/done` URL, so the code does not stay in the
//! address bar or history, and that page tells the user to return to Incident Desk.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use url::Url;

use crate::auth::secret::Secret;
use crate::error::{Error, Result};

const MAX_REQUEST: usize = 16 * 1024;
const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the listener stays up after the callback to serve the clean `/done` page.
const LINGER: Duration = Duration::from_secs(15);

/// What a browser sent us, parsed from the request head.
#[derive(Debug, PartialEq, Eq)]
pub struct CallbackRequest {
    pub path: String,
    pub params: Vec<(String, String)>,
}

impl CallbackRequest {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Parses the request line of an HTTP/1.x request head. Only `GET` is accepted (Entra's query
/// response mode). Pure and total: any byte string gives `Ok` or `Err`, never a panic.
pub fn parse_request(head: &[u8]) -> Result<CallbackRequest, &'static str> {
    let line_end = head
        .windows(2)
        .position(|w| w == b"\r\n")
        .ok_or("no request line")?;
    let line = std::str::from_utf8(&head[..line_end]).map_err(|_| "request line is not UTF-8")?;
    let mut parts = line.split(' ');
    let (method, target, version) = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(m), Some(t), Some(v), None) => (m, t, v),
        _ => return Err("malformed request line"),
    };
    if method != "GET" {
        return Err("method not allowed");
    }
    if !version.starts_with("HTTP/1.") {
        return Err("unsupported HTTP version");
    }
    if !target.starts_with('/') {
        return Err("request target must be a path");
    }
    let url =
        Url::parse(&format!("http://localhost{target}")).map_err(|_| "invalid request target")?;
    Ok(CallbackRequest {
        path: url.path().to_string(),
        params: url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect(),
    })
}

/// The outcome of the one valid callback.
#[derive(Debug)]
pub enum Callback {
    Code { code: Secret, iss: Option<String> },
    Error { error: String, description: String },
}

pub struct Listener {
    v4: TcpListener,
    v6: Option<TcpListener>,
    port: u16,
}

impl Listener {
    pub async fn bind() -> Result<Self> {
        let v4 = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .await
            .map_err(|e| Error::Io("a loopback port for the sign-in".into(), e))?;
        let port = v4
            .local_addr()
            .map_err(|e| Error::Io("the loopback port".into(), e))?
            .port();
        // `localhost` may resolve to ::1 first; serve it too when the host has IPv6 loopback.
        let v6 = TcpListener::bind(SocketAddr::from((Ipv6Addr::LOCALHOST, port)))
            .await
            .ok();
        Ok(Self { v4, v6, port })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://localhost:{port}`: what Entra's "Mobile and desktop" `http://localhost`
    /// registration matches, whatever the port.
    pub fn redirect_uri(&self) -> String {
        format!("http://localhost:{}", self.port)
    }

    /// Waits for the one callback that carries `state`. Connections are served concurrently, so
    /// a client that connects and says nothing cannot hold up the browser. Runs until the callback
    /// comes; the caller bounds it with a timeout and may drop the future to cancel, which closes
    /// the listener.
    pub async fn wait(self, state: &str) -> Result<Callback> {
        let expected = Arc::new(Expected {
            state: state.to_owned(),
            taken: AtomicBool::new(false),
        });
        let (tx, mut rx) = mpsc::channel::<Callback>(1);
        let listeners = [Some(self.v4), self.v6].into_iter().flatten();
        let tasks = Tasks(
            listeners
                .map(|l| {
                    let (expected, tx) = (Arc::clone(&expected), tx.clone());
                    tokio::spawn(async move {
                        while let Ok((stream, _)) = l.accept().await {
                            let (expected, tx) = (Arc::clone(&expected), tx.clone());
                            tokio::spawn(async move {
                                if let Some(cb) = serve(stream, &expected).await {
                                    let _ = tx.send(cb).await;
                                }
                            });
                        }
                    })
                })
                .collect(),
        );
        drop(tx);
        let callback = rx.recv().await.ok_or_else(|| {
            Error::Io(
                "the sign-in listener".into(),
                std::io::ErrorKind::BrokenPipe.into(),
            )
        })?;
        // Keep serving the clean page (and answering strays) for a moment, then close.
        tokio::spawn(async move {
            tokio::time::sleep(LINGER).await;
            drop(tasks);
        });
        Ok(callback)
    }
}

struct Expected {
    state: String,
    /// Set by the one callback that is taken; any later one is refused.
    taken: AtomicBool,
}

/// Accept loops that stop when dropped (on cancel, timeout, or after the linger).
struct Tasks(Vec<tokio::task::JoinHandle<()>>);

impl Drop for Tasks {
    fn drop(&mut self) {
        for t in &self.0 {
            t.abort();
        }
    }
}

/// Answers one connection. Returns the callback when this request is the valid one.
async fn serve(mut stream: TcpStream, expected: &Expected) -> Option<Callback> {
    let head = match tokio::time::timeout(READ_TIMEOUT, read_head(&mut stream)).await {
        Ok(Some(h)) => h,
        _ => return None,
    };
    let req = match parse_request(&head) {
        Ok(r) => r,
        Err(why) => {
            respond(&mut stream, "400 Bad Request", None, why).await;
            return None;
        }
    };
    if req.path == "/done" {
        respond(&mut stream, "200 OK", None, DONE_PAGE).await;
        return None;
    }
    // Only the root path takes callbacks (redirect_uri has no path), and only with our state:
    // a forged or stale callback must neither end nor hijack the wait.
    let matches = req.path == "/" && req.param("state") == Some(expected.state.as_str());
    if !matches || expected.taken.swap(true, Ordering::SeqCst) {
        let status = if req.path == "/" {
            "400 Bad Request"
        } else {
            "404 Not Found"
        };
        respond(
            &mut stream,
            status,
            None,
            "This is not the sign-in Incident Desk is waiting for.",
        )
        .await;
        return None;
    }
    let cb = if let Some(code) = req.param("code") {
        Callback::Code {
            code: Secret::new(code),
            iss: req.param("iss").map(str::to_owned),
        }
    } else {
        Callback::Error {
            error: req.param("error").unwrap_or("invalid_request").to_owned(),
            description: req
                .param("error_description")
                .unwrap_or_default()
                .to_owned(),
        }
    };
    respond(&mut stream, "302 Found", Some("/done"), "").await;
    Some(cb)
}

async fn read_head(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return (!buf.is_empty()).then_some(buf);
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.windows(4).any(|w| w == b"\r\n\r\n") || buf.len() >= MAX_REQUEST {
            return Some(buf);
        }
    }
}

async fn respond(stream: &mut TcpStream, status: &str, location: Option<&str>, body: &str) {
    let location = location
        .map(|l| format!("Location: {l}\r\n"))
        .unwrap_or_default();
    let resp = format!(
        "HTTP/1.1 {status}\r\n{location}Content-Type: text/html; charset=utf-8\r\n\
         Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'\r\n\
         Cache-Control: no-store\r\nReferrer-Policy: no-referrer\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(resp.as_bytes()).await;
    let _ = stream.shutdown().await;
}

const DONE_PAGE: &str = "<!doctype html><html><head><meta charset=\"utf-8\"><title>Incident Desk</title>\
<style>body{font-family:system-ui,sans-serif;margin:4rem auto;max-width:32rem;color:#222}</style></head>\
<body><h1>Signed in</h1><p>Return to Incident Desk. You can close this tab.</p></body></html>";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_callback() {
        let r = parse_request(
            b"GET /?code=abc&state=xyz&iss=http%3A%2F%2Fidp HTTP/1.1\r\nHost: x\r\n\r\n",
        )
        .unwrap();
        assert_eq!(r.path, "/");
        assert_eq!(r.param("code"), Some("abc"));
        assert_eq!(r.param("iss"), Some("http://idp"));
    }

    #[test]
    fn rejects_what_is_not_a_get_of_a_path() {
        for bad in [
            &b"POST / HTTP/1.1\r\n\r\n"[..],
            b"GET http://evil/ HTTP/1.1\r\n\r\n",
            b"GET /\r\n\r\n",
            b"\xff\xfe\r\n",
            b"",
        ] {
            assert!(
                parse_request(bad).is_err(),
                "should refuse {:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
