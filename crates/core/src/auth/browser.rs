//! Opening the system browser for sign-in.
//!
//! Always the real system browser, never an embedded webview: Conditional Access and passkeys need
//! it. `$BROWSER`, when set, names the command to use (as on Linux desktops); tests use it to put a
//! scripted browser in the user's place.

use std::process::{Command, Stdio};

use crate::error::{Error, Result};

/// Something that can show the user a URL. Injected, so tests and the desktop shell can choose.
pub trait Opener: Send + Sync {
    fn open(&self, url: &str) -> Result<()>;
}

pub struct SystemBrowser;

impl Opener for SystemBrowser {
    fn open(&self, url: &str) -> Result<()> {
        if let Some(cmd) = std::env::var_os("BROWSER").filter(|c| !c.is_empty()) {
            // The URL goes as an argument, never through a shell, and the command is not waited
            // for: a browser that only returns when closed must not block the sign-in.
            let cmd = cmd.to_string_lossy().into_owned();
            let mut parts = cmd.split_whitespace();
            let program = parts.next().unwrap_or_default();
            return Command::new(program)
                .args(parts)
                .arg(url)
                .stdin(Stdio::null())
                .spawn()
                .map(drop)
                .map_err(Error::Browser);
        }
        webbrowser::open(url).map_err(Error::Browser)
    }
}
