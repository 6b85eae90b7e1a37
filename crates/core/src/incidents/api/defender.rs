//! The Defender XDR API `/api/incidents` (retiring 2027-02-01): wire shapes and calls.
//!
//! Pages of at most 100; `$filter` on `lastUpdateTime`; alerts come inline with their `devices[]`
//! and flat `entities[]`. The docs describe `$top`/`$skip` and real integrations follow
//! `@odata.nextLink` when present: both are handled. Enum values in PATCH bodies are PascalCase and
//! case-sensitive.

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

pub const PAGE_SIZE: usize = 100;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireIncident {
    incident_id: Value,
    #[serde(default)]
    incident_uri: Option<String>,
    #[serde(default)]
    redirect_incident_id: Option<Value>,
    #[serde(default)]
    incident_name: Option<String>,
    #[serde(default, deserialize_with = "lenient_time")]
    created_time: Option<OffsetDateTime>,
    #[serde(default, deserialize_with = "lenient_time")]
    last_update_time: Option<OffsetDateTime>,
    #[serde(default)]
    assigned_to: Option<String>,
    #[serde(default)]
    classification: Option<Classification>,
    #[serde(default)]
    determination: Option<Determination>,
    #[serde(default)]
    status: Option<Status>,
    #[serde(default)]
    severity: Option<Severity>,
    #[serde(default)]
    tags: Option<Vec<String>>,
    #[serde(default)]
    comments: Option<Vec<WireComment>>,
    #[serde(default)]
    alerts: Option<Vec<WireAlert>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireComment {
    #[serde(default)]
    comment: Option<String>,
    #[serde(default)]
    created_by: Option<String>,
    #[serde(default, deserialize_with = "lenient_time")]
    created_time: Option<OffsetDateTime>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireAlert {
    alert_id: String,
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
    creation_time: Option<OffsetDateTime>,
    #[serde(default)]
    devices: Option<Vec<Map<String, Value>>>,
    #[serde(default)]
    entities: Option<Vec<Map<String, Value>>>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    detection_source: Option<String>,
    #[serde(default)]
    threat_family_name: Option<String>,
    #[serde(default)]
    actor_name: Option<String>,
    #[serde(default, deserialize_with = "lenient_time")]
    first_activity: Option<OffsetDateTime>,
    #[serde(default, deserialize_with = "lenient_time")]
    last_activity: Option<OffsetDateTime>,
}

/// An id as text, whether the API sent a number or a string.
fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Devices: the table says `DeviceId`, the example `mdatpDeviceId`; entities serialise every field,
/// mostly null. Keep the non-null ones.
fn evidence(kind: &str, mut e: Map<String, Value>) -> Evidence {
    let title_keys = [
        "deviceDnsName",
        "userPrincipalName",
        "accountName",
        "fileName",
        "ipAddress",
        "url",
        "processCommandLine",
        "mailboxAddress",
        "subject",
        "securityGroupName",
        "registryKey",
    ];
    let title = title_keys
        .iter()
        .find_map(|k| e.get(*k).and_then(scalar))
        .unwrap_or_else(|| kind.to_owned());
    let verdict = e.remove("verdict").as_ref().and_then(scalar);
    let remediation_status = e.remove("remediationStatus").as_ref().and_then(scalar);
    let details: Vec<(String, String)> = e
        .iter()
        .filter(|(k, _)| *k != "entityType")
        .filter_map(|(k, v)| Some((k.clone(), scalar(v)?)))
        .collect();
    let kind = kind.to_ascii_lowercase();
    Evidence {
        key: Evidence::key_of(&kind, &details),
        kind,
        title,
        verdict,
        roles: Vec::new(),
        remediation_status,
        tags: Vec::new(),
        details,
    }
}

impl TryFrom<WireIncident> for IncidentDetail {
    type Error = Error;

    fn try_from(w: WireIncident) -> Result<Self> {
        let id = id_text(&w.incident_id)
            .ok_or_else(|| Error::InvalidResponse("an incident without an incidentId".into()))?;
        let alerts: Vec<Alert> = w
            .alerts
            .unwrap_or_default()
            .into_iter()
            .map(|a| {
                let mut evidence: Vec<Evidence> = a
                    .devices
                    .unwrap_or_default()
                    .into_iter()
                    .map(|d| evidence("device", d))
                    .collect();
                for mut e in a.entities.unwrap_or_default() {
                    let kind = e
                        .remove("entityType")
                        .and_then(|k| k.as_str().map(str::to_owned))
                        .unwrap_or_else(|| "unknown".into());
                    evidence.push(self::evidence(&kind, e));
                }
                Alert {
                    id: a.alert_id,
                    title: a.title.unwrap_or_default(),
                    severity: a.severity.unwrap_or(Severity::Unknown),
                    status: a.status.unwrap_or(Status::Unrecognized(String::new())),
                    category: a.category,
                    service_source: a.service_source,
                    mitre_techniques: a.mitre_techniques.unwrap_or_default(),
                    created: a.creation_time,
                    web_url: None,
                    evidence,
                    description: a.description.filter(|d| !d.is_empty()),
                    recommended_actions: None,
                    detection_source: a.detection_source,
                    threat_display_name: a.threat_family_name.filter(|t| !t.is_empty()),
                    actor_display_name: a.actor_name.filter(|t| !t.is_empty()),
                    first_activity: a.first_activity,
                    last_activity: a.last_activity,
                }
            })
            .collect();
        let distinct = |f: &dyn Fn(&Alert) -> Option<String>| {
            let mut v: Vec<String> = alerts.iter().filter_map(f).collect();
            v.sort();
            v.dedup();
            v
        };
        let incident = Incident {
            web_url: w
                .incident_uri
                .or_else(|| Some(format!("https://security.microsoft.com/incidents/{id}"))),
            id,
            display_name: w.incident_name.unwrap_or_default(),
            severity: w.severity.unwrap_or(Severity::Unknown),
            status: w.status.unwrap_or(Status::Unrecognized(String::new())),
            assigned_to: w.assigned_to.filter(|a| !a.is_empty()),
            classification: w.classification.unwrap_or(Classification::Unknown),
            determination: w.determination.unwrap_or(Determination::Unknown),
            created: w.created_time,
            last_update: w.last_update_time,
            tags: w.tags.unwrap_or_default(),
            system_tags: Vec::new(),
            redirect_incident_id: w.redirect_incident_id.as_ref().and_then(id_text),
            comments: w
                .comments
                .unwrap_or_default()
                .into_iter()
                .map(|c| Comment {
                    text: c.comment.unwrap_or_default(),
                    author: c.created_by,
                    created: c.created_time,
                })
                .collect(),
            alert_count: Some(alerts.len() as u32),
            service_sources: distinct(&|a| a.service_source.clone()),
            categories: distinct(&|a| a.category.clone()),
            priority_score: None,
            last_modified_by: None,
        };
        Ok(IncidentDetail {
            incident,
            alerts,
            summary: None,
            description: None,
            history: Vec::new(),
            pivots: Vec::new(),
            from_cache: false,
        })
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
    let page: Page = super::json_of(body)?;
    let incidents = page
        .value
        .into_iter()
        .map(|w| IncidentDetail::try_from(w).map(|d| d.incident))
        .collect::<Result<Vec<_>>>()?;
    Ok((incidents, page.next_link))
}

pub(super) async fn list(
    t: &Transport,
    session: &Session,
    since: Option<OffsetDateTime>,
    progress: Progress<'_>,
    sink: PageSink<'_>,
) -> Result<()> {
    let mut listed = 0usize;
    let mut seen = crate::incidents::queue::Ids::default();
    let mut skip = 0usize;
    let mut guard = PageGuard::default();
    let filter = since.map(|s| format!("lastUpdateTime ge {}", rfc3339(s)));
    let mut url = {
        let mut q = vec![("$top", PAGE_SIZE.to_string())];
        if let Some(f) = &filter {
            q.push(("$filter", f.clone()));
        }
        t.url("/api/incidents", &q)
    };
    loop {
        let page: Page = t.get_json(session, url.clone()).await?;
        let n = page.value.len();
        let mut fresh = Vec::with_capacity(n);
        for w in page.value {
            let detail = IncidentDetail::try_from(w)?;
            if seen.insert(&detail.incident.id) {
                fresh.push(detail.incident);
            }
        }
        let new_on_page = fresh.len();
        listed += new_on_page;
        sink(fresh).await?;
        progress(listed);
        skip += n;
        url = match page.next_link {
            Some(next) => match guard.follow(t, &next, new_on_page)? {
                Some(next) => next,
                None => return Ok(()),
            },
            None if n == PAGE_SIZE && new_on_page == 0 => return Ok(()),
            None if n == PAGE_SIZE => {
                let mut q = vec![("$top", PAGE_SIZE.to_string()), ("$skip", skip.to_string())];
                if let Some(f) = &filter {
                    q.push(("$filter", f.clone()));
                }
                t.url("/api/incidents", &q)
            }
            None => return Ok(()),
        };
        if n == 0 {
            return Ok(());
        }
    }
}

pub(super) async fn get(t: &Transport, session: &Session, id: &str) -> Result<IncidentDetail> {
    let id: u64 = id.parse().map_err(|_| {
        Error::Invalid(format!(
            "{id:?} is not a Defender XDR incident id (a number)"
        ))
    })?;
    let w: WireIncident = t
        .get_json(session, t.url(&format!("/api/incidents/{id}"), &[]))
        .await?;
    IncidentDetail::try_from(w)
}

/// Graph's camelCase spelling → Defender's PascalCase (`unknown` determination → `NotAvailable`).
fn pascal(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
        .unwrap_or_default()
}

pub(super) async fn update(
    t: &Transport,
    session: &Session,
    id: &str,
    u: &Update,
) -> Result<Incident> {
    let id: u64 = id.parse().map_err(|_| {
        Error::Invalid(format!(
            "{id:?} is not a Defender XDR incident id (a number)"
        ))
    })?;
    let mut body = Map::new();
    if let Some(s) = &u.status {
        body.insert("status".into(), json!(pascal(s.as_str())));
    }
    if let Some(a) = &u.assigned_to {
        body.insert("assignedTo".into(), json!(a));
    }
    if let Some(c) = &u.classification {
        body.insert("classification".into(), json!(pascal(c.as_str())));
    }
    if let Some(d) = &u.determination {
        let v = match d {
            Determination::Unknown => "NotAvailable".to_owned(),
            other => pascal(other.as_str()),
        };
        body.insert("determination".into(), json!(v));
    }
    if let Some(tags) = &u.tags {
        body.insert("tags".into(), json!(tags));
    }
    if let Some(c) = &u.comment {
        body.insert("comment".into(), json!(c));
    }
    let bytes = t
        .send(
            session,
            Method::PATCH,
            t.url(&format!("/api/incidents/{id}"), &[]),
            Some(&Value::Object(body)),
        )
        .await?;
    let w: WireIncident = serde_json::from_slice(&bytes)
        .map_err(|e| Error::InvalidResponse(format!("updated incident: {e}")))?;
    Ok(IncidentDetail::try_from(w)?.incident)
}
