//! Safe by default: the Host check, CORS only where pages on other origins need it, the
//! dashboard token off loopback, the pages' Content-Security-Policy, and the request limits.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::*;
use serde_json::json;
use sightline_collector::cli::Config;

const DASHBOARD_ROUTES: [&str; 5] = [
    "/dashboard",
    "/api/dashboard/events",
    "/api/dashboard/sessions",
    "/api/dashboard/summary",
    "/api/dashboard/sessions/0b8f5c1e-2d3a-4c5b-8e6f-7a8b9c0d1e2f/events",
];

fn get_with(path: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut b = Request::builder().uri(path);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(Body::empty()).unwrap()
}

async fn seeded(config: Config) -> axum::Router {
    let app = app(config);
    let a = call(&app, post_json(ANALYTICS, &analytics_body(&uuid(), vec![page_view(1, "/secret")]))).await;
    assert_eq!(a.status, StatusCode::OK);
    app
}

#[tokio::test]
async fn a_foreign_host_gets_421_on_every_route() {
    let dir = tempfile::tempdir().unwrap();
    let app = seeded(config(dir.path())).await;
    let mut routes: Vec<&str> = DASHBOARD_ROUTES.to_vec();
    routes.extend([
        "/",
        "/static/demo.css",
        "/pkg/sightline.js",
        "/api/code/invites/check-access/",
        "/__stats",
        "/nope",
    ]);
    for host in ["evil.test", "evil.test:8787", "127.0.0.1.evil.test:8787", "localhost.evil.test"] {
        for path in &routes {
            let a = call(&app, get_with(path, &[("host", host)])).await;
            assert_eq!(a.status, StatusCode::MISDIRECTED_REQUEST, "{host} {path}");
            assert!(!String::from_utf8_lossy(&a.bytes).contains("/secret"));
        }
        let mut req = post_json(ANALYTICS, &analytics_body(&uuid(), vec![page_view(1, "/")]));
        req.headers_mut().insert("host", host.parse().unwrap());
        let a = call(&app, req).await;
        assert_eq!(a.status, StatusCode::MISDIRECTED_REQUEST);
        assert!(a.json()["error"].as_str().unwrap().contains("--allowed-host"));
    }
    for host in ["localhost:8787", "127.0.0.1:8787", "[::1]:8787", "LocalHost"] {
        let a = call(&app, get_with("/api/dashboard/events", &[("host", host)])).await;
        assert_eq!(a.status, StatusCode::OK, "{host}");
    }
    // --allowed-host adds names.
    let dir2 = tempfile::tempdir().unwrap();
    let named = app_with(Config { allowed_hosts: vec!["demo.example".into()], ..config(dir2.path()) });
    assert_eq!(call(&named, get_with("/", &[("host", "demo.example:8787")])).await.status, StatusCode::OK);
    assert_eq!(
        call(&named, get_with("/", &[("host", "other.example")])).await.status,
        StatusCode::MISDIRECTED_REQUEST
    );
}

fn app_with(config: Config) -> axum::Router {
    sightline_collector::app(config).unwrap()
}

#[tokio::test]
async fn the_dashboard_api_is_same_origin_only() {
    let dir = tempfile::tempdir().unwrap();
    let app = seeded(config(dir.path())).await;
    for path in DASHBOARD_ROUTES {
        // A preflight gets no CORS grant.
        let req = Request::builder()
            .method(Method::OPTIONS)
            .uri(path)
            .header("host", "127.0.0.1:8787")
            .header("origin", "http://evil.test")
            .header("access-control-request-method", "GET")
            .body(Body::empty())
            .unwrap();
        let a = call(&app, req).await;
        assert_eq!(a.header("access-control-allow-origin"), None, "{path}");
        // A cross-origin GET is refused, and carries no CORS grant either.
        let a =
            call(&app, get_with(path, &[("host", "127.0.0.1:8787"), ("origin", "http://evil.test")])).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(a.header("access-control-allow-origin"), None, "{path}");
        assert!(!String::from_utf8_lossy(&a.bytes).contains("/secret"));
        // Another port is another origin too.
        let a =
            call(&app, get_with(path, &[("host", "127.0.0.1:8787"), ("origin", "http://127.0.0.1:9999")]))
                .await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{path}");
    }
    // The dashboard's own requests (same origin) work.
    let a = call(
        &app,
        get_with("/api/dashboard/events", &[("host", "127.0.0.1:8787"), ("origin", "http://127.0.0.1:8787")]),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.json()["events"][0]["page_path"], "/secret");
    assert_eq!(a.header("access-control-allow-origin"), None);
    // Ingestion and the access check still answer any origin.
    let mut req = post_json(ANALYTICS, &analytics_body(&uuid(), vec![page_view(1, "/")]));
    req.headers_mut().insert("origin", "http://evil.test".parse().unwrap());
    assert_eq!(call(&app, req).await.header("access-control-allow-origin"), Some("http://evil.test"));
    let a = call(
        &app,
        get_with(
            "/api/code/invites/check-access/",
            &[("origin", "http://evil.test"), ("authorization", "Bearer demo-alice")],
        ),
    )
    .await;
    assert_eq!(a.header("access-control-allow-origin"), Some("http://evil.test"));
}

#[tokio::test]
async fn off_loopback_the_dashboard_needs_its_token() {
    let dir = tempfile::tempdir().unwrap();
    let token = "0123456789abcdef0123456789abcdef";
    let app =
        seeded(Config { host: "0.0.0.0".into(), dashboard_token: Some(token.into()), ..config(dir.path()) })
            .await;
    for path in DASHBOARD_ROUTES {
        let a = call(&app, get(path)).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{path}");
        assert!(!String::from_utf8_lossy(&a.bytes).contains("/secret"));
        for wrong in ["Bearer nope", "Bearer 0123456789abcdef0123456789abcdee", "Basic x"] {
            assert_eq!(
                call(&app, get_with(path, &[("authorization", wrong)])).await.status,
                StatusCode::UNAUTHORIZED
            );
        }
        let cookie = "sightline_dashboard=nope";
        assert_eq!(call(&app, get_with(path, &[("cookie", cookie)])).await.status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(call(&app, get("/__stats")).await.status, StatusCode::UNAUTHORIZED);
    let bearer = format!("Bearer {token}");
    let a = call(&app, get_with("/api/dashboard/events", &[("authorization", &bearer)])).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.json()["events"][0]["page_path"], "/secret");

    // The printed link sets an HttpOnly, SameSite=Strict cookie and drops the token from the URL.
    let wrong_link = call(&app, get("/dashboard?token=nope")).await;
    assert_eq!(wrong_link.status, StatusCode::UNAUTHORIZED);
    assert!(wrong_link.header("set-cookie").is_none());
    let link = call(&app, get(&format!("/dashboard?token={token}"))).await;
    assert_eq!(link.status, StatusCode::SEE_OTHER);
    assert_eq!(link.header("location"), Some("/dashboard"));
    let set = link.header("set-cookie").unwrap().to_string();
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"), "{set}");
    let cookie = set.split(';').next().unwrap().to_string();
    let page = call(&app, get_with("/dashboard", &[("cookie", &cookie)])).await;
    assert_eq!(page.status, StatusCode::OK);
    let api = call(&app, get_with("/api/dashboard/sessions", &[("cookie", &cookie)])).await;
    assert_eq!(api.status, StatusCode::OK);

    // The demo page, its files, ingestion and the access check need no token.
    assert_eq!(call(&app, get("/")).await.status, StatusCode::OK);
    assert_eq!(call(&app, get("/static/demo.css")).await.status, StatusCode::OK);
    let a = call(&app, post_json(ANALYTICS, &analytics_body(&uuid(), vec![page_view(1, "/")]))).await;
    assert_eq!(a.status, StatusCode::OK);

    // On loopback without a token, the dashboard is open (the one-command demo).
    let dir2 = tempfile::tempdir().unwrap();
    let open = app_with(config(dir2.path()));
    assert_eq!(call(&open, get("/api/dashboard/events")).await.status, StatusCode::OK);
}

#[tokio::test]
async fn the_pages_have_a_strict_csp_and_no_inline_script() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(config(dir.path()));
    for path in ["/", "/dashboard"] {
        let a = call(&app, get(path)).await;
        assert_eq!(a.status, StatusCode::OK);
        let csp = a.header("content-security-policy").unwrap_or_else(|| panic!("{path}: no CSP"));
        assert!(csp.contains("script-src 'self' 'wasm-unsafe-eval';"), "{csp}");
        let script_src = csp.split(';').map(str::trim).find(|d| d.starts_with("script-src")).unwrap();
        assert_eq!(script_src, "script-src 'self' 'wasm-unsafe-eval'");
        assert!(csp.contains("frame-ancestors 'none'"));
        let html = String::from_utf8_lossy(&a.bytes).to_string();
        for (i, _) in html.match_indices("<script") {
            let tag = &html[i..i + html[i..].find('>').unwrap()];
            assert!(tag.contains(" src="), "{path}: inline script {tag}");
        }
        assert!(!html.contains(" onclick=") && !html.contains("javascript:"), "{path}");
    }
    assert_eq!(call(&app, get("/")).await.header("x-content-type-options"), Some("nosniff"));
}

#[tokio::test]
async fn over_the_concurrency_limit_requests_are_503_with_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(Config { max_concurrency: 1, ..config(dir.path()) });
    let slow = Request::builder()
        .method(Method::POST)
        .uri("/__faults")
        .body(Body::from(json!({"path_prefix": "/api/dashboard", "latency_ms": 400}).to_string()))
        .unwrap();
    assert_eq!(call(&app, slow).await.status, StatusCode::OK);
    let held = tokio::spawn({
        let app = app.clone();
        async move { call(&app, get("/api/dashboard/events")).await.status }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let a = call(&app, post_json(ANALYTICS, &analytics_body(&uuid(), vec![page_view(1, "/")]))).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(a.header("retry-after"), Some("1"));
    assert_eq!(held.await.unwrap(), StatusCode::OK);
    let a = call(&app, post_json(ANALYTICS, &analytics_body(&uuid(), vec![page_view(1, "/")]))).await;
    assert_eq!(a.status, StatusCode::OK, "the permit is back");
}

/// The binary bound to every interface makes up a token, prints it in the dashboard link,
/// and keeps the dashboard closed without it.
#[test]
fn the_binary_off_loopback_prints_a_token_link() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sightline-collector"))
        .args(["--host", "0.0.0.0", "--port", "0", "--db", dir.path().join("c.db").to_str().unwrap()])
        .env_remove("SIGHTLINE_DASHBOARD_TOKEN")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
    let result = std::panic::catch_unwind(|| {
        let link = line.split("dashboard: ").nth(1).unwrap().trim().to_string();
        let token = link.split("?token=").nth(1).unwrap_or_else(|| panic!("no token in {line}")).to_string();
        assert_eq!(token.len(), 64);
        let addr: std::net::SocketAddr =
            line.split("http://").nth(1).unwrap().split('/').next().unwrap().parse().unwrap();
        let ask = |headers: &str| {
            let mut s = TcpStream::connect(addr).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            write!(
                s,
                "GET /api/dashboard/events HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n{headers}\r\n"
            )
            .unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).unwrap();
            out.split(' ').nth(1).unwrap().to_string()
        };
        assert_eq!(ask(""), "401");
        assert_eq!(ask(&format!("authorization: Bearer {token}\r\n")), "200");
        assert_eq!(ask(&format!("cookie: sightline_dashboard={token}\r\n")), "200");
    });
    let _ = child.kill();
    let _ = child.wait();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}
