//! The Graph incidents client against the whole sandbox tenant (IdP + API), with its faults.

use crate::support::*;

use crate::support::sandbox;

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

#[tokio::test]
async fn a_change_whose_comment_fails_says_exactly_what_was_saved() {
    let sb = sandbox::Sandbox::start(30);
    let session = sandbox_session(&sb, "alice").await;
    let c = client(&sb);
    let target = c
        .list_incidents(&session)
        .await
        .unwrap()
        .into_iter()
        .find(|i| i.status == Status::Active)
        .unwrap();
    // The fresh read and the PATCH go through; the comment's POST is refused.
    sb.fault(serde_json::json!({ "kind": "status", "status": 400, "after": 2, "times": 1 }))
        .await;
    let change = Update {
        status: Some(Status::InProgress),
        comment: Some("taking it".into()),
        ..Update::default()
    };
    let err = c
        .update(&session, &target.id, &change, target.last_update)
        .await
        .unwrap_err();
    let msg = err.user_message();
    assert!(
        msg.starts_with("saved the status; the comment was not saved"),
        "{msg}"
    );
    let now = c.get(&session, &target.id).await.unwrap().incident;
    assert_eq!(now.status, Status::InProgress, "the status was saved");
    assert!(now.comments.iter().all(|x| x.text != "taking it"));
}
