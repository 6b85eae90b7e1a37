//! The desk's flows, as the app and `idesk` run them, against the sandbox tenant: sign-out with
//! wipe, profile removal, an offline start on the cache, and unassigning an incident.

use idesk_core::auth::token_store::MemoryStore;
use idesk_core::config::Config;
use idesk_core::desk::{self, Desk};

use crate::support::sandbox;
use crate::support::*;

/// A desk on the sandbox's profile, saved as a configured profile (as `idesk profile add` does).
fn open(sb: &sandbox::Sandbox, dirs: &Dirs, store: &Arc<dyn TokenStore>) -> Desk {
    let mut config = Config::load(dirs).unwrap();
    config.upsert(sb.profile());
    config.current = Some(sb.profile().name);
    config.save(dirs).unwrap();
    Desk::open(dirs, None, Arc::clone(store), false).unwrap()
}

fn entries(store: &MemoryStore) -> Vec<String> {
    let mut keys = store.keys();
    keys.sort();
    keys
}

async fn peek(sb: &sandbox::Sandbox, id: &str) -> serde_json::Value {
    reqwest::get(format!("{}/_sandbox/incidents/{id}", sb.api_origin()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn sign_out_with_wipe_and_profile_removal_leave_nothing_behind() {
    let sb = sandbox::Sandbox::start(30);
    let (dirs, _dirs) = temp_dirs("wipe");
    let memory = Arc::new(MemoryStore::default());
    let store: Arc<dyn TokenStore> = memory.clone();
    let desk = open(&sb, &dirs, &store);
    sign_in(&desk.current(), "alice").await.unwrap();
    let (incidents, _) = desk.sync(&|_| {}).await.unwrap();
    desk.incident(&incidents[0].id).await.unwrap();
    // The store's files: the database, and its WAL while it is open.
    let cache_files = || {
        std::fs::read_dir(dirs.data.join("cache"))
            .map(|d| d.count())
            .unwrap_or(0)
    };
    let database = || {
        dirs.data.join("cache").read_dir().map(|d| {
            d.filter_map(|e| e.ok())
                .any(|e| e.path().extension().is_some_and(|x| x == "db"))
        })
    };
    assert!(database().unwrap(), "the queue and the details are stored");
    assert_eq!(entries(&memory), ["cache-key:it", "refresh-token:it"]);

    desk.sign_out(false).await.unwrap();
    assert!(database().unwrap(), "a plain sign-out keeps the store");
    assert_eq!(entries(&memory), ["cache-key:it"]);

    sign_in(&desk.current(), "alice").await.unwrap();
    desk.sign_out(true).await.unwrap();
    assert_eq!(
        cache_files(),
        0,
        "sign-out with wipe deletes the database and its WAL"
    );
    assert!(
        entries(&memory).is_empty(),
        "and every keychain entry of the profile"
    );
    assert!(desk.cached().await.unwrap().incidents.is_empty());

    sign_in(&desk.current(), "alice").await.unwrap();
    desk.sync(&|_| {}).await.unwrap();
    desk::remove_profile(&dirs, &store, "it", false)
        .await
        .unwrap();
    assert_eq!(cache_files(), 0, "removing the profile deletes its cache");
    assert!(entries(&memory).is_empty(), "and its credential and key");
    assert!(
        Config::load(&dirs).unwrap().profile("it").is_none(),
        "and the profile"
    );
}

#[tokio::test]
async fn the_cache_serves_an_offline_start_and_the_desk_reconnects() {
    let (dirs, _dirs) = temp_dirs("offline");
    let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::default());
    let sb = sandbox::Sandbox::start(30);
    let profile = sb.profile();
    let (opened, count) = {
        let desk = open(&sb, &dirs, &store);
        sign_in(&desk.current(), "alice").await.unwrap();
        let (incidents, _) = desk.sync(&|_| {}).await.unwrap();
        let detail = desk.incident(&incidents[0].id).await.unwrap();
        assert!(!detail.from_cache);
        (detail, incidents.len())
    };
    drop(sb); // the tenant is gone

    // A new run: nothing in memory, the tenant unreachable.
    let desk = Desk::open(&dirs, None, Arc::clone(&store), false).unwrap();
    let standing = desk.standing().await.unwrap();
    assert!(
        standing.signed_in,
        "a stored sign-in counts, without the network"
    );
    assert_eq!(
        standing.account.and_then(|a| a.username).as_deref(),
        Some("alice@contoso-sandbox.test"),
        "the account of the last sync is shown offline"
    );
    assert_eq!(desk.cached().await.unwrap().incidents.len(), count);
    let err = desk.resume().await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Offline, "{}", err.user_message());
    let offline = desk.incident(&opened.incident.id).await.unwrap();
    assert!(
        offline.from_cache,
        "an incident opened before is shown from the cache"
    );
    assert_eq!(
        offline.alerts, opened.alerts,
        "with its alerts and evidence"
    );
    assert!(
        store
            .load(&format!("refresh-token:{}", profile.name))
            .unwrap()
            .is_some(),
        "being offline signs nobody out"
    );
}

#[tokio::test]
async fn unassigning_clears_the_assignee_on_the_server_and_in_the_cache() {
    let sb = sandbox::Sandbox::start(30);
    let (dirs, _dirs) = temp_dirs("unassign");
    let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::default());
    let desk = open(&sb, &dirs, &store);
    sign_in(&desk.current(), "alice").await.unwrap();
    let (incidents, _) = desk.sync(&|_| {}).await.unwrap();
    let target = incidents
        .iter()
        .find(|i| i.assigned_to.is_some() && i.status == Status::InProgress)
        .expect("an assigned incident in the data set");
    let unassign = Update {
        assigned_to: Some(None),
        ..Update::default()
    };
    let updated = desk
        .update(&target.id, &unassign, target.last_update)
        .await
        .unwrap();
    assert_eq!(updated.assigned_to, None);
    assert!(
        peek(&sb, &target.id).await["assignedTo"].is_null(),
        "the tenant holds no assignee"
    );
    let cached = desk.cached().await.unwrap();
    let row = cached.incidents.iter().find(|i| i.id == target.id).unwrap();
    assert_eq!(row.assigned_to, None, "the queue shows it at once");

    let resolve = Update {
        status: Some(Status::Resolved),
        ..Update::default()
    };
    let err = desk
        .update(&target.id, &resolve, updated.last_update)
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        ErrorCode::InvalidInput,
        "resolving without a note is refused before anything is sent"
    );
}

#[tokio::test]
async fn an_interrupted_first_sync_keeps_its_pages_and_the_next_one_resumes_after_them() {
    let (dirs, _dirs) = temp_dirs("resume");
    let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::default());
    let sb = sandbox::Sandbox::start(120);
    let desk = open(&sb, &dirs, &store);
    sign_in(&desk.current(), "alice").await.unwrap();
    // Two pages of 50 go through; the third answers with a body of the wrong shape.
    sb.fault(serde_json::json!({"kind": "malformed", "after": 2}))
        .await;
    desk.sync(&|_| {})
        .await
        .expect_err("the listing breaks off");
    let kept = desk.cached().await.unwrap();
    assert_eq!(kept.incidents.len(), 100, "the two pages written are kept");
    assert!(
        kept.watermark.is_some(),
        "and the sync knows where it stopped"
    );
    assert!(kept.synced_at.is_none(), "but it is not a finished sync");

    sb.clear_fault().await;
    let (incidents, report) = desk.sync(&|_| {}).await.unwrap();
    assert_eq!(incidents.len(), 120);
    assert!(
        report.fetched <= 21,
        "the second sync starts after the kept pages (fetched {})",
        report.fetched
    );
    let merged = incidents
        .iter()
        .filter(|i| i.status == Status::Redirected)
        .count();
    assert!(merged > 0, "the data set has merged incidents");
    assert_eq!(
        report.total,
        120 - merged,
        "merged incidents are not counted"
    );
}

#[tokio::test]
async fn a_sync_broken_off_past_its_first_transaction_keeps_every_incident_it_listed() {
    // 700 incidents: the store takes 500 to a transaction, so the break comes with one batch
    // written and the next one waiting.
    let (dirs, _dirs) = temp_dirs("batches");
    let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::default());
    let sb = sandbox::Sandbox::start(700);
    let desk = open(&sb, &dirs, &store);
    sign_in(&desk.current(), "alice").await.unwrap();
    sb.fault(serde_json::json!({"kind": "malformed", "after": 12}))
        .await;
    let listed = std::sync::atomic::AtomicUsize::new(0);
    desk.sync(&|n| listed.store(n, std::sync::atomic::Ordering::SeqCst))
        .await
        .expect_err("the listing breaks off");
    let listed = listed.load(std::sync::atomic::Ordering::SeqCst);
    assert!(listed > 500, "past the first transaction ({listed} listed)");
    let kept = desk.cached().await.unwrap();
    assert_eq!(
        kept.incidents.len(),
        listed,
        "every incident listed is kept"
    );

    sb.clear_fault().await;
    let (incidents, report) = desk.sync(&|_| {}).await.unwrap();
    assert_eq!(incidents.len(), 700);
    assert!(
        report.fetched < 700 - listed + 60,
        "the second sync starts after the kept incidents (fetched {})",
        report.fetched
    );
}

#[tokio::test]
async fn a_sync_too_large_to_patch_the_index_in_place_leaves_it_as_one_built_afresh() {
    use idesk_core::incidents::queue::{QueueFilter, QueueQuery, QueueSort, SortKey};
    // A first sync breaks off after four pages and the window builds its index over those;
    // the next one writes the remaining 2,400, more than an index takes in place.
    let (dirs, _dirs) = temp_dirs("rebuild");
    let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::default());
    let sb = sandbox::Sandbox::start(2600);
    let desk = open(&sb, &dirs, &store);
    sign_in(&desk.current(), "alice").await.unwrap();
    sb.fault(serde_json::json!({"kind": "malformed", "after": 4}))
        .await;
    desk.sync(&|_| {})
        .await
        .expect_err("the listing breaks off");
    let searched = QueueQuery {
        filter: QueueFilter {
            search: "a".into(),
            ..QueueFilter::default()
        },
        limit: 500,
        ..QueueQuery::default()
    };
    let early = desk.query(&searched).await.unwrap();
    assert!(early.total > 0 && early.total < 600, "{} kept", early.total);

    sb.clear_fault().await;
    let report = desk.sync_store(&|_| {}).await.unwrap();
    assert!(
        report.changed > idesk_core::incidents::sync::FOLLOW,
        "{} written",
        report.changed
    );
    let fresh = open(&sb, &dirs, &store);
    let all = QueueQuery {
        limit: 500,
        ..QueueQuery::default()
    };
    for base in [&all, &searched] {
        for key in [SortKey::Id, SortKey::LastUpdate, SortKey::Severity] {
            let query = QueueQuery {
                sort: QueueSort { key, desc: true },
                ..base.clone()
            };
            let seen = |p: idesk_core::incidents::queue::QueuePage| {
                let ids: Vec<String> = p.rows.into_iter().map(|i| i.id).collect();
                (p.total, p.matched, ids, p.tags, p.sources)
            };
            let now = seen(desk.query(&query).await.unwrap());
            assert_eq!(
                now.0 as usize, report.total,
                "every incident is in the view"
            );
            assert_eq!(now, seen(fresh.query(&query).await.unwrap()), "{query:?}");
        }
    }
}

#[tokio::test]
async fn the_queue_is_a_view_over_the_store_kept_current_by_syncs_writes_and_wipes() {
    use idesk_core::incidents::queue::{Assignment, QueueFilter, QueueQuery, QueueSort, SortKey};
    let sb = sandbox::Sandbox::start(80);
    let (dirs, _dirs) = temp_dirs("queue");
    let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::default());
    let desk = open(&sb, &dirs, &store);
    sign_in(&desk.current(), "alice").await.unwrap();
    let me = desk.current().account().and_then(|a| a.username);

    let before = desk.query(&QueueQuery::default()).await.unwrap();
    assert_eq!((before.total, before.matched), (0, 0), "an empty store");

    desk.sync_store(&|_| {}).await.unwrap();
    let stored = desk.cached().await.unwrap().incidents;
    let active_high = stored
        .iter()
        .filter(|i| i.status == Status::Active && i.severity.as_str() == "high")
        .count();
    let q = QueueQuery {
        filter: QueueFilter {
            statuses: vec!["active".into()],
            severities: vec!["high".into()],
            ..QueueFilter::default()
        },
        sort: QueueSort {
            key: SortKey::Id,
            desc: false,
        },
        limit: 5,
        me: me.clone(),
        ..QueueQuery::default()
    };
    let page = desk.query(&q).await.unwrap();
    let merged = stored
        .iter()
        .filter(|i| i.status == Status::Redirected)
        .count();
    assert_eq!(
        page.total as usize,
        stored.len() - merged,
        "the sync is in the view, merged incidents left out"
    );
    assert_eq!(page.matched as usize, active_high);
    assert!(page.rows.len() <= 5, "a window, not the list");
    assert!(page
        .rows
        .iter()
        .all(|i| i.status == Status::Active && i.severity.as_str() == "high"));

    // A sync with nothing new keeps the index; a write shows at once, without a sync.
    desk.sync_store(&|_| {}).await.unwrap();
    assert_eq!(desk.query(&q).await.unwrap().generation, page.generation);
    let target = stored
        .iter()
        .find(|i| i.assigned_to.is_none() && i.status == Status::Active)
        .expect("an unassigned active incident");
    let take = Update {
        assigned_to: Some(me.clone()),
        ..Update::default()
    };
    // Shown once before the write: the row itself is shown as written afterwards, not as the
    // window last read it.
    let by_id = |id: &str| QueueQuery {
        filter: QueueFilter {
            search: id.to_owned(),
            ..QueueFilter::default()
        },
        limit: 10,
        ..QueueQuery::default()
    };
    let shown = desk.query(&by_id(&target.id)).await.unwrap();
    let row = shown.rows.iter().find(|i| i.id == target.id).unwrap();
    assert_eq!(row.assigned_to, None);
    desk.update(&target.id, &take, target.last_update)
        .await
        .unwrap();
    let shown = desk.query(&by_id(&target.id)).await.unwrap();
    let row = shown.rows.iter().find(|i| i.id == target.id).unwrap();
    assert_eq!(row.assigned_to, me, "the row as written");
    let mine = QueueQuery {
        filter: QueueFilter {
            assignment: Assignment::Mine,
            search: target.id.clone(),
            ..QueueFilter::default()
        },
        limit: 10,
        me: me.clone(),
        ..QueueQuery::default()
    };
    let found = desk.query(&mine).await.unwrap();
    assert!(
        found.rows.iter().any(|i| i.id == target.id),
        "the incident just taken is in \"assigned to me\""
    );
    assert_ne!(found.generation, page.generation);

    // A change made elsewhere (another desk, as another analyst's app) arrives with the next
    // sync, which updates the index.
    let (other_dirs, _other_dirs) = temp_dirs("queue-other");
    let other_store: Arc<dyn TokenStore> = Arc::new(MemoryStore::default());
    let other = open(&sb, &other_dirs, &other_store);
    sign_in(&other.current(), "alice").await.unwrap();
    let elsewhere = stored.iter().find(|i| i.id != target.id).unwrap();
    let tag = Update {
        tags: Some(vec!["tagged-elsewhere".into()]),
        ..Update::default()
    };
    other
        .update(&elsewhere.id, &tag, elsewhere.last_update)
        .await
        .unwrap();
    let shown = desk.query(&by_id(&elsewhere.id)).await.unwrap();
    let row = shown.rows.iter().find(|i| i.id == elsewhere.id).unwrap();
    assert!(
        !row.tags.contains(&"tagged-elsewhere".to_owned()),
        "not synced yet"
    );
    let report = desk.sync_store(&|_| {}).await.unwrap();
    assert!(report.changed >= 1, "the sync wrote the change");
    let tagged = QueueQuery {
        filter: QueueFilter {
            search: "TAGGED-elsewhere".into(),
            ..QueueFilter::default()
        },
        limit: 10,
        ..QueueQuery::default()
    };
    let page = desk.query(&tagged).await.unwrap();
    assert_eq!(page.matched, 1);
    assert_eq!(page.rows[0].id, elsewhere.id);
    assert_eq!(page.rows[0].tags, ["tagged-elsewhere"], "the row as synced");
    assert!(
        page.tags.contains(&"tagged-elsewhere".to_owned()),
        "and in the tag menu"
    );

    // That sync's few rows went into the index in place: it answers as an index built from the
    // store answers (a second desk on the same store builds its own), for every sort.
    let fresh = open(&sb, &dirs, &store);
    let all = QueueQuery {
        limit: 500,
        ..QueueQuery::default()
    };
    for base in [&q, &tagged, &mine, &all] {
        for key in [
            SortKey::Id,
            SortKey::LastUpdate,
            SortKey::Severity,
            SortKey::DisplayName,
            SortKey::AssignedTo,
            SortKey::Status,
        ] {
            for desc in [false, true] {
                let query = QueueQuery {
                    sort: QueueSort { key, desc },
                    ..base.clone()
                };
                let seen = |p: idesk_core::incidents::queue::QueuePage| {
                    let ids: Vec<String> = p.rows.into_iter().map(|i| i.id).collect();
                    (p.total, p.matched, ids, p.tags, p.sources)
                };
                assert_eq!(
                    seen(desk.query(&query).await.unwrap()),
                    seen(fresh.query(&query).await.unwrap()),
                    "{query:?}"
                );
            }
        }
    }

    desk.sign_out(true).await.unwrap();
    let wiped = desk.query(&q).await.unwrap();
    assert_eq!(wiped.total, 0, "a wipe empties the view");
}

#[tokio::test]
async fn background_sync_keeps_to_half_the_quota_and_a_burst_of_triage_still_gets_through() {
    use std::time::{Duration, Instant};
    let sb = sandbox::Sandbox::start(60);
    let (dirs, _dirs) = temp_dirs("pacing");
    let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::default());
    let desk = open(&sb, &dirs, &store);
    sign_in(&desk.current(), "alice").await.unwrap();
    let incidents = {
        desk.sync_store(&|_| {}).await.unwrap();
        desk.cached().await.unwrap().incidents
    };
    let stats = || async {
        let s: serde_json::Value = reqwest::get(format!("{}/_sandbox/stats", sb.api_origin()))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        (
            s["requests"].as_u64().unwrap(),
            s["throttled"].as_u64().unwrap(),
        )
    };
    let (before, _) = stats().await;
    let started = Instant::now();
    let run_for = Duration::from_secs(10);
    // The background sync as often as it can go, against a burst of triage writes.
    let background = async {
        let mut rounds = 0;
        while started.elapsed() < run_for {
            let results = desk.background_sync().await;
            assert!(results.iter().all(|r| r.result.is_ok()), "{results:?}");
            rounds += 1;
        }
        rounds
    };
    let writes = 15;
    let triage = async {
        let mut done = 0;
        for i in incidents
            .iter()
            .filter(|i| i.status == Status::Active)
            .take(writes)
        {
            let tag = Update {
                tags: Some(vec!["burst".into()]),
                ..Update::default()
            };
            desk.update(&i.id, &tag, None).await.unwrap();
            done += 1;
        }
        done
    };
    let (rounds, done) = tokio::join!(background, triage);
    let elapsed = started.elapsed().as_secs_f64();
    let (after, throttled) = stats().await;
    let total = after - before;
    // Each triage write reads the incident again, then writes it.
    let foreground = 2 * done as u64;
    let background = total - foreground;
    println!(
        "{rounds} background syncs and {done} writes in {elapsed:.1} s: {background} background and {foreground} triage requests"
    );
    assert_eq!(done, writes, "every write went through");
    assert_eq!(throttled, 0, "the tenant never answered 429");
    // Half of Graph's 150 a minute: a burst of 75, then 1.25 a second.
    let half = 75.0 + 1.25 * elapsed;
    assert!(
        background as f64 <= half + 1.0,
        "background sync used {background} requests in {elapsed:.1} s, over half the quota ({half:.0})"
    );
    assert!(rounds > 1, "the background sync ran, and ran again");
}

#[tokio::test]
async fn a_merged_incident_takes_no_change_and_a_bulk_change_can_follow_the_merge() {
    use idesk_core::incidents::bulk::{BulkEdit, BulkTarget};
    use idesk_core::incidents::report::ReportFormat;
    let sb = sandbox::Sandbox::start(60);
    let (dirs, _dirs) = temp_dirs("merged");
    let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::default());
    let desk = open(&sb, &dirs, &store);
    sign_in(&desk.current(), "alice").await.unwrap();
    desk.sync_store(&|_| {}).await.unwrap();
    let stored = desk.cached().await.unwrap().incidents;
    let merged = stored
        .iter()
        .find(|i| i.status == Status::Redirected)
        .expect("the data set has a merged incident");
    let into = merged
        .redirect_incident_id
        .clone()
        .expect("it names its target");

    // One change, refused before anything is sent, naming the target.
    let comment = Update {
        comment: Some("on the merged one".into()),
        ..Update::default()
    };
    let refused = desk.update(&merged.id, &comment, None).await.unwrap_err();
    assert_eq!(refused.code(), idesk_core::ErrorCode::Merged);
    assert!(
        refused
            .user_message()
            .contains(&format!("merged into #{into}")),
        "{}",
        refused.user_message()
    );
    let detail = desk.incident(&merged.id).await.unwrap();
    assert!(detail.alerts.is_empty(), "its alerts moved to the target");
    assert!(detail
        .incident
        .comments
        .iter()
        .all(|c| c.text != "on the merged one"));

    // A bulk change skips it, or, asked to, applies the change to the target once.
    let targets = [BulkTarget {
        id: merged.id.clone(),
        seen_last_update: merged.last_update,
    }];
    let edit = BulkEdit {
        add_tags: vec!["followed".into()],
        ..BulkEdit::default()
    };
    let cancel = std::sync::atomic::AtomicBool::new(false);
    let skipped = desk
        .update_many(&targets, &edit, &|_, _| {}, &cancel)
        .await
        .unwrap();
    assert_eq!((skipped.saved.len(), skipped.skipped.len()), (0, 1));
    let followed = desk
        .update_many(
            &targets,
            &BulkEdit {
                follow_merges: true,
                ..edit
            },
            &|_, _| {},
            &cancel,
        )
        .await
        .unwrap();
    assert_eq!(followed.saved.len(), 1, "{followed:?}");
    assert_eq!(followed.saved[0].id, into);
    assert!(followed.saved[0].tags.iter().any(|t| t == "followed"));

    // The report names where it went.
    let md = desk
        .report(std::slice::from_ref(&merged.id), ReportFormat::Markdown)
        .await
        .unwrap();
    assert!(
        md.contains(&format!("**Merged into:** `` #{into} ``"))
            || md.contains(&format!("**Merged into:** ` #{into} `")),
        "{md}"
    );
}

#[tokio::test]
async fn the_queue_search_finds_incidents_by_the_entities_of_their_opened_details() {
    use idesk_core::incidents::queue::{QueueFilter, QueueQuery};
    let sb = sandbox::Sandbox::start(40);
    let (dirs, _dirs) = temp_dirs("entities");
    let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::default());
    let desk = open(&sb, &dirs, &store);
    sign_in(&desk.current(), "alice").await.unwrap();
    desk.sync_store(&|_| {}).await.unwrap();
    let stored = desk.cached().await.unwrap().incidents;
    let target = stored.iter().find(|i| i.status == Status::Active).unwrap();
    let search = |words: String| QueueQuery {
        filter: QueueFilter {
            search: words,
            ..QueueFilter::default()
        },
        limit: 100,
        ..QueueQuery::default()
    };
    let detail = desk.incident(&target.id).await.unwrap();
    let ip_or_user = detail
        .alerts
        .iter()
        .flat_map(|a| &a.evidence)
        .find(|e| e.kind == "user")
        .and_then(|e| e.details.iter().find(|(k, _)| k == "userPrincipalName"))
        .map(|(_, v)| v.to_uppercase())
        .expect("the sandbox's alerts name a user");
    let found = desk.query(&search(ip_or_user.clone())).await.unwrap();
    assert!(
        found.rows.iter().any(|i| i.id == target.id),
        "{ip_or_user} finds the incident whose detail names it"
    );
    // A new start builds the index from the store, entity index included.
    drop(desk);
    let again = open(&sb, &dirs, &store);
    let found = again.query(&search(ip_or_user.clone())).await.unwrap();
    assert!(
        found.rows.iter().any(|i| i.id == target.id),
        "after a restart too"
    );
}
