//! The OpenID Connect side of sign-in: discovery, the authorization request, the token endpoint
//! (code exchange and refresh) and ID token validation.
//!
//! Access tokens are opaque to Incident Desk (Microsoft says so): their lifetime comes from
//! `expires_in`. Only the ID token is validated and read, for the account shown to the user.

use std::time::Duration;

use jsonwebtoken::{jwk::JwkSet, Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use url::Url;

use crate::auth::secret::Secret;
use crate::error::{Error, Result};

/// The subset of the discovery document Incident Desk uses.
#[derive(Debug, Clone, Deserialize)]
pub struct Metadata {
    pub issuer: String,
    pub authorization_endpoint: Url,
    pub token_endpoint: Url,
    pub jwks_uri: Url,
}

/// The one HTTP client for identity traffic. It never follows redirects: a redirected token
/// request could carry a code or refresh token to another host (SSRF, token leak).
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(crate::USER_AGENT)
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap_or_default()
}

/// `{authority}/v2.0/.well-known/openid-configuration`, as Entra publishes it.
pub async fn discover(http: &reqwest::Client, authority: &Url) -> Result<Metadata> {
    let url = format!(
        "{}/v2.0/.well-known/openid-configuration",
        authority.as_str().trim_end_matches('/')
    );
    let resp = http
        .get(&url)
        .send()
        .await
        .map_err(|e| Error::Network(url.clone(), e))?;
    if !resp.status().is_success() {
        return Err(Error::Config(format!(
            "the sign-in authority {authority} answered {} to discovery: check the tenant and cloud",
            resp.status().as_u16()
        )));
    }
    let meta: Metadata = resp
        .json()
        .await
        .map_err(|e| Error::InvalidResponse(format!("discovery document: {e}")))?;
    for u in [
        &meta.authorization_endpoint,
        &meta.token_endpoint,
        &meta.jwks_uri,
    ] {
        crate::config::require_secure(u)?;
    }
    Ok(meta)
}

/// The authorization request (authorization code flow with PKCE S256, `state`, `nonce`).
pub struct AuthorizeRequest<'a> {
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub scope: &'a str,
    pub state: &'a str,
    pub nonce: &'a str,
    pub code_challenge: &'a str,
    pub login_hint: Option<&'a str>,
    /// Claims requested by a claims challenge (OIDC Core §5.5), passed through as given.
    pub claims: Option<&'a str>,
}

pub fn authorize_url(meta: &Metadata, req: &AuthorizeRequest<'_>) -> Url {
    let mut url = meta.authorization_endpoint.clone();
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("client_id", req.client_id)
            .append_pair("response_type", "code")
            .append_pair("redirect_uri", req.redirect_uri)
            .append_pair("response_mode", "query")
            .append_pair("scope", req.scope)
            .append_pair("state", req.state)
            .append_pair("nonce", req.nonce)
            .append_pair("code_challenge", req.code_challenge)
            .append_pair("code_challenge_method", "S256");
        if let Some(hint) = req.login_hint {
            q.append_pair("login_hint", hint);
        }
        if let Some(claims) = req.claims {
            q.append_pair("claims", claims);
        }
    }
    url
}

/// A successful token endpoint response (RFC 6749 §5.1). Every token in it is a `Secret`.
#[derive(Debug, Deserialize)]
pub struct TokenResponse {
    pub access_token: Secret,
    #[serde(default)]
    pub expires_in: Option<u64>,
    #[serde(default)]
    pub refresh_token: Option<Secret>,
    #[serde(default)]
    pub id_token: Option<Secret>,
}

/// An error response (RFC 6749 §5.2), with Entra's numeric codes when present.
#[derive(Debug, Deserialize)]
struct TokenError {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
    #[serde(default)]
    error_codes: Option<Vec<u64>>,
}

pub enum Grant<'a> {
    AuthorizationCode {
        code: &'a Secret,
        redirect_uri: &'a str,
        verifier: &'a Secret,
    },
    RefreshToken {
        refresh_token: &'a Secret,
    },
    /// RFC 6749 §4.4, with the secret in the body (`client_secret_post`), as Entra accepts it.
    ClientCredentials {
        client_secret: &'a Secret,
    },
}

pub async fn request_token(
    http: &reqwest::Client,
    meta: &Metadata,
    client_id: &str,
    scope: &str,
    grant: Grant<'_>,
) -> Result<TokenResponse> {
    let mut form: Vec<(&str, &str)> = vec![("client_id", client_id), ("scope", scope)];
    match &grant {
        Grant::AuthorizationCode {
            code,
            redirect_uri,
            verifier,
        } => {
            form.extend([
                ("grant_type", "authorization_code"),
                ("code", code.expose()),
                ("redirect_uri", redirect_uri),
                ("code_verifier", verifier.expose()),
            ]);
        }
        Grant::RefreshToken { refresh_token } => {
            form.extend([
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token.expose()),
            ]);
        }
        Grant::ClientCredentials { client_secret } => {
            form.extend([
                ("grant_type", "client_credentials"),
                ("client_secret", client_secret.expose()),
            ]);
        }
    }
    let endpoint = meta.token_endpoint.as_str();
    let resp = http
        .post(meta.token_endpoint.clone())
        .form(&form)
        .send()
        .await
        .map_err(|e| Error::Network(endpoint.to_owned(), e))?;
    let status = resp.status().as_u16();
    let body = resp
        .bytes()
        .await
        .map_err(|e| Error::Network(endpoint.to_owned(), e))?;
    parse_token_response(status, &body, GrantKind::from(&grant))
}

/// Which grant a token response answers; errors mean different things for each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantKind {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
}

impl From<&Grant<'_>> for GrantKind {
    fn from(g: &Grant<'_>) -> Self {
        match g {
            Grant::AuthorizationCode { .. } => GrantKind::AuthorizationCode,
            Grant::RefreshToken { .. } => GrantKind::RefreshToken,
            Grant::ClientCredentials { .. } => GrantKind::ClientCredentials,
        }
    }
}

/// Reads a token endpoint's answer (RFC 6749 §5.1 / §5.2). Pure and total: any status and bytes
/// give a token response or an explained error, never a panic (fuzzed by `make fuzz`).
pub fn parse_token_response(status: u16, body: &[u8], grant: GrantKind) -> Result<TokenResponse> {
    if (200..300).contains(&status) {
        let resp: TokenResponse = serde_json::from_slice(body)
            .map_err(|e| Error::InvalidResponse(format!("token response: {e}")))?;
        if resp.access_token.expose().is_empty() {
            return Err(Error::InvalidResponse(
                "token response without an access token".into(),
            ));
        }
        return Ok(resp);
    }
    let Ok(err) = serde_json::from_slice::<TokenError>(body) else {
        return Err(Error::InvalidResponse(format!(
            "token endpoint answered {status}"
        )));
    };
    let mut e = Error::identity(
        &err.error,
        err.error_codes.as_deref(),
        err.error_description.as_deref(),
    );
    // With client credentials, an unexplained invalid_client is the secret itself.
    if let (
        GrantKind::ClientCredentials,
        Error::Identity {
            error,
            code: None,
            advice,
            ..
        },
    ) = (grant, &mut e)
    {
        if error == "invalid_client" {
            *advice = crate::auth::entra::advice(error, Some(7000215));
        }
    }
    // A refresh token the provider no longer honours means: signed out, with the reason.
    if err.error == "invalid_grant" && grant == GrantKind::RefreshToken {
        return Err(Error::SignedOut(e.to_string()));
    }
    Err(e)
}

/// The account an ID token names.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    pub name: Option<String>,
    pub username: Option<String>,
    pub tenant_id: Option<String>,
    pub object_id: Option<String>,
}

#[derive(Deserialize)]
struct IdClaims {
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    preferred_username: Option<String>,
    #[serde(default)]
    tid: Option<String>,
    #[serde(default)]
    oid: Option<String>,
}

pub async fn fetch_jwks(http: &reqwest::Client, meta: &Metadata) -> Result<JwkSet> {
    let url = meta.jwks_uri.as_str();
    http.get(meta.jwks_uri.clone())
        .send()
        .await
        .map_err(|e| Error::Network(url.to_owned(), e))?
        .json()
        .await
        .map_err(|e| Error::InvalidResponse(format!("signing keys: {e}")))
}

/// Validates an ID token (OIDC Core §3.1.3.7): signature against the JWKS, `iss`, `aud`, `exp`,
/// and — when a sign-in sent one — `nonce`; `tid` must be the profile's tenant when that is a GUID.
pub fn validate_id_token(
    id_token: &str,
    jwks: &JwkSet,
    meta: &Metadata,
    client_id: &str,
    nonce: Option<&str>,
    tenant: &str,
) -> Result<Account> {
    let header = jsonwebtoken::decode_header(id_token).map_err(Error::InvalidIdToken)?;
    let jwk = match header.kid.as_deref() {
        Some(kid) => jwks.find(kid),
        None => jwks.keys.first(),
    }
    .ok_or_else(|| {
        Error::InvalidAuthResponse("the ID token is signed with an unknown key".into())
    })?;
    let key = DecodingKey::from_jwk(jwk).map_err(Error::InvalidIdToken)?;
    if header.alg != Algorithm::RS256 {
        return Err(Error::InvalidAuthResponse(format!(
            "unexpected ID token algorithm {:?}",
            header.alg
        )));
    }
    let mut v = Validation::new(Algorithm::RS256);
    v.set_issuer(&[&meta.issuer]);
    v.set_audience(&[client_id]);
    v.set_required_spec_claims(&["exp", "iss", "aud"]);
    v.leeway = 300;
    let claims = jsonwebtoken::decode::<IdClaims>(id_token, &key, &v)
        .map_err(Error::InvalidIdToken)?
        .claims;
    if let Some(expected) = nonce {
        if claims.nonce.as_deref() != Some(expected) {
            return Err(Error::InvalidAuthResponse(
                "the ID token's nonce does not match this sign-in".into(),
            ));
        }
    }
    let tenant_is_id =
        tenant.len() == 36 && tenant.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
    if tenant_is_id
        && claims
            .tid
            .as_deref()
            .is_some_and(|t| !t.eq_ignore_ascii_case(tenant))
    {
        return Err(Error::InvalidAuthResponse(
            "the account signed in to a different tenant than the profile's".into(),
        ));
    }
    Ok(Account {
        name: claims.name,
        username: claims.preferred_username,
        tenant_id: claims.tid,
        object_id: claims.oid,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{encode, EncodingKey, Header};
    use serde_json::json;

    /// A throwaway RSA key made for these tests, and its public half as a JWKS.
    const SIGNING_KEY: &str = include_str!("../../tests/fixtures/id-token-signing-key.pem");
    const JWKS: &str = include_str!("../../tests/fixtures/id-token-jwks.json");
    const ISSUER: &str = "https://login.example/tenant-guid/v2.0";
    const CLIENT: &str = "client-id";
    const TENANT: &str = "11111111-2222-3333-4444-555555555555";
    const NONCE: &str = "the-nonce";

    fn meta() -> Metadata {
        Metadata {
            issuer: ISSUER.into(),
            authorization_endpoint: Url::parse("https://login.example/authorize").unwrap(),
            token_endpoint: Url::parse("https://login.example/token").unwrap(),
            jwks_uri: Url::parse("https://login.example/keys").unwrap(),
        }
    }

    fn now() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    }

    fn claims() -> serde_json::Value {
        json!({
            "iss": ISSUER, "aud": CLIENT, "exp": now() + 3600, "iat": now(), "nonce": NONCE,
            "tid": TENANT, "oid": "oid-1", "name": "Alice", "preferred_username": "alice@contoso.test",
        })
    }

    fn sign(claims: &serde_json::Value, kid: &str) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(kid.into());
        encode(
            &header,
            claims,
            &EncodingKey::from_rsa_pem(SIGNING_KEY.as_bytes()).unwrap(),
        )
        .unwrap()
    }

    fn validate(token: &str) -> Result<Account> {
        let jwks: JwkSet = serde_json::from_str(JWKS).unwrap();
        validate_id_token(token, &jwks, &meta(), CLIENT, Some(NONCE), TENANT)
    }

    #[test]
    fn token_responses_parse_or_explain() {
        let ok = parse_token_response(
            200,
            br#"{"access_token":"at","expires_in":3599,"refresh_token":"rt"}"#,
            GrantKind::RefreshToken,
        )
        .unwrap();
        assert_eq!(ok.expires_in, Some(3599));
        let gone = parse_token_response(
            400,
            br#"{"error":"invalid_grant","error_codes":[70008]}"#,
            GrantKind::RefreshToken,
        )
        .unwrap_err();
        assert_eq!(gone.code(), crate::ErrorCode::NotSignedIn);
        let bad = parse_token_response(
            400,
            br#"{"error":"invalid_grant","error_codes":[70008]}"#,
            GrantKind::AuthorizationCode,
        )
        .unwrap_err();
        assert_eq!(
            bad.code(),
            crate::ErrorCode::AuthFailed,
            "a bad code is not a sign-out"
        );
        for junk in [
            &b""[..],
            b"<html>",
            b"{\"access_token\":\"\"}",
            b"{\"access_token\":7}",
        ] {
            assert!(matches!(
                parse_token_response(200, junk, GrantKind::AuthorizationCode),
                Err(Error::InvalidResponse(_))
            ));
        }
        assert!(matches!(
            parse_token_response(502, b"<html>bad gateway</html>", GrantKind::RefreshToken),
            Err(Error::InvalidResponse(_))
        ));
    }

    #[test]
    fn a_valid_id_token_names_the_account() {
        let account = validate(&sign(&claims(), "test-key")).unwrap();
        assert_eq!(account.username.as_deref(), Some("alice@contoso.test"));
        assert_eq!(account.tenant_id.as_deref(), Some(TENANT));
    }

    #[test]
    fn every_broken_claim_is_refused() {
        let cases: Vec<(&str, serde_json::Value)> = vec![
            (
                "another issuer",
                json!({ "iss": "https://evil.example/v2.0" }),
            ),
            ("another audience", json!({ "aud": "someone-else" })),
            ("expired", json!({ "exp": now() - 3600 })),
            ("another nonce", json!({ "nonce": "replayed" })),
            (
                "another tenant",
                json!({ "tid": "99999999-2222-3333-4444-555555555555" }),
            ),
        ];
        for (why, change) in cases {
            let mut c = claims();
            for (k, v) in change.as_object().unwrap() {
                c[k] = v.clone();
            }
            assert!(
                validate(&sign(&c, "test-key")).is_err(),
                "an ID token from {why} must be refused"
            );
        }
        let mut no_nonce = claims();
        no_nonce.as_object_mut().unwrap().remove("nonce");
        assert!(
            validate(&sign(&no_nonce, "test-key")).is_err(),
            "a sign-in's ID token must carry its nonce"
        );
    }

    #[test]
    fn a_forged_signature_or_unknown_key_is_refused() {
        let token = sign(&claims(), "test-key");
        let (head, rest) = token.split_once('.').unwrap();
        let (_, sig) = rest.split_once('.').unwrap();
        let mut forged = claims();
        forged["preferred_username"] = json!("admin@contoso.test");
        let body = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(forged.to_string());
        use base64::Engine;
        assert!(
            validate(&format!("{head}.{body}.{sig}")).is_err(),
            "changed claims break the signature"
        );
        assert!(
            validate(&sign(&claims(), "unknown-key")).is_err(),
            "keys outside the JWKS are refused"
        );
        assert!(validate("not.a.jwt").is_err());
    }
}
