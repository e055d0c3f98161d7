//! Ingestion through the router in process: Stack Auth's validation, limits, gzip,
//! deduplication, headers and CORS.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::*;
use serde_json::{json, Value};
use sightline_collector::cli::Config;

#[tokio::test]
async fn analytics_batch_is_stored_and_answers_inserted() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(config(dir.path()));
    let body =
        analytics_body(&uuid(), vec![page_view(1_700_000_000_001, "/a"), page_view(1_700_000_000_002, "/b")]);
    let a = call(&app, post_json(ANALYTICS, &body)).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.json()["inserted"], 2);
    assert_eq!(a.json()["deduped"], false);

    let events = call(&app, get("/api/dashboard/events?limit=10")).await.json();
    let events = events["events"].as_array().unwrap().clone();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["page_path"], "/b", "newest first");
    assert_eq!(events[0]["event_type"], "$page-view");
    assert_eq!(events[0]["user_id"], "alice");
    assert_eq!(events[0]["project_id"], "p_test");
    assert_eq!(events[0]["data"]["viewport_width"], 800);
}

async fn error_of(app: &axum::Router, path: &str, body: &Value) -> (StatusCode, String) {
    let a = call(app, post_json(path, body)).await;
    (a.status, a.json()["error"].as_str().unwrap_or_default().to_string())
}

#[tokio::test]
async fn validation_errors_name_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(config(dir.path()));
    let mut events: Vec<Value> = (0..5).map(|i| page_view(1_700_000_000_000 + i, "/")).collect();
    events[3]["event_at_ms"] = json!("yesterday");
    let (status, error) = error_of(&app, ANALYTICS, &analytics_body(&uuid(), events.clone())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error, "events[3].event_at_ms must be a number");

    events[3]["event_at_ms"] = json!(1);
    events[1]["event_type"] = json!(42);
    let (_, error) = error_of(&app, ANALYTICS, &analytics_body(&uuid(), events.clone())).await;
    assert_eq!(error, "events[1].event_type must be a string");

    events[1]["event_type"] = json!("$click");
    events[4].as_object_mut().unwrap().remove("data");
    let (_, error) = error_of(&app, ANALYTICS, &analytics_body(&uuid(), events)).await;
    assert_eq!(error, "events[4].data is required");

    let mut body = analytics_body(&uuid(), vec![page_view(1, "/")]);
    body["batch_id"] = json!("not-a-uuid");
    assert_eq!(error_of(&app, ANALYTICS, &body).await.1, "batch_id must be a UUID");
    body["batch_id"] = json!(uuid());
    body["sent_at_ms"] = json!(-5);
    assert_eq!(error_of(&app, ANALYTICS, &body).await.1, "sent_at_ms must be greater than or equal to 0");

    let mut replay = replay_body(&uuid(), &uuid(), vec![json!({"type": 4, "timestamp": 1, "data": {}})]);
    replay["started_at_ms"] = json!("now");
    let (status, error) = error_of(&app, REPLAY, &replay).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error, "started_at_ms must be a number");
    replay["started_at_ms"] = json!(1);
    replay["browser_session_id"] = json!(7);
    assert_eq!(error_of(&app, REPLAY, &replay).await.1, "browser_session_id must be a string");

    // Nothing of the above was stored.
    let events = call(&app, get("/api/dashboard/events")).await.json();
    assert_eq!(events["events"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn event_counts_outside_the_limits_are_400() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(config(dir.path()));
    let many: Vec<Value> = (0..600).map(|i| page_view(i, "/")).collect();
    let (status, error) = error_of(&app, ANALYTICS, &analytics_body(&uuid(), many)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error, "events must contain at most 500 events, got 600");
    let (status, error) = error_of(&app, ANALYTICS, &analytics_body(&uuid(), vec![])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error, "events must contain at least 1 event");

    let exactly_500: Vec<Value> = (0..500).map(|i| page_view(i, "/")).collect();
    let a = call(&app, post_json(ANALYTICS, &analytics_body(&uuid(), exactly_500))).await;
    assert_eq!(a.json()["inserted"], 500);

    let tiny = |i: i64| json!({"type": 3, "timestamp": i, "data": {"source": 1}});
    let replay_5001: Vec<Value> = (0..5001).map(tiny).collect();
    let (status, error) = error_of(&app, REPLAY, &replay_body(&uuid(), &uuid(), replay_5001)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error, "events must contain at most 5000 events, got 5001");
    let replay_5000: Vec<Value> = (0..5000).map(tiny).collect();
    let a = call(&app, post_json(REPLAY, &replay_body(&uuid(), &uuid(), replay_5000))).await;
    assert_eq!(a.status, StatusCode::OK);
}

#[tokio::test]
async fn malformed_json_and_wrong_shapes_are_400() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(config(dir.path()));
    for bad in [&b"{\"batch_id\": "[..], b"", b"[]", b"null", b"\x1f\x8bnot gzip at all"] {
        let a = call(&app, post(ANALYTICS).body(Body::from(bad.to_vec())).unwrap()).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{:?}", String::from_utf8_lossy(bad));
        assert!(a.json()["error"].is_string());
    }
    let a = call(&app, post(ANALYTICS).body(Body::from("{oops")).unwrap()).await;
    assert!(a.json()["error"].as_str().unwrap().starts_with("body is not valid JSON"));
    let a = call(&app, post(ANALYTICS).body(Body::from("[1]")).unwrap()).await;
    assert_eq!(a.json()["error"], "body must be an object");
}

#[tokio::test]
async fn bodies_over_a_million_bytes_as_sent_are_413() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(config(dir.path()));
    // A valid batch of about 2 MB: declared with Content-Length…
    let big: Vec<Value> = (0..400)
        .map(|i| json!({"event_type": "big", "event_at_ms": i, "data": {"pad": "x".repeat(5000)}}))
        .collect();
    let body = serde_json::to_vec(&analytics_body(&uuid(), big)).unwrap();
    assert!(body.len() > 1_900_000);
    let a = call(
        &app,
        post(ANALYTICS).header("content-length", body.len()).body(Body::from(body.clone())).unwrap(),
    )
    .await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(a.json()["code"], "PAYLOAD_TOO_LARGE");
    // …and streamed without one.
    let streamed = Body::new(Chunked(body.chunks(64 * 1024).map(|c| c.to_vec().into()).collect()));
    let a = call(&app, post(REPLAY).body(streamed).unwrap()).await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);

    // Exactly at the limit is fine as far as size goes (here: valid JSON padded with spaces).
    let mut at_limit = serde_json::to_vec(&analytics_body(&uuid(), vec![page_view(1, "/")])).unwrap();
    at_limit.resize(1_000_000, b' ');
    let a = call(&app, post(ANALYTICS).body(Body::from(at_limit)).unwrap()).await;
    assert_eq!(a.status, StatusCode::OK);
}

/// A body of several frames with no size hint (as a chunked upload arrives).
struct Chunked(std::collections::VecDeque<axum::body::Bytes>);

impl hyper::body::Body for Chunked {
    type Data = axum::body::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        std::task::Poll::Ready(self.0.pop_front().map(|b| Ok(hyper::body::Frame::data(b))))
    }
}

#[tokio::test]
async fn gzip_bodies_are_accepted_whatever_the_content_type() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(config(dir.path()));
    for content_type in ["application/octet-stream", "application/json", "text/plain"] {
        let body = serde_json::to_vec(&analytics_body(&uuid(), vec![page_view(5, "/gz")])).unwrap();
        let req = post(ANALYTICS).header("content-type", content_type).body(Body::from(gzip(&body))).unwrap();
        let a = call(&app, req).await;
        assert_eq!(a.status, StatusCode::OK, "{content_type}: {}", String::from_utf8_lossy(&a.bytes));
        assert_eq!(a.json()["inserted"], 1);
    }
    // A large replay batch only fits compressed: 3 MB of JSON, far under 1 MB gzipped.
    let snapshot =
        json!({"type": 2, "timestamp": 10, "data": {"node": {"text": "lorem ipsum ".repeat(250_000)}}});
    let body = serde_json::to_vec(&replay_body(&uuid(), &uuid(), vec![snapshot])).unwrap();
    assert!(body.len() > 2_900_000);
    let gz = gzip(&body);
    assert!(gz.len() < 1_000_000);
    let req = post(REPLAY).header("content-type", "application/octet-stream").body(Body::from(gz)).unwrap();
    let a = call(&app, req).await;
    assert_eq!(a.status, StatusCode::OK);
}

#[tokio::test]
async fn a_gzip_bomb_is_413() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(config(dir.path()));
    // 20 MB of zeros, compressed without ever holding them.
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..20 {
        std::io::Write::write_all(&mut e, &zeros).unwrap();
    }
    let bomb = e.finish().unwrap();
    assert!(bomb.len() < 100_000);
    let a = call(
        &app,
        post(REPLAY).header("content-type", "application/octet-stream").body(Body::from(bomb)).unwrap(),
    )
    .await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(a.json()["error"].as_str().unwrap().contains("decompressed"));
}

#[tokio::test]
async fn a_resent_batch_is_deduplicated() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(config(dir.path()));
    let body = analytics_body(&uuid(), vec![page_view(1, "/x"), page_view(2, "/y")]);
    assert_eq!(
        call(&app, post_json(ANALYTICS, &body)).await.json(),
        json!({"inserted": 2, "deduped": false})
    );
    let again = call(&app, post_json(ANALYTICS, &body)).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.json(), json!({"inserted": 0, "deduped": true}));
    let events = call(&app, get("/api/dashboard/events")).await.json();
    assert_eq!(events["events"].as_array().unwrap().len(), 2);

    let session = uuid();
    let batch = uuid();
    let replay = replay_body(
        &session,
        &batch,
        vec![json!({"type": 4, "timestamp": 1, "data": {"href": "http://d/p"}})],
    );
    let first = call(&app, post_json(REPLAY, &replay)).await.json();
    assert_eq!(first["batch_id"], batch.as_str());
    assert_eq!(first["deduped"], false);
    assert!(first["s3_key"].as_str().unwrap().ends_with(&format!("{batch}.json.gz")));
    let second = call(&app, post_json(REPLAY, &replay)).await.json();
    assert_eq!(second["deduped"], true);
    assert_eq!(second["session_replay_id"], first["session_replay_id"]);
    assert_eq!(second["s3_key"], first["s3_key"]);

    let stats = call(&app, get("/__stats")).await.json();
    assert_eq!(stats["deduped_batches"], 2);
    assert_eq!(stats["batches_stored"], 2);
    assert_eq!(stats["events_stored"], 3);
    assert_eq!(stats["requests"]["POST /api/v1/analytics/events/batch"], 2);
    assert_eq!(stats["database"]["replay_events"], 1);
}

#[tokio::test]
async fn replay_sessions_are_listed_and_their_events_ordered() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(config(dir.path()));
    let session = uuid();
    let ev =
        |t: i64, ty: i64| json!({"type": ty, "timestamp": t, "data": {"href": "http://demo.test/docs?x=1"}});
    // Two tabs' batches arrive out of order.
    let a = call(&app, post_json(REPLAY, &replay_body(&session, &uuid(), vec![ev(30, 3), ev(40, 3)]))).await;
    let b = call(&app, post_json(REPLAY, &replay_body(&session, &uuid(), vec![ev(10, 4), ev(20, 2)]))).await;
    assert_eq!(a.json()["session_replay_id"], b.json()["session_replay_id"]);
    let other = uuid();
    call(&app, post_json(REPLAY, &replay_body(&other, &uuid(), vec![ev(50, 4)]))).await;

    let sessions = call(&app, get("/api/dashboard/sessions")).await.json();
    let sessions = sessions["sessions"].as_array().unwrap().clone();
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions[0]["browser_session_id"], other.as_str(), "most recently active first");
    assert_eq!(sessions[1]["event_count"], 4);
    assert_eq!(sessions[1]["batch_count"], 2);
    assert_eq!(sessions[1]["first_page_path"], "/docs");
    assert_eq!(sessions[1]["user_id"], "alice");

    let events = call(&app, get(&format!("/api/dashboard/sessions/{session}/events"))).await.json();
    assert_eq!(events["browser_session_id"], session.as_str());
    let ts: Vec<i64> =
        events["events"].as_array().unwrap().iter().map(|e| e["timestamp"].as_i64().unwrap()).collect();
    assert_eq!(ts, vec![10, 20, 30, 40]);
    let missing = call(&app, get(&format!("/api/dashboard/sessions/{}/events", uuid()))).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(call(&app, get("/api/dashboard/events?limit=0")).await.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn headers_project_id_and_access_token() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(config(dir.path()));
    let body = serde_json::to_vec(&analytics_body(&uuid(), vec![page_view(1, "/")])).unwrap();
    let bare =
        || Request::builder().method(Method::POST).uri(ANALYTICS).header("content-type", "application/json");

    let a =
        call(&app, bare().header("x-stack-access-token", "t").body(Body::from(body.clone())).unwrap()).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.json()["error"].as_str().unwrap().contains("x-stack-project-id"));

    let a =
        call(&app, bare().header("x-stack-project-id", "p").body(Body::from(body.clone())).unwrap()).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(a.json()["code"], "USER_AUTHENTICATION_REQUIRED");
    let a = call(&app, bare().header("x-stack-project-id", "p").body(Body::from(gzip(b"{}"))).unwrap()).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "the token is checked before the body");

    let a = call(
        &app,
        bare()
            .header("x-stack-project-id", "p")
            .header("x-stack-access-token", "t")
            .header("x-stack-access-type", "root")
            .body(Body::from(body.clone()))
            .unwrap(),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.json()["error"].as_str().unwrap().contains("x-stack-access-type"));

    let a = call(
        &app,
        bare()
            .header("x-stack-project-id", "p")
            .header("x-stack-access-type", "client")
            .header("x-stack-publishable-client-key", "pck")
            .header("x-stack-access-token", "opaque-token")
            .header("x-stack-refresh-token", "r")
            .body(Body::from(body.clone()))
            .unwrap(),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);

    let anon_dir = tempfile::tempdir().unwrap();
    let anon = sightline_collector::app(Config { allow_anonymous: true, ..config(anon_dir.path()) }).unwrap();
    let a = call(&anon, bare().header("x-stack-project-id", "p").body(Body::from(body)).unwrap()).await;
    assert_eq!(a.status, StatusCode::OK);
    let events = call(&anon, get("/api/dashboard/events")).await.json();
    assert_eq!(events["events"][0]["user_id"], Value::Null);
}

#[tokio::test]
async fn cors_preflight_and_answers() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(config(dir.path()));
    for path in [ANALYTICS, REPLAY, "/api/code/invites/check-access/"] {
        let req = Request::builder()
            .method(Method::OPTIONS)
            .uri(path)
            .header("origin", "http://localhost:5173")
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "content-type,x-stack-project-id,x-stack-access-type,x-stack-allow-anonymous-user,\
                 x-stack-publishable-client-key,x-stack-access-token,x-stack-refresh-token,x-stack-future-header",
            )
            .body(Body::empty())
            .unwrap();
        let a = call(&app, req).await;
        assert!(a.status.is_success(), "{path}: {}", a.status);
        assert_eq!(a.header("access-control-allow-origin"), Some("http://localhost:5173"));
        assert!(a.header("access-control-allow-methods").unwrap().contains("POST"));
        let allowed = a.header("access-control-allow-headers").unwrap().to_string();
        for h in [
            "content-type",
            "authorization",
            "x-stack-project-id",
            "x-stack-access-type",
            "x-stack-allow-anonymous-user",
            "x-stack-publishable-client-key",
            "x-stack-access-token",
            "x-stack-refresh-token",
            "x-stack-future-header",
        ] {
            assert!(allowed.split(", ").any(|x| x == h), "{h} missing from {allowed}");
        }
        assert_eq!(a.header("access-control-max-age"), Some("600"));
    }
    // Answers (errors included) carry the origin and expose retry-after.
    let req = post(ANALYTICS).header("origin", "http://a.test").body(Body::from("{")).unwrap();
    let a = call(&app, req).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(a.header("access-control-allow-origin"), Some("http://a.test"));
    assert_eq!(a.header("access-control-expose-headers"), Some("retry-after"));
}

#[tokio::test]
async fn check_access_answers_from_the_bearer_token() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(config(dir.path()));
    let check = |auth: Option<&str>| {
        let mut b =
            Request::builder().uri("/api/code/invites/check-access/").header("x-stack-project-id", "p");
        if let Some(a) = auth {
            b = b.header("authorization", a);
        }
        b.body(Body::empty()).unwrap()
    };
    let a = call(&app, check(Some("Bearer demo-alice"))).await;
    assert_eq!((a.status, a.json()), (StatusCode::OK, json!({"has_access": true})));
    let a = call(&app, check(Some("Bearer demo-bob"))).await;
    assert_eq!((a.status, a.json()), (StatusCode::OK, json!({"has_access": false})));
    for bad in
        [None, Some("Bearer "), Some("Bearer someone-else"), Some("Basic demo-alice"), Some("Bearer demo-")]
    {
        assert_eq!(call(&app, check(bad)).await.status, StatusCode::UNAUTHORIZED, "{bad:?}");
    }

    let dir2 = tempfile::tempdir().unwrap();
    let both = Config { granted_users: vec!["alice".into(), "bob".into()], ..config(dir2.path()) };
    let app = sightline_collector::app(both).unwrap();
    assert_eq!(call(&app, check(Some("Bearer demo-bob"))).await.json(), json!({"has_access": true}));
    assert_eq!(call(&app, check(Some("Bearer demo-carol"))).await.json(), json!({"has_access": false}));
}

#[tokio::test]
async fn lone_surrogates_are_stored_as_replacement_characters() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(config(dir.path()));
    // What JSON.stringify writes for a JavaScript string holding a lone surrogate.
    let body = format!(
        r#"{{"session_replay_segment_id":"{}","batch_id":"{}","sent_at_ms":1,
            "events":[{{"event_type":"typed","event_at_ms":1,"data":{{"text":"a\ud800b","pair":"\ud83d\ude00","end":"\udfff"}}}}]}}"#,
        uuid(),
        uuid()
    );
    for gz in [false, true] {
        let bytes = if gz { gzip(body.as_bytes()) } else { body.clone().into_bytes() };
        let a = call(&app, post(ANALYTICS).body(Body::from(bytes)).unwrap()).await;
        assert_eq!(a.status, StatusCode::OK, "{}", String::from_utf8_lossy(&a.bytes));
    }
    let events = call(&app, get("/api/dashboard/events")).await.json();
    let data = &events["events"][0]["data"];
    assert_eq!(data["text"], "a\u{fffd}b");
    assert_eq!(data["pair"], "\u{1f600}");
    assert_eq!(data["end"], "\u{fffd}");
    // A replay batch too.
    let replay = format!(
        r#"{{"browser_session_id":"{}","session_replay_segment_id":"{}","batch_id":"{}","started_at_ms":1,"sent_at_ms":2,
            "events":[{{"type":3,"timestamp":5,"data":{{"source":5,"text":"\udc00"}}}}]}}"#,
        uuid(),
        uuid(),
        uuid()
    );
    let a = call(&app, post(REPLAY).body(Body::from(replay)).unwrap()).await;
    assert_eq!(a.status, StatusCode::OK);
    // Other broken JSON is still a 400 that says so.
    let a = call(&app, post(ANALYTICS).body(Body::from(r#"{"a":"\ud800"#)).unwrap()).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn anonymous_users_need_the_allow_anonymous_header() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(config(dir.path()));
    let body = serde_json::to_vec(&analytics_body(&uuid(), vec![page_view(1, "/")])).unwrap();
    let send = |allow: Option<&str>| {
        // post() sends demo-alice; this request is the anonymous user's.
        let mut b = post(ANALYTICS);
        b.headers_mut().unwrap().insert("x-stack-access-token", "demo-anon-1a2b3c4d".parse().unwrap());
        if let Some(v) = allow {
            b = b.header("x-stack-allow-anonymous-user", v);
        }
        b.body(Body::from(body.clone())).unwrap()
    };
    let a = call(&app, send(None)).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(a.json()["code"], "ANONYMOUS_AUTHENTICATION_NOT_ALLOWED");
    assert!(a.json()["error"].as_str().unwrap().contains("x-stack-allow-anonymous-user"));
    let a = call(&app, send(Some("true"))).await;
    assert_eq!(a.status, StatusCode::OK);
    let events = call(&app, get("/api/dashboard/events")).await.json();
    assert_eq!(events["events"][0]["user_id"], "anon-1a2b3c4d");
    // For the access check (which the SDK sends without the header) an anonymous user is
    // signed out; with the header, a user who is not granted.
    let check = |allow: bool| {
        let b = Request::builder()
            .uri("/api/code/invites/check-access/")
            .header("authorization", "Bearer demo-anon-1a2b3c4d");
        let b = if allow { b.header("x-stack-allow-anonymous-user", "true") } else { b };
        b.body(Body::empty()).unwrap()
    };
    let a = call(&app, check(false)).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(a.json()["code"], "ANONYMOUS_AUTHENTICATION_NOT_ALLOWED");
    assert_eq!(call(&app, check(true)).await.json(), json!({"has_access": false}));
}

#[tokio::test]
async fn dashboard_lists_are_paginated_and_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(config(dir.path()));
    let events: Vec<Value> = (0..30).map(|i| page_view(1000 + i, "/p")).collect();
    assert_eq!(
        call(&app, post_json(ANALYTICS, &analytics_body(&uuid(), events))).await.status,
        StatusCode::OK
    );
    let mut seen = 0;
    let mut url = "/api/dashboard/events?limit=8".to_string();
    loop {
        let page = call(&app, get(&url)).await.json();
        let n = page["events"].as_array().unwrap().len();
        assert!(n <= 8);
        seen += n;
        match page["next"].as_str() {
            Some(next) => url = format!("/api/dashboard/events?limit=8&before={next}"),
            None => break,
        }
    }
    assert_eq!(seen, 30);
    for bad in [
        "/api/dashboard/events?limit=5001",
        "/api/dashboard/events?before=x",
        "/api/dashboard/sessions?before=1",
    ] {
        let a = call(&app, get(bad)).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(a.json()["code"], "SCHEMA_ERROR");
    }
    let summary = call(&app, get("/api/dashboard/summary")).await.json();
    assert_eq!(summary["totals"]["analytics_events"], 30);
    assert_eq!(summary["retain_days"], 30);
}
