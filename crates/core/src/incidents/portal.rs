//! Links into the Defender portal. The URL comes from the API, and incident data is
//! attacker-influenced: only https links to the portal's own hosts (commercial, GCC High, DoD) are
//! ever opened.

use url::Url;

use crate::error::{Error, Result};

const PORTAL_HOSTS: [&str; 3] = [
    "security.microsoft.com",
    "security.microsoft.us",
    "security.apps.mil",
];

/// The link, if it is a Defender portal link; else why not.
pub fn checked_link(link: &str) -> Result<Url> {
    let url = Url::parse(link).map_err(|_| Error::Invalid("not a portal link".into()))?;
    let portal = url.scheme() == "https"
        && url.username().is_empty()
        && url.password().is_none()
        && url.port().is_none()
        && url.host_str().is_some_and(|h| PORTAL_HOSTS.contains(&h));
    if !portal {
        return Err(Error::Invalid(format!(
            "{link} is not a Defender portal link"
        )));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_portal_links_pass() {
        assert!(checked_link("https://security.microsoft.com/incidents/7").is_ok());
        assert!(checked_link("https://security.microsoft.us/incidents/7").is_ok());
        for bad in [
            "http://security.microsoft.com/incidents/7",
            "https://security.microsoft.com.evil.example/x",
            "https://evil.example/?security.microsoft.com",
            "https://user@security.microsoft.com/x",
            "https://security.microsoft.com:8443/x",
            "javascript:alert(1)",
            "file:///etc/passwd",
        ] {
            assert!(checked_link(bad).is_err(), "{bad} must be refused");
        }
    }
}
