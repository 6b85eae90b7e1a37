//! The loopback listener that receives the authorization response (RFC 8252 §7.3).
//!
//! It listens on 127.0.0.1 and [::1] on the same ephemeral port (browsers try `localhost` on ::1
//! first, so another process holding [::1] on our port would receive the code: then another port
//! is taken; only a host without IPv6 gets 127.0.0.1 alone). It takes exactly one callback whose
//! `state` matches, compared in constant time, addressed to `localhost` / 127.0.0.1 / [::1] on our
//! port (a page on another name that resolves here is refused). Anything else — a favicon, a forged
//! or stale `state`, a wrong path or host — is answered and ignored without ending the wait.
//!
//! A bounded number of connections is served at once: at the cap, the oldest one that has not yet
//! sent its request is closed for the new one (a browser sends its request at once), so a flood of
//! idle connections neither exhausts the process's files nor holds up the browser, and an `accept`
//! error is waited out, never the end of the listener. After the valid callback the browser
//! is redirected to a clean `/done` URL, so the code does not stay in the address bar or history;
//! that page says "Signed in" only once the code exchange and the ID token checks succeeded.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use oauth2::CsrfToken;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use url::Url;

use crate::auth::secret::Secret;
use crate::error::{Error, Result};

const MAX_REQUEST: usize = 16 * 1024;
/// A browser sends its request at once; a connection that says nothing for this long is closed.
const READ_TIMEOUT: Duration = Duration::from_secs(3);
/// Connections served at once.
const MAX_CONNECTIONS: usize = 32;
/// How long the listener stays up after the sign-in's outcome, to serve the `/done` page.
const LINGER: Duration = Duration::from_secs(15);
/// How long `/done` waits for the code exchange before it says the sign-in did not complete.
const OUTCOME_WAIT: Duration = Duration::from_secs(60);
/// Ports tried before giving up when another process holds [::1] on each.
const BIND_ATTEMPTS: usize = 16;

/// What a browser sent us, parsed from the request head.
#[derive(Debug, PartialEq, Eq)]
pub struct CallbackRequest {
    pub path: String,
    pub params: Vec<(String, String)>,
    /// The `Host` header, when there is exactly one.
    pub host: Option<String>,
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
    let headers = String::from_utf8_lossy(&head[line_end + 2..]);
    let mut hosts = headers.split("\r\n").filter_map(|h| {
        let (name, value) = h.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("host")
            .then(|| value.trim().to_owned())
    });
    let host = match (hosts.next(), hosts.next()) {
        (Some(h), None) => Some(h),
        _ => None,
    };
    Ok(CallbackRequest {
        path: url.path().to_string(),
        params: url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect(),
        host,
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
        Self::bind_preferring(&[]).await
    }

    /// Binds as `bind` does, trying `ports` before ephemeral ones: lets a test offer a port that
    /// another process holds on [::1].
    pub async fn bind_preferring(ports: &[u16]) -> Result<Self> {
        let mut last = None;
        let candidates = ports
            .iter()
            .copied()
            .chain(std::iter::repeat(0))
            .take(ports.len() + BIND_ATTEMPTS);
        for candidate in candidates {
            let v4 =
                match TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, candidate))).await {
                    Ok(l) => l,
                    Err(e) if candidate != 0 => {
                        last = Some(e);
                        continue;
                    }
                    Err(e) => return Err(Error::Io("a loopback port for the sign-in".into(), e)),
                };
            let port = v4
                .local_addr()
                .map_err(|e| Error::Io("the loopback port".into(), e))?
                .port();
            match TcpListener::bind(SocketAddr::from((Ipv6Addr::LOCALHOST, port))).await {
                Ok(v6) => {
                    return Ok(Self {
                        v4,
                        v6: Some(v6),
                        port,
                    })
                }
                Err(e) if ipv6_absent(&e) => {
                    return Ok(Self { v4, v6: None, port });
                }
                // Someone else is on [::1] at this port: they would get the callback. Another port.
                Err(e) => last = Some(e),
            }
        }
        Err(Error::Io(
            "a loopback port free on both 127.0.0.1 and [::1]".into(),
            last.unwrap_or_else(|| std::io::ErrorKind::AddrInUse.into()),
        ))
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://localhost:{port}`: what Entra's "Mobile and desktop" `http://localhost`
    /// registration matches, whatever the port.
    pub fn redirect_uri(&self) -> String {
        format!("http://localhost:{}", self.port)
    }

    /// Waits for the one callback that carries `state`, and returns it with the page that tells
    /// the browser how the sign-in ended. Runs until the callback comes; the caller bounds it with
    /// a timeout and may drop the future to cancel, which closes the listener.
    pub async fn wait(self, state: CsrfToken) -> Result<(Callback, SignInPage)> {
        let (outcome_tx, outcome_rx) = watch::channel(Outcome::Pending);
        let expected = Arc::new(Expected {
            state,
            port: self.port,
            taken: AtomicBool::new(false),
            outcome: outcome_rx.clone(),
        });
        let (tx, mut rx) = mpsc::channel::<Callback>(1);
        let listeners = [Some(self.v4), self.v6].into_iter().flatten();
        let tasks = Tasks(
            listeners
                .map(|l| tokio::spawn(accept_loop(l, Arc::clone(&expected), tx.clone())))
                .collect(),
        );
        drop(tx);
        let callback = rx.recv().await.ok_or_else(|| {
            Error::Io(
                "the sign-in listener".into(),
                std::io::ErrorKind::BrokenPipe.into(),
            )
        })?;
        // Keep serving the result page (and answering strays) until a moment after the outcome.
        let mut outcome = outcome_rx;
        tokio::spawn(async move {
            let _ =
                tokio::time::timeout(OUTCOME_WAIT, outcome.wait_for(|o| *o != Outcome::Pending))
                    .await;
            tokio::time::sleep(LINGER).await;
            drop(tasks);
        });
        Ok((callback, SignInPage(Some(outcome_tx))))
    }
}

/// Whether a failed [::1] bind means the host has no IPv6 loopback at all.
fn ipv6_absent(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(e.kind(), AddrNotAvailable | Unsupported)
        || matches!(e.raw_os_error(), Some(97 | 47 | 10047)) // EAFNOSUPPORT (Linux, macOS), WSAEAFNOSUPPORT
}

/// A connection being served: aborted when it is the oldest still waiting for its request and
/// room is needed.
struct Conn {
    task: tokio::task::JoinHandle<()>,
    reading: Arc<AtomicBool>,
}

async fn accept_loop(l: TcpListener, expected: Arc<Expected>, tx: mpsc::Sender<Callback>) {
    let mut active: std::collections::VecDeque<Conn> = std::collections::VecDeque::new();
    loop {
        let stream = match l.accept().await {
            Ok((stream, _)) => stream,
            // Out of files, a reset before accept, ...: wait it out, never end the listener.
            Err(e) => {
                tracing::debug!("sign-in listener: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        active.retain(|c| !c.task.is_finished());
        if active.len() >= MAX_CONNECTIONS {
            match active.iter().position(|c| c.reading.load(Ordering::SeqCst)) {
                Some(i) => {
                    if let Some(c) = active.remove(i) {
                        c.task.abort();
                    }
                }
                // Every slot is answering a request: this one is dropped.
                None => continue,
            }
        }
        let reading = Arc::new(AtomicBool::new(true));
        let (expected, tx, flag) = (Arc::clone(&expected), tx.clone(), Arc::clone(&reading));
        let task = tokio::spawn(async move {
            if let Some(cb) = serve(stream, &expected, &flag).await {
                let _ = tx.send(cb).await;
            }
        });
        active.push_back(Conn { task, reading });
    }
}

/// How the sign-in ended, for the `/done` page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Pending,
    SignedIn,
    Failed,
}

/// Tells the browser's `/done` page how the sign-in ended. Dropped without a report, it says the
/// sign-in did not complete.
pub struct SignInPage(Option<watch::Sender<Outcome>>);

impl SignInPage {
    pub fn report(mut self, signed_in: bool) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(if signed_in {
                Outcome::SignedIn
            } else {
                Outcome::Failed
            });
        }
    }
}

impl Drop for SignInPage {
    fn drop(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(Outcome::Failed);
        }
    }
}

struct Expected {
    state: CsrfToken,
    port: u16,
    /// Set by the one callback that is taken; any later one is refused.
    taken: AtomicBool,
    outcome: watch::Receiver<Outcome>,
}

impl Expected {
    /// The request is addressed to us: `localhost`, 127.0.0.1 or [::1], on our port.
    fn host_ok(&self, host: Option<&str>) -> bool {
        let Some(host) = host else { return false };
        let p = self.port;
        [
            format!("localhost:{p}"),
            format!("127.0.0.1:{p}"),
            format!("[::1]:{p}"),
        ]
        .iter()
        .any(|h| h.eq_ignore_ascii_case(host))
    }

    /// `state` compared through digests (oauth2's timing-resistant equality).
    fn state_ok(&self, state: Option<&str>) -> bool {
        state.is_some_and(|s| CsrfToken::new(s.to_owned()) == self.state)
    }
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
async fn serve(
    mut stream: TcpStream,
    expected: &Expected,
    reading: &AtomicBool,
) -> Option<Callback> {
    let head = match tokio::time::timeout(READ_TIMEOUT, read_head(&mut stream)).await {
        Ok(Some(h)) => h,
        _ => return None,
    };
    reading.store(false, Ordering::SeqCst);
    let req = match parse_request(&head) {
        Ok(r) => r,
        Err(why) => {
            respond(&mut stream, "400 Bad Request", None, why).await;
            return None;
        }
    };
    if !expected.host_ok(req.host.as_deref()) {
        respond(
            &mut stream,
            "400 Bad Request",
            None,
            "This is not the sign-in Incident Desk is waiting for.",
        )
        .await;
        return None;
    }
    if req.path == "/done" {
        let mut outcome = expected.outcome.clone();
        let ended =
            tokio::time::timeout(OUTCOME_WAIT, outcome.wait_for(|o| *o != Outcome::Pending))
                .await
                .ok()
                .and_then(|r| r.ok().map(|o| *o));
        let page = if ended == Some(Outcome::SignedIn) {
            DONE_PAGE
        } else {
            FAILED_PAGE
        };
        respond(&mut stream, "200 OK", None, page).await;
        return None;
    }
    // Only the root path takes callbacks (redirect_uri has no path), and only with our state:
    // a forged or stale callback must neither end nor hijack the wait.
    let matches = req.path == "/" && expected.state_ok(req.param("state"));
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

const FAILED_PAGE: &str = "<!doctype html><html><head><meta charset=\"utf-8\"><title>Incident Desk</title>\
<style>body{font-family:system-ui,sans-serif;margin:4rem auto;max-width:32rem;color:#222}</style></head>\
<body><h1>Sign-in did not complete — return to Incident Desk</h1><p>Incident Desk says what happened. You can close this tab.</p></body></html>";

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
