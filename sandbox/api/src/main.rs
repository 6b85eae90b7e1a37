//! The sandbox tenant's incident API: Microsoft Graph `GET /v1.0/security/incidents` over a seeded
//! data set, following Graph's documented behaviour rather than the app's convenience: bearer tokens
//! verified against the sandbox IdP (signature, issuer, audience, scopes, role), `$top` at most 50,
//! `$skip` at most 500, `@odata.nextLink` paging, and a 150 requests/minute quota answered with 429
//! and `Retry-After`.
//!
//! `sandbox-api --issuer URL [--port N]` serves and prints `LISTENING <base>`;
//! `sandbox-api dump` prints the data set (for tests to compare against).

mod data;
mod faults;
mod odata;

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::{json, Value};
use time::OffsetDateTime;

const GRAPH_AUDIENCE: &str = "https://graph.microsoft.com";
const READ_SCOPES: &[&str] = &[
    "SecurityIncident.Read.All",
    "SecurityIncident.ReadWrite.All",
];
/// Entra directory roles allowed to read incidents (Security Reader, Security Operator, Security
/// Administrator, Global Reader).
const READ_ROLES: &[&str] = &[
    "5d6b6bb7-de71-4623-b4af-96380a352509",
    "5f2222b1-57c3-48ba-8ad5-d4759f1fde6f",
    "194ae4cb-b126-40b2-bd5b-6091b380977d",
    "f2ef992c-3afb-46b9-b7cf-a126ee74c451",
];
const QUOTA_PER_MINUTE: usize = 150;

struct App {
    issuer: String,
    jwks: JwkSet,
    base: String,
    incidents: Vec<Value>,
    /// Request times per (tenant, app), for the quota.
    quota: Mutex<HashMap<String, VecDeque<Instant>>>,
    faults: faults::Faults,
    /// Incident API requests answered, for the control plane's stats.
    requests: AtomicU64,
}

type Shared = Arc<App>;

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The anchor of the data set's timestamps: SANDBOX_NOW (RFC 3339), else the start of today (UTC),
/// so a data set is the same all day for a given size and seed.
fn anchor() -> OffsetDateTime {
    if let Some(t) = std::env::var("SANDBOX_NOW").ok().and_then(|v| {
        OffsetDateTime::parse(&v, &time::format_description::well_known::Rfc3339).ok()
    }) {
        return t;
    }
    OffsetDateTime::now_utc().replace_time(time::Time::MIDNIGHT)
}

fn tenant_of(issuer: &str) -> String {
    issuer
        .trim_end_matches('/')
        .trim_end_matches("/v2.0")
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned()
}

fn data_set(tenant: &str) -> Vec<Value> {
    let count = env_num("SANDBOX_INCIDENTS", 240) as usize;
    let seed = env_num("SANDBOX_SEED", 42);
    data::incidents(count, seed, anchor(), tenant)
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SANDBOX_LOG")
                .unwrap_or_else(|_| "sandbox_api=info".into()),
        )
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    if args.first().map(String::as_str) == Some("dump") {
        let tenant = arg("--tenant").unwrap_or_else(|| "sandbox".into());
        println!("{}", Value::Array(data_set(&tenant)));
        return;
    }
    let Some(issuer) = arg("--issuer") else {
        eprintln!("usage: sandbox-api --issuer URL [--port N] | sandbox-api dump [--tenant T]");
        std::process::exit(2);
    };
    let port: u16 = arg("--port").and_then(|p| p.parse().ok()).unwrap_or(0);
    let jwks = match fetch_jwks(&issuer).await {
        Ok(j) => j,
        Err(e) => {
            eprintln!("sandbox-api: cannot read the IdP's signing keys: {e}");
            std::process::exit(1);
        }
    };
    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("sandbox-api: cannot listen on 127.0.0.1:{port}: {e}");
            std::process::exit(1);
        }
    };
    let base = format!(
        "http://{}",
        listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default()
    );
    let tenant = tenant_of(&issuer);
    let app = Arc::new(App {
        issuer,
        jwks,
        base: base.clone(),
        incidents: data_set(&tenant),
        quota: Mutex::default(),
        faults: faults::Faults::default(),
        requests: AtomicU64::new(0),
    });
    let router = Router::new()
        .route("/v1.0/security/incidents", get(list_incidents))
        .route("/v1.0/security/incidents/{id}", get(get_incident))
        .route(
            "/_sandbox/fault",
            axum::routing::post(add_fault).delete(clear_faults),
        )
        .route("/_sandbox/stats", get(stats))
        .with_state(app);
    println!("LISTENING {base}");
    if let Err(e) = axum::serve(listener, router).await {
        eprintln!("sandbox-api: {e}");
    }
}

async fn fetch_jwks(issuer: &str) -> Result<JwkSet, String> {
    #[derive(Deserialize)]
    struct Discovery {
        jwks_uri: String,
    }
    let http = reqwest::Client::new();
    let disc: Discovery = http
        .get(format!("{issuer}/.well-known/openid-configuration"))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    http.get(disc.jwks_uri)
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())
}

/// Graph's error envelope.
fn graph_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({ "error": { "code": code, "message": message, "innerError": {
        "date": OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
        "request-id": "00000000-0000-0000-0000-000000000000" } } });
    (status, Json(body)).into_response()
}

#[derive(Deserialize)]
struct Claims {
    #[serde(default)]
    scp: Option<String>,
    #[serde(default)]
    roles: Option<Vec<String>>,
    #[serde(default)]
    wids: Option<Vec<String>>,
    #[serde(default)]
    appid: Option<String>,
    #[serde(default)]
    tid: Option<String>,
}

/// Verifies the bearer token as Graph would, and counts the request against the caller's quota.
// The error is the ready answer to send; its size does not matter on this path.
#[allow(clippy::result_large_err)]
fn authorize(app: &App, headers: &HeaderMap) -> Result<(), Response> {
    let unauthorized = |msg: &str| {
        let mut r = graph_error(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken", msg);
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer realm=\"\", error=\"invalid_token\""),
        );
        r
    };
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| unauthorized("Access token is empty."))?;
    let header = jsonwebtoken::decode_header(token)
        .map_err(|_| unauthorized("IDX14100: JWT is not well formed."))?;
    let jwk = header
        .kid
        .as_deref()
        .and_then(|k| app.jwks.find(k))
        .ok_or_else(|| unauthorized("Access token signature key is unknown."))?;
    let key = DecodingKey::from_jwk(jwk)
        .map_err(|_| unauthorized("Access token signature key is invalid."))?;
    let mut v = Validation::new(Algorithm::RS256);
    v.set_issuer(&[&app.issuer]);
    v.set_audience(&[GRAPH_AUDIENCE]);
    let claims = jsonwebtoken::decode::<Claims>(token, &key, &v)
        .map_err(|e| unauthorized(&format!("Access token validation failure: {e}")))?
        .claims;
    let scopes: Vec<&str> = claims
        .scp
        .as_deref()
        .unwrap_or_default()
        .split(' ')
        .collect();
    let roles = claims.roles.unwrap_or_default();
    let delegated = claims.scp.is_some();
    let permitted = if delegated {
        scopes.iter().any(|s| READ_SCOPES.contains(s))
    } else {
        roles.iter().any(|r| READ_SCOPES.contains(&r.as_str()))
    };
    if !permitted {
        return Err(graph_error(StatusCode::FORBIDDEN, "Forbidden", "Missing application permission SecurityIncident.Read.All or SecurityIncident.ReadWrite.All."));
    }
    if delegated
        && !claims
            .wids
            .unwrap_or_default()
            .iter()
            .any(|w| READ_ROLES.contains(&w.as_str()))
    {
        return Err(graph_error(StatusCode::FORBIDDEN, "Forbidden", "The user does not have a role that allows reading incidents (Security Reader or higher)."));
    }
    // Quota: 150 requests per minute per app per tenant.
    let key = format!(
        "{}/{}",
        claims.tid.unwrap_or_default(),
        claims.appid.unwrap_or_default()
    );
    let mut quota = app.quota.lock().unwrap_or_else(|e| e.into_inner());
    let window = quota.entry(key).or_default();
    let now = Instant::now();
    while window
        .front()
        .is_some_and(|t| now.duration_since(*t) > Duration::from_secs(60))
    {
        window.pop_front();
    }
    if window.len() >= QUOTA_PER_MINUTE {
        let wait = 60
            - window
                .front()
                .map(|t| now.duration_since(*t).as_secs())
                .unwrap_or(0)
                .min(59);
        let mut r = graph_error(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequests",
            "Too many requests.",
        );
        r.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from(wait));
        return Err(r);
    }
    window.push_back(now);
    Ok(())
}

async fn list_incidents(
    State(app): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let fault = match before(&app).await {
        Err(r) => return r,
        Ok(f) => f,
    };
    if let Err(r) = authorize(&app, &headers) {
        return r;
    }
    let query = match odata::Query::parse(&q) {
        Ok(query) => query,
        Err(msg) => return graph_error(StatusCode::BAD_REQUEST, "BadRequest", &msg),
    };
    let (page, more) = query.apply(&app.incidents);
    let mut body = json!({
        "@odata.context": format!("{}/v1.0/$metadata#security/incidents", app.base),
        "value": page,
    });
    let next_skip = query.skip + query.top;
    // Graph stops paging at the $skip limit: no link past it.
    if more && next_skip <= odata::MAX_SKIP {
        let base = match fault {
            Some(faults::Kind::ForeignNextLink) => "https://graph.attacker.example",
            _ => app.base.as_str(),
        };
        body["@odata.nextLink"] = json!(format!(
            "{base}/v1.0/security/incidents?{}",
            query.next_page_query()
        ));
    }
    match fault {
        Some(faults::Kind::Malformed) => {
            return Json(json!({ "value": "not a list of incidents" })).into_response()
        }
        Some(faults::Kind::Truncated) => {
            let text = body.to_string();
            let cut = &text[..text.len() / 2];
            return ([(header::CONTENT_TYPE, "application/json")], cut.to_owned()).into_response();
        }
        _ => {}
    }
    Json(body).into_response()
}

async fn get_incident(
    State(app): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = before(&app).await {
        return r;
    }
    if let Err(r) = authorize(&app, &headers) {
        return r;
    }
    match app.incidents.iter().find(|i| i["id"] == id.as_str()) {
        Some(i) => Json(i.clone()).into_response(),
        None => graph_error(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("Incident {id} was not found."),
        ),
    }
}

/// Counts the request and applies the fault set for it: an early answer, or what to spoil later.
async fn before(app: &App) -> Result<Option<faults::Kind>, Response> {
    app.requests.fetch_add(1, Ordering::SeqCst);
    let Some(fault) = app.faults.take() else {
        return Ok(None);
    };
    match fault.kind {
        faults::Kind::Latency => {
            tokio::time::sleep(Duration::from_millis(fault.delay_ms.unwrap_or(1000))).await;
            Ok(None)
        }
        faults::Kind::Status => {
            let status = StatusCode::from_u16(fault.status.unwrap_or(503))
                .unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            let code = match status.as_u16() {
                429 => "TooManyRequests",
                500 => "InternalServerError",
                502 => "BadGateway",
                503 => "ServiceUnavailable",
                504 => "GatewayTimeout",
                _ => "UnknownError",
            };
            let mut r = graph_error(status, code, status.canonical_reason().unwrap_or("Error"));
            if let Some(secs) = fault.retry_after {
                r.headers_mut()
                    .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
            }
            Err(r)
        }
        faults::Kind::InsufficientClaims => {
            // A Continuous Access Evaluation challenge, as Graph sends it (base64 of the claims JSON).
            let claims = r#"{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}"#;
            let challenge = format!(
                "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", error=\"insufficient_claims\", claims=\"{}\"",
                base64_encode(claims.as_bytes())
            );
            let mut r = graph_error(
                StatusCode::UNAUTHORIZED,
                "InvalidAuthenticationToken",
                "Continuous access evaluation resulted in challenge with result: InteractionRequired and code: TokenIssuedBeforeRevocationTimestamp",
            );
            if let Ok(v) = header::HeaderValue::from_str(&challenge) {
                r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
            }
            Err(r)
        }
        other => Ok(Some(other)),
    }
}

fn base64_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

async fn add_fault(State(app): State<Shared>, Json(fault): Json<faults::Fault>) -> Response {
    tracing::info!(?fault, "fault set");
    app.faults.add(fault);
    StatusCode::NO_CONTENT.into_response()
}

async fn clear_faults(State(app): State<Shared>) -> Response {
    app.faults.clear();
    StatusCode::NO_CONTENT.into_response()
}

async fn stats(State(app): State<Shared>) -> Response {
    Json(json!({ "requests": app.requests.load(Ordering::SeqCst) })).into_response()
}
