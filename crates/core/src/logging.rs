//! Logs: to standard error, and for the app also to a file in the platform's log directory, so a
//! failure can be diagnosed on Windows too, where a release build has no console. The file is
//! rotated at `MAX_BYTES` with `KEEP` older files. Secrets never reach it: they are `Secret`s,
//! whose `Debug` is redacted, and nothing logs a token's text.
//!
//! The last warnings and errors are also kept in memory for "Copy diagnostics".

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{reload, EnvFilter};

use crate::error::{Error, Result};

/// The app's log file, in `log_dir()`.
pub const APP_LOG_FILE: &str = "incident-desk.log";
/// One log file's size before it is rotated.
pub const MAX_BYTES: u64 = 2 * 1024 * 1024;
/// Rotated files kept beside the current one (`app.log.1` … `app.log.3`).
pub const KEEP: usize = 3;

static RECENT_PROBLEMS: RecentLines = RecentLines::new(20);

/// The last few lines of something (warnings, syncs), each stamped with its time, oldest first.
pub struct RecentLines {
    capacity: usize,
    lines: Mutex<VecDeque<String>>,
}

impl RecentLines {
    pub const fn new(capacity: usize) -> Self {
        RecentLines {
            capacity,
            lines: Mutex::new(VecDeque::new()),
        }
    }

    /// Adds `text`, stamped with the time now; the oldest line goes when full.
    pub fn push(&self, text: &str) {
        let when = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        if let Ok(mut lines) = self.lines.lock() {
            if lines.len() == self.capacity {
                lines.pop_front();
            }
            lines.push_back(format!("{when} {text}"));
        }
    }

    pub fn lines(&self) -> Vec<String> {
        self.lines
            .lock()
            .map(|l| l.iter().cloned().collect())
            .unwrap_or_default()
    }
}

/// The app's log file: `APP_LOG_FILE` in `log_dir()`.
pub fn app_log_file() -> Result<PathBuf> {
    Ok(log_dir()?.join(APP_LOG_FILE))
}

/// Where the app's log files go: `IDESK_LOG_DIR`, else the platform's place for logs.
pub fn log_dir() -> Result<PathBuf> {
    if let Some(d) = std::env::var_os("IDESK_LOG_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(d));
    }
    let dir = if cfg!(target_os = "macos") {
        dirs::home_dir().map(|h| h.join("Library/Logs/Incident Desk"))
    } else if cfg!(windows) {
        dirs::data_local_dir().map(|d| d.join("Incident Desk").join("logs"))
    } else {
        dirs::state_dir().map(|d| d.join("incident-desk").join("logs"))
    };
    dir.ok_or_else(|| Error::Config("no home directory: set IDESK_LOG_DIR".into()))
}

/// Sets up logging at `IDESK_LOG` (else `default_level`), to standard error and, given a file
/// path, to that rotating file. A file that cannot be opened is said on standard error; logging
/// goes on without it. `set_level` changes the level later (the settings screen).
pub fn init(default_level: &str, file: Option<&Path>) {
    let (to_file, problem) = match file.map(RotatingFile::open) {
        Some(Ok(f)) => (
            Some(
                tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .with_writer(Mutex::new(f)),
            ),
            None,
        ),
        Some(Err(e)) => (None, Some(e)),
        None => (None, None),
    };
    // One level for both outputs, changeable later; the recent problems are kept whatever it is.
    let (level, handle) = reload::Layer::new(filter(default_level));
    let outputs = tracing_subscriber::fmt::layer()
        .with_writer(io::stderr)
        .and_then(to_file)
        .with_filter(level);
    if tracing_subscriber::registry()
        .with(outputs)
        .with(Problems)
        .try_init()
        .is_ok()
    {
        let _ = LEVEL.set(handle);
    }
    if let Some(e) = problem {
        tracing::warn!("no log file: {e}");
    }
}

static LEVEL: OnceLock<reload::Handle<EnvFilter, tracing_subscriber::Registry>> = OnceLock::new();

/// `IDESK_LOG` when set (a support session's explicit choice wins), else `level`.
fn filter(level: &str) -> EnvFilter {
    EnvFilter::try_from_env("IDESK_LOG").unwrap_or_else(|_| level.into())
}

/// Logs at `level` from now on, to standard error and the file.
pub fn set_level(level: &str) {
    if let Some(handle) = LEVEL.get() {
        let _ = handle.reload(filter(level));
    }
}

/// The last warnings and errors logged in this run, oldest first, with their times.
pub fn recent_problems() -> Vec<String> {
    RECENT_PROBLEMS.lines()
}

/// A log file that moves itself aside at `MAX_BYTES`: `x.log` → `x.log.1` → … → `x.log.KEEP`.
pub struct RotatingFile {
    path: PathBuf,
    file: File,
    written: u64,
    max_bytes: u64,
}

impl RotatingFile {
    pub fn open(path: &Path) -> Result<Self> {
        Self::with_limit(path, MAX_BYTES)
    }

    pub fn with_limit(path: &Path, max_bytes: u64) -> Result<Self> {
        let io = |e| Error::Io(path.display().to_string(), e);
        if let Some(dir) = path.parent() {
            crate::files::private_dir(dir)?;
        }
        let file = append(path).map_err(io)?;
        let written = file.metadata().map_err(io)?.len();
        Ok(RotatingFile {
            path: path.to_owned(),
            file,
            written,
            max_bytes,
        })
    }

    fn rotate(&mut self) -> io::Result<()> {
        let name = |n: usize| {
            let mut p = self.path.clone().into_os_string();
            p.push(format!(".{n}"));
            PathBuf::from(p)
        };
        for n in (1..KEEP).rev() {
            let from = name(n);
            if from.exists() {
                std::fs::rename(&from, name(n + 1))?;
            }
        }
        std::fs::rename(&self.path, name(1))?;
        self.file = append(&self.path)?;
        self.written = 0;
        Ok(())
    }
}

fn append(path: &Path) -> io::Result<File> {
    let mut o = OpenOptions::new();
    o.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o.open(path)
}

impl Write for RotatingFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.written > 0 && self.written + buf.len() as u64 > self.max_bytes {
            // A failed rotation keeps writing to the current file rather than losing the line.
            let _ = self.rotate();
        }
        let n = self.file.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// Keeps the last warnings and errors for diagnostics.
struct Problems;

impl<S: Subscriber> Layer<S> for Problems {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        if *event.metadata().level() > Level::WARN {
            return;
        }
        let mut text = Message(String::new());
        event.record(&mut text);
        RECENT_PROBLEMS.push(&format!("{} {}", event.metadata().level(), text.0));
    }
}

struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if !self.0.is_empty() {
            self.0.push(' ');
        }
        if field.name() == "message" {
            self.0.push_str(&format!("{value:?}"));
        } else {
            self.0.push_str(&format!("{}={value:?}", field.name()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_file_rotates_and_keeps_a_few() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("app.log");
        let mut f = RotatingFile::with_limit(&path, 100).expect("opens");
        for i in 0..40 {
            writeln!(f, "line {i:03} of the log, some thirty bytes").expect("writes");
        }
        let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        assert!(size(&path) <= 100, "the current file stays under the limit");
        for n in 1..=KEEP {
            assert!(
                size(&dir.path().join(format!("app.log.{n}"))) > 0,
                "app.log.{n} is kept"
            );
        }
        assert!(!dir.path().join(format!("app.log.{}", KEEP + 1)).exists());
        let newest = std::fs::read_to_string(&path).expect("reads");
        assert!(
            newest.contains("line 039"),
            "the newest line is in the current file"
        );
    }

    #[test]
    fn recent_problems_keep_warnings_and_errors_only() {
        use tracing_subscriber::prelude::*;
        let subscriber = tracing_subscriber::registry().with(Problems);
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!("an ordinary event");
            tracing::warn!(profile = "x", "the API answered 503");
        });
        let recent = recent_problems();
        assert!(
            recent
                .iter()
                .any(|l| l.contains("WARN the API answered 503 profile=\"x\"")),
            "{recent:?}"
        );
        assert!(!recent.iter().any(|l| l.contains("ordinary")));
    }
}
