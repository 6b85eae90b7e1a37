//! The OData query options each API accepts, with its documented limits.
//!
//! Graph `/security/incidents`: `$top` 1..=50 (above is a 400 with Graph's own message), `$skip` at
//! most 500, `$orderby` on the date fields, `$filter` on assignedTo, classification,
//! createdDateTime, determination, lastUpdateDateTime, severity, status.
//! Defender XDR `/api/incidents`: `$top` at most 100, `$skip`, `$filter` on lastUpdateTime,
//! createdTime, status and assignedTo; newest first.
//!
//! Queries run over indexes kept sorted by date, and stop as soon as the page is full, so paging
//! through 100,000 incidents stays cheap.

use std::cmp::Ordering;
use std::collections::HashMap;

use time::OffsetDateTime;

use crate::data::Incident;
use crate::store::{sort_value, SortKey, Store};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Graph,
    Defender,
}

impl Dialect {
    pub fn max_top(self) -> usize {
        match self {
            Dialect::Graph => 50,
            Dialect::Defender => 100,
        }
    }

    pub fn max_skip(self) -> usize {
        match self {
            Dialect::Graph => 500,
            Dialect::Defender => usize::MAX,
        }
    }

    fn filterable(self) -> &'static [&'static str] {
        match self {
            Dialect::Graph => &[
                "assignedTo",
                "classification",
                "createdDateTime",
                "determination",
                "lastUpdateDateTime",
                "severity",
                "status",
            ],
            Dialect::Defender => &["lastUpdateTime", "createdTime", "status", "assignedTo"],
        }
    }
}

#[derive(Debug, Clone)]
enum Value {
    Time(OffsetDateTime),
    Text(String),
    Null,
}

#[derive(Debug, Clone)]
struct Condition {
    field: String,
    op: String,
    value: Value,
}

#[derive(Debug)]
pub struct Query {
    pub dialect: Dialect,
    pub top: usize,
    pub skip: usize,
    order: (SortKey, bool),
    filter: Vec<Condition>,
    raw_filter: Option<String>,
    raw_order: Option<String>,
}

impl Query {
    pub fn parse(dialect: Dialect, q: &HashMap<String, String>) -> Result<Self, String> {
        let top = match q.get("$top") {
            Some(t) => {
                let n: usize = t
                    .parse()
                    .map_err(|_| format!("Invalid value '{t}' for $top query option."))?;
                if n > dialect.max_top() {
                    return Err(format!(
                        "The query specified in the URI is not valid. The limit of '{}' for Top query has been exceeded. The value from the incoming request is '{n}'.",
                        dialect.max_top()
                    ));
                }
                n.max(1)
            }
            None => dialect.max_top(),
        };
        let skip = match q.get("$skip") {
            Some(s) => s
                .parse()
                .map_err(|_| format!("Invalid value '{s}' for $skip query option."))?,
            None => 0,
        };
        if skip > dialect.max_skip() {
            return Err(format!(
                "The query specified in the URI is not valid. The limit of '{}' for Skip query has been exceeded.",
                dialect.max_skip()
            ));
        }
        let order = match (dialect, q.get("$orderby")) {
            (Dialect::Defender, Some(_)) => {
                return Err("The query option $orderby is not supported.".into())
            }
            (Dialect::Graph, Some(o)) => {
                let mut parts = o.split_whitespace();
                let key = match parts.next().unwrap_or_default() {
                    "lastUpdateDateTime" => SortKey::LastUpdate,
                    "createdDateTime" => SortKey::Created,
                    other => return Err(format!("Order by '{other}' is not supported.")),
                };
                let desc = match parts.next().unwrap_or("asc") {
                    "asc" => false,
                    "desc" => true,
                    other => return Err(format!("Order direction '{other}' is not supported.")),
                };
                (key, desc)
            }
            // Newest first, as both APIs list by default.
            (_, None) => (SortKey::Created, true),
        };
        let filter = match q.get("$filter") {
            Some(f) => parse_filter(dialect, f)?,
            None => Vec::new(),
        };
        Ok(Self {
            dialect,
            top,
            skip,
            order,
            filter,
            raw_filter: q.get("$filter").cloned(),
            raw_order: q.get("$orderby").cloned(),
        })
    }

    /// The page, and whether more items follow it.
    pub fn apply<'a>(&self, store: &'a Store) -> (Vec<&'a Incident>, bool) {
        let (key, desc) = self.order;
        let index = store.index(key);
        // Start at the first possible match when the filter bounds the sort key from below.
        let start = if desc {
            0
        } else {
            self.lower_bound(store, key)
        };
        let mut iter: Box<dyn Iterator<Item = &usize>> = if desc {
            Box::new(index.iter().rev())
        } else {
            Box::new(index[start..].iter())
        };
        let mut page = Vec::with_capacity(self.top);
        let mut skipped = 0;
        for &i in iter.by_ref() {
            let inc = &store.incidents[i];
            if !self.filter.iter().all(|c| c.matches(self.dialect, inc)) {
                continue;
            }
            if skipped < self.skip {
                skipped += 1;
                continue;
            }
            if page.len() == self.top {
                return (page, true);
            }
            page.push(inc);
        }
        (page, false)
    }

    fn lower_bound(&self, store: &Store, key: SortKey) -> usize {
        let field = match (key, self.dialect) {
            (SortKey::LastUpdate, Dialect::Graph) => "lastUpdateDateTime",
            (SortKey::Created, Dialect::Graph) => "createdDateTime",
            (SortKey::LastUpdate, Dialect::Defender) => "lastUpdateTime",
            (SortKey::Created, Dialect::Defender) => "createdTime",
        };
        let bound = self
            .filter
            .iter()
            .find_map(|c| match (&c.value, c.op.as_str()) {
                (Value::Time(t), "ge" | "gt" | "eq") if c.field == field => Some(*t),
                _ => None,
            });
        let Some(bound) = bound else { return 0 };
        let index = store.index(key);
        index.partition_point(|&i| sort_value(&store.incidents[i], key) < bound)
    }

    pub fn next_page_query(&self) -> String {
        self.page_query(self.skip + self.top)
    }

    /// The query of this same page again (a broken server's next link).
    pub fn this_page_query(&self) -> String {
        self.page_query(self.skip)
    }

    fn page_query(&self, skip: usize) -> String {
        let mut pairs = vec![("$top", self.top.to_string()), ("$skip", skip.to_string())];
        if let Some(o) = &self.raw_order {
            pairs.push(("$orderby", o.clone()));
        }
        if let Some(f) = &self.raw_filter {
            pairs.push(("$filter", f.clone()));
        }
        pairs
            .iter()
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect::<Vec<_>>()
            .join("&")
    }
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b':' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn parse_filter(dialect: Dialect, f: &str) -> Result<Vec<Condition>, String> {
    f.split(" and ")
        .map(|clause| {
            let mut parts = clause.trim().splitn(3, ' ');
            let (Some(field), Some(op), Some(value)) = (parts.next(), parts.next(), parts.next())
            else {
                return Err(format!("Invalid filter clause '{clause}'."));
            };
            if !dialect.filterable().contains(&field) {
                return Err(format!("Filtering on '{field}' is not supported."));
            }
            if !["eq", "ne", "gt", "ge", "lt", "le"].contains(&op) {
                return Err(format!("Operator '{op}' is not supported."));
            }
            let raw = value.trim();
            let value = if field.ends_with("Time") {
                let t = OffsetDateTime::parse(
                    raw.trim_matches('\''),
                    &time::format_description::well_known::Rfc3339,
                )
                .map_err(|_| format!("The value '{raw}' is not a valid DateTimeOffset."))?;
                Value::Time(t)
            } else if raw == "null" {
                Value::Null
            } else {
                Value::Text(raw.trim_matches('\'').to_ascii_lowercase())
            };
            Ok(Condition {
                field: field.to_owned(),
                op: op.to_owned(),
                value,
            })
        })
        .collect()
}

impl Condition {
    fn matches(&self, dialect: Dialect, i: &Incident) -> bool {
        let actual = match (dialect, self.field.as_str()) {
            (_, "lastUpdateDateTime" | "lastUpdateTime") => Value::Time(i.last_update),
            (_, "createdDateTime" | "createdTime") => Value::Time(i.created),
            (_, "assignedTo") => i
                .assigned_to
                .as_ref()
                .map_or(Value::Null, |a| Value::Text(a.to_ascii_lowercase())),
            (_, "status") => Value::Text(i.status.to_ascii_lowercase()),
            (_, "severity") => Value::Text(i.severity.to_ascii_lowercase()),
            (_, "classification") => Value::Text(i.classification.to_ascii_lowercase()),
            (_, "determination") => Value::Text(i.determination.to_ascii_lowercase()),
            _ => Value::Null,
        };
        let ord = match (&actual, &self.value) {
            (Value::Time(a), Value::Time(b)) => a.cmp(b),
            (Value::Text(a), Value::Text(b)) => a.cmp(b),
            (Value::Null, Value::Null) => Ordering::Equal,
            _ => return self.op == "ne",
        };
        match self.op.as_str() {
            "eq" => ord.is_eq(),
            "ne" => ord.is_ne(),
            "gt" => ord.is_gt(),
            "ge" => ord.is_ge(),
            "lt" => ord.is_lt(),
            _ => ord.is_le(),
        }
    }
}
