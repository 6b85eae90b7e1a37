//! The loopback listener over real sockets.

use crate::support::*;

#[tokio::test]
async fn listener_takes_only_the_callback_with_our_state() {
    let listener = Listener::bind().await.unwrap();
    let port = listener.port();
    assert_eq!(listener.redirect_uri(), format!("http://localhost:{port}"));
    let wait = tokio::spawn(async move { listener.wait(state()).await });

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
    let (cb, page) = tokio::time::timeout(Duration::from_secs(5), wait)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let done = tokio::spawn(async move { get(port, "/done").await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !done.is_finished(),
        "the result page waits for the code exchange"
    );
    page.report(true);
    let done = done.await.unwrap();
    assert!(
        done.contains("Signed in") && !done.contains("the-code"),
        "the clean page says signed in only after the exchange: {done}"
    );
    match cb {
        Callback::Code { code, iss } => {
            assert_eq!(code.expose(), "the-code");
            assert_eq!(iss.as_deref(), Some("http://idp"));
        }
        other => panic!("expected a code, got {other:?}"),
    }
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
    let wait = tokio::spawn(async move { listener.wait(state()).await });
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
    assert!(matches!(
        wait.await.unwrap(),
        Ok((Callback::Code { .. }, _))
    ));
}

#[tokio::test]
async fn listener_reports_an_error_callback() {
    let listener = Listener::bind().await.unwrap();
    let port = listener.port();
    let wait = tokio::spawn(async move { listener.wait(state()).await });
    get(
        port,
        &format!(
            "/?error=access_denied&error_description=AADSTS65004%3A+User+declined&state={STATE}"
        ),
    )
    .await;
    let (cb, page) = wait.await.unwrap().unwrap();
    match cb {
        Callback::Error { error, description } => {
            assert_eq!(error, "access_denied");
            assert!(description.starts_with("AADSTS65004"));
        }
        other => panic!("expected an error, got {other:?}"),
    }
    drop(page);
    let done = get(port, "/done").await;
    assert!(
        done.contains("Sign-in did not complete — return to Incident Desk")
            && !done.contains("Signed in"),
        "a refused sign-in is not called signed in: {done}"
    );
}

#[tokio::test]
async fn listener_survives_garbage_and_half_requests() {
    let listener = Listener::bind().await.unwrap();
    let port = listener.port();
    let wait = tokio::spawn(async move { listener.wait(state()).await });
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
        Ok(Ok(Ok((Callback::Code { .. }, _))))
    ));
}

fn state() -> CsrfToken {
    CsrfToken::new(STATE.to_owned())
}

#[tokio::test]
async fn a_callback_addressed_to_another_host_is_refused() {
    let listener = Listener::bind().await.unwrap();
    let port = listener.port();
    let wait = tokio::spawn(async move { listener.wait(state()).await });
    // A web page on a name that resolves to 127.0.0.1 (DNS rebinding) cannot deliver a code.
    for host in [
        format!("evil.example:{port}"),
        "localhost:1".to_owned(),
        String::new(),
    ] {
        let resp = get_with_host(port, &format!("/?code=x&state={STATE}"), &host).await;
        assert!(resp.starts_with("HTTP/1.1 400"), "Host {host:?}: {resp}");
    }
    assert!(!wait.is_finished());
    let ok = get_with_host(
        port,
        &format!("/?code=x&state={STATE}"),
        &format!("127.0.0.1:{port}"),
    )
    .await;
    assert!(ok.starts_with("HTTP/1.1 302"), "{ok}");
    assert!(wait.await.unwrap().is_ok());
}

#[tokio::test]
async fn a_port_held_on_ipv6_loopback_by_another_process_is_not_used() {
    // Another local process holds [::1] on a port whose 127.0.0.1 side is free. Browsers try
    // `localhost` on ::1 first, so that process would get the code: the listener must move on.
    let Ok(squatter) = std::net::TcpListener::bind("[::1]:0") else {
        eprintln!("no IPv6 loopback on this host: nothing to squat");
        return;
    };
    let held = squatter.local_addr().unwrap().port();
    let l = Listener::bind_preferring(&[held]).await.unwrap();
    assert_ne!(l.port(), held, "the squatted port is refused");
    assert!(
        std::net::TcpListener::bind(("::1", l.port())).is_err(),
        "the listener holds [::1] on its own port"
    );
    drop(squatter);
}

/// Run by the test below in a process with few files to spare, as on a desktop whose limit is
/// low (macOS gives 256): a flood of idle connections must neither end the listener nor hold up
/// the browser.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run by a_flood_of_idle_connections_does_not_end_the_sign_in under a low file limit"]
async fn idle_flood_under_a_low_file_limit() {
    let listener = Listener::bind().await.unwrap();
    let port = listener.port();
    let wait = tokio::spawn(async move { listener.wait(state()).await });
    let mut idle = Vec::new();
    for _ in 0..1000 {
        match TcpStream::connect(("127.0.0.1", port)).await {
            Ok(s) => idle.push(s),
            Err(_) => break,
        }
    }
    // Leave this side a few files for the browser's own connection.
    idle.truncate(idle.len().saturating_sub(8));
    let good = tokio::time::timeout(
        Duration::from_secs(20),
        get(port, &format!("/?code=c&state={STATE}")),
    )
    .await
    .expect("the callback was answered");
    assert!(good.starts_with("HTTP/1.1 302"), "{good}");
    assert!(matches!(
        tokio::time::timeout(Duration::from_secs(5), wait).await,
        Ok(Ok(Ok((Callback::Code { .. }, _))))
    ));
    drop(idle);
}

#[test]
fn a_flood_of_idle_connections_does_not_end_the_sign_in() {
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new("prlimit")
        .arg("--nofile=400:400")
        .arg("--")
        .arg(exe)
        .args([
            "--exact",
            "loopback::idle_flood_under_a_low_file_limit",
            "--include-ignored",
            "--nocapture",
        ])
        .output()
        .expect("prlimit (util-linux) runs the test under a low file limit");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && text.contains("1 passed"),
        "the listener gave up under a flood of idle connections:\n{text}"
    );
}
