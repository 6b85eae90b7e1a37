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
