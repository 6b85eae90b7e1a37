//! Microsoft Graph `/security/incidents`: wire shapes and calls.
//!
//! Listing follows Graph's documented limits: pages of at most 50 (`$top` above 50 is a 400) and
//! `@odata.nextLink`; because `$skip` stops at 500, a listing that is cut off continues from a
//! `lastUpdateDateTime` boundary (`$orderby` ascending, `ge` the last value seen, de-duplicated by
//! id) instead of paging deeper. Alerts are fetched per incident (`$expand=alerts` together with
//! `$filter` fails on large tenants).

use std::borrow::Cow;

use reqwest::Method;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use time::OffsetDateTime;

use super::{PageGuard, PageSink, Progress, Transport};
use crate::auth::session::Session;
use crate::error::{Error, Result};
use crate::incidents::model::{
    lenient_time, rfc3339, Alert, Classification, Comment, Determination, Evidence, Incident,
    IncidentDetail, Severity, Status, Update,
};

pub const PAGE_SIZE: usize = 50;

/// An incident exactly as Graph sends it; every field but `id` may be missing.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireIncident<'a> {
    id: String,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    severity: Option<Severity>,
    #[serde(default)]
    status: Option<Status>,
    #[serde(default)]
    assigned_to: Option<String>,
    #[serde(default)]
    classification: Option<Classification>,
    #[serde(default)]
    determination: Option<Determination>,
    #[serde(default, deserialize_with = "lenient_time")]
    created_date_time: Option<OffsetDateTime>,
    #[serde(default, deserialize_with = "lenient_time")]
    last_update_date_time: Option<OffsetDateTime>,
    #[serde(default)]
    custom_tags: Option<Vec<String>>,
    #[serde(default)]
    system_tags: Option<Vec<String>>,
    #[serde(default)]
    incident_web_url: Option<String>,
    #[serde(default)]
    redirect_incident_id: Option<String>,
    #[serde(default)]
    comments: Option<Vec<WireComment>>,
    #[serde(default)]
    alerts: Option<Vec<WireAlert>>,
    /// Read in place (a listing drops them; only an incident's detail keeps them).
    #[serde(default, borrow)]
    description: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    summary: Option<Cow<'a, str>>,
    /// 0–100; read leniently (a number of any kind, or nothing).
    #[serde(default)]
    priority_score: Option<Value>,
    #[serde(default)]
    last_modified_by: Option<String>,
}

/// The docs disagree on a comment's field names (`createdBy` / `createdByDisplayName`,
/// `createdTime` / `createdDateTime`): accept both.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireComment {
    #[serde(default)]
    comment: Option<String>,
    #[serde(default, alias = "createdBy")]
    created_by_display_name: Option<String>,
    #[serde(default, alias = "createdTime", deserialize_with = "lenient_time")]
    created_date_time: Option<OffsetDateTime>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireAlert {
    id: String,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    severity: Option<Severity>,
    #[serde(default)]
    status: Option<Status>,
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    service_source: Option<String>,
    #[serde(default)]
    mitre_techniques: Option<Vec<String>>,
    #[serde(default, deserialize_with = "lenient_time")]
    created_date_time: Option<OffsetDateTime>,
    #[serde(default)]
    alert_web_url: Option<String>,
    #[serde(default)]
    evidence: Option<Vec<Map<String, Value>>>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    recommended_actions: Option<String>,
    #[serde(default)]
    detection_source: Option<String>,
    #[serde(default)]
    threat_display_name: Option<String>,
    #[serde(default)]
    actor_display_name: Option<String>,
    #[serde(default, deserialize_with = "lenient_time")]
    first_activity_date_time: Option<OffsetDateTime>,
    #[serde(default, deserialize_with = "lenient_time")]
    last_activity_date_time: Option<OffsetDateTime>,
}

impl From<WireComment> for Comment {
    fn from(c: WireComment) -> Self {
        Comment {
            text: c.comment.unwrap_or_default(),
            author: c.created_by_display_name,
            created: c.created_date_time,
        }
    }
}

impl From<WireIncident<'_>> for Incident {
    fn from(w: WireIncident<'_>) -> Self {
        let alerts = w.alerts.as_deref().unwrap_or_default();
        let mut sources: Vec<String> = alerts
            .iter()
            .filter_map(|a| a.service_source.clone())
            .collect();
        sources.sort();
        sources.dedup();
        let mut categories: Vec<String> =
            alerts.iter().filter_map(|a| a.category.clone()).collect();
        categories.sort();
        categories.dedup();
        Incident {
            id: w.id,
            display_name: w.display_name.unwrap_or_default(),
            severity: w.severity.unwrap_or(Severity::Unknown),
            status: w.status.unwrap_or(Status::Unrecognized(String::new())),
            assigned_to: w.assigned_to.filter(|a| !a.is_empty()),
            classification: w.classification.unwrap_or(Classification::Unknown),
            determination: w.determination.unwrap_or(Determination::Unknown),
            created: w.created_date_time,
            last_update: w.last_update_date_time,
            tags: w.custom_tags.unwrap_or_default(),
            system_tags: w.system_tags.unwrap_or_default(),
            web_url: w.incident_web_url,
            redirect_incident_id: w.redirect_incident_id,
            comments: w
                .comments
                .unwrap_or_default()
                .into_iter()
                .map(Comment::from)
                .collect(),
            alert_count: w.alerts.as_ref().map(|a| a.len() as u32),
            service_sources: sources,
            categories,
            priority_score: w
                .priority_score
                .as_ref()
                .and_then(Value::as_f64)
                .filter(|p| p.is_finite() && *p >= 0.0)
                .map(|p| p.round().min(f64::from(u32::MAX)) as u32),
            last_modified_by: w.last_modified_by.filter(|m| !m.is_empty()),
        }
    }
}

impl From<WireAlert> for Alert {
    fn from(a: WireAlert) -> Self {
        Alert {
            id: a.id,
            title: a.title.unwrap_or_default(),
            severity: a.severity.unwrap_or(Severity::Unknown),
            status: a.status.unwrap_or(Status::Unrecognized(String::new())),
            category: a.category,
            service_source: a.service_source,
            mitre_techniques: a.mitre_techniques.unwrap_or_default(),
            created: a.created_date_time,
            web_url: a.alert_web_url,
            evidence: a
                .evidence
                .unwrap_or_default()
                .into_iter()
                .map(evidence)
                .collect(),
            description: a.description.filter(|d| !d.is_empty()),
            recommended_actions: a.recommended_actions.filter(|r| !r.is_empty()),
            detection_source: a.detection_source,
            threat_display_name: a.threat_display_name.filter(|t| !t.is_empty()),
            actor_display_name: a.actor_display_name.filter(|t| !t.is_empty()),
            first_activity: a.first_activity_date_time,
            last_activity: a.last_activity_date_time,
        }
    }
}

/// Where each Graph evidence type keeps the name it is known by, in order of preference
/// (`a.b` is field `b` of object `a`).
const TITLES: &[(&str, &[&str])] = &[
    (
        "device",
        &["deviceDnsName", "mdeDeviceId", "azureAdDeviceId"],
    ),
    (
        "user",
        &[
            "userAccount.userPrincipalName",
            "userAccount.accountName",
            "userAccount.displayName",
        ],
    ),
    ("file", &["fileDetails.fileName", "fileDetails.sha256"]),
    ("process", &["processCommandLine", "imageFile.fileName"]),
    ("ip", &["ipAddress"]),
    ("url", &["url"]),
    (
        "mailbox",
        &[
            "primaryAddress",
            "displayName",
            "userAccount.userPrincipalName",
        ],
    ),
    (
        "analyzedMessage",
        &["subject", "networkMessageId", "internetMessageId"],
    ),
    ("mailCluster", &["name", "query", "clusterByValue"]),
    ("cloudApplication", &["displayName", "appId"]),
    ("oauthApplication", &["displayName", "appId"]),
    ("registryKey", &["registryKey"]),
    ("registryValue", &["registryValueName", "registryKey"]),
    ("securityGroup", &["displayName", "securityGroupId"]),
    ("azureResource", &["resourceName", "resourceId"]),
    ("blob", &["name", "url"]),
    ("blobContainer", &["name", "url"]),
    ("dns", &["domainName"]),
    (
        "hostLogonSession",
        &["account.userPrincipalName", "sessionId"],
    ),
    ("kubernetesPod", &["name"]),
    ("kubernetesNamespace", &["name"]),
    ("kubernetesCluster", &["name"]),
    ("containerImage", &["imageId"]),
    ("container", &["name", "containerId"]),
    ("nic", &["ipAddress.ipAddress", "macAddress"]),
    (
        "networkConnection",
        &["destinationAddress.ipAddress", "sourceAddress.ipAddress"],
    ),
    ("iotDevice", &["deviceName", "deviceId"]),
    ("amazonResource", &["resourceName", "amazonResourceId"]),
    ("googleCloudResource", &["resourceName", "resourceId"]),
    ("gitHubRepo", &["name", "url"]),
];

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn strings(v: Option<Value>) -> Vec<String> {
    match v {
        Some(Value::Array(items)) => items.iter().filter_map(text).collect(),
        _ => Vec::new(),
    }
}

/// Graph's evidence is polymorphic (`@odata.type`): its kind names where its title is; the
/// verdict, roles, remediation status and tags are common to every kind; every other scalar
/// field (and those of its objects, one level down) is kept as a detail.
fn evidence(mut e: Map<String, Value>) -> Evidence {
    let odata = e
        .remove("@odata.type")
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let short = odata.rsplit('.').next().unwrap_or_default();
    let short = short.strip_suffix("Evidence").unwrap_or(short);
    let kind = match short.chars().next() {
        Some(first) => first.to_ascii_lowercase().to_string() + &short[first.len_utf8()..],
        None => "unknown".to_owned(),
    };
    let at = |path: &str| -> Option<String> {
        let mut parts = path.split('.');
        let mut v = e.get(parts.next()?)?;
        for p in parts {
            v = v.get(p)?;
        }
        text(v)
    };
    let title = TITLES
        .iter()
        .find(|(k, _)| *k == kind)
        .and_then(|(_, paths)| paths.iter().find_map(|p| at(p)))
        .or_else(|| ["displayName", "name", "url"].iter().find_map(|p| at(p)))
        .unwrap_or_else(|| words_of(&kind));
    let verdict = e.remove("verdict").as_ref().and_then(text);
    let remediation_status = e.remove("remediationStatus").as_ref().and_then(text);
    let roles = strings(e.remove("roles"));
    let tags = strings(e.remove("tags"));
    e.remove("detailedRoles");
    let mut details = Vec::new();
    for (k, v) in &e {
        match v {
            Value::Object(inner) => {
                for (ik, iv) in inner {
                    if let Some(s) = text(iv) {
                        details.push((ik.clone(), s));
                    }
                }
            }
            other => {
                if let Some(s) = text(other) {
                    details.push((k.clone(), s));
                }
            }
        }
    }
    Evidence {
        key: Evidence::key_of(&kind, &details),
        kind,
        title,
        verdict,
        roles,
        remediation_status,
        tags,
        details,
    }
}

/// `registryValue` → "registry value": a title for evidence that has no name of its own.
fn words_of(kind: &str) -> String {
    let mut out = String::new();
    for c in kind.chars() {
        if c.is_ascii_uppercase() && !out.is_empty() {
            out.push(' ');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

#[derive(Deserialize)]
struct Page {
    #[serde(deserialize_with = "incidents")]
    value: Vec<Incident>,
    #[serde(rename = "@odata.nextLink", default)]
    next_link: Option<String>,
}

/// A page's incidents, each made an `Incident` as it is read, into a list sized for a page
/// (a list of wire incidents grew by doubling, moving each, some 450 bytes, on the way).
fn incidents<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Vec<Incident>, D::Error> {
    struct Each;
    impl<'de> serde::de::Visitor<'de> for Each {
        type Value = Vec<Incident>;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a list of incidents")
        }

        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> std::result::Result<Vec<Incident>, A::Error> {
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(PAGE_SIZE).min(PAGE_SIZE));
            while let Some(w) = seq.next_element::<WireIncident<'de>>()? {
                out.push(Incident::from(w));
            }
            Ok(out)
        }
    }
    d.deserialize_seq(Each)
}

/// The incidents of one listing page, as the client reads them. Pure (fuzzed by `make fuzz`).
pub(super) fn read_page(body: &[u8]) -> Result<(Vec<Incident>, Option<String>)> {
    let page: Page = super::json_of(body)?;
    Ok((page.value, page.next_link))
}

pub(super) async fn list(
    t: &Transport,
    session: &Session,
    since: Option<OffsetDateTime>,
    progress: Progress<'_>,
    sink: PageSink<'_>,
) -> Result<()> {
    let mut seen = crate::incidents::queue::Ids::default();
    let mut listed = 0usize;
    let mut boundary = since;
    let mut guard = PageGuard::default();
    loop {
        let mut query = vec![
            ("$top", PAGE_SIZE.to_string()),
            ("$orderby", "lastUpdateDateTime asc".to_owned()),
        ];
        if let Some(b) = &boundary {
            query.push(("$filter", format!("lastUpdateDateTime ge {}", rfc3339(*b))));
        }
        let mut url = t.url("/security/incidents", &query);
        let mut new_in_window = 0usize;
        let mut cut_off;
        loop {
            let body = t.get(session, url.clone()).await?;
            let page: Page = super::json_of(&body)?;
            cut_off = page.value.len() == PAGE_SIZE;
            let mut new_on_page = 0;
            let mut fresh = Vec::with_capacity(page.value.len());
            for incident in page.value {
                // Compared as times, never as text: `…20Z` is earlier than `…20.5Z`.
                if let Some(lu) = incident.last_update {
                    if boundary.is_none_or(|b| lu > b) {
                        boundary = Some(lu);
                    }
                }
                if seen.insert(&incident.id) {
                    new_in_window += 1;
                    new_on_page += 1;
                    fresh.push(incident);
                }
            }
            listed += fresh.len();
            sink(fresh).await?;
            progress(listed);
            match page.next_link {
                Some(next) => match guard.follow(t, &next, new_on_page)? {
                    Some(next) => url = next,
                    None => {
                        cut_off = false;
                        break;
                    }
                },
                None => break,
            }
        }
        // A full last page without a next link means the server stopped paging (the $skip
        // limit): continue from the boundary. Nothing new in a window means we are done.
        if !cut_off || new_in_window == 0 {
            return Ok(());
        }
    }
}

pub(super) async fn get(t: &Transport, session: &Session, id: &str) -> Result<IncidentDetail> {
    let url = t.url(
        &format!("/security/incidents/{}", encode_id(id)),
        &[("$expand", "alerts".to_owned())],
    );
    let body = t.get(session, url).await?;
    let mut w: WireIncident = super::json_of(&body)?;
    let alerts = w.alerts.take().unwrap_or_default();
    let summary = w
        .summary
        .take()
        .filter(|s| !s.is_empty())
        .map(Cow::into_owned);
    let description = w
        .description
        .take()
        .filter(|d| !d.is_empty())
        .map(Cow::into_owned);
    let mut incident = Incident::from(w);
    incident.alert_count = Some(alerts.len() as u32);
    let alerts: Vec<Alert> = alerts.into_iter().map(Alert::from).collect();
    incident.service_sources = distinct(alerts.iter().filter_map(|a| a.service_source.clone()));
    incident.categories = distinct(alerts.iter().filter_map(|a| a.category.clone()));
    Ok(IncidentDetail {
        incident,
        alerts,
        summary,
        description,
        history: Vec::new(),
        pivots: Vec::new(),
        from_cache: false,
    })
}

/// The fields of a change other than its comment, in words.
fn saved_fields(u: &Update) -> String {
    let mut fields = Vec::new();
    if u.status.is_some() {
        fields.push("the status");
    }
    if u.assigned_to.is_some() {
        fields.push("the assignment");
    }
    if u.classification.is_some() || u.determination.is_some() {
        fields.push("the classification");
    }
    if u.tags.is_some() {
        fields.push("the tags");
    }
    fields.join(", ")
}

fn distinct(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut v: Vec<String> = items.collect();
    v.sort();
    v.dedup();
    v
}

/// Ids go into a path: keep them to what Graph issues.
fn encode_id(id: &str) -> String {
    url::form_urlencoded::byte_serialize(id.as_bytes()).collect()
}

/// PATCH for the fields, then POST for the comment (Graph takes comments separately).
pub(super) async fn update(
    t: &Transport,
    session: &Session,
    id: &str,
    u: &Update,
) -> Result<Incident> {
    let mut body = Map::new();
    if let Some(s) = &u.status {
        body.insert("status".into(), json!(s.as_str()));
    }
    if let Some(a) = &u.assigned_to {
        body.insert("assignedTo".into(), json!(a.clone().unwrap_or_default()));
    }
    if let Some(c) = &u.classification {
        body.insert("classification".into(), json!(c.as_str()));
    }
    if let Some(d) = &u.determination {
        body.insert("determination".into(), json!(d.as_str()));
    }
    if let Some(tags) = &u.tags {
        body.insert("customTags".into(), json!(tags));
    }
    let path = format!("/security/incidents/{}", encode_id(id));
    let mut updated = None;
    if !body.is_empty() {
        let bytes = t
            .send(
                session,
                Method::PATCH,
                t.url(&path, &[]),
                Some(&Value::Object(body)),
            )
            .await?;
        let w: WireIncident = serde_json::from_slice(&bytes)
            .map_err(|e| crate::Error::InvalidResponse(format!("updated incident: {e}")))?;
        updated = Some(Incident::from(w));
    }
    if let Some(c) = &u.comment {
        let body = json!({ "@odata.type": "microsoft.graph.security.alertComment", "comment": c });
        let sent = t
            .send(
                session,
                Method::POST,
                t.url(&format!("{path}/comments"), &[]),
                Some(&body),
            )
            .await;
        match (sent, &updated) {
            (Ok(_), _) => updated = None,
            // The fields were saved, the comment was not: say exactly that.
            (Err(e), Some(_)) => {
                return Err(Error::PartlyFailed(format!(
                    "saved {}; the comment was not saved: {}",
                    saved_fields(u),
                    e.user_message()
                )))
            }
            (Err(e), None) => return Err(e),
        }
    }
    match updated {
        Some(i) => Ok(i),
        None => Ok(get(t, session, id).await?.incident),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn parse(v: Value) -> Evidence {
        evidence(v.as_object().cloned().unwrap())
    }

    /// One item of each of Graph's evidence types, in the shapes the API reference documents.
    #[test]
    fn every_evidence_type_has_a_title_and_distinct_items_never_collapse() {
        let cases = [
            (
                json!({"@odata.type": "#microsoft.graph.security.deviceEvidence", "deviceDnsName": "wks-01", "mdeDeviceId": "ab12"}),
                "device",
                "wks-01",
            ),
            (
                json!({"@odata.type": "#microsoft.graph.security.userEvidence", "userAccount": {"accountName": "lee", "userPrincipalName": "lee@contoso.test", "azureAdUserId": "u-1"}}),
                "user",
                "lee@contoso.test",
            ),
            (
                json!({"@odata.type": "#microsoft.graph.security.fileEvidence", "fileDetails": {"fileName": "a.exe", "sha256": "ff00"}}),
                "file",
                "a.exe",
            ),
            (
                json!({"@odata.type": "#microsoft.graph.security.processEvidence", "processId": 42, "processCommandLine": "cmd /c whoami", "imageFile": {"fileName": "cmd.exe"}}),
                "process",
                "cmd /c whoami",
            ),
            (
                json!({"@odata.type": "#microsoft.graph.security.ipEvidence", "ipAddress": "203.0.113.9"}),
                "ip",
                "203.0.113.9",
            ),
            (
                json!({"@odata.type": "#microsoft.graph.security.urlEvidence", "url": "https://evil.test/x"}),
                "url",
                "https://evil.test/x",
            ),
            (
                json!({"@odata.type": "#microsoft.graph.security.mailboxEvidence", "primaryAddress": "lee@contoso.test", "displayName": "Lee"}),
                "mailbox",
                "lee@contoso.test",
            ),
            (
                json!({"@odata.type": "#microsoft.graph.security.analyzedMessageEvidence", "subject": "Invoice overdue", "networkMessageId": "n-1"}),
                "analyzedMessage",
                "Invoice overdue",
            ),
            (
                json!({"@odata.type": "#microsoft.graph.security.mailClusterEvidence", "name": "Cluster 7", "query": "q"}),
                "mailCluster",
                "Cluster 7",
            ),
            (
                json!({"@odata.type": "#microsoft.graph.security.cloudApplicationEvidence", "displayName": "Dropbox", "appId": 11}),
                "cloudApplication",
                "Dropbox",
            ),
            (
                json!({"@odata.type": "#microsoft.graph.security.oauthApplicationEvidence", "displayName": "Mail Reader", "appId": "c-1"}),
                "oauthApplication",
                "Mail Reader",
            ),
            (
                json!({"@odata.type": "#microsoft.graph.security.registryKeyEvidence", "registryKey": "SOFTWARE\\Run", "registryHive": "HKEY_LOCAL_MACHINE"}),
                "registryKey",
                "SOFTWARE\\Run",
            ),
            (
                json!({"@odata.type": "#microsoft.graph.security.registryValueEvidence", "registryKey": "SOFTWARE\\Run", "registryValueName": "updater", "registryValue": "c:\\u.exe"}),
                "registryValue",
                "updater",
            ),
            (
                json!({"@odata.type": "#microsoft.graph.security.securityGroupEvidence", "displayName": "Domain Admins", "securityGroupId": "g-1"}),
                "securityGroup",
                "Domain Admins",
            ),
            (
                json!({"@odata.type": "#microsoft.graph.security.azureResourceEvidence", "resourceName": "vm-01", "resourceId": "/subscriptions/1/vm-01"}),
                "azureResource",
                "vm-01",
            ),
            (
                json!({"@odata.type": "#microsoft.graph.security.blobEvidence", "name": "dump.zip", "url": "https://s.test/c/dump.zip"}),
                "blob",
                "dump.zip",
            ),
            (
                json!({"@odata.type": "#microsoft.graph.security.kubernetesPodEvidence", "name": "miner-7f"}),
                "kubernetesPod",
                "miner-7f",
            ),
            (
                json!({"@odata.type": "#microsoft.graph.security.someFutureEvidence", "createdDateTime": "2026-11-20T10:00:00Z"}),
                "someFuture",
                "some future",
            ),
        ];
        let mut keys = HashSet::new();
        for (wire, kind, title) in cases {
            let e = parse(wire);
            assert_eq!((e.kind.as_str(), e.title.as_str()), (kind, title));
            assert!(keys.insert(e.key.clone()), "{} is not distinct", e.key);
        }
        // Two registry values of one key, and two evidence items of a type without a known
        // name, are distinct; the same device seen twice is one.
        let value = |name: &str| {
            parse(json!({"@odata.type": "#microsoft.graph.security.registryValueEvidence", "registryKey": "K", "registryValueName": name})).key
        };
        assert_ne!(value("a"), value("b"));
        let unknown = |v: &str| {
            parse(
                json!({"@odata.type": "#microsoft.graph.security.someFutureEvidence", "thing": v}),
            )
            .key
        };
        assert_ne!(unknown("a"), unknown("b"));
        let device = |name: &str| {
            parse(json!({"@odata.type": "#microsoft.graph.security.deviceEvidence", "mdeDeviceId": "AB12", "deviceDnsName": name})).key
        };
        assert_eq!(
            device("wks-01"),
            device("WKS-01.contoso.local"),
            "one device, by its ID"
        );
    }

    #[test]
    fn verdict_roles_remediation_and_tags_are_read_apart_from_the_details() {
        let e = parse(json!({
            "@odata.type": "#microsoft.graph.security.fileEvidence",
            "verdict": "malicious", "remediationStatus": "prevented",
            "roles": ["attacker"], "detailedRoles": ["initial access"], "tags": ["Detonated", 7],
            "fileDetails": {"fileName": "<img src=x onerror=alert(1)>.js", "sha256": "AA"}
        }));
        assert_eq!(e.verdict.as_deref(), Some("malicious"));
        assert_eq!(e.remediation_status.as_deref(), Some("prevented"));
        assert_eq!(e.roles, ["attacker"]);
        assert_eq!(e.tags, ["Detonated", "7"]);
        assert_eq!(e.title, "<img src=x onerror=alert(1)>.js", "kept as text");
        assert_eq!(e.key, "file:aa");
        assert!(e
            .details
            .iter()
            .all(|(k, _)| k != "verdict" && k != "roles"));
    }
}
