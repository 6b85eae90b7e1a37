//! "Since you last looked": what a sync found changed, compared with what the store held.
//!
//! A sync writes only incidents that differ from their stored row, and this app's own writes are
//! stored as soon as they are made, so every difference a sync finds was made elsewhere: by
//! another analyst, an automation, or the service. Each is recorded in the store with the time
//! it was seen, kept across restarts, and marked seen by the analyst.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::incidents::model::{Classification, Incident, Severity, Status};

/// What changed on an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum ChangeKind {
    /// An incident the store did not hold.
    NewIncident,
    /// More alerts than before.
    NewAlerts,
    SeverityRaised,
    StatusChanged,
    AssignmentChanged,
    ClassificationSet,
    /// Merged into another incident (status `redirected`).
    Merged,
    /// No longer returned by the tenant: deleted, merged away, or out of the analyst's scope.
    Gone,
}

/// One change, as the feed lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    /// Its place in the store's feed: larger is newer.
    #[specta(type = u32)]
    pub seq: i64,
    pub incident_id: String,
    /// The incident's name when the change was seen (attacker-influenced text).
    pub title: String,
    pub kind: ChangeKind,
    /// What it became, in words: "Medium → High", "assigned to bob@contoso.com", "Resolved".
    pub detail: String,
    /// The incident's severity and assignee after the change (what notification rules read).
    pub severity: Severity,
    pub assigned_to: Option<String>,
    /// The change concerns the signed-in analyst: assigned to them, or on their incident.
    pub mine: bool,
    #[serde(with = "time::serde::rfc3339")]
    #[specta(type = String)]
    pub at: OffsetDateTime,
    pub seen: bool,
}

fn title_case(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

fn status_word(s: &Status) -> String {
    match s {
        Status::Active => "Active".into(),
        Status::InProgress => "In progress".into(),
        Status::AwaitingAction => "Awaiting action".into(),
        Status::Resolved => "Resolved".into(),
        Status::Redirected => "Merged".into(),
        Status::Unrecognized(s) => s.clone(),
    }
}

fn same_person(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
        _ => false,
    }
}

/// The changes from `old` (what the store held, or nothing) to `new` (what the tenant returned,
/// or nothing when it no longer returns the incident), seen at `at`. `me` is the signed-in
/// analyst. Each change has `seq` 0 and is unseen; the store numbers them.
pub fn diff(
    old: Option<&Incident>,
    new: Option<&Incident>,
    me: Option<&str>,
    at: OffsetDateTime,
) -> Vec<Change> {
    let Some(now) = new.or(old) else {
        return Vec::new();
    };
    let mine_now = same_person(now.assigned_to.as_deref(), me);
    let change = |kind, detail: String, mine: bool| Change {
        seq: 0,
        incident_id: now.id.clone(),
        title: now.display_name.clone(),
        kind,
        detail,
        severity: now.severity.clone(),
        assigned_to: now.assigned_to.clone(),
        mine,
        at,
        seen: false,
    };
    let (old, new) = match (old, new) {
        (None, None) => return Vec::new(),
        (None, Some(n)) => {
            return vec![change(
                ChangeKind::NewIncident,
                format!("{} severity", title_case(n.severity.as_str())),
                mine_now,
            )]
        }
        (Some(_), None) => {
            return vec![change(
                ChangeKind::Gone,
                "no longer returned by the tenant".into(),
                mine_now,
            )]
        }
        (Some(o), Some(n)) => (o, n),
    };
    let mut out = Vec::new();
    if new.status != old.status {
        if new.status == Status::Redirected {
            let target = new
                .redirect_incident_id
                .as_deref()
                .map_or_else(|| "another incident".to_owned(), |t| format!("#{t}"));
            out.push(change(
                ChangeKind::Merged,
                format!("merged into {target}"),
                mine_now,
            ));
        } else {
            out.push(change(
                ChangeKind::StatusChanged,
                format!(
                    "{} → {}",
                    status_word(&old.status),
                    status_word(&new.status)
                ),
                mine_now,
            ));
        }
    }
    if new.severity.rank() > old.severity.rank() {
        out.push(change(
            ChangeKind::SeverityRaised,
            format!(
                "{} → {}",
                title_case(old.severity.as_str()),
                title_case(new.severity.as_str())
            ),
            mine_now,
        ));
    }
    let (was, is) = (old.assigned_to.as_deref(), new.assigned_to.as_deref());
    let reassigned = match (was, is) {
        (Some(a), Some(b)) => !a.eq_ignore_ascii_case(b),
        (None, None) => false,
        _ => true,
    };
    if reassigned {
        let detail = match is {
            Some(who) if mine_now => format!("assigned to you ({who})"),
            Some(who) => format!("assigned to {who}"),
            None => "unassigned".to_owned(),
        };
        // Taken from me counts as mine too: the analyst should hear of it.
        let mine = mine_now || same_person(was, me);
        out.push(change(ChangeKind::AssignmentChanged, detail, mine));
    }
    if new.classification != old.classification && new.classification != Classification::Unknown {
        out.push(change(
            ChangeKind::ClassificationSet,
            format!(
                "{} ({})",
                words(new.classification.as_str()),
                words(new.determination.as_str())
            ),
            mine_now,
        ));
    }
    if let (Some(a), Some(b)) = (old.alert_count, new.alert_count) {
        if b > a {
            out.push(new_alerts(new, (b - a) as usize, me, at));
        }
    }
    out
}

/// `n` alerts on `incident` that its stored detail did not have (seen when its detail is fetched
/// again: Graph's incident list does not count alerts).
pub fn new_alerts(incident: &Incident, n: usize, me: Option<&str>, at: OffsetDateTime) -> Change {
    Change {
        seq: 0,
        incident_id: incident.id.clone(),
        title: incident.display_name.clone(),
        kind: ChangeKind::NewAlerts,
        detail: format!("{n} new alert{}", if n == 1 { "" } else { "s" }),
        severity: incident.severity.clone(),
        assigned_to: incident.assigned_to.clone(),
        mine: same_person(incident.assigned_to.as_deref(), me),
        at,
        seen: false,
    }
}

/// "truePositive" → "true positive".
fn words(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    for c in s.chars() {
        if c.is_uppercase() && !out.is_empty() {
            out.push(' ');
        }
        out.extend(c.to_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incidents::model::Determination;
    use time::macros::datetime;

    const AT: OffsetDateTime = datetime!(2026-11-21 09:00 UTC);
    const ME: Option<&str> = Some("alice@contoso.test");

    fn incident(f: impl FnOnce(&mut Incident)) -> Incident {
        let mut i = Incident {
            severity: Severity::Medium,
            created: Some(datetime!(2026-11-20 08:00 UTC)),
            last_update: Some(datetime!(2026-11-20 08:00 UTC)),
            alert_count: Some(1),
            ..Incident::new("42", "Suspicious sign-in")
        };
        f(&mut i);
        i
    }

    fn kinds(c: &[Change]) -> Vec<(ChangeKind, &str, bool)> {
        c.iter()
            .map(|c| (c.kind, c.detail.as_str(), c.mine))
            .collect()
    }

    #[test]
    fn a_new_incident() {
        let n = incident(|i| i.severity = Severity::High);
        let c = diff(None, Some(&n), ME, AT);
        assert_eq!(
            kinds(&c),
            [(ChangeKind::NewIncident, "High severity", false)]
        );
        assert_eq!(
            (c[0].title.as_str(), c[0].at, c[0].seen),
            ("Suspicious sign-in", AT, false)
        );
    }

    #[test]
    fn new_alerts_on_an_existing_incident() {
        let old = incident(|i| i.assigned_to = Some("Alice@contoso.test".into()));
        let new = incident(|i| {
            i.assigned_to = Some("alice@contoso.test".into());
            i.alert_count = Some(4);
        });
        assert_eq!(
            kinds(&diff(Some(&old), Some(&new), ME, AT)),
            [(ChangeKind::NewAlerts, "3 new alerts", true)],
            "on my incident; the assignee's case is not a reassignment"
        );
        let unknown = incident(|i| i.alert_count = None);
        assert!(
            diff(Some(&unknown), Some(&new), ME, AT)
                .iter()
                .all(|c| c.kind != ChangeKind::NewAlerts),
            "an unknown count is no evidence of new alerts"
        );
    }

    #[test]
    fn severity_raised_but_not_lowered() {
        let old = incident(|_| {});
        let high = incident(|i| i.severity = Severity::High);
        assert_eq!(
            kinds(&diff(Some(&old), Some(&high), ME, AT)),
            [(ChangeKind::SeverityRaised, "Medium → High", false)]
        );
        assert!(diff(Some(&high), Some(&old), ME, AT).is_empty());
    }

    #[test]
    fn status_changed_and_merged() {
        let old = incident(|_| {});
        let resolved = incident(|i| i.status = Status::Resolved);
        assert_eq!(
            kinds(&diff(Some(&old), Some(&resolved), ME, AT)),
            [(ChangeKind::StatusChanged, "Active → Resolved", false)]
        );
        let merged = incident(|i| {
            i.status = Status::Redirected;
            i.redirect_incident_id = Some("77".into());
        });
        assert_eq!(
            kinds(&diff(Some(&old), Some(&merged), ME, AT)),
            [(ChangeKind::Merged, "merged into #77", false)]
        );
    }

    #[test]
    fn assignment_changed_to_me_from_me_and_to_another() {
        let nobody = incident(|_| {});
        let mine = incident(|i| i.assigned_to = Some("alice@contoso.test".into()));
        let bob = incident(|i| i.assigned_to = Some("bob@contoso.test".into()));
        assert_eq!(
            kinds(&diff(Some(&nobody), Some(&mine), ME, AT)),
            [(
                ChangeKind::AssignmentChanged,
                "assigned to you (alice@contoso.test)",
                true
            )]
        );
        assert_eq!(
            kinds(&diff(Some(&mine), Some(&bob), ME, AT)),
            [(
                ChangeKind::AssignmentChanged,
                "assigned to bob@contoso.test",
                true
            )],
            "taken from me is mine to hear about"
        );
        assert_eq!(
            kinds(&diff(Some(&bob), Some(&nobody), ME, AT)),
            [(ChangeKind::AssignmentChanged, "unassigned", false)]
        );
        assert!(
            !kinds(&diff(Some(&nobody), Some(&mine), None, AT))[0].2,
            "without an account nothing is mine"
        );
    }

    #[test]
    fn classification_set_by_someone_else() {
        let old = incident(|_| {});
        let tp = incident(|i| {
            i.classification = Classification::TruePositive;
            i.determination = Determination::Malware;
        });
        assert_eq!(
            kinds(&diff(Some(&old), Some(&tp), ME, AT)),
            [(
                ChangeKind::ClassificationSet,
                "true positive (malware)",
                false
            )]
        );
        assert!(
            diff(Some(&tp), Some(&old), ME, AT).is_empty(),
            "cleared is not a verdict"
        );
    }

    #[test]
    fn an_incident_that_disappears() {
        let old = incident(|i| i.assigned_to = Some("alice@contoso.test".into()));
        let c = diff(Some(&old), None, ME, AT);
        assert_eq!(
            kinds(&c),
            [(ChangeKind::Gone, "no longer returned by the tenant", true)]
        );
        assert_eq!(c[0].title, "Suspicious sign-in", "named as it was");
        assert!(diff(None, None, ME, AT).is_empty());
    }

    #[test]
    fn several_changes_at_once_and_none_for_a_comment_only_update() {
        let old = incident(|_| {});
        let new = incident(|i| {
            i.status = Status::InProgress;
            i.severity = Severity::High;
            i.assigned_to = Some("bob@contoso.test".into());
        });
        let c = diff(Some(&old), Some(&new), ME, AT);
        assert_eq!(
            c.iter().map(|c| c.kind).collect::<Vec<_>>(),
            [
                ChangeKind::StatusChanged,
                ChangeKind::SeverityRaised,
                ChangeKind::AssignmentChanged
            ]
        );
        let commented = incident(|i| {
            i.comments = vec![];
            i.tags = vec!["x".into()];
            i.last_update = Some(AT);
        });
        assert!(diff(Some(&old), Some(&commented), ME, AT).is_empty());
    }
}
