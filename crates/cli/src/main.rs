//! `idesk`: Incident Desk on the command line, over the same core as the desktop app.
//!
//! Exit codes: 0 ok, 2 usage or configuration, 3 not signed in or sign-in failed, 4 API or network.

mod output;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use idesk_core::api::{IncidentApi, DEFENDER_RETIREMENT};
use idesk_core::browser::{Opener, SystemBrowser};
use idesk_core::cache::Cache;
use idesk_core::config::{Backend, Cloud, Config, Dirs, Kind, Profile};
use idesk_core::incident::{Classification, Determination, Status, Update};
use idesk_core::secret::Secret;
use idesk_core::session::Session;
use idesk_core::sync;
use idesk_core::token_store::{KeychainStore, TokenStore};
use idesk_core::{Error, ErrorCode};
use url::Url;

#[derive(Parser)]
#[command(
    name = "idesk",
    version,
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
    SignOut,
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
    },
    /// One incident with its alerts and evidence.
    Incident {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Triage an incident: status, assignment, classification, determination, tags, comment.
    Update {
        id: String,
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
    },
    /// Bring the local, encrypted incident cache up to date (incrementally).
    Sync {
        #[arg(long)]
        json: bool,
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
        #[arg(long)]
        client_secret_stdin: bool,
        /// Ask only for read permissions (the tenant consented to read, not to triage).
        #[arg(long)]
        read_only: bool,
    },
    /// List profiles.
    List,
    /// Make a profile the current one.
    Use { name: String },
    /// Remove a profile and its refresh token.
    Remove { name: String },
}

#[derive(Clone, Copy, ValueEnum)]
enum CloudArg {
    Global,
    Usgov,
    UsgovDod,
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
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("IDESK_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .init();
    // One thread: the CLI does one thing at a time, and a single thread spends no CPU handing work
    // between workers (keychain calls still run on the blocking pool).
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("idesk: {e}");
            return ExitCode::from(1);
        }
    };
    let profile_name = cli.profile.clone();
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("idesk: {}", e.user_message());
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
        eprintln!("Send this admin-consent link to an administrator of the tenant:\n{url}");
    }
}

fn exit_code(code: ErrorCode) -> u8 {
    match code {
        ErrorCode::Config | ErrorCode::NoProfile => 2,
        ErrorCode::NotSignedIn
        | ErrorCode::SignInCancelled
        | ErrorCode::SignInTimeout
        | ErrorCode::AuthFailed
        | ErrorCode::ConsentRequired
        | ErrorCode::ReauthRequired
        | ErrorCode::KeychainUnavailable => 3,
        ErrorCode::ApiError | ErrorCode::Conflict => 4,
    }
}

fn keychain() -> Result<Arc<dyn TokenStore>, Error> {
    Ok(Arc::new(KeychainStore::open()?))
}

async fn run(cli: Cli) -> Result<(), Error> {
    let dirs = Dirs::from_env()?;
    let mut config = Config::load(&dirs)?;
    match cli.command {
        Command::Profile(cmd) => profile_command(cmd, &dirs, &mut config).await,
        Command::SignIn { timeout } => {
            let session = Session::new(config.select(cli.profile.as_deref())?.clone(), keychain()?);
            if session.profile().kind == Kind::Application {
                return match session.resume().await? {
                    Some(_) => {
                        println!("Application profile: the tenant accepts its client secret");
                        Ok(())
                    }
                    None => Err(Error::SignedOut(
                        "no client secret is stored: add the profile again with --client-secret-stdin".into(),
                    )),
                };
            }
            let pending = session.begin_sign_in(None).await?;
            eprintln!(
                "Opening the browser to sign in. If it does not open, visit:\n{}",
                pending.url
            );
            if let Err(e) = SystemBrowser.open(pending.url.as_str()) {
                eprintln!("idesk: {}", e.user_message());
            }
            let cancel = async {
                let _ = tokio::signal::ctrl_c().await;
            };
            let account = session
                .finish_sign_in(pending, Duration::from_secs(timeout), cancel)
                .await?;
            println!(
                "Signed in as {}",
                account
                    .username
                    .as_deref()
                    .or(account.name.as_deref())
                    .unwrap_or("(unknown)")
            );
            Ok(())
        }
        Command::SignOut => {
            let session = Session::new(config.select(cli.profile.as_deref())?.clone(), keychain()?);
            session.sign_out().await?;
            println!("Signed out");
            Ok(())
        }
        Command::Status { json } => {
            let profile = config.select(cli.profile.as_deref())?.clone();
            let session = Session::new(profile.clone(), keychain()?);
            let account = session.resume().await?;
            let status =
                output::Status::new(&profile, account.as_ref(), session.access_expires_at());
            output::print_status(&status, json);
            if account.is_none() {
                return Err(Error::NotSignedIn);
            }
            Ok(())
        }
        cmd @ (Command::Incident { .. } | Command::Update { .. } | Command::Sync { .. }) => {
            let session = Session::new(config.select(cli.profile.as_deref())?.clone(), keychain()?);
            incident_command(cmd, &session, &dirs).await
        }
        Command::Incidents {
            since,
            status,
            severity,
            assigned_to,
            format,
            output,
            offline,
        } => {
            let profile = config.select(cli.profile.as_deref())?.clone();
            let since = since.as_deref().map(output::parse_since).transpose()?;
            let store = keychain()?;
            let session = Session::new(profile.clone(), Arc::clone(&store));
            let all = if offline {
                let cache = Arc::new(Cache::new(&dirs, &profile.name, store));
                sync::cached(&cache).await?.incidents
            } else {
                let session = signed_in(&session).await?;
                let since_text = since.map(output::rfc3339);
                IncidentApi::for_profile(&profile)?
                    .list(session, since_text.as_deref(), &|_| {})
                    .await?
            };
            let me = session.account().and_then(|a| a.username);
            let filter = output::Filter {
                since,
                status,
                severity,
                assigned_to,
                me,
            };
            let mut shown: Vec<_> = all.into_iter().filter(|i| filter.keeps(i)).collect();
            shown.sort_by(|a, b| b.last_update.cmp(&a.last_update));
            output::write(&shown, format, output.as_deref())
        }
    }
}

/// The session, signed in silently from the keychain; a note on stderr for retiring backends.
async fn signed_in(session: &Session) -> Result<&Session, Error> {
    if session.profile().api == Backend::Defender {
        eprintln!(
            "idesk: note: the Defender XDR API stops working on {DEFENDER_RETIREMENT}; move this profile to --api graph"
        );
    }
    if session.resume().await?.is_none() {
        return Err(Error::NotSignedIn);
    }
    Ok(session)
}

async fn incident_command(cmd: Command, session: &Session, dirs: &Dirs) -> Result<(), Error> {
    let profile = session.profile().clone();
    let api = IncidentApi::for_profile(&profile)?;
    match cmd {
        Command::Incident { id, json } => {
            let detail = api.get(signed_in(session).await?, &id).await?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&detail)
                        .map_err(|e| Error::Config(e.to_string()))?
                );
            } else {
                print!("{}", output::detail(&detail));
            }
        }
        Command::Update {
            id,
            status,
            assign,
            classification,
            determination,
            tags,
            comment,
        } => {
            let session = signed_in(session).await?;
            let current = api.get(session, &id).await?.incident;
            let me = session.account().and_then(|a| a.username);
            let assigned_to = match assign.as_deref() {
                None => None,
                Some("none") => Some(None),
                Some("me") => Some(Some(me.ok_or_else(|| {
                    Error::Config("--assign me needs a signed-in user".into())
                })?)),
                Some(upn) => Some(Some(upn.to_owned())),
            };
            let tags = (!tags.is_empty()).then(|| {
                let mut all = current.tags.clone();
                for t in tags {
                    if !all.contains(&t) {
                        all.push(t);
                    }
                }
                all
            });
            let update = Update {
                status: status.as_deref().map(Status::from),
                assigned_to,
                classification: classification.as_deref().map(Classification::from),
                determination: determination.as_deref().map(Determination::from),
                tags,
                comment,
            };
            let updated = api
                .update(session, &id, &update, current.last_update.as_deref())
                .await?;
            let cache = Arc::new(Cache::new(dirs, &profile.name, keychain()?));
            sync::remember(&cache, updated.clone()).await?;
            println!(
                "{}",
                output::render(std::slice::from_ref(&updated), output::Format::Table)?.trim_end()
            );
        }
        Command::Sync { json } => {
            let session = signed_in(session).await?;
            let cache = Arc::new(Cache::new(dirs, &profile.name, keychain()?));
            let (_, report) = sync::sync(&api, session, &cache, &|_| {}).await?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string(&report).map_err(|e| Error::Config(e.to_string()))?
                );
            } else {
                println!(
                    "{} incidents fetched, {} in the cache",
                    report.fetched, report.total
                );
            }
        }
        _ => {}
    }
    Ok(())
}

async fn profile_command(
    cmd: ProfileCommand,
    dirs: &Dirs,
    config: &mut Config,
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
            read_only,
        } => {
            let profile = Profile {
                name: name.clone(),
                tenant,
                client_id,
                cloud: match cloud {
                    CloudArg::Global => Cloud::Global,
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
                kind: if client_secret_stdin {
                    Kind::Application
                } else {
                    Kind::Delegated
                },
            };
            profile.validate()?;
            if client_secret_stdin {
                let mut secret = String::new();
                std::io::stdin()
                    .read_line(&mut secret)
                    .map_err(|e| Error::Io("standard input".into(), e))?;
                let secret = secret.trim_end_matches(['\r', '\n']);
                if secret.is_empty() {
                    return Err(Error::Config("no client secret on standard input".into()));
                }
                let session = Session::new(profile.clone(), keychain()?);
                session.set_client_secret(Secret::new(secret)).await?;
            }
            config.upsert(profile);
            if config.current.is_none() {
                config.current = Some(name.clone());
            }
            config.save(dirs)?;
            println!("Profile {name:?} saved");
        }
        ProfileCommand::List => {
            for p in &config.profiles {
                let mark = if config.current.as_deref() == Some(&p.name) {
                    "*"
                } else {
                    " "
                };
                println!("{mark} {}\t{}\t{:?}", p.name, p.tenant, p.api);
            }
        }
        ProfileCommand::Use { name } => {
            config.select(Some(&name))?;
            config.current = Some(name.clone());
            config.save(dirs)?;
            println!("Using profile {name:?}");
        }
        ProfileCommand::Remove { name } => {
            let profile = config.select(Some(&name))?.clone();
            Session::new(profile, keychain()?).sign_out().await?;
            config.profiles.retain(|p| p.name != name);
            if config.current.as_deref() == Some(&name) {
                config.current = None;
            }
            config.save(dirs)?;
            println!("Profile {name:?} removed");
        }
    }
    Ok(())
}
