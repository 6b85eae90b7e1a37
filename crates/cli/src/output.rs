//! What `idesk` prints: status, incident filters and the json / csv / table formats.

use std::io::Write;
use std::time::SystemTime;

use clap::ValueEnum;
use idesk_core::auth::oidc::Account;
use idesk_core::config::Profile;
use idesk_core::incidents::model::{self, Incident, IncidentDetail};
use idesk_core::Error;
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Json,
    Csv,
    Table,
}

/// `idesk status --json`: never a token, only who and until when.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    profile: String,
    tenant: String,
    signed_in: bool,
    account: Option<Account>,
    access_token_expires: Option<String>,
}

impl Status {
    pub fn new(profile: &Profile, account: Option<&Account>, expires: Option<SystemTime>) -> Self {
        Self {
            profile: profile.name.clone(),
            tenant: profile.tenant.clone(),
            signed_in: account.is_some(),
            account: account.cloned(),
            access_token_expires: expires
                .map(|t| OffsetDateTime::from(t).format(&Rfc3339).unwrap_or_default()),
        }
    }
}

pub fn print_status(s: &Status, json: bool) {
    if json {
        crate::terminal::line(&serde_json::to_string_pretty(s).unwrap_or_default());
        return;
    }
    match &s.account {
        Some(a) => sayln!(
            "Profile {} (tenant {}): signed in as {}",
            s.profile,
            s.tenant,
            a.username
                .as_deref()
                .or(a.name.as_deref())
                .unwrap_or("(unknown)")
        ),
        None => sayln!("Profile {} (tenant {}): not signed in", s.profile, s.tenant),
    }
}

pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// An incident with its alerts and evidence, for a terminal. Every field is server text
/// (attacker-influenced): each is escaped onto its line (`terminal::field`).
pub fn detail(d: &IncidentDetail) -> String {
    let clean = |s: &str| crate::terminal::field(s).into_owned();
    let i = &d.incident;
    let mut out = format!(
        "Incident {}: {}\n  severity {}  status {}  assigned to {}\n  classification {}  determination {}\n  created {}  last update {}\n",
        clean(&i.id),
        clean(&i.display_name),
        clean(i.severity.as_str()),
        clean(i.status.as_str()),
        i.assigned_to.as_deref().map(clean).unwrap_or_else(|| "nobody".into()),
        clean(i.classification.as_str()),
        clean(i.determination.as_str()),
        i.created.map(rfc3339).as_deref().unwrap_or("-"),
        i.last_update.map(rfc3339).as_deref().unwrap_or("-"),
    );
    if !i.tags.is_empty() {
        out.push_str(&format!("  tags {}\n", clean(&i.tags.join(", "))));
    }
    if let Some(url) = &i.web_url {
        out.push_str(&format!("  portal {}\n", clean(url)));
    }
    if let Some(into) = &i.redirect_incident_id {
        out.push_str(&format!(
            "  merged into #{}: its alerts and triage are there\n",
            clean(into)
        ));
    }
    if let Some(p) = i.priority_score {
        out.push_str(&format!("  priority {p}/100\n"));
    }
    for text in [&d.summary, &d.description].into_iter().flatten() {
        out.push_str(&format!("  {}\n", clean(text)));
    }
    for a in &d.alerts {
        out.push_str(&format!(
            "\n  Alert {} [{} {}] {}\n    {} {} {}\n",
            clean(&a.id),
            clean(a.severity.as_str()),
            clean(a.status.as_str()),
            clean(&a.title),
            a.category.as_deref().map(clean).unwrap_or_default(),
            a.service_source.as_deref().map(clean).unwrap_or_default(),
            clean(&a.mitre_techniques.join(" ")),
        ));
        if let Some(text) = &a.description {
            out.push_str(&format!("    {}\n", clean(text)));
        }
        for (label, value) in [
            ("threat", &a.threat_display_name),
            ("actor", &a.actor_display_name),
            ("recommended", &a.recommended_actions),
        ] {
            if let Some(v) = value {
                out.push_str(&format!("    {label}: {}\n", clean(v)));
            }
        }
        for e in &a.evidence {
            let mut facts: Vec<&str> = e.verdict.iter().map(String::as_str).collect();
            facts.extend(e.roles.iter().map(String::as_str));
            let facts = if facts.is_empty() {
                String::new()
            } else {
                format!(" ({})", clean(&facts.join(", ")))
            };
            out.push_str(&format!(
                "    - {}: {}{facts}\n",
                clean(&e.kind),
                clean(&e.title)
            ));
            for p in d.pivots.iter().filter(|p| p.evidence_key == e.key) {
                let ids: Vec<String> = p.recent.iter().map(|r| format!("#{}", r.id)).collect();
                out.push_str(&format!(
                    "      {}: seen in {} other incident(s) in the last 30 days ({} true positive): {}\n",
                    clean(&p.value),
                    p.others,
                    p.true_positives,
                    clean(&ids.join(" "))
                ));
            }
        }
    }
    for c in &i.comments {
        out.push_str(&format!(
            "\n  Comment by {} at {}:\n    {}\n",
            c.author.as_deref().map(clean).unwrap_or_else(|| "?".into()),
            c.created.map(rfc3339).as_deref().unwrap_or("?"),
            clean(&c.text)
        ));
    }
    out
}

/// `48h`, `7d`, `30m`, or an RFC 3339 time.
pub fn parse_since(s: &str) -> Result<OffsetDateTime, Error> {
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Ok(t);
    }
    let (n, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: i64 = n.parse().map_err(|_| {
        Error::Invalid(format!(
            "--since {s:?}: use 48h, 7d, 30m or an RFC 3339 time"
        ))
    })?;
    let d = match unit {
        "m" => time::Duration::minutes(n),
        "h" => time::Duration::hours(n),
        "d" => time::Duration::days(n),
        _ => {
            return Err(Error::Invalid(format!(
                "--since {s:?}: the unit must be m, h or d"
            )))
        }
    };
    Ok(OffsetDateTime::now_utc() - d)
}

#[derive(Clone)]
pub struct Filter {
    pub since: Option<OffsetDateTime>,
    pub status: Vec<String>,
    pub severity: Vec<String>,
    pub assigned_to: Option<String>,
    pub me: Option<String>,
    /// Merged incidents (status `redirected`) are left out unless this is set or `status`
    /// names `redirected`, as in the app's queue.
    pub show_merged: bool,
}

impl Filter {
    /// Whether `i` changed before `--since` (or has no time).
    pub fn is_past_since(&self, i: &Incident) -> bool {
        self.since
            .is_some_and(|since| i.last_update.is_none_or(|t| t < since))
    }

    /// Whether, in the store's listing newest change first (`Cache::each_newest_first`, which
    /// orders to the millisecond), no incident from `i` on can be in `--since`: `i` has no time,
    /// or changed in a millisecond before that of `--since`.
    pub fn ends_newest_first(&self, i: &Incident) -> bool {
        let millis = |t: OffsetDateTime| t.unix_timestamp_nanos().div_euclid(1_000_000);
        self.since
            .is_some_and(|since| i.last_update.is_none_or(|t| millis(t) < millis(since)))
    }

    /// One step of a listing newest change first: `i` handed to `emit` when kept, and whether
    /// the listing goes on (`ends_newest_first`).
    pub fn step(
        &self,
        i: &Incident,
        emit: impl FnOnce(&Incident) -> Result<(), Error>,
    ) -> Result<bool, Error> {
        if self.ends_newest_first(i) {
            return Ok(false);
        }
        if self.keeps(i) {
            emit(i)?;
        }
        Ok(true)
    }

    pub fn keeps(&self, i: &Incident) -> bool {
        let since_ok = !self.is_past_since(i);
        let status_ok = self.status.is_empty()
            || self
                .status
                .iter()
                .any(|s| s.eq_ignore_ascii_case(i.status.as_str()));
        let severity_ok = self.severity.is_empty()
            || self
                .severity
                .iter()
                .any(|s| s.eq_ignore_ascii_case(i.severity.as_str()));
        let assigned_ok = match self.assigned_to.as_deref() {
            None => true,
            Some("none") => i.assigned_to.is_none(),
            Some("me") => {
                self.me.is_some()
                    && i.assigned_to.as_deref().map(str::to_lowercase)
                        == self.me.as_deref().map(str::to_lowercase)
            }
            Some(upn) => i
                .assigned_to
                .as_deref()
                .is_some_and(|a| a.eq_ignore_ascii_case(upn)),
        };
        let merged_ok = i.status != model::Status::Redirected
            || self.show_merged
            || self
                .status
                .iter()
                .any(|s| s.eq_ignore_ascii_case(model::Status::Redirected.as_str()));
        since_ok && status_ok && severity_ok && assigned_ok && merged_ok
    }
}

/// Writes incidents as `each` hands them over, one at a time, to `path` (atomically, private to
/// the user) or standard output. Into a file or a pipe only the incident at hand is held,
/// however many there are; a terminal gets the whole listing at the end, escaped
/// (`terminal::out`). A reader that stops early (`| head`) ends the listing quietly. An error
/// from `each` ends it too and is returned: a file is then left as it was, while a pipe has
/// had what came before the error.
pub fn write_each(
    format: Format,
    path: Option<&std::path::Path>,
    each: impl FnOnce(&mut dyn FnMut(&Incident) -> Result<(), Error>) -> Result<(), Error>,
) -> Result<(), Error> {
    write_rows(format, path, false, |emit| each(&mut |i| emit(None, i)))
}

/// As `write_each`, for incidents of several profiles, each naming its profile: a leading column
/// in a table and in CSV, a `profile` field in JSON.
pub fn write_across(
    format: Format,
    path: Option<&std::path::Path>,
    each: impl FnOnce(&mut dyn FnMut(&str, &Incident) -> Result<(), Error>) -> Result<(), Error>,
) -> Result<(), Error> {
    write_rows(format, path, true, |emit| {
        each(&mut |profile, i| emit(Some(profile), i))
    })
}

/// What a listing hands over: an incident, with its profile in a listing of several.
type Emit<'a> = dyn FnMut(Option<&str>, &Incident) -> Result<(), Error> + 'a;

fn write_rows(
    format: Format,
    path: Option<&std::path::Path>,
    across: bool,
    each: impl FnOnce(&mut Emit<'_>) -> Result<(), Error>,
) -> Result<(), Error> {
    use std::io::IsTerminal;
    if let Some(path) = path {
        let what = path.display().to_string();
        let mut failed = None;
        let written = idesk_core::files::write_atomically_with(path, |out| {
            stream(out, format, across, &what, each).map_err(|e| {
                failed = Some(e);
                std::io::Error::other("the listing stopped")
            })
        });
        return failed.map_or(written, Err);
    }
    let stdout = std::io::stdout();
    if stdout.is_terminal() {
        let mut text = Vec::new();
        stream(&mut text, format, across, "standard output", each)?;
        crate::terminal::out(&String::from_utf8_lossy(&text));
        return Ok(());
    }
    let mut out = std::io::BufWriter::new(stdout.lock());
    match stream(&mut out, format, across, "standard output", each) {
        Err(Error::Io(_, e)) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        done => done,
    }
}

/// The incidents `each` hands over, in `format`, to `out`; `what` names `out` in an error.
/// `across`: the rows name their profiles (the CSV header has its column).
fn stream(
    out: &mut impl Write,
    format: Format,
    across: bool,
    what: &str,
    each: impl FnOnce(&mut Emit<'_>) -> Result<(), Error>,
) -> Result<(), Error> {
    use idesk_core::incidents::export::Across;
    use serde::ser::{SerializeSeq, Serializer};
    let io = |e: std::io::Error| Error::Io(what.to_owned(), e);
    match format {
        // Element by element, as `serde_json::to_writer_pretty` writes a whole list.
        Format::Json => {
            let mut json = serde_json::Serializer::with_formatter(&mut *out, Pretty::default());
            let mut list = json.serialize_seq(None).map_err(|e| io(e.into()))?;
            each(&mut |profile, incident| {
                match profile {
                    Some(profile) => list.serialize_element(&Across { profile, incident }),
                    None => list.serialize_element(incident),
                }
                .map_err(|e| io(e.into()))
            })?;
            list.end().map_err(|e| io(e.into()))?;
            out.write_all(b"\n").map_err(io)?;
        }
        Format::Csv => {
            use idesk_core::incidents::export::{csv_header, csv_row};
            out.write_all(csv_header(across).as_bytes()).map_err(io)?;
            each(&mut |profile, i| out.write_all(csv_row(profile, i).as_bytes()).map_err(io))?;
        }
        Format::Table => each(&mut |profile, i| {
            let line = table_line(i);
            match profile {
                Some(p) => write!(out, "{:<16} {line}", crate::terminal::field(p)),
                None => out.write_all(line.as_bytes()),
            }
            .map_err(io)
        })?,
    }
    out.flush().map_err(io)
}

/// serde_json's pretty layout (two spaces a level), with each line's start (the comma, the line
/// break and the indent) written at once instead of a write per level: a listing of 10,000
/// incidents has a quarter of a million lines.
#[derive(Default)]
struct Pretty {
    level: usize,
    has_value: bool,
}

impl Pretty {
    /// A comma, a line break and 32 levels of indent: a line's start is a slice of it.
    const LINE: &'static [u8] =
        b",\n                                                                ";

    fn line<W: ?Sized + Write>(&self, out: &mut W, first: bool) -> std::io::Result<()> {
        let from = usize::from(first);
        match Self::LINE.get(from..2 + 2 * self.level) {
            Some(line) => out.write_all(line),
            None => {
                out.write_all(&Self::LINE[from..2])?;
                (0..self.level).try_for_each(|_| out.write_all(b"  "))
            }
        }
    }

    fn begin<W: ?Sized + Write>(&mut self, out: &mut W, open: &[u8]) -> std::io::Result<()> {
        self.level += 1;
        self.has_value = false;
        out.write_all(open)
    }

    fn end<W: ?Sized + Write>(&mut self, out: &mut W, close: &[u8]) -> std::io::Result<()> {
        self.level -= 1;
        if self.has_value {
            self.line(out, true)?;
        }
        out.write_all(close)
    }
}

impl serde_json::ser::Formatter for Pretty {
    fn begin_array<W: ?Sized + Write>(&mut self, out: &mut W) -> std::io::Result<()> {
        self.begin(out, b"[")
    }

    fn end_array<W: ?Sized + Write>(&mut self, out: &mut W) -> std::io::Result<()> {
        self.end(out, b"]")
    }

    fn begin_array_value<W: ?Sized + Write>(
        &mut self,
        out: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.line(out, first)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, _out: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + Write>(&mut self, out: &mut W) -> std::io::Result<()> {
        self.begin(out, b"{")
    }

    fn end_object<W: ?Sized + Write>(&mut self, out: &mut W) -> std::io::Result<()> {
        self.end(out, b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(
        &mut self,
        out: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.line(out, first)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, out: &mut W) -> std::io::Result<()> {
        out.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, _out: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

/// An incident's line in a table: every field escaped, the title cut at 80 characters.
pub fn table_line(i: &Incident) -> String {
    let field = crate::terminal::field;
    let title: String = field(&i.display_name).chars().take(80).collect();
    format!(
        "{:<8} {:<13} {:<11} {:<32} {}\n",
        field(&i.id),
        field(i.severity.as_str()),
        field(i.status.as_str()),
        field(i.assigned_to.as_deref().unwrap_or("-")),
        title
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incident(id: &str, title: &str) -> Incident {
        Incident {
            severity: model::Severity::High,
            created: model::parse_time("2026-11-20T10:00:00Z"),
            last_update: model::parse_time("2026-11-20T11:00:00Z"),
            tags: vec!["a".into(), "b".into()],
            ..Incident::new(id, title)
        }
    }

    #[test]
    fn the_pretty_layout_is_serde_jsons_at_every_depth() {
        // Deeper than the indent written at once (32 levels), empty and full containers.
        let mut deep = serde_json::json!({"leaf": [1, {}, [], "x"]});
        for i in 0..40 {
            deep = serde_json::json!({ "level": i, "empty": {}, "none": [], "inner": [deep, "s"] });
        }
        for value in [
            deep,
            serde_json::json!([]),
            serde_json::json!({}),
            serde_json::json!(7),
        ] {
            let mut ours = Vec::new();
            let mut json = serde_json::Serializer::with_formatter(&mut ours, Pretty::default());
            value.serialize(&mut json).unwrap();
            assert_eq!(
                String::from_utf8(ours).unwrap(),
                serde_json::to_string_pretty(&value).unwrap()
            );
        }
    }

    #[test]
    fn a_streamed_listing_is_the_listing_written_whole() {
        let one = incident("1", "Ransomware, \"quoted\"\non srv-01");
        let two = incident("2", "=cmd|' /C calc'!A0");
        for shown in [vec![], vec![&one], vec![&one, &two]] {
            for format in [Format::Json, Format::Csv, Format::Table] {
                let mut out = Vec::new();
                stream(&mut out, format, false, "test", |emit| {
                    shown.iter().try_for_each(|i| emit(None, i))
                })
                .unwrap();
                let whole = match format {
                    // What `--output` wrote before the listing was streamed.
                    Format::Json => serde_json::to_string_pretty(&shown).unwrap() + "\n",
                    Format::Csv => idesk_core::incidents::export::csv(&shown),
                    Format::Table => shown.iter().map(|i| table_line(i)).collect(),
                };
                assert_eq!(
                    String::from_utf8(out).unwrap(),
                    whole,
                    "{} incidents",
                    shown.len()
                );
            }
        }
    }

    #[test]
    fn a_streamed_listing_of_several_profiles_is_the_listing_written_whole() {
        use idesk_core::incidents::export::{render_across, Across, ExportFormat};
        let one = incident("1", "Ransomware, \"quoted\"\non srv-01");
        let two = incident("1", "=cmd|' /C calc'!A0");
        let both = [("contoso", &one), ("fabrikam, \"ltd\"\n", &two)];
        for shown in [&both[..0], &both[..1], &both[..]] {
            let rows: Vec<Across<'_>> = shown
                .iter()
                .map(|&(profile, incident)| Across { profile, incident })
                .collect();
            for format in [Format::Json, Format::Csv, Format::Table] {
                let mut out = Vec::new();
                stream(&mut out, format, true, "test", |emit| {
                    shown.iter().try_for_each(|(p, i)| emit(Some(p), i))
                })
                .unwrap();
                let whole = match format {
                    Format::Json => render_across(&rows, ExportFormat::Json).unwrap(),
                    Format::Csv => render_across(&rows, ExportFormat::Csv).unwrap(),
                    // What the table of several profiles was before it was streamed.
                    Format::Table => shown
                        .iter()
                        .map(|(p, i)| {
                            format!("{:<16} {}", crate::terminal::field(p), table_line(i))
                        })
                        .collect(),
                };
                assert_eq!(
                    String::from_utf8(out).unwrap(),
                    whole,
                    "{} rows",
                    shown.len()
                );
            }
        }
    }

    #[test]
    fn csv_and_table_lines_keep_their_shape() {
        let one = incident("1", "Ransomware, \"quoted\"\non srv-01");
        let mut csv = Vec::new();
        stream(&mut csv, Format::Csv, false, "test", |emit| {
            emit(None, &one)
        })
        .unwrap();
        assert_eq!(
            String::from_utf8(csv).unwrap(),
            "id,severity,status,assignedTo,classification,determination,tags,created,lastUpdate,displayName,webUrl\n\
             1,high,active,,unknown,unknown,a;b,2026-11-20T10:00:00Z,2026-11-20T11:00:00Z,\"Ransomware, \"\"quoted\"\"\non srv-01\",\n"
        );
        let mut table = Vec::new();
        stream(&mut table, Format::Table, false, "test", |emit| {
            emit(None, &one)
        })
        .unwrap();
        assert_eq!(
            String::from_utf8(table).unwrap(),
            format!(
                "{:<8} {:<13} {:<11} {:<32} {}\n",
                "1", "high", "active", "-", "Ransomware, \"quoted\"\\u000aon srv-01"
            )
        );
    }

    #[test]
    fn a_listing_newest_first_ends_only_past_the_millisecond_of_since() {
        let at = |t: &str| {
            let mut i = incident("1", "x");
            i.last_update = model::parse_time(t);
            i
        };
        let filter = Filter {
            since: model::parse_time("2026-11-20T11:00:00.0005Z"),
            status: vec![],
            severity: vec![],
            assigned_to: None,
            me: None,
            show_merged: false,
        };
        // The store orders to the millisecond: a later change in the same one may still follow.
        let earlier_same_ms = at("2026-11-20T11:00:00.0003Z");
        assert!(!filter.keeps(&earlier_same_ms));
        assert!(!filter.ends_newest_first(&earlier_same_ms));
        assert!(filter.keeps(&at("2026-11-20T11:00:00.0007Z")));
        assert!(filter.ends_newest_first(&at("2026-11-20T10:59:59.9999Z")));
        let mut timeless = incident("2", "x");
        timeless.last_update = None;
        assert!(filter.ends_newest_first(&timeless));
        let every = Filter {
            since: None,
            ..filter
        };
        assert!(!every.ends_newest_first(&timeless) && every.keeps(&timeless));
    }

    #[test]
    fn a_listing_that_fails_leaves_the_file_as_it_was() {
        let dir = std::env::temp_dir().join(format!("idesk-output-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("incidents.json");
        std::fs::write(&path, "earlier\n").unwrap();
        let one = incident("1", "First");
        let failed = write_each(Format::Json, Some(&path), |emit| {
            emit(&one)?;
            Err(Error::Invalid("the store went away".into()))
        });
        let kept = std::fs::read_to_string(&path).unwrap();
        let left: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(matches!(failed, Err(Error::Invalid(m)) if m == "the store went away"));
        assert_eq!(kept, "earlier\n");
        assert_eq!(left, ["incidents.json"], "no temp file left");
    }

    #[test]
    fn a_streamed_listing_ends_with_the_error_of_its_source() {
        let one = incident("1", "First");
        let mut out = Vec::new();
        let failed = stream(&mut out, Format::Json, false, "test", |emit| {
            emit(None, &one)?;
            Err(Error::Invalid("the store went away".into()))
        });
        assert!(matches!(failed, Err(Error::Invalid(m)) if m == "the store went away"));
    }

    #[test]
    fn since_accepts_durations_and_times() {
        let t = parse_since("48h").unwrap();
        let age = OffsetDateTime::now_utc() - t;
        assert!((age - time::Duration::hours(48)).abs() < time::Duration::minutes(1));
        assert!(parse_since("2026-01-01T00:00:00Z").is_ok());
        assert!(parse_since("48x").is_err());
    }
}
