//! The sandbox tenant's incidents: one deterministic data set per (size, seed, anchor).
//!
//! Realistic mixes of severity, status, assignment, classification, tags, alerts and evidence, with
//! hostile strings (markup, script, very long and bidirectional text) mixed in: incident text is
//! attacker-influenced in real tenants too, and the app must show it literally. Alerts are derived
//! from the incident on demand, so a data set of 100,000 incidents stays small in memory.

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

pub const TACTICS: &[&str] = &[
    "InitialAccess",
    "Execution",
    "Persistence",
    "PrivilegeEscalation",
    "DefenseEvasion",
    "CredentialAccess",
    "Discovery",
    "LateralMovement",
    "Collection",
    "Exfiltration",
    "Impact",
];
const TECHNIQUES: &[&str] = &[
    "T1059.001",
    "T1566.001",
    "T1078",
    "T1003.001",
    "T1021.002",
    "T1486",
    "T1110",
    "T1564.001",
    "T1047",
    "T1071.001",
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
pub const ANALYSTS: &[&str] = &[
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
const SOURCES: &[(&str, &str)] = &[
    ("microsoftDefenderForEndpoint", "MicrosoftDefenderATP"),
    ("microsoftDefenderForOffice365", "OfficeATP"),
    ("microsoftDefenderForIdentity", "AzureATP"),
    ("microsoftDefenderForCloudApps", "MicrosoftCloudAppSecurity"),
    ("azureAdIdentityProtection", "AAD"),
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

#[derive(Debug, Clone)]
pub struct Comment {
    pub comment: String,
    pub created_by: String,
    pub created: OffsetDateTime,
}

#[derive(Debug, Clone)]
pub struct Incident {
    pub id: u64,
    pub display_name: String,
    pub created: OffsetDateTime,
    pub last_update: OffsetDateTime,
    /// Graph spelling: active, inProgress, resolved, redirected.
    pub status: String,
    /// Graph spelling: informational, low, medium, high.
    pub severity: String,
    pub assigned_to: Option<String>,
    /// Graph spelling: unknown, truePositive, falsePositive, informationalExpectedActivity.
    pub classification: String,
    /// Graph spelling: unknown, malware, phishing, ...
    pub determination: String,
    pub tags: Vec<String>,
    pub comments: Vec<Comment>,
    /// Seeds the incident's alerts, which are derived on demand.
    pub alert_seed: u64,
    pub alert_count: u8,
    /// Merged into this incident (status `redirected`): Graph then lists it without alerts.
    pub redirect_to: Option<u64>,
}

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

/// The data set, oldest id first.
pub fn incidents(count: usize, seed: u64, anchor: OffsetDateTime) -> Vec<Incident> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
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
        let assigned_to = match status {
            "active" if rng.below(3) > 0 => None,
            _ => Some((*rng.pick(ANALYSTS)).to_owned()),
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
        let tags = (0..rng.below(3))
            .map(|_| (*rng.pick(TAGS)).to_owned())
            .collect();
        let display_name = title(&mut rng, i);
        let comments = if rng.below(4) == 0 {
            vec![Comment {
                comment: "Checked the device timeline; waiting for the user to confirm.".into(),
                created_by: (*rng.pick(ANALYSTS)).to_owned(),
                created: last_update,
            }]
        } else {
            Vec::new()
        };
        let mut incident = Incident {
            id: 100_000 + i as u64,
            display_name,
            created,
            last_update,
            status: status.into(),
            severity: severity.into(),
            assigned_to,
            classification: classification.into(),
            determination: determination.into(),
            tags,
            comments,
            alert_seed: rng.next(),
            alert_count: 1 + rng.below(4) as u8,
            redirect_to: None,
        };
        // About one in 50 was merged into an earlier incident, as the portal's "merge" or
        // Defender's correlation does: status `redirected`, its alerts moved to the target.
        if i % 53 == 29 {
            incident.status = "redirected".into();
            incident.redirect_to = Some(100_000 + (i as u64 * 7) % i as u64);
            incident.alert_count = 0;
            incident.classification = "unknown".into();
            incident.determination = "unknown".into();
        }
        out.push(incident);
    }
    out
}

/// Evidence of an alert, in a neutral shape each API renders its own way.
#[derive(Debug, Clone)]
pub enum Evidence {
    Device {
        id: String,
        dns_name: String,
        os: String,
        risk: String,
    },
    User {
        account: String,
        upn: String,
    },
    File {
        name: String,
        path: String,
        sha256: String,
    },
    Ip {
        address: String,
    },
    Process {
        command_line: String,
        pid: u32,
    },
    Mailbox {
        address: String,
    },
    Url {
        url: String,
    },
    AnalyzedMessage {
        subject: String,
        network_message_id: String,
        sender: String,
    },
}

#[derive(Debug, Clone)]
pub struct Alert {
    pub id: String,
    pub title: String,
    pub severity: String,
    pub status: String,
    pub category: String,
    pub service_source: (&'static str, &'static str),
    pub techniques: Vec<String>,
    pub created: OffsetDateTime,
    pub evidence: Vec<Evidence>,
    /// The device it was seen on.
    pub host: &'static str,
    pub detection_source: &'static str,
    pub threat: Option<String>,
    pub actor: Option<String>,
}

/// The incident's alerts, derived from its seed.
pub fn alerts(incident: &Incident) -> Vec<Alert> {
    let mut rng = Rng::new(incident.alert_seed);
    (0..incident.alert_count)
        .map(|n| {
            let host = *rng.pick(HOSTS);
            let user = *rng.pick(USERS);
            let source = *rng.pick(SOURCES);
            let mut evidence = vec![
                Evidence::Device {
                    id: format!("{:040x}", rng.next() as u128 * 7919),
                    dns_name: host.to_owned(),
                    os: (*rng.pick(&["Windows11", "Windows10", "WindowsServer2022", "Linux"]))
                        .to_owned(),
                    risk: (*rng.pick(&["high", "medium", "low"])).to_owned(),
                },
                Evidence::User {
                    account: user.to_owned(),
                    upn: format!("{user}@contoso-sandbox.test"),
                },
            ];
            match rng.below(4) {
                0 => evidence.push(Evidence::File {
                    name: (*rng.pick(&[
                        "invoice.pdf.exe",
                        "payload.dll",
                        "<svg onload=alert(2)>.js",
                        "update.ps1",
                    ]))
                    .to_owned(),
                    path: "C:\\Users\\Public\\Downloads".to_owned(),
                    sha256: format!(
                        "{:016x}{:016x}{:016x}{:016x}",
                        rng.next(),
                        rng.next(),
                        rng.next(),
                        rng.next()
                    ),
                }),
                1 => evidence.push(Evidence::Ip {
                    address: format!("203.0.113.{}", rng.below(250) + 1),
                }),
                2 => evidence.push(Evidence::Process {
                    command_line: "powershell.exe -nop -w hidden -enc SQBFAFgA".to_owned(),
                    pid: 1000 + rng.below(60000) as u32,
                }),
                _ => {
                    evidence.push(Evidence::Mailbox {
                        address: format!("{user}@contoso-sandbox.test"),
                    });
                    // A phish: the message, and the link in it. Derived without the generator,
                    // so the rest of the data set stays as it was.
                    let n = incident.alert_seed % 9000 + 1000;
                    evidence.push(Evidence::AnalyzedMessage {
                        subject: format!("Action required: invoice {n} overdue"),
                        network_message_id: format!(
                            "{:08x}-{n:04}-4e1d-9c2b-{:012x}",
                            incident.id,
                            incident.alert_seed & 0xFFFF_FFFF_FFFF
                        ),
                        sender: "billing@fabrikam-mail.test".to_owned(),
                    });
                    evidence.push(Evidence::Url {
                        url: format!("https://fabrikam-mail.test/pay/{n}"),
                    });
                }
            }
            let detection_source = match source.0 {
                "microsoftDefenderForEndpoint" => "microsoftDefenderForEndpoint",
                "microsoftDefenderForOffice365" => "microsoftDefenderForOffice365",
                "microsoftDefenderForIdentity" => "microsoftDefenderForIdentity",
                "microsoftDefenderForCloudApps" => "microsoftDefenderForCloudApps",
                _ => "azureAdIdentityProtection",
            };
            let threat = incident
                .alert_seed
                .is_multiple_of(3)
                .then(|| "Trojan:Win32/Wacatac.B!ml".to_owned());
            let actor = incident
                .alert_seed
                .is_multiple_of(5)
                .then(|| "Storm-0501".to_owned());
            Alert {
                id: format!("da{}_{}", incident.id, n),
                title: if n == 0 {
                    incident.display_name.clone()
                } else {
                    format!("Suspicious behavior on {host}")
                },
                severity: incident.severity.clone(),
                status: match incident.status.as_str() {
                    "resolved" => "resolved".into(),
                    "inProgress" => "inProgress".into(),
                    _ => "new".into(),
                },
                category: (*rng.pick(TACTICS)).to_owned(),
                service_source: source,
                techniques: (0..1 + rng.below(2))
                    .map(|_| (*rng.pick(TECHNIQUES)).to_owned())
                    .collect(),
                created: incident.created + Duration::seconds(n as i64 * 37),
                evidence,
                host,
                detection_source,
                threat,
                actor,
            }
        })
        .collect()
}
