//! "Copy diagnostics": what a support ticket needs, and nothing that names a tenant or a secret.

use std::fmt::Write as _;

use crate::config::{Credential, Kind, Profile};

/// The operating system, e.g. `Debian GNU/Linux 12 (bookworm) (linux x86_64)`.
pub fn os_name() -> String {
    let pretty = std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                .map(|v| v.trim_matches('"').to_owned())
        });
    let (os, arch) = (std::env::consts::OS, std::env::consts::ARCH);
    match pretty {
        Some(p) => format!("{p} ({os} {arch})"),
        None => format!("{os} {arch}"),
    }
}

/// The report: version, OS, the kinds of profiles (no names, tenants or IDs), whether the keychain
/// answers, the last warnings and errors, the last syncs.
pub fn report(profiles: &[Profile], keychain_available: bool, syncs: &[String]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Incident Desk {}", crate::build::describe());
    let _ = writeln!(out, "OS: {}", os_name());
    let _ = writeln!(out, "Profiles: {}", profiles.len());
    for p in profiles {
        let kind = match (p.kind, p.credential) {
            (Kind::Delegated, _) => "delegated",
            (Kind::Application, Credential::Secret) => "application (client secret)",
            (Kind::Application, Credential::Certificate) => "application (certificate)",
        };
        let _ = writeln!(
            out,
            "  - {kind}, {:?} API, {:?} cloud{}{}{}",
            p.api,
            p.cloud,
            p.region
                .map(|r| format!(", region {r:?}"))
                .unwrap_or_default(),
            if p.proxy.is_some() { ", own proxy" } else { "" },
            if p.read_only { ", read only" } else { "" },
        );
    }
    let _ = writeln!(
        out,
        "Keychain: {}",
        if keychain_available {
            "available"
        } else {
            "unavailable"
        }
    );
    section(
        &mut out,
        "Recent warnings and errors",
        &crate::logging::recent_problems(),
        "(none)",
    );
    section(&mut out, "Last syncs", syncs, "(none this run)");
    out
}

fn section(out: &mut String, title: &str, lines: &[String], empty: &str) {
    let _ = writeln!(out, "{title}:");
    if lines.is_empty() {
        let _ = writeln!(out, "  {empty}");
    }
    for l in lines {
        let _ = writeln!(out, "  {l}");
    }
}
