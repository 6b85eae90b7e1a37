//! The incident domain model, one shape for both backends.
//!
//! Incident text (titles, tags, names) is attacker-influenced: it is carried as plain strings and
//! every front end renders it as text. Enums are open: matched case-insensitively (the docs' own
//! examples mix `TruePositive` and `truePositive`), and a value this build does not know is kept
//! as it came, not dropped.

use serde::{Deserialize, Serialize};

macro_rules! open_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $wire:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $($variant,)+
            /// A value this build does not know, kept verbatim.
            Other(String),
        }

        impl $name {
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $wire,)+
                    Self::Other(s) => s,
                }
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                $(if s.eq_ignore_ascii_case($wire) { return Self::$variant; })+
                Self::Other(s.to_owned())
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
    /// Incident severity, in increasing order of urgency.
    Severity {
        Unknown = "unknown",
        Informational = "informational",
        Low = "low",
        Medium = "medium",
        High = "high",
    }
);

open_enum!(
    /// Incident status.
    Status {
        Active = "active",
        InProgress = "inProgress",
        AwaitingAction = "awaitingAction",
        Resolved = "resolved",
        Redirected = "redirected",
    }
);

impl Severity {
    /// For sorting: High first.
    pub fn rank(&self) -> u8 {
        match self {
            Severity::High => 4,
            Severity::Medium => 3,
            Severity::Low => 2,
            Severity::Informational => 1,
            Severity::Unknown | Severity::Other(_) => 0,
        }
    }
}

/// One incident as the app shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Incident {
    pub id: String,
    pub display_name: String,
    pub severity: Severity,
    pub status: Status,
    pub assigned_to: Option<String>,
    pub classification: Option<String>,
    pub determination: Option<String>,
    /// RFC 3339, as the API sent it.
    pub created: Option<String>,
    /// RFC 3339, as the API sent it.
    pub last_update: Option<String>,
    pub tags: Vec<String>,
    pub web_url: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_are_case_insensitive_and_keep_unknown_values() {
        assert_eq!(Severity::from("HIGH"), Severity::High);
        assert_eq!(Status::from("InProgress"), Status::InProgress);
        let future: Status = serde_json::from_str("\"someFutureValue\"").unwrap();
        assert_eq!(future, Status::Other("someFutureValue".into()));
        assert_eq!(
            serde_json::to_string(&future).unwrap(),
            "\"someFutureValue\"",
            "unknown values round-trip"
        );
    }
}
