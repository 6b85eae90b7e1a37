//! What an attacker or a broken network does to sign-in, against the real OpenID provider and the
//! sandbox API: a profile re-added for another tenant, a sign-out racing a refresh, two processes
//! on one keychain, rotated signing keys, hostile claims challenges, pages that loop.

use idesk_core::auth::token_store::{refresh_token_key, seal, MemoryStore};

use crate::support::*;

#[tokio::test]
async fn a_profile_re_added_for_another_authority_sends_nothing_and_forgets_the_old_sign_in() {
    let (a, b) = (idp::Idp::start(), idp::Idp::start());
    let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::default());
    let first = Session::new(a.profile(), Arc::clone(&store)).unwrap();
    sign_in(&first, "alice")
        .await
        .expect("signed in at the first authority");
    assert!(store.load(&refresh_token_key("it")).unwrap().is_some());

    // The same profile name, now pointing at another authority (as `idesk profile add it …` or
    // the setup screen would save it).
    let again = Session::new(b.profile(), Arc::clone(&store)).unwrap();
    let before = b.token_requests().await;
    assert_eq!(
        again.resume().await.unwrap(),
        None,
        "nothing to sign in with"
    );
    assert_eq!(
        b.token_requests().await,
        before,
        "the old tenant's refresh token is never sent to the new authority"
    );
    assert!(
        store.load(&refresh_token_key("it")).unwrap().is_none(),
        "and it is deleted"
    );
}

#[tokio::test]
async fn a_refresh_in_flight_cannot_undo_a_sign_out() {
    let idp = idp::Idp::start();
    let (session, store, offset) = signed_in(&idp).await;
    offset.store(2 * 3600, Ordering::SeqCst);
    idp.fault_json(serde_json::json!({ "endpoint": "token", "delayMs": 800, "times": 1 }))
        .await;
    let refreshing = {
        let s = Arc::clone(&session);
        tokio::spawn(async move { s.access_token().await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    session.sign_out().await.unwrap();
    let _ = refreshing.await.unwrap();
    assert!(
        store.load(&refresh_token_key("it")).unwrap().is_none(),
        "the refresh answered after the sign-out began, and stored nothing"
    );
    assert!(session.account().is_none());
}

#[tokio::test]
async fn a_rejected_refresh_deletes_only_the_token_it_sent() {
    let idp = idp::Idp::start();
    let (session, store, offset) = signed_in(&idp).await;
    offset.store(2 * 3600, Ordering::SeqCst);
    // This process's refresh is rejected late; meanwhile another process (idesk beside the app)
    // refreshed and stored a newer token in the same keychain.
    idp.fault_json(serde_json::json!({
        "endpoint": "token", "error": "invalid_grant", "code": 70008, "delayMs": 800, "times": 1
    }))
    .await;
    let refreshing = {
        let s = Arc::clone(&session);
        tokio::spawn(async move { s.access_token().await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let fp = idp.profile().fingerprint().unwrap();
    let newer = seal(&fp, &Secret::new("the-other-process-token"));
    store.save(&refresh_token_key("it"), &newer).unwrap();
    let err = refreshing.await.unwrap().unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotSignedIn, "{err}");
    assert_eq!(
        store.load(&refresh_token_key("it")).unwrap(),
        Some(newer),
        "the other process's newer token survives"
    );
}

#[tokio::test]
async fn rotated_signing_keys_are_fetched_again() {
    let idp = idp::Idp::start();
    let (session, _store, offset) = signed_in(&idp).await;
    idp.rotate_keys().await;
    offset.store(2 * 3600, Ordering::SeqCst);
    session
        .access_token()
        .await
        .expect("a refresh whose ID token is signed with the new key");
    assert_eq!(
        session.account().and_then(|a| a.username).as_deref(),
        Some("alice@contoso-sandbox.test"),
        "the same account"
    );
}

#[tokio::test]
async fn a_hostile_claims_challenge_is_refused_and_a_valid_one_is_asked_once() {
    let sb = sandbox::Sandbox::start(10);
    let session = sandbox_session(&sb, "alice").await;
    let c = client(&sb);
    let claims_in = |url: &url::Url| {
        url.query_pairs()
            .find(|(k, _)| k == "claims")
            .map(|(_, v)| v.into_owned())
    };

    // 100 KB of claims: accepted blindly, it would ride on every later sign-in.
    sb.fault(serde_json::json!({ "kind": "insufficientClaims", "times": 1, "claims": "x".repeat(100_000) }))
        .await;
    let listed = c.list_incidents(&session).await;
    assert_eq!(
        listed
            .expect("a refused challenge is a plain 401: refreshed once")
            .len(),
        10
    );
    for bad in [
        r#"{"userinfo":{"email":null}}"#.to_owned(),
        "not json".to_owned(),
        "[1]".to_owned(),
    ] {
        sb.fault(serde_json::json!({ "kind": "insufficientClaims", "times": 1, "claims": bad }))
            .await;
        c.list_incidents(&session)
            .await
            .unwrap_or_else(|e| panic!("{bad:?} is no claims request: {e}"));
    }
    let pending = session.begin_sign_in(None).await.unwrap();
    assert_eq!(
        claims_in(&pending.url),
        None,
        "no hostile claims reach a sign-in"
    );

    sb.fault(serde_json::json!({ "kind": "insufficientClaims", "times": 1 }))
        .await;
    let err = c.list_incidents(&session).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::ReauthRequired, "{err}");
    let first = session.begin_sign_in(None).await.unwrap();
    assert!(
        claims_in(&first.url).is_some(),
        "the next sign-in asks for them"
    );
    let second = session.begin_sign_in(None).await.unwrap();
    assert_eq!(
        claims_in(&second.url),
        None,
        "one attempt only: a challenge cannot block every later sign-in"
    );
}

#[tokio::test]
async fn a_listing_that_pages_in_circles_ends() {
    let sb = sandbox::Sandbox::start(120);
    let session = sandbox_session(&sb, "alice").await;
    let c = client(&sb);
    // Every page links back to itself, for as long as the listing goes on.
    sb.fault(serde_json::json!({ "kind": "loopingNextLink" }))
        .await;
    let listed = tokio::time::timeout(Duration::from_secs(60), c.list_incidents(&session))
        .await
        .expect("the listing ends instead of paging forever");
    let requests = sb.requests().await;
    assert!(requests < 10, "{requests} requests for a page that repeats");
    match listed {
        Ok(incidents) => assert!(!incidents.is_empty(), "what was read is kept"),
        Err(e) => assert_eq!(e.code(), ErrorCode::ApiError, "{e}"),
    }
}
