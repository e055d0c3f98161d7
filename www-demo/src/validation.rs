//! The request schemas of Stack Auth's two ingestion routes, checked by hand so that every
//! error names the field it is about (`events[3].event_at_ms must be a number`).
//!
//! Mirrors the backend's yup schemas (April 2026): ids are UUIDs, times are non-negative
//! integers, analytics batches hold 1–500 events, replay batches 1–5,000. Unlike that
//! backend, any non-empty analytics `event_type` is accepted (wire.md). Unknown fields are
//! ignored, as yup does.

use serde_json::{Map, Value};

pub const MAX_ANALYTICS_EVENTS: usize = 500;
pub const MAX_REPLAY_EVENTS: usize = 5_000;
/// Longest accepted `event_type` (the SDK's `track()` limit).
pub const MAX_EVENT_TYPE_LEN: usize = 200;

/// One analytics event, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalyticsEvent {
    pub event_type: String,
    pub event_at_ms: i64,
    /// `data.path`, or the path of `data.url`, when there is one (for the dashboard).
    pub page_path: Option<String>,
    pub data: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AnalyticsBatch {
    pub session_replay_segment_id: String,
    pub batch_id: String,
    pub sent_at_ms: i64,
    pub events: Vec<AnalyticsEvent>,
}

/// One rrweb event: stored as sent, with its type and timestamp pulled out when present.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayEvent {
    pub event_type: Option<i64>,
    pub timestamp: Option<i64>,
    pub page_path: Option<String>,
    pub data: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReplayBatch {
    pub browser_session_id: String,
    pub session_replay_segment_id: String,
    pub batch_id: String,
    pub started_at_ms: i64,
    pub sent_at_ms: i64,
    pub events: Vec<ReplayEvent>,
}

/// A schema error; the message names the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaError(pub String);

impl std::fmt::Display for SchemaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

type Result<T> = std::result::Result<T, SchemaError>;

fn err<T>(msg: String) -> Result<T> {
    Err(SchemaError(msg))
}

fn object<'a>(v: &'a Value, field: &str) -> Result<&'a Map<String, Value>> {
    v.as_object().map_or_else(|| err(format!("{field} must be an object")), Ok)
}

fn required<'a>(obj: &'a Map<String, Value>, key: &str, field: &str) -> Result<&'a Value> {
    match obj.get(key) {
        None => err(format!("{field} is required")),
        Some(Value::Null) => err(format!("{field} must not be null")),
        Some(v) => Ok(v),
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

fn uuid(obj: &Map<String, Value>, key: &str) -> Result<String> {
    let v = required(obj, key, key)?;
    let Some(s) = v.as_str() else { return err(format!("{key} must be a string")) };
    if !is_uuid(s) {
        return err(format!("{key} must be a UUID"));
    }
    Ok(s.to_string())
}

/// Stack Auth's `UUID_RE`: 8-4-4-4-12 hex digits, version 1–8, RFC 4122 variant (or nil-ish 0).
pub fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 36 {
        return false;
    }
    for (i, c) in b.iter().enumerate() {
        let ok = match i {
            8 | 13 | 18 | 23 => *c == b'-',
            14 => (b'1'..=b'8').contains(c),
            19 => matches!(c.to_ascii_lowercase(), b'0' | b'8' | b'9' | b'a' | b'b'),
            _ => c.is_ascii_hexdigit(),
        };
        if !ok {
            return false;
        }
    }
    true
}

/// A non-negative integer (JSON `1700000000000` or `1700000000000.0`).
fn time_ms(obj: &Map<String, Value>, key: &str, field: &str) -> Result<i64> {
    let v = required(obj, key, field)?;
    let Value::Number(n) = v else { return err(format!("{field} must be a number")) };
    let i = if let Some(i) = n.as_i64() {
        i
    } else if let Some(f) = n.as_f64() {
        if !f.is_finite() || f.fract() != 0.0 || f.abs() > 9.0e15 {
            return err(format!("{field} must be an integer"));
        }
        f as i64
    } else {
        return err(format!("{field} must be an integer"));
    };
    if i < 0 {
        return err(format!("{field} must be greater than or equal to 0"));
    }
    Ok(i)
}

fn events_array(obj: &Map<String, Value>, max: usize) -> Result<&Vec<Value>> {
    let v = required(obj, "events", "events")?;
    let Some(events) = v.as_array() else {
        return err("events must be an array".to_string());
    };
    if events.is_empty() {
        return err("events must contain at least 1 event".into());
    }
    if events.len() > max {
        return err(format!("events must contain at most {max} events, got {}", events.len()));
    }
    Ok(events)
}

/// `/docs/x?y#z` → `/docs/x` for absolute http(s) URLs.
fn path_of_url(url: &str) -> Option<String> {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"))?;
    let path = match rest.find('/') {
        Some(i) => &rest[i..],
        None => "/",
    };
    let end = path.find(['?', '#']).unwrap_or(path.len());
    Some(path[..end].to_string())
}

fn page_path(data: &Value) -> Option<String> {
    let obj = data.as_object()?;
    if let Some(p) = obj.get("path").and_then(Value::as_str) {
        return Some(p.to_string());
    }
    ["url", "href"].iter().find_map(|k| obj.get(*k).and_then(Value::as_str).and_then(path_of_url))
}

/// Validates `POST /api/v1/analytics/events/batch`.
pub fn analytics_batch(body: &Value) -> Result<AnalyticsBatch> {
    let obj = object(body, "body")?;
    let session_replay_segment_id = uuid(obj, "session_replay_segment_id")?;
    let batch_id = uuid(obj, "batch_id")?;
    let sent_at_ms = time_ms(obj, "sent_at_ms", "sent_at_ms")?;
    let raw = events_array(obj, MAX_ANALYTICS_EVENTS)?;
    let mut events = Vec::with_capacity(raw.len());
    for (i, e) in raw.iter().enumerate() {
        let at = format!("events[{i}]");
        let eo = object(e, &at)?;
        let field = join(&at, "event_type");
        let t = required(eo, "event_type", &field)?;
        let Some(event_type) = t.as_str() else {
            return err(format!("{field} must be a string"));
        };
        if event_type.is_empty() {
            return err(format!("{field} must not be empty"));
        }
        if event_type.chars().count() > MAX_EVENT_TYPE_LEN {
            return err(format!("{field} must be at most {MAX_EVENT_TYPE_LEN} characters"));
        }
        let event_at_ms = time_ms(eo, "event_at_ms", &join(&at, "event_at_ms"))?;
        let data = required(eo, "data", &join(&at, "data"))?;
        events.push(AnalyticsEvent {
            event_type: event_type.to_string(),
            event_at_ms,
            page_path: page_path(data),
            data: data.clone(),
        });
    }
    Ok(AnalyticsBatch { session_replay_segment_id, batch_id, sent_at_ms, events })
}

/// Validates `POST /api/v1/session-replays/batch`. Events are any non-null JSON value, as in
/// Stack Auth; an rrweb event's `type` and `timestamp` are kept for ordering and display.
pub fn replay_batch(body: &Value) -> Result<ReplayBatch> {
    let obj = object(body, "body")?;
    let browser_session_id = uuid(obj, "browser_session_id")?;
    let session_replay_segment_id = uuid(obj, "session_replay_segment_id")?;
    let batch_id = uuid(obj, "batch_id")?;
    let started_at_ms = time_ms(obj, "started_at_ms", "started_at_ms")?;
    let sent_at_ms = time_ms(obj, "sent_at_ms", "sent_at_ms")?;
    let raw = events_array(obj, MAX_REPLAY_EVENTS)?;
    let mut events = Vec::with_capacity(raw.len());
    for (i, e) in raw.iter().enumerate() {
        if e.is_null() {
            return err(format!("events[{i}] must not be null"));
        }
        let o = e.as_object();
        let int = |k: &str| {
            o.and_then(|o| o.get(k)).and_then(|v| v.as_i64().or_else(|| v.as_f64().map(|f| f as i64)))
        };
        // rrweb's Meta event (type 4) carries the page's href.
        let page_path = o
            .filter(|_| int("type") == Some(4))
            .and_then(|o| o.get("data"))
            .and_then(|d| d.get("href"))
            .and_then(Value::as_str)
            .and_then(path_of_url);
        events.push(ReplayEvent {
            event_type: int("type"),
            timestamp: int("timestamp"),
            page_path,
            data: e.clone(),
        });
    }
    Ok(ReplayBatch {
        browser_session_id,
        session_replay_segment_id,
        batch_id,
        started_at_ms,
        sent_at_ms,
        events,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const U1: &str = "0b8f5c1e-2d3a-4c5b-8e6f-7a8b9c0d1e2f";
    const U2: &str = "1c9f5c1e-2d3a-4c5b-9e6f-7a8b9c0d1e2f";

    fn analytics(events: Value) -> Value {
        json!({"session_replay_segment_id": U1, "batch_id": U2, "sent_at_ms": 1, "events": events})
    }

    fn msg(v: Value) -> String {
        analytics_batch(&v).unwrap_err().0
    }

    #[test]
    fn uuid_shape() {
        assert!(is_uuid(U1));
        assert!(!is_uuid("0b8f5c1e-2d3a-0c5b-8e6f-7a8b9c0d1e2f"), "version 0");
        assert!(!is_uuid("0b8f5c1e-2d3a-4c5b-ce6f-7a8b9c0d1e2f"), "variant c");
        assert!(!is_uuid("not-a-uuid"));
    }

    #[test]
    fn good_analytics_batch() {
        let b = analytics_batch(&analytics(json!([
            {"event_type": "$page-view", "event_at_ms": 5, "data": {"path": "/a"}},
            {"event_type": "$click", "event_at_ms": 6.0, "data": {"url": "https://x.test/b/c?q#h"}},
            {"event_type": "signup", "event_at_ms": 7, "data": {}},
        ])))
        .unwrap();
        assert_eq!(b.events.len(), 3);
        assert_eq!(b.events[0].page_path.as_deref(), Some("/a"));
        assert_eq!(b.events[1].page_path.as_deref(), Some("/b/c"));
        assert_eq!(b.events[1].event_at_ms, 6);
        assert_eq!(b.events[2].page_path, None);
    }

    #[test]
    fn analytics_errors_name_the_field() {
        let ev = |x: Value| analytics(json!([{"event_type": "a", "event_at_ms": 1, "data": {}}, x]));
        assert_eq!(
            msg(ev(json!({"event_type": "a", "event_at_ms": "1", "data": {}}))),
            "events[1].event_at_ms must be a number"
        );
        assert_eq!(
            msg(ev(json!({"event_type": "a", "event_at_ms": 1.5, "data": {}}))),
            "events[1].event_at_ms must be an integer"
        );
        assert_eq!(
            msg(ev(json!({"event_type": "a", "event_at_ms": -1, "data": {}}))),
            "events[1].event_at_ms must be greater than or equal to 0"
        );
        assert_eq!(
            msg(ev(json!({"event_type": "", "event_at_ms": 1, "data": {}}))),
            "events[1].event_type must not be empty"
        );
        assert_eq!(
            msg(ev(json!({"event_type": 3, "event_at_ms": 1, "data": {}}))),
            "events[1].event_type must be a string"
        );
        assert_eq!(msg(ev(json!({"event_type": "a", "event_at_ms": 1}))), "events[1].data is required");
        assert_eq!(
            msg(ev(json!({"event_type": "a", "event_at_ms": 1, "data": null}))),
            "events[1].data must not be null"
        );
        assert_eq!(msg(ev(json!(7))), "events[1] must be an object");
        assert_eq!(msg(analytics(json!([]))), "events must contain at least 1 event");
        assert_eq!(msg(analytics(json!({}))), "events must be an array");
        assert_eq!(msg(json!([])), "body must be an object");
        assert_eq!(msg(json!({"batch_id": U2})), "session_replay_segment_id is required");
        assert_eq!(
            msg(json!({"session_replay_segment_id": U1, "batch_id": "x", "sent_at_ms": 1, "events": []})),
            "batch_id must be a UUID"
        );
        let many: Vec<Value> =
            (0..501).map(|_| json!({"event_type": "a", "event_at_ms": 1, "data": {}})).collect();
        assert_eq!(msg(analytics(Value::Array(many))), "events must contain at most 500 events, got 501");
    }

    #[test]
    fn replay_batches() {
        let good = json!({"browser_session_id": U1, "session_replay_segment_id": U2, "batch_id": U1,
            "started_at_ms": 1, "sent_at_ms": 2,
            "events": [{"type": 4, "timestamp": 10, "data": {"href": "http://h/p?x", "width": 1, "height": 1}}, {"type": 2, "timestamp": 11, "data": {}}]});
        let b = replay_batch(&good).unwrap();
        assert_eq!(b.events[0].page_path.as_deref(), Some("/p"));
        assert_eq!(b.events[1].timestamp, Some(11));
        assert_eq!(b.events[1].event_type, Some(2));
        let mut bad = good.clone();
        bad["events"] = json!([{"type": 2}, null]);
        assert_eq!(replay_batch(&bad).unwrap_err().0, "events[1] must not be null");
        bad["events"] = Value::Array(vec![json!({}); 5001]);
        assert_eq!(replay_batch(&bad).unwrap_err().0, "events must contain at most 5000 events, got 5001");
        bad["events"] = json!([{}]);
        bad["started_at_ms"] = json!("1");
        assert_eq!(replay_batch(&bad).unwrap_err().0, "started_at_ms must be a number");
        bad.as_object_mut().unwrap().remove("browser_session_id");
        assert_eq!(replay_batch(&bad).unwrap_err().0, "browser_session_id is required");
    }
}
