//! The incident domain model, one shape for both backends.
//!
//! Incident text (titles, tags, names, comments, evidence) is attacker-influenced: it is carried as
//! plain strings and every front end renders it as text. Enums are open: matched without regard to
//! case, spaces or punctuation (the docs' own examples mix `TruePositive`, `truePositive` and
//! "Informational, expected activity"), and a value this build does not know is kept as it came.

use serde::{Deserialize, Serialize};

/// Whether two enum spellings are the same value: compared on letters and digits only, without
/// regard to case. No allocation: this runs for every enum field of every incident parsed.
fn same(a: &str, b: &str) -> bool {
    a.bytes()
        .filter(u8::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .eq(b
            .bytes()
            .filter(u8::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase()))
}

macro_rules! open_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $wire:literal $(| $alias:literal)*),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $($variant,)+
            /// A value this build does not know, kept verbatim.
            Unrecognized(String),
        }

        impl $name {
            /// Graph's spelling.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $wire,)+
                    Self::Unrecognized(s) => s,
                }
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                $(if same(s, $wire) $(|| same(s, $alias))* { return Self::$variant; })+
                Self::Unrecognized(s.to_owned())
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                Ok(Self::from(String::deserialize(d)?.as_str()))
            }
        }
    };
}

open_enum!(
    /// Incident severity.
    Severity {
        Unknown = "unknown" | "UnSpecified",
        Informational = "informational",
        Low = "low",
        Medium = "medium",
        High = "high",
    }
);

open_enum!(
    /// Incident status.
    Status {
        Active = "active" | "new",
        InProgress = "inProgress",
        AwaitingAction = "awaitingAction",
        Resolved = "resolved",
        Redirected = "redirected",
    }
);

open_enum!(
    /// The analyst's verdict.
    Classification {
        Unknown = "unknown",
        TruePositive = "truePositive",
        FalsePositive = "falsePositive",
        InformationalExpectedActivity = "informationalExpectedActivity",
    }
);

open_enum!(
    /// What the incident turned out to be (its values depend on the classification).
    Determination {
        Unknown = "unknown" | "NotAvailable",
        Apt = "apt",
        Malware = "malware",
        SecurityPersonnel = "securityPersonnel",
        SecurityTesting = "securityTesting",
        UnwantedSoftware = "unwantedSoftware",
        Other = "other",
        MultiStagedAttack = "multiStagedAttack",
        CompromisedAccount = "compromisedAccount" | "compromisedUser",
        Phishing = "phishing",
        MaliciousUserActivity = "maliciousUserActivity",
        NotMalicious = "notMalicious" | "clean",
        NotEnoughDataToValidate = "notEnoughDataToValidate" | "insufficientData" | "NoEnoughDataToValidate",
        ConfirmedActivity = "confirmedActivity" | "confirmedUserActivity",
        LineOfBusinessApplication = "lineOfBusinessApplication",
    }
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Comment {
    pub text: String,
    pub author: Option<String>,
    /// RFC 3339.
    pub created: Option<String>,
}

/// One incident as the app shows it in the queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Incident {
    pub id: String,
    pub display_name: String,
    pub severity: Severity,
    pub status: Status,
    pub assigned_to: Option<String>,
    pub classification: Classification,
    pub determination: Determination,
    /// RFC 3339, as the API sent it.
    pub created: Option<String>,
    /// RFC 3339, as the API sent it.
    pub last_update: Option<String>,
    /// The analysts' own tags.
    pub tags: Vec<String>,
    /// Tags the service set (e.g. "Defender Experts", attack disruption).
    pub system_tags: Vec<String>,
    pub web_url: Option<String>,
    pub redirect_incident_id: Option<String>,
    pub comments: Vec<Comment>,
    /// Known when the API lists alerts with the incident (Defender XDR), else `None`.
    pub alert_count: Option<u32>,
    /// The services that raised its alerts, when known.
    pub service_sources: Vec<String>,
    /// Its alerts' categories (MITRE tactics), when known.
    pub categories: Vec<String>,
}

/// A piece of evidence (an entity) on an alert: a device, user, file, IP, process, mailbox, ...
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Evidence {
    /// device, user, file, ip, url, process, mailbox, registry, ... or as the API named it.
    pub kind: String,
    /// A one-line name for it: the device name, the account, the file name, the address.
    pub title: String,
    /// Other fields, in the API's order, as `(name, value)`.
    pub details: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    pub id: String,
    pub title: String,
    pub severity: Severity,
    pub status: Status,
    pub category: Option<String>,
    pub service_source: Option<String>,
    pub mitre_techniques: Vec<String>,
    pub created: Option<String>,
    pub web_url: Option<String>,
    pub evidence: Vec<Evidence>,
}

/// An incident with its alerts, for the detail view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IncidentDetail {
    pub incident: Incident,
    pub alerts: Vec<Alert>,
}

/// A triage change. `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Update {
    pub status: Option<Status>,
    /// `Some(None)` unassigns.
    pub assigned_to: Option<Option<String>>,
    pub classification: Option<Classification>,
    pub determination: Option<Determination>,
    /// Replaces the analysts' tags.
    pub tags: Option<Vec<String>>,
    pub comment: Option<String>,
}

impl Update {
    pub fn is_empty(&self) -> bool {
        *self == Update::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_fold_case_and_punctuation_and_keep_unknown_values() {
        assert_eq!(Severity::from("HIGH"), Severity::High);
        assert_eq!(Severity::from("UnSpecified"), Severity::Unknown);
        assert_eq!(Status::from("InProgress"), Status::InProgress);
        assert_eq!(
            Classification::from("Informational, expected activity"),
            Classification::InformationalExpectedActivity
        );
        assert_eq!(Determination::from("NotAvailable"), Determination::Unknown);
        assert_eq!(
            Determination::from("NoEnoughDataToValidate"),
            Determination::NotEnoughDataToValidate
        );
        let future: Status = serde_json::from_str("\"someFutureValue\"").unwrap();
        assert_eq!(future, Status::Unrecognized("someFutureValue".into()));
        assert_eq!(
            serde_json::to_string(&future).unwrap(),
            "\"someFutureValue\"",
            "unknown values round-trip"
        );
    }
}
