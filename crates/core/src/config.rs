//! Profiles and where Incident Desk keeps its files.
//!
//! A profile names one tenant + app registration + API backend. The config file holds no secret:
//! tokens and client secrets live only in the OS keychain (see `token_store`).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::error::{Error, Result};

/// Which national cloud's login host the profile signs in to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, specta::Type)]
#[serde(rename_all = "kebab-case")]
pub enum Cloud {
    /// Commercial cloud, also used by GCC.
    #[default]
    Global,
    /// GCC High.
    Usgov,
    /// DoD.
    UsgovDod,
}

/// Which incident API the profile reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, specta::Type)]
#[serde(rename_all = "kebab-case")]
pub enum Backend {
    /// Microsoft Graph `/security/incidents` (the default).
    #[default]
    Graph,
    /// The Defender XDR API `api.security.microsoft.com/api/incidents`, retiring 2027-02-01.
    Defender,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    pub name: String,
    pub tenant: String,
    pub client_id: String,
    #[serde(default)]
    pub cloud: Cloud,
    #[serde(default)]
    pub api: Backend,
    /// Replaces the cloud's login host + tenant (the sandbox tenant, or a custom authority).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority: Option<Url>,
    /// The base that `/security/incidents` (Graph) or `/api/incidents` (Defender) is appended to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_base: Option<Url>,
    /// Set on the embedded sandbox tenant, so the UI can say so.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sandbox: bool,
    #[serde(default)]
    pub kind: Kind,
    /// Ask only for read permissions (no triage): for tenants that consented to read only.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub read_only: bool,
}

/// Whose rights the profile uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// The analyst's own account, signed in interactively.
    #[default]
    Delegated,
    /// The app's own identity (client credentials), e.g. an MSSP reading a customer tenant. Its
    /// client secret is entered once and kept in the keychain.
    Application,
}

impl Profile {
    /// The authority: tenant-specific by default, because `/common` breaks single-tenant apps
    /// (AADSTS50194).
    pub fn authority(&self) -> Result<Url> {
        if let Some(a) = &self.authority {
            return Ok(a.clone());
        }
        let host = match self.cloud {
            Cloud::Global => "https://login.microsoftonline.com",
            Cloud::Usgov | Cloud::UsgovDod => "https://login.microsoftonline.us",
        };
        Url::parse(&format!("{host}/{}", self.tenant))
            .map_err(|e| Error::Config(format!("invalid tenant {:?}: {e}", self.tenant)))
    }

    /// The API base URL, checked: https, or plain http on loopback only (the sandbox).
    pub fn api_base(&self) -> Result<Url> {
        let base = match &self.api_base {
            Some(b) => b.clone(),
            None => Url::parse(match (self.api, self.cloud) {
                (Backend::Graph, Cloud::Global) => "https://graph.microsoft.com/v1.0",
                (Backend::Graph, Cloud::Usgov) => "https://graph.microsoft.us/v1.0",
                (Backend::Graph, Cloud::UsgovDod) => "https://dod-graph.microsoft.us/v1.0",
                (Backend::Defender, Cloud::Global) => "https://api.security.microsoft.com",
                (Backend::Defender, _) => "https://api-gov.security.microsoft.us",
            })
            .map_err(|e| Error::Config(e.to_string()))?,
        };
        require_secure(&base)?;
        Ok(base)
    }

    /// The delegated scopes requested at sign-in. The audience is always the backend's own
    /// resource, whatever host `api_base` points at.
    pub fn scopes(&self) -> String {
        let scope = match (self.api, self.read_only) {
            (Backend::Graph, false) => "SecurityIncident.ReadWrite.All",
            (Backend::Graph, true) => "SecurityIncident.Read.All",
            (Backend::Defender, false) => "Incident.ReadWrite",
            (Backend::Defender, true) => "Incident.Read",
        };
        format!("openid profile offline_access {}/{scope}", self.resource())
    }

    /// The scope of an application (client credentials) token: the permissions granted to the app.
    pub fn app_scope(&self) -> String {
        format!("{}/.default", self.resource())
    }

    /// The backend's resource (the access token's audience).
    pub fn resource(&self) -> &'static str {
        match (self.api, self.cloud) {
            (Backend::Graph, Cloud::Global) => "https://graph.microsoft.com",
            (Backend::Graph, Cloud::Usgov) => "https://graph.microsoft.us",
            (Backend::Graph, Cloud::UsgovDod) => "https://dod-graph.microsoft.us",
            (Backend::Defender, _) => "https://api.security.microsoft.com",
        }
    }

    /// The link an administrator opens to grant the app its permissions in this tenant (the
    /// partner scenario, and the fix for AADSTS65001 / 90094).
    pub fn admin_consent_url(&self) -> Result<Url> {
        let mut url = self.authority()?;
        let path = format!("{}/v2.0/adminconsent", url.path().trim_end_matches('/'));
        url.set_path(&path);
        let resource = self
            .scopes()
            .rsplit_once('/')
            .map(|(r, _)| r.rsplit(' ').next().unwrap_or(r).to_owned());
        url.query_pairs_mut()
            .append_pair("client_id", &self.client_id)
            .append_pair(
                "scope",
                &format!("{}/.default", resource.unwrap_or_default()),
            )
            .append_pair("redirect_uri", "http://localhost");
        Ok(url)
    }

    pub fn validate(&self) -> Result<()> {
        if self.name.trim().is_empty() || self.name.len() > 64 || self.name.contains(['/', '\\']) {
            return Err(Error::Config(format!(
                "invalid profile name {:?}",
                self.name
            )));
        }
        if self.tenant.trim().is_empty() || self.tenant.eq_ignore_ascii_case("common") {
            return Err(Error::Config(
                "give the tenant ID or domain: the /common endpoint fails for single-tenant apps (AADSTS50194)"
                    .into(),
            ));
        }
        if self.client_id.trim().is_empty() {
            return Err(Error::Config("the client ID is missing".into()));
        }
        if let Some(a) = &self.authority {
            require_secure(a)?;
        }
        self.api_base()?;
        Ok(())
    }
}

/// https everywhere, except plain http to a loopback host (the local sandbox).
pub fn require_secure(url: &Url) -> Result<()> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        _ => Err(Error::Config(format!(
            "{url} must use https (plain http is allowed only on loopback)"
        ))),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// The profiles file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Config {
    #[serde(default)]
    pub profiles: Vec<Profile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<String>,
}

impl Config {
    pub fn load(dirs: &Dirs) -> Result<Self> {
        let path = dirs.config_file();
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                Error::Config(format!(
                    "{} is not a valid profiles file: {e}",
                    path.display()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(Error::Io(path.display().to_string(), e)),
        }
    }

    /// Writes the file atomically (temp file + rename), so a crash or a full disk never leaves a
    /// half-written profiles file behind.
    pub fn save(&self, dirs: &Dirs) -> Result<()> {
        let path = dirs.config_file();
        let json = serde_json::to_vec_pretty(self)
            .map_err(|e| Error::Internal(format!("profiles file: {e}")))?;
        crate::files::write_atomically(&path, &json)
    }

    pub fn profile(&self, name: &str) -> Option<&Profile> {
        self.profiles.iter().find(|p| p.name == name)
    }

    /// The profile to use: an explicit name, else the current one, else the only one.
    pub fn select(&self, name: Option<&str>) -> Result<&Profile> {
        let wanted = name.or(self.current.as_deref());
        match wanted {
            Some(n) => self
                .profile(n)
                .ok_or_else(|| Error::Config(format!("no profile named {n:?}"))),
            None if self.profiles.len() == 1 => Ok(&self.profiles[0]),
            None if self.profiles.is_empty() => Err(Error::Config(
                "no profile configured: add one with `idesk profile add`".into(),
            )),
            None => Err(Error::Config(
                "several profiles exist: choose one with `idesk profile use NAME` or --profile"
                    .into(),
            )),
        }
    }

    /// Validates and saves a new profile, and makes it the current one (the app's first-run setup).
    pub fn add(dirs: &Dirs, profile: Profile) -> Result<()> {
        profile.validate()?;
        let mut config = Self::load(dirs)?;
        config.current = Some(profile.name.clone());
        config.upsert(profile);
        config.save(dirs)
    }

    /// Adds or replaces a profile by name.
    pub fn upsert(&mut self, profile: Profile) {
        match self.profiles.iter_mut().find(|p| p.name == profile.name) {
            Some(p) => *p = profile,
            None => self.profiles.push(profile),
        }
    }
}

/// Where the app keeps its files. Tests point both at temp dirs through
/// `IDESK_CONFIG_DIR` / `IDESK_DATA_DIR`, so they never touch a user's real ones.
#[derive(Debug, Clone)]
pub struct Dirs {
    pub config: PathBuf,
    pub data: PathBuf,
}

impl Dirs {
    pub fn from_env() -> Result<Self> {
        let pick = |var: &str, fallback: Option<PathBuf>| -> Result<PathBuf> {
            match std::env::var_os(var) {
                Some(v) if !v.is_empty() => Ok(PathBuf::from(v)),
                _ => fallback
                    .map(|d| d.join("incident-desk"))
                    .ok_or_else(|| Error::Config(format!("no home directory: set {var}"))),
            }
        };
        Ok(Self {
            config: pick("IDESK_CONFIG_DIR", dirs::config_dir())?,
            data: pick("IDESK_DATA_DIR", dirs::data_dir())?,
        })
    }

    pub fn config_file(&self) -> PathBuf {
        self.config.join("profiles.json")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile() -> Profile {
        Profile {
            name: "Contoso".into(),
            tenant: "contoso.onmicrosoft.com".into(),
            client_id: "00000000-0000-0000-0000-000000000001".into(),
            cloud: Cloud::Global,
            api: Backend::Graph,
            authority: None,
            api_base: None,
            sandbox: false,
            kind: Kind::Delegated,
            read_only: false,
        }
    }

    #[test]
    fn authority_is_tenant_specific_per_cloud() {
        let mut p = profile();
        assert_eq!(
            p.authority().unwrap().as_str(),
            "https://login.microsoftonline.com/contoso.onmicrosoft.com"
        );
        p.cloud = Cloud::UsgovDod;
        assert_eq!(
            p.authority().unwrap().as_str(),
            "https://login.microsoftonline.us/contoso.onmicrosoft.com"
        );
    }

    #[test]
    fn admin_consent_link_names_the_tenant_client_and_resource() {
        let url = profile().admin_consent_url().unwrap();
        assert_eq!(url.path(), "/contoso.onmicrosoft.com/v2.0/adminconsent");
        let q: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        assert!(
            q.contains(&(
                "scope".into(),
                "https://graph.microsoft.com/.default".into()
            )),
            "{q:?}"
        );
        assert!(q.contains(&(
            "client_id".into(),
            "00000000-0000-0000-0000-000000000001".into()
        )));
    }

    #[test]
    fn adding_a_profile_validates_saves_and_makes_it_current() {
        let base = std::env::temp_dir().join(format!("idesk-config-add-{}", std::process::id()));
        let dirs = Dirs {
            config: base.join("c"),
            data: base.join("d"),
        };
        let mut bad = profile();
        bad.tenant = "common".into();
        assert!(
            Config::add(&dirs, bad).is_err(),
            "an invalid profile is not saved"
        );
        assert!(!dirs.config_file().exists());
        Config::add(&dirs, profile()).unwrap();
        let c = Config::load(&dirs).unwrap();
        assert_eq!(c.current.as_deref(), Some("Contoso"));
        assert_eq!(c.profiles, [profile()]);
        let text = std::fs::read_to_string(dirs.config_file()).unwrap();
        assert!(
            !text.to_lowercase().contains("secret") && !text.contains("token"),
            "the profiles file holds no secret: {text}"
        );
        let _ = std::fs::remove_dir_all(base);
    }

    #[test]
    fn common_tenant_is_refused() {
        let mut p = profile();
        p.tenant = "common".into();
        assert_eq!(p.validate().unwrap_err().code(), crate::ErrorCode::Config);
    }

    #[test]
    fn plain_http_only_on_loopback() {
        let mut p = profile();
        p.api_base = Some(Url::parse("http://127.0.0.1:8080/v1.0").unwrap());
        assert!(p.validate().is_ok(), "loopback http is the sandbox");
        p.api_base = Some(Url::parse("http://graph.example.com/v1.0").unwrap());
        assert!(
            p.validate().is_err(),
            "a token must never travel over plain http to a remote host"
        );
    }

    #[test]
    fn scopes_name_the_backend_resource() {
        let mut p = profile();
        assert!(
            p.scopes()
                .contains("https://graph.microsoft.com/SecurityIncident.ReadWrite.All"),
            "triage by default"
        );
        p.read_only = true;
        assert!(p
            .scopes()
            .contains("https://graph.microsoft.com/SecurityIncident.Read.All"));
        p.api = Backend::Defender;
        p.api_base = Some(Url::parse("https://api-eu.security.microsoft.com").unwrap());
        assert!(
            p.scopes()
                .contains("https://api.security.microsoft.com/Incident.Read"),
            "audience stays the backend's own"
        );
    }
}
