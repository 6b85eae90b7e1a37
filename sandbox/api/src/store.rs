//! The sandbox tenant's incidents in memory, with indexes sorted by date, and the writes analysts
//! make (which move an incident's `lastUpdate` and so its place in the index).

use time::OffsetDateTime;

use crate::data::{Comment, Incident};

/// The dates the store keeps an index by (the ones `$orderby` and `$filter` ranges use).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    LastUpdate,
    Created,
}

pub fn sort_value(i: &Incident, key: SortKey) -> OffsetDateTime {
    match key {
        SortKey::LastUpdate => i.last_update,
        SortKey::Created => i.created,
    }
}

pub struct Store {
    pub incidents: Vec<Incident>,
    by_update: Vec<usize>,
    by_created: Vec<usize>,
}

/// One analyst's change to an incident, in Graph's spelling (the Defender handler translates).
#[derive(Debug, Default)]
pub struct Change {
    pub status: Option<String>,
    pub assigned_to: Option<Option<String>>,
    pub classification: Option<String>,
    pub determination: Option<String>,
    pub tags: Option<Vec<String>>,
    pub comment: Option<Comment>,
}

impl Store {
    pub fn new(incidents: Vec<Incident>) -> Self {
        let mut s = Self {
            incidents,
            by_update: Vec::new(),
            by_created: Vec::new(),
        };
        s.reindex();
        s
    }

    fn reindex(&mut self) {
        let sorted = |key: SortKey, incidents: &[Incident]| {
            let mut idx: Vec<usize> = (0..incidents.len()).collect();
            idx.sort_by_key(|&i| (sort_value(&incidents[i], key), incidents[i].id));
            idx
        };
        self.by_update = sorted(SortKey::LastUpdate, &self.incidents);
        self.by_created = sorted(SortKey::Created, &self.incidents);
    }

    pub fn index(&self, key: SortKey) -> &[usize] {
        match key {
            SortKey::LastUpdate => &self.by_update,
            SortKey::Created => &self.by_created,
        }
    }

    pub fn get(&self, id: u64) -> Option<&Incident> {
        let pos = id.checked_sub(100_000)? as usize;
        self.incidents.get(pos).filter(|i| i.id == id)
    }

    /// The id a new incident gets (ids are 100,000 and up, one per position).
    pub fn next_id(&self) -> u64 {
        100_000 + self.incidents.len() as u64
    }

    /// A new incident (a live event), with `next_id()` as its id.
    pub fn push(&mut self, incident: Incident) {
        debug_assert_eq!(incident.id, self.next_id());
        self.incidents.push(incident);
        self.reindex();
    }

    /// The `n` most recently updated incidents, newest first.
    pub fn newest(&self, n: usize) -> impl Iterator<Item = &Incident> {
        self.by_update
            .iter()
            .rev()
            .take(n)
            .map(|&i| &self.incidents[i])
    }

    /// One more alert on an incident (a live event): its alerts are derived from its seed, so
    /// the earlier ones stay as they were.
    pub fn add_alert(&mut self, id: u64, now: OffsetDateTime) -> Option<&Incident> {
        let pos = id.checked_sub(100_000)? as usize;
        let inc = self.incidents.get_mut(pos).filter(|i| i.id == id)?;
        inc.alert_count = inc.alert_count.saturating_add(1);
        inc.last_update = now.max(inc.last_update + time::Duration::milliseconds(1));
        self.reindex();
        self.incidents.get(pos)
    }

    /// Applies a change; `now` becomes the incident's lastUpdate.
    pub fn apply(&mut self, id: u64, change: Change, now: OffsetDateTime) -> Option<&Incident> {
        let pos = id.checked_sub(100_000)? as usize;
        let inc = self.incidents.get_mut(pos).filter(|i| i.id == id)?;
        if let Some(s) = change.status {
            inc.status = s;
        }
        if let Some(a) = change.assigned_to {
            inc.assigned_to = a;
        }
        if let Some(c) = change.classification {
            inc.classification = c;
        }
        if let Some(d) = change.determination {
            inc.determination = d;
        }
        if let Some(t) = change.tags {
            inc.tags = t;
        }
        if let Some(c) = change.comment {
            inc.comments.push(c);
        }
        inc.last_update = now.max(inc.last_update + time::Duration::milliseconds(1));
        self.reindex();
        self.incidents.get(pos)
    }
}
