//! A busy tenant: with `SANDBOX_LIVE=N` the sandbox makes one change every N seconds, as other
//! analysts and the service do in a real tenant — a new incident, a new alert on an active one,
//! an incident reassigned, or one resolved. Each event moves the incident's `lastUpdate`, so an
//! incremental sync finds it, as it would in Graph. The events are seeded (`SANDBOX_SEED`), and
//! `POST /_sandbox/live` makes one now, of a kind the caller may choose.

use std::sync::Mutex;

use serde::Deserialize;
use time::OffsetDateTime;

use crate::data::{self, Comment, Incident, Rng};
use crate::store::{Change, Store};

/// What a live event does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Kind {
    NewIncident,
    NewAlert,
    Reassign,
    Resolve,
}

/// A request for one event; every field is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Request {
    pub kind: Option<Kind>,
    /// The incident to change (not for a new incident); else one is picked.
    pub id: Option<u64>,
    /// A new incident's severity.
    pub severity: Option<String>,
    /// Who a reassignment goes to; else another analyst.
    pub assign_to: Option<String>,
}

/// The analyst whose changes the events are: never the one signed in to the app.
pub const ANOTHER_ANALYST: &str = "soc-tier2@contoso-sandbox.test";

pub struct Live {
    rng: Mutex<Rng>,
}

impl Live {
    pub fn new(seed: u64) -> Self {
        Self {
            rng: Mutex::new(Rng::new(seed ^ 0x11FE)),
        }
    }

    /// Makes one event; returns the incident it touched, or why it could not.
    pub fn event(
        &self,
        store: &mut Store,
        req: Request,
        now: OffsetDateTime,
    ) -> Result<u64, String> {
        let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        let kind = req.kind.unwrap_or_else(|| {
            *rng.weighted(&[
                (3, Kind::NewIncident),
                (3, Kind::NewAlert),
                (2, Kind::Reassign),
                (2, Kind::Resolve),
            ])
        });
        if kind == Kind::NewIncident {
            let severity = req.severity.unwrap_or_else(|| {
                (*rng.weighted(&[(3, "high"), (4, "medium"), (3, "low")])).to_owned()
            });
            if !["high", "medium", "low", "informational"].contains(&severity.as_str()) {
                return Err(format!("unknown severity {severity:?}"));
            }
            let template = data::incidents(1, rng.next(), now).remove(0);
            let id = store.next_id();
            store.push(Incident {
                id,
                created: now,
                last_update: now,
                status: "active".into(),
                severity,
                assigned_to: None,
                classification: "unknown".into(),
                determination: "unknown".into(),
                comments: Vec::new(),
                ..template
            });
            return Ok(id);
        }
        // Changes go to an open incident: the one asked for, or one recently updated.
        let id = match req.id {
            Some(id) => id,
            None => {
                let open: Vec<u64> = store
                    .newest(200)
                    .filter(|i| i.status != "resolved" && i.status != "redirected")
                    .map(|i| i.id)
                    .collect();
                if open.is_empty() {
                    return Err("no open incident to change".into());
                }
                *rng.pick(&open)
            }
        };
        let Some(current) = store.get(id) else {
            return Err(format!("no incident {id}"));
        };
        let change = match kind {
            Kind::NewAlert => {
                store.add_alert(id, now);
                return Ok(id);
            }
            Kind::Reassign => {
                let to = req.assign_to.unwrap_or_else(|| {
                    let others: Vec<&str> = data::ANALYSTS
                        .iter()
                        .copied()
                        .filter(|a| Some(*a) != current.assigned_to.as_deref())
                        .collect();
                    (*rng.pick(&others)).to_owned()
                });
                Change {
                    assigned_to: Some(Some(to)),
                    status: (current.status == "active").then(|| "inProgress".to_owned()),
                    ..Change::default()
                }
            }
            Kind::Resolve => Change {
                status: Some("resolved".into()),
                classification: Some("falsePositive".into()),
                determination: Some("clean".into()),
                comment: Some(Comment {
                    comment: "Resolved: benign, confirmed with the device owner.".into(),
                    created_by: ANOTHER_ANALYST.into(),
                    created: now,
                }),
                ..Change::default()
            },
            Kind::NewIncident => return Err("a new incident changes no existing one".into()),
        };
        store.apply(id, change, now);
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-21 09:00 UTC);

    fn store() -> Store {
        Store::new(data::incidents(20, 7, datetime!(2026-11-20 00:00 UTC)))
    }

    #[test]
    fn each_kind_of_event_changes_the_tenant_and_moves_last_update() {
        let live = Live::new(1);
        let mut s = store();
        let id = live
            .event(
                &mut s,
                Request {
                    kind: Some(Kind::NewIncident),
                    severity: Some("high".into()),
                    ..Request::default()
                },
                NOW,
            )
            .unwrap();
        let new = s.get(id).unwrap();
        assert_eq!(
            (id, new.severity.as_str(), new.status.as_str()),
            (100_020, "high", "active")
        );
        assert_eq!(
            (new.created, new.last_update, new.assigned_to.clone()),
            (NOW, NOW, None)
        );

        let open = s
            .incidents
            .iter()
            .find(|i| i.status == "active")
            .unwrap()
            .id;
        let later = NOW + time::Duration::minutes(1);
        let alerts = s.get(open).unwrap().alert_count;
        live.event(
            &mut s,
            Request {
                kind: Some(Kind::NewAlert),
                id: Some(open),
                ..Request::default()
            },
            later,
        )
        .unwrap();
        assert_eq!(s.get(open).unwrap().alert_count, alerts + 1);
        assert_eq!(s.get(open).unwrap().last_update, later);

        live.event(
            &mut s,
            Request {
                kind: Some(Kind::Reassign),
                id: Some(open),
                assign_to: Some("bob@contoso-sandbox.test".into()),
                ..Request::default()
            },
            later,
        )
        .unwrap();
        let taken = s.get(open).unwrap();
        assert_eq!(
            taken.assigned_to.as_deref(),
            Some("bob@contoso-sandbox.test")
        );
        assert_eq!(taken.status, "inProgress");

        live.event(
            &mut s,
            Request {
                kind: Some(Kind::Resolve),
                id: Some(open),
                ..Request::default()
            },
            later,
        )
        .unwrap();
        let done = s.get(open).unwrap();
        assert_eq!(
            (done.status.as_str(), done.classification.as_str()),
            ("resolved", "falsePositive")
        );
        assert_eq!(done.comments.last().unwrap().created_by, ANOTHER_ANALYST);
    }

    #[test]
    fn bad_requests_say_why_and_change_nothing() {
        let live = Live::new(1);
        let mut s = store();
        let before = s.incidents.len();
        let err = live
            .event(
                &mut s,
                Request {
                    kind: Some(Kind::NewIncident),
                    severity: Some("huge".into()),
                    ..Request::default()
                },
                NOW,
            )
            .unwrap_err();
        assert!(err.contains("severity"), "{err}");
        let err = live
            .event(
                &mut s,
                Request {
                    kind: Some(Kind::Resolve),
                    id: Some(1),
                    ..Request::default()
                },
                NOW,
            )
            .unwrap_err();
        assert!(err.contains("no incident 1"), "{err}");
        assert_eq!(s.incidents.len(), before);
    }

    #[test]
    fn random_events_are_seeded() {
        let run = || {
            let live = Live::new(3);
            let mut s = store();
            (0..10)
                .map(|_| live.event(&mut s, Request::default(), NOW).unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(run(), run());
    }
}
