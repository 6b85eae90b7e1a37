//! The OData query options Graph accepts on `/security/incidents`, with its limits:
//! `$top` 1..=50 (above 50 is a 400 with Graph's own message), `$skip` at most 500, `$orderby` on
//! the date fields, and `$filter` comparisons on the documented properties joined by `and`.

use std::collections::HashMap;

use serde_json::Value;

pub const MAX_TOP: usize = 50;
pub const MAX_SKIP: usize = 500;
const FILTERABLE: &[&str] = &[
    "assignedTo",
    "classification",
    "createdDateTime",
    "determination",
    "lastUpdateDateTime",
    "severity",
    "status",
];

#[derive(Debug, Clone)]
struct Condition {
    field: String,
    op: String,
    value: String,
}

#[derive(Debug)]
pub struct Query {
    pub top: usize,
    pub skip: usize,
    order: Option<(String, bool)>,
    filter: Vec<Condition>,
    raw_filter: Option<String>,
    raw_order: Option<String>,
}

impl Query {
    pub fn parse(q: &HashMap<String, String>) -> Result<Self, String> {
        let top = match q.get("$top") {
            Some(t) => {
                let n: usize = t
                    .parse()
                    .map_err(|_| format!("Invalid value '{t}' for $top query option."))?;
                if n > MAX_TOP {
                    return Err(format!(
                        "The query specified in the URI is not valid. The limit of '{MAX_TOP}' for Top query has been exceeded. The value from the incoming request is '{n}'."
                    ));
                }
                n.max(1)
            }
            None => MAX_TOP,
        };
        let skip = match q.get("$skip") {
            Some(s) => s
                .parse()
                .map_err(|_| format!("Invalid value '{s}' for $skip query option."))?,
            None => 0,
        };
        if skip > MAX_SKIP {
            return Err(format!("The query specified in the URI is not valid. The limit of '{MAX_SKIP}' for Skip query has been exceeded."));
        }
        let order = match q.get("$orderby") {
            Some(o) => {
                let mut parts = o.split_whitespace();
                let field = parts.next().unwrap_or_default();
                let dir = parts.next().unwrap_or("asc");
                if !["lastUpdateDateTime", "createdDateTime"].contains(&field)
                    || !["asc", "desc"].contains(&dir)
                {
                    return Err(format!("Order by '{o}' is not supported."));
                }
                Some((field.to_owned(), dir == "desc"))
            }
            None => None,
        };
        let filter = match q.get("$filter") {
            Some(f) => parse_filter(f)?,
            None => Vec::new(),
        };
        Ok(Self {
            top,
            skip,
            order,
            filter,
            raw_filter: q.get("$filter").cloned(),
            raw_order: q.get("$orderby").cloned(),
        })
    }

    /// The page, and whether more items follow it.
    pub fn apply<'a>(&self, items: &'a [Value]) -> (Vec<&'a Value>, bool) {
        let mut matched: Vec<&Value> = items
            .iter()
            .filter(|i| self.filter.iter().all(|c| c.matches(i)))
            .collect();
        let (field, desc) = self
            .order
            .clone()
            .unwrap_or(("createdDateTime".into(), true));
        matched.sort_by(|a, b| {
            let ord = a[&field]
                .as_str()
                .cmp(&b[&field].as_str())
                .then_with(|| a["id"].as_str().cmp(&b["id"].as_str()));
            if desc {
                ord.reverse()
            } else {
                ord
            }
        });
        let more = matched.len() > self.skip + self.top;
        (
            matched.into_iter().skip(self.skip).take(self.top).collect(),
            more,
        )
    }

    pub fn next_page_query(&self) -> String {
        let mut s = url_encode_pairs(&[
            ("$top", self.top.to_string()),
            ("$skip", (self.skip + self.top).to_string()),
        ]);
        if let Some(o) = &self.raw_order {
            s.push('&');
            s.push_str(&url_encode_pairs(&[("$orderby", o.clone())]));
        }
        if let Some(f) = &self.raw_filter {
            s.push('&');
            s.push_str(&url_encode_pairs(&[("$filter", f.clone())]));
        }
        s
    }
}

fn url_encode_pairs(pairs: &[(&str, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect::<Vec<_>>()
        .join("&")
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

fn parse_filter(f: &str) -> Result<Vec<Condition>, String> {
    f.split(" and ")
        .map(|clause| {
            let mut parts = clause.trim().splitn(3, ' ');
            let (Some(field), Some(op), Some(value)) = (parts.next(), parts.next(), parts.next())
            else {
                return Err(format!("Invalid filter clause '{clause}'."));
            };
            if !FILTERABLE.contains(&field) {
                return Err(format!("Filtering on '{field}' is not supported."));
            }
            if !["eq", "ne", "gt", "ge", "lt", "le"].contains(&op) {
                return Err(format!("Operator '{op}' is not supported."));
            }
            let value = value.trim().trim_matches('\'').to_owned();
            Ok(Condition {
                field: field.to_owned(),
                op: op.to_owned(),
                value,
            })
        })
        .collect()
}

impl Condition {
    fn matches(&self, item: &Value) -> bool {
        let actual = item[&self.field].as_str().unwrap_or("null");
        // Dates compare as instants; equality on enums is case-insensitive, as on Graph.
        let ord = if self.field.ends_with("DateTime") {
            parse_time(actual).cmp(&parse_time(&self.value))
        } else {
            actual
                .to_ascii_lowercase()
                .cmp(&self.value.to_ascii_lowercase())
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

fn parse_time(s: &str) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
}
