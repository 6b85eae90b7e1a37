//! The OpenID Connect side of sign-in, on the `oauth2` crate: discovery, the authorization request
//! (PKCE S256, state, nonce), the token endpoint (code exchange, refresh, client credentials) and
//! ID token validation (`jsonwebtoken`).
//!
//! Access tokens are opaque to Incident Desk (Microsoft says so): their lifetime comes from
//! `expires_in`. Only the ID token is validated and read, for the account shown to the user.
//!
//! Every identity document and token response is read through [`IdentityHttp`]: no redirects,
//! timeouts, and at most 1 MiB, so a hostile or broken server cannot exhaust memory.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use oauth2::basic::{
    BasicErrorResponseType, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, CsrfToken, EndpointNotSet, EndpointSet,
    ErrorResponse, ExtraTokenFields, HttpClientError, HttpRequest, HttpResponse, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError, Scope, StandardRevocableToken,
    StandardTokenResponse, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::auth::secret::Secret;
use crate::config::{is_guid, join_segments, require_secure};
use crate::error::{Error, Result};
use crate::net::{self, IDENTITY_BODY_LIMIT};

/// The subset of the discovery document Incident Desk uses.
#[derive(Debug, Clone, Deserialize)]
pub struct Metadata {
    pub issuer: String,
    pub authorization_endpoint: Url,
    pub token_endpoint: Url,
    pub jwks_uri: Url,
}

/// The one HTTP client for identity traffic: no redirects, timeouts, bounded bodies. It is also
/// the `oauth2` crate's HTTP client, so token requests get the same limits.
#[derive(Clone)]
pub struct IdentityHttp(reqwest::Client);

impl IdentityHttp {
    pub fn new(proxy: Option<&Url>) -> Result<Self> {
        Ok(Self(net::client(proxy)?))
    }

    /// The client underneath, for the profile's API traffic too (a desk's profiles with the same
    /// proxy share one: `Desk::open`).
    pub(crate) fn client(&self) -> reqwest::Client {
        self.0.clone()
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &Url, what: &str) -> Result<T> {
        let resp = self
            .0
            .get(url.clone())
            .timeout(net::IDENTITY_TIMEOUT)
            .send()
            .await
            .map_err(|e| Error::Network(url.origin().ascii_serialization(), e))?;
        let status = resp.status();
        if !status.is_success() {
            return Err(Error::InvalidResponse(format!(
                "{what} at {url} answered {}",
                status.as_u16()
            )));
        }
        let body = net::read_limited(resp, IDENTITY_BODY_LIMIT, what).await?;
        serde_json::from_slice(&body).map_err(|e| Error::InvalidResponse(format!("{what}: {e}")))
    }

    async fn execute(
        &self,
        request: HttpRequest,
    ) -> std::result::Result<HttpResponse, HttpClientError<reqwest::Error>> {
        let mut request: reqwest::Request = request.try_into().map_err(Box::new)?;
        *request.timeout_mut() = Some(net::IDENTITY_TIMEOUT);
        let resp = self.0.execute(request).await.map_err(Box::new)?;
        let mut builder = oauth2::http::Response::builder().status(resp.status());
        for (name, value) in resp.headers() {
            builder = builder.header(name, value);
        }
        let body = net::body_within(resp, IDENTITY_BODY_LIMIT)
            .await
            .map_err(Box::new)?
            .ok_or_else(|| {
                HttpClientError::Other(
                    "the token endpoint's answer is larger than 1 MiB: refused".into(),
                )
            })?;
        builder.body(body.into()).map_err(HttpClientError::Http)
    }
}

impl<'c> oauth2::AsyncHttpClient<'c> for IdentityHttp {
    type Error = HttpClientError<reqwest::Error>;
    type Future =
        Pin<Box<dyn Future<Output = std::result::Result<HttpResponse, Self::Error>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(self.execute(request))
    }
}

/// `{authority}/v2.0/.well-known/openid-configuration`, as Entra publishes it. When the tenant is
/// a GUID, the document must name that tenant's own issuer (`{authority}/v2.0`).
pub async fn discover(http: &IdentityHttp, authority: &Url, tenant: &str) -> Result<Metadata> {
    let url = join_segments(authority, &["v2.0", ".well-known", "openid-configuration"])?;
    let meta: Metadata = http
        .get_json(&url, "the sign-in authority's discovery document")
        .await
        .map_err(|e| match e {
            Error::InvalidResponse(m) => {
                Error::Config(format!("{m}: check the tenant and cloud of this profile"))
            }
            other => other,
        })?;
    for u in [
        &meta.authorization_endpoint,
        &meta.token_endpoint,
        &meta.jwks_uri,
    ] {
        require_secure(u)?;
    }
    if is_guid(tenant) {
        let expected = join_segments(authority, &["v2.0"])?;
        if meta.issuer.trim_end_matches('/') != expected.as_str().trim_end_matches('/') {
            return Err(Error::InvalidAuthResponse(format!(
                "the authority names the issuer {:?}, not {expected}: refusing to sign in there",
                meta.issuer
            )));
        }
    }
    Ok(meta)
}

/// The ID token a token response may carry. Never serialized: the `Serialize` that `oauth2`'s
/// traits require fails.
#[derive(Debug, Clone)]
pub struct IdToken(Secret);

impl<'de> Deserialize<'de> for IdToken {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        Secret::deserialize(d).map(IdToken)
    }
}

impl Serialize for IdToken {
    fn serialize<S: serde::Serializer>(&self, _: S) -> std::result::Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom("an ID token is never serialized"))
    }
}

/// The OpenID Connect member of a token response.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct IdTokenField {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id_token: Option<IdToken>,
}

impl ExtraTokenFields for IdTokenField {}

type Tokens = StandardTokenResponse<IdTokenField, BasicTokenType>;

/// A token endpoint's error (RFC 6749 §5.2) with Entra's extra members: its numeric codes and the
/// trace and correlation IDs support asks for.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct EntraErrorResponse {
    pub error: BasicErrorResponseType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_codes: Option<Vec<u64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
}

impl fmt::Display for EntraErrorResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.error.as_ref())
    }
}

impl ErrorResponse for EntraErrorResponse {}

type OAuthClient = oauth2::Client<
    EntraErrorResponse,
    Tokens,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

fn oauth_client(meta: &Metadata, client_id: &str) -> OAuthClient {
    oauth2::Client::new(ClientId::new(client_id.to_owned()))
        .set_auth_uri(AuthUrl::from_url(meta.authorization_endpoint.clone()))
        .set_token_uri(TokenUrl::from_url(meta.token_endpoint.clone()))
        // Entra takes the client (and a confidential client's secret) in the body.
        .set_auth_type(AuthType::RequestBody)
}

fn scopes(scope: &str) -> impl Iterator<Item = Scope> + '_ {
    scope
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(|s| Scope::new(s.to_owned()))
}

/// An authorization request under way: what the callback and the code exchange are checked with.
pub struct Authorization {
    pub url: Url,
    pub state: CsrfToken,
    pub nonce: String,
    pub verifier: PkceCodeVerifier,
}

/// What the authorization request asks for beyond the protocol's own parameters.
pub struct AuthorizeRequest<'a> {
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub scope: &'a str,
    pub login_hint: Option<&'a str>,
    /// Claims an API challenged for (OIDC Core §5.5), checked before they get here.
    pub claims: Option<&'a str>,
    /// `select_account`, `login`, ... when the user asked for it.
    pub prompt: Option<&'a str>,
}

/// The authorization code flow's request: PKCE S256, a fresh `state` and `nonce`.
pub fn authorize(meta: &Metadata, req: &AuthorizeRequest<'_>) -> Result<Authorization> {
    let redirect = RedirectUrl::new(req.redirect_uri.to_owned())
        .map_err(|e| Error::Internal(format!("redirect URI: {e}")))?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    // 256 random bits each, as for the PKCE verifier.
    let nonce = CsrfToken::new_random_len(32).into_secret();
    let client = oauth_client(meta, req.client_id).set_redirect_uri(redirect);
    let mut auth = client
        .authorize_url(|| CsrfToken::new_random_len(32))
        .add_scopes(scopes(req.scope))
        .set_pkce_challenge(challenge)
        .add_extra_param("response_mode", "query")
        .add_extra_param("nonce", nonce.clone());
    if let Some(hint) = req.login_hint {
        auth = auth.add_extra_param("login_hint", hint);
    }
    if let Some(claims) = req.claims {
        auth = auth.add_extra_param("claims", claims);
    }
    if let Some(prompt) = req.prompt {
        auth = auth.add_extra_param("prompt", prompt);
    }
    let (url, state) = auth.url();
    Ok(Authorization {
        url,
        state,
        nonce,
        verifier,
    })
}

/// What a token endpoint gave, its secrets moved into zeroizing `Secret`s.
#[derive(Debug)]
pub struct TokenSet {
    pub access_token: Secret,
    pub expires_in: Option<Duration>,
    pub refresh_token: Option<Secret>,
    pub id_token: Option<Secret>,
}

impl TokenSet {
    fn from_response(t: Tokens) -> Result<Self> {
        let expires_in = t.expires_in();
        let refresh_token = t.refresh_token().cloned().map(Secret::from);
        let id_token = t.extra_fields().id_token.clone().map(|t| t.0);
        let access_token = Secret::from(t.access_token().clone());
        if access_token.expose().is_empty() {
            return Err(Error::InvalidResponse(
                "token response without an access token".into(),
            ));
        }
        Ok(Self {
            access_token,
            expires_in,
            refresh_token,
            id_token,
        })
    }
}

/// A confidential client's proof: a client secret, or a client assertion signed with its
/// certificate's key (RFC 7523).
pub enum ClientProof<'a> {
    Secret(&'a Secret),
    Assertion(String),
}

/// The grant a token request makes; errors mean different things for each.
pub enum Grant<'a> {
    AuthorizationCode {
        code: AuthorizationCode,
        redirect_uri: &'a str,
        verifier: PkceCodeVerifier,
    },
    RefreshToken(&'a Secret),
    ClientCredentials(ClientProof<'a>),
}

/// Which grant a token response answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantKind {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
}

impl Grant<'_> {
    fn kind(&self) -> GrantKind {
        match self {
            Grant::AuthorizationCode { .. } => GrantKind::AuthorizationCode,
            Grant::RefreshToken(_) => GrantKind::RefreshToken,
            Grant::ClientCredentials(_) => GrantKind::ClientCredentials,
        }
    }
}

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// One request to the token endpoint, through `oauth2`. `run` sends it: the identity client in the
/// app, a canned answer in tests and fuzzing.
macro_rules! token_request {
    ($client:expr, $grant:expr, $scope:expr, $on_request:expr, $send:ident, $http:expr $(, $await:tt)?) => {{
        let client: OAuthClient = $client;
        let kind = $grant.kind();
        let result = match $grant {
            Grant::AuthorizationCode {
                code,
                redirect_uri,
                verifier,
            } => {
                let redirect = RedirectUrl::new(redirect_uri.to_owned())
                    .map_err(|e| Error::Internal(format!("redirect URI: {e}")))?;
                client
                    .set_redirect_uri(redirect)
                    .exchange_code(code)
                    .set_pkce_verifier(verifier)
                    .$send($http)$(.$await)?
            }
            Grant::RefreshToken(rt) => {
                let rt = RefreshToken::new(rt.expose().to_owned());
                client
                    .exchange_refresh_token(&rt)
                    .add_scopes(scopes($scope))
                    .$send($http)$(.$await)?
            }
            Grant::ClientCredentials(ClientProof::Secret(secret)) => client
                .set_client_secret(oauth2::ClientSecret::new(secret.expose().to_owned()))
                .exchange_client_credentials()
                .add_scopes(scopes($scope))
                .$send($http)$(.$await)?,
            Grant::ClientCredentials(ClientProof::Assertion(jwt)) => client
                .exchange_client_credentials()
                .add_scopes(scopes($scope))
                .add_extra_param("client_assertion_type", ASSERTION_TYPE)
                .add_extra_param("client_assertion", jwt)
                .$send($http)$(.$await)?,
        };
        match result {
            Ok(t) => TokenSet::from_response(t),
            Err(e) => Err(token_error(e, kind, $on_request)),
        }
    }};
}

/// Sends a grant to the token endpoint.
pub async fn request_token(
    http: &IdentityHttp,
    meta: &Metadata,
    client_id: &str,
    scope: &str,
    grant: Grant<'_>,
) -> Result<TokenSet> {
    let endpoint = meta.token_endpoint.origin().ascii_serialization();
    let on_request = |e: HttpClientError<reqwest::Error>| match e {
        HttpClientError::Reqwest(e) => Error::Network(endpoint, *e),
        HttpClientError::Other(m) => Error::InvalidResponse(m),
        e => Error::InvalidResponse(format!("token endpoint: {e}")),
    };
    token_request!(
        oauth_client(meta, client_id),
        grant,
        scope,
        on_request,
        request_async,
        http,
        await
    )
}

/// What `oauth2` makes of a token endpoint's answer (`status`, JSON `body`) to a refresh or other
/// grant, as the app would report it. Pure and total (fuzzed by `make fuzz`).
pub fn read_token_answer(status: u16, body: &[u8], grant: GrantKind) -> Result<TokenSet> {
    let meta = Metadata {
        issuer: "https://login.invalid/t/v2.0".into(),
        authorization_endpoint: Url::parse("https://login.invalid/authorize")
            .map_err(|e| Error::Internal(e.to_string()))?,
        token_endpoint: Url::parse("https://login.invalid/token")
            .map_err(|e| Error::Internal(e.to_string()))?,
        jwks_uri: Url::parse("https://login.invalid/keys")
            .map_err(|e| Error::Internal(e.to_string()))?,
    };
    let answer = |_req: HttpRequest| -> std::result::Result<HttpResponse, std::io::Error> {
        oauth2::http::Response::builder()
            .status(status)
            .header("content-type", "application/json; charset=utf-8")
            .body(body.to_vec())
            .map_err(std::io::Error::other)
    };
    let secret = Secret::new("s");
    let grant = match grant {
        GrantKind::AuthorizationCode => Grant::AuthorizationCode {
            code: AuthorizationCode::new("c".into()),
            redirect_uri: "http://localhost:1",
            verifier: PkceCodeVerifier::new("v".repeat(43)),
        },
        GrantKind::RefreshToken => Grant::RefreshToken(&secret),
        GrantKind::ClientCredentials => Grant::ClientCredentials(ClientProof::Secret(&secret)),
    };
    let on_request = |e: std::io::Error| Error::InvalidResponse(e.to_string());
    token_request!(
        oauth_client(&meta, "client"),
        grant,
        "openid",
        on_request,
        request,
        &answer
    )
}

fn token_error<RE: std::error::Error + 'static>(
    e: RequestTokenError<RE, EntraErrorResponse>,
    grant: GrantKind,
    on_request: impl FnOnce(RE) -> Error,
) -> Error {
    match e {
        RequestTokenError::ServerResponse(r) => identity_error(&r, grant),
        RequestTokenError::Request(e) => on_request(e),
        RequestTokenError::Parse(e, _) => Error::InvalidResponse(format!(
            "the token endpoint's answer could not be read (at {})",
            e.path()
        )),
        RequestTokenError::Other(m) => Error::InvalidResponse(format!("token endpoint: {m}")),
    }
}

/// An error answer, explained; with the trace and correlation IDs for support.
fn identity_error(r: &EntraErrorResponse, grant: GrantKind) -> Error {
    let error = r.error.as_ref();
    let mut e = Error::identity(
        error,
        r.error_codes.as_deref(),
        r.error_description.as_deref(),
    );
    if let Error::Identity {
        detail,
        advice,
        code,
        ..
    } = &mut e
    {
        let ids: Vec<String> = [("trace", &r.trace_id), ("correlation", &r.correlation_id)]
            .into_iter()
            .filter_map(|(n, v)| v.as_ref().map(|v| format!("{n} ID {v}")))
            .collect();
        if !ids.is_empty() && !detail.contains("Trace ID") {
            if !detail.is_empty() {
                detail.push_str("; ");
            }
            detail.push_str(&ids.join(", "));
        }
        // With client credentials, an unexplained invalid_client is the secret itself.
        if grant == GrantKind::ClientCredentials && code.is_none() && error == "invalid_client" {
            *advice = crate::auth::entra::advice(error, Some(7000215));
        }
    }
    // A refresh token the provider no longer honours means: signed out, with the reason.
    if error == "invalid_grant" && grant == GrantKind::RefreshToken {
        return Error::SignedOut(e.to_string());
    }
    e
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

/// A validated ID token: the account, and the subject that must stay the same on every refresh.
#[derive(Debug, Clone)]
pub struct Verified {
    pub account: Account,
    pub subject: String,
}

#[derive(Deserialize)]
struct IdClaims {
    sub: String,
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

pub async fn fetch_jwks(http: &IdentityHttp, meta: &Metadata) -> Result<JwkSet> {
    http.get_json(&meta.jwks_uri, "the signing keys").await
}

/// The key ID an ID token names in its header; a token without one is refused.
pub fn key_id(id_token: &str) -> Result<String> {
    let header = jsonwebtoken::decode_header(id_token).map_err(Error::InvalidIdToken)?;
    if header.alg != Algorithm::RS256 {
        return Err(Error::InvalidAuthResponse(format!(
            "unexpected ID token algorithm {:?}",
            header.alg
        )));
    }
    header
        .kid
        .ok_or_else(|| Error::InvalidAuthResponse("the ID token names no signing key".into()))
}

/// Validates an ID token (OIDC Core §3.1.3.7) with the key its header names: signature, `iss`,
/// `aud`, `exp`, `nbf`, `sub`, and — when a sign-in sent one — `nonce`; `tid` must be the
/// profile's tenant when that is a GUID.
pub fn validate_id_token(
    id_token: &str,
    jwk: &Jwk,
    meta: &Metadata,
    client_id: &str,
    nonce: Option<&str>,
    tenant: &str,
) -> Result<Verified> {
    key_id(id_token)?;
    let key = DecodingKey::from_jwk(jwk).map_err(Error::InvalidIdToken)?;
    let mut v = Validation::new(Algorithm::RS256);
    v.set_issuer(&[&meta.issuer]);
    v.set_audience(&[client_id]);
    v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    v.validate_nbf = true;
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
    if is_guid(tenant)
        && claims
            .tid
            .as_deref()
            .is_some_and(|t| !t.eq_ignore_ascii_case(tenant))
    {
        return Err(Error::InvalidAuthResponse(
            "the account signed in to a different tenant than the profile's".into(),
        ));
    }
    Ok(Verified {
        subject: claims.sub,
        account: Account {
            name: claims.name,
            username: claims.preferred_username,
            tenant_id: claims.tid,
            object_id: claims.oid,
        },
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
            "sub": "subject-1", "tid": TENANT, "oid": "oid-1", "name": "Alice",
            "preferred_username": "alice@contoso.test",
        })
    }

    fn sign_with(claims: &serde_json::Value, kid: Option<&str>) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = kid.map(str::to_owned);
        encode(
            &header,
            claims,
            &EncodingKey::from_rsa_pem(SIGNING_KEY.as_bytes()).unwrap(),
        )
        .unwrap()
    }

    fn sign(claims: &serde_json::Value) -> String {
        sign_with(claims, Some("test-key"))
    }

    fn validate(token: &str) -> Result<Verified> {
        let jwks: JwkSet = serde_json::from_str(JWKS).unwrap();
        let kid = key_id(token)?;
        let jwk = jwks
            .find(&kid)
            .ok_or_else(|| Error::InvalidAuthResponse("unknown key".into()))?;
        validate_id_token(token, jwk, &meta(), CLIENT, Some(NONCE), TENANT)
    }

    #[test]
    fn token_responses_parse_or_explain() {
        let ok = read_token_answer(
            200,
            br#"{"access_token":"at","token_type":"Bearer","expires_in":3599,"refresh_token":"rt","id_token":"x.y.z"}"#,
            GrantKind::RefreshToken,
        )
        .unwrap();
        assert_eq!(ok.expires_in, Some(Duration::from_secs(3599)));
        assert_eq!(ok.refresh_token.unwrap().expose(), "rt");
        assert_eq!(ok.id_token.unwrap().expose(), "x.y.z");
        let gone = read_token_answer(
            400,
            br#"{"error":"invalid_grant","error_codes":[70008],"trace_id":"tr-1","correlation_id":"co-1"}"#,
            GrantKind::RefreshToken,
        )
        .unwrap_err();
        assert_eq!(gone.code(), crate::ErrorCode::NotSignedIn);
        assert!(
            gone.user_message()
                .contains("trace ID tr-1, correlation ID co-1"),
            "Entra's support IDs come through: {}",
            gone.user_message()
        );
        let bad = read_token_answer(
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
            b"{\"access_token\":\"\",\"token_type\":\"Bearer\"}",
            b"{\"access_token\":7}",
        ] {
            assert!(
                matches!(
                    read_token_answer(200, junk, GrantKind::AuthorizationCode),
                    Err(Error::InvalidResponse(_))
                ),
                "{:?}",
                String::from_utf8_lossy(junk)
            );
        }
        assert!(matches!(
            read_token_answer(502, b"<html>bad gateway</html>", GrantKind::RefreshToken),
            Err(Error::InvalidResponse(_))
        ));
    }

    #[test]
    fn the_authorization_url_carries_pkce_state_nonce_and_the_extras() {
        let a = authorize(
            &meta(),
            &AuthorizeRequest {
                client_id: CLIENT,
                redirect_uri: "http://localhost:4242",
                scope: "openid offline_access https://graph.microsoft.com/X",
                login_hint: Some("alice@contoso.test"),
                claims: Some(r#"{"access_token":{"acrs":{"essential":true}}}"#),
                prompt: None,
            },
        )
        .unwrap();
        let q: std::collections::HashMap<String, String> =
            a.url.query_pairs().into_owned().collect();
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["state"], *a.state.secret());
        assert_eq!(q["nonce"], a.nonce);
        assert_eq!(q["login_hint"], "alice@contoso.test");
        assert!(q["claims"].contains("acrs"));
        assert_eq!(
            q["scope"],
            "openid offline_access https://graph.microsoft.com/X"
        );
        assert!(a.verifier.secret().len() >= 43);
    }

    #[test]
    fn a_valid_id_token_names_the_account() {
        let v = validate(&sign(&claims())).unwrap();
        assert_eq!(v.account.username.as_deref(), Some("alice@contoso.test"));
        assert_eq!(v.account.tenant_id.as_deref(), Some(TENANT));
        assert_eq!(v.subject, "subject-1");
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
            ("not yet valid", json!({ "nbf": now() + 3600 })),
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
                validate(&sign(&c)).is_err(),
                "an ID token from {why} must be refused"
            );
        }
        for missing in ["nonce", "sub"] {
            let mut c = claims();
            c.as_object_mut().unwrap().remove(missing);
            assert!(
                validate(&sign(&c)).is_err(),
                "an ID token without {missing} is refused"
            );
        }
    }

    #[test]
    fn a_forged_signature_unknown_key_or_missing_kid_is_refused() {
        use base64::Engine;
        let token = sign(&claims());
        let (head, rest) = token.split_once('.').unwrap();
        let (_, sig) = rest.split_once('.').unwrap();
        let mut forged = claims();
        forged["preferred_username"] = json!("admin@contoso.test");
        let body = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(forged.to_string());
        assert!(
            validate(&format!("{head}.{body}.{sig}")).is_err(),
            "changed claims break the signature"
        );
        assert!(
            validate(&sign_with(&claims(), Some("unknown-key"))).is_err(),
            "keys outside the JWKS are refused"
        );
        assert!(
            matches!(
                key_id(&sign_with(&claims(), None)),
                Err(Error::InvalidAuthResponse(_))
            ),
            "a token must name its key"
        );
        assert!(validate("not.a.jwt").is_err());
    }
}
