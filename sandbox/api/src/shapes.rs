//! How each API renders the data set: Microsoft Graph's `microsoft.graph.security.incident` /
//! `alert` (camelCase enums, typed `evidence[]`) and the Defender XDR API's legacy shape
//! (PascalCase enums, numeric `incidentId`, alerts inline with `devices[]` and flat `entities[]`).

use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::data::{alerts, Alert, Evidence, Incident};

pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

fn portal(id: u64, tenant: &str) -> String {
    format!("https://security.microsoft.com/incidents/{id}?tid={tenant}")
}

pub fn graph_incident(i: &Incident, tenant: &str, expand_alerts: bool) -> Value {
    let mut v = json!({
        "id": i.id.to_string(),
        "tenantId": tenant,
        "status": i.status,
        "incidentWebUrl": portal(i.id, tenant),
        "redirectIncidentId": i.redirect_to.map(|t| t.to_string()),
        "displayName": i.display_name,
        "createdDateTime": rfc3339(i.created),
        "lastUpdateDateTime": rfc3339(i.last_update),
        "assignedTo": i.assigned_to,
        "classification": i.classification,
        "determination": i.determination,
        "severity": i.severity,
        "customTags": i.tags,
        "systemTags": [],
        "description": description(i),
        "summary": summary(i),
        "priorityScore": priority(i),
        "lastModifiedBy": i.assigned_to.clone().unwrap_or_else(|| "Automation".into()),
        "comments": i.comments.iter().map(graph_comment).collect::<Vec<_>>(),
    });
    if expand_alerts {
        v["alerts"] = alerts(i)
            .iter()
            .map(|a| graph_alert(a, i, tenant))
            .collect();
    }
    v
}

/// Microsoft's priority score (0–100), steady per incident.
fn priority(i: &Incident) -> u64 {
    if i.status == "redirected" {
        return 0;
    }
    let base = match i.severity.as_str() {
        "high" => 60,
        "medium" => 35,
        "low" => 15,
        _ => 0,
    };
    base + i.alert_seed % 40
}

fn description(i: &Incident) -> Option<String> {
    (i.alert_count > 0).then(|| {
        format!(
            "{} alert(s) correlated into this incident: {}",
            i.alert_count, i.display_name
        )
    })
}

fn summary(i: &Incident) -> Option<String> {
    (i.alert_count > 1).then(|| {
        format!(
            "A multi-stage attack: {} alerts on one device and one user, starting with \"{}\".",
            i.alert_count, i.display_name
        )
    })
}

pub fn graph_comment(c: &crate::data::Comment) -> Value {
    json!({ "comment": c.comment, "createdByDisplayName": c.created_by, "createdDateTime": rfc3339(c.created) })
}

fn graph_alert(a: &Alert, i: &Incident, tenant: &str) -> Value {
    json!({
        "id": a.id,
        "providerAlertId": a.id,
        "incidentId": i.id.to_string(),
        "status": a.status,
        "severity": a.severity,
        "classification": i.classification,
        "determination": i.determination,
        "serviceSource": a.service_source.0,
        "title": a.title,
        "category": a.category,
        "assignedTo": i.assigned_to,
        "alertWebUrl": format!("https://security.microsoft.com/alerts/{}?tid={tenant}", a.id),
        "incidentWebUrl": portal(i.id, tenant),
        "mitreTechniques": a.techniques,
        "createdDateTime": rfc3339(a.created),
        "lastUpdateDateTime": rfc3339(i.last_update),
        "firstActivityDateTime": rfc3339(a.created - time::Duration::minutes(12)),
        "lastActivityDateTime": rfc3339(a.created - time::Duration::minutes(2)),
        "description": format!("{} was seen on {}. It is typical of {} activity.", a.title, a.host, a.category),
        "recommendedActions": "1. Isolate the device.\n2. Reset the user's credentials.\n3. Review the device timeline for related activity.",
        "detectionSource": a.detection_source,
        "threatDisplayName": a.threat,
        "actorDisplayName": a.actor,
        "comments": [],
        "evidence": a.evidence.iter().map(|e| graph_evidence(e, a)).collect::<Vec<_>>(),
    })
}

fn graph_evidence(e: &Evidence, a: &Alert) -> Value {
    let common = |kind: &str| {
        let (verdict, roles, remediation) = match e {
            Evidence::Device { risk, .. } if risk == "high" => {
                ("malicious", vec!["compromised"], "notRemediated")
            }
            Evidence::Device { .. } => ("suspicious", vec!["compromised"], "none"),
            Evidence::User { .. } => ("suspicious", vec!["compromised"], "none"),
            Evidence::File { .. } => ("malicious", vec!["attacker"], "prevented"),
            Evidence::Ip { .. } => ("suspicious", vec!["attacker"], "none"),
            Evidence::Url { .. } => ("malicious", vec!["attacker"], "blocked"),
            Evidence::Process { .. } => ("suspicious", vec![], "none"),
            Evidence::Mailbox { .. } => ("noThreatsFound", vec!["contextual"], "none"),
            Evidence::AnalyzedMessage { .. } => ("malicious", vec!["contextual"], "remediated"),
        };
        let tags: Vec<&str> = if verdict == "malicious" {
            vec!["Sandbox detonation"]
        } else {
            vec![]
        };
        json!({ "@odata.type": format!("#microsoft.graph.security.{kind}"), "createdDateTime": rfc3339(a.created),
                "verdict": verdict, "remediationStatus": remediation, "roles": roles, "detailedRoles": [], "tags": tags })
    };
    let mut v;
    match e {
        Evidence::Device {
            id,
            dns_name,
            os,
            risk,
        } => {
            v = common("deviceEvidence");
            v["mdeDeviceId"] = json!(id);
            v["deviceDnsName"] = json!(dns_name);
            v["osPlatform"] = json!(os);
            v["riskScore"] = json!(risk);
            v["healthStatus"] = json!("active");
        }
        Evidence::User { account, upn } => {
            v = common("userEvidence");
            v["userAccount"] = json!({ "accountName": account, "userPrincipalName": upn, "domainName": "contoso-sandbox.test" });
        }
        Evidence::File { name, path, sha256 } => {
            v = common("fileEvidence");
            v["fileDetails"] = json!({ "fileName": name, "filePath": path, "sha256": sha256 });
        }
        Evidence::Ip { address } => {
            v = common("ipEvidence");
            v["ipAddress"] = json!(address);
        }
        Evidence::Process { command_line, pid } => {
            v = common("processEvidence");
            v["processCommandLine"] = json!(command_line);
            v["processId"] = json!(pid);
        }
        Evidence::Mailbox { address } => {
            v = common("mailboxEvidence");
            v["primaryAddress"] = json!(address);
        }
        Evidence::Url { url } => {
            v = common("urlEvidence");
            v["url"] = json!(url);
        }
        Evidence::AnalyzedMessage {
            subject,
            network_message_id,
            sender,
        } => {
            v = common("analyzedMessageEvidence");
            v["subject"] = json!(subject);
            v["networkMessageId"] = json!(network_message_id);
            v["p1Sender"] = json!({ "emailAddress": sender, "displayName": null, "domainName": "fabrikam-mail.test" });
            v["deliveryAction"] = json!("delivered");
            v["deliveryLocation"] = json!("inbox");
        }
    }
    v
}

pub fn pascal(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
        .unwrap_or_default()
}

pub fn defender_determination(graph: &str) -> String {
    match graph {
        "unknown" => "NotAvailable".into(),
        other => pascal(other),
    }
}

pub fn defender_incident(i: &Incident) -> Value {
    json!({
        "incidentId": i.id,
        "incidentUri": format!("https://security.microsoft.com/incidents/{}", i.id),
        "redirectIncidentId": i.redirect_to,
        "incidentName": i.display_name,
        "createdTime": rfc3339(i.created),
        "lastUpdateTime": rfc3339(i.last_update),
        "assignedTo": i.assigned_to,
        "classification": pascal(&i.classification),
        "determination": defender_determination(&i.determination),
        "status": pascal(&i.status),
        "severity": pascal(&i.severity),
        "tags": i.tags,
        "comments": i.comments.iter().map(|c| json!({ "comment": c.comment, "createdBy": c.created_by, "createdTime": rfc3339(c.created) })).collect::<Vec<_>>(),
        "alerts": alerts(i).iter().map(|a| defender_alert(a, i)).collect::<Vec<_>>(),
    })
}

fn defender_alert(a: &Alert, i: &Incident) -> Value {
    let mut devices = Vec::new();
    let mut entities = Vec::new();
    for e in &a.evidence {
        match e {
            Evidence::Device { id, dns_name, os, risk } => devices.push(json!({
                "mdatpDeviceId": id, "aadDeviceId": null, "deviceDnsName": dns_name, "osPlatform": os,
                "osBuild": 22631, "healthStatus": "Active", "riskScore": pascal(risk), "rbacGroupName": "Sandbox", "firstSeen": rfc3339(i.created),
            })),
            Evidence::User { account, upn } => entities.push(entity("User", &[("accountName", json!(account)), ("userPrincipalName", json!(upn)), ("domainName", json!("contoso-sandbox.test"))])),
            Evidence::File { name, path, sha256 } => entities.push(entity("File", &[("fileName", json!(name)), ("filePath", json!(path)), ("sha256", json!(sha256))])),
            Evidence::Ip { address } => entities.push(entity("Ip", &[("ipAddress", json!(address))])),
            Evidence::Process { command_line, pid } => entities.push(entity("Process", &[("processCommandLine", json!(command_line)), ("processId", json!(pid))])),
            Evidence::Mailbox { address } => entities.push(entity("MailBox", &[("mailboxAddress", json!(address))])),
            Evidence::Url { url } => entities.push(entity("Url", &[("url", json!(url))])),
            Evidence::AnalyzedMessage { subject, sender, .. } => {
                entities.push(entity("MailMessage", &[("subject", json!(subject)), ("sender", json!(sender))]))
            }
        }
    }
    json!({
        "alertId": a.id,
        "incidentId": i.id,
        "serviceSource": a.service_source.1,
        "creationTime": rfc3339(a.created),
        "lastUpdatedTime": rfc3339(i.last_update),
        "title": a.title,
        "description": format!("{} was seen on {}. It is typical of {} activity.", a.title, a.host, a.category),
        "category": a.category,
        "detectionSource": a.detection_source,
        "threatFamilyName": a.threat,
        "actorName": a.actor,
        "firstActivity": rfc3339(a.created - time::Duration::minutes(12)),
        "lastActivity": rfc3339(a.created - time::Duration::minutes(2)),
        "status": match a.status.as_str() { "new" => "New".to_owned(), s => pascal(s) },
        "severity": pascal(&a.severity),
        "assignedTo": i.assigned_to,
        "mitreTechniques": a.techniques,
        "devices": devices,
        "entities": entities,
    })
}

/// Defender's entities serialise every field, mostly null.
fn entity(kind: &str, set: &[(&str, Value)]) -> Value {
    let mut v = json!({
        "entityType": kind, "sha1": null, "sha256": null, "fileName": null, "filePath": null, "processId": null,
        "processCommandLine": null, "processCreationTime": null, "parentProcessId": null, "ipAddress": null, "url": null,
        "accountName": null, "domainName": null, "userSid": null, "aadUserId": null, "userPrincipalName": null,
        "mailboxDisplayName": null, "mailboxAddress": null, "clusterBy": null, "sender": null, "recipient": null,
        "subject": null, "deliveryAction": null, "deviceId": null,
    });
    for (k, val) in set {
        v[*k] = val.clone();
    }
    v
}
