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
