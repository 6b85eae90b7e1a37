//! Which changes become desktop notifications: rules per profile (a new incident at or above a
//! severity, an incident assigned to me by someone else, a new alert on my incident), quiet hours
//! and a pause, and never more than a few at once: a burst becomes one summary.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::incidents::changes::{Change, ChangeKind};
use crate::incidents::model::Severity;

/// One profile's rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase", default)]
pub struct Rules {
    pub enabled: bool,
    /// New incidents at or above this severity (`high`, `medium`, `low`, `informational`);
    /// `None`: no notification for new incidents.
    pub new_at_or_above: Option<String>,
    /// An incident assigned to me by someone else.
    pub assigned_to_me: bool,
    /// A new alert on an incident assigned to me.
    pub alerts_on_mine: bool,
}

impl Default for Rules {
    fn default() -> Self {
        Self {
            enabled: true,
            new_at_or_above: Some("high".into()),
            assigned_to_me: true,
            alerts_on_mine: true,
        }
    }
}

/// Hours without notifications, in the analyst's local time (minutes after midnight), with the
/// UTC offset the desktop had when they were set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct QuietHours {
    pub from_minute: u16,
    pub to_minute: u16,
    pub utc_offset_minutes: i16,
}

impl QuietHours {
    /// Whether `now` falls in the quiet hours (which may span midnight).
    pub fn contains(&self, now: OffsetDateTime) -> bool {
        let minutes = i32::from(now.hour()) * 60
            + i32::from(now.minute())
            + i32::from(self.utc_offset_minutes);
        let local = minutes.rem_euclid(24 * 60) as u16;
        let (from, to) = (self.from_minute % 1440, self.to_minute % 1440);
        if from <= to {
            (from..to).contains(&local)
        } else {
            local >= from || local < to
        }
    }
}

/// Notification settings: rules per profile, quiet hours, a pause.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase", default)]
pub struct Notifications {
    /// Each profile's rules; a profile not named has the default rules.
    pub rules: BTreeMap<String, Rules>,
    pub quiet_hours: Option<QuietHours>,
    /// No notifications until then.
    #[serde(with = "time::serde::rfc3339::option")]
    #[specta(type = Option<String>)]
    pub paused_until: Option<OffsetDateTime>,
}

impl Notifications {
    pub fn rules_for(&self, profile: &str) -> Rules {
        self.rules.get(profile).cloned().unwrap_or_default()
    }

    /// Whether notifications are held back at `now` (paused, or quiet hours).
    pub fn held(&self, now: OffsetDateTime) -> bool {
        self.paused_until.is_some_and(|t| now < t)
            || self.quiet_hours.is_some_and(|q| q.contains(now))
    }
}

/// A desktop notification to show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Notice {
    pub title: String,
    pub body: String,
    pub profile: String,
    /// The incident a click opens; `None` for a summary (a click opens the change feed).
    pub incident_id: Option<String>,
}

/// At most this many notifications from one sync; more become one summary.
pub const MAX_AT_ONCE: usize = 3;

fn severity_word(s: &Severity) -> String {
    let s = s.as_str();
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// Single-line, bounded text: incident titles are attacker-influenced, and a notification is no
/// place for a page of text or control characters.
fn clean(s: &str) -> String {
    let one: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let one = one.trim();
    if one.chars().count() > 120 {
        let cut: String = one.chars().take(119).collect();
        format!("{cut}…")
    } else {
        one.to_owned()
    }
}

/// The notifications for one sync's new changes of `profile` under `rules`.
pub fn notices(profile: &str, changes: &[Change], rules: &Rules) -> Vec<Notice> {
    if !rules.enabled {
        return Vec::new();
    }
    let wanted = |c: &Change| match c.kind {
        ChangeKind::NewIncident => rules
            .new_at_or_above
            .as_deref()
            .is_some_and(|min| c.severity.rank() >= Severity::from(min).rank().max(1)),
        ChangeKind::AssignmentChanged => {
            rules.assigned_to_me && c.mine && c.detail.starts_with("assigned to you")
        }
        ChangeKind::NewAlerts => rules.alerts_on_mine && c.mine,
        _ => false,
    };
    let chosen: Vec<&Change> = changes.iter().filter(|c| wanted(c)).collect();
    if chosen.len() > MAX_AT_ONCE {
        let new = chosen
            .iter()
            .filter(|c| c.kind == ChangeKind::NewIncident)
            .count();
        let plural =
            |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        let other = chosen.len() - new;
        let parts: Vec<String> = [
            (new > 0).then(|| plural(new, "new incident", "new incidents")),
            (other > 0).then(|| {
                plural(
                    other,
                    "change on your incidents",
                    "changes on your incidents",
                )
            }),
        ]
        .into_iter()
        .flatten()
        .collect();
        let body = parts.join(", ");
        return vec![Notice {
            title: format!("{}: {body}", clean(profile)),
            body: "Open Incident Desk to see what changed.".into(),
            profile: profile.to_owned(),
            incident_id: None,
        }];
    }
    chosen
        .into_iter()
        .map(|c| {
            let what = match c.kind {
                ChangeKind::NewIncident => {
                    format!(
                        "New {} incident #{}",
                        severity_word(&c.severity).to_lowercase(),
                        c.incident_id
                    )
                }
                ChangeKind::AssignmentChanged => {
                    format!("Incident #{} assigned to you", c.incident_id)
                }
                _ => format!("{} on incident #{}", clean(&c.detail), c.incident_id),
            };
            Notice {
                title: what,
                body: clean(&c.title),
                profile: profile.to_owned(),
                incident_id: Some(c.incident_id.clone()),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const AT: OffsetDateTime = datetime!(2026-11-21 09:00 UTC);

    fn change(id: &str, kind: ChangeKind, severity: Severity, mine: bool, detail: &str) -> Change {
        Change {
            seq: 0,
            incident_id: id.into(),
            title: format!("Incident {id}\n<b>bold</b>"),
            kind,
            detail: detail.into(),
            severity,
            assigned_to: None,
            mine,
            at: AT,
            seen: false,
        }
    }

    #[test]
    fn the_default_rules_name_new_high_incidents_my_assignments_and_alerts_on_mine() {
        let changes = [
            change(
                "1",
                ChangeKind::NewIncident,
                Severity::High,
                false,
                "High severity",
            ),
            change(
                "2",
                ChangeKind::NewIncident,
                Severity::Medium,
                false,
                "Medium severity",
            ),
            change(
                "3",
                ChangeKind::AssignmentChanged,
                Severity::Low,
                true,
                "assigned to you (alice@x)",
            ),
            change(
                "4",
                ChangeKind::AssignmentChanged,
                Severity::Low,
                true,
                "assigned to bob@x",
            ),
            change(
                "5",
                ChangeKind::NewAlerts,
                Severity::Low,
                true,
                "2 new alerts",
            ),
            change(
                "6",
                ChangeKind::NewAlerts,
                Severity::Low,
                false,
                "1 new alert",
            ),
            change(
                "7",
                ChangeKind::StatusChanged,
                Severity::High,
                true,
                "Active → Resolved",
            ),
        ];
        let n = notices("Contoso", &changes, &Rules::default());
        let ids: Vec<_> = n
            .iter()
            .map(|n| n.incident_id.as_deref().unwrap())
            .collect();
        assert_eq!(ids, ["1", "3", "5"]);
        assert_eq!(n[0].title, "New high incident #1");
        assert_eq!(
            n[0].body, "Incident 1 <b>bold</b>",
            "one line; markup stays text for the OS to show"
        );
        assert_eq!(n[1].title, "Incident #3 assigned to you");
        assert_eq!(n[2].title, "2 new alerts on incident #5");
    }

    #[test]
    fn rules_per_profile_change_what_is_said() {
        let changes = [change(
            "2",
            ChangeKind::NewIncident,
            Severity::Medium,
            false,
            "",
        )];
        let medium = Rules {
            new_at_or_above: Some("medium".into()),
            ..Rules::default()
        };
        assert_eq!(notices("P", &changes, &medium).len(), 1);
        let off = Rules {
            enabled: false,
            ..medium.clone()
        };
        assert!(notices("P", &changes, &off).is_empty());
        let none = Rules {
            new_at_or_above: None,
            ..Rules::default()
        };
        assert!(notices("P", &changes, &none).is_empty());
        let mut settings = Notifications::default();
        settings.rules.insert("P".into(), medium.clone());
        assert_eq!(settings.rules_for("P"), medium);
        assert_eq!(settings.rules_for("Other"), Rules::default());
    }

    #[test]
    fn a_burst_becomes_one_summary() {
        let changes: Vec<Change> = (0..12)
            .map(|n| {
                change(
                    &n.to_string(),
                    ChangeKind::NewIncident,
                    Severity::High,
                    false,
                    "",
                )
            })
            .chain([change(
                "x",
                ChangeKind::NewAlerts,
                Severity::Low,
                true,
                "1 new alert",
            )])
            .collect();
        let n = notices("Contoso", &changes, &Rules::default());
        assert_eq!(n.len(), 1);
        assert_eq!(
            n[0].title,
            "Contoso: 12 new incidents, 1 change on your incidents"
        );
        assert_eq!(n[0].incident_id, None);
        let three = notices("Contoso", &changes[..3], &Rules::default());
        assert_eq!(three.len(), MAX_AT_ONCE, "a few are each said");
    }

    #[test]
    fn quiet_hours_span_midnight_in_local_time_and_a_pause_holds_until_it_ends() {
        // 22:00 to 07:00 at UTC+1.
        let quiet = QuietHours {
            from_minute: 22 * 60,
            to_minute: 7 * 60,
            utc_offset_minutes: 60,
        };
        assert!(
            quiet.contains(datetime!(2026-11-21 22:30 UTC)),
            "23:30 local"
        );
        assert!(
            quiet.contains(datetime!(2026-11-21 05:59 UTC)),
            "06:59 local"
        );
        assert!(
            !quiet.contains(datetime!(2026-11-21 06:00 UTC)),
            "07:00 local"
        );
        assert!(!quiet.contains(datetime!(2026-11-21 12:00 UTC)));
        let day = QuietHours {
            from_minute: 12 * 60,
            to_minute: 13 * 60,
            utc_offset_minutes: 0,
        };
        assert!(day.contains(datetime!(2026-11-21 12:30 UTC)));
        assert!(!day.contains(datetime!(2026-11-21 13:00 UTC)));
        let paused = Notifications {
            paused_until: Some(AT + time::Duration::hours(1)),
            ..Notifications::default()
        };
        assert!(paused.held(AT));
        assert!(!paused.held(AT + time::Duration::hours(2)));
        assert!(!Notifications::default().held(AT));
    }
}
