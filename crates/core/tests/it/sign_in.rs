//! Sign-in against the sandbox IdP (a real oidc-provider), with a scripted browser.

use crate::support::*;

use crate::support::idp;

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

#[tokio::test]
async fn consent_is_asked_once_per_account_and_cancel_is_a_cancelled_sign_in() {
    let idp = idp::Idp::start();
    let (session, _, _) = idp::session(&idp);
    let sign_in_as = |user: &'static str, consent: bool| {
        let session = &session;
        async move {
            let pending = session.begin_sign_in(None).await?;
            let url = pending.url.clone();
            let (result, shown) = tokio::join!(
                session.finish_sign_in(pending, SIGN_IN_WAIT, std::future::pending()),
                idp::browse_as(url, user, consent)
            );
            result.map(|account| (account, shown))
        }
    };

    // Declining the permissions is the user's "no": a cancelled sign-in, nothing stored.
    let err = sign_in_as("carol", false).await.unwrap_err();
    assert!(matches!(err, Error::SignInCancelled), "{err}");

    let (account, shown) = sign_in_as("carol", true).await.expect("signed in");
    assert_eq!(shown, ["account picker", "consent"]);
    assert_eq!(
        account.username.as_deref(),
        Some("carol@contoso-sandbox.test")
    );
    session.sign_out().await.unwrap();

    // Signed out, in a browser with no session left: the account is picked again, consent is not.
    let (_, shown) = sign_in_as("carol", true).await.expect("signed in again");
    assert_eq!(shown, ["account picker"]);
    // Consent belongs to the account: another one is asked.
    let (_, shown) = sign_in_as("reader", true).await.expect("another account");
    assert_eq!(shown, ["account picker", "consent"]);
}
