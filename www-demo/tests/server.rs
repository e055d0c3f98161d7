//! The collector as a server: test hooks (faults, stats), dropped connections on a real
//! socket, static files, and the binary itself (durability across a kill, graceful stop).

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::*;
use serde_json::{json, Value};
use sightline_collector::cli::Config;

fn fault(body: Value) -> Request<Body> {
    Request::builder()
        .method(Method::POST)
        .uri("/__faults")
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

#[tokio::test]
async fn faults_apply_count_times_then_back_to_normal() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(config(dir.path()));
    let a = call(
        &app,
        fault(json!({"path_prefix": "/api/v1/analytics", "count": 2, "status": 503, "latency_ms": 0,
                     "drop": false, "retry_after": 3})),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    call(
        &app,
        fault(json!({"path_prefix": "/api/v1/analytics", "count": 1, "status": 429, "latency_ms": 120})),
    )
    .await;

    let body = analytics_body(&uuid(), vec![page_view(1, "/")]);
    // A replay batch does not match the prefix.
    let r = call(
        &app,
        post_json(REPLAY, &replay_body(&uuid(), &uuid(), vec![json!({"type": 3, "timestamp": 1})])),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    for _ in 0..2 {
        let a = call(&app, post_json(ANALYTICS, &body)).await;
        assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(a.header("retry-after"), Some("3"));
    }
    let t = Instant::now();
    let a = call(&app, post_json(ANALYTICS, &body)).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(t.elapsed() >= Duration::from_millis(120), "latency applied");
    assert_eq!(a.header("retry-after"), None);
    let a = call(&app, post_json(ANALYTICS, &body)).await;
    assert_eq!(a.status, StatusCode::OK, "faults used up");
    assert_eq!(a.json()["inserted"], 1);

    // Latency alone delays the real answer; DELETE clears what is queued.
    call(&app, fault(json!({"path_prefix": "/api/code", "count": 5, "latency_ms": 50}))).await;
    let check = || {
        Request::builder().uri("/api/code/invites/check-access/").header("authorization", "Bearer demo-alice")
    };
    let t = Instant::now();
    let a = call(&app, check().body(Body::empty()).unwrap()).await;
    assert_eq!(a.json(), json!({"has_access": true}));
    assert!(t.elapsed() >= Duration::from_millis(50));
    let cleared =
        call(&app, Request::builder().method(Method::DELETE).uri("/__faults").body(Body::empty()).unwrap())
            .await
            .json();
    assert_eq!(cleared["pending"], json!([]));

    let stats = call(&app, get("/__stats")).await.json();
    assert_eq!(stats["requests"]["POST /api/v1/analytics/events/batch"], 4);
    assert_eq!(stats["requests"]["POST /api/v1/session-replays/batch"], 1);
    assert_eq!(stats["requests"]["GET /api/code/invites/check-access/"], 1);
    assert_eq!(stats["analytics"]["batches_stored"], 1);
    assert_eq!(stats["faults"]["applied"], 4);

    let bad = call(&app, fault(json!({"status": 42}))).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.json()["error"].as_str().unwrap().contains("status"));
}

#[tokio::test]
async fn test_hooks_are_absent_unless_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(Config { test_hooks: false, ..config(dir.path()) });
    assert_eq!(call(&app, fault(json!({"status": 503}))).await.status, StatusCode::NOT_FOUND);
    assert_eq!(call(&app, get("/__stats")).await.status, StatusCode::NOT_FOUND);
    let body = analytics_body(&uuid(), vec![page_view(1, "/")]);
    assert_eq!(call(&app, post_json(ANALYTICS, &body)).await.status, StatusCode::OK);
}

/// Sends a raw HTTP/1.1 request and reads until the server closes (or times out).
fn raw_http(addr: SocketAddr, request: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    s.write_all(request)?;
    let mut out = Vec::new();
    s.read_to_end(&mut out)?;
    Ok(out)
}

fn request(method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "{method} {path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        r.push_str(&format!("{k}: {v}\r\n"));
    }
    r.push_str("\r\n");
    let mut r = r.into_bytes();
    r.extend_from_slice(body);
    r
}

/// (status, head, body) of a raw answer.
fn parse(answer: &[u8]) -> (u16, String, Vec<u8>) {
    let split = answer.windows(4).position(|w| w == b"\r\n\r\n").expect("a complete answer");
    let head = String::from_utf8_lossy(&answer[..split]).to_string();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, head.to_ascii_lowercase(), answer[split + 4..].to_vec())
}

fn ingest_request(body: &Value) -> Vec<u8> {
    let bytes = serde_json::to_vec(body).unwrap();
    request(
        "POST",
        ANALYTICS,
        &[
            ("content-type", "application/json"),
            ("x-stack-project-id", "p"),
            ("x-stack-access-token", "demo-alice"),
        ],
        &bytes,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drop_fault_closes_the_connection_without_an_answer() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(config(dir.path()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(sightline_collector::server::serve(
        listener,
        app,
        async {
            let _ = stop_rx.await;
        },
        false,
    ));

    let blocking = |req: Vec<u8>| tokio::task::spawn_blocking(move || raw_http(addr, &req));
    let f =
        serde_json::to_vec(&json!({"path_prefix": "/api/v1/analytics", "count": 1, "drop": true})).unwrap();
    let (status, _, _) = parse(&blocking(request("POST", "/__faults", &[], &f)).await.unwrap().unwrap());
    assert_eq!(status, 200);

    let body = analytics_body(&uuid(), vec![page_view(1, "/")]);
    let dropped = blocking(ingest_request(&body)).await.unwrap();
    match dropped {
        Ok(bytes) => {
            assert!(bytes.is_empty(), "expected no answer, got {:?}", String::from_utf8_lossy(&bytes))
        }
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}"),
    }
    // The next request is served normally, and the dropped one stored nothing.
    let (status, head, answer) = parse(&blocking(ingest_request(&body)).await.unwrap().unwrap());
    assert_eq!(status, 200, "{head}");
    assert_eq!(serde_json::from_slice::<Value>(&answer).unwrap()["inserted"], 1);

    // Over a real socket too: a 2 MB body gets its 413 (not a reset), and a preflight its CORS.
    let big = vec![b' '; 2_000_000];
    let (status, _, _) = parse(
        &blocking(request(
            "POST",
            ANALYTICS,
            &[("x-stack-project-id", "p"), ("x-stack-access-token", "t")],
            &big,
        ))
        .await
        .unwrap()
        .unwrap(),
    );
    assert_eq!(status, 413);
    let preflight = request(
        "OPTIONS",
        REPLAY,
        &[
            ("origin", "http://page.test"),
            ("access-control-request-method", "POST"),
            ("access-control-request-headers", "x-stack-project-id"),
        ],
        b"",
    );
    let (status, head, _) = parse(&blocking(preflight).await.unwrap().unwrap());
    assert_eq!(status, 204);
    assert!(head.contains("access-control-allow-origin: http://page.test"), "{head}");

    stop_tx.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), server).await.expect("graceful stop").unwrap();
    assert!(TcpStream::connect(addr).is_err(), "no longer listening");
}

#[tokio::test]
async fn pages_and_static_files() {
    let dir = tempfile::tempdir().unwrap();
    let pkg = dir.path().join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(pkg.join("sightline_bg.wasm"), b"\0asm\x01\0\0\0").unwrap();
    std::fs::write(pkg.join("sightline.js"), b"export default async function init() {}").unwrap();
    let vendor = dir.path().join("node_modules");
    std::fs::create_dir_all(vendor.join("rrweb-player/dist")).unwrap();
    std::fs::write(vendor.join("rrweb-player/dist/style.css"), b".rr-player{}").unwrap();
    std::fs::create_dir_all(vendor.join("left-pad")).unwrap();
    std::fs::write(vendor.join("left-pad/index.js"), b"x").unwrap();
    let app = app(Config { pkg: pkg.clone(), vendor, ..config(dir.path()) });

    let wasm = call(&app, get("/pkg/sightline_bg.wasm")).await;
    assert_eq!(wasm.status, StatusCode::OK);
    assert_eq!(wasm.header("content-type"), Some("application/wasm"));
    assert_eq!(wasm.bytes, b"\0asm\x01\0\0\0");
    assert_eq!(
        call(&app, get("/pkg/sightline.js")).await.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert_eq!(call(&app, get("/pkg/missing.js")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(call(&app, get("/pkg/../collector.db")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(call(&app, get("/pkg/%2e%2e/collector.db")).await.status, StatusCode::NOT_FOUND);

    let css = call(&app, get("/vendor/rrweb-player/dist/style.css")).await;
    assert_eq!((css.status, css.header("content-type")), (StatusCode::OK, Some("text/css; charset=utf-8")));
    assert_eq!(call(&app, get("/vendor/left-pad/index.js")).await.status, StatusCode::NOT_FOUND);

    let index = call(&app, get("/")).await;
    assert_eq!(index.status, StatusCode::OK);
    assert!(index.header("content-type").unwrap().starts_with("text/html"));
    assert!(String::from_utf8_lossy(&index.bytes).contains("sightline"));
    let dash = call(&app, get("/dashboard")).await;
    assert_eq!(dash.status, StatusCode::OK);
    let html = String::from_utf8_lossy(&dash.bytes);
    assert!(html.contains("/vendor/rrweb-player/dist/"), "the dashboard loads the vendored player");
    assert!(html.contains("/static/dashboard.js"));
    let js = call(&app, get("/static/dashboard.js")).await;
    assert!(String::from_utf8_lossy(&js.bytes).contains("/api/dashboard/events"));
}

// ----------------------------------------------------------------------------------------
// The binary

struct Running {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_binary(args: &[&str]) -> Running {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sightline-collector"))
        .args(["--port", "0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the collector");
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
    // "sightline demo: http://127.0.0.1:PORT/  dashboard: http://127.0.0.1:PORT/dashboard"
    assert!(line.starts_with("sightline demo: http://"), "{line}");
    assert!(line.contains("/dashboard"), "{line}");
    let addr = line.split("http://").nth(1).unwrap().split('/').next().unwrap().parse().unwrap();
    Running { child, addr }
}

#[test]
fn acknowledged_batches_survive_a_kill_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("data/collector.db");
    let db = db.to_str().unwrap();
    let server = start_binary(&["--db", db]);
    let batches: Vec<Value> =
        (0..5).map(|i| analytics_body(&uuid(), vec![page_view(100 + i, "/kept")])).collect();
    for b in &batches {
        let (status, _, _) = parse(&raw_http(server.addr, &ingest_request(b)).unwrap());
        assert_eq!(status, 200);
    }
    let session = uuid();
    let replay =
        serde_json::to_vec(&replay_body(&session, &uuid(), vec![json!({"type": 4, "timestamp": 1})]))
            .unwrap();
    let replay_req = request(
        "POST",
        REPLAY,
        &[("x-stack-project-id", "p"), ("x-stack-access-token", "demo-alice")],
        &gzip(&replay),
    );
    assert_eq!(parse(&raw_http(server.addr, &replay_req).unwrap()).0, 200);
    drop(server); // SIGKILL: no chance to flush anything after the answers

    let server = start_binary(&["--db", db]);
    let (status, _, body) =
        parse(&raw_http(server.addr, &request("GET", "/api/dashboard/events", &[], b"")).unwrap());
    assert_eq!(status, 200);
    let events: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(events["events"].as_array().unwrap().len(), 5);
    let path = format!("/api/dashboard/sessions/{session}/events");
    let (status, _, _) = parse(&raw_http(server.addr, &request("GET", &path, &[], b"")).unwrap());
    assert_eq!(status, 200);
    // A retry of an acknowledged batch after the restart is still recognised.
    let (_, _, again) = parse(&raw_http(server.addr, &ingest_request(&batches[0])).unwrap());
    assert_eq!(serde_json::from_slice::<Value>(&again).unwrap(), json!({"inserted": 0, "deduped": true}));
}

#[test]
fn sigterm_stops_the_binary_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
    let mut server = start_binary(&["--db", db.to_str().unwrap()]);
    assert_eq!(parse(&raw_http(server.addr, &request("GET", "/dashboard", &[], b"")).unwrap()).0, 200);
    let pid = server.child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = server.child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "still running 10 s after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    let mut rest = String::new();
    server.child.stdout.take().unwrap().read_to_string(&mut rest).unwrap();
    assert!(rest.contains("stopped"), "{rest}");
}

#[test]
fn bad_command_lines_fail_with_usage() {
    let out = Command::new(env!("CARGO_BIN_EXE_sightline-collector")).arg("--bogus").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--bogus") && err.contains("Usage: sightline-collector"), "{err}");
    let help = Command::new(env!("CARGO_BIN_EXE_sightline-collector")).arg("--help").output().unwrap();
    assert!(help.status.success());
    let help = String::from_utf8_lossy(&help.stdout);
    for flag in [
        "--host",
        "--port",
        "--db",
        "--granted-users",
        "--allow-anonymous",
        "--allowed-host",
        "--dashboard-token",
        "--retain-days",
        "--max-concurrency",
        "--test-hooks",
    ] {
        let line = help
            .lines()
            .find(|l| l.trim_start().starts_with(flag))
            .unwrap_or_else(|| panic!("{flag}: {help}"));
        assert!(line.contains("[default: "), "{line}");
    }
}

/// `--retain-days`: the binary deletes what was received longer ago at start (then hourly).
#[test]
fn the_binary_deletes_data_older_than_retain_days_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("old.db");
    let db = db.to_str().unwrap();
    let server = start_binary(&["--db", db]);
    for b in [
        analytics_body(&uuid(), vec![page_view(1, "/old")]),
        analytics_body(&uuid(), vec![page_view(2, "/new")]),
    ] {
        assert_eq!(parse(&raw_http(server.addr, &ingest_request(&b)).unwrap()).0, 200);
    }
    drop(server);
    // Make the first batch 40 days old.
    let forty_days = 40 * 24 * 3600 * 1000i64;
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute(
        "UPDATE analytics_batches SET received_at_ms = received_at_ms - ?1 WHERE id = 1",
        [forty_days],
    )
    .unwrap();
    conn.execute(
        "UPDATE analytics_events SET received_at_ms = received_at_ms - ?1 WHERE batch_row = 1",
        [forty_days],
    )
    .unwrap();
    drop(conn);
    let server = start_binary(&["--db", db, "--retain-days", "30"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, _, body) =
            parse(&raw_http(server.addr, &request("GET", "/api/dashboard/events", &[], b"")).unwrap());
        let events: Value = serde_json::from_slice(&body).unwrap();
        let paths: Vec<&str> =
            events["events"].as_array().unwrap().iter().map(|e| e["page_path"].as_str().unwrap()).collect();
        if paths == ["/new"] {
            break;
        }
        assert!(Instant::now() < deadline, "still {paths:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let (_, _, body) =
        parse(&raw_http(server.addr, &request("GET", "/api/dashboard/summary", &[], b"")).unwrap());
    let summary: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(summary["totals"]["analytics_events"], 1);
    assert_eq!(summary["totals"]["analytics_batches"], 1);
}
