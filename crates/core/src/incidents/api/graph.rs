//! Microsoft Graph `/security/incidents`: wire shapes and calls.
//!
//! Listing follows Graph's documented limits: pages of at most 50 (`$top` above 50 is a 400) and
//! `@odata.nextLink`; because `$skip` stops at 500, a listing that is cut off continues from a
//! `lastUpdateDateTime` boundary (`$orderby` ascending, `ge` the last value seen, de-duplicated by
//! id) instead of paging deeper. Alerts are fetched per incident (`$expand=alerts` together with
//! `$filter` fails on large tenants).

use std::collections::HashSet;

use reqwest::Method;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use time::OffsetDateTime;

use super::{PageGuard, PageSink, Progress, Transport};
use crate::auth::session::Session;
use crate::error::{Error, Result};
use crate::incidents::model::{
    parse_time, rfc3339, Alert, Classification, Comment, Determination, Evidence, Incident,
    IncidentDetail, Severity, Status, Update,
};

pub const PAGE_SIZE: usize = 50;

/// An incident exactly as Graph sends it; every field but `id` may be missing.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireIncident {
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
    #[serde(default)]
    created_date_time: Option<String>,
    #[serde(default)]
    last_update_date_time: Option<String>,
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
    #[serde(default, alias = "createdTime")]
    created_date_time: Option<String>,
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
    #[serde(default)]
    created_date_time: Option<String>,
    #[serde(default)]
    alert_web_url: Option<String>,
    #[serde(default)]
    evidence: Option<Vec<Map<String, Value>>>,
}

impl From<WireComment> for Comment {
    fn from(c: WireComment) -> Self {
        Comment {
            text: c.comment.unwrap_or_default(),
            author: c.created_by_display_name,
            created: c.created_date_time.as_deref().and_then(parse_time),
        }
    }
}

impl From<WireIncident> for Incident {
    fn from(w: WireIncident) -> Self {
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
            created: w.created_date_time.as_deref().and_then(parse_time),
            last_update: w.last_update_date_time.as_deref().and_then(parse_time),
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
            created: a.created_date_time.as_deref().and_then(parse_time),
            web_url: a.alert_web_url,
            evidence: a
                .evidence
                .unwrap_or_default()
                .into_iter()
                .map(evidence)
                .collect(),
        }
    }
}

/// Graph's evidence is polymorphic (`@odata.type`); keep what each kind names it by, and every
/// other scalar field as a detail.
fn evidence(mut e: Map<String, Value>) -> Evidence {
    let odata = e
        .remove("@odata.type")
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let kind = odata
        .rsplit('.')
        .next()
        .unwrap_or_default()
        .trim_end_matches("Evidence")
        .to_ascii_lowercase();
    let text = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    let title = [
        e.get("deviceDnsName").and_then(text),
        e.get("userAccount")
            .and_then(|u| u.get("userPrincipalName"))
            .and_then(text),
        e.get("fileDetails")
            .and_then(|f| f.get("fileName"))
            .and_then(text),
        e.get("ipAddress").and_then(text),
        e.get("url").and_then(text),
        e.get("processCommandLine").and_then(text),
        e.get("primaryAddress").and_then(text),
    ]
    .into_iter()
    .flatten()
    .next()
    .unwrap_or_else(|| kind.clone());
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
        kind: if kind.is_empty() {
            "unknown".into()
        } else {
            kind
        },
        title,
        details,
    }
}

#[derive(Deserialize)]
struct Page {
    value: Vec<WireIncident>,
    #[serde(rename = "@odata.nextLink", default)]
    next_link: Option<String>,
}

/// The incidents of one listing page, as the client reads them. Pure (fuzzed by `make fuzz`).
pub(super) fn read_page(body: &[u8]) -> Result<(Vec<Incident>, Option<String>)> {
    let page: Page = serde_json::from_slice(body)
        .map_err(|e| Error::InvalidResponse(format!("incident API: {e}")))?;
    Ok((
        page.value.into_iter().map(Incident::from).collect(),
        page.next_link,
    ))
}

pub(super) async fn list(
    t: &Transport,
    session: &Session,
    since: Option<OffsetDateTime>,
    progress: Progress<'_>,
    sink: PageSink<'_>,
) -> Result<()> {
    let mut seen = HashSet::new();
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
            let page: Page = t.get_json(session, url.clone()).await?;
            cut_off = page.value.len() == PAGE_SIZE;
            let mut new_on_page = 0;
            let mut fresh = Vec::with_capacity(page.value.len());
            for w in page.value {
                let incident = Incident::from(w);
                // Compared as times, never as text: `…20Z` is earlier than `…20.5Z`.
                if let Some(lu) = incident.last_update {
                    if boundary.is_none_or(|b| lu > b) {
                        boundary = Some(lu);
                    }
                }
                if seen.insert(incident.id.clone()) {
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
    let mut w: WireIncident = t.get_json(session, url).await?;
    let alerts = w.alerts.take().unwrap_or_default();
    let mut incident = Incident::from(w);
    incident.alert_count = Some(alerts.len() as u32);
    let alerts: Vec<Alert> = alerts.into_iter().map(Alert::from).collect();
    incident.service_sources = distinct(alerts.iter().filter_map(|a| a.service_source.clone()));
    incident.categories = distinct(alerts.iter().filter_map(|a| a.category.clone()));
    Ok(IncidentDetail {
        incident,
        alerts,
        from_cache: false,
    })
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
        t.send(
            session,
            Method::POST,
            t.url(&format!("{path}/comments"), &[]),
            Some(&body),
        )
        .await?;
        updated = None;
    }
    match updated {
        Some(i) => Ok(i),
        None => Ok(get(t, session, id).await?.incident),
    }
}
