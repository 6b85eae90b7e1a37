//! The incident domain model, one shape for both backends.
//!
//! Incident text (titles, tags, names, comments, evidence) is attacker-influenced: it is carried as
//! plain strings and every front end renders it as text. Enums are open: matched without regard to
//! case, spaces or punctuation (the docs' own examples mix `TruePositive`, `truePositive` and
//! "Informational, expected activity"), and a value this build does not know is kept as it came.

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// A time as the APIs send it, read leniently: RFC 3339 with any number of fractional digits; one
/// without an offset is taken as UTC (Defender XDR has sent such). Anything else is no time.
pub fn parse_time(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339)
        .or_else(|_| OffsetDateTime::parse(&format!("{s}Z"), &Rfc3339))
        .ok()
}

/// RFC 3339, as the APIs' `$filter` and every export expect.
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// An optional time as RFC 3339, as `time::serde::rfc3339::option` writes it, formatted on the
/// stack: every incident written has two or more. A `with` module, as that one is, so the
/// generated IPC bindings type the field as before (`serialize_with` made it optional in them).
mod rfc3339_text {
    use serde::Serializer;
    use time::format_description::well_known::Rfc3339;
    use time::OffsetDateTime;

    pub fn serialize<S: Serializer>(t: &Option<OffsetDateTime>, s: S) -> Result<S::Ok, S::Error> {
        let Some(t) = t else {
            return s.serialize_none();
        };
        const ROOM: usize = 64;
        let mut text = [0u8; ROOM];
        let mut rest = &mut text[..];
        // What was written is what the slice lost: `format_into`'s own count (time 0.3.55) leaves
        // out some of the fraction's digits.
        t.format_into(&mut rest, &Rfc3339)
            .map_err(serde::ser::Error::custom)?;
        let n = ROOM - rest.len();
        s.serialize_some(std::str::from_utf8(&text[..n]).map_err(serde::ser::Error::custom)?)
    }
}

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

/// A string read into `T` without a copy of its own (a JSON reader hands over the text in place,
/// or in its scratch space when the text has escapes).
struct FromText<T>(std::marker::PhantomData<T>);

impl<T: for<'a> From<&'a str>> serde::de::Visitor<'_> for FromText<T> {
    type Value = T;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<T, E> {
        Ok(T::from(s))
    }
}

/// A time field as the APIs send it (`parse_time`), read from the text where it lies: a string
/// that is no time is no time, as null and a missing field are; anything else is an error.
pub(crate) fn lenient_time<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<OffsetDateTime>, D::Error> {
    struct Time;
    impl<'de> serde::de::Visitor<'de> for Time {
        type Value = Option<OffsetDateTime>;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a time as a string, or null")
        }

        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_str(self)
        }

        fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Self::Value, E> {
            Ok(parse_time(s))
        }
    }
    d.deserialize_option(Time)
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
                // Graph's own spelling, as nearly every value comes, before the lenient match.
                $(if s == $wire { return Self::$variant; })+
                $(if same(s, $wire) $(|| same(s, $alias))* { return Self::$variant; })+
                Self::Unrecognized(s.to_owned())
            }
        }

        /// Crosses IPC as its wire string: an open set of values.
        impl specta::Type for $name {
            fn definition(types: &mut specta::Types) -> specta::datatype::DataType {
                <String as specta::Type>::definition(types)
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        /// Read from the text where it lies: only a value this build does not know is copied.
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_str(FromText(std::marker::PhantomData::<$name>))
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

impl Severity {
    /// Higher is more severe: high 4, medium 3, low 2, informational 1, anything else 0.
    pub fn rank(&self) -> u8 {
        match self {
            Severity::High => 4,
            Severity::Medium => 3,
            Severity::Low => 2,
            Severity::Informational => 1,
            _ => 0,
        }
    }
}

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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Comment {
    pub text: String,
    pub author: Option<String>,
    #[serde(with = "rfc3339_text")]
    #[specta(type = Option<String>)]
    pub created: Option<OffsetDateTime>,
}

/// One incident as the app shows it in the queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Incident {
    pub id: String,
    pub display_name: String,
    pub severity: Severity,
    pub status: Status,
    pub assigned_to: Option<String>,
    pub classification: Classification,
    pub determination: Determination,
    #[serde(with = "rfc3339_text")]
    #[specta(type = Option<String>)]
    pub created: Option<OffsetDateTime>,
    #[serde(with = "rfc3339_text")]
    #[specta(type = Option<String>)]
    pub last_update: Option<OffsetDateTime>,
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
    /// Microsoft's priority for the incident (0–100), where the API returns it.
    pub priority_score: Option<u32>,
    /// Who changed it last, where the API returns it.
    pub last_modified_by: Option<String>,
}

impl Incident {
    /// An active incident of unknown severity with only an ID and a name: nothing assigned,
    /// classified, tagged or timed. Other fields are set with struct update syntax.
    pub fn new(id: impl Into<String>, display_name: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            display_name: display_name.into(),
            severity: Severity::Unknown,
            status: Status::Active,
            assigned_to: None,
            classification: Classification::Unknown,
            determination: Determination::Unknown,
            created: None,
            last_update: None,
            tags: Vec::new(),
            system_tags: Vec::new(),
            web_url: None,
            redirect_incident_id: None,
            comments: Vec::new(),
            alert_count: None,
            service_sources: Vec::new(),
            categories: Vec::new(),
            priority_score: None,
            last_modified_by: None,
        }
    }
}

/// A piece of evidence (an entity) on an alert: a device, user, file, IP, process, mailbox, ...
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Evidence {
    /// device, user, file, ip, url, process, mailbox, registryKey, ... or as the API named it.
    pub kind: String,
    /// A one-line name for it: the device name, the account, the file name, the address.
    pub title: String,
    /// What identifies it across alerts (its kind and its ID, hash, address, ...): two pieces
    /// of evidence with the same key are the same entity, whatever their titles.
    pub key: String,
    /// malicious, suspicious, noThreatsFound, unknown, ... as the API says.
    pub verdict: Option<String>,
    /// Its part in the attack: attacker, compromised, contextual, ...
    pub roles: Vec<String>,
    /// none, remediated, prevented, blocked, notFound, ... as the API says.
    pub remediation_status: Option<String>,
    pub tags: Vec<String>,
    /// Other fields, in the API's order, as `(name, value)`.
    pub details: Vec<(String, String)>,
}

/// The fields that identify an entity, by kind, in order of preference (Graph's names; the
/// Defender XDR API's where they differ): the evidence key is built from the first present.
const IDENTITY: &[(&str, &[&str])] = &[
    (
        "device",
        &[
            "mdeDeviceId",
            "azureAdDeviceId",
            "mdatpDeviceId",
            "deviceDnsName",
        ],
    ),
    (
        "user",
        &[
            "azureAdUserId",
            "userSid",
            "userPrincipalName",
            "accountName",
        ],
    ),
    ("file", &["sha256", "sha1", "filePath"]),
    ("process", &["processId", "processCommandLine"]),
    ("ip", &["ipAddress"]),
    ("url", &["url"]),
    (
        "mailbox",
        &["primaryAddress", "mailboxAddress", "userPrincipalName"],
    ),
    (
        "analyzedmessage",
        &["networkMessageId", "internetMessageId"],
    ),
    ("mailcluster", &["query", "clusterByValue"]),
    ("cloudapplication", &["appId", "instanceId", "displayName"]),
    ("oauthapplication", &["appId", "objectId", "displayName"]),
    ("registrykey", &["registryKey"]),
    ("registryvalue", &["registryKey", "registryValueName"]),
    ("securitygroup", &["securityGroupId", "displayName"]),
    ("azureresource", &["resourceId"]),
    ("blob", &["url"]),
    ("blobcontainer", &["url"]),
    ("kubernetespod", &["name"]),
    ("hostlogonsession", &["sessionId"]),
    ("dnsevidence", &["domainName"]),
];

/// The fields an analyst searches and pivots on, by kind: `(kind, field)`; the entity index
/// keeps their values, lowercased. Graph's names, and the Defender XDR API's where they differ.
const PIVOTS: &[(&str, &[&str])] = &[
    ("device", &["deviceDnsName", "hostName"]),
    ("user", &["userPrincipalName", "accountName"]),
    ("ip", &["ipAddress"]),
    ("file", &["sha256", "sha1", "fileName"]),
    ("url", &["url"]),
    ("mailbox", &["primaryAddress", "mailboxAddress"]),
    ("analyzedmessage", &["emailAddress", "sender"]),
    ("mailmessage", &["sender"]),
];

impl Evidence {
    /// What the entity index keeps of this evidence: `(kind, value)` pairs, values lowercased,
    /// e.g. `("device", "wks-01.contoso.local")`, `("file", "<sha256>")`.
    pub fn pivots(&self) -> Vec<(String, String)> {
        let kind = self.kind.to_ascii_lowercase();
        let Some((_, fields)) = PIVOTS.iter().find(|(k, _)| *k == kind) else {
            return Vec::new();
        };
        let mut out: Vec<(String, String)> = Vec::new();
        for (name, value) in &self.details {
            let value = value.trim().to_lowercase();
            if fields.contains(&name.as_str())
                && !value.is_empty()
                && !out.iter().any(|(_, v)| *v == value)
            {
                out.push((kind.clone(), value));
            }
        }
        out
    }

    /// The key of an entity of `kind` with these details: its identifying fields where known,
    /// else every detail (so distinct items never collapse into one).
    pub fn key_of(kind: &str, details: &[(String, String)]) -> String {
        let kind_l = kind.to_ascii_lowercase();
        let field = |name: &str| {
            details
                .iter()
                .find(|(k, v)| k == name && !v.is_empty())
                .map(|(_, v)| v.to_lowercase())
        };
        let known = IDENTITY
            .iter()
            .find(|(k, _)| *k == kind_l)
            .map(|(_, names)| names.iter().filter_map(|n| field(n)).collect::<Vec<_>>())
            .filter(|values| !values.is_empty());
        match known {
            // The first identifying field is enough, except for a registry value (key + name)
            // and a process (its ID is only unique with its command line).
            Some(values) if kind_l == "registryvalue" || kind_l == "process" => {
                format!("{kind_l}:{}", values.join("|"))
            }
            Some(values) => format!("{kind_l}:{}", values[0]),
            None => {
                let mut all: Vec<String> = details
                    .iter()
                    .filter(|(k, _)| !k.ends_with("DateTime") && !k.ends_with("Time"))
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                all.sort();
                format!("{kind_l}:{}", all.join("|"))
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    pub id: String,
    pub title: String,
    pub severity: Severity,
    pub status: Status,
    pub category: Option<String>,
    pub service_source: Option<String>,
    pub mitre_techniques: Vec<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[specta(type = Option<String>)]
    pub created: Option<OffsetDateTime>,
    pub web_url: Option<String>,
    pub evidence: Vec<Evidence>,
    pub description: Option<String>,
    pub recommended_actions: Option<String>,
    /// What raised it: antivirus, customDetection, automatedInvestigation, ...
    pub detection_source: Option<String>,
    pub threat_display_name: Option<String>,
    pub actor_display_name: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[specta(type = Option<String>)]
    pub first_activity: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[specta(type = Option<String>)]
    pub last_activity: Option<OffsetDateTime>,
}

/// An entity of an incident seen in other stored incidents: "seen in N other incidents in the
/// last 30 days (k true positive)".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Pivot {
    /// The evidence it belongs to (`Evidence::key`).
    pub evidence_key: String,
    pub kind: String,
    /// The value searched for (lowercased): a device name, UPN, IP, hash, URL, address.
    pub value: String,
    pub others: u32,
    pub true_positives: u32,
    /// The most recently updated of them.
    pub recent: Vec<Related>,
}

/// Another incident, as a pivot names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Related {
    pub id: String,
    pub display_name: String,
    pub classification: Classification,
}

/// An incident with its alerts, for the detail view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct IncidentDetail {
    pub incident: Incident,
    pub alerts: Vec<Alert>,
    /// The service's overview of the attack, where the API returns one.
    pub summary: Option<String>,
    pub description: Option<String>,
    /// What the app's syncs saw change on it, newest first (from the local store).
    pub history: Vec<crate::incidents::changes::Change>,
    /// Its entities seen in other stored incidents of the last 30 days.
    pub pivots: Vec<Pivot>,
    /// Read from the local cache because the tenant could not be reached.
    pub from_cache: bool,
}

/// A triage change. `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Update {
    #[serde(default)]
    pub status: Option<Status>,
    /// `Some(None)` unassigns: over IPC a missing field leaves the assignee alone and `null`
    /// clears it.
    #[serde(default, deserialize_with = "present")]
    #[specta(type = Option<Option<String>>)]
    pub assigned_to: Option<Option<String>>,
    #[serde(default)]
    pub classification: Option<Classification>,
    #[serde(default)]
    pub determination: Option<Determination>,
    /// Replaces the analysts' tags.
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    #[serde(default)]
    pub comment: Option<String>,
}

/// A field that is present, even as `null`, is `Some`: serde alone reads `null` as `None`.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

impl Update {
    pub fn is_empty(&self) -> bool {
        *self == Update::default()
    }

    /// The triage rules, checked before anything is sent: a change must change something, and
    /// resolving an incident needs a note saying why (the next analyst reads it).
    pub fn check(&self) -> crate::error::Result<()> {
        if self.is_empty() {
            return Err(crate::Error::Invalid("nothing to change".into()));
        }
        let noted = self
            .comment
            .as_deref()
            .is_some_and(|c| !c.trim().is_empty());
        if self.status == Some(Status::Resolved) && !noted {
            return Err(crate::Error::Invalid(
                "resolving needs a note: say why in the comment".into(),
            ));
        }
        Ok(())
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
        // Read in place or, with escapes, from the reader's scratch space; never from a number.
        let escaped: Severity = serde_json::from_str(r#""\u0068igh""#).unwrap();
        assert_eq!(escaped, Severity::High);
        assert!(serde_json::from_str::<Severity>("3").is_err());
    }

    #[derive(Deserialize)]
    struct Timed {
        #[serde(default, deserialize_with = "lenient_time")]
        at: Option<OffsetDateTime>,
    }

    fn at(json: &str) -> Result<Option<OffsetDateTime>, serde_json::Error> {
        serde_json::from_str::<Timed>(json).map(|t| t.at)
    }

    #[test]
    fn time_fields_are_read_leniently_from_the_text() {
        let utc = |s| OffsetDateTime::parse(s, &Rfc3339).unwrap();
        assert_eq!(at(r#"{}"#).unwrap(), None);
        assert_eq!(at(r#"{"at": null}"#).unwrap(), None);
        assert_eq!(at(r#"{"at": "soon"}"#).unwrap(), None, "no time is no time");
        assert_eq!(
            at(r#"{"at": "2026-11-20T10:00:00.5Z"}"#).unwrap(),
            Some(utc("2026-11-20T10:00:00.5Z"))
        );
        assert_eq!(
            at(r#"{"at": "2026-11-20T10:00:00"}"#).unwrap(),
            Some(utc("2026-11-20T10:00:00Z")),
            "no offset is UTC"
        );
        assert_eq!(
            at(r#"{"at": "2026-11-20T10:00:00\u005a"}"#).unwrap(),
            Some(utc("2026-11-20T10:00:00Z")),
            "escaped text"
        );
        assert!(
            at(r#"{"at": 1763632800}"#).is_err(),
            "a number is not a time"
        );
    }

    #[test]
    fn times_are_written_as_the_time_crate_writes_them() {
        #[derive(Serialize)]
        struct Theirs {
            #[serde(with = "time::serde::rfc3339::option")]
            created: Option<OffsetDateTime>,
            #[serde(with = "time::serde::rfc3339::option")]
            last_update: Option<OffsetDateTime>,
        }
        let created = OffsetDateTime::parse("2026-11-20T10:00:00.123456789+02:00", &Rfc3339).ok();
        let ours = serde_json::to_value(Incident {
            created,
            ..Incident::new("1", "t")
        })
        .unwrap();
        let theirs = serde_json::to_value(Theirs {
            created,
            last_update: None,
        })
        .unwrap();
        assert_eq!(ours["created"], "2026-11-20T10:00:00.123456789+02:00");
        assert_eq!(ours["created"], theirs["created"]);
        assert_eq!(ours["lastUpdate"], serde_json::Value::Null);
        assert_eq!(theirs["last_update"], serde_json::Value::Null);
    }
}
