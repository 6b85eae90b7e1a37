//! An incident report to paste into a ticket: one incident or a selection, as Markdown or as a
//! self-contained HTML page — summary, alert timeline, entities with verdicts, comments,
//! classification, portal link.
//!
//! Every incident string is attacker-influenced. In Markdown each one is fenced (an inline code
//! span, or a code block for text of several lines) with a fence longer than any run of backticks
//! in it, so it cannot close its fence and become markup. In HTML each one is escaped, and the page
//! forbids scripts, frames and remote content by its own Content-Security-Policy, so even a string
//! that got through unescaped could not run or load anything.

use std::collections::HashSet;
use std::fmt::Write;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::incidents::model::{rfc3339, Alert, Evidence, IncidentDetail};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum ReportFormat {
    Markdown,
    Html,
}

impl ReportFormat {
    pub fn extension(self) -> &'static str {
        match self {
            ReportFormat::Markdown => "md",
            ReportFormat::Html => "html",
        }
    }
}

/// The report of these incidents, generated at `now`.
pub fn render(details: &[IncidentDetail], format: ReportFormat, now: OffsetDateTime) -> String {
    let report = Report::of(details);
    match format {
        ReportFormat::Markdown => markdown(&report, now),
        ReportFormat::Html => html(&report, now),
    }
}

/// What a report says of one incident, in the order it says it.
struct Section<'a> {
    d: &'a IncidentDetail,
    /// Facts as `(label, value)`; values are incident data.
    facts: Vec<(&'static str, String)>,
    /// Alerts, oldest first.
    alerts: Vec<&'a Alert>,
    /// Each entity once (by key).
    entities: Vec<&'a Evidence>,
    portal: Option<String>,
}

struct Report<'a> {
    sections: Vec<Section<'a>>,
}

impl<'a> Report<'a> {
    fn of(details: &'a [IncidentDetail]) -> Self {
        let sections = details
            .iter()
            .map(|d| {
                let i = &d.incident;
                let time = |t: Option<OffsetDateTime>| t.map(rfc3339).unwrap_or_else(|| "-".into());
                let mut facts = vec![
                    ("Severity", i.severity.as_str().to_owned()),
                    ("Status", i.status.as_str().to_owned()),
                    (
                        "Assigned to",
                        i.assigned_to.clone().unwrap_or_else(|| "nobody".into()),
                    ),
                    ("Classification", i.classification.as_str().to_owned()),
                    ("Determination", i.determination.as_str().to_owned()),
                    ("Created", time(i.created)),
                    ("Last update", time(i.last_update)),
                ];
                if let Some(into) = &i.redirect_incident_id {
                    facts.push(("Merged into", format!("#{into}")));
                }
                if let Some(p) = i.priority_score {
                    facts.push(("Priority", format!("{p}/100")));
                }
                if !i.tags.is_empty() {
                    facts.push(("Tags", i.tags.join(", ")));
                }
                let mut alerts: Vec<&Alert> = d.alerts.iter().collect();
                alerts.sort_by_key(|a| a.created);
                let mut seen = HashSet::new();
                let entities = d
                    .alerts
                    .iter()
                    .flat_map(|a| &a.evidence)
                    .filter(|e| seen.insert(e.key.as_str()))
                    .collect();
                Section {
                    d,
                    facts,
                    alerts,
                    entities,
                    portal: i.web_url.as_deref().and_then(portal_link),
                }
            })
            .collect();
        Report { sections }
    }
}

/// The incident's portal link when it is one: an https URL (anything else is shown as text).
fn portal_link(url: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    (u.scheme() == "https" && u.host_str().is_some()).then(|| u.to_string())
}

/// An alert's facts a report names beside its title, as `(label, value)`.
fn alert_facts(a: &Alert) -> impl Iterator<Item = (&'static str, &str)> {
    [
        ("category", &a.category),
        ("source", &a.service_source),
        ("detected by", &a.detection_source),
        ("threat", &a.threat_display_name),
        ("actor", &a.actor_display_name),
    ]
    .into_iter()
    .filter_map(|(label, value)| Some((label, value.as_deref()?)))
}

fn entity_facts(e: &Evidence) -> Vec<String> {
    let mut facts: Vec<String> = e.verdict.iter().cloned().collect();
    facts.extend(e.roles.iter().map(|r| format!("role: {r}")));
    if let Some(r) = e.remediation_status.as_deref().filter(|r| *r != "none") {
        facts.push(format!("remediation: {r}"));
    }
    facts.extend(e.tags.iter().map(|t| format!("tag: {t}")));
    facts
}

/// Incident text as a report shows it: control characters dropped, and the invisible characters
/// that reorder text (bidirectional overrides, as in "Invoice\u{202E}gpj.exe") named, so a
/// title cannot pass for another.
fn visible(s: &str, keep_lines: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' | '\r' | '\t' if !keep_lines => out.push(' '),
            '\n' | '\t' => out.push(c),
            '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' => {
                let _ = write!(out, "[U+{:04X}]", c as u32);
            }
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

// ---- Markdown ----

/// The longest run of `c` in `s`.
fn longest_run(s: &str, c: char) -> usize {
    let (mut longest, mut run) = (0, 0);
    for ch in s.chars() {
        run = if ch == c { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    longest
}

/// Incident text as an inline code span: literal, whatever it holds. Line breaks become spaces
/// (a span is one line); control characters are dropped.
fn code(s: &str) -> String {
    let s = visible(s, false);
    if s.trim().is_empty() {
        return "(none)".into();
    }
    let fence = "`".repeat(longest_run(&s, '`') + 1);
    // A space inside the fence, which CommonMark strips, lets the text start or end with a backtick.
    format!("{fence} {s} {fence}")
}

/// Incident text of several lines as a fenced code block.
fn block(out: &mut String, s: &str) {
    let s = visible(s, true);
    let fence = "`".repeat((longest_run(&s, '`') + 1).max(3));
    let _ = writeln!(out, "{fence}text\n{}\n{fence}\n", s.trim_end());
}

fn markdown(r: &Report, now: OffsetDateTime) -> String {
    let mut out = String::new();
    for s in &r.sections {
        let i = &s.d.incident;
        let _ = writeln!(
            out,
            "# Incident {}: {}\n",
            code(&i.id),
            code(&i.display_name)
        );
        for (label, value) in &s.facts {
            let _ = writeln!(out, "- **{label}:** {}", code(value));
        }
        match &s.portal {
            Some(url) => {
                let _ = writeln!(out, "- **Portal:** <{url}>");
            }
            None => {
                if let Some(url) = &i.web_url {
                    let _ = writeln!(out, "- **Portal:** {}", code(url));
                }
            }
        }
        out.push('\n');
        for (title, text) in [("Summary", &s.d.summary), ("Description", &s.d.description)] {
            if let Some(text) = text {
                let _ = writeln!(out, "## {title}\n");
                block(&mut out, text);
            }
        }
        let _ = writeln!(out, "## Alerts ({})\n", s.alerts.len());
        for a in &s.alerts {
            let when = a.created.map(rfc3339).unwrap_or_else(|| "-".into());
            let _ = writeln!(
                out,
                "- {when} · {} · {}",
                code(a.severity.as_str()),
                code(&a.title)
            );
            let mut more: Vec<String> = alert_facts(a)
                .map(|(label, v)| format!("{label} {}", code(v)))
                .collect();
            if !a.mitre_techniques.is_empty() {
                more.push(format!("MITRE {}", code(&a.mitre_techniques.join(", "))));
            }
            if !more.is_empty() {
                let _ = writeln!(out, "  - {}", more.join(" · "));
            }
            if let Some(d) = &a.description {
                let _ = writeln!(out, "  - {}", code(d));
            }
            if let Some(r) = &a.recommended_actions {
                let _ = writeln!(out, "  - Recommended: {}", code(r));
            }
        }
        out.push('\n');
        let _ = writeln!(out, "## Entities ({})\n", s.entities.len());
        for e in &s.entities {
            let facts = entity_facts(e);
            let facts = if facts.is_empty() {
                String::new()
            } else {
                format!(" — {}", code(&facts.join(", ")))
            };
            let _ = writeln!(out, "- {} {}{facts}", code(&e.kind), code(&e.title));
        }
        out.push('\n');
        let _ = writeln!(out, "## Comments ({})\n", i.comments.len());
        for c in &i.comments {
            let when = c.created.map(rfc3339).unwrap_or_else(|| "-".into());
            let who = c.author.as_deref().unwrap_or("someone");
            let _ = writeln!(out, "{} at {when}:\n", code(who));
            block(&mut out, &c.text);
        }
        out.push_str("---\n\n");
    }
    let _ = writeln!(out, "_Generated by Incident Desk at {}._", rfc3339(now));
    out
}

// ---- HTML ----

/// Incident text as HTML text: every character that could start markup or leave an attribute
/// is an entity.
fn esc(s: &str) -> String {
    let s = visible(s, true);
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font:14px/1.45 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1b1f24}\
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:1.4rem}dl{display:grid;grid-template-columns:10rem 1fr;gap:.2rem 1rem}\
dt{color:#57606a}dd{margin:0}.pre{white-space:pre-wrap}.muted{color:#57606a}.chip{display:inline-block;border:1px solid #d0d7de;\
border-radius:1rem;padding:0 .5rem;margin-right:.3rem;font-size:.85rem}.malicious{background:#c62828;color:#fff}\
.suspicious{background:#ef6c00;color:#fff}hr{margin:2rem 0}";

fn html(r: &Report, now: OffsetDateTime) -> String {
    let mut out = String::new();
    let title = match r.sections.as_slice() {
        [one] => format!("Incident {}", esc(&one.d.incident.id)),
        many => format!("{} incidents", many.len()),
    };
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'\">\
         <meta name=\"referrer\" content=\"no-referrer\">\
         <title>{title}</title><style>{STYLE}</style></head><body>\n"
    );
    for s in &r.sections {
        let i = &s.d.incident;
        let _ = writeln!(
            out,
            "<article><h1>Incident {}: {}</h1><dl>",
            esc(&i.id),
            esc(&i.display_name)
        );
        for (label, value) in &s.facts {
            let _ = writeln!(out, "<dt>{label}</dt><dd>{}</dd>", esc(value));
        }
        if let Some(url) = &s.portal {
            let _ = writeln!(
                out,
                "<dt>Portal</dt><dd><a href=\"{0}\" rel=\"noreferrer noopener\">{0}</a></dd>",
                esc(url)
            );
        }
        out.push_str("</dl>\n");
        for (title, text) in [("Summary", &s.d.summary), ("Description", &s.d.description)] {
            if let Some(text) = text {
                let _ = writeln!(out, "<h2>{title}</h2><p class=\"pre\">{}</p>", esc(text));
            }
        }
        let _ = writeln!(out, "<h2>Alerts ({})</h2><ol>", s.alerts.len());
        for a in &s.alerts {
            let when = a.created.map(rfc3339).unwrap_or_else(|| "-".into());
            let _ = write!(
                out,
                "<li><span class=\"muted\">{}</span> <strong>{}</strong> {}",
                esc(&when),
                esc(a.severity.as_str()),
                esc(&a.title)
            );
            let more: Vec<String> = alert_facts(a)
                .map(|(label, v)| format!("{label} {}", esc(v)))
                .collect();
            if !more.is_empty() {
                let _ = write!(out, "<br><span class=\"muted\">{}</span>", more.join(" · "));
            }
            if let Some(d) = &a.description {
                let _ = write!(out, "<p class=\"pre\">{}</p>", esc(d));
            }
            if let Some(rec) = &a.recommended_actions {
                let _ = write!(out, "<p class=\"pre\">Recommended: {}</p>", esc(rec));
            }
            out.push_str("</li>\n");
        }
        out.push_str("</ol>\n");
        let _ = writeln!(out, "<h2>Entities ({})</h2><ul>", s.entities.len());
        for e in &s.entities {
            let _ = write!(
                out,
                "<li>{}: <strong>{}</strong> ",
                esc(&e.kind),
                esc(&e.title)
            );
            for f in entity_facts(e) {
                let class = e.verdict.as_deref().filter(|v| *v == f).map_or("", |v| {
                    if v == "malicious" {
                        " malicious"
                    } else if v == "suspicious" {
                        " suspicious"
                    } else {
                        ""
                    }
                });
                let _ = write!(out, "<span class=\"chip{class}\">{}</span>", esc(&f));
            }
            out.push_str("</li>\n");
        }
        out.push_str("</ul>\n");
        let _ = writeln!(out, "<h2>Comments ({})</h2>", i.comments.len());
        for c in &i.comments {
            let when = c.created.map(rfc3339).unwrap_or_else(|| "-".into());
            let _ = writeln!(
                out,
                "<p><span class=\"muted\">{} at {}</span></p><p class=\"pre\">{}</p>",
                esc(c.author.as_deref().unwrap_or("someone")),
                esc(&when),
                esc(&c.text)
            );
        }
        out.push_str("</article><hr>\n");
    }
    let _ = writeln!(
        out,
        "<p class=\"muted\">Generated by Incident Desk at {}.</p></body></html>",
        esc(&rfc3339(now))
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incidents::model::{Comment, Incident, Severity, Status};

    const HOSTILE: &[&str] = &[
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "\"><svg onload=alert(document.domain)>",
        "` <b>closed the span</b> `",
        "```\n# Heading from an attacker\n<script>alert(2)</script>\n```",
        "[click](javascript:alert(3))",
        "'; DROP TABLE incidents; --",
        "Invoice\u{202E}gpj.exe\u{0}\u{1b}[2J",
    ];

    fn hostile_detail() -> IncidentDetail {
        let evidence = |n: usize, s: &str| Evidence {
            kind: "file".into(),
            title: s.into(),
            key: format!("file:{n}"),
            verdict: Some("malicious".into()),
            roles: vec![s.into()],
            remediation_status: Some(s.into()),
            tags: vec![s.into()],
            details: vec![],
        };
        let alerts = HOSTILE
            .iter()
            .enumerate()
            .map(|(n, s)| Alert {
                id: format!("a{n}"),
                title: (*s).into(),
                severity: Severity::High,
                status: Status::from(*s),
                category: Some((*s).into()),
                service_source: Some((*s).into()),
                mitre_techniques: vec![(*s).into()],
                created: None,
                web_url: None,
                evidence: vec![evidence(n, s)],
                description: Some((*s).into()),
                recommended_actions: Some((*s).into()),
                detection_source: Some((*s).into()),
                threat_display_name: Some((*s).into()),
                actor_display_name: Some((*s).into()),
                first_activity: None,
                last_activity: None,
            })
            .collect();
        IncidentDetail {
            incident: Incident {
                severity: Severity::from(HOSTILE[2]),
                assigned_to: Some(HOSTILE[3].into()),
                tags: HOSTILE.iter().map(|s| (*s).to_owned()).collect(),
                web_url: Some("javascript:alert(4)".into()),
                comments: HOSTILE
                    .iter()
                    .map(|s| Comment {
                        text: (*s).into(),
                        author: Some((*s).into()),
                        created: None,
                    })
                    .collect(),
                priority_score: Some(90),
                ..Incident::new(HOSTILE[0], HOSTILE[1])
            },
            alerts,
            summary: Some(HOSTILE[4].into()),
            description: Some(HOSTILE[5].into()),
            history: vec![],
            pivots: Vec::new(),
            from_cache: false,
        }
    }

    const NOW: OffsetDateTime = time::macros::datetime!(2026-11-22 10:00 UTC);

    #[test]
    fn html_escapes_every_incident_string_and_forbids_scripts() {
        let page = render(&[hostile_detail()], ReportFormat::Html, NOW);
        for tag in ["<script", "<img", "<svg", "<b>"] {
            let lower = page.to_lowercase();
            let at = lower.find(tag);
            assert!(
                at.is_none(),
                "{tag} appears as markup: …{}…",
                &page[at.unwrap().saturating_sub(60)..at.unwrap() + 40]
            );
        }
        assert!(
            page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "shown as text"
        );
        assert!(
            !page.contains("href=\"javascript"),
            "a link only to an https URL"
        );
        assert!(page.contains("content=\"default-src 'none'; style-src 'unsafe-inline'"));
        assert!(!page.contains('\u{0}') && !page.contains('\u{1b}'));
        assert!(
            !page.contains('\u{202E}') && page.contains("Invoice[U+202E]gpj.exe"),
            "a bidi override is named, not obeyed"
        );
        // Every element the page has is one the report writes.
        let allowed = [
            "!doctype", "html", "head", "meta", "title", "style", "body", "article", "h1", "dl",
            "dt", "dd", "h2", "p", "ol", "ul", "li", "span", "strong", "br", "hr", "a",
        ];
        for tag in page.split('<').skip(1) {
            let name: String = tag
                .trim_start_matches('/')
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '!')
                .collect::<String>()
                .to_lowercase();
            assert!(
                allowed.contains(&name.as_str()),
                "unexpected element <{name}"
            );
        }
    }

    #[test]
    fn markdown_fences_every_incident_string() {
        let md = render(&[hostile_detail()], ReportFormat::Markdown, NOW);
        // Outside code spans and blocks, no incident text: strip them and look for what is left.
        let mut prose = String::new();
        let mut lines = md.lines();
        while let Some(line) = lines.next() {
            let fence_len = line.chars().take_while(|c| *c == '`').count();
            if fence_len >= 3 {
                let fence = "`".repeat(fence_len);
                for inner in lines.by_ref() {
                    if inner == fence {
                        break;
                    }
                }
                continue;
            }
            prose.push_str(&strip_spans(line));
            prose.push('\n');
        }
        for s in [
            "<script",
            "<img",
            "<svg",
            "<b>",
            "javascript:",
            "DROP TABLE",
            "# Heading",
        ] {
            assert!(!prose.contains(s), "{s:?} outside a fence:\n{prose}");
        }
        assert!(!md.contains('\u{0}') && !md.contains('\u{1b}'));
        assert!(md.contains("# Incident "));
        assert!(md.contains("## Entities (8)"));
    }

    /// A line with its CommonMark code spans taken out: a run of n backticks opens a span that
    /// the next run of exactly n backticks closes.
    fn strip_spans(line: &str) -> String {
        let chars: Vec<char> = line.chars().collect();
        let mut out = String::new();
        let mut at = 0;
        while at < chars.len() {
            if chars[at] != '`' {
                out.push(chars[at]);
                at += 1;
                continue;
            }
            let n = chars[at..].iter().take_while(|c| **c == '`').count();
            let mut k = at + n;
            let mut closed = None;
            while k < chars.len() {
                if chars[k] == '`' {
                    let m = chars[k..].iter().take_while(|c| **c == '`').count();
                    if m == n {
                        closed = Some(k + m);
                        break;
                    }
                    k += m;
                } else {
                    k += 1;
                }
            }
            match closed {
                Some(end) => at = end,
                None => panic!("an unclosed code span in {line:?}"),
            }
        }
        out
    }

    #[test]
    fn entities_appear_once_and_alerts_in_time_order() {
        let mut d = hostile_detail();
        d.alerts[1].evidence[0].key = d.alerts[0].evidence[0].key.clone();
        let early = time::macros::datetime!(2026-11-20 08:00 UTC);
        d.alerts[3].created = Some(early);
        d.alerts[2].created = Some(early + time::Duration::minutes(5));
        let md = render(&[d], ReportFormat::Markdown, NOW);
        assert!(md.contains("## Entities (7)"), "one entity per key");
        let first = md.find("2026-11-20T08:00:00Z").unwrap();
        let second = md.find("2026-11-20T08:05:00Z").unwrap();
        assert!(first < second);
    }
}
