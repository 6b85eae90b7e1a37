//! The sandbox tenant's incidents: one deterministic data set per (size, seed, anchor day).
//!
//! Realistic mixes of severity, status, assignment, classification and tags, with hostile strings
//! (markup, script, very long and bidirectional text) mixed in: incident text is attacker-influenced
//! in real tenants too, and the app must show it literally.

use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

/// splitmix64: small, fast, and the same on every platform.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x9E37_79B9_7F4A_7C15)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
    /// Picks by weight: `(weight, value)` pairs.
    pub fn weighted<'a, T>(&mut self, items: &'a [(u64, T)]) -> &'a T {
        let total: u64 = items.iter().map(|(w, _)| w).sum();
        let mut r = self.below(total);
        for (w, v) in items {
            if r < *w {
                return v;
            }
            r -= w;
        }
        &items[items.len() - 1].1
    }
}

const TACTICS: &[&str] = &[
    "Initial access",
    "Execution",
    "Persistence",
    "Privilege escalation",
    "Defense evasion",
    "Credential access",
    "Discovery",
    "Lateral movement",
    "Collection",
    "Exfiltration",
    "Impact",
];
const HOSTS: &[&str] = &[
    "wks-fin-023",
    "srv-sql-01",
    "lap-hr-117",
    "dc01.contoso.local",
    "wks-dev-342",
    "vm-build-07",
];
const USERS: &[&str] = &[
    "megan.bowen",
    "adele.vance",
    "lee.gu",
    "pradeep.gupta",
    "irvin.sayers",
    "svc-backup",
];
const ANALYSTS: &[&str] = &[
    "alice@contoso-sandbox.test",
    "bob@contoso-sandbox.test",
    "soc-tier2@contoso-sandbox.test",
];
const TAGS: &[&str] = &[
    "Ransomware",
    "Phishing",
    "Credential Phish",
    "BEC",
    "Red team",
    "VIP",
    "Crown jewels",
    "Needs follow-up",
];
const HOSTILE: &[&str] = &[
    "<img src=x onerror=alert(1)>",
    "<script>alert('xss')</script> on wks-fin-023",
    "\"><svg onload=alert(document.domain)>",
    "{{constructor.constructor('alert(1)')()}}",
    "javascript:alert(1)",
    "'; DROP TABLE incidents; --",
    "Invoice\u{202E}gpj.exe delivered to finance",
    "${jndi:ldap://127.0.0.1/a} in User-Agent",
];

fn title(rng: &mut Rng, i: usize) -> String {
    if i % 23 == 7 {
        return (*rng.pick(HOSTILE)).to_owned();
    }
    if i % 97 == 11 {
        let word = "Suspicious activity with an extremely long title ";
        return word.repeat(40).trim_end().to_owned();
    }
    let host = rng.pick(HOSTS);
    let user = rng.pick(USERS);
    match rng.below(8) {
        0 => {
            let a = rng.pick(TACTICS);
            let b = rng.pick(TACTICS);
            format!("Multi-stage incident involving {a} & {b} on multiple endpoints reported by multiple sources")
        }
        1 => format!("Suspicious PowerShell command line on {host}"),
        2 => format!("Ransomware activity on {host}"),
        3 => format!("Email messages containing malicious file removed after delivery to {user}"),
        4 => format!("Anomalous token usage involving {user}"),
        5 => "Impossible travel activity involving one user".to_owned(),
        6 => format!("Credential access incident involving {user} on {host}"),
        _ => format!("Suspicious sign-in from an anonymous IP address for {user}"),
    }
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// The data set in Graph's wire shape (`microsoft.graph.security.incident`).
pub fn incidents(count: usize, seed: u64, anchor: OffsetDateTime, tenant: &str) -> Vec<Value> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let id = (100_000 + i).to_string();
        // Spread over 30 days before the anchor; milliseconds keep timestamps distinct.
        let created =
            anchor - Duration::milliseconds(rng.below(30 * 24 * 3600 * 1000) as i64 + 60_000);
        let since_created = (anchor - created).whole_milliseconds() as u64;
        let last_update = created + Duration::milliseconds(rng.below(since_created) as i64);
        let severity = *rng.weighted(&[
            (15, "high"),
            (35, "medium"),
            (30, "low"),
            (20, "informational"),
        ]);
        let status = *rng.weighted(&[(45, "active"), (20, "inProgress"), (35, "resolved")]);
        let assigned = match status {
            "active" if rng.below(3) > 0 => Value::Null,
            _ => json!(rng.pick(ANALYSTS)),
        };
        let (classification, determination) = if status == "resolved" {
            *rng.pick(&[
                ("truePositive", "malware"),
                ("truePositive", "phishing"),
                ("falsePositive", "clean"),
                ("informationalExpectedActivity", "securityTesting"),
            ])
        } else {
            ("unknown", "unknown")
        };
        let tags: Vec<&str> = (0..rng.below(3)).map(|_| *rng.pick(TAGS)).collect();
        out.push(json!({
            "id": id,
            "tenantId": tenant,
            "status": status,
            "incidentWebUrl": format!("https://security.microsoft.com/incidents/{id}?tid={tenant}"),
            "redirectIncidentId": null,
            "displayName": title(&mut rng, i),
            "createdDateTime": rfc3339(created),
            "lastUpdateDateTime": rfc3339(last_update),
            "assignedTo": assigned,
            "classification": classification,
            "determination": determination,
            "severity": severity,
            "customTags": tags,
            "systemTags": [],
            "description": null,
            "comments": [],
        }));
    }
    out
}
