//! The loopback listener over real sockets.

use crate::support::*;

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
