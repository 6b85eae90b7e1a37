//! The sandbox tenant's incident API: Microsoft Graph's `/v1.0/security/incidents` and the Defender
//! XDR API's `/api/incidents` over one seeded data set, following each service's documented
//! behaviour rather than the app's convenience: bearer tokens verified against the sandbox IdP
//! (signature, issuer, audience, scopes or app roles, and a security role for users; writes need
//! a ReadWrite permission and Security Operator), OData limits, paging, and quotas — Graph 150
//! requests a minute (429 + `Retry-After`), Defender 50 a minute and 1,500 an hour (429 with the
//! wait in the body text).
//!
//! `sandbox-api --issuer URL [--port N]` serves and prints `LISTENING <base>`;
//! `sandbox-api dump [--tenant T]` prints the data set in Graph's shape (for tests to compare).

// Handlers pass ready-made error responses up with `?`; their size does not matter here.
#![allow(clippy::result_large_err)]

mod auth;
mod data;
mod faults;
mod live;
mod odata;
mod shapes;
mod store;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::auth::{Api, Caller};
use crate::data::Comment;
use crate::odata::Dialect;
use crate::store::{Change, Store};

struct App {
    auth: auth::Verifier,
    base: String,
    tenant: String,
    store: RwLock<Store>,
    faults: faults::Faults,
    /// Incident API requests answered, for the control plane's stats.
    requests: AtomicU64,
    /// Other analysts' and the service's changes (`SANDBOX_LIVE`, `POST /_sandbox/live`).
    live: live::Live,
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

fn data_set() -> Vec<data::Incident> {
    let count = env_num("SANDBOX_INCIDENTS", 240) as usize;
    let seed = env_num("SANDBOX_SEED", 42);
    data::incidents(count, seed, anchor())
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
        let all: Vec<Value> = data_set()
            .iter()
            .map(|i| shapes::graph_incident(i, &tenant, false))
            .collect();
        println!("{}", Value::Array(all));
        return;
    }
    let Some(issuer) = arg("--issuer") else {
        eprintln!("usage: sandbox-api --issuer URL [--port N] | sandbox-api dump [--tenant T]");
        std::process::exit(2);
    };
    let port: u16 = arg("--port").and_then(|p| p.parse().ok()).unwrap_or(0);
    if args.iter().any(|a| a == "--exit-with-stdin") {
        // Whoever started us holds our stdin: when it goes away, however it died, so do we.
        std::thread::spawn(|| {
            let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
            std::process::exit(0);
        });
    }
    let verifier = match auth::Verifier::new(&issuer).await {
        Ok(v) => v,
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
    let app = Arc::new(App {
        auth: verifier,
        base: base.clone(),
        tenant: tenant_of(&issuer),
        store: RwLock::new(Store::new(data_set())),
        faults: faults::Faults::default(),
        requests: AtomicU64::new(0),
        live: live::Live::new(env_num("SANDBOX_SEED", 42)),
    });
    // A busy tenant: one event every SANDBOX_LIVE seconds.
    let every = env_num("SANDBOX_LIVE", 0);
    if every > 0 {
        let app = Arc::clone(&app);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(every));
            tick.tick().await;
            loop {
                tick.tick().await;
                // Logged by live_event; the next tick tries again.
                let _ = live_event(&app, live::Request::default());
            }
        });
    }
    let router = Router::new()
        .route("/v1.0/security/incidents", get(graph_list))
        .route(
            "/v1.0/security/incidents/{id}",
            get(graph_get).patch(graph_patch),
        )
        .route(
            "/v1.0/security/incidents/{id}/comments",
            axum::routing::post(graph_comment),
        )
        .route("/api/incidents", get(defender_list))
        .route(
            "/api/incidents/{id}",
            get(defender_get).patch(defender_patch),
        )
        .route(
            "/_sandbox/fault",
            axum::routing::post(add_fault).delete(clear_faults),
        )
        .route("/_sandbox/stats", get(stats))
        .route("/_sandbox/live", axum::routing::post(live_now))
        .route("/_sandbox/incidents/{id}", get(peek))
        .with_state(app);
    println!("LISTENING {base}");
    if let Err(e) = axum::serve(listener, router).await {
        eprintln!("sandbox-api: {e}");
    }
}

/// Each API's error envelope: `{"error":{"code","message",...}}`.
pub fn api_error(api: Api, status: StatusCode, code: &str, message: &str) -> Response {
    let body = match api {
        Api::Graph => json!({ "error": { "code": code, "message": message, "innerError": {
            "date": shapes::rfc3339(OffsetDateTime::now_utc()),
            "request-id": "00000000-0000-0000-0000-000000000000" } } }),
        Api::Defender => {
            json!({ "error": { "code": code, "message": message, "target": "00000000-0000-0000-0000-000000000000" } })
        }
    };
    (status, Json(body)).into_response()
}

fn read(app: &App) -> std::sync::RwLockReadGuard<'_, Store> {
    app.store.read().unwrap_or_else(|e| e.into_inner())
}

fn parse_id(api: Api, id: &str) -> Result<u64, Response> {
    id.parse().map_err(|_| {
        api_error(
            api,
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("Incident {id} was not found."),
        )
    })
}

async fn list(app: &App, api: Api, headers: &HeaderMap, q: &HashMap<String, String>) -> Response {
    let fault = match before(app, api).await {
        Err(r) => return r,
        Ok(f) => f,
    };
    if let Err(r) = app.auth.check(api, headers, false) {
        return r;
    }
    let dialect = match api {
        Api::Graph => Dialect::Graph,
        Api::Defender => Dialect::Defender,
    };
    let query = match odata::Query::parse(dialect, q) {
        Ok(query) => query,
        Err(msg) => return api_error(api, StatusCode::BAD_REQUEST, "BadRequest", &msg),
    };
    let store = read(app);
    let (page, more) = query.apply(&store);
    let (path, context, value): (&str, &str, Vec<Value>) = match api {
        Api::Graph => (
            "/v1.0/security/incidents",
            "/v1.0/$metadata#security/incidents",
            page.iter()
                .map(|i| {
                    shapes::graph_incident(
                        i,
                        &app.tenant,
                        q.get("$expand").is_some_and(|e| e == "alerts"),
                    )
                })
                .collect(),
        ),
        Api::Defender => (
            "/api/incidents",
            "/api/$metadata#Incidents",
            page.iter().map(|i| shapes::defender_incident(i)).collect(),
        ),
    };
    drop(store);
    let mut body = json!({ "@odata.context": format!("{}{context}", app.base), "value": value });
    // Graph stops paging at the $skip limit: no link past it.
    if more && query.skip + query.top <= dialect.max_skip() {
        let base = match fault {
            Some(faults::Kind::ForeignNextLink) => "https://graph.attacker.example",
            _ => app.base.as_str(),
        };
        body["@odata.nextLink"] = json!(format!("{base}{path}?{}", query.next_page_query()));
    }
    if fault == Some(faults::Kind::LoopingNextLink) {
        body["@odata.nextLink"] = json!(format!("{}{path}?{}", app.base, query.this_page_query()));
    }
    match fault {
        Some(faults::Kind::Malformed) => {
            Json(json!({ "value": "not a list of incidents" })).into_response()
        }
        Some(faults::Kind::Truncated) => {
            let text = body.to_string();
            let cut = &text[..text.len() / 2];
            ([(header::CONTENT_TYPE, "application/json")], cut.to_owned()).into_response()
        }
        _ => Json(body).into_response(),
    }
}

async fn graph_list(
    State(app): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    list(&app, Api::Graph, &headers, &q).await
}

async fn defender_list(
    State(app): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    list(&app, Api::Defender, &headers, &q).await
}

async fn get_one(app: &App, api: Api, headers: &HeaderMap, id: &str, expand: bool) -> Response {
    if let Err(r) = before(app, api).await {
        return r;
    }
    if let Err(r) = app.auth.check(api, headers, false) {
        return r;
    }
    let id = match parse_id(api, id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    render(app, api, id, read(app).get(id), expand)
}

/// One incident in the API's shape, or the API's 404.
fn render(
    app: &App,
    api: Api,
    id: u64,
    incident: Option<&data::Incident>,
    expand: bool,
) -> Response {
    match incident {
        Some(i) => Json(match api {
            Api::Graph => shapes::graph_incident(i, &app.tenant, expand),
            Api::Defender => shapes::defender_incident(i),
        })
        .into_response(),
        None => api_error(
            api,
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("Incident {id} was not found."),
        ),
    }
}

async fn graph_get(
    State(app): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    get_one(
        &app,
        Api::Graph,
        &headers,
        &id,
        q.get("$expand").is_some_and(|e| e == "alerts"),
    )
    .await
}

async fn defender_get(
    State(app): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    get_one(&app, Api::Defender, &headers, &id, true).await
}

/// Checks a value against an enum's members: Graph is case-insensitive, Defender's "body parameters
/// are case-sensitive".
fn member(
    api: Api,
    field: &str,
    value: &Value,
    allowed: &[&str],
) -> Result<Option<String>, Response> {
    let Some(v) = value.get(field) else {
        return Ok(None);
    };
    let s = v.as_str().unwrap_or_default();
    let found = allowed.iter().find(|&&a| match api {
        Api::Graph => a.eq_ignore_ascii_case(s),
        Api::Defender => shapes::pascal(a) == s || (a == "unknown" && s == "NotAvailable"),
    });
    match found {
        Some(a) => Ok(Some((*a).to_owned())),
        None => Err(api_error(
            api,
            StatusCode::BAD_REQUEST,
            "InvalidRequestBody",
            &format!("Invalid value '{s}' for '{field}'."),
        )),
    }
}

const STATUSES: &[&str] = &["active", "inProgress", "resolved", "redirected"];
const CLASSIFICATIONS: &[&str] = &[
    "unknown",
    "truePositive",
    "falsePositive",
    "informationalExpectedActivity",
];
const DETERMINATIONS: &[&str] = &[
    "unknown",
    "apt",
    "malware",
    "securityPersonnel",
    "securityTesting",
    "unwantedSoftware",
    "other",
    "multiStagedAttack",
    "compromisedAccount",
    "phishing",
    "maliciousUserActivity",
    "notMalicious",
    "notEnoughDataToValidate",
    "confirmedActivity",
    "lineOfBusinessApplication",
    "clean",
    "insufficientData",
    "compromisedUser",
    "confirmedUserActivity",
];

fn change_from(api: Api, body: &Value, caller: &Caller) -> Result<Change, Response> {
    if !body.is_object() {
        return Err(api_error(
            api,
            StatusCode::BAD_REQUEST,
            "InvalidRequestBody",
            "The request body must be a JSON object.",
        ));
    }
    let tags_field = match api {
        Api::Graph => "customTags",
        Api::Defender => "tags",
    };
    let tags = match body.get(tags_field) {
        None => None,
        Some(Value::Array(a)) if a.iter().all(Value::is_string) => Some(
            a.iter()
                .filter_map(|t| t.as_str().map(str::to_owned))
                .collect(),
        ),
        Some(_) => {
            return Err(api_error(
                api,
                StatusCode::BAD_REQUEST,
                "InvalidRequestBody",
                &format!("'{tags_field}' must be a list of strings."),
            ))
        }
    };
    let assigned_to = match body.get("assignedTo") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(s)) if s.is_empty() => Some(None),
        Some(Value::String(s)) if s.len() <= 256 => Some(Some(s.clone())),
        Some(_) => {
            return Err(api_error(
                api,
                StatusCode::BAD_REQUEST,
                "InvalidRequestBody",
                "'assignedTo' must be a user principal name.",
            ))
        }
    };
    let comment = match (api, body.get("comment")) {
        (Api::Defender, Some(Value::String(c))) if c.chars().count() <= 30_000 => Some(Comment {
            comment: c.clone(),
            created_by: caller.upn.clone(),
            created: OffsetDateTime::now_utc(),
        }),
        (Api::Defender, Some(_)) => {
            return Err(api_error(
                api,
                StatusCode::BAD_REQUEST,
                "InvalidRequestBody",
                "'comment' must be text of at most 30,000 characters.",
            ))
        }
        _ => None,
    };
    Ok(Change {
        status: member(api, "status", body, STATUSES)?,
        assigned_to,
        classification: member(api, "classification", body, CLASSIFICATIONS)?,
        determination: member(api, "determination", body, DETERMINATIONS)?,
        tags,
        comment,
    })
}

async fn patch(app: &App, api: Api, headers: &HeaderMap, id: &str, body: &Value) -> Response {
    if let Err(r) = before(app, api).await {
        return r;
    }
    let caller = match app.auth.check(api, headers, true) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let id = match parse_id(api, id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let change = match change_from(api, body, &caller) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let mut store = app.store.write().unwrap_or_else(|e| e.into_inner());
    render(
        app,
        api,
        id,
        store.apply(id, change, OffsetDateTime::now_utc()),
        false,
    )
}

async fn graph_patch(
    State(app): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    patch(&app, Api::Graph, &headers, &id, &body).await
}

async fn defender_patch(
    State(app): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    patch(&app, Api::Defender, &headers, &id, &body).await
}

/// `POST /security/incidents/{id}/comments`: 200 with the incident's whole comment list.
async fn graph_comment(
    State(app): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    if let Err(r) = before(&app, Api::Graph).await {
        return r;
    }
    let caller = match app.auth.check(Api::Graph, &headers, true) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let id = match parse_id(Api::Graph, &id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let text = match body.get("comment").and_then(Value::as_str) {
        Some(c) if !c.trim().is_empty() && c.chars().count() <= 30_000 => c.to_owned(),
        _ => {
            return api_error(
                Api::Graph,
                StatusCode::BAD_REQUEST,
                "InvalidRequestBody",
                "'comment' must be text of 1 to 30,000 characters.",
            )
        }
    };
    let change = Change {
        comment: Some(Comment {
            comment: text,
            created_by: caller.upn,
            created: OffsetDateTime::now_utc(),
        }),
        ..Change::default()
    };
    let mut store = app.store.write().unwrap_or_else(|e| e.into_inner());
    match store.apply(id, change, OffsetDateTime::now_utc()) {
        Some(i) => Json(json!({ "@odata.context": format!("{}/v1.0/$metadata#Collection(microsoft.graph.security.alertComment)", app.base),
            "value": i.comments.iter().map(shapes::graph_comment).collect::<Vec<_>>() })).into_response(),
        None => api_error(Api::Graph, StatusCode::NOT_FOUND, "NotFound", &format!("Incident {id} was not found.")),
    }
}
/// Counts the request and applies the fault set for it: an early answer, or what to spoil later.
async fn before(app: &App, api: Api) -> Result<Option<faults::Kind>, Response> {
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
            if status == StatusCode::TOO_MANY_REQUESTS && api == Api::Defender {
                // Defender XDR says when in the body, with no Retry-After header.
                let secs = fault.retry_after.unwrap_or(1);
                let msg = format!(
                    "Rate limit is exceeded. You can send requests again in {secs} seconds."
                );
                return Err(api_error(api, status, code, &msg));
            }
            let mut r = api_error(
                api,
                status,
                code,
                status.canonical_reason().unwrap_or("Error"),
            );
            if let Some(secs) = fault.retry_after {
                r.headers_mut()
                    .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
            }
            Err(r)
        }
        faults::Kind::InsufficientClaims => {
            // A Continuous Access Evaluation challenge, as Graph sends it (base64 of the claims JSON).
            let claims = fault
                .claims
                .as_deref()
                .unwrap_or(r#"{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}"#);
            let challenge = format!(
                "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", error=\"insufficient_claims\", claims=\"{}\"",
                base64_encode(claims.as_bytes())
            );
            let mut r = api_error(
                api,
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

/// The control plane's view of one incident, without a token: lets a test check what a write did.
async fn peek(State(app): State<Shared>, Path(id): Path<u64>) -> Response {
    match read(&app).get(id) {
        Some(i) => Json(shapes::graph_incident(i, &app.tenant, false)).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// One live event, logged; returns the incident it touched.
fn live_event(app: &App, req: live::Request) -> Result<u64, String> {
    let mut store = app.store.write().unwrap_or_else(|e| e.into_inner());
    let result = app.live.event(&mut store, req, OffsetDateTime::now_utc());
    match &result {
        Ok(id) => tracing::info!(id, "live event"),
        Err(e) => tracing::warn!("live event: {e}"),
    }
    result
}

/// `POST /_sandbox/live` with `{"kind": "newIncident" | "newAlert" | "reassign" | "resolve",
/// "id", "severity", "assignTo"}` (each optional): one event now; answers the incident.
async fn live_now(State(app): State<Shared>, body: Option<Json<live::Request>>) -> Response {
    let req = body.map(|Json(r)| r).unwrap_or_default();
    match live_event(&app, req) {
        Ok(id) => match read(&app).get(id) {
            Some(i) => Json(shapes::graph_incident(i, &app.tenant, false)).into_response(),
            None => StatusCode::NOT_FOUND.into_response(),
        },
        Err(e) => (StatusCode::BAD_REQUEST, Json(json!({ "error": e }))).into_response(),
    }
}

async fn stats(State(app): State<Shared>) -> Response {
    Json(json!({
        "requests": app.requests.load(Ordering::SeqCst),
        "throttled": app.auth.throttled(),
    }))
    .into_response()
}
