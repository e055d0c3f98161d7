//! Bounds on what one server takes on: at most `--max-concurrency` requests at once (more
//! are answered 503 with `Retry-After: 1` at once, which the SDK retries), and at most
//! `REQUEST_TIMEOUT` per request (503, `Retry-After: 1`). Reading a body has its own limit
//! (`body::BODY_TIMEOUT`, 408). A batch whose answer timed out may still be stored; its
//! retry is recognised by `batch_id`, so nothing is lost or stored twice.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use tokio::sync::Semaphore;

use crate::routes::AppState;

pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

pub struct Limits {
    permits: Semaphore,
}

impl Limits {
    pub fn new(max_concurrency: usize) -> Limits {
        Limits { permits: Semaphore::new(max_concurrency.max(1)) }
    }
}

fn busy(message: &str) -> Response {
    let mut res = (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"code": "SERVER_BUSY", "error": message})))
        .into_response();
    res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    res
}

pub async fn limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Ok(_permit) = state.limits.permits.try_acquire() else {
        crate::body::drain(req.into_body()).await;
        return busy("too many requests in progress; retry after 1 s");
    };
    match tokio::time::timeout(REQUEST_TIMEOUT, next.run(req)).await {
        Ok(res) => res,
        Err(_) => busy("the request took too long; retry after 1 s"),
    }
}
