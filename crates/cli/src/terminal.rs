//! Everything `idesk` prints to a terminal goes through here.
//!
//! Incident fields, assignees, enum values the API adds later, error messages from the tenant: all
//! of it is server text an attacker can influence. Printed raw, an escape sequence in a title
//! could drive the analyst's terminal (move the cursor, rewrite earlier lines, set the window
//! title), and a bidi override could disguise one title as another. So, when the output is a
//! terminal, every control character (C0, DEL, C1) and every bidi control is shown as a visible
//! `\uXXXX` escape — the same form JSON uses, so JSON output stays valid and means the same.
//! Output into a pipe or a file is left exact.

use std::borrow::Cow;
use std::io::{IsTerminal, Write};

/// Bidirectional formatting characters: marks, embeddings, overrides and isolates.
fn is_bidi(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn dangerous(c: char, keep_layout: bool) -> bool {
    if keep_layout && (c == '\n' || c == '\t') {
        return false;
    }
    c.is_control() || is_bidi(c)
}

/// `s` with every control and bidi character escaped; `keep_layout` keeps newlines and tabs (the
/// layout of text idesk itself formats). A field shown on one line passes `false`.
pub fn escape(s: &str, keep_layout: bool) -> Cow<'_, str> {
    if !s.chars().any(|c| dangerous(c, keep_layout)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if dangerous(c, keep_layout) {
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// One server-supplied field, for a line of text output: nothing in it can break the line.
pub fn field(s: &str) -> Cow<'_, str> {
    escape(s, false)
}

fn emit(mut to: impl Write, is_terminal: bool, text: &str) {
    let text = if is_terminal {
        escape(text, true)
    } else {
        Cow::Borrowed(text)
    };
    let _ = to.write_all(text.as_bytes());
    let _ = to.flush();
}

/// Prints to standard output, escaped when it is a terminal.
pub fn out(text: &str) {
    let stdout = std::io::stdout();
    let tty = stdout.is_terminal();
    emit(stdout.lock(), tty, text);
}

/// `out` with a newline.
pub fn line(text: &str) {
    out(&format!("{text}\n"));
}

/// A line on standard error, escaped when it is a terminal (error messages quote the tenant).
pub fn err(text: &str) {
    let stderr = std::io::stderr();
    let tty = stderr.is_terminal();
    emit(stderr.lock(), tty, &format!("{text}\n"));
}

/// `println!` through the terminal escaping.
macro_rules! sayln {
    ($($t:tt)*) => { $crate::terminal::line(&format!($($t)*)) };
}

/// `print!` through the terminal escaping.
macro_rules! say {
    ($($t:tt)*) => { $crate::terminal::out(&format!($($t)*)) };
}

/// `eprintln!` through the terminal escaping.
macro_rules! esayln {
    ($($t:tt)*) => { $crate::terminal::err(&format!($($t)*)) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_and_bidi_overrides_become_visible() {
        let hostile = "Phish\u{1b}]0;pwned\u{7}\u{1b}[2J \u{9b}31m \u{202e}exe.pdf\u{7f}";
        let shown = escape(hostile, true);
        assert!(
            !shown.chars().any(|c| c.is_control() || is_bidi(c)),
            "nothing left that drives a terminal: {shown:?}"
        );
        assert!(shown.contains("\\u001b]0;pwned\\u0007") && shown.contains("\\u202e"));
        assert_eq!(escape("line one\n\tline two", true), "line one\n\tline two");
        assert_eq!(field("forged\nrow"), "forged\\u000arow");
        assert!(matches!(escape("plain title", false), Cow::Borrowed(_)));
    }

    #[test]
    fn escaped_json_is_still_the_same_json() {
        let value = serde_json::json!({ "title": "a\u{9b}b\u{202e}c" });
        let text = serde_json::to_string(&value).unwrap();
        let shown = escape(&text, true);
        assert_ne!(shown, text);
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&shown).unwrap(),
            value
        );
    }
}
