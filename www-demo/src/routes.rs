//! The HTTP surface: ingestion (wire.md), the access check, the dashboard's API and pages,
//! static files, CORS and (with `--test-hooks`) fault injection and counters.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{MatchedPath, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::body::{self, BodyError};
use crate::cli::Config;
use crate::faults::{Fault, Faults, Stats};
use crate::limits::Limits;
use crate::security;
use crate::storage::{Page, Sender, Store};
use crate::validation::{self, SchemaError};

pub const ANALYTICS_PATH: &str = "/api/v1/analytics/events/batch";
pub const REPLAY_PATH: &str = "/api/v1/session-replays/batch";
pub const CHECK_ACCESS_PATH: &str = "/api/code/invites/check-access/";

const DASHBOARD_HTML: &str = include_str!("../static/dashboard.html");

/// Marks a response that must not be sent: the server closes the connection instead (see
/// `server::serve`), so the browser's fetch rejects with a network error.
#[derive(Debug, Clone, Copy)]
pub struct DropConnection;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Store,
    pub stats: Arc<Stats>,
    pub faults: Arc<Faults>,
    pub limits: Arc<Limits>,
}

impl AppState {
    pub fn new(config: Config, store: Store) -> AppState {
        let limits = Arc::new(Limits::new(config.max_concurrency));
        AppState { config: Arc::new(config), store, stats: Arc::default(), faults: Arc::default(), limits }
    }
}

/// An error answer: `{"code", "error"}` with the status.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into() }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({"code": self.code, "error": self.message}))).into_response()
    }
}

impl From<BodyError> for ApiError {
    fn from(e: BodyError) -> Self {
        match e {
            BodyError::TooLarge(m) => ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE", m),
            BodyError::Invalid(m) => ApiError::new(StatusCode::BAD_REQUEST, "BODY_PARSING_ERROR", m),
            BodyError::TooSlow(m) => ApiError::new(StatusCode::REQUEST_TIMEOUT, "REQUEST_TIMEOUT", m),
        }
    }
}

impl From<SchemaError> for ApiError {
    fn from(e: SchemaError) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "SCHEMA_ERROR", e.0)
    }
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    eprintln!("sightline-collector: internal error: {e}");
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_ERROR", "internal error")
}

pub fn router(state: AppState) -> Router {
    let mut app = Router::new()
        .route(ANALYTICS_PATH, post(analytics_batch))
        .route(REPLAY_PATH, post(replay_batch))
        .route(CHECK_ACCESS_PATH, get(check_access))
        .route("/api/code/invites/check-access", get(check_access))
        .route("/api/dashboard/summary", get(dashboard_summary))
        .route("/api/dashboard/events", get(dashboard_events))
        .route("/api/dashboard/sessions", get(dashboard_sessions))
        .route("/api/dashboard/sessions/{browser_session_id}/events", get(dashboard_session_events))
        .route("/", get(index))
        .route("/dashboard", get(dashboard))
        .route("/dashboard/", get(dashboard))
        .route("/static/{*path}", get(site_static))
        .route("/pkg/{*path}", get(pkg))
        .route("/vendor/{*path}", get(vendor))
        .merge(crate::static_files::docs_router());
    if state.config.test_hooks {
        app = app
            .route("/__faults", post(add_fault).delete(clear_faults).get(list_faults))
            .route("/__stats", get(stats))
            .layer(middleware::from_fn_with_state(state.clone(), inject_faults));
    }
    // Outermost last: count, Host check, common headers, CORS, dashboard guard, limits.
    app.fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), crate::limits::limit))
        .layer(middleware::from_fn_with_state(state.clone(), security::guard_dashboard))
        .layer(middleware::from_fn(security::cors))
        .layer(middleware::from_fn(security::common_headers))
        .layer(middleware::from_fn_with_state(state.clone(), security::check_host))
        .layer(middleware::from_fn_with_state(state.clone(), count_requests))
        .with_state(state)
}

// ---------------------------------------------------------------------------------------
// Middleware

async fn count_requests(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = match req.extensions().get::<MatchedPath>() {
        Some(p) => format!("{} {}", req.method(), p.as_str()),
        None => "other".to_string(),
    };
    state.stats.count_request(route);
    next.run(req).await
}

async fn inject_faults(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Some(action) = state.faults.take(req.uri().path()) else { return next.run(req).await };
    if action.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(action.latency_ms)).await;
    }
    if action.drop {
        let mut res = Response::new(Body::empty());
        res.extensions_mut().insert(DropConnection);
        return res;
    }
    let Some(status) = action.status else { return next.run(req).await };
    body::drain(req.into_body()).await;
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    let mut res =
        (status, Json(json!({"code": "INJECTED_FAULT", "error": "injected fault"}))).into_response();
    if let Some(v) = action.retry_after.and_then(|r| HeaderValue::from_str(&r).ok()) {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
}

// ---------------------------------------------------------------------------------------
// Ingestion

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|s| !s.is_empty())
}

/// Demo users whose id starts with this are anonymous (Stack Auth's anonymous users: a real
/// user id for a visitor who has not signed in).
pub const ANONYMOUS_PREFIX: &str = "anon-";

/// `demo-<user>` → `<user>`; `demo-anon-<id>` is the anonymous user `anon-<id>`.
fn demo_user(token: &str) -> Option<&str> {
    let user = token.strip_prefix("demo-")?;
    let ok = !user.is_empty()
        && user.len() <= 64
        && user.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'@'));
    ok.then_some(user)
}

/// The checks Stack Auth makes on the headers before looking at the body.
fn sender(headers: &HeaderMap, config: &Config) -> Result<Sender, ApiError> {
    let project_id = header_str(headers, "x-stack-project-id").ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "PROJECT_ID_REQUIRED",
            "the x-stack-project-id header is required",
        )
    })?;
    if let Some(t) = header_str(headers, "x-stack-access-type") {
        if !matches!(t, "client" | "server" | "admin") {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "INVALID_ACCESS_TYPE",
                "x-stack-access-type must be one of client, server, admin",
            ));
        }
    }
    let token = header_str(headers, "x-stack-access-token");
    let user = token.and_then(demo_user);
    // As Stack Auth: an anonymous user's token only counts where the client says it may.
    if user.is_some_and(|u| u.starts_with(ANONYMOUS_PREFIX))
        && header_str(headers, "x-stack-allow-anonymous-user") != Some("true")
    {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "ANONYMOUS_AUTHENTICATION_NOT_ALLOWED",
            "this access token belongs to an anonymous user: send x-stack-allow-anonymous-user: true",
        ));
    }
    if token.is_none() && !config.allow_anonymous {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "USER_AUTHENTICATION_REQUIRED",
            "an x-stack-access-token header is required (the collector runs without --allow-anonymous)",
        ));
    }
    Ok(Sender {
        project_id: project_id.to_string(),
        user_id: user.map(String::from),
        body_bytes: 0,
        gzipped: false,
    })
}

/// The body's JSON. Lone UTF-16 surrogates (`"\ud800"`, which JavaScript strings may hold
/// and `JSON.stringify` writes) are read as U+FFFD, as JavaScript-based ingestion does,
/// instead of failing the whole batch.
fn parse_json(bytes: &[u8]) -> Result<Value, ApiError> {
    let text = body::decode(bytes)?;
    let invalid = |e: serde_json::Error| {
        ApiError::new(StatusCode::BAD_REQUEST, "BODY_PARSING_ERROR", format!("body is not valid JSON: {e}"))
    };
    match serde_json::from_slice(&text) {
        Ok(v) => Ok(v),
        Err(_) if body::has_surrogate_escape(&text) => {
            serde_json::from_slice(&body::replace_lone_surrogates(&text)).map_err(invalid)
        }
        Err(e) => Err(invalid(e)),
    }
}

/// Headers, then size, then (off the async threads) gunzip, JSON, schema and storage.
async fn ingest<T, F>(state: &AppState, headers: &HeaderMap, body: Body, work: F) -> Result<T, ApiError>
where
    F: FnOnce(&Store, &Sender, &Value) -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    let mut sender = match sender(headers, &state.config) {
        Ok(sender) => sender,
        Err(e) => {
            body::drain(body).await;
            return Err(e);
        }
    };
    let bytes = body::read_limited(headers, body).await?;
    sender.body_bytes = bytes.len();
    sender.gzipped = body::is_gzip(&bytes);
    let store = state.store.clone();
    tokio::task::spawn_blocking(move || {
        let value = parse_json(&bytes)?;
        drop(bytes);
        work(&store, &sender, &value)
    })
    .await
    .map_err(internal)?
}

fn rejected(state: &AppState, e: ApiError) -> Response {
    state.stats.rejected.fetch_add(1, Ordering::Relaxed);
    e.into_response()
}

async fn analytics_batch(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let result = ingest(&state, &headers, body, |store, sender, value| {
        let batch = validation::analytics_batch(value)?;
        Ok((store.insert_analytics(sender, &batch).map_err(internal)?, batch.events.len()))
    })
    .await;
    match result {
        Ok((outcome, n)) => {
            if outcome.deduped {
                state.stats.analytics_deduped.fetch_add(1, Ordering::Relaxed);
            } else {
                state.stats.analytics_batches.fetch_add(1, Ordering::Relaxed);
                state.stats.analytics_events.fetch_add(n as u64, Ordering::Relaxed);
            }
            Json(json!({"inserted": outcome.inserted, "deduped": outcome.deduped})).into_response()
        }
        Err(e) => rejected(&state, e),
    }
}

async fn replay_batch(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let result = ingest(&state, &headers, body, |store, sender, value| {
        let batch = validation::replay_batch(value)?;
        store.insert_replay(sender, &batch).map_err(internal)
    })
    .await;
    match result {
        Ok(outcome) => {
            if outcome.deduped {
                state.stats.replay_deduped.fetch_add(1, Ordering::Relaxed);
            } else {
                state.stats.replay_batches.fetch_add(1, Ordering::Relaxed);
                state.stats.replay_events.fetch_add(outcome.inserted as u64, Ordering::Relaxed);
            }
            Json(json!({
                "session_replay_id": outcome.session_replay_id,
                "batch_id": outcome.batch_id,
                "s3_key": outcome.s3_key,
                "deduped": outcome.deduped,
            }))
            .into_response()
        }
        Err(e) => rejected(&state, e),
    }
}

// ---------------------------------------------------------------------------------------
// Access check

/// The demo's invite check: `Bearer demo-<user>` is a signed-in user; `--granted-users`
/// have access. Anything else is not a session (401), nor is an anonymous user's token
/// without `x-stack-allow-anonymous-user: true`.
async fn check_access(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let token = header_str(&headers, "authorization")
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim);
    let Some(user) = token.and_then(demo_user) else {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "an `authorization: Bearer demo-<user>` header is required",
        )
        .into_response();
    };
    // As Stack Auth's endpoints: an anonymous user counts as signed in only where the
    // request says anonymous users are welcome. The SDK's access check does not (wire.md),
    // so for the gate an anonymous visitor is signed out ("unknown").
    if user.starts_with(ANONYMOUS_PREFIX)
        && header_str(&headers, "x-stack-allow-anonymous-user") != Some("true")
    {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "ANONYMOUS_AUTHENTICATION_NOT_ALLOWED",
            "this access token belongs to an anonymous user",
        )
        .into_response();
    }
    let has_access = state.config.granted_users.iter().any(|u| u == user);
    Json(json!({"has_access": has_access})).into_response()
}

// ---------------------------------------------------------------------------------------
// Dashboard

type Params = std::collections::HashMap<String, String>;

fn limit_of(q: &Params, default: u32) -> Result<u32, ApiError> {
    match q.get("limit") {
        None => Ok(default),
        Some(v) => match v.parse::<u32>() {
            Ok(n) if (1..=crate::storage::MAX_PAGE).contains(&n) => Ok(n),
            _ => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "SCHEMA_ERROR",
                format!("limit must be an integer from 1 to {}", crate::storage::MAX_PAGE),
            )),
        },
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, rusqlite::Error> + Send + 'static,
) -> Result<T, ApiError> {
    match tokio::task::spawn_blocking(f).await.map_err(internal)? {
        Ok(v) => Ok(v),
        Err(rusqlite::Error::InvalidParameterName(m)) => {
            Err(ApiError::new(StatusCode::BAD_REQUEST, "SCHEMA_ERROR", m))
        }
        Err(e) => Err(internal(e)),
    }
}

/// `{<key>: [...], "next": <cursor or null>}`: pass `next` back as `before` for the next page.
fn page_json(key: &str, page: Page<Vec<Value>>) -> Response {
    let mut body = serde_json::Map::new();
    body.insert(key.into(), Value::Array(page.items));
    body.insert("next".into(), page.next.map_or(Value::Null, Value::String));
    Json(Value::Object(body)).into_response()
}

/// Totals of what is stored (maintained counters).
async fn dashboard_summary(State(state): State<AppState>) -> Result<Response, ApiError> {
    let store = state.store.clone();
    let totals = blocking(move || store.totals()).await?;
    Ok(Json(json!({"totals": totals, "retain_days": state.config.retain_days})).into_response())
}

/// `?limit=` (default 100, at most 5,000) and `?before=<next of the previous page>`.
async fn dashboard_events(
    State(state): State<AppState>,
    Query(q): Query<Params>,
) -> Result<Response, ApiError> {
    let limit = limit_of(&q, 100)?;
    let store = state.store.clone();
    let before = q.get("before").cloned();
    let page = blocking(move || store.recent_events(limit, before.as_deref())).await?;
    Ok(page_json("events", page))
}

async fn dashboard_sessions(
    State(state): State<AppState>,
    Query(q): Query<Params>,
) -> Result<Response, ApiError> {
    let limit = limit_of(&q, 100)?;
    let store = state.store.clone();
    let before = q.get("before").cloned();
    let page = blocking(move || store.sessions(limit, before.as_deref())).await?;
    Ok(page_json("sessions", page))
}

/// A page of a session's replay events in play order: `?limit=` (default 5,000, and about
/// 4 MiB at most) and `?after=<next of the previous page>`.
async fn dashboard_session_events(
    State(state): State<AppState>,
    Path(browser_session_id): Path<String>,
    Query(q): Query<Params>,
) -> Result<Response, ApiError> {
    let limit = limit_of(&q, crate::storage::MAX_PAGE)?;
    let store = state.store.clone();
    let id = browser_session_id.clone();
    let after = q.get("after").cloned();
    match blocking(move || store.session_events_json(&id, limit, after.as_deref())).await? {
        None => Err(ApiError::new(StatusCode::NOT_FOUND, "NOT_FOUND", "no such browser session")),
        Some(page) => {
            let id = serde_json::to_string(&browser_session_id).map_err(internal)?;
            let next = serde_json::to_string(&page.next).map_err(internal)?;
            let body = format!("{{\"browser_session_id\":{id},\"events\":{},\"next\":{next}}}", page.items);
            Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
        }
    }
}

fn with_csp(mut res: Response, csp: &'static str) -> Response {
    if res.status().is_success() {
        res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(csp));
    }
    res
}

async fn dashboard() -> Response {
    let mut res = Html(DASHBOARD_HTML).into_response();
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    with_csp(res, security::DASHBOARD_CSP)
}

// ---------------------------------------------------------------------------------------
// Static files

async fn index(State(state): State<AppState>) -> Response {
    with_csp(crate::static_files::serve(&state.config.site, "index.html").await, security::DEMO_CSP)
}

async fn site_static(State(state): State<AppState>, Path(path): Path<String>) -> Response {
    crate::static_files::serve(&state.config.site.join("static"), &path).await
}

async fn pkg(State(state): State<AppState>, Path(path): Path<String>) -> Response {
    crate::static_files::serve(&state.config.pkg, &path).await
}

/// Only the player's packages, not the whole node_modules.
async fn vendor(State(state): State<AppState>, Path(path): Path<String>) -> Response {
    if !(path.starts_with("rrweb-player/") || path.starts_with("@rrweb/")) {
        return not_found().await;
    }
    crate::static_files::serve(&state.config.vendor, &path).await
}

async fn not_found() -> Response {
    ApiError::new(StatusCode::NOT_FOUND, "NOT_FOUND", "no such route").into_response()
}

// ---------------------------------------------------------------------------------------
// Test hooks

async fn add_fault(State(state): State<AppState>, body: axum::body::Bytes) -> Response {
    let parsed = serde_json::from_slice::<Value>(&body)
        .map_err(|e| format!("body is not valid JSON: {e}"))
        .and_then(|v| Fault::from_json(&v));
    match parsed {
        Ok(f) => {
            state.faults.push(f);
            Json(state.faults.to_json()).into_response()
        }
        Err(m) => ApiError::new(StatusCode::BAD_REQUEST, "SCHEMA_ERROR", m).into_response(),
    }
}

async fn clear_faults(State(state): State<AppState>) -> Response {
    state.faults.clear();
    Json(state.faults.to_json()).into_response()
}

async fn list_faults(State(state): State<AppState>) -> Response {
    Json(state.faults.to_json()).into_response()
}

async fn stats(State(state): State<AppState>) -> Result<Response, ApiError> {
    let store = state.store.clone();
    let totals = blocking(move || store.totals()).await?;
    let mut v = state.stats.to_json();
    v["faults"] = state.faults.to_json();
    v["database"] = totals;
    Ok(Json(v).into_response())
}
