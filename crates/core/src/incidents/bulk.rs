//! One triage change applied to many incidents: each gets its own conflict check and its own
//! result, so a summary can say exactly what was saved, skipped and failed.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::incidents::model::{Classification, Determination, Incident, Status, Update};

/// The change, as the analyst chose it for the selection.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase", default)]
pub struct BulkEdit {
    pub status: Option<Status>,
    /// `Some(None)` unassigns (present as `null` over IPC).
    #[serde(deserialize_with = "present")]
    #[specta(type = Option<Option<String>>)]
    pub assigned_to: Option<Option<String>>,
    pub classification: Option<Classification>,
    pub determination: Option<Determination>,
    /// Tags added to each incident's own (the others stay).
    pub add_tags: Vec<String>,
    /// Tags taken off each incident (without regard to case).
    pub remove_tags: Vec<String>,
    pub comment: Option<String>,
    /// A merged incident's change goes to the incident it was merged into (else it is skipped).
    pub follow_merges: bool,
}

fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// One incident of the selection, with what the analyst saw of it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct BulkTarget {
    pub id: String,
    /// Its `lastUpdate` as shown: changed since, it is skipped, not overwritten.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[specta(type = Option<String>)]
    pub seen_last_update: Option<OffsetDateTime>,
}

/// An incident that was not saved, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct NotSaved {
    pub id: String,
    pub reason: String,
}

/// What a bulk change did, incident by incident.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct BulkResult {
    pub saved: Vec<Incident>,
    /// Not sent: changed since shown, merged into another incident, nothing to change, or not
    /// reached (offline, cancelled).
    pub skipped: Vec<NotSaved>,
    /// Sent and refused, or failed on the way.
    pub failed: Vec<NotSaved>,
}

impl BulkEdit {
    pub fn is_empty(&self) -> bool {
        *self == BulkEdit::default()
    }

    /// The update for one incident as it is: its tags with the added ones and without the
    /// removed ones. `Update::is_empty` when it would change nothing.
    pub fn update_for(&self, current: &Incident) -> Update {
        let tags = (!self.add_tags.is_empty() || !self.remove_tags.is_empty()).then(|| {
            let removed = |t: &str| self.remove_tags.iter().any(|r| r.eq_ignore_ascii_case(t));
            let mut tags: Vec<String> = current
                .tags
                .iter()
                .filter(|t| !removed(t))
                .cloned()
                .collect();
            for t in &self.add_tags {
                let t = t.trim();
                if !t.is_empty() && !tags.iter().any(|x| x.eq_ignore_ascii_case(t)) {
                    tags.push(t.to_owned());
                }
            }
            tags
        });
        let same = |a: &Option<String>, b: &Option<String>| match (a, b) {
            (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
            (None, None) => true,
            _ => false,
        };
        Update {
            status: self.status.clone().filter(|s| *s != current.status),
            assigned_to: self
                .assigned_to
                .clone()
                .filter(|a| !same(a, &current.assigned_to)),
            classification: self
                .classification
                .clone()
                .filter(|c| *c != current.classification),
            determination: self
                .determination
                .clone()
                .filter(|d| *d != current.determination),
            tags: tags.filter(|t| *t != current.tags),
            comment: self.comment.clone().filter(|c| !c.trim().is_empty()),
        }
    }
}

/// What is said of an incident merged into `into`, which takes no changes.
pub fn merged_note(into: Option<&str>) -> String {
    match into {
        Some(to) => format!("merged into #{to}: change that incident instead"),
        None => "merged into another incident: change that incident instead".into(),
    }
}

/// Why an incident of the selection is left alone before anything is sent, if it is.
pub fn precheck(current: &Incident, update: &Update) -> Option<String> {
    if current.status == Status::Redirected {
        return Some(merged_note(current.redirect_incident_id.as_deref()));
    }
    if update.is_empty() {
        return Some("already as asked: nothing to change".into());
    }
    update.check().err().map(|e| e.user_message())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incidents::model::Severity;

    fn incident(f: impl FnOnce(&mut Incident)) -> Incident {
        let mut i = Incident {
            severity: Severity::High,
            assigned_to: Some("Bob@contoso.test".into()),
            tags: vec!["Keep".into(), "Drop".into()],
            ..Incident::new("1", "x")
        };
        f(&mut i);
        i
    }

    #[test]
    fn tags_are_added_and_removed_on_each_incident_s_own() {
        let edit = BulkEdit {
            add_tags: vec!["New".into(), "keep".into(), " ".into()],
            remove_tags: vec!["drop".into()],
            ..BulkEdit::default()
        };
        let u = edit.update_for(&incident(|_| {}));
        assert_eq!(u.tags, Some(vec!["Keep".into(), "New".into()]));
        let already = incident(|i| i.tags = vec!["Keep".into(), "New".into()]);
        assert!(edit.update_for(&already).is_empty(), "nothing to change");
    }

    #[test]
    fn only_what_differs_is_sent_and_the_rules_still_hold() {
        let edit = BulkEdit {
            status: Some(Status::Active),
            assigned_to: Some(Some("bob@contoso.test".into())),
            classification: Some(Classification::TruePositive),
            ..BulkEdit::default()
        };
        let u = edit.update_for(&incident(|_| {}));
        assert_eq!(
            u,
            Update {
                classification: Some(Classification::TruePositive),
                ..Update::default()
            },
            "same status, same assignee (any case): not sent"
        );
        let resolve = BulkEdit {
            status: Some(Status::Resolved),
            ..BulkEdit::default()
        };
        let i = incident(|_| {});
        let reason = precheck(&i, &resolve.update_for(&i)).unwrap();
        assert!(reason.contains("needs a note"), "{reason}");
        let unassign = BulkEdit {
            assigned_to: Some(None),
            ..BulkEdit::default()
        };
        assert_eq!(unassign.update_for(&i).assigned_to, Some(None));
    }

    #[test]
    fn a_merged_incident_is_left_alone_and_names_its_target() {
        let merged = incident(|i| {
            i.status = Status::Redirected;
            i.redirect_incident_id = Some("77".into());
        });
        let edit = BulkEdit {
            add_tags: vec!["x".into()],
            ..BulkEdit::default()
        };
        assert_eq!(
            precheck(&merged, &edit.update_for(&merged)).as_deref(),
            Some("merged into #77: change that incident instead")
        );
    }

    #[test]
    fn an_edit_reads_from_ipc_with_null_meaning_unassign() {
        let e: BulkEdit =
            serde_json::from_str(r#"{"assignedTo": null, "addTags": ["a"]}"#).unwrap();
        assert_eq!(e.assigned_to, Some(None));
        let e: BulkEdit = serde_json::from_str(r#"{"comment": "c"}"#).unwrap();
        assert_eq!(e.assigned_to, None, "absent: left alone");
        assert!(BulkEdit::default().is_empty());
    }
}
