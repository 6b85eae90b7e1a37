//! The one error vocabulary of the core.
//!
//! Every failure a user can meet maps to an [`ErrorCode`]: a small, stable set that the UI and the
//! CLI branch on. Messages say what happened and what to do; they never carry a secret.

use serde::Serialize;

/// Codes cross IPC as strings (`snake_case`) and pick the CLI's exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// No usable refresh token: the user must sign in.
    NotSignedIn,
    /// The user cancelled the sign-in, or closed it in the browser.
    SignInCancelled,
    /// The browser never came back to the listener in time.
    SignInTimeout,
    /// The identity provider refused (wrong tenant, client registration, MFA, Conditional Access, ...).
    AuthFailed,
    /// An administrator must grant consent: the UI offers the admin-consent link.
    ConsentRequired,
    /// The OS keychain cannot be used.
    KeychainUnavailable,
    /// The API wants a fresh interactive sign-in (a claims challenge): sign in again.
    ReauthRequired,
    /// The tenant cannot be reached (no network, DNS, TLS, timeout): the app works offline from
    /// its cache and retries.
    Offline,
    /// The incident API answered with an error.
    ApiError,
    /// Someone else changed the incident since it was shown: the UI shows what changed.
    Conflict,
    /// The incident was merged into another (status `redirected`) and takes no changes: the UI
    /// offers to open that incident or apply the change there.
    Merged,
    /// No profile is configured yet: the UI shows the first-run setup.
    NoProfile,
    /// A profile or setting is missing or invalid.
    Config,
    /// A request the core refuses as it stands (a triage rule, an argument): nothing was changed.
    InvalidInput,
    /// The local machine refused: a file could not be read or written (full disk, permissions),
    /// no browser could be opened.
    Environment,
    /// Something that should not happen (a background task died, encryption failed): a bug.
    Internal,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("not signed in")]
    NotSignedIn,
    #[error("signed out: {0}")]
    SignedOut(String),
    #[error("sign-in was cancelled")]
    SignInCancelled,
    #[error("sign-in timed out: the browser did not come back to Incident Desk")]
    SignInTimeout,
    /// Entra (or another provider) refused; `advice` says what to do, `detail` is the provider's
    /// own first line (with Entra's AADSTS code and trace IDs) for support.
    #[error("{advice}{}", detail_suffix(detail))]
    Identity {
        error: String,
        code: Option<u64>,
        advice: &'static str,
        detail: String,
    },
    #[error("the sign-in response is invalid: {0}")]
    InvalidAuthResponse(String),
    #[error("the ID token is not valid for this profile")]
    InvalidIdToken(#[source] jsonwebtoken::errors::Error),
    #[error("the OS keychain is not usable (on Linux a Secret Service such as GNOME Keyring must be running and unlocked); Incident Desk never stores tokens in plain files")]
    Keychain(#[source] keyring_core::Error),
    #[error("could not reach {0}")]
    Network(String, #[source] reqwest::Error),
    #[error(
        "your organisation requires you to sign in again (a Conditional Access or session change)"
    )]
    ClaimsChallenge,
    #[error("the incident API answered {status}: {message}")]
    Api { status: u16, message: String },
    /// Part of a change to several incidents was refused; what was saved is said beside it.
    #[error("{0}")]
    PartlyFailed(String),
    #[error("the incident changed since you opened it (now {}, assigned to {}, updated {}): review it and try again", .0.status.as_str(), .0.assigned_to.as_deref().unwrap_or("nobody"), .0.last_update.map(crate::incidents::model::rfc3339).unwrap_or_else(|| "?".into()))]
    Conflict(Box<crate::incidents::model::Incident>),
    /// The incident was merged into `into`: changes go to that incident, so nothing was sent.
    #[error("incident {id} was {}", crate::incidents::bulk::merged_note(.into.as_deref()))]
    Merged { id: String, into: Option<String> },
    #[error("refused to send the token to {0}: not the profile's API origin")]
    ForeignOrigin(String),
    #[error("the server sent a response Incident Desk cannot read: {0}")]
    InvalidResponse(String),
    #[error("could not open the browser")]
    Browser(#[source] std::io::Error),
    #[error("no profile configured: add one (or start the sandbox tenant with `make run`)")]
    NoProfile,
    /// A profile or setting is missing or invalid.
    #[error("{0}")]
    Config(String),
    /// A request refused by a rule or as malformed; nothing was changed.
    #[error("{0}")]
    Invalid(String),
    /// A failure that is not the user's, the network's or the tenant's: a bug, reported as such.
    #[error("internal error: {0}")]
    Internal(String),
    #[error("could not read or write {0}")]
    Io(String, #[source] std::io::Error),
}

impl Error {
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::NotSignedIn | Error::SignedOut(_) => ErrorCode::NotSignedIn,
            Error::SignInCancelled => ErrorCode::SignInCancelled,
            Error::SignInTimeout => ErrorCode::SignInTimeout,
            Error::Identity { code, .. } if crate::auth::entra::needs_admin_consent(*code) => {
                ErrorCode::ConsentRequired
            }
            Error::Identity { .. } | Error::InvalidAuthResponse(_) | Error::InvalidIdToken(_) => {
                ErrorCode::AuthFailed
            }
            Error::Keychain(_) => ErrorCode::KeychainUnavailable,
            Error::ClaimsChallenge => ErrorCode::ReauthRequired,
            Error::Conflict(_) => ErrorCode::Conflict,
            Error::Merged { .. } => ErrorCode::Merged,
            Error::Network(..) => ErrorCode::Offline,
            Error::Api { .. }
            | Error::PartlyFailed(_)
            | Error::ForeignOrigin(_)
            | Error::InvalidResponse(_) => ErrorCode::ApiError,
            Error::NoProfile => ErrorCode::NoProfile,
            Error::Config(_) => ErrorCode::Config,
            Error::Invalid(_) => ErrorCode::InvalidInput,
            Error::Browser(_) | Error::Io(..) => ErrorCode::Environment,
            Error::Internal(_) => ErrorCode::Internal,
        }
    }

    /// The message shown to a person: this error and its causes, on one line.
    pub fn user_message(&self) -> String {
        let mut msg = self.to_string();
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            // Some libraries repeat their cause in their own message: say each thing once.
            let text = cause.to_string();
            if !msg.contains(&text) {
                msg.push_str(": ");
                msg.push_str(&text);
            }
            source = cause.source();
        }
        msg
    }
}

impl Error {
    /// A background task that died (panicked or was cancelled): never the user's fault.
    pub fn task(what: &str, e: tokio::task::JoinError) -> Self {
        Error::Internal(format!("{what} task failed: {e}"))
    }

    /// An error answer from the identity provider, explained.
    pub fn identity(error: &str, error_codes: Option<&[u64]>, description: Option<&str>) -> Self {
        let code = crate::auth::entra::aadsts_code(error_codes, description);
        Error::Identity {
            error: error.to_owned(),
            code,
            advice: crate::auth::entra::advice(error, code),
            detail: description
                .and_then(|d| d.lines().next())
                .unwrap_or_default()
                .trim()
                .to_owned(),
        }
    }
}

fn detail_suffix(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(" ({detail})")
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
