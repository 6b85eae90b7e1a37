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
    /// Commercial cloud.
    #[default]
    Global,
    /// US Government Community Cloud: the commercial sign-in and Graph, its own Defender XDR host.
    Gcc,
    /// GCC High.
    Usgov,
    /// DoD.
    UsgovDod,
}

/// A Defender XDR API host nearer the tenant's data ("for better performance, use a server closer
/// to your geolocation"); tokens stay for `https://api.security.microsoft.com`. Commercial cloud only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "kebab-case")]
pub enum Region {
    Us,
    Eu,
    Uk,
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
    /// How an application profile proves itself to its tenant.
    #[serde(default, skip_serializing_if = "Credential::is_secret")]
    pub credential: Credential,
    /// Ask only for read permissions (no triage): for tenants that consented to read only.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub read_only: bool,
    /// The Defender XDR API's regional host (commercial cloud only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<Region>,
    /// A proxy for this profile's traffic, in place of the system's settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<Url>,
}

/// Tenant values that name no single tenant: a single-tenant app cannot sign in through them.
const NOT_A_TENANT: [&str; 3] = ["common", "organizations", "consumers"];

fn not_a_tenant(tenant: &str) -> Error {
    Error::Config(format!(
        "{tenant:?} is not a tenant: give the tenant ID or a verified domain \
         (\"{tenant}\" fails for single-tenant apps, AADSTS50194)"
    ))
}

/// Whether `s` is a GUID (a tenant or object ID).
pub fn is_guid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Checks an authority and brings it to one form: https (http on loopback only), no query,
/// fragment or user info, no trailing slash, and without the `/v2.0` an issuer URL ends with
/// (people copy the issuer). Its last path segment must not be `common`, `organizations` or
/// `consumers`.
pub fn normalize_authority(url: &Url) -> Result<Url> {
    require_secure(url)?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::Config(format!(
            "the authority {url} must not have a query or fragment"
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::Config(
            "the authority must not carry a user name or password".into(),
        ));
    }
    let mut segments: Vec<String> = url
        .path_segments()
        .map(|s| s.filter(|s| !s.is_empty()).map(str::to_owned).collect())
        .unwrap_or_default();
    if segments
        .last()
        .is_some_and(|s| s.eq_ignore_ascii_case("v2.0"))
    {
        segments.pop();
    }
    if let Some(last) = segments.last() {
        if NOT_A_TENANT.iter().any(|t| last.eq_ignore_ascii_case(t)) {
            return Err(not_a_tenant(last));
        }
    }
    let mut out = url.clone();
    out.set_path("");
    out.path_segments_mut()
        .map_err(|_| Error::Config(format!("{url} cannot be an authority")))?
        .clear()
        .extend(&segments);
    Ok(out)
}

/// `base` with `segments` appended as path segments (each one escaped, never spliced as text).
pub fn join_segments(base: &Url, segments: &[&str]) -> Result<Url> {
    let mut url = base.clone();
    url.path_segments_mut()
        .map_err(|_| Error::Config(format!("{base} cannot have a path")))?
        .pop_if_empty()
        .extend(segments);
    Ok(url)
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

/// An application profile's credential, kept in the keychain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, specta::Type)]
#[serde(rename_all = "kebab-case")]
pub enum Credential {
    /// A client secret.
    #[default]
    Secret,
    /// A certificate: its private key and the certificate as one PEM text. Each token request
    /// carries a client assertion signed with the key.
    Certificate,
}

impl Credential {
    fn is_secret(&self) -> bool {
        *self == Credential::Secret
    }
}

impl Profile {
    /// The authority: tenant-specific by default, because `/common` breaks single-tenant apps
    /// (AADSTS50194).
    ///
    /// Checked at every use, not only when the profile was added: a profiles file edited by hand
    /// gets no less scrutiny.
    pub fn authority(&self) -> Result<Url> {
        if let Some(a) = &self.authority {
            return normalize_authority(a);
        }
        self.check_tenant()?;
        let host = match self.cloud {
            Cloud::Global | Cloud::Gcc => "https://login.microsoftonline.com",
            Cloud::Usgov | Cloud::UsgovDod => "https://login.microsoftonline.us",
        };
        let host = Url::parse(host).map_err(|e| Error::Internal(e.to_string()))?;
        join_segments(&host, &[&self.tenant])
    }

    /// A tenant is a GUID or a domain name; `common` and its kind are refused.
    fn check_tenant(&self) -> Result<()> {
        let t = self.tenant.trim();
        if NOT_A_TENANT.iter().any(|n| t.eq_ignore_ascii_case(n)) {
            return Err(not_a_tenant(t));
        }
        let domain_like = !t.is_empty()
            && t.len() <= 253
            && t.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
            && !t.starts_with(['.', '-']);
        if !domain_like {
            return Err(Error::Config(format!(
                "invalid tenant {:?}: give the tenant ID (a GUID) or a verified domain",
                self.tenant
            )));
        }
        Ok(())
    }

    /// What the profile's stored credentials and cache are bound to: the authority (its issuer),
    /// the tenant and the client. Re-adding a profile under the same name with another of these
    /// makes its old refresh token, client secret and cached incidents unusable (they are deleted,
    /// never sent to the new authority).
    pub fn fingerprint(&self) -> Result<String> {
        use sha2::{Digest, Sha256};
        let text = format!(
            "{}\n{}\n{}\n{:?}",
            self.authority()?.as_str().to_ascii_lowercase(),
            self.tenant.trim().to_ascii_lowercase(),
            self.client_id.trim().to_ascii_lowercase(),
            // A certificate profile's credential is never a secret's: another kind, another
            // fingerprint, so neither is ever sent as the other.
            match (self.kind, self.credential) {
                (Kind::Application, Credential::Certificate) => "ApplicationCertificate".to_owned(),
                (kind, _) => format!("{kind:?}"),
            },
        );
        Ok(Sha256::digest(text.as_bytes())
            .iter()
            .take(16)
            .map(|b| format!("{b:02x}"))
            .collect())
    }

    /// The API base URL, checked: https, or plain http on loopback only (the sandbox).
    pub fn api_base(&self) -> Result<Url> {
        let base = match &self.api_base {
            Some(b) => b.clone(),
            None => Url::parse(match (self.api, self.cloud, self.region) {
                (Backend::Graph, Cloud::Global | Cloud::Gcc, _) => {
                    "https://graph.microsoft.com/v1.0"
                }
                (Backend::Graph, Cloud::Usgov, _) => "https://graph.microsoft.us/v1.0",
                (Backend::Graph, Cloud::UsgovDod, _) => "https://dod-graph.microsoft.us/v1.0",
                (Backend::Defender, Cloud::Global, None) => "https://api.security.microsoft.com",
                (Backend::Defender, Cloud::Global, Some(Region::Us)) => {
                    "https://api-us.security.microsoft.com"
                }
                (Backend::Defender, Cloud::Global, Some(Region::Eu)) => {
                    "https://api-eu.security.microsoft.com"
                }
                (Backend::Defender, Cloud::Global, Some(Region::Uk)) => {
                    "https://api-uk.security.microsoft.com"
                }
                (Backend::Defender, Cloud::Gcc, _) => "https://api-gcc.security.microsoft.us",
                (Backend::Defender, Cloud::Usgov | Cloud::UsgovDod, _) => {
                    "https://api-gov.security.microsoft.us"
                }
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
    /// Graph's national clouds use their own root's domain; the Defender XDR API's US Government
    /// hosts are their own audience, while its regional hosts take commercial tokens.
    pub fn resource(&self) -> &'static str {
        match (self.api, self.cloud) {
            (Backend::Graph, Cloud::Global | Cloud::Gcc) => "https://graph.microsoft.com",
            (Backend::Graph, Cloud::Usgov) => "https://graph.microsoft.us",
            (Backend::Graph, Cloud::UsgovDod) => "https://dod-graph.microsoft.us",
            (Backend::Defender, Cloud::Global) => "https://api.security.microsoft.com",
            (Backend::Defender, Cloud::Gcc) => "https://api-gcc.security.microsoft.us",
            (Backend::Defender, Cloud::Usgov | Cloud::UsgovDod) => {
                "https://api-gov.security.microsoft.us"
            }
        }
    }

    /// The link an administrator opens to grant the app its permissions in this tenant (the
    /// partner scenario, and the fix for AADSTS65001 / 90094).
    pub fn admin_consent_url(&self) -> Result<Url> {
        let mut url = join_segments(&self.authority()?, &["v2.0", "adminconsent"])?;
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
        self.check_tenant()?;
        if self.client_id.trim().is_empty() {
            return Err(Error::Config("the client ID is missing".into()));
        }
        self.authority()?;
        self.api_base()?;
        if self.region.is_some() && (self.api != Backend::Defender || self.cloud != Cloud::Global) {
            return Err(Error::Config(
                "a regional host is a choice for the Defender XDR API in the commercial cloud only"
                    .into(),
            ));
        }
        if self.kind == Kind::Delegated && self.credential != Credential::Secret {
            return Err(Error::Config(
                "a delegated profile signs in in the browser and has no certificate".into(),
            ));
        }
        if let Some(p) = &self.proxy {
            if !matches!(p.scheme(), "http" | "https" | "socks5" | "socks5h") {
                return Err(Error::Config(format!(
                    "the proxy {p} is not an http(s) proxy"
                )));
            }
        }
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
            Ok(bytes) => {
                let config: Self = serde_json::from_slice(&bytes).map_err(|e| {
                    Error::Config(format!(
                        "{} is not a valid profiles file: {e}",
                        path.display()
                    ))
                })?;
                // Checked as loaded: a hand-edited file gets the same scrutiny as the setup screen.
                for p in &config.profiles {
                    p.validate().map_err(|e| {
                        Error::Config(format!(
                            "profile {:?} in {}: {}",
                            p.name,
                            path.display(),
                            e.user_message()
                        ))
                    })?;
                }
                Ok(config)
            }
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

    /// The app's settings (`crate::settings`).
    pub fn settings_file(&self) -> PathBuf {
        self.config.join("settings.json")
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
            credential: Default::default(),
            read_only: false,
            region: None,
            proxy: None,
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
    fn tenants_that_are_not_one_tenant_are_refused_with_the_reason() {
        for t in ["common", "Organizations", "consumers"] {
            let mut p = profile();
            p.tenant = t.into();
            let e = p.validate().unwrap_err();
            assert_eq!(e.code(), crate::ErrorCode::Config);
            assert!(e.to_string().contains("AADSTS50194"), "{e}");
            let mut p = profile();
            p.authority =
                Some(Url::parse(&format!("https://login.microsoftonline.com/{t}")).unwrap());
            assert!(
                p.validate().is_err(),
                "an authority naming {t} is refused too"
            );
        }
        for t in ["contoso.onmicrosoft.com/../evil", "x?y=1", "a b", ""] {
            let mut p = profile();
            p.tenant = t.into();
            assert!(p.validate().is_err(), "tenant {t:?} is refused");
        }
    }

    #[test]
    fn authorities_are_checked_and_take_the_issuer_form() {
        let checked = |a: &str| {
            let mut p = profile();
            p.authority = Some(Url::parse(a).unwrap());
            p.validate().and_then(|()| p.authority())
        };
        assert_eq!(
            checked("https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0/")
                .unwrap()
                .as_str(),
            "https://login.microsoftonline.com/contoso.onmicrosoft.com",
            "an issuer copied from the portal is accepted"
        );
        for bad in [
            "http://login.example.com/t",
            "https://login.microsoftonline.com/t?x=https://evil.example/",
            "https://login.microsoftonline.com/t#frag",
            "https://user:pw@login.microsoftonline.com/t",
            "ftp://login.microsoftonline.com/t",
        ] {
            assert!(checked(bad).is_err(), "{bad} is refused");
        }
        assert!(
            checked("http://127.0.0.1:4000/t").is_ok(),
            "loopback http: the sandbox"
        );
        // Discovery is built from segments: nothing in the authority becomes a query.
        let url = join_segments(
            &checked("https://login.microsoftonline.com/t").unwrap(),
            &["v2.0", ".well-known", "openid-configuration"],
        )
        .unwrap();
        assert_eq!(
            url.as_str(),
            "https://login.microsoftonline.com/t/v2.0/.well-known/openid-configuration"
        );
    }

    #[test]
    fn a_hand_edited_profiles_file_is_checked_as_loaded() {
        let base = std::env::temp_dir().join(format!("idesk-config-load-{}", std::process::id()));
        let dirs = Dirs {
            config: base.join("c"),
            data: base.join("d"),
        };
        std::fs::create_dir_all(&dirs.config).unwrap();
        std::fs::write(
            dirs.config_file(),
            r#"{"profiles":[{"name":"x","tenant":"t","clientId":"c","authority":"http://login.example.com/t"}]}"#,
        )
        .unwrap();
        let e = Config::load(&dirs).unwrap_err();
        assert!(e.to_string().contains("https"), "{e}");
        let _ = std::fs::remove_dir_all(base);
    }

    #[test]
    fn the_fingerprint_changes_with_the_authority_tenant_or_client() {
        let p = profile();
        let fp = p.fingerprint().unwrap();
        let mut q = p.clone();
        q.read_only = true;
        q.api = Backend::Defender;
        assert_eq!(
            q.fingerprint().unwrap(),
            fp,
            "not with the API or permissions"
        );
        for change in [
            |p: &mut Profile| p.tenant = "fabrikam.onmicrosoft.com".into(),
            |p: &mut Profile| p.client_id = "00000000-0000-0000-0000-000000000002".into(),
            |p: &mut Profile| p.cloud = Cloud::Usgov,
            |p: &mut Profile| p.kind = Kind::Application,
        ] {
            let mut q = p.clone();
            change(&mut q);
            assert_ne!(q.fingerprint().unwrap(), fp);
        }
        // An application's secret and its certificate never stand for each other.
        let mut app = p.clone();
        app.kind = Kind::Application;
        let mut cert = app.clone();
        cert.credential = Credential::Certificate;
        assert_ne!(app.fingerprint().unwrap(), cert.fingerprint().unwrap());
        cert.kind = Kind::Delegated;
        assert!(
            cert.validate().is_err(),
            "a delegated profile has no certificate"
        );
    }

    #[test]
    fn government_clouds_and_regions_get_their_hosts_and_audiences() {
        let mut p = profile();
        p.api = Backend::Defender;
        p.cloud = Cloud::Gcc;
        assert_eq!(
            p.api_base().unwrap().as_str(),
            "https://api-gcc.security.microsoft.us/"
        );
        assert_eq!(p.resource(), "https://api-gcc.security.microsoft.us");
        assert!(p
            .authority()
            .unwrap()
            .as_str()
            .starts_with("https://login.microsoftonline.com/"));
        p.cloud = Cloud::UsgovDod;
        assert_eq!(p.resource(), "https://api-gov.security.microsoft.us");
        assert!(p
            .authority()
            .unwrap()
            .as_str()
            .starts_with("https://login.microsoftonline.us/"));
        p.cloud = Cloud::Global;
        p.region = Some(Region::Eu);
        assert_eq!(
            p.api_base().unwrap().as_str(),
            "https://api-eu.security.microsoft.com/"
        );
        assert_eq!(
            p.resource(),
            "https://api.security.microsoft.com",
            "regional hosts take commercial tokens"
        );
        p.cloud = Cloud::Gcc;
        assert!(
            p.validate().is_err(),
            "regions are a commercial-cloud choice"
        );
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
