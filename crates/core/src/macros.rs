//! Triage macros: saved one-key actions ("False positive — security testing" = resolved, a
//! classification and determination, a tag and a note), kept per profile in the settings and
//! applied to the current incident or a selection as one bulk change (each incident checked on its
//! own, as any bulk change is).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::incidents::bulk::BulkEdit;
use crate::incidents::model::{Classification, Determination, Status};

/// At most this many macros per profile: one per digit key.
pub const MAX_MACROS: usize = 9;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase", default)]
pub struct Macro {
    pub name: String,
    /// The digit key (1–9) that applies it in the queue, if any.
    pub key: Option<u8>,
    pub status: Option<Status>,
    pub classification: Option<Classification>,
    pub determination: Option<Determination>,
    /// Tags added (the incident's others stay).
    pub add_tags: Vec<String>,
    /// The note added as a comment. `{me}` and `{date}` are filled in when it is applied.
    pub note: String,
}

impl Macro {
    /// The bulk change this macro makes, applied by `me` at `now`.
    pub fn edit(&self, me: Option<&str>, now: OffsetDateTime) -> BulkEdit {
        let date = now.date().to_string();
        let note = self
            .note
            .replace("{me}", me.unwrap_or("an analyst"))
            .replace("{date}", &date);
        BulkEdit {
            status: self.status.clone(),
            classification: self.classification.clone(),
            determination: self.determination.clone(),
            add_tags: self
                .add_tags
                .iter()
                .map(|t| t.trim().to_owned())
                .filter(|t| !t.is_empty())
                .collect(),
            comment: (!note.trim().is_empty()).then_some(note),
            ..BulkEdit::default()
        }
    }

    fn check(&self) -> Result<()> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 80 {
            return Err(Error::Invalid(
                "a macro needs a name of at most 80 characters".into(),
            ));
        }
        if self.key.is_some_and(|k| !(1..=9).contains(&k)) {
            return Err(Error::Invalid(format!(
                "macro \"{name}\": its key must be a digit from 1 to 9"
            )));
        }
        let edit = self.edit(None, OffsetDateTime::UNIX_EPOCH);
        if edit.is_empty() {
            return Err(Error::Invalid(format!("macro \"{name}\" changes nothing")));
        }
        if self.status == Some(Status::Resolved) && self.note.trim().is_empty() {
            return Err(Error::Invalid(format!(
                "macro \"{name}\" resolves: it needs a note saying why"
            )));
        }
        if self.status == Some(Status::Redirected) {
            return Err(Error::Invalid(format!(
                "macro \"{name}\": merging is done in the portal"
            )));
        }
        Ok(())
    }
}

/// The rules for one profile's macros: each valid, at most nine, names and keys unique.
pub fn check(macros: &[Macro]) -> Result<()> {
    if macros.len() > MAX_MACROS {
        return Err(Error::Invalid(format!(
            "at most {MAX_MACROS} macros per profile"
        )));
    }
    for (n, m) in macros.iter().enumerate() {
        m.check()?;
        let earlier = &macros[..n];
        if earlier
            .iter()
            .any(|x| x.name.trim().eq_ignore_ascii_case(m.name.trim()))
        {
            return Err(Error::Invalid(format!(
                "two macros are named \"{}\"",
                m.name.trim()
            )));
        }
        if let Some(k) = m.key {
            if earlier.iter().any(|x| x.key == Some(k)) {
                return Err(Error::Invalid(format!("two macros use the key {k}")));
            }
        }
    }
    Ok(())
}

/// A profile's macro by name (without regard to case).
pub fn find<'a>(macros: &'a [Macro], name: &str) -> Option<&'a Macro> {
    macros
        .iter()
        .find(|m| m.name.trim().eq_ignore_ascii_case(name.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn security_testing() -> Macro {
        Macro {
            name: "False positive — security testing".into(),
            key: Some(1),
            status: Some(Status::Resolved),
            classification: Some(Classification::InformationalExpectedActivity),
            determination: Some(Determination::SecurityTesting),
            add_tags: vec!["Red team".into(), " ".into()],
            note: "Red team exercise, confirmed by {me} on {date}.".into(),
        }
    }

    #[test]
    fn a_macro_is_one_bulk_change_with_its_note_filled_in() {
        let now = time::macros::datetime!(2026-11-22 10:00 UTC);
        let edit = security_testing().edit(Some("alice@contoso.test"), now);
        assert_eq!(edit.status, Some(Status::Resolved));
        assert_eq!(edit.determination, Some(Determination::SecurityTesting));
        assert_eq!(edit.add_tags, ["Red team"], "blank tags dropped");
        assert_eq!(
            edit.comment.as_deref(),
            Some("Red team exercise, confirmed by alice@contoso.test on 2026-11-22.")
        );
        assert_eq!(edit.assigned_to, None, "the assignment is left alone");
        assert!(!edit.follow_merges);
    }

    #[test]
    fn macros_are_checked_one_by_one_and_together() {
        assert!(check(&[security_testing()]).is_ok());
        let resolve_silently = Macro {
            note: "  ".into(),
            ..security_testing()
        };
        assert!(
            check(&[resolve_silently]).is_err(),
            "resolving needs a note"
        );
        let nothing = Macro {
            name: "Nothing".into(),
            ..Macro::default()
        };
        assert!(check(&[nothing]).is_err());
        let bad_key = Macro {
            key: Some(0),
            ..security_testing()
        };
        assert!(check(&[bad_key]).is_err());
        let twin = Macro {
            name: "FALSE POSITIVE — SECURITY TESTING".into(),
            key: Some(2),
            ..security_testing()
        };
        assert!(
            check(&[security_testing(), twin]).is_err(),
            "names are unique"
        );
        let same_key = Macro {
            name: "Other".into(),
            ..security_testing()
        };
        assert!(
            check(&[security_testing(), same_key]).is_err(),
            "keys are unique"
        );
        let many: Vec<Macro> = (0..10)
            .map(|n| Macro {
                name: format!("m{n}"),
                key: None,
                ..security_testing()
            })
            .collect();
        assert!(check(&many).is_err());
        assert_eq!(
            find(&[security_testing()], " false positive — security testing").map(|m| m.key),
            Some(Some(1))
        );
    }
}
