//! Export of incidents as JSON (the shape `idesk incidents --format json` prints) or CSV, for the
//! CLI and the app's "export the current view". CSV values that a spreadsheet would run as a
//! formula are defused: incident text is attacker-influenced.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::incidents::model::{rfc3339, Incident};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    Json,
    Csv,
}

impl ExportFormat {
    /// The file name extension, and the name offered in a save dialog.
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Json => "json",
            ExportFormat::Csv => "csv",
        }
    }
}

pub fn render(incidents: &[&Incident], format: ExportFormat) -> Result<String> {
    match format {
        ExportFormat::Json => json(incidents),
        ExportFormat::Csv => Ok(csv(incidents)),
    }
}

/// An incident with the profile it belongs to: a row of the all-profiles queue.
#[derive(Serialize)]
pub struct Across<'a> {
    pub profile: &'a str,
    #[serde(flatten)]
    pub incident: &'a Incident,
}

/// Incidents of several profiles: each JSON object names its `profile`, and CSV has a leading
/// `profile` column.
pub fn render_across(rows: &[Across<'_>], format: ExportFormat) -> Result<String> {
    match format {
        ExportFormat::Json => serde_json::to_string_pretty(rows)
            .map(|s| s + "\n")
            .map_err(|e| Error::Internal(format!("JSON export: {e}"))),
        ExportFormat::Csv => Ok(csv_rows(
            rows.iter().map(|r| (Some(r.profile), r.incident)),
            true,
        )),
    }
}

pub fn json(incidents: &[&Incident]) -> Result<String> {
    serde_json::to_string_pretty(incidents)
        .map(|s| s + "\n")
        .map_err(|e| Error::Internal(format!("JSON export: {e}")))
}

pub fn csv(incidents: &[&Incident]) -> String {
    csv_rows(incidents.iter().map(|i| (None, *i)), false)
}

fn csv_rows<'a>(
    rows: impl Iterator<Item = (Option<&'a str>, &'a Incident)>,
    with_profile: bool,
) -> String {
    let mut out = csv_header(with_profile);
    for (profile, i) in rows {
        out.push_str(&csv_row(profile, i));
    }
    out
}

/// The CSV header line, with a leading `profile` column for rows of several profiles.
pub fn csv_header(with_profile: bool) -> String {
    let mut out = String::from(if with_profile { "profile," } else { "" });
    out.push_str(
        "id,severity,status,assignedTo,classification,determination,tags,created,lastUpdate,displayName,webUrl\n",
    );
    out
}

/// One incident's CSV line (after `csv_header`): a streamed export writes them one at a time.
pub fn csv_row(profile: Option<&str>, i: &Incident) -> String {
    let mut out = String::new();
    if let Some(p) = profile {
        out.push_str(&csv_field(p));
        out.push(',');
    }
    let tags = i.tags.join(";");
    let created = i.created.map(rfc3339).unwrap_or_default();
    let last_update = i.last_update.map(rfc3339).unwrap_or_default();
    let row = [
        i.id.as_str(),
        i.severity.as_str(),
        i.status.as_str(),
        i.assigned_to.as_deref().unwrap_or(""),
        i.classification.as_str(),
        i.determination.as_str(),
        tags.as_str(),
        created.as_str(),
        last_update.as_str(),
        i.display_name.as_str(),
        i.web_url.as_deref().unwrap_or(""),
    ];
    out.push_str(&row.map(csv_field).join(","));
    out.push('\n');
    out
}

/// RFC 4180 quoting, and a leading quote on values a spreadsheet would run as a formula.
fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_of_several_profiles_name_their_profile() {
        let i = Incident {
            severity: crate::incidents::model::Severity::High,
            ..Incident::new("7", "=cmd")
        };
        let rows = [Across {
            profile: "Fabrikam, Ltd",
            incident: &i,
        }];
        let csv = render_across(&rows, ExportFormat::Csv).unwrap();
        let mut lines = csv.lines();
        assert!(lines.next().unwrap().starts_with("profile,id,severity,"));
        assert!(lines
            .next()
            .unwrap()
            .starts_with("\"Fabrikam, Ltd\",7,high,active,"));
        let json: serde_json::Value =
            serde_json::from_str(&render_across(&rows, ExportFormat::Json).unwrap()).unwrap();
        assert_eq!(json[0]["profile"], "Fabrikam, Ltd");
        assert_eq!(json[0]["id"], "7");
        assert_eq!(
            json[0]["displayName"], "=cmd",
            "JSON is data, not a spreadsheet"
        );
    }

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("plain"), "plain");
    }
}
