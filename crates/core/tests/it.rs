#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns
//! Integration tests of the core: the loopback listener over real sockets, and the token store in
//! the real OS keychain (run by `make unit` inside a private session bus + gnome-keyring).

use std::time::Duration;

use idesk_core::loopback::{Callback, Listener};
use idesk_core::secret::Secret;
use idesk_core::token_store::{KeychainStore, TokenStore};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const STATE: &str = "expected-state-value";

async fn get(port: u16, target: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect to the listener");
    s.write_all(format!("GET {target} HTTP/1.1\r\nHost: localhost:{port}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).await.unwrap();
    resp
}

#[tokio::test]
async fn listener_takes_only_the_callback_with_our_state() {
    let listener = Listener::bind().await.unwrap();
    let port = listener.port();
    assert_eq!(listener.redirect_uri(), format!("http://localhost:{port}"));
    let wait = tokio::spawn(async move { listener.wait(STATE).await });

    let favicon = get(port, "/favicon.ico").await;
    assert!(
        favicon.starts_with("HTTP/1.1 404"),
        "favicon is answered, not taken: {favicon}"
    );
    let forged = get(port, "/?code=attacker-code&state=forged").await;
    assert!(
        forged.starts_with("HTTP/1.1 400"),
        "a forged state is refused: {forged}"
    );
    let no_state = get(port, "/?code=attacker-code").await;
    assert!(no_state.starts_with("HTTP/1.1 400"));
    let wrong_path = get(port, &format!("/other?code=x&state={STATE}")).await;
    assert!(
        wrong_path.starts_with("HTTP/1.1 404"),
        "only the redirect URI's path takes callbacks"
    );
    assert!(!wait.is_finished(), "stray requests must not end the wait");

    let good = get(
        port,
        &format!("/?code=the-code&state={STATE}&iss=http%3A%2F%2Fidp"),
    )
    .await;
    assert!(
        good.starts_with("HTTP/1.1 302") && good.contains("Location: /done"),
        "redirects to a clean URL: {good}"
    );
    let cb = tokio::time::timeout(Duration::from_secs(5), wait)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    match cb {
        Callback::Code { code, iss } => {
            assert_eq!(code.expose(), "the-code");
            assert_eq!(iss.as_deref(), Some("http://idp"));
        }
        other => panic!("expected a code, got {other:?}"),
    }
    let done = get(port, "/done").await;
    assert!(
        done.contains("Return to Incident Desk") && !done.contains("the-code"),
        "the clean page: {done}"
    );
    let late = get(port, &format!("/?code=second&state={STATE}")).await;
    assert!(
        late.starts_with("HTTP/1.1 400"),
        "a second callback is not taken: {late}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_callbacks_are_taken_exactly_once() {
    let listener = Listener::bind().await.unwrap();
    let port = listener.port();
    let wait = tokio::spawn(async move { listener.wait(STATE).await });
    let racers: Vec<_> = (0..8)
        .map(|i| {
            tokio::spawn(async move { get(port, &format!("/?code=code-{i}&state={STATE}")).await })
        })
        .collect();
    let mut taken = 0;
    for r in racers {
        let resp = r.await.unwrap();
        if resp.starts_with("HTTP/1.1 302") {
            taken += 1;
        } else {
            assert!(
                resp.starts_with("HTTP/1.1 400"),
                "the others are refused: {resp}"
            );
        }
    }
    assert_eq!(taken, 1, "exactly one callback is taken");
    assert!(matches!(wait.await.unwrap(), Ok(Callback::Code { .. })));
}

#[tokio::test]
async fn listener_reports_an_error_callback() {
    let listener = Listener::bind().await.unwrap();
    let port = listener.port();
    let wait = tokio::spawn(async move { listener.wait(STATE).await });
    get(
        port,
        &format!(
            "/?error=access_denied&error_description=AADSTS65004%3A+User+declined&state={STATE}"
        ),
    )
    .await;
    match wait.await.unwrap().unwrap() {
        Callback::Error { error, description } => {
            assert_eq!(error, "access_denied");
            assert!(description.starts_with("AADSTS65004"));
        }
        other => panic!("expected an error, got {other:?}"),
    }
}

#[tokio::test]
async fn listener_survives_garbage_and_half_requests() {
    let listener = Listener::bind().await.unwrap();
    let port = listener.port();
    let wait = tokio::spawn(async move { listener.wait(STATE).await });
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    s.write_all(b"\x16\x03\x01 not http at all\r\n\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf).await;
    assert!(String::from_utf8_lossy(&buf).starts_with("HTTP/1.1 400"));
    // A client that connects and says nothing must not block others.
    let _idle = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    get(port, &format!("/?code=c&state={STATE}")).await;
    assert!(matches!(
        tokio::time::timeout(Duration::from_secs(5), wait).await,
        Ok(Ok(Ok(Callback::Code { .. })))
    ));
}

/// The keychain tests need a Secret Service; `make unit` provides a private one and sets
/// IDESK_TEST_KEYCHAIN=1. Without it they say so and pass nothing off as tested.
fn keychain() -> Option<KeychainStore> {
    if std::env::var("IDESK_TEST_KEYCHAIN").as_deref() != Ok("1") {
        eprintln!(
            "keychain tests need IDESK_TEST_KEYCHAIN=1 and a Secret Service (make unit): not run"
        );
        return None;
    }
    std::env::set_var(
        "IDESK_KEYCHAIN_SERVICE",
        format!("incident-desk-test-{}", std::process::id()),
    );
    Some(KeychainStore::open().expect("the test session's Secret Service"))
}

#[test]
fn keychain_round_trips_a_long_token_in_chunks() {
    let Some(store) = keychain() else { return };
    let key = "refresh-token:chunks";
    let long: String = (0..4096)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    store.save(key, &Secret::new(long.clone())).unwrap();
    assert_eq!(
        store.load(key).unwrap().map(|s| s.expose().to_owned()),
        Some(long),
        "read back whole"
    );

    // Overwrite with a shorter value: no stale chunk may survive or be read.
    store.save(key, &Secret::new("short")).unwrap();
    assert_eq!(store.load(key).unwrap().unwrap().expose(), "short");

    store.delete(key).unwrap();
    assert!(store.load(key).unwrap().is_none(), "deleted");
}

#[test]
fn keychain_reads_a_torn_value_as_signed_out() {
    let Some(store) = keychain() else { return };
    let key = "refresh-token:torn";
    let long = "x".repeat(3000);
    store.save(key, &Secret::new(long)).unwrap();
    // Simulate a crash between writes: one part replaced by another value's part.
    let other = "refresh-token:other";
    store.save(other, &Secret::new("y".repeat(1300))).unwrap();
    let part = store.load(other).unwrap().unwrap();
    store.save(&format!("{key}#1"), &part).unwrap();
    assert!(
        store.load(key).unwrap().is_none(),
        "a torn value reads as signed out, never as garbage"
    );
    store.delete(key).unwrap();
    store.delete(other).unwrap();
}

// ---------------------------------------------------------------------------------------------
// Sign-in against the sandbox IdP (a real oidc-provider), with a scripted browser.

mod idp {
    use std::io::{BufRead, BufReader};
    use std::process::{Child, Command, Stdio};
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;
    use std::time::{Duration, SystemTime};

    use idesk_core::config::{Backend, Cloud, Profile};
    use idesk_core::session::{Clock, Session};
    use idesk_core::token_store::{MemoryStore, TokenStore};
    use url::Url;

    /// One sandbox IdP process for one test: faults are per process, so tests do not interfere.
    pub struct Idp {
        child: Child,
        pub issuer: String,
        pub client_id: String,
    }

    impl Drop for Idp {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    impl Idp {
        pub fn start() -> Idp {
            let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
            let mut child = Command::new("node")
                .arg("sandbox/idp/main.mjs")
                .current_dir(root)
                .env("SANDBOX_IDP_QUIET", "1")
                .env_remove("SANDBOX_STATE_DIR")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("node runs the sandbox IdP (make setup installs its packages)");
            let mut line = String::new();
            BufReader::new(child.stdout.take().expect("stdout"))
                .read_line(&mut line)
                .expect("the IdP announces itself");
            let field = |name: &str| {
                line.split_whitespace()
                    .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
                    .unwrap_or_else(|| panic!("no {name} in {line:?}"))
                    .to_owned()
            };
            Idp {
                issuer: field("issuer"),
                client_id: field("client_id"),
                child,
            }
        }

        pub fn origin(&self) -> String {
            let u = Url::parse(&self.issuer).expect("issuer URL");
            u.origin().ascii_serialization()
        }

        pub fn profile(&self) -> Profile {
            let authority = self.issuer.trim_end_matches("/v2.0");
            let tenant = authority.rsplit('/').next().expect("tenant").to_owned();
            Profile {
                name: "it".into(),
                tenant,
                client_id: self.client_id.clone(),
                cloud: Cloud::Global,
                api: Backend::Graph,
                authority: Some(Url::parse(authority).expect("authority")),
                api_base: Some(Url::parse("http://127.0.0.1:9/v1.0").expect("api base")),
                sandbox: true,
                kind: idesk_core::config::Kind::Delegated,
                read_only: false,
            }
        }

        pub async fn fault(&self, endpoint: &str, error: &str, code: u64) {
            let body = serde_json::json!({ "endpoint": endpoint, "error": error, "code": code, "times": 1 });
            let r = reqwest::Client::new()
                .post(format!("{}/_sandbox/fault", self.origin()))
                .json(&body)
                .send()
                .await
                .expect("fault switch");
            assert!(
                r.status().is_success(),
                "fault switch refused: {}",
                r.status()
            );
        }

        pub async fn grants(&self, grant_type: &str) -> u64 {
            let stats: serde_json::Value =
                reqwest::get(format!("{}/_sandbox/stats", self.origin()))
                    .await
                    .expect("stats")
                    .json()
                    .await
                    .expect("stats json");
            stats["grants"][grant_type].as_u64().unwrap_or(0)
        }
    }

    /// A clock the test can move forward.
    pub fn clock() -> (Clock, Arc<AtomicU64>) {
        let offset = Arc::new(AtomicU64::new(0));
        let o = Arc::clone(&offset);
        let clock: Clock =
            Arc::new(move || SystemTime::now() + Duration::from_secs(o.load(Ordering::SeqCst)));
        (clock, offset)
    }

    pub fn session(idp: &Idp) -> (Session, Arc<dyn TokenStore>, Arc<AtomicU64>) {
        let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::default());
        let (clock, offset) = clock();
        (
            Session::with_clock(idp.profile(), Arc::clone(&store), clock),
            store,
            offset,
        )
    }

    /// The user's browser, scripted: follows redirects, fills the sandbox's login and consent forms,
    /// and stops after delivering the response to the app's loopback listener.
    pub async fn browse(start: Url, user: &str) {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("browser client");
        let mut url = start.to_string();
        let mut form: Option<Vec<(String, String)>> = None;
        for _ in 0..20 {
            let resp = match form.take() {
                Some(fields) => http.post(&url).form(&fields).send().await,
                None => http.get(&url).send().await,
            }
            .expect("browser request");
            if url.starts_with("http://localhost:") {
                return; // the listener has it
            }
            if let Some(loc) = resp.headers().get("location") {
                let next = Url::parse(&url)
                    .and_then(|u| u.join(loc.to_str().unwrap_or_default()))
                    .expect("location");
                url = next.to_string();
                continue;
            }
            let page = resp.text().await.unwrap_or_default();
            let action = between(&page, "action=\"", "\"").expect("a form on the page");
            let mut fields: Vec<(String, String)> = page
                .split("<input type=\"hidden\"")
                .skip(1)
                .filter_map(|i| Some((between(i, "name=\"", "\"")?, between(i, "value=\"", "\"")?)))
                .collect();
            if page.contains("name=\"login\"") {
                fields.push(("login".into(), user.into()));
                fields.push(("password".into(), "any".into()));
            }
            url = action;
            form = Some(fields);
        }
        panic!("the sign-in did not reach the app");
    }

    fn between(s: &str, start: &str, end: &str) -> Option<String> {
        let from = s.find(start)? + start.len();
        let len = s[from..].find(end)?;
        Some(s[from..from + len].to_owned())
    }
}

use std::sync::atomic::Ordering;
use std::sync::Arc;

use idesk_core::{Error, ErrorCode};

const SIGN_IN_WAIT: Duration = Duration::from_secs(20);

/// A whole interactive sign-in: the app waits on its listener while the browser goes through the
/// IdP's pages, as in real life.
async fn sign_in(
    session: &idesk_core::session::Session,
    user: &str,
) -> Result<idesk_core::oidc::Account, Error> {
    let pending = session.begin_sign_in(None).await?;
    let url = pending.url.clone();
    let (result, ()) = tokio::join!(
        session.finish_sign_in(pending, SIGN_IN_WAIT, std::future::pending()),
        idp::browse(url, user)
    );
    result
}

async fn signed_in(
    idp: &idp::Idp,
) -> (
    Arc<idesk_core::session::Session>,
    Arc<dyn TokenStore>,
    Arc<std::sync::atomic::AtomicU64>,
) {
    let (session, store, offset) = idp::session(idp);
    let account = sign_in(&session, "alice").await.expect("signed in");
    assert_eq!(
        account.username.as_deref(),
        Some("alice@contoso-sandbox.test")
    );
    (Arc::new(session), store, offset)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_callers_at_expiry_cause_exactly_one_refresh() {
    let idp = idp::Idp::start();
    let (session, store, offset) = signed_in(&idp).await;
    let first = session.access_token().await.unwrap();
    let rt_before = store
        .load("refresh-token:it")
        .unwrap()
        .expect("refresh token kept");
    assert_eq!(idp.grants("refresh_token").await, 0);

    offset.store(2 * 3600, Ordering::SeqCst); // the access token has expired
    let callers: Vec<_> = (0..16)
        .map(|_| {
            let s = Arc::clone(&session);
            tokio::spawn(async move { s.access_token().await })
        })
        .collect();
    let mut tokens = Vec::new();
    for c in callers {
        tokens.push(c.await.unwrap().expect("every caller gets a token"));
    }
    assert_eq!(
        idp.grants("refresh_token").await,
        1,
        "one refresh for all sixteen callers"
    );
    assert!(
        tokens.iter().all(|t| t == &tokens[0]) && tokens[0] != first,
        "all share the new token"
    );
    let rt_after = store
        .load("refresh-token:it")
        .unwrap()
        .expect("still signed in");
    assert_ne!(
        rt_after, rt_before,
        "the rotated refresh token was persisted"
    );

    // Refreshing again with the persisted (rotated) token works: the old one was never reused.
    offset.store(4 * 3600, Ordering::SeqCst);
    session.access_token().await.expect("second refresh");
    assert_eq!(idp.grants("refresh_token").await, 2);
}

#[tokio::test]
async fn a_revoked_refresh_token_signs_out_with_the_reason() {
    let idp = idp::Idp::start();
    let (session, store, offset) = signed_in(&idp).await;
    idp.fault("token", "invalid_grant", 70008).await;
    offset.store(2 * 3600, Ordering::SeqCst);
    let err = session.access_token().await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotSignedIn, "{err}");
    assert!(err.to_string().contains("expired"), "says why: {err}");
    assert!(
        store.load("refresh-token:it").unwrap().is_none(),
        "the dead token is forgotten"
    );
    assert!(session.account().is_none());
}

#[tokio::test]
async fn authorization_errors_say_what_to_do() {
    let idp = idp::Idp::start();
    let cases: &[(&str, u64, ErrorCode, &str)] = &[
        (
            "invalid_request",
            50011,
            ErrorCode::AuthFailed,
            "http://localhost",
        ),
        (
            "interaction_required",
            50076,
            ErrorCode::AuthFailed,
            "multi-factor",
        ),
        (
            "access_denied",
            53003,
            ErrorCode::AuthFailed,
            "Conditional Access",
        ),
        (
            "consent_required",
            65001,
            ErrorCode::ConsentRequired,
            "administrator",
        ),
        (
            "invalid_request",
            90094,
            ErrorCode::ConsentRequired,
            "administrator",
        ),
        (
            "unauthorized_client",
            700016,
            ErrorCode::AuthFailed,
            "client ID",
        ),
        (
            "invalid_request",
            50194,
            ErrorCode::AuthFailed,
            "single-tenant",
        ),
        (
            "temporarily_unavailable",
            0,
            ErrorCode::AuthFailed,
            "try again",
        ),
        (
            "access_denied",
            65004,
            ErrorCode::SignInCancelled,
            "cancelled",
        ),
    ];
    for &(error, code, want, advice) in cases {
        let (session, _, _) = idp::session(&idp);
        idp.fault("authorize", error, code).await;
        let err = sign_in(&session, "alice").await.unwrap_err();
        assert_eq!(err.code(), want, "{error} AADSTS{code}: {err}");
        assert!(
            err.to_string().contains(advice),
            "{error} AADSTS{code} should say {advice:?}: {err}"
        );
        if code != 0 && want != ErrorCode::SignInCancelled {
            assert!(
                err.to_string().contains(&format!("AADSTS{code}")),
                "keeps the code for support: {err}"
            );
        }
    }
}

#[tokio::test]
async fn token_endpoint_errors_say_what_to_do() {
    let idp = idp::Idp::start();
    let cases: &[(&str, u64, &str)] = &[
        ("invalid_client", 7000218, "Allow public client flows"),
        ("invalid_client", 700016, "client ID"),
        ("invalid_grant", 70008, "expired"),
        ("invalid_request", 90002, "tenant was not found"),
        ("temporarily_unavailable", 0, "try again"),
    ];
    for &(error, code, advice) in cases {
        let (session, store, _) = idp::session(&idp);
        idp.fault("token", error, code).await;
        let err = sign_in(&session, "alice").await.unwrap_err();
        assert_eq!(
            err.code(),
            ErrorCode::AuthFailed,
            "{error} AADSTS{code}: {err}"
        );
        assert!(
            err.to_string().contains(advice),
            "{error} AADSTS{code} should say {advice:?}: {err}"
        );
        assert!(
            store.load("refresh-token:it").unwrap().is_none(),
            "nothing kept from a failed sign-in"
        );
    }
}

#[tokio::test]
async fn sign_in_can_time_out_or_be_cancelled() {
    let idp = idp::Idp::start();
    let (session, _, _) = idp::session(&idp);
    let pending = session.begin_sign_in(None).await.unwrap();
    let err = session
        .finish_sign_in(pending, Duration::from_millis(200), std::future::pending())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::SignInTimeout), "{err}");

    let pending = session.begin_sign_in(None).await.unwrap();
    let port = pending
        .url
        .query_pairs()
        .find(|(k, _)| k == "redirect_uri")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let err = session
        .finish_sign_in(pending, SIGN_IN_WAIT, async {})
        .await
        .unwrap_err();
    assert!(matches!(err, Error::SignInCancelled), "{err}");
    let after = reqwest::get(&port).await;
    assert!(after.is_err(), "a cancelled sign-in closes its listener");
}

#[tokio::test]
async fn sign_in_url_carries_pkce_state_nonce_and_login_hint() {
    let idp = idp::Idp::start();
    let (session, _, _) = idp::session(&idp);
    let pending = session
        .begin_sign_in(Some("alice@contoso-sandbox.test"))
        .await
        .unwrap();
    let q: std::collections::HashMap<String, String> =
        pending.url.query_pairs().into_owned().collect();
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["code_challenge"].len(), 43);
    assert!(q["state"].len() >= 43 && q["nonce"].len() >= 43 && q["state"] != q["nonce"]);
    assert!(q["redirect_uri"].starts_with("http://localhost:"));
    assert_eq!(q["login_hint"], "alice@contoso-sandbox.test");
    assert!(
        q["scope"].contains("offline_access")
            && q["scope"].contains("https://graph.microsoft.com/SecurityIncident.ReadWrite.All")
    );
}

// ---------------------------------------------------------------------------------------------
// The Graph incidents client against the whole sandbox tenant (IdP + API), with its faults.

mod sandbox {
    use std::io::{BufRead, BufReader};
    use std::process::{Child, Command, Stdio};

    use idesk_core::config::Profile;

    pub struct Sandbox {
        child: Child,
        pub line: String,
    }

    impl Drop for Sandbox {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    impl Sandbox {
        /// Starts `sandbox/start.mjs` with `incidents` incidents. Needs the sandbox API built
        /// (`make unit` builds it first).
        pub fn start(incidents: usize) -> Sandbox {
            let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
            let api = format!("{root}/target/debug/sandbox-api");
            assert!(
                std::path::Path::new(&api).exists(),
                "build the sandbox API first: cargo build -p sandbox-api"
            );
            let mut child = Command::new("node")
                .arg("sandbox/start.mjs")
                .current_dir(root)
                .env("SANDBOX_API_BIN", &api)
                .env("SANDBOX_INCIDENTS", incidents.to_string())
                .env("SANDBOX_IDP_QUIET", "1")
                .env_remove("SANDBOX_STATE_DIR")
                .env_remove("SANDBOX_IDP_PORT")
                .env_remove("SANDBOX_API_PORT")
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("node runs the sandbox");
            let mut line = String::new();
            let mut out = BufReader::new(child.stdout.take().expect("stdout"));
            out.read_line(&mut line)
                .expect("the sandbox announces itself");
            assert!(
                line.starts_with("SANDBOX "),
                "unexpected announcement {line:?}"
            );
            Sandbox { child, line }
        }

        pub fn profile(&self) -> Profile {
            let mut p =
                idesk_core::sandbox::profile_from_line(&self.line).expect("a valid SANDBOX line");
            p.name = "it".into();
            p
        }

        fn api_origin(&self) -> String {
            let base = self.profile().api_base().expect("api base");
            base.origin().ascii_serialization()
        }

        pub async fn fault(&self, fault: serde_json::Value) {
            let r = reqwest::Client::new()
                .post(format!("{}/_sandbox/fault", self.api_origin()))
                .json(&fault)
                .send()
                .await
                .expect("fault switch");
            assert!(r.status().is_success(), "fault refused: {}", r.status());
        }

        pub async fn requests(&self) -> u64 {
            let v: serde_json::Value =
                reqwest::get(format!("{}/_sandbox/stats", self.api_origin()))
                    .await
                    .expect("stats")
                    .json()
                    .await
                    .expect("stats json");
            v["requests"].as_u64().expect("a count")
        }

        pub async fn idp_grants(&self, grant_type: &str) -> u64 {
            let issuer = url::Url::parse(
                self.line
                    .split_whitespace()
                    .find_map(|kv| kv.strip_prefix("issuer="))
                    .expect("issuer"),
            )
            .expect("issuer url");
            let v: serde_json::Value = reqwest::get(format!(
                "{}/_sandbox/stats",
                issuer.origin().ascii_serialization()
            ))
            .await
            .expect("idp stats")
            .json()
            .await
            .expect("idp stats json");
            v["grants"][grant_type].as_u64().unwrap_or(0)
        }
    }
}

use idesk_core::api::IncidentApi;
use idesk_core::session::Session;

async fn sandbox_session(sb: &sandbox::Sandbox, user: &str) -> Session {
    let session = Session::new(
        sb.profile(),
        Arc::new(idesk_core::token_store::MemoryStore::default()),
    );
    sign_in(&session, user)
        .await
        .expect("signed in to the sandbox");
    session
}

fn client(sb: &sandbox::Sandbox) -> IncidentApi {
    IncidentApi::for_profile(&sb.profile()).unwrap()
}

trait ListAll {
    async fn list_incidents(
        &self,
        session: &Session,
    ) -> Result<Vec<idesk_core::incident::Incident>, Error>;
}

impl ListAll for IncidentApi {
    async fn list_incidents(
        &self,
        session: &Session,
    ) -> Result<Vec<idesk_core::incident::Incident>, Error> {
        self.list(session, None, &|_| {}).await
    }
}

#[tokio::test]
async fn lists_every_incident_past_the_skip_limit() {
    // 700 incidents: more than $skip's limit of 500 lets nextLink reach, so the listing must
    // continue from a lastUpdateDateTime boundary.
    let sb = sandbox::Sandbox::start(700);
    let session = sandbox_session(&sb, "alice").await;
    let before = sb.requests().await;
    let all = client(&sb).list_incidents(&session).await.expect("listing");
    let ids: std::collections::HashSet<_> = all.iter().map(|i| i.id.clone()).collect();
    assert_eq!(all.len(), 700, "every incident once");
    assert_eq!(ids.len(), 700, "no duplicates across windows");
    let used = sb.requests().await - before;
    assert!(
        (14..=17).contains(&used),
        "pages of 50 plus a window restart, not more: {used} requests"
    );
}

#[tokio::test]
async fn waits_as_told_on_429_and_retries_5xx_boundedly() {
    let sb = sandbox::Sandbox::start(60);
    let session = sandbox_session(&sb, "alice").await;
    let c = client(&sb);

    sb.fault(serde_json::json!({ "kind": "status", "status": 429, "retryAfter": 1, "times": 1 }))
        .await;
    let before = sb.requests().await;
    assert_eq!(
        c.list_incidents(&session)
            .await
            .expect("after the 429")
            .len(),
        60
    );
    assert_eq!(
        sb.requests().await - before,
        3,
        "the throttled request, its retry, and page 2"
    );

    sb.fault(serde_json::json!({ "kind": "status", "status": 503, "retryAfter": 0, "times": 2 }))
        .await;
    assert_eq!(
        c.list_incidents(&session)
            .await
            .expect("after two 503s")
            .len(),
        60
    );

    sb.fault(serde_json::json!({ "kind": "status", "status": 503, "retryAfter": 0 }))
        .await;
    let before = sb.requests().await;
    let err = c.list_incidents(&session).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::ApiError, "{err}");
    assert!(err.to_string().contains("503"), "{err}");
    assert_eq!(sb.requests().await - before, 4, "bounded retries");
}

#[tokio::test]
async fn refuses_bad_bodies_and_foreign_next_links() {
    let sb = sandbox::Sandbox::start(60);
    let session = sandbox_session(&sb, "alice").await;
    let c = client(&sb);
    for kind in ["malformed", "truncated"] {
        sb.fault(serde_json::json!({ "kind": kind, "times": 1 }))
            .await;
        let err = c.list_incidents(&session).await.unwrap_err();
        assert!(matches!(err, Error::InvalidResponse(_)), "{kind}: {err}");
    }
    sb.fault(serde_json::json!({ "kind": "foreignNextLink", "times": 1 }))
        .await;
    let err = c.list_incidents(&session).await.unwrap_err();
    assert!(
        matches!(&err, Error::ForeignOrigin(o) if o == "https://graph.attacker.example"),
        "{err}"
    );
}

#[tokio::test]
async fn a_401_refreshes_once_and_a_claims_challenge_asks_for_sign_in() {
    let sb = sandbox::Sandbox::start(30);
    let session = sandbox_session(&sb, "alice").await;
    let c = client(&sb);

    sb.fault(serde_json::json!({ "kind": "status", "status": 401, "times": 1 }))
        .await;
    assert_eq!(
        c.list_incidents(&session)
            .await
            .expect("after one 401")
            .len(),
        30
    );
    assert_eq!(
        sb.idp_grants("refresh_token").await,
        1,
        "one refresh for the 401"
    );

    sb.fault(serde_json::json!({ "kind": "insufficientClaims", "times": 1 }))
        .await;
    let err = c.list_incidents(&session).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::ReauthRequired, "{err}");
    assert_eq!(
        sb.idp_grants("refresh_token").await,
        1,
        "a claims challenge is not answered by a refresh"
    );
    let pending = session.begin_sign_in(None).await.unwrap();
    let claims = pending
        .url
        .query_pairs()
        .find(|(k, _)| k == "claims")
        .map(|(_, v)| v.into_owned());
    assert_eq!(
        claims.as_deref(),
        Some(r#"{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}"#)
    );
}

#[tokio::test]
async fn an_account_without_a_security_role_is_told_what_is_missing() {
    let sb = sandbox::Sandbox::start(10);
    let session = sandbox_session(&sb, "norole").await;
    let err = client(&sb).list_incidents(&session).await.unwrap_err();
    assert!(matches!(err, Error::Api { status: 403, .. }), "{err}");
    assert!(err.to_string().contains("security role"), "{err}");
    let reader = sandbox_session(&sb, "reader").await;
    assert_eq!(
        client(&sb)
            .list_incidents(&reader)
            .await
            .expect("a Security Reader reads")
            .len(),
        10
    );
}

#[tokio::test]
async fn the_sandbox_api_enforces_graphs_limits() {
    let sb = sandbox::Sandbox::start(10);
    let session = sandbox_session(&sb, "alice").await;
    let token = session.access_token().await.unwrap();
    let base = sb.profile().api_base().unwrap();
    let get = |query: &str| {
        let url = format!(
            "{}/security/incidents{query}",
            base.as_str().trim_end_matches('/')
        );
        let t = token.expose().to_owned();
        async move {
            reqwest::Client::new()
                .get(url)
                .bearer_auth(t)
                .send()
                .await
                .unwrap()
        }
    };
    let r = get("?$top=100").await;
    assert_eq!(r.status(), 400);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("The limit of '50' for Top query has been exceeded"));
    assert_eq!(
        get("?$skip=501").await.status(),
        400,
        "$skip is limited to 500"
    );
    assert_eq!(
        get("?$filter=displayName eq 'x'").await.status(),
        400,
        "only documented properties filter"
    );
    let none = reqwest::get(format!(
        "{}/security/incidents",
        base.as_str().trim_end_matches('/')
    ))
    .await
    .unwrap();
    assert_eq!(none.status(), 401, "no token, no incidents");
}

// ---------------------------------------------------------------------------------------------
// Incident data: both backends, triage writes, conflicts, the encrypted cache and incremental sync.

use idesk_core::cache::Cache;
use idesk_core::config::{Backend, Dirs};
use idesk_core::incident::{Classification, Determination, Status, Update};

fn defender_profile(sb: &sandbox::Sandbox) -> idesk_core::config::Profile {
    let mut p = sb.profile();
    p.api = Backend::Defender;
    let base = sb
        .line
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix("defender="))
        .expect("defender base");
    p.api_base = Some(url::Url::parse(base).unwrap());
    p
}

async fn session_for(profile: idesk_core::config::Profile, user: &str) -> Session {
    let session = Session::new(
        profile,
        Arc::new(idesk_core::token_store::MemoryStore::default()),
    );
    sign_in(&session, user).await.expect("signed in");
    session
}

fn temp_dirs(tag: &str) -> Dirs {
    let base = std::env::temp_dir().join(format!("idesk-it-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    Dirs {
        config: base.join("config"),
        data: base.join("data"),
    }
}

#[tokio::test]
async fn both_backends_read_the_same_incidents() {
    let sb = sandbox::Sandbox::start(240);
    let graph = sandbox_session(&sb, "alice").await;
    let defender = session_for(defender_profile(&sb), "alice").await;
    let g = client(&sb).list_incidents(&graph).await.unwrap();
    let d_api = IncidentApi::for_profile(defender.profile()).unwrap();
    let before = sb.requests().await;
    let d = d_api
        .list_incidents(&defender)
        .await
        .expect("Defender XDR listing");
    assert_eq!(sb.requests().await - before, 3, "pages of 100");
    let key = |v: &[idesk_core::incident::Incident]| {
        let mut k: Vec<_> = v
            .iter()
            .map(|i| {
                (
                    i.id.clone(),
                    i.display_name.clone(),
                    i.severity.as_str().to_owned(),
                    i.status.as_str().to_owned(),
                    i.classification.as_str().to_owned(),
                    i.assigned_to.clone(),
                )
            })
            .collect();
        k.sort();
        k
    };
    assert_eq!(key(&g), key(&d), "one domain model from two schemas");

    // Details: alerts and evidence from both.
    let id = &g[0].id;
    let gd = client(&sb).get(&graph, id).await.unwrap();
    let dd = d_api.get(&defender, id).await.unwrap();
    assert!(!gd.alerts.is_empty() && gd.alerts.len() == dd.alerts.len());
    assert!(
        gd.alerts[0].evidence.iter().any(|e| e.kind == "device"),
        "{:?}",
        gd.alerts[0].evidence
    );
    assert!(
        dd.alerts[0].evidence.iter().any(|e| e.kind == "device"),
        "{:?}",
        dd.alerts[0].evidence
    );
    assert!(gd
        .incident
        .web_url
        .as_deref()
        .is_some_and(|u| u.starts_with("https://security.microsoft.com/incidents/")));
}

#[tokio::test]
async fn defender_throttling_is_read_from_the_body() {
    let sb = sandbox::Sandbox::start(50);
    let defender = session_for(defender_profile(&sb), "alice").await;
    let api = IncidentApi::for_profile(defender.profile()).unwrap();
    sb.fault(serde_json::json!({ "kind": "status", "status": 429, "retryAfter": 1, "times": 1 }))
        .await;
    let started = std::time::Instant::now();
    let before = sb.requests().await;
    assert_eq!(
        api.list_incidents(&defender)
            .await
            .expect("after the 429")
            .len(),
        50
    );
    assert_eq!(
        sb.requests().await - before,
        2,
        "the throttled request and its retry"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "waited as the body said"
    );
}

#[tokio::test]
async fn triage_writes_land_on_both_backends_and_readers_are_refused() {
    let sb = sandbox::Sandbox::start(40);
    let alice = sandbox_session(&sb, "alice").await;
    let api = client(&sb);
    let incidents = api.list_incidents(&alice).await.unwrap();
    let target = incidents
        .iter()
        .find(|i| i.status != Status::Resolved)
        .expect("an open incident");
    let update = Update {
        status: Some(Status::Resolved),
        assigned_to: Some(Some("alice@contoso-sandbox.test".into())),
        classification: Some(Classification::TruePositive),
        determination: Some(Determination::Malware),
        tags: Some(vec!["Ransomware".into(), "<b>not bold</b>".into()]),
        comment: Some("Contained: device isolated, user reset.".into()),
    };
    let updated = api
        .update(&alice, &target.id, &update, target.last_update.as_deref())
        .await
        .expect("graph write");
    assert_eq!(updated.status, Status::Resolved);
    let again = api.get(&alice, &target.id).await.unwrap().incident;
    assert_eq!(
        again.assigned_to.as_deref(),
        Some("alice@contoso-sandbox.test")
    );
    assert_eq!(again.classification, Classification::TruePositive);
    assert_eq!(again.determination, Determination::Malware);
    assert_eq!(again.tags, ["Ransomware", "<b>not bold</b>"]);
    assert!(again
        .comments
        .iter()
        .any(|c| c.text == "Contained: device isolated, user reset."
            && c.author.as_deref() == Some("alice@contoso-sandbox.test")));

    // The same through Defender XDR, on another incident.
    let defender = session_for(defender_profile(&sb), "alice").await;
    let d_api = IncidentApi::for_profile(defender.profile()).unwrap();
    let other = incidents
        .iter()
        .find(|i| i.id != target.id && i.status != Status::Resolved)
        .expect("another open incident");
    let u = Update {
        status: Some(Status::InProgress),
        comment: Some("Looking at it".into()),
        determination: Some(Determination::Unknown),
        ..Update::default()
    };
    let d_updated = d_api
        .update(&defender, &other.id, &u, None)
        .await
        .expect("defender write");
    assert_eq!(d_updated.status, Status::InProgress);
    assert!(d_updated.comments.iter().any(|c| c.text == "Looking at it"));

    // A Security Reader can read but not write, and is told why.
    let reader = sandbox_session(&sb, "reader").await;
    let err = api
        .update(
            &reader,
            &other.id,
            &Update {
                status: Some(Status::Active),
                ..Update::default()
            },
            None,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Api { status: 403, .. }), "{err}");
    assert!(err.to_string().contains("Security Operator"), "{err}");
}

#[tokio::test]
async fn a_change_by_someone_else_is_a_conflict_and_nothing_is_written() {
    let sb = sandbox::Sandbox::start(20);
    let alice = sandbox_session(&sb, "alice").await;
    let bob = sandbox_session(&sb, "bob").await;
    let api = client(&sb);
    let shown = api.list_incidents(&alice).await.unwrap().remove(0);
    api.update(
        &bob,
        &shown.id,
        &Update {
            assigned_to: Some(Some("bob@contoso-sandbox.test".into())),
            ..Update::default()
        },
        None,
    )
    .await
    .expect("bob takes it");
    let err = api
        .update(
            &alice,
            &shown.id,
            &Update {
                assigned_to: Some(Some("alice@contoso-sandbox.test".into())),
                ..Update::default()
            },
            shown.last_update.as_deref(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Conflict, "{err}");
    assert!(
        err.to_string().contains("bob@contoso-sandbox.test"),
        "says who has it now: {err}"
    );
    let now = api.get(&alice, &shown.id).await.unwrap().incident;
    assert_eq!(
        now.assigned_to.as_deref(),
        Some("bob@contoso-sandbox.test"),
        "alice's write did not happen"
    );
}

#[tokio::test]
async fn sync_is_incremental_encrypted_and_survives_interruption() {
    let sb = sandbox::Sandbox::start(240);
    let alice = sandbox_session(&sb, "alice").await;
    let api = client(&sb);
    let dirs = temp_dirs("sync");
    let store: Arc<dyn TokenStore> = Arc::new(idesk_core::token_store::MemoryStore::default());
    let cache = Arc::new(Cache::new(&dirs, "it", Arc::clone(&store)));

    // Interrupted half way: the third request fails for good. Nothing is saved, nothing is lost.
    sb.fault(serde_json::json!({ "kind": "status", "status": 503, "retryAfter": 0, "after": 2 }))
        .await;
    assert!(idesk_core::sync::sync(&api, &alice, &cache, &|_| {})
        .await
        .is_err());
    assert!(
        idesk_core::sync::cached(&cache)
            .await
            .unwrap()
            .incidents
            .is_empty(),
        "a failed sync leaves the cache as it was"
    );
    reqwest::Client::new()
        .delete(format!(
            "{}/_sandbox/fault",
            sb.profile()
                .api_base()
                .unwrap()
                .origin()
                .ascii_serialization()
        ))
        .send()
        .await
        .unwrap();

    let counts = std::sync::Mutex::new(Vec::new());
    let (all, report) =
        idesk_core::sync::sync(&api, &alice, &cache, &|n| counts.lock().unwrap().push(n))
            .await
            .unwrap();
    assert_eq!((all.len(), report.total), (240, 240));
    assert_eq!(
        *counts.lock().unwrap(),
        [50, 100, 150, 200, 240],
        "progress after each page"
    );

    let before = sb.requests().await;
    let (_, report) = idesk_core::sync::sync(&api, &alice, &cache, &|_| {})
        .await
        .unwrap();
    assert_eq!(
        sb.requests().await - before,
        1,
        "a sync with nothing new is one request"
    );
    assert_eq!(
        (report.fetched, report.total),
        (1, 240),
        "only the incident at the watermark comes back"
    );

    // A change shows up in the next sync.
    let changed = &all[10];
    api.update(
        &alice,
        &changed.id,
        &Update {
            status: Some(Status::InProgress),
            ..Update::default()
        },
        None,
    )
    .await
    .unwrap();
    let (after, report) = idesk_core::sync::sync(&api, &alice, &cache, &|_| {})
        .await
        .unwrap();
    assert_eq!(report.total, 240);
    assert_eq!(
        after.iter().find(|i| i.id == changed.id).unwrap().status,
        Status::InProgress
    );

    let bytes = std::fs::read(cache.path()).unwrap();
    let title = all
        .iter()
        .map(|i| i.display_name.as_str())
        .find(|t| t.len() > 20)
        .unwrap();
    assert!(
        !bytes.windows(20).any(|w| w == &title.as_bytes()[..20]),
        "no incident text in clear in the cache file"
    );
    let _ = std::fs::remove_dir_all(dirs.data.parent().unwrap());
}
