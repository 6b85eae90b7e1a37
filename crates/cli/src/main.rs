//! `idesk`: Incident Desk on the command line, over the same core as the desktop app.
//!
//! Exit codes: 0 ok, 2 usage or configuration, 3 not signed in or sign-in failed, 4 API or network.

#[macro_use]
mod terminal;
mod output;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use idesk_core::auth::browser::{Opener, SystemBrowser};
use idesk_core::auth::oidc::Account;
use idesk_core::auth::secret::Secret;
use idesk_core::auth::token_store::{KeychainStore, TokenStore};
use idesk_core::config::{Backend, Cloud, Config, Credential, Dirs, Kind, Profile, Region};
use idesk_core::desk::{self, Desk};
use idesk_core::incidents::api::DEFENDER_RETIREMENT;
use idesk_core::incidents::bulk::{BulkEdit, BulkTarget};
use idesk_core::incidents::cache::Cache;
use idesk_core::incidents::model::{Classification, Determination, Status};
use idesk_core::incidents::report::ReportFormat;
use idesk_core::{Error, ErrorCode};
use url::Url;

/// mimalloc instead of the C library's allocator: a listing allocates and frees a few small
/// strings per field of every incident, and glibc's malloc took a quarter of its CPU.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `idesk 0.1.0 (commit, date)`.
static VERSION: std::sync::LazyLock<String> = std::sync::LazyLock::new(idesk_core::build::describe);

#[derive(Parser)]
#[command(
    name = "idesk",
    version = VERSION.as_str(),
    about = "Review and triage Microsoft Defender XDR incidents"
)]
struct Cli {
    /// The profile to use (default: the current one).
    #[arg(long, global = true, env = "IDESK_PROFILE")]
    profile: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Manage profiles (tenant + app registration + API).
    #[command(subcommand)]
    Profile(ProfileCommand),
    /// Sign in in the system browser.
    SignIn {
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 300)]
        timeout: u64,
    },
    /// Remove the profile's refresh token from the keychain.
    SignOut {
        /// Also delete the profile's cached incidents and their key.
        #[arg(long)]
        wipe: bool,
    },
    /// Who is signed in, to which tenant, until when. Never prints a token.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// List incidents.
    Incidents {
        /// Only incidents updated since: a duration (48h, 7d, 30m) or an RFC 3339 time.
        #[arg(long)]
        since: Option<String>,
        /// Comma-separated statuses (active, inProgress, resolved, ...).
        #[arg(long, value_delimiter = ',')]
        status: Vec<String>,
        /// Comma-separated severities (high, medium, low, informational).
        #[arg(long, value_delimiter = ',')]
        severity: Vec<String>,
        /// me, none, or a user principal name.
        #[arg(long)]
        assigned_to: Option<String>,
        #[arg(long, value_enum, default_value_t = output::Format::Table)]
        format: output::Format,
        /// Write to this file instead of standard output.
        #[arg(long)]
        output: Option<std::path::PathBuf>,
        /// Read the local cache (filled by `idesk sync`) instead of the API.
        #[arg(long)]
        offline: bool,
        /// Also list incidents merged into another (status redirected), left out by default.
        #[arg(long)]
        show_merged: bool,
        /// Every signed-in profile's incidents in one list, each naming its profile (a
        /// profile column; a "profile" field in JSON).
        #[arg(long, conflicts_with = "profile")]
        all_profiles: bool,
    },
    /// One incident with its alerts and evidence.
    Incident {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Triage incidents: status, assignment, classification, determination, tags, comment. With
    /// several IDs (or --ids-from), each gets its own check and the summary names what was
    /// saved, skipped and failed.
    Update {
        /// One or more incident IDs.
        ids: Vec<String>,
        /// Also the IDs in this file, one per line (`-`: standard input).
        #[arg(long)]
        ids_from: Option<String>,
        /// Takes a tag off (repeatable).
        #[arg(long = "remove-tag")]
        remove_tags: Vec<String>,
        /// active, inProgress, resolved (resolving wants a --comment saying why).
        #[arg(long)]
        status: Option<String>,
        /// me, none, or a user principal name.
        #[arg(long)]
        assign: Option<String>,
        /// truePositive, falsePositive, informationalExpectedActivity, unknown.
        #[arg(long)]
        classification: Option<String>,
        /// malware, phishing, securityTesting, notMalicious, ... (see the README).
        #[arg(long)]
        determination: Option<String>,
        /// Adds a tag (repeatable); existing tags stay.
        #[arg(long = "tag")]
        tags: Vec<String>,
        #[arg(long)]
        comment: Option<String>,
        /// A merged incident takes no changes: apply its change to the incident it was merged
        /// into instead of skipping it.
        #[arg(long)]
        follow_merge: bool,
        /// Apply the profile's triage macro of this name (as defined in the app's Settings)
        /// instead of the options above.
        #[arg(long = "macro", value_name = "NAME", conflicts_with_all = ["status", "assign", "classification", "determination", "tags", "remove_tags", "comment", "follow_merge"])]
        macro_name: Option<String>,
    },
    /// A report of incidents to paste into a ticket: summary, alert timeline, entities with
    /// verdicts, comments, classification, portal link. Incident text is fenced (Markdown) or
    /// escaped (HTML).
    Report {
        /// One or more incident IDs.
        ids: Vec<String>,
        #[arg(long, value_enum, default_value_t = ReportArg::Markdown)]
        format: ReportArg,
        /// Write to this file instead of standard output.
        #[arg(long)]
        output: Option<std::path::PathBuf>,
    },
    /// Bring the local, encrypted incident store up to date (incrementally).
    Sync {
        #[arg(long)]
        json: bool,
        /// Every signed-in profile's store, one after the other, each paced on its own.
        #[arg(long, conflicts_with = "profile")]
        all_profiles: bool,
    },
    /// What the syncs found changed elsewhere, newest first: new incidents and alerts, raised
    /// severities, status, assignment and classification changes, merges. From the local store.
    Changes {
        /// Only changes seen since: a duration (48h, 7d, 30m) or an RFC 3339 time.
        #[arg(long)]
        since: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 200)]
        limit: usize,
        #[arg(long)]
        json: bool,
        /// Mark them seen, as the app's "Mark all seen" does.
        #[arg(long)]
        mark_seen: bool,
    },
}

// Parsed once per run: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum ProfileCommand {
    /// Add or replace a profile.
    Add {
        name: String,
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        client_id: String,
        #[arg(long, value_enum, default_value_t = CloudArg::Global)]
        cloud: CloudArg,
        #[arg(long, value_enum, default_value_t = ApiArg::Graph)]
        api: ApiArg,
        /// Replaces the cloud's login host + tenant, e.g. the sandbox tenant's authority.
        #[arg(long)]
        authority: Option<Url>,
        /// The base that /security/incidents (graph) or /api/incidents (defender) is appended to.
        #[arg(long)]
        api_base: Option<Url>,
        /// An application profile (client credentials): read its client secret from standard input.
        /// The secret is checked with the tenant, then kept in the OS keychain only.
        #[arg(long, conflicts_with = "certificate")]
        client_secret_stdin: bool,
        /// An application profile (client credentials) that proves itself with a certificate: a
        /// PEM file holding the private key (unencrypted, RSA) and the certificate registered on the
        /// app. Checked with the tenant, then kept in the OS keychain; the file can be deleted after.
        #[arg(long, value_name = "PEM_FILE")]
        certificate: Option<std::path::PathBuf>,
        /// Ask only for read permissions (the tenant consented to read, not to triage).
        #[arg(long)]
        read_only: bool,
        /// The Defender XDR API's regional host (commercial cloud only).
        #[arg(long, value_enum)]
        region: Option<RegionArg>,
        /// A proxy for this profile, in place of the system's settings.
        #[arg(long)]
        proxy: Option<Url>,
    },
    /// List profiles.
    List,
    /// Make a profile the current one.
    Use { name: String },
    /// Remove a profile, its sign-in and its cached incidents.
    Remove { name: String },
}

#[derive(Clone, Copy, ValueEnum)]
enum CloudArg {
    Global,
    Gcc,
    Usgov,
    UsgovDod,
}

#[derive(Clone, Copy, ValueEnum)]
enum RegionArg {
    Us,
    Eu,
    Uk,
}

#[derive(Clone, Copy, ValueEnum)]
enum ReportArg {
    Markdown,
    Html,
}

#[derive(Clone, Copy, ValueEnum)]
enum ApiArg {
    Graph,
    Defender,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    idesk_core::logging::init("warn", None);
    // One thread: the CLI does one thing at a time, and a single thread spends no CPU handing work
    // between workers (keychain calls still run on the blocking pool).
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            esayln!("idesk: {e}");
            return ExitCode::from(1);
        }
    };
    let profile_name = cli.profile.clone();
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            esayln!("idesk: {}", e.user_message());
            if e.code() == ErrorCode::ConsentRequired {
                print_admin_consent_link(profile_name.as_deref());
            }
            ExitCode::from(exit_code(e.code()))
        }
    }
}

/// For consent errors: the link an administrator opens to grant the app its permissions.
fn print_admin_consent_link(profile: Option<&str>) {
    let link = Dirs::from_env()
        .and_then(|d| Config::load(&d))
        .and_then(|c| c.select(profile)?.admin_consent_url());
    if let Ok(url) = link {
        esayln!("Send this admin-consent link to an administrator of the tenant:\n{url}");
    }
}

fn exit_code(code: ErrorCode) -> u8 {
    match code {
        ErrorCode::Config | ErrorCode::NoProfile | ErrorCode::InvalidInput => 2,
        ErrorCode::NotSignedIn
        | ErrorCode::SignInCancelled
        | ErrorCode::SignInTimeout
        | ErrorCode::AuthFailed
        | ErrorCode::ConsentRequired
        | ErrorCode::ReauthRequired
        | ErrorCode::KeychainUnavailable => 3,
        ErrorCode::ApiError | ErrorCode::Offline | ErrorCode::Conflict | ErrorCode::Merged => 4,
        ErrorCode::Environment | ErrorCode::Internal => 1,
    }
}

fn keychain() -> Result<Arc<dyn TokenStore>, Error> {
    Ok(Arc::new(KeychainStore::open()?))
}

/// The desk, on the profile chosen by --profile, else the current one, else the only one.
fn open_desk(dirs: &Dirs, config: &Config, profile: Option<&str>) -> Result<Desk, Error> {
    let name = config.select(profile)?.name.clone();
    let desk = Desk::open(dirs, None, keychain()?, false)?;
    desk.switch(&name)?;
    Ok(desk)
}

/// A note on stderr for profiles on the retiring Defender XDR API.
fn note_retirement(desk: &Desk) {
    if desk.profile().api == Backend::Defender {
        esayln!(
            "idesk: note: the Defender XDR API stops working on {DEFENDER_RETIREMENT}; move this profile to --api graph"
        );
    }
}

/// What opening the profile's store set aside and re-syncs, on stderr.
fn note_store(desk: &Desk) {
    if let Some(notice) = desk.store_notice() {
        esayln!("idesk: note: {notice}");
    }
}

/// The desk's profile, signed in silently from the keychain.
async fn signed_in(desk: &Desk) -> Result<Account, Error> {
    note_retirement(desk);
    desk.resume().await?.ok_or(Error::NotSignedIn)
}

fn to_json(value: &impl serde::Serialize) -> Result<String, Error> {
    serde_json::to_string_pretty(value).map_err(|e| Error::Internal(format!("JSON output: {e}")))
}

async fn run(cli: Cli) -> Result<(), Error> {
    let dirs = Dirs::from_env()?;
    let config = Config::load(&dirs)?;
    let chosen = cli.profile.as_deref();
    match cli.command {
        Command::Profile(cmd) => profile_command(cmd, &dirs, config).await,
        Command::SignIn { timeout } => {
            let desk = open_desk(&dirs, &config, chosen)?;
            if desk.profile().kind == Kind::Application {
                return match desk.resume().await? {
                    Some(_) => {
                        sayln!("Application profile: the tenant accepts its client secret");
                        Ok(())
                    }
                    None => Err(Error::SignedOut(
                        "no client secret is stored: add the profile again with --client-secret-stdin".into(),
                    )),
                };
            }
            let pending = desk.begin_sign_in().await?;
            esayln!(
                "Opening the browser to sign in. If it does not open, visit:\n{}",
                pending.url
            );
            if let Err(e) = SystemBrowser.open(pending.url.as_str()) {
                esayln!("idesk: {}", e.user_message());
            }
            let cancel = async {
                let _ = tokio::signal::ctrl_c().await;
            };
            let account = desk
                .finish_sign_in(pending, Duration::from_secs(timeout), cancel)
                .await?;
            sayln!("Signed in as {}", account_name(&account));
            Ok(())
        }
        Command::SignOut { wipe } => {
            let desk = open_desk(&dirs, &config, chosen)?;
            desk.sign_out(wipe).await?;
            sayln!(
                "{}",
                if wipe {
                    "Signed out; cached incidents deleted"
                } else {
                    "Signed out"
                }
            );
            Ok(())
        }
        Command::Status { json } => {
            let desk = open_desk(&dirs, &config, chosen)?;
            let account = desk.resume().await?;
            let status = output::Status::new(
                desk.profile(),
                account.as_ref(),
                desk.current().access_expires_at(),
            );
            output::print_status(&status, json);
            account.map(drop).ok_or(Error::NotSignedIn)
        }
        Command::Incident { id, json } => {
            let desk = open_desk(&dirs, &config, chosen)?;
            note_retirement(&desk);
            let detail = desk.incident(&id).await?;
            if json {
                sayln!("{}", to_json(&detail)?);
            } else {
                say!("{}", output::detail(&detail));
            }
            Ok(())
        }
        Command::Update {
            mut ids,
            ids_from,
            remove_tags,
            status,
            assign,
            classification,
            determination,
            tags,
            comment,
            follow_merge,
            macro_name,
        } => {
            if let Some(from) = ids_from {
                ids.extend(read_ids(&from)?);
            }
            if ids.is_empty() {
                return Err(Error::Invalid(
                    "name an incident ID, or --ids-from FILE".into(),
                ));
            }
            let desk = open_desk(&dirs, &config, chosen)?;
            let me = signed_in(&desk).await?.username;
            let assigned_to = match assign.as_deref() {
                None => None,
                Some("none") => Some(None),
                Some("me") => Some(Some(me.ok_or_else(|| {
                    Error::Invalid("--assign me needs a signed-in user".into())
                })?)),
                Some(upn) => Some(Some(upn.to_owned())),
            };
            let edit = BulkEdit {
                status: status.as_deref().map(Status::from),
                assigned_to,
                classification: classification.as_deref().map(Classification::from),
                determination: determination.as_deref().map(Determination::from),
                add_tags: tags,
                remove_tags,
                comment,
                follow_merges: follow_merge,
            };
            if let ([id], None) = (ids.as_slice(), &macro_name) {
                // One incident: read as it is now, then written if nobody changed it since.
                let mut current = desk.incident(id).await?.incident;
                if let (true, Status::Redirected, Some(into)) = (
                    follow_merge,
                    &current.status,
                    current.redirect_incident_id.clone(),
                ) {
                    esayln!(
                        "incident {}: merged into #{}, changing that one",
                        terminal::field(id),
                        terminal::field(&into)
                    );
                    current = desk.incident(&into).await?.incident;
                }
                let update = edit.update_for(&current);
                if current.status == Status::Redirected {
                    return Err(Error::Merged {
                        id: current.id.clone(),
                        into: current.redirect_incident_id.clone(),
                    });
                }
                if let Some(reason) = idesk_core::incidents::bulk::precheck(&current, &update) {
                    return Err(Error::Invalid(format!("incident {id}: {reason}")));
                }
                let updated = desk
                    .update(&current.id, &update, current.last_update)
                    .await?;
                sayln!("{}", output::table_line(&updated).trim_end());
                return Ok(());
            }
            let targets: Vec<BulkTarget> = ids
                .iter()
                .map(|id| BulkTarget {
                    id: id.clone(),
                    seen_last_update: None,
                })
                .collect();
            let cancel = std::sync::atomic::AtomicBool::new(false);
            let result = match &macro_name {
                Some(name) => {
                    desk.apply_macro(name, &targets, &|_, _| {}, &cancel)
                        .await?
                }
                None => {
                    desk.update_many(&targets, &edit, &|_, _| {}, &cancel)
                        .await?
                }
            };
            let field = terminal::field;
            sayln!(
                "{} saved, {} skipped, {} failed",
                result.saved.len(),
                result.skipped.len(),
                result.failed.len()
            );
            for s in &result.skipped {
                sayln!("skipped {}: {}", field(&s.id), field(&s.reason));
            }
            for f in &result.failed {
                sayln!("failed  {}: {}", field(&f.id), field(&f.reason));
            }
            if result.failed.is_empty() {
                Ok(())
            } else {
                Err(Error::PartlyFailed(format!(
                    "{} of {} incidents failed",
                    result.failed.len(),
                    ids.len()
                )))
            }
        }
        Command::Sync {
            json,
            all_profiles: true,
        } => {
            let desk = Desk::open(&dirs, None, keychain()?, false)?;
            let mut reports = Vec::new();
            let mut failed = None;
            for (name, result) in desk.sync_all(&|_| {}).await {
                match result {
                    Ok(report) => {
                        if !json {
                            sayln!(
                                "{name}: {} incidents fetched, {} in the store",
                                report.fetched,
                                report.total
                            );
                        }
                        reports.push(serde_json::json!({ "profile": name, "report": report }));
                    }
                    Err(err) => {
                        esayln!("idesk: {name}: {}", err.user_message());
                        failed = Some(err);
                    }
                }
            }
            if json {
                sayln!("{}", to_json(&reports)?);
            }
            match failed {
                Some(err) => Err(err),
                None if reports.is_empty() => Err(Error::NotSignedIn),
                None => Ok(()),
            }
        }
        Command::Sync { json, .. } => {
            let desk = open_desk(&dirs, &config, chosen)?;
            signed_in(&desk).await?;
            let report = desk.sync_store(&|_| {}).await;
            note_store(&desk);
            let report = report?;
            if json {
                sayln!("{}", to_json(&report)?);
            } else {
                sayln!(
                    "{} incidents fetched, {} in the store",
                    report.fetched,
                    report.total
                );
            }
            Ok(())
        }
        Command::Changes {
            since,
            limit,
            json,
            mark_seen,
        } => {
            let desk = open_desk(&dirs, &config, chosen)?;
            let since = since.as_deref().map(output::parse_since).transpose()?;
            let (changes, unseen) = desk.changes(since, limit).await?;
            if json {
                sayln!("{}", to_json(&changes)?);
            } else if changes.is_empty() {
                sayln!("No changes.");
            } else {
                sayln!("{unseen} unseen");
                let field = terminal::field;
                for c in &changes {
                    // Server text (titles, assignees) is escaped onto its line.
                    sayln!(
                        "{} {}  #{} {}: {}",
                        if c.seen { " " } else { "*" },
                        output::rfc3339(c.at),
                        field(&c.incident_id),
                        field(&c.title),
                        field(&c.detail)
                    );
                }
            }
            if mark_seen {
                desk.mark_seen(changes.first().map(|c| c.seq)).await?;
            }
            Ok(())
        }
        Command::Report {
            ids,
            format,
            output,
        } => {
            if ids.is_empty() {
                return Err(Error::Invalid("name an incident ID".into()));
            }
            let desk = open_desk(&dirs, &config, chosen)?;
            signed_in(&desk).await?;
            let format = match format {
                ReportArg::Markdown => ReportFormat::Markdown,
                ReportArg::Html => ReportFormat::Html,
            };
            let text = desk.report(&ids, format).await?;
            match output {
                Some(path) => idesk_core::files::write_atomically(&path, text.as_bytes())?,
                // Reports are for pasting: written as they are (fenced or escaped already).
                None => {
                    use std::io::Write;
                    let mut out = std::io::stdout().lock();
                    out.write_all(text.as_bytes())
                        .and_then(|()| out.flush())
                        .map_err(|e| Error::Io("standard output".into(), e))?;
                }
            }
            Ok(())
        }
        Command::Incidents {
            since,
            status,
            severity,
            assigned_to,
            format,
            output,
            offline,
            show_merged,
            all_profiles: true,
        } => {
            let desk = Desk::open(&dirs, None, keychain()?, false)?;
            let since = since.as_deref().map(output::parse_since).transpose()?;
            let base = output::Filter {
                since,
                status,
                severity,
                assigned_to,
                me: None,
                show_merged,
            };
            if offline {
                let filters = profile_filters(&desk, &base).await?;
                if filters.is_empty() {
                    return Err(Error::NotSignedIn);
                }
                // Every store read newest first and merged as read, like one profile's
                // listing: a few incidents per profile are held, however many they store.
                let path = output.clone();
                return desk
                    .with_stores(move |stores| {
                        let caches: Vec<&Cache> = stores.iter().map(|(_, c)| c.as_ref()).collect();
                        let each: Vec<_> =
                            stores.iter().map(|(name, _)| filters.get(name)).collect();
                        output::write_across(format, path.as_deref(), |emit| {
                            Cache::each_newest_first_across(&caches, |k, i| {
                                // Newest first across the stores: once past `--since` in one,
                                // every row after is older.
                                each[k].map_or(Ok(true), |filter| {
                                    filter.step(&i, |i| emit(&stores[k].0, i))
                                })
                            })
                        })
                    })
                    .await;
            }
            let mut failed = None;
            let mut rows = Vec::new();
            for (name, result) in desk.list_across(since).await {
                match result {
                    Ok(pages) => {
                        rows.extend(pages.into_iter().flatten().map(|i| (name.clone(), i)))
                    }
                    Err(err) => {
                        esayln!("idesk: {name}: {}", err.user_message());
                        failed = Some(err);
                    }
                }
            }
            if rows.is_empty() && failed.is_none() && desk.signed_in_profiles().await.is_empty() {
                return Err(Error::NotSignedIn);
            }
            // After the listing, which has resumed each profile's session.
            let filters = profile_filters(&desk, &base).await?;
            rows.retain(|(name, i)| filters.get(name).is_some_and(|f| f.keeps(i)));
            rows.sort_by_key(|(_, i)| std::cmp::Reverse(i.last_update));
            output::write_across(format, output.as_deref(), |emit| {
                rows.iter().try_for_each(|(name, i)| emit(name, i))
            })?;
            match failed {
                Some(err) => Err(err),
                None => Ok(()),
            }
        }
        Command::Incidents {
            since,
            status,
            severity,
            assigned_to,
            format,
            output,
            offline,
            show_merged,
            ..
        } => {
            let desk = open_desk(&dirs, &config, chosen)?;
            let since = since.as_deref().map(output::parse_since).transpose()?;
            let mut filter = output::Filter {
                since,
                status,
                severity,
                assigned_to,
                me: None,
                show_merged,
            };
            if offline {
                // Read from the store newest first and written as read: into a file or a
                // pipe, 100,000 incidents need no more memory than one, and `--since 48h`
                // reads the last 48 hours and the row after them.
                let status = desk.store_status().await;
                note_store(&desk);
                filter.me = status?.0.account.and_then(|a| a.username);
                let path = output.clone();
                return desk
                    .with_store(move |cache| {
                        output::write_each(format, path.as_deref(), |emit| {
                            cache.each_newest_first(|i| filter.step(&i, &mut *emit))
                        })
                    })
                    .await;
            }
            filter.me = signed_in(&desk).await?.username;
            let pages = desk.list(since).await?;
            // Sorted by reference: an incident is some 400 bytes to move, a reference 8.
            let mut shown: Vec<&_> = pages.iter().flatten().filter(|i| filter.keeps(i)).collect();
            shown.sort_by_key(|i| std::cmp::Reverse(i.last_update));
            let written = output::write_each(format, output.as_deref(), |emit| {
                shown.into_iter().try_for_each(emit)
            });
            // The process ends here: its memory goes back to the system whole, without freeing
            // each of the listing's strings first (about half a millisecond for 10,000 incidents).
            std::mem::forget(pages);
            written
        }
    }
}

/// `base` for each signed-in profile: "me" is the profile's own analyst, as its tenant knows
/// them (the session's account, else the one its store's last sync recorded).
async fn profile_filters(
    desk: &Desk,
    base: &output::Filter,
) -> Result<std::collections::HashMap<String, output::Filter>, Error> {
    let mut filters = std::collections::HashMap::new();
    for name in desk.signed_in_profiles().await {
        desk.switch(&name)?;
        let me = match desk.current().account() {
            Some(a) => a.username,
            None => desk
                .store_status()
                .await?
                .0
                .account
                .and_then(|a| a.username),
        };
        filters.insert(name, output::Filter { me, ..base.clone() });
    }
    Ok(filters)
}

/// Incident IDs, one per line (blank lines and `#` comments skipped), from a file or `-`.
fn read_ids(from: &str) -> Result<Vec<String>, Error> {
    let text = if from == "-" {
        std::io::read_to_string(std::io::stdin())
            .map_err(|e| Error::Io("standard input".into(), e))?
    } else {
        std::fs::read_to_string(from).map_err(|e| Error::Io(from.to_owned(), e))?
    };
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect())
}

fn account_name(a: &Account) -> &str {
    a.username
        .as_deref()
        .or(a.name.as_deref())
        .unwrap_or("(unknown)")
}

async fn profile_command(
    cmd: ProfileCommand,
    dirs: &Dirs,
    mut config: Config,
) -> Result<(), Error> {
    match cmd {
        ProfileCommand::Add {
            name,
            tenant,
            client_id,
            cloud,
            api,
            authority,
            api_base,
            client_secret_stdin,
            certificate,
            read_only,
            region,
            proxy,
        } => {
            let application = client_secret_stdin || certificate.is_some();
            let profile = Profile {
                name: name.clone(),
                tenant,
                client_id,
                cloud: match cloud {
                    CloudArg::Global => Cloud::Global,
                    CloudArg::Gcc => Cloud::Gcc,
                    CloudArg::Usgov => Cloud::Usgov,
                    CloudArg::UsgovDod => Cloud::UsgovDod,
                },
                api: match api {
                    ApiArg::Graph => Backend::Graph,
                    ApiArg::Defender => Backend::Defender,
                },
                authority,
                api_base,
                sandbox: false,
                read_only,
                region: region.map(|r| match r {
                    RegionArg::Us => Region::Us,
                    RegionArg::Eu => Region::Eu,
                    RegionArg::Uk => Region::Uk,
                }),
                proxy,
                kind: if application {
                    Kind::Application
                } else {
                    Kind::Delegated
                },
                credential: if certificate.is_some() {
                    Credential::Certificate
                } else {
                    Credential::Secret
                },
            };
            profile.validate()?;
            let secret = match (&certificate, client_secret_stdin) {
                (Some(path), _) => Some(idesk_core::auth::certificate::read_pem_file(path)?),
                (None, true) => Some(read_secret()?),
                (None, false) => None,
            };
            let current = config.current.clone();
            desk::add_profile(dirs, &keychain()?, profile, secret).await?;
            // `add_profile` makes the new profile current, as the app's setup does; on the command
            // line the current profile changes only with `profile use` (or when there was none).
            if current.is_some() {
                let mut config = Config::load(dirs)?;
                config.current = current;
                config.save(dirs)?;
            }
            sayln!("Profile {name:?} saved");
        }
        ProfileCommand::List => {
            for p in &config.profiles {
                let mark = if config.current.as_deref() == Some(&p.name) {
                    "*"
                } else {
                    " "
                };
                sayln!("{mark} {}\t{}\t{:?}", p.name, p.tenant, p.api);
            }
        }
        ProfileCommand::Use { name } => {
            config.select(Some(&name))?;
            config.current = Some(name.clone());
            config.save(dirs)?;
            sayln!("Using profile {name:?}");
        }
        ProfileCommand::Remove { name } => {
            desk::remove_profile(dirs, &keychain()?, &name, false).await?;
            sayln!("Profile {name:?} removed, with its sign-in and cached incidents");
        }
    }
    Ok(())
}

/// The client secret from standard input, one line. At a terminal it is asked for without echo,
/// so it never shows on screen or in a terminal's scrollback.
fn read_secret() -> Result<Secret, Error> {
    use std::io::IsTerminal;
    let read = if std::io::stdin().is_terminal() {
        rpassword::prompt_password("Client secret (not shown): ")
    } else {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).map(|_| line)
    };
    let mut secret =
        zeroize::Zeroizing::new(read.map_err(|e| Error::Io("standard input".into(), e))?);
    let len = secret.trim_end_matches(['\r', '\n']).len();
    secret.truncate(len);
    if secret.is_empty() {
        return Err(Error::Invalid("no client secret on standard input".into()));
    }
    Ok(Secret::new(std::mem::take(&mut *secret)))
}
