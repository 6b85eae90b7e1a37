//! The embedded sandbox tenant: a local stand-in for Microsoft's cloud that `make sandbox` starts.
//!
//! Its one-line announcement, `SANDBOX issuer=... graph=... tenant=... client_id=...`, is what the
//! app and the CLI read to build the "Sandbox" profile.

use url::Url;

use crate::config::{Backend, Cloud, Profile};
use crate::error::{Error, Result};

pub const PROFILE_NAME: &str = "Sandbox";

/// Builds the sandbox profile from a `SANDBOX ...` line (the leading word is optional).
pub fn profile_from_line(line: &str) -> Result<Profile> {
    let field = |name: &str| -> Result<String> {
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('=').map(str::to_owned))
            .ok_or_else(|| Error::Config(format!("the sandbox line has no {name}")))
    };
    let url = |name: &str| -> Result<Url> {
        Url::parse(&field(name)?).map_err(|e| Error::Config(format!("sandbox {name}: {e}")))
    };
    let issuer = url("issuer")?;
    // The issuer is `{authority}/v2.0`, as with Entra.
    let authority = Url::parse(
        issuer
            .as_str()
            .trim_end_matches('/')
            .trim_end_matches("/v2.0"),
    )
    .map_err(|e| Error::Config(e.to_string()))?;
    let profile = Profile {
        name: PROFILE_NAME.into(),
        tenant: field("tenant")?,
        client_id: field("client_id")?,
        cloud: Cloud::Global,
        api: Backend::Graph,
        authority: Some(authority),
        api_base: Some(url("graph")?),
        sandbox: true,
        kind: crate::config::Kind::Delegated,
        credential: Default::default(),
        read_only: false,
        region: None,
        proxy: None,
    };
    profile.validate()?;
    Ok(profile)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_sandbox_line() {
        let p = profile_from_line(
            "SANDBOX issuer=http://127.0.0.1:4100/t1/v2.0 graph=http://127.0.0.1:4200/v1.0 defender=http://127.0.0.1:4200 tenant=t1 client_id=native app_client_id=app app_client_secret=s",
        )
        .unwrap();
        assert_eq!(p.authority.unwrap().as_str(), "http://127.0.0.1:4100/t1");
        assert_eq!(p.api_base.unwrap().as_str(), "http://127.0.0.1:4200/v1.0");
        assert_eq!(p.client_id, "native");
        assert!(p.sandbox);
    }
}
