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

pub fn json(incidents: &[&Incident]) -> Result<String> {
    serde_json::to_string_pretty(incidents)
        .map(|s| s + "\n")
        .map_err(|e| Error::Internal(format!("JSON export: {e}")))
}

pub fn csv(incidents: &[&Incident]) -> String {
    let mut out = String::from(
        "id,severity,status,assignedTo,classification,determination,tags,created,lastUpdate,displayName,webUrl\n",
    );
    for i in incidents {
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
    }
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
    fn csv_quotes_and_defuses_formulas() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("plain"), "plain");
    }
}
