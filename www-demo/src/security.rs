//! What keeps other websites out of the collector's data:
//!
//! - **Host check** (every route): the `Host` header must name the bound address,
//!   `localhost`, a loopback address or an `--allowed-host`; anything else is 421. This
//!   stops DNS rebinding (a page on `evil.test` whose name now resolves to 127.0.0.1 is
//!   same-origin with itself, but sends `Host: evil.test`). A request without a Host header
//!   (HTTP/1.0, in-process tests) is not a browser's and passes.
//! - **CORS** only on the ingestion endpoints and the access check, which pages on other
//!   origins call by design. The dashboard and its API send no CORS headers (the browser
//!   keeps their answers from other origins), and a dashboard API request that carries a
//!   foreign `Origin` is refused outright (403).
//! - **Dashboard token**: bound beyond loopback (or when `--dashboard-token` is given), the
//!   dashboard and its API need the token, as an `HttpOnly; SameSite=Strict` cookie set by
//!   the printed `/dashboard?token=…` link, or as `Authorization: Bearer <token>`.
//! - **Content-Security-Policy** on the demo page and the dashboard: scripts only from this
//!   origin (no inline script), plus `'wasm-unsafe-eval'` for the SDK's WebAssembly.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::cli::{is_loopback_name, Config};
use crate::routes::{AppState, ANALYTICS_PATH, CHECK_ACCESS_PATH, REPLAY_PATH};

pub const TOKEN_COOKIE: &str = "sightline_dashboard";

/// The demo page's policy: its own scripts and the SDK's wasm, requests to this collector.
pub const DEMO_CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

/// The dashboard's: the same for scripts; the replay rebuilds recorded pages (their inline
/// styles, images and fonts) inside rrweb-player's sandboxed iframe, so styles may be inline
/// and media may come from anywhere. Recorded scripts are never run by rrweb.
pub const DASHBOARD_CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data: blob: http: https:; \
     font-src 'self' data: http: https:; media-src 'self' data: blob: http: https:; connect-src 'self'; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Headers a cross-origin page may send (every header the SDK and Stack Auth's clients use).
const ALLOWED_HEADERS: &[&str] = &[
    "content-type",
    "authorization",
    "x-stack-project-id",
    "x-stack-access-type",
    "x-stack-allow-anonymous-user",
    "x-stack-publishable-client-key",
    "x-stack-secret-server-key",
    "x-stack-super-secret-admin-key",
    "x-stack-access-token",
    "x-stack-refresh-token",
    "x-stack-branch-id",
    "x-stack-client-version",
    "x-stack-random-nonce",
    "x-stack-override-error-status",
];

/// 32 random bytes, hex.
pub fn new_token() -> String {
    let mut b = [0u8; 32];
    if getrandom::fill(&mut b).is_err() {
        // No OS randomness: std's hasher keys still come from it where there is any.
        use std::hash::{BuildHasher, Hasher};
        for chunk in b.chunks_mut(8) {
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u128(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_nanos(),
            );
            chunk.copy_from_slice(&h.finish().to_le_bytes());
        }
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Compares without an early exit on the first difference.
pub fn same_token(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `example.com:8787` → `example.com`; `[::1]:80` → `[::1]`. Lowercased.
fn host_name(host: &str) -> String {
    let host = host.trim();
    if !host.starts_with('[') && host.matches(':').count() > 1 {
        return format!("[{}]", host.to_ascii_lowercase());
    }
    let name = if host.starts_with('[') {
        match host.find(']') {
            Some(i) => &host[..=i],
            None => host,
        }
    } else {
        host.rsplit_once(':')
            .map_or(host, |(n, port)| if port.bytes().all(|b| b.is_ascii_digit()) { n } else { host })
    };
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// Whether a request's Host names this server.
pub fn host_allowed(config: &Config, host: &str) -> bool {
    let name = host_name(host);
    if name.is_empty() {
        return false;
    }
    is_loopback_name(&name)
        || name == host_name(&config.host)
        || config.allowed_hosts.iter().any(|h| host_name(h) == name)
}

/// Paths pages on other origins call: the ingestion endpoints and the access check.
pub fn is_cross_origin_path(path: &str) -> bool {
    path == ANALYTICS_PATH
        || path == REPLAY_PATH
        || path == CHECK_ACCESS_PATH
        || path == CHECK_ACCESS_PATH.trim_end_matches('/')
}

/// The dashboard, its API and the test hooks: same-origin only, behind the token if any.
pub fn is_dashboard_path(path: &str) -> bool {
    path == "/dashboard"
        || path.starts_with("/dashboard/")
        || path.starts_with("/api/dashboard/")
        || path == "/api/dashboard"
        || path.starts_with("/__")
}

fn deny(status: StatusCode, code: &'static str, message: &str) -> Response {
    (status, axum::Json(json!({"code": code, "error": message}))).into_response()
}

/// The Host check, on every route.
pub async fn check_host(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let host = req.headers().get(header::HOST).map(|v| v.to_str().unwrap_or("\u{0}"));
    let host = host.or_else(|| req.uri().authority().map(|a| a.as_str()));
    if let Some(host) = host {
        if !host_allowed(&state.config, host) {
            return deny(
                StatusCode::MISDIRECTED_REQUEST,
                "HOST_NOT_ALLOWED",
                "this collector does not answer to that Host name; start it with --allowed-host <name> to allow it",
            );
        }
    }
    next.run(req).await
}

/// The Origin's `host[:port]`, when the header is an http(s) origin.
fn origin_authority(origin: &str) -> Option<&str> {
    origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://"))
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")).map(str::trim)
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

fn query_token(query: Option<&str>) -> Option<&str> {
    query?.split('&').filter_map(|kv| kv.split_once('=')).find(|(k, _)| *k == "token").map(|(_, v)| v)
}

/// Same-origin and token checks for the dashboard, its API and the test hooks.
pub async fn guard_dashboard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if !is_dashboard_path(path) {
        return next.run(req).await;
    }
    // A page on another origin never gets an answer from the dashboard's API (the browser
    // would not show it one anyway without CORS headers; this also refuses the request).
    if let (Some(origin), Some(host)) = (req.headers().get(header::ORIGIN), req.headers().get(header::HOST)) {
        let same = match (origin.to_str().ok().and_then(origin_authority), host.to_str().ok()) {
            (Some(o), Some(h)) => o.eq_ignore_ascii_case(h),
            _ => false,
        };
        if !same {
            return deny(StatusCode::FORBIDDEN, "CROSS_ORIGIN", "the dashboard is same-origin only");
        }
    }
    let Some(token) = state.config.dashboard_token.as_deref() else { return next.run(req).await };
    let is_page = req.method() == Method::GET && (path == "/dashboard" || path == "/dashboard/");
    // The printed link: set the cookie, then drop the token from the address bar.
    if is_page {
        if let Some(given) = query_token(req.uri().query()) {
            if !same_token(given, token) {
                return unauthorized_page();
            }
            let mut res = (StatusCode::SEE_OTHER, [(header::LOCATION, "/dashboard")]).into_response();
            let cookie = format!("{TOKEN_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict");
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                res.headers_mut().insert(header::SET_COOKIE, v);
            }
            return res;
        }
    }
    let presented = bearer(req.headers()).or_else(|| cookie(req.headers(), TOKEN_COOKIE));
    if presented.is_some_and(|p| same_token(p, token)) {
        return next.run(req).await;
    }
    if is_page {
        return unauthorized_page();
    }
    deny(
        StatusCode::UNAUTHORIZED,
        "DASHBOARD_TOKEN_REQUIRED",
        "the dashboard needs its token: open the link the collector printed, or send Authorization: Bearer <token>",
    )
}

fn unauthorized_page() -> Response {
    let html = "<!doctype html><meta charset=utf-8><title>sightline · dashboard</title>\
        <h1>The dashboard needs its token</h1>\
        <p>This collector is reachable from other machines, so its dashboard is protected. Open the \
        <code>/dashboard?token=…</code> link the collector printed when it started (it sets a cookie), \
        or start it with <code>--dashboard-token &lt;token&gt;</code>.</p>";
    let mut res = (StatusCode::UNAUTHORIZED, axum::response::Html(html)).into_response();
    res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'"));
    res
}

/// CORS for the ingestion endpoints and the access check only: the Origin is echoed,
/// preflights are answered here. Other routes get no CORS headers at all.
pub async fn cors(req: Request, next: Next) -> Response {
    if !is_cross_origin_path(req.uri().path()) {
        return next.run(req).await;
    }
    let origin = req.headers().get(header::ORIGIN).cloned();
    let is_preflight =
        req.method() == Method::OPTIONS && req.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let mut res = if is_preflight {
        let mut allowed: Vec<String> = ALLOWED_HEADERS.iter().map(|s| s.to_string()).collect();
        // Any other x-stack-* header asked for is allowed too.
        if let Some(asked) =
            req.headers().get(header::ACCESS_CONTROL_REQUEST_HEADERS).and_then(|v| v.to_str().ok())
        {
            for h in asked.split(',').map(|h| h.trim().to_ascii_lowercase()) {
                if h.starts_with("x-stack-") && !allowed.contains(&h) {
                    allowed.push(h);
                }
            }
        }
        let mut res = StatusCode::NO_CONTENT.into_response();
        let h = res.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, POST, OPTIONS"));
        if let Ok(v) = HeaderValue::from_str(&allowed.join(", ")) {
            h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, v);
        }
        h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
        h.append(header::VARY, HeaderValue::from_static("access-control-request-headers"));
        res
    } else {
        next.run(req).await
    };
    let h = res.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.unwrap_or(HeaderValue::from_static("*")));
    h.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static("retry-after"));
    h.append(header::VARY, HeaderValue::from_static("origin"));
    res
}

/// Headers every answer carries.
pub async fn common_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(host: &str, allowed: &[&str]) -> Config {
        Config {
            host: host.into(),
            allowed_hosts: allowed.iter().map(|s| s.to_string()).collect(),
            ..Config::default()
        }
    }

    #[test]
    fn hosts() {
        let c = config("127.0.0.1", &[]);
        for ok in ["127.0.0.1:8787", "localhost:8787", "LOCALHOST", "[::1]:8787", "127.0.0.1", "localhost."] {
            assert!(host_allowed(&c, ok), "{ok}");
        }
        for bad in
            ["evil.test", "evil.test:8787", "127.0.0.1.evil.test", "", "localhost.evil.test:80", "10.0.0.1"]
        {
            assert!(!host_allowed(&c, bad), "{bad}");
        }
        let c = config("10.0.0.5", &["demo.example"]);
        assert!(host_allowed(&c, "10.0.0.5:8787"));
        assert!(host_allowed(&c, "Demo.Example:8787"));
        assert!(!host_allowed(&c, "other.example"));
    }

    #[test]
    fn tokens() {
        let t = new_token();
        assert_eq!(t.len(), 64);
        assert_ne!(t, new_token());
        assert!(same_token(&t, &t.clone()));
        assert!(!same_token(&t, &t[..63]));
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("a=1; sightline_dashboard=xyz; b=2"));
        assert_eq!(cookie(&h, TOKEN_COOKIE), Some("xyz"));
        assert_eq!(query_token(Some("a=1&token=abc")), Some("abc"));
    }
}
