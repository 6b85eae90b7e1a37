//! The token inspector: what the current access token says — audience, tenant, scopes or roles,
//! expiry — for the "validate the token" check, with a warning when the scope the backend needs is
//! missing. Access tokens are opaque to Incident Desk: this decodes the payload for display only,
//! never for a decision, and never returns the token itself.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::auth::secret::Secret;
use crate::config::{Kind, Profile};

#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct TokenInfo {
    /// False when the token is not a readable JWT (as Microsoft may make it at any time).
    pub readable: bool,
    pub audience: Option<String>,
    pub tenant: Option<String>,
    pub scopes: Vec<String>,
    pub roles: Vec<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[specta(type = Option<String>)]
    pub expires: Option<time::OffsetDateTime>,
    pub issued_to_app: Option<String>,
    /// What the backend needs and the token lacks, said in a sentence.
    pub warning: Option<String>,
}

#[derive(Deserialize)]
struct Payload {
    #[serde(default)]
    aud: Option<serde_json::Value>,
    #[serde(default)]
    tid: Option<String>,
    #[serde(default)]
    scp: Option<String>,
    #[serde(default)]
    roles: Option<Vec<String>>,
    #[serde(default)]
    exp: Option<i64>,
    #[serde(default)]
    appid: Option<String>,
}

pub fn inspect(token: &Secret, profile: &Profile) -> TokenInfo {
    let payload = token
        .expose()
        .split('.')
        .nth(1)
        .and_then(|p| URL_SAFE_NO_PAD.decode(p.trim_end_matches('=')).ok())
        .and_then(|b| serde_json::from_slice::<Payload>(&b).ok());
    let Some(p) = payload else {
        return TokenInfo {
            readable: false,
            audience: None,
            tenant: None,
            scopes: vec![],
            roles: vec![],
            expires: None,
            issued_to_app: None,
            warning: None,
        };
    };
    let audience = match p.aud {
        Some(serde_json::Value::String(s)) => Some(s),
        Some(serde_json::Value::Array(a)) => a.first().and_then(|v| v.as_str()).map(str::to_owned),
        _ => None,
    };
    let scopes: Vec<String> = p
        .scp
        .unwrap_or_default()
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let roles = p.roles.unwrap_or_default();
    let needed = profile.scopes();
    let needed = needed
        .rsplit(' ')
        .next()
        .unwrap_or_default()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    let granted = match profile.kind {
        Kind::Delegated => &scopes,
        Kind::Application => &roles,
    };
    // A ReadWrite permission covers reading.
    let covers = |g: &String| {
        *g == needed
            || (needed.contains(".Read") && g.as_str() == needed.replace(".Read", ".ReadWrite"))
    };
    let mut warning = None;
    if audience.as_deref().is_some_and(|a| a != profile.resource()) {
        warning = Some(format!(
            "the token is for {}, not {}",
            audience.clone().unwrap_or_default(),
            profile.resource()
        ));
    } else if !granted.iter().any(covers) {
        warning = Some(format!(
            "the token lacks {needed}: grant it (with admin consent) in the app registration"
        ));
    }
    TokenInfo {
        readable: true,
        audience,
        tenant: p.tid,
        scopes,
        roles,
        expires: p
            .exp
            .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok()),
        issued_to_app: p.appid,
        warning,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(payload: serde_json::Value) -> Secret {
        Secret::new(format!(
            "eyJhbGciOiJub25lIn0.{}.sig",
            URL_SAFE_NO_PAD.encode(payload.to_string())
        ))
    }

    fn profile() -> Profile {
        crate::sandbox::profile_from_line(
            "issuer=http://127.0.0.1:1/t/v2.0 graph=http://127.0.0.1:2/v1.0 tenant=t client_id=c",
        )
        .unwrap()
    }

    #[test]
    fn reads_what_the_token_grants_and_warns_on_what_it_lacks() {
        let ok = inspect(
            &token(
                serde_json::json!({"aud":"https://graph.microsoft.com","tid":"t","scp":"SecurityIncident.ReadWrite.All","exp":1}),
            ),
            &profile(),
        );
        assert!(ok.readable && ok.warning.is_none(), "{ok:?}");
        assert_eq!(ok.scopes, ["SecurityIncident.ReadWrite.All"]);
        let lacking = inspect(
            &token(serde_json::json!({"aud":"https://graph.microsoft.com","scp":"User.Read"})),
            &profile(),
        );
        assert!(lacking
            .warning
            .unwrap()
            .contains("SecurityIncident.ReadWrite.All"));
        let wrong_aud = inspect(
            &token(
                serde_json::json!({"aud":"https://api.security.microsoft.com","scp":"Incident.Read"}),
            ),
            &profile(),
        );
        assert!(wrong_aud
            .warning
            .unwrap()
            .contains("https://graph.microsoft.com"));
        assert!(!inspect(&Secret::new("opaque-token"), &profile()).readable);
    }
}
