//! The queue as a view over the store: the window asks for what it shows (the count, the rows of
//! the visible window for a filter, search and sort, the facets of the filter menus, the overview's
//! aggregates) and never holds the whole list.
//!
//! The answers come from an in-memory index fed from the store, built once per profile and run
//! and kept current by the syncs and writes that change the store. Measured at 100,000 incidents
//! (`make bench`), a filtered, sorted window from the index takes about a millisecond, where the
//! same query in SQLCipher scans and decrypts every page of the table; sorted orders are kept
//! until the data changes, so a keystroke is one pass over a sorted list of row numbers. The index
//! holds columns, not incidents: it answers a window's row IDs (`Window`), and the desk reads those
//! rows from the store.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::incidents::model::{Incident, Severity, Status};

/// Who an incident is assigned to, as the queue filters it.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, specta::Type,
)]
#[serde(rename_all = "camelCase")]
pub enum Assignment {
    #[default]
    Any,
    /// Assigned to the signed-in analyst.
    Mine,
    Unassigned,
}

/// The queue's filter. Empty lists and strings mean "any".
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase", default)]
pub struct QueueFilter {
    /// Status wire values (`active`, `inProgress`, ... or one this build does not know).
    pub statuses: Vec<String>,
    /// Merged incidents (status `redirected`) are left out unless this is set (or `statuses`
    /// names `redirected`).
    pub show_merged: bool,
    pub severities: Vec<String>,
    pub assignment: Assignment,
    /// Only incidents updated within this many hours.
    pub updated_within_hours: Option<u32>,
    /// One of the analysts' tags, without regard to case.
    pub tag: String,
    /// One service source, exactly.
    pub source: String,
    /// Words the ID, name, assignee, tags or the entities of its stored details (device, user,
    /// IP, file hash or name, URL, mailbox) contain, without regard to case.
    pub search: String,
}

#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, specta::Type,
)]
#[serde(rename_all = "camelCase")]
pub enum SortKey {
    Severity,
    Id,
    DisplayName,
    Status,
    AssignedTo,
    #[default]
    LastUpdate,
    Created,
    AlertCount,
    /// Microsoft's priority score, where the API returns one.
    Priority,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct QueueSort {
    pub key: SortKey,
    pub desc: bool,
}

impl Default for QueueSort {
    fn default() -> Self {
        Self {
            key: SortKey::LastUpdate,
            desc: true,
        }
    }
}

/// What the window asks for: a filter, a sort, and the rows `[offset, offset + limit)` of the
/// result.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase", default)]
pub struct QueueQuery {
    pub filter: QueueFilter,
    pub sort: QueueSort,
    pub offset: u32,
    pub limit: u32,
    /// The signed-in analyst, for "assigned to me".
    pub me: Option<String>,
    /// Every signed-in profile's queue in one (many customer tenants), each row naming its
    /// profile (`QueuePage::profiles`).
    pub all_profiles: bool,
}

impl QueueQuery {
    /// A query the store's own indexes answer without the queue's index: no words, tag or
    /// source, in the default order (the newest update first). The app's first window is one.
    pub fn simple(&self) -> bool {
        !self.all_profiles
            && self.filter.search.trim().is_empty()
            && self.filter.tag.is_empty()
            && self.filter.source.is_empty()
            && self.sort == QueueSort::default()
    }
}

/// At most this many rows per answer: a window, never the list.
pub const MAX_WINDOW: u32 = 500;

/// One answer.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct QueuePage {
    /// Incidents in the store, merged ones left out.
    pub total: u32,
    /// Incidents that match the filter.
    pub matched: u32,
    /// Where `rows` starts in the result.
    pub offset: u32,
    pub rows: Vec<Incident>,
    /// Every analysts' tag and service source in the store, sorted, for the filter menus.
    pub tags: Vec<String>,
    pub sources: Vec<String>,
    /// Changes whenever the store's incidents change: a window holding rows of an older
    /// generation asks again.
    pub generation: u32,
    /// In an all-profiles answer, the profile of each row, in the rows' order; empty otherwise.
    pub profiles: Vec<String>,
}

/// An incident of a view, as shown: its ID and `lastUpdate` (for a selection's conflict check).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Shown {
    pub id: String,
    #[serde(with = "time::serde::rfc3339::option")]
    #[specta(type = Option<String>)]
    pub last_update: Option<OffsetDateTime>,
}

/// A count per value, in the order shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Count {
    pub key: String,
    pub n: u32,
}

/// The overview's aggregates over every stored incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Overview {
    pub total: u32,
    /// high, medium, low, informational, in that order.
    pub by_severity: Vec<Count>,
    /// active, in progress, resolved, in that order.
    pub by_status: Vec<Count>,
    /// New incidents per day (UTC, `YYYY-MM-DD`), the last 30 days, oldest first.
    pub per_day: Vec<Count>,
}

/// What the triage form suggests, from the store.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Suggestions {
    /// Assignees of the most recently updated incidents first (at most `SUGGESTED`).
    pub assignees: Vec<String>,
    /// Every analysts' tag in the store, sorted.
    pub tags: Vec<String>,
}

/// Assignees suggested, at most.
const SUGGESTED: usize = 20;

/// Strings stored once, numbered: filters compare numbers, not text. Each string also knows the
/// number of its lowercased form, for the filters that ignore case.
#[derive(Default)]
struct Interner {
    ids: HashMap<Box<str>, u32>,
    /// By number - 1: the string, and the number of its lowercased form.
    names: Vec<(Box<str>, u32)>,
}

impl Interner {
    /// The number of `s`; 0 is never given (it means "none").
    fn id(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let lower = lowercase(s);
        let lower = if lower == s {
            None
        } else if let Some(&id) = self.ids.get(lower.as_str()) {
            Some(id)
        } else {
            Some(self.insert(&lower, None))
        };
        self.insert(s, lower)
    }

    fn insert(&mut self, s: &str, lower: Option<u32>) -> u32 {
        let id = count(self.names.len() + 1);
        self.names.push((s.into(), lower.unwrap_or(id)));
        self.ids.insert(s.into(), id);
        id
    }

    fn get(&self, s: &str) -> Option<u32> {
        self.ids.get(s).copied()
    }

    /// The string numbered `id`; empty for 0.
    fn name(&self, id: u32) -> &str {
        self.entry(id).map_or("", |(s, _)| s)
    }

    /// The number of `id`'s lowercased form; 0 for 0.
    fn lower(&self, id: u32) -> u32 {
        self.entry(id).map_or(0, |&(_, l)| l)
    }

    fn entry(&self, id: u32) -> Option<&(Box<str>, u32)> {
        id.checked_sub(1).and_then(|k| self.names.get(k as usize))
    }
}

/// Lists of numbered strings (a row's tags, its service sources), each stored once and numbered:
/// rows share a few combinations, and a number per row costs 4 bytes where a list costs 40.
struct Sets {
    lists: Vec<Box<[u32]>>,
    ids: HashMap<Box<[u32]>, u32>,
}

impl Default for Sets {
    fn default() -> Self {
        Self {
            lists: vec![Box::default()],
            ids: HashMap::from([(Box::default(), 0)]),
        }
    }
}

impl Sets {
    /// The number of `list`; 0 for the empty one.
    fn id(&mut self, list: Vec<u32>) -> u32 {
        if list.is_empty() {
            return 0;
        }
        if let Some(&id) = self.ids.get(list.as_slice()) {
            return id;
        }
        let id = count(self.lists.len());
        let list = list.into_boxed_slice();
        self.lists.push(list.clone());
        self.ids.insert(list, id);
        id
    }

    fn get(&self, id: u32) -> &[u32] {
        self.lists.get(id as usize).map_or(&[], |l| l)
    }
}

/// Appends `s` lowercased, as `char::to_lowercase` does it; ASCII (nearly all of it) in one copy.
fn push_lower(text: &mut String, s: &str) {
    if s.is_ascii() {
        let start = text.len();
        text.push_str(s);
        text[start..].make_ascii_lowercase();
    } else {
        text.extend(s.chars().flat_map(char::to_lowercase));
    }
}

/// `s` lowercased, as the search text and the case-blind filters compare it.
fn lowercase(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    push_lower(&mut out, s);
    out
}

/// Where one row's search text sits in the shared text.
#[derive(Clone, Copy)]
struct Segment {
    start: u32,
    /// The row it belongs to, or `DEAD` for text an upsert replaced.
    row: u32,
}

const DEAD: u32 = u32::MAX;

/// What the queue looks at, one column per field, in row order: a filter pass reads a few bytes
/// per row, and the index holds no incident (a window's rows are read from the store).
#[derive(Default)]
struct Columns {
    status: Vec<u32>,
    severity: Vec<u32>,
    /// The assignee as written, 0 for none (`words.lower` gives its lowercased form).
    assignee: Vec<u32>,
    /// Unix nanoseconds (exact: a selection's conflict check compares them), `i64::MIN` for none.
    updated: Vec<i64>,
    created: Vec<i64>,
    alerts: Vec<Option<u32>>,
    priority: Vec<Option<u32>>,
    /// Tags as written, as a number of `sets`.
    tags: Vec<u32>,
    sources: Vec<u32>,
    sets: Sets,
    /// Every row's lowercased search text: its ID and name on the first two lines, then the
    /// entities its details name, its assignee and tags, one per line, and a NUL; one scan finds
    /// a word in every row, and a word never spans two rows.
    text: String,
    /// The rows' texts in `text` order (by start).
    segments: Vec<Segment>,
    /// Where each row's text starts.
    at: Vec<u32>,
    /// Bytes of `text` that belong to no row any more.
    dead: usize,
    words: Interner,
}

/// What the index reads of one incident: from an `Incident`, or from a stored one without making
/// an `Incident` of it (`Cache::queue_index`).
pub struct Fields<'a> {
    pub id: &'a str,
    pub name: &'a str,
    /// Wire values (`Severity::as_str`, `Status::as_str`).
    pub severity: &'a str,
    pub status: &'a str,
    pub assignee: Option<&'a str>,
    pub created: Option<OffsetDateTime>,
    pub updated: Option<OffsetDateTime>,
    pub alerts: Option<u32>,
    pub priority: Option<u32>,
    pub tags: Vec<&'a str>,
    pub sources: Vec<&'a str>,
}

impl<'a> From<&'a Incident> for Fields<'a> {
    fn from(i: &'a Incident) -> Self {
        Self {
            id: &i.id,
            name: &i.display_name,
            severity: i.severity.as_str(),
            status: i.status.as_str(),
            assignee: i.assigned_to.as_deref(),
            created: i.created,
            updated: i.last_update,
            alerts: i.alert_count,
            priority: i.priority_score,
            tags: i.tags.iter().map(String::as_str).collect(),
            sources: i.service_sources.iter().map(String::as_str).collect(),
        }
    }
}

/// One row's values for the columns.
struct Values {
    status: u32,
    severity: u32,
    assignee: u32,
    updated: i64,
    created: i64,
    alerts: Option<u32>,
    priority: Option<u32>,
    tags: u32,
    sources: u32,
}

/// A time as the index keeps it: Unix nanoseconds, `i64::MIN` for none, `i64::MAX` past the
/// range (the store's queue rows keep it the same way).
pub(crate) fn nanos(t: Option<OffsetDateTime>) -> i64 {
    t.map_or(i64::MIN, |t| {
        i64::try_from(t.unix_timestamp_nanos()).unwrap_or(i64::MAX)
    })
}

pub(crate) fn time_of(n: i64) -> Option<OffsetDateTime> {
    (n != i64::MIN)
        .then(|| OffsetDateTime::from_unix_timestamp_nanos(n.into()).ok())
        .flatten()
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl Columns {
    /// Appends row `row`'s search text (see `text`); `rest` is its assignee and tags.
    fn push_text<'a>(
        &mut self,
        row: u32,
        id: &str,
        name: &str,
        entities: &[String],
        rest: impl IntoIterator<Item = &'a str>,
    ) {
        let start = count(self.text.len());
        let parts = [id, name]
            .into_iter()
            .chain(entities.iter().map(String::as_str));
        for part in parts.chain(rest.into_iter().map(|s| -> &str { s })) {
            // A line break or NUL inside a value would split it, or end the row's text early.
            if part.contains(['\n', '\0']) {
                push_lower(&mut self.text, &part.replace(['\n', '\0'], " "));
            } else {
                push_lower(&mut self.text, part);
            }
            self.text.push('\n');
        }
        self.text.push('\0');
        self.segments.push(Segment { start, row });
        match self.at.get_mut(row as usize) {
            Some(at) => *at = start,
            None => self.at.push(start),
        }
    }

    /// Row `n`'s text, without its NUL.
    fn text_of(&self, n: usize) -> &str {
        let start = self.at[n] as usize;
        let rest = &self.text[start..];
        memchr::memchr(0, rest.as_bytes()).map_or(rest, |end| &rest[..end])
    }

    /// Row `n`'s lowercased name: its text's second line.
    fn name_key(&self, n: usize) -> &str {
        let mut lines = self.text_of(n).split('\n');
        lines.next();
        lines.next().unwrap_or("")
    }

    /// Leaves row `n`'s text in place, unowned, until `compact`.
    fn drop_text(&mut self, n: usize) {
        let start = self.at[n];
        let len = self.text_of(n).len() + 1;
        if let Ok(k) = self.segments.binary_search_by_key(&start, |s| s.start) {
            self.segments[k].row = DEAD;
            self.dead += len;
        }
    }

    /// The text again without the unowned parts.
    fn with_capacity(rows: usize) -> Self {
        Self {
            status: Vec::with_capacity(rows),
            severity: Vec::with_capacity(rows),
            assignee: Vec::with_capacity(rows),
            updated: Vec::with_capacity(rows),
            created: Vec::with_capacity(rows),
            alerts: Vec::with_capacity(rows),
            priority: Vec::with_capacity(rows),
            tags: Vec::with_capacity(rows),
            sources: Vec::with_capacity(rows),
            segments: Vec::with_capacity(rows),
            at: Vec::with_capacity(rows),
            ..Self::default()
        }
    }

    fn compact(&mut self) {
        let mut text = String::with_capacity(self.text.len() - self.dead);
        let mut segments = Vec::with_capacity(self.at.len());
        for n in 0..self.at.len() {
            let start = count(text.len());
            text.push_str(self.text_of(n));
            text.push('\0');
            segments.push(Segment {
                start,
                row: count(n),
            });
        }
        for (at, s) in self.at.iter_mut().zip(&segments) {
            *at = s.start;
        }
        self.text = text;
        self.segments = segments;
        self.dead = 0;
    }

    fn values(&mut self, i: &Fields<'_>) -> Values {
        let w = &mut self.words;
        Values {
            status: w.id(i.status),
            severity: w.id(i.severity),
            assignee: i.assignee.map_or(0, |a| w.id(a)),
            updated: nanos(i.updated),
            created: nanos(i.created),
            alerts: i.alerts,
            priority: i.priority,
            tags: self.sets.id(i.tags.iter().map(|t| w.id(t)).collect()),
            sources: self.sets.id(i.sources.iter().map(|s| w.id(s)).collect()),
        }
    }

    /// An incident's assignee and tags, the end of its search text.
    fn rest<'a>(i: &'a Fields<'_>) -> impl Iterator<Item = &'a str> {
        i.assignee.into_iter().chain(i.tags.iter().copied())
    }

    fn push(&mut self, i: &Fields<'_>, entities: &[String]) {
        let row = count(self.status.len());
        let v = self.values(i);
        self.status.push(v.status);
        self.severity.push(v.severity);
        self.assignee.push(v.assignee);
        self.updated.push(v.updated);
        self.created.push(v.created);
        self.alerts.push(v.alerts);
        self.priority.push(v.priority);
        self.tags.push(v.tags);
        self.sources.push(v.sources);
        self.push_text(row, i.id, i.name, entities, Self::rest(i));
    }

    /// Replaces row `row`'s values; its old text stays in place, unowned, until `compact`.
    fn replace(&mut self, row: u32, i: &Fields<'_>, entities: &[String]) {
        let n = row as usize;
        let v = self.values(i);
        self.status[n] = v.status;
        self.severity[n] = v.severity;
        self.assignee[n] = v.assignee;
        self.updated[n] = v.updated;
        self.created[n] = v.created;
        self.alerts[n] = v.alerts;
        self.priority[n] = v.priority;
        self.tags[n] = v.tags;
        self.sources[n] = v.sources;
        self.drop_text(n);
        self.push_text(row, i.id, i.name, entities, Self::rest(i));
    }

    /// Row `row`'s text again with other entities: its ID and name from its text, its assignee
    /// and tags from the columns.
    fn retext(&mut self, row: u32, entities: &[String]) {
        let n = row as usize;
        let mut lines = self.text_of(n).split('\n');
        let id = lines.next().unwrap_or("").to_owned();
        let name = lines.next().unwrap_or("").to_owned();
        let w = &self.words;
        let rest: Vec<String> = (self.assignee[n] != 0)
            .then_some(self.assignee[n])
            .into_iter()
            .chain(self.sets.get(self.tags[n]).iter().copied())
            .map(|id| w.name(w.lower(id)).to_owned())
            .collect();
        self.drop_text(n);
        self.push_text(row, &id, &name, entities, rest.iter().map(String::as_str));
    }

    /// The rows whose text contains `word`, as a bit set: one scan of the shared text, jumping
    /// to the next row after each hit.
    fn containing(&self, word: &str, rows: usize) -> Vec<u64> {
        let mut hits = vec![0u64; rows.div_ceil(64)];
        let finder = memchr::memmem::Finder::new(word.as_bytes());
        let text = self.text.as_bytes();
        let mut at = 0usize;
        let mut seg = 0usize;
        while let Some(found) = finder.find(&text[at..]) {
            let pos = at + found;
            // The segment holding `pos`: the cursor only moves forward.
            while seg + 1 < self.segments.len() && self.segments[seg + 1].start as usize <= pos {
                seg += 1;
            }
            let s = self.segments[seg];
            if s.row != DEAD {
                hits[s.row as usize / 64] |= 1 << (s.row % 64);
            }
            at = self
                .segments
                .get(seg + 1)
                .map_or(text.len(), |next| next.start as usize);
            if at >= text.len() {
                break;
            }
        }
        hits
    }
}

/// The filter made ready to test rows against: its values as the columns' numbers.
struct Matcher {
    /// `None`: any. An empty list: a value no row has, so nothing matches.
    statuses: Option<Vec<u32>>,
    /// `redirected`'s number (0 when no row has it): left out unless asked for.
    merged: u32,
    show_merged: bool,
    severities: Option<Vec<u32>>,
    assignment: Assignment,
    me: u32,
    since: Option<i64>,
    tag: Option<u32>,
    source: Option<u32>,
    /// Rows holding every word, when there are words.
    words: Option<Vec<u64>>,
}

impl Matcher {
    fn new(x: &QueueIndex, filter: &QueueFilter, me: Option<&str>, now: OffsetDateTime) -> Self {
        let w = &x.columns.words;
        let set = |values: &[String]| {
            (!values.is_empty()).then(|| values.iter().filter_map(|v| w.get(v)).collect())
        };
        let one = |v: &str| -> Option<u32> { (!v.is_empty()).then(|| w.get(v).unwrap_or(0)) };
        let words: Vec<String> = filter
            .search
            .split_whitespace()
            .map(|s| {
                s.chars()
                    .filter(|c| !c.is_control())
                    .flat_map(char::to_lowercase)
                    .collect()
            })
            .filter(|s: &String| !s.is_empty())
            .collect();
        let words = (!words.is_empty()).then(|| {
            let mut all = x.columns.containing(&words[0], x.len());
            for word in &words[1..] {
                for (a, b) in all.iter_mut().zip(x.columns.containing(word, x.len())) {
                    *a &= b;
                }
            }
            all
        });
        Self {
            statuses: set(&filter.statuses),
            merged: w.get(Status::Redirected.as_str()).unwrap_or(0),
            show_merged: filter.show_merged
                || filter
                    .statuses
                    .iter()
                    .any(|s| s == Status::Redirected.as_str()),
            severities: set(&filter.severities),
            assignment: filter.assignment,
            me: me.map_or(0, |m| w.get(&lowercase(m)).unwrap_or(0)),
            since: filter
                .updated_within_hours
                .map(|h| nanos(Some(now)).saturating_sub(i64::from(h) * 3_600_000_000_000)),
            tag: one(&lowercase(&filter.tag)),
            source: one(&filter.source),
            words,
        }
    }

    fn matches(&self, c: &Columns, row: u32) -> bool {
        let n = row as usize;
        let merged = self.merged != 0 && c.status[n] == self.merged;
        if merged {
            if !self.show_merged {
                return false;
            }
        } else if self
            .statuses
            .as_ref()
            .is_some_and(|s| !s.contains(&c.status[n]))
        {
            return false;
        }
        if let Some(s) = &self.severities {
            if !s.contains(&c.severity[n]) {
                return false;
            }
        }
        match self.assignment {
            Assignment::Any => {}
            Assignment::Unassigned => {
                if c.assignee[n] != 0 {
                    return false;
                }
            }
            Assignment::Mine => {
                if self.me == 0 || c.words.lower(c.assignee[n]) != self.me {
                    return false;
                }
            }
        }
        if self.since.is_some_and(|since| c.updated[n] < since) {
            return false;
        }
        if self
            .tag
            .is_some_and(|t| !c.sets.get(c.tags[n]).iter().any(|&v| c.words.lower(v) == t))
        {
            return false;
        }
        if self
            .source
            .is_some_and(|s| !c.sets.get(c.sources[n]).contains(&s))
        {
            return false;
        }
        self.words
            .as_ref()
            .is_none_or(|w| w[n / 64] & (1 << (row % 64)) != 0)
    }
}

/// Every row's incident ID, and the row of each ID. The IDs sit end to end in one string and the
/// table from ID to row holds row numbers only, hashing the IDs where they sit: an `Arc<str>` per
/// row and a map keyed by it took some 70 bytes a row beyond the ID, this takes about 10. A
/// listing's set of the IDs it has seen is one too (`insert`): no string of its own per ID.
#[derive(Default)]
pub(crate) struct Ids {
    text: IdText,
    rows: hashbrown::HashTable<u32>,
}

/// The IDs end to end, and how the table hashes them.
#[derive(Default)]
struct IdText {
    text: String,
    /// Where each row's ID ends in `text`.
    ends: Vec<u32>,
    /// foldhash, seeded per process.
    hasher: hashbrown::DefaultHashBuilder,
}

impl IdText {
    /// Row `n`'s ID.
    fn get(&self, n: usize) -> &str {
        let start = n.checked_sub(1).map_or(0, |m| self.ends[m] as usize);
        &self.text[start..self.ends[n] as usize]
    }

    fn hash(&self, id: &str) -> u64 {
        self.hasher.hash_one(id)
    }

    /// The hash of row `n`'s ID, as the table asks when it grows or shrinks.
    fn hash_row(&self, n: u32) -> u64 {
        self.hash(self.get(n as usize))
    }
}

impl Ids {
    fn with_capacity(rows: usize) -> Self {
        Self {
            text: IdText {
                ends: Vec::with_capacity(rows),
                ..IdText::default()
            },
            rows: hashbrown::HashTable::with_capacity(rows),
        }
    }

    fn len(&self) -> usize {
        self.text.ends.len()
    }

    /// Row `n`'s ID.
    fn get(&self, n: usize) -> &str {
        self.text.get(n)
    }

    /// The row of `id`.
    fn find(&self, id: &str) -> Option<u32> {
        self.rows
            .find(self.text.hash(id), |&n| self.text.get(n as usize) == id)
            .copied()
    }

    /// Adds a row for `id`; an ID already held now names the new row.
    fn push(&mut self, id: &str) {
        self.add(id, true);
    }

    /// Adds `id` unless it is held already; whether it was added.
    pub(crate) fn insert(&mut self, id: &str) -> bool {
        self.add(id, false)
    }

    /// Adds a row for `id`, unless it is held and not to be added `again` (then `false`); an ID
    /// added again names the new row.
    fn add(&mut self, id: &str, again: bool) -> bool {
        let n = count(self.len());
        let ids = &self.text;
        match self.rows.entry(
            ids.hash(id),
            |&m| ids.get(m as usize) == id,
            |&m| ids.hash_row(m),
        ) {
            hashbrown::hash_table::Entry::Occupied(_) if !again => return false,
            hashbrown::hash_table::Entry::Occupied(mut e) => *e.get_mut() = n,
            hashbrown::hash_table::Entry::Vacant(e) => {
                e.insert(n);
            }
        }
        self.text.text.push_str(id);
        self.text.ends.push(count(self.text.text.len()));
        true
    }

    fn shrink_to_fit(&mut self) {
        let ids = &self.text;
        self.rows.shrink_to_fit(|&m| ids.hash_row(m));
        self.text.text.shrink_to_fit();
        self.text.ends.shrink_to_fit();
    }
}

/// The queue's index over one profile's stored incidents: columns of what the queue filters,
/// sorts and counts by, not the incidents (a window's rows are read from the store by ID).
pub struct QueueIndex {
    /// Each row's incident ID, and each ID's row.
    ids: Ids,
    /// The entities each incident's stored details name (device, user, IP, hash, URL, mailbox),
    /// lowercased: a search finds incidents by them.
    entities: HashMap<String, Vec<String>>,
    columns: Columns,
    tags: Vec<String>,
    sources: Vec<String>,
    /// Rows merged into another incident (status `redirected`).
    merged: usize,
    generation: u32,
    /// Row numbers in each sort order asked for so far, until the data changes.
    orders: Mutex<HashMap<QueueSort, Arc<Vec<u32>>>>,
}

/// An answer whose rows are still to be read: the page (its `rows` empty) and the IDs of its
/// rows, in order. The store holds the incidents; `Desk` reads them (`Cache::incidents`).
#[derive(Debug, Clone)]
pub struct Window {
    pub page: QueuePage,
    pub ids: Vec<String>,
}

/// A row's key in one sort order: a number, a lowercased text, or an ID (numbers first).
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum Key<'a> {
    Number(i64),
    Text(&'a str),
    Id(u64, &'a str),
}

impl QueueIndex {
    pub fn new(incidents: &[Incident], generation: u32) -> Self {
        Self::with_entities(incidents, HashMap::new(), generation)
    }

    /// An index whose search also finds incidents by the entities their details name.
    pub fn with_entities(
        incidents: &[Incident],
        entities: HashMap<String, Vec<String>>,
        generation: u32,
    ) -> Self {
        let mut index = Self::filling(entities, generation, incidents.len());
        for i in incidents {
            index.push(i);
        }
        index.finish()
    }

    /// An empty index to fill row by row (`push`) and then `finish`: the store's rows are
    /// indexed as they are read. Room for `rows` is made at once, so the columns are not
    /// copied as they grow.
    pub fn filling(entities: HashMap<String, Vec<String>>, generation: u32, rows: usize) -> Self {
        Self {
            ids: Ids::with_capacity(rows),
            entities,
            columns: Columns::with_capacity(rows),
            tags: Vec::new(),
            sources: Vec::new(),
            merged: 0,
            generation,
            orders: Mutex::default(),
        }
    }

    /// Adds an incident the index does not hold yet, while filling.
    pub fn push(&mut self, incident: &Incident) {
        self.push_fields(&Fields::from(incident));
    }

    /// Adds an incident the index does not hold yet, while filling, from what the index reads.
    pub fn push_fields(&mut self, incident: &Fields<'_>) {
        let entities = self
            .entities
            .get(incident.id)
            .map_or(&[][..], Vec::as_slice);
        self.columns.push(incident, entities);
        self.ids.push(incident.id);
    }

    /// The filled index, with its filter menus' facets, and no spare room.
    pub fn finish(mut self) -> Self {
        let c = &mut self.columns;
        c.status.shrink_to_fit();
        c.severity.shrink_to_fit();
        c.assignee.shrink_to_fit();
        c.updated.shrink_to_fit();
        c.created.shrink_to_fit();
        c.alerts.shrink_to_fit();
        c.priority.shrink_to_fit();
        c.tags.shrink_to_fit();
        c.sources.shrink_to_fit();
        c.text.shrink_to_fit();
        c.segments.shrink_to_fit();
        c.at.shrink_to_fit();
        self.ids.shrink_to_fit();
        self.facets();
        self
    }

    fn facets(&mut self) {
        let c = &self.columns;
        let used = |column: &[u32]| -> Vec<String> {
            let lists: BTreeSet<u32> = column.iter().copied().collect();
            let ids: BTreeSet<u32> = lists
                .into_iter()
                .flat_map(|l| c.sets.get(l).iter().copied())
                .collect();
            let names: BTreeSet<&str> = ids.into_iter().map(|id| c.words.name(id)).collect();
            names.into_iter().map(str::to_owned).collect()
        };
        self.tags = used(&c.tags);
        self.sources = used(&c.sources);
        let merged = c.words.get(Status::Redirected.as_str()).unwrap_or(0);
        self.merged = if merged == 0 {
            0
        } else {
            c.status.iter().filter(|&&s| s == merged).count()
        };
        self.orders
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// How many incidents the queue counts: every row but the merged ones.
    pub fn shown_total(&self) -> usize {
        self.ids.len() - self.merged
    }

    pub fn is_empty(&self) -> bool {
        self.ids.len() == 0
    }

    pub fn generation(&self) -> u32 {
        self.generation
    }

    /// Whether the index holds incident `id`.
    pub fn contains(&self, id: &str) -> bool {
        self.ids.find(id).is_some()
    }

    /// An incident written by this app (a triage change): its row replaced or added at once.
    /// `generation` is the index's new one: the owner numbers every index and change, so no two
    /// states of the queue share a number.
    pub fn upsert(&mut self, incident: &Incident, generation: u32) {
        self.upsert_all(std::slice::from_ref(incident), generation);
    }

    /// `upsert` for several incidents (a sync's few changes), the facets and orders done once.
    pub fn upsert_all(&mut self, incidents: &[Incident], generation: u32) {
        for incident in incidents {
            let entities = self
                .entities
                .get(&incident.id)
                .map_or(&[][..], Vec::as_slice);
            let fields = Fields::from(incident);
            match self.ids.find(&incident.id) {
                Some(n) => self.columns.replace(n, &fields, entities),
                None => self.push_fields(&fields),
            }
        }
        self.changed(generation);
    }

    /// After a row changed: its new generation, the text compacted when a quarter of it is
    /// unowned, and the facets and orders again.
    fn changed(&mut self, generation: u32) {
        self.generation = generation;
        if self.columns.dead > self.columns.text.len() / 4 {
            self.columns.compact();
        }
        self.facets();
    }

    /// The entities an incident's details name, as they were just stored: its search text
    /// follows at once. `generation` as for `upsert`.
    pub fn set_entities(&mut self, id: &str, entities: Vec<String>, generation: u32) {
        if self.entities.get(id) == Some(&entities) {
            return;
        }
        if let Some(n) = self.ids.find(id) {
            self.columns.retext(n, &entities);
            self.entities.insert(id.to_owned(), entities);
            self.changed(generation);
        } else {
            self.entities.insert(id.to_owned(), entities);
        }
    }

    /// Row `n`'s key in order `key`.
    fn key(&self, key: SortKey, n: usize) -> Key<'_> {
        let c = &self.columns;
        let w = &c.words;
        match key {
            SortKey::Severity => Key::Number(Severity::from(w.name(c.severity[n])).rank().into()),
            SortKey::Id => {
                let (number, id) = numeric_id(self.ids.get(n));
                Key::Id(number, id)
            }
            SortKey::DisplayName => Key::Text(c.name_key(n)),
            SortKey::AssignedTo => Key::Text(w.name(w.lower(c.assignee[n]))),
            SortKey::Status => Key::Text(w.name(c.status[n])),
            SortKey::LastUpdate => Key::Number(c.updated[n]),
            SortKey::Created => Key::Number(c.created[n]),
            SortKey::AlertCount => Key::Number(c.alerts[n].map_or(-1, i64::from)),
            SortKey::Priority => Key::Number(c.priority[n].map_or(-1, i64::from)),
        }
    }

    /// Row `a` of this index against row `b` of `other` (this index or another profile's) in
    /// `sort`'s order: the key in its direction, then the newest update first, then the ID, so
    /// equal keys keep a stable order.
    fn compare(
        &self,
        sort: QueueSort,
        (a, ka): (usize, &Key<'_>),
        other: &QueueIndex,
        (b, kb): (usize, &Key<'_>),
    ) -> std::cmp::Ordering {
        let p = ka.cmp(kb);
        let p = if sort.desc { p.reverse() } else { p };
        p.then_with(|| other.columns.updated[b].cmp(&self.columns.updated[a]))
            .then_with(|| self.ids.get(a).cmp(other.ids.get(b)))
    }

    /// Row numbers in `sort`'s order (`compare`).
    fn order(&self, sort: QueueSort) -> Arc<Vec<u32>> {
        let mut orders = self.orders.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(o) = orders.get(&sort) {
            return Arc::clone(o);
        }
        // Each row's key once, not once per comparison.
        let keys: Vec<Key<'_>> = (0..self.len()).map(|n| self.key(sort.key, n)).collect();
        let mut order: Vec<u32> = (0..count(self.len())).collect();
        order.sort_unstable_by(|&a, &b| {
            let (a, b) = (a as usize, b as usize);
            self.compare(sort, (a, &keys[a]), self, (b, &keys[b]))
        });
        let order = Arc::new(order);
        orders.insert(sort, Arc::clone(&order));
        order
    }

    /// Answers one query at time `now` (for "updated within").
    pub fn query(&self, q: &QueueQuery, now: OffsetDateTime) -> Window {
        let limit = q.limit.min(MAX_WINDOW) as usize;
        let (rows, matched) = self.matches(q, now, q.offset as usize, limit);
        Window {
            page: QueuePage {
                total: count(self.shown_total()),
                matched: count(matched),
                offset: q.offset,
                rows: Vec::new(),
                tags: self.tags.clone(),
                sources: self.sources.clone(),
                generation: self.generation,
                profiles: Vec::new(),
            },
            ids: rows
                .iter()
                .map(|&n| self.ids.get(n as usize).to_owned())
                .collect(),
        }
    }

    /// The matching rows `[skip, skip + take)`, in the query's order, and how many match in all.
    fn matches(
        &self,
        q: &QueueQuery,
        now: OffsetDateTime,
        skip: usize,
        take: usize,
    ) -> (Vec<u32>, usize) {
        let order = self.order(q.sort);
        let m = Matcher::new(self, &q.filter, q.me.as_deref(), now);
        let mut matched = 0usize;
        let mut rows = Vec::with_capacity(take.min(order.len()));
        for &n in order.iter() {
            if m.matches(&self.columns, n) {
                if matched >= skip && rows.len() < take {
                    rows.push(n);
                }
                matched += 1;
            }
        }
        (rows, matched)
    }

    /// The IDs of every incident that matches, in the query's order (an export of the view).
    pub fn ids(&self, q: &QueueQuery, now: OffsetDateTime) -> Vec<String> {
        self.shown(q, now).into_iter().map(|s| s.id).collect()
    }

    /// Every incident that matches, in the query's order, as shown (a "select all").
    pub fn shown(&self, q: &QueueQuery, now: OffsetDateTime) -> Vec<Shown> {
        let order = self.order(q.sort);
        let m = Matcher::new(self, &q.filter, q.me.as_deref(), now);
        order
            .iter()
            .filter(|&&n| m.matches(&self.columns, n))
            .map(|&n| Shown {
                id: self.ids.get(n as usize).to_owned(),
                last_update: time_of(self.columns.updated[n as usize]),
            })
            .collect()
    }

    /// Recent assignees and every tag, for the triage form.
    pub fn suggestions(&self) -> Suggestions {
        let order = self.order(QueueSort::default());
        let (c, w) = (&self.columns, &self.columns.words);
        let mut seen = std::collections::HashSet::new();
        let assignees = order
            .iter()
            .map(|&n| c.assignee[n as usize])
            .filter(|&a| a != 0 && seen.insert(w.lower(a)))
            .take(SUGGESTED)
            .map(|a| w.name(a).to_owned())
            .collect();
        Suggestions {
            assignees,
            tags: self.tags.clone(),
        }
    }

    /// Counts by severity, by status, and new incidents per day over the 30 days before `now`;
    /// merged incidents are not counted (their alerts count in the incident they joined).
    pub fn overview(&self, now: OffsetDateTime) -> Overview {
        let (c, w) = (&self.columns, &self.columns.words);
        let merged = w.get(Status::Redirected.as_str()).unwrap_or(0);
        let mut severity: HashMap<&str, u32> = HashMap::new();
        let mut status: HashMap<&str, u32> = HashMap::new();
        let today = now.date();
        let first = today - time::Duration::days(29);
        let mut days: BTreeMap<time::Date, u32> = BTreeMap::new();
        for n in (0..self.len()).filter(|&n| merged == 0 || c.status[n] != merged) {
            *severity.entry(w.name(c.severity[n])).or_default() += 1;
            *status.entry(w.name(c.status[n])).or_default() += 1;
            if let Some(created) = time_of(c.created[n]) {
                let d = created.to_offset(time::UtcOffset::UTC).date();
                if d >= first && d <= today {
                    *days.entry(d).or_default() += 1;
                }
            }
        }
        let counts = |m: &HashMap<&str, u32>, keys: &[&str]| {
            keys.iter()
                .map(|k| Count {
                    key: (*k).to_owned(),
                    n: m.get(k).copied().unwrap_or(0),
                })
                .collect()
        };
        let format = time::macros::format_description!("[year]-[month]-[day]");
        Overview {
            total: count(self.shown_total()),
            by_severity: counts(&severity, &["high", "medium", "low", "informational"]),
            by_status: counts(&status, &["active", "inProgress", "resolved"]),
            per_day: (0..30)
                .map(|k| {
                    let d = first + time::Duration::days(k);
                    Count {
                        key: d.format(&format).unwrap_or_default(),
                        n: days.get(&d).copied().unwrap_or(0),
                    }
                })
                .collect(),
        }
    }
}

/// One profile's part of an all-profiles query: its name, its index, and who the analyst is in
/// its tenant (for "assigned to me").
pub struct Part<'a> {
    pub profile: &'a str,
    pub index: &'a QueueIndex,
    pub me: Option<String>,
}

/// One window of several profiles' queues merged into one, in the query's order (equal rows in
/// the parts' order): each part answers its first `offset + limit` matches, and the window is
/// taken from their merge. Counts add up; the facets are the union. `page.profiles` names each
/// row's profile.
pub fn query_across(parts: &[Part<'_>], q: &QueueQuery, now: OffsetDateTime) -> Window {
    let limit = q.limit.min(MAX_WINDOW) as usize;
    let offset = q.offset as usize;
    let mut lists = Vec::with_capacity(parts.len());
    let (mut matched, mut total) = (0usize, 0usize);
    let (mut tags, mut sources) = (BTreeSet::new(), BTreeSet::new());
    let mut generation = 0u32;
    for p in parts {
        let q = QueueQuery {
            me: p.me.clone(),
            ..q.clone()
        };
        let (rows, n) = p.index.matches(&q, now, 0, offset + limit);
        let keyed: Vec<(usize, Key<'_>)> = rows
            .into_iter()
            .map(|r| (r as usize, p.index.key(q.sort.key, r as usize)))
            .collect();
        lists.push(keyed);
        matched += n;
        total += p.index.shown_total();
        tags.extend(p.index.tags.iter().cloned());
        sources.extend(p.index.sources.iter().cloned());
        generation = generation.wrapping_mul(31).wrapping_add(p.index.generation);
    }
    let mut at = vec![0usize; lists.len()];
    let (mut ids, mut profiles) = (Vec::with_capacity(limit), Vec::with_capacity(limit));
    for n in 0..offset + limit {
        let next = (0..lists.len())
            .filter(|&k| at[k] < lists[k].len())
            .min_by(|&a, &b| {
                let (ra, ka) = &lists[a][at[a]];
                let (rb, kb) = &lists[b][at[b]];
                parts[a]
                    .index
                    .compare(q.sort, (*ra, ka), parts[b].index, (*rb, kb))
                    .then(a.cmp(&b))
            });
        let Some(k) = next else { break };
        if n >= offset {
            ids.push(parts[k].index.ids.get(lists[k][at[k]].0).to_owned());
            profiles.push(parts[k].profile.to_owned());
        }
        at[k] += 1;
    }
    Window {
        page: QueuePage {
            total: count(total),
            matched: count(matched),
            offset: q.offset,
            rows: Vec::new(),
            tags: tags.into_iter().collect(),
            sources: sources.into_iter().collect(),
            generation,
            profiles,
        },
        ids,
    }
}

/// IDs sort as numbers where they are numbers (Graph's and Defender's are), others after.
fn numeric_id(id: &str) -> (u64, &str) {
    (id.parse().unwrap_or(u64::MAX), id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incidents::model::{Severity, Status};
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-20 18:00 UTC);

    fn incident(id: u32, f: impl FnOnce(&mut Incident)) -> Incident {
        let mut i = Incident {
            severity: Severity::Medium,
            created: Some(datetime!(2026-11-19 08:00 UTC)),
            last_update: Some(NOW - time::Duration::hours(i64::from(id % 10))),
            ..Incident::new(id.to_string(), format!("Incident {id}"))
        };
        f(&mut i);
        i
    }

    fn sample() -> QueueIndex {
        QueueIndex::new(&sample_incidents(), 1)
    }

    fn sample_incidents() -> Vec<Incident> {
        vec![
            incident(101, |i| {
                i.display_name = "Ransomware on SRV-01".into();
                i.severity = Severity::High;
                i.tags = vec!["Ransom".into()];
            }),
            incident(102, |i| {
                i.severity = Severity::Low;
                i.status = Status::InProgress;
                i.assigned_to = Some("Bob@Contoso.test".into());
                i.service_sources = vec!["microsoftDefenderForEndpoint".into()];
            }),
            incident(103, |i| i.status = Status::from("someNewStatus")),
            incident(104, |i| {
                i.status = Status::Resolved;
                i.last_update = Some(NOW - time::Duration::days(40));
                i.created = Some(NOW - time::Duration::days(45));
            }),
            incident(105, |i| i.severity = Severity::Informational),
        ]
    }

    /// Two incidents in `sort`'s order, written out from the incidents themselves: what the
    /// index's columns must agree with.
    fn compare(sort: QueueSort, x: &Incident, y: &Incident) -> std::cmp::Ordering {
        let text = |s: &str| s.to_lowercase();
        let p = match sort.key {
            SortKey::Severity => x.severity.rank().cmp(&y.severity.rank()),
            SortKey::Id => numeric_id(&x.id).cmp(&numeric_id(&y.id)),
            SortKey::DisplayName => text(&x.display_name).cmp(&text(&y.display_name)),
            SortKey::AssignedTo => text(x.assigned_to.as_deref().unwrap_or(""))
                .cmp(&text(y.assigned_to.as_deref().unwrap_or(""))),
            SortKey::Status => x.status.as_str().cmp(y.status.as_str()),
            SortKey::LastUpdate => x.last_update.cmp(&y.last_update),
            SortKey::Created => x.created.cmp(&y.created),
            SortKey::AlertCount => x.alert_count.cmp(&y.alert_count),
            SortKey::Priority => x.priority_score.cmp(&y.priority_score),
        };
        let p = if sort.desc { p.reverse() } else { p };
        p.then_with(|| y.last_update.cmp(&x.last_update))
            .then_with(|| x.id.cmp(&y.id))
    }

    fn ids(window: &Window) -> Vec<&str> {
        window.ids.iter().map(String::as_str).collect()
    }

    fn query(filter: QueueFilter) -> QueueQuery {
        QueueQuery {
            filter,
            limit: 100,
            ..QueueQuery::default()
        }
    }

    #[test]
    fn search_text_is_lowercased_as_char_to_lowercase_does_with_or_without_ascii() {
        for s in [
            "SRV-01 Ransomware",
            "already lower",
            "Ärger auf DC-02",
            "ΣΑΣ İstanbul",
            "",
        ] {
            let mut text = String::from("kept\n");
            push_lower(&mut text, s);
            let expected: String = s.chars().flat_map(char::to_lowercase).collect();
            assert_eq!(text, format!("kept\n{expected}"));
        }
        let mut words = Interner::default();
        let bob = words.id("Bob@Contoso.test");
        let lower = words.lower(bob);
        assert_ne!(bob, lower);
        assert_eq!(words.name(bob), "Bob@Contoso.test");
        assert_eq!(words.name(lower), "bob@contoso.test");
        assert_eq!(words.id("bob@contoso.test"), lower);
        assert_eq!(words.lower(lower), lower);
        assert_eq!(words.get("bob@contoso.test"), Some(lower));
        let anne = words.id("ÄNNE");
        assert_eq!(words.lower(anne), words.id("änne"));
        assert_eq!((words.name(0), words.lower(0)), ("", 0), "0 is none");
    }

    #[test]
    fn filters_by_status_severity_assignment_time_tag_source_and_words() {
        let x = sample();
        let all = x.query(&query(QueueFilter::default()), NOW);
        assert_eq!((all.page.total, all.page.matched), (5, 5));
        let f = |filter| {
            ids(&x.query(&query(filter), NOW))
                .into_iter()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            f(QueueFilter {
                statuses: vec!["active".into(), "inProgress".into()],
                severities: vec!["high".into(), "medium".into(), "low".into()],
                ..QueueFilter::default()
            }),
            ["101", "102"]
        );
        assert_eq!(
            f(QueueFilter {
                statuses: vec!["someNewStatus".into()],
                ..QueueFilter::default()
            }),
            ["103"],
            "a status this build does not know is filtered by its wire value"
        );
        assert_eq!(
            f(QueueFilter {
                assignment: Assignment::Unassigned,
                ..QueueFilter::default()
            }),
            ["101", "103", "105", "104"]
        );
        let mine = QueueQuery {
            me: Some("bob@contoso.TEST".into()),
            ..query(QueueFilter {
                assignment: Assignment::Mine,
                ..QueueFilter::default()
            })
        };
        assert_eq!(ids(&x.query(&mine, NOW)), ["102"], "mine ignores case");
        let nobody = QueueQuery { me: None, ..mine };
        assert!(
            x.query(&nobody, NOW).ids.is_empty(),
            "no account, nothing is mine"
        );
        assert_eq!(
            f(QueueFilter {
                updated_within_hours: Some(24 * 30),
                ..QueueFilter::default()
            })
            .len(),
            4,
            "the 40-day-old one is out"
        );
        assert_eq!(
            f(QueueFilter {
                tag: "ransom".into(),
                ..QueueFilter::default()
            }),
            ["101"]
        );
        assert_eq!(
            f(QueueFilter {
                source: "microsoftDefenderForEndpoint".into(),
                ..QueueFilter::default()
            }),
            ["102"]
        );
        assert_eq!(
            f(QueueFilter {
                search: "  srv-01 RANSOM ".into(),
                ..QueueFilter::default()
            }),
            ["101"],
            "every word, anywhere, without regard to case"
        );
        assert_eq!(
            f(QueueFilter {
                search: "contoso".into(),
                ..QueueFilter::default()
            }),
            ["102"],
            "the assignee is searched"
        );
        assert_eq!(
            f(QueueFilter {
                search: "10".into(),
                ..QueueFilter::default()
            })
            .len(),
            5,
            "IDs are searched"
        );
    }

    #[test]
    fn sorts_by_each_key_with_newest_update_breaking_ties() {
        let x = sample();
        let sorted = |key, desc| {
            let q = QueueQuery {
                sort: QueueSort { key, desc },
                ..query(QueueFilter::default())
            };
            ids(&x.query(&q, NOW))
                .into_iter()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            sorted(SortKey::LastUpdate, true),
            ["101", "102", "103", "105", "104"]
        );
        assert_eq!(
            sorted(SortKey::Severity, true),
            ["101", "103", "104", "102", "105"],
            "equal severities: the newest update first"
        );
        assert_eq!(
            sorted(SortKey::Id, false),
            ["101", "102", "103", "104", "105"]
        );
        assert_eq!(
            sorted(SortKey::AssignedTo, true)[0],
            "102",
            "the one assignee first, descending"
        );
    }

    #[test]
    fn a_window_is_a_slice_of_the_result_with_the_full_count() {
        let many: Vec<Incident> = (1..=1000).map(|n| incident(n, |_| {})).collect();
        let x = QueueIndex::new(&many, 7);
        let q = QueueQuery {
            offset: 990,
            limit: 50,
            sort: QueueSort {
                key: SortKey::Id,
                desc: false,
            },
            ..QueueQuery::default()
        };
        let page = x.query(&q, NOW);
        assert_eq!(
            (page.page.total, page.page.matched, page.page.offset),
            (1000, 1000, 990)
        );
        assert_eq!(ids(&page).first(), Some(&"991"));
        assert_eq!(page.ids.len(), 10);
        assert_eq!(page.page.generation, 7);
        let huge = QueueQuery {
            offset: 0,
            limit: 100_000,
            ..q
        };
        assert_eq!(
            x.query(&huge, NOW).ids.len(),
            MAX_WINDOW as usize,
            "a window, never the list"
        );
        assert_eq!(x.ids(&huge, NOW).len(), 1000, "an export takes every match");
    }

    #[test]
    fn an_upsert_replaces_the_row_and_moves_it_in_the_sort() {
        let mut x = sample();
        let before = x.query(&query(QueueFilter::default()), NOW);
        let mut changed = sample_incidents().remove(3);
        assert_eq!(changed.id, "104");
        changed.last_update = Some(NOW);
        changed.tags = vec!["late".into()];
        x.upsert(&changed, 2);
        let after = x.query(&query(QueueFilter::default()), NOW);
        assert_eq!(ids(&after)[0], "104", "the sorted order is rebuilt");
        assert_eq!(after.page.total, 5, "replaced, not added");
        assert_ne!(after.page.generation, before.page.generation);
        assert!(
            after.page.tags.contains(&"late".to_owned()),
            "facets follow"
        );
        x.upsert(&incident(200, |_| {}), 3);
        assert_eq!(x.len(), 6);
    }

    #[test]
    fn each_id_finds_its_row_as_the_table_grows_and_shrinks() {
        let made: Vec<String> = (0..5000)
            .map(|n| format!("{n}-{}", "x".repeat(n % 7)))
            .collect();
        // Room for 2 (the table grows, rehashing from the IDs' text), and room for far more than
        // it gets (shrinking rehashes).
        for room in [2, 100_000] {
            let mut ids = Ids::with_capacity(room);
            for id in &made {
                ids.push(id);
            }
            ids.push("");
            let before = ids.rows.capacity();
            ids.shrink_to_fit();
            assert!(room == 2 || ids.rows.capacity() < before, "shrunk");
            assert_eq!(ids.len(), 5001);
            for (n, id) in made.iter().enumerate() {
                assert_eq!(ids.get(n), id);
                assert_eq!(ids.find(id), Some(count(n)), "{id}");
            }
            assert_eq!(ids.find(""), Some(5000), "an empty ID is an ID");
            assert_eq!(ids.find("5000-"), None);
            assert_eq!(ids.find("12-xxxxx"), Some(12));
            assert_eq!(ids.find("12-xxxx"), None, "a prefix is not the ID");
            // An ID pushed again names its new row; the old row keeps its text.
            ids.push("7-");
            assert_eq!(ids.find("7-"), Some(5001));
            assert_eq!(ids.get(7), "7-");
        }
    }

    #[test]
    fn a_set_of_ids_adds_each_once() {
        let mut seen = Ids::default();
        for n in 0..3000 {
            assert!(seen.insert(&format!("{n}")), "{n} is new");
        }
        for n in 0..3000 {
            assert!(!seen.insert(&format!("{n}")), "{n} was seen");
        }
        assert!(seen.insert("30000"), "not 3000 with a 0 after it");
        assert!(seen.insert(""), "an empty ID is an ID");
        assert!(!seen.insert(""));
        assert_eq!(seen.len(), 3002);
        assert_eq!(seen.find("2999"), Some(2999));
    }

    #[test]
    fn merged_incidents_are_left_out_of_the_queue_the_counts_and_the_overview_unless_asked_for() {
        let mut x = sample();
        x.upsert(
            &incident(106, |i| {
                i.status = Status::Redirected;
                i.redirect_incident_id = Some("101".into());
                i.severity = Severity::High;
                i.display_name = "Ransomware, merged".into();
            }),
            2,
        );
        let all = x.query(&query(QueueFilter::default()), NOW);
        assert_eq!((all.page.total, all.page.matched), (5, 5));
        assert!(!ids(&all).contains(&"106"));
        let searched = x.query(
            &query(QueueFilter {
                search: "ransomware".into(),
                ..QueueFilter::default()
            }),
            NOW,
        );
        assert_eq!(ids(&searched), ["101"], "a search does not bring them back");
        let merged = x.query(
            &query(QueueFilter {
                statuses: vec!["redirected".into()],
                ..QueueFilter::default()
            }),
            NOW,
        );
        assert_eq!(
            ids(&merged),
            ["106"],
            "shown when their status is asked for"
        );
        let with_merged = x.query(
            &query(QueueFilter {
                statuses: vec!["active".into()],
                show_merged: true,
                ..QueueFilter::default()
            }),
            NOW,
        );
        assert_eq!(ids(&with_merged), ["101", "105", "106"], "or beside others");
        assert_eq!(x.shown_total(), 5);
        let o = x.overview(NOW);
        assert_eq!(o.total, 5);
        let high = o.by_severity.iter().find(|c| c.key == "high").map(|c| c.n);
        assert_eq!(high, Some(1), "the merged high one is not counted");
    }

    #[test]
    fn a_search_finds_incidents_by_the_entities_their_details_name() {
        let mut entities = HashMap::new();
        entities.insert(
            "102".to_owned(),
            vec!["wks-fin-023".to_owned(), "203.0.113.9".to_owned()],
        );
        let mut x = QueueIndex::with_entities(&sample_incidents(), entities, 1);
        let find = |x: &QueueIndex, words: &str| {
            ids(&x.query(
                &query(QueueFilter {
                    search: words.into(),
                    ..QueueFilter::default()
                }),
                NOW,
            ))
            .into_iter()
            .map(str::to_owned)
            .collect::<Vec<_>>()
        };
        assert_eq!(find(&x, "WKS-FIN-023"), ["102"]);
        assert_eq!(find(&x, "203.0.113.9"), ["102"]);
        // Details fetched later: the search follows.
        x.set_entities("105", vec!["wks-fin-023".into()], 2);
        assert_eq!(find(&x, "wks-fin-023"), ["102", "105"]);
        x.set_entities("102", vec![], 3);
        assert_eq!(find(&x, "wks-fin-023"), ["105"]);
    }

    #[test]
    fn an_all_profiles_window_merges_every_profiles_queue_in_order_with_each_rows_profile() {
        // Two tenants, one ID in both: each row stays its own, named by its profile.
        let contoso = sample();
        let fabrikam_incidents = vec![
            incident(101, |i| {
                i.display_name = "Fabrikam: phishing wave".into();
                i.severity = Severity::High;
                i.assigned_to = Some("eve@fabrikam.test".into());
                i.tags = vec!["Phish".into()];
            }),
            incident(201, |i| i.assigned_to = Some("eve@fabrikam.test".into())),
            incident(202, |i| i.status = Status::Redirected),
        ];
        let fabrikam = QueueIndex::new(&fabrikam_incidents, 7);
        let (contoso_incidents, mut stored) = (sample_incidents(), HashMap::new());
        for (profile, list) in [
            ("Contoso", &contoso_incidents),
            ("Fabrikam", &fabrikam_incidents),
        ] {
            for i in list {
                stored.insert((profile, i.id.clone()), i);
            }
        }
        let parts = [
            Part {
                profile: "Contoso",
                index: &contoso,
                me: Some("bob@contoso.test".into()),
            },
            Part {
                profile: "Fabrikam",
                index: &fabrikam,
                me: Some("eve@fabrikam.test".into()),
            },
        ];
        for sort in [
            QueueSort::default(),
            QueueSort {
                key: SortKey::Severity,
                desc: true,
            },
            QueueSort {
                key: SortKey::DisplayName,
                desc: false,
            },
            QueueSort {
                key: SortKey::Id,
                desc: true,
            },
        ] {
            let q = QueueQuery {
                sort,
                limit: 100,
                all_profiles: true,
                ..QueueQuery::default()
            };
            let all = query_across(&parts, &q, NOW);
            assert_eq!(
                (all.page.total, all.page.matched),
                (7, 7),
                "merged ones left out, counts add"
            );
            // The merge is each part's own order, interleaved by the same comparison.
            let mut expected: Vec<(String, &Incident)> = Vec::new();
            for p in &parts {
                for id in p.index.query(&q, NOW).ids {
                    expected.push((p.profile.to_owned(), stored[&(p.profile, id)]));
                }
            }
            expected.sort_by(|a, b| compare(sort, a.1, b.1).then(a.0.cmp(&b.0)));
            let got: Vec<(String, String)> = all
                .page
                .profiles
                .iter()
                .cloned()
                .zip(all.ids.iter().cloned())
                .collect();
            let want: Vec<(String, String)> = expected
                .iter()
                .map(|(p, i)| (p.clone(), i.id.clone()))
                .collect();
            assert_eq!(got, want, "{sort:?}");
            // Any window is the same slice of that order.
            let window = query_across(
                &parts,
                &QueueQuery {
                    offset: 2,
                    limit: 3,
                    ..q.clone()
                },
                NOW,
            );
            assert_eq!(window.page.profiles, all.page.profiles[2..5]);
            assert_eq!(ids(&window), ids(&all)[2..5]);
            assert_eq!(window.page.matched, 7);
        }
        // Filters and words apply to every part; "mine" is each tenant's own analyst.
        let q = |filter: QueueFilter| QueueQuery {
            filter,
            limit: 100,
            all_profiles: true,
            ..QueueQuery::default()
        };
        let phish = query_across(
            &parts,
            &q(QueueFilter {
                search: "phishing".into(),
                ..QueueFilter::default()
            }),
            NOW,
        );
        assert_eq!(
            (phish.page.profiles.clone(), ids(&phish)),
            (vec!["Fabrikam".to_owned()], vec!["101"])
        );
        let mine = query_across(
            &parts,
            &q(QueueFilter {
                assignment: Assignment::Mine,
                ..QueueFilter::default()
            }),
            NOW,
        );
        let mut mine: Vec<(String, &str)> =
            mine.page.profiles.iter().cloned().zip(ids(&mine)).collect();
        mine.sort();
        assert_eq!(
            mine,
            [("Contoso", "102"), ("Fabrikam", "101"), ("Fabrikam", "201")]
                .map(|(p, i)| (p.to_owned(), i))
        );
        let high = query_across(
            &parts,
            &q(QueueFilter {
                severities: vec!["high".into()],
                ..QueueFilter::default()
            }),
            NOW,
        );
        assert_eq!(
            high.page.profiles,
            ["Contoso", "Fabrikam"].map(String::from)
        );
        assert_eq!(
            high.page.tags,
            ["Phish", "Ransom"].map(String::from),
            "facets of both"
        );
        // One index's change changes the answer's generation.
        let mut changed = fabrikam;
        changed.upsert(&incident(203, |_| {}), 8);
        let again = query_across(
            &[
                Part {
                    profile: "Contoso",
                    index: &contoso,
                    me: None,
                },
                Part {
                    profile: "Fabrikam",
                    index: &changed,
                    me: None,
                },
            ],
            &q(QueueFilter::default()),
            NOW,
        );
        assert_ne!(again.page.generation, phish.page.generation);
        assert_eq!(again.page.total, 8);
    }

    #[test]
    fn a_selection_gets_each_last_update_exactly_and_a_text_sort_survives_line_breaks() {
        let exact = datetime!(2026-11-20 17:59:58.123_456_789 UTC);
        let x = QueueIndex::new(
            &[
                incident(1, |i| {
                    i.last_update = Some(exact);
                    i.display_name = "b\nsecond line".into();
                }),
                incident(2, |i| {
                    i.last_update = None;
                    i.display_name = "a\0".into();
                }),
                incident(3, |i| i.display_name = "C".into()),
            ],
            1,
        );
        let shown = x.shown(&query(QueueFilter::default()), NOW);
        let at = |id: &str| shown.iter().find(|s| s.id == id).unwrap().last_update;
        assert_eq!(at("1"), Some(exact));
        assert_eq!(at("2"), None);
        let by_name = QueueQuery {
            sort: QueueSort {
                key: SortKey::DisplayName,
                desc: false,
            },
            ..query(QueueFilter::default())
        };
        assert_eq!(ids(&x.query(&by_name, NOW)), ["2", "1", "3"]);
        let found = x.query(
            &query(QueueFilter {
                search: "second".into(),
                ..QueueFilter::default()
            }),
            NOW,
        );
        assert_eq!(
            ids(&found),
            ["1"],
            "the words after a line break are searched"
        );
    }

    #[test]
    fn suggestions_are_recent_assignees_once_and_every_tag() {
        let mut x = sample();
        x.upsert(
            &incident(106, |i| {
                i.assigned_to = Some("bob@contoso.TEST".into());
                i.tags = vec!["VIP".into()];
            }),
            2,
        );
        let s = x.suggestions();
        assert_eq!(
            s.assignees,
            ["Bob@Contoso.test"],
            "once, without regard to case"
        );
        assert_eq!(s.tags, ["Ransom", "VIP"]);
    }

    #[test]
    fn the_overview_counts_everything_and_the_last_30_days() {
        let o = sample().overview(NOW);
        assert_eq!(o.total, 5);
        let n = |v: &[Count], k: &str| v.iter().find(|c| c.key == k).map(|c| c.n);
        assert_eq!(n(&o.by_severity, "high"), Some(1));
        assert_eq!(n(&o.by_severity, "medium"), Some(2));
        assert_eq!(n(&o.by_status, "resolved"), Some(1));
        assert_eq!(o.per_day.len(), 30);
        assert_eq!(o.per_day.last().unwrap().key, "2026-11-20");
        assert_eq!(
            n(&o.per_day, "2026-11-19"),
            Some(4),
            "the 45-day-old one is out"
        );
    }
}
