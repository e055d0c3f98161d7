//! Helpers shared by the collector's integration tests.
#![allow(dead_code)]

use std::io::Write;
use std::path::Path;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::Router;
use flate2::write::GzEncoder;
use flate2::Compression;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use sightline_collector::cli::Config;
use tower::ServiceExt;

pub const ANALYTICS: &str = "/api/v1/analytics/events/batch";
pub const REPLAY: &str = "/api/v1/session-replays/batch";

pub fn config(dir: &Path) -> Config {
    Config { db: dir.join("collector.db"), test_hooks: true, ..Config::default() }
}

pub fn app(config: Config) -> Router {
    sightline_collector::app(config).expect("open the collector")
}

/// A random-enough v4 UUID for tests (distinct per call).
pub fn uuid() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(1);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
    let a = t ^ n.rotate_left(32) ^ (std::process::id() as u64).rotate_left(16);
    format!("{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}", a >> 32, a & 0xffff, n & 0xfff, (a >> 16) & 0xfff, n)
}

pub fn page_view(at: i64, path: &str) -> Value {
    json!({"event_type": "$page-view", "event_at_ms": at,
           "data": {"url": format!("http://demo.test{path}"), "path": path, "referrer": "", "title": "t",
                    "entry_type": "initial", "viewport_width": 800, "viewport_height": 600,
                    "screen_width": 1920, "screen_height": 1080}})
}

pub fn analytics_body(batch_id: &str, events: Vec<Value>) -> Value {
    json!({"session_replay_segment_id": uuid(), "batch_id": batch_id, "sent_at_ms": 1_700_000_000_000i64,
           "events": events})
}

pub fn replay_body(browser_session_id: &str, batch_id: &str, events: Vec<Value>) -> Value {
    json!({"browser_session_id": browser_session_id, "session_replay_segment_id": uuid(), "batch_id": batch_id,
           "started_at_ms": 1_700_000_000_000i64, "sent_at_ms": 1_700_000_005_000i64, "events": events})
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// A POST with the SDK's headers (project id, client access type, a demo access token).
pub fn post(path: &str) -> axum::http::request::Builder {
    Request::builder()
        .method(Method::POST)
        .uri(path)
        .header("content-type", "application/json")
        .header("x-stack-project-id", "p_test")
        .header("x-stack-access-type", "client")
        .header("x-stack-access-token", "demo-alice")
}

pub fn post_json(path: &str, body: &Value) -> Request<Body> {
    let bytes = serde_json::to_vec(body).unwrap();
    post(path).header("content-length", bytes.len()).body(Body::from(bytes)).unwrap()
}

pub fn get(path: &str) -> Request<Body> {
    Request::builder().uri(path).body(Body::empty()).unwrap()
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub bytes: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.bytes)))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub async fn call(app: &Router, req: Request<Body>) -> Answer {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.into_body().collect().await.unwrap().to_bytes().to_vec();
    Answer { status, headers, bytes }
}
