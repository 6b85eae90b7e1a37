//! The app's own settings, beside the profiles: theme, how often the queue syncs by itself, and how
//! much goes to the log. One small JSON file in the config dir, written atomically.

use serde::{Deserialize, Serialize};

use crate::config::Dirs;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum Theme {
    /// Follows the desktop's light or dark setting.
    #[default]
    System,
    Light,
    Dark,
}

/// How much goes to the log file and stderr (`IDESK_LOG`, when set, still wins).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum LogLevel {
    Error,
    Warn,
    #[default]
    Info,
    Debug,
}

impl LogLevel {
    pub fn directive(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
        }
    }
}

/// The shortest and longest background sync intervals: under 30 s the queue would spend the API's
/// quota the analyst needs for triage; over 15 min it is no longer a live queue.
pub const SYNC_EVERY_MIN: u32 = 30;
pub const SYNC_EVERY_MAX: u32 = 15 * 60;
pub const SYNC_EVERY_DEFAULT: u32 = 60;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase", default)]
pub struct Settings {
    pub theme: Theme,
    /// Seconds between the queue's own syncs while the app is open; `None`: only on demand.
    pub sync_every_secs: Option<u32>,
    pub log_level: LogLevel,
    pub notifications: crate::notify::Notifications,
    /// Closing the window keeps the app running in the tray (where the desktop has one).
    pub close_to_tray: bool,
    /// Each profile's triage macros (a profile not named has none).
    pub macros: std::collections::BTreeMap<String, Vec<crate::macros::Macro>>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            theme: Theme::System,
            sync_every_secs: Some(SYNC_EVERY_DEFAULT),
            log_level: LogLevel::Info,
            notifications: crate::notify::Notifications::default(),
            close_to_tray: false,
            macros: std::collections::BTreeMap::new(),
        }
    }
}

impl Settings {
    pub fn validate(&self) -> Result<()> {
        for (profile, macros) in &self.macros {
            crate::macros::check(macros).map_err(|e| {
                Error::Invalid(format!("profile {profile}'s macros: {}", e.user_message()))
            })?;
        }
        match self.sync_every_secs {
            Some(s) if !(SYNC_EVERY_MIN..=SYNC_EVERY_MAX).contains(&s) => {
                Err(Error::Invalid(format!(
                    "the sync interval must be between {SYNC_EVERY_MIN} s and {} min, or off",
                    SYNC_EVERY_MAX / 60
                )))
            }
            _ => Ok(()),
        }
    }

    /// The saved settings; the defaults when there are none. A file that cannot be read or is not
    /// valid is an error that names it: the caller shows the defaults and the reason, and the file
    /// is left as it is until the user saves.
    pub fn load(dirs: &Dirs) -> Result<Self> {
        let path = dirs.settings_file();
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => return Err(Error::Io(path.display().to_string(), e)),
        };
        let settings: Self = serde_json::from_slice(&bytes).map_err(|e| {
            Error::Config(format!(
                "{} is not a valid settings file: {e}",
                path.display()
            ))
        })?;
        settings
            .validate()
            .map_err(|e| Error::Config(format!("{}: {}", path.display(), e.user_message())))?;
        Ok(settings)
    }

    /// A profile's triage macros.
    pub fn macros_for(&self, profile: &str) -> &[crate::macros::Macro] {
        self.macros.get(profile).map_or(&[], Vec::as_slice)
    }

    /// The saved settings, or the defaults and why the saved ones could not be used.
    pub fn load_or_default(dirs: &Dirs) -> (Self, Option<String>) {
        match Self::load(dirs) {
            Ok(s) => (s, None),
            Err(e) => (Self::default(), Some(e.user_message())),
        }
    }

    pub fn save(&self, dirs: &Dirs) -> Result<()> {
        self.validate()?;
        let json = serde_json::to_vec_pretty(self)
            .map_err(|e| Error::Internal(format!("settings file: {e}")))?;
        crate::files::write_atomically(&dirs.settings_file(), &json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dirs() -> (tempfile::TempDir, Dirs) {
        let tmp = tempfile::tempdir().unwrap();
        let dirs = Dirs {
            config: tmp.path().join("config"),
            data: tmp.path().join("data"),
        };
        (tmp, dirs)
    }

    #[test]
    fn macros_are_kept_per_profile_and_a_broken_one_is_refused_with_its_profile_named() {
        let (_tmp, dirs) = dirs();
        let fp = crate::macros::Macro {
            name: "FP".into(),
            key: Some(1),
            status: Some(crate::incidents::model::Status::InProgress),
            ..crate::macros::Macro::default()
        };
        let mut s = Settings::default();
        s.macros.insert("Contoso".into(), vec![fp.clone()]);
        s.save(&dirs).unwrap();
        assert_eq!(
            Settings::load(&dirs).unwrap().macros_for("Contoso"),
            std::slice::from_ref(&fp)
        );
        assert!(Settings::load(&dirs)
            .unwrap()
            .macros_for("Fabrikam")
            .is_empty());
        s.macros.insert("Fabrikam".into(), vec![fp.clone(), fp]);
        let err = s.save(&dirs).unwrap_err().user_message();
        assert!(
            err.contains("Fabrikam") && err.contains("two macros"),
            "{err}"
        );
    }

    #[test]
    fn defaults_until_saved_then_what_was_saved() {
        let (_tmp, dirs) = dirs();
        assert_eq!(Settings::load(&dirs).unwrap(), Settings::default());
        let chosen = Settings {
            theme: Theme::Dark,
            sync_every_secs: None,
            log_level: LogLevel::Debug,
            ..Settings::default()
        };
        chosen.save(&dirs).unwrap();
        assert_eq!(Settings::load(&dirs).unwrap(), chosen);
        // A file from an older version, missing a field, keeps that field's default.
        std::fs::write(dirs.settings_file(), r#"{"theme":"light"}"#).unwrap();
        let loaded = Settings::load(&dirs).unwrap();
        assert_eq!(loaded.theme, Theme::Light);
        assert_eq!(loaded.sync_every_secs, Some(SYNC_EVERY_DEFAULT));
    }

    #[test]
    fn an_interval_out_of_range_is_refused_and_a_broken_file_is_named_and_kept() {
        let (_tmp, dirs) = dirs();
        for secs in [0, 29, 15 * 60 + 1] {
            let s = Settings {
                sync_every_secs: Some(secs),
                ..Settings::default()
            };
            let err = s.save(&dirs).unwrap_err();
            assert!(
                err.user_message().contains("between 30 s and 15 min"),
                "{err}"
            );
        }
        assert!(
            !dirs.settings_file().exists(),
            "nothing refused was written"
        );

        std::fs::create_dir_all(&dirs.config).unwrap();
        std::fs::write(dirs.settings_file(), b"{not json").unwrap();
        let (settings, problem) = Settings::load_or_default(&dirs);
        assert_eq!(settings, Settings::default());
        assert!(problem.unwrap().contains("settings.json"));
        assert_eq!(std::fs::read(dirs.settings_file()).unwrap(), b"{not json");
    }
}
