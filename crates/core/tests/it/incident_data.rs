//! Incident data: both backends, triage writes, conflicts, the encrypted cache and incremental sync.

use crate::support::*;

use crate::support::sandbox;

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
    let key = |v: &[idesk_core::incidents::model::Incident]| {
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
        .find(|i| i.status == Status::Active)
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
        .update(&alice, &target.id, &update, target.last_update)
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
        .find(|i| i.id != target.id && i.status == Status::Active)
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
            shown.last_update,
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
    let (dirs, _dirs) = temp_dirs("sync");
    let store: Arc<dyn TokenStore> =
        Arc::new(idesk_core::auth::token_store::MemoryStore::default());
    let cache = Arc::new(Cache::new(&dirs, "it", "fp", Arc::clone(&store), true));

    // Interrupted half way: the third request fails for good. The two pages written are kept,
    // whole, and nothing else.
    sb.fault(serde_json::json!({ "kind": "status", "status": 503, "retryAfter": 0, "after": 2 }))
        .await;
    assert!(
        idesk_core::incidents::sync::sync(&api, &alice, &cache, &|_| {})
            .await
            .is_err()
    );
    let kept = idesk_core::incidents::sync::cached(&cache).await.unwrap();
    assert_eq!(
        kept.incidents.len(),
        100,
        "a failed sync keeps the pages it wrote"
    );
    assert!(kept.synced_at.is_none());
    sb.clear_fault().await;

    let counts = std::sync::Mutex::new(Vec::new());
    let (all, report) = idesk_core::incidents::sync::sync(&api, &alice, &cache, &|n| {
        counts.lock().unwrap().push(n)
    })
    .await
    .unwrap();
    let merged = all
        .iter()
        .filter(|i| i.status == Status::Redirected)
        .count();
    assert_eq!((all.len(), report.total), (240, 240 - merged));
    let counts = counts.into_inner().unwrap();
    assert!(
        counts.windows(2).all(|w| w[1] > w[0] && w[1] - w[0] <= 50)
            && counts.last() == Some(&report.fetched),
        "progress after each page: {counts:?}"
    );
    assert!(
        report.fetched < 240,
        "the sync resumed after the kept pages, not from the start ({} fetched)",
        report.fetched
    );

    let before = sb.requests().await;
    let (_, report) = idesk_core::incidents::sync::sync(&api, &alice, &cache, &|_| {})
        .await
        .unwrap();
    assert_eq!(
        sb.requests().await - before,
        1,
        "a sync with nothing new is one request"
    );
    assert_eq!(
        (report.fetched, report.total),
        (1, 240 - merged),
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
    let (after, report) = idesk_core::incidents::sync::sync(&api, &alice, &cache, &|_| {})
        .await
        .unwrap();
    assert_eq!(report.total, 240 - merged);
    assert_eq!(
        after.iter().find(|i| i.id == changed.id).unwrap().status,
        Status::InProgress
    );

    let bytes = std::fs::read(&cache.paths()[0]).unwrap();
    let title = all
        .iter()
        .map(|i| i.display_name.as_str())
        .find(|t| t.len() > 20)
        .unwrap();
    assert!(
        !bytes.windows(20).any(|w| w == &title.as_bytes()[..20]),
        "no incident text in clear in the cache file"
    );
}
