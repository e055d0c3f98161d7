//! Test hooks: a queue of injected faults and request/storage counters. The routes that
//! drive them (`/__faults`, `/__stats`) and the fault middleware are only mounted with
//! `--test-hooks`.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use serde_json::{json, Value};

/// One queued fault: applies to the next `count` requests whose path starts with
/// `path_prefix`.
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    pub path_prefix: String,
    pub count: u64,
    /// Answer with this status instead of running the route (`None`: run it, after the
    /// latency).
    pub status: Option<u16>,
    pub latency_ms: u64,
    /// Close the connection without an answer (the browser's fetch rejects).
    pub drop: bool,
    pub retry_after: Option<String>,
}

/// What the middleware should do with one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    pub status: Option<u16>,
    pub latency_ms: u64,
    pub drop: bool,
    pub retry_after: Option<String>,
}

impl Fault {
    /// Parses the JSON body of `POST /__faults`; the message names the offending field.
    pub fn from_json(v: &Value) -> Result<Fault, String> {
        let obj = v.as_object().ok_or("body must be an object")?;
        let path_prefix = match obj.get("path_prefix") {
            None | Some(Value::Null) => "/api/".to_string(),
            Some(Value::String(s)) if s.starts_with('/') => s.clone(),
            Some(_) => return Err("path_prefix must be a string starting with /".into()),
        };
        let uint = |k: &str, default: u64| -> Result<u64, String> {
            match obj.get(k) {
                None | Some(Value::Null) => Ok(default),
                Some(v) => v.as_u64().ok_or(format!("{k} must be a non-negative integer")),
            }
        };
        let count = uint("count", 1)?;
        let latency_ms = uint("latency_ms", 0)?;
        if latency_ms > 120_000 {
            return Err("latency_ms must be at most 120000".into());
        }
        let status = match obj.get("status") {
            None | Some(Value::Null) => None,
            Some(v) => match v.as_u64() {
                Some(s @ 100..=599) => Some(s as u16),
                _ => return Err("status must be an HTTP status (100-599)".into()),
            },
        };
        let drop = match obj.get("drop") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err("drop must be a boolean".into()),
        };
        let retry_after = match obj.get("retry_after") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err("retry_after must be a number, a string or null".into()),
        };
        if status.is_none() && !drop && latency_ms == 0 {
            return Err("a fault needs a status, drop: true or a latency_ms".into());
        }
        Ok(Fault { path_prefix, count, status, latency_ms, drop, retry_after })
    }

    fn to_json(&self) -> Value {
        json!({"path_prefix": self.path_prefix, "count": self.count, "status": self.status,
               "latency_ms": self.latency_ms, "drop": self.drop, "retry_after": self.retry_after})
    }
}

/// Faults in the order they were queued.
///
/// A dropped connection reaches a browser as a network error only when the request came
/// on a fresh connection: Chromium resends a request (even a POST) whose *reused*
/// keep-alive connection closed without an answer. So with `--test-hooks` the server does
/// not keep connections alive (see `server::serve`).
#[derive(Default)]
pub struct Faults {
    queue: Mutex<VecDeque<Fault>>,
    applied: AtomicU64,
}

impl Faults {
    pub fn push(&self, fault: Fault) {
        if fault.count > 0 {
            self.queue.lock().unwrap_or_else(|p| p.into_inner()).push_back(fault);
        }
    }

    pub fn clear(&self) {
        self.queue.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// Takes one use of the first queued fault matching `path`. The hooks' own routes
    /// (`/__…`) are never faulted.
    pub fn take(&self, path: &str) -> Option<Action> {
        if path.starts_with("/__") {
            return None;
        }
        let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        let i = q.iter().position(|f| path.starts_with(&f.path_prefix))?;
        let f = &mut q[i];
        f.count -= 1;
        let action = Action {
            status: f.status,
            latency_ms: f.latency_ms,
            drop: f.drop,
            retry_after: f.retry_after.clone(),
        };
        if f.count == 0 {
            q.remove(i);
        }
        self.applied.fetch_add(1, Ordering::Relaxed);
        Some(action)
    }

    pub fn to_json(&self) -> Value {
        let q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        json!({"pending": q.iter().map(Fault::to_json).collect::<Vec<_>>(),
               "applied": self.applied.load(Ordering::Relaxed)})
    }
}

/// Counters since the server started.
#[derive(Default)]
pub struct Stats {
    requests: Mutex<BTreeMap<String, u64>>,
    pub analytics_batches: AtomicU64,
    pub analytics_events: AtomicU64,
    pub analytics_deduped: AtomicU64,
    pub replay_batches: AtomicU64,
    pub replay_events: AtomicU64,
    pub replay_deduped: AtomicU64,
    pub rejected: AtomicU64,
}

impl Stats {
    pub fn count_request(&self, route: String) {
        *self.requests.lock().unwrap_or_else(|p| p.into_inner()).entry(route).or_default() += 1;
    }

    pub fn to_json(&self) -> Value {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let requests = self.requests.lock().unwrap_or_else(|p| p.into_inner()).clone();
        json!({
            "requests": requests,
            "batches_stored": get(&self.analytics_batches) + get(&self.replay_batches),
            "events_stored": get(&self.analytics_events) + get(&self.replay_events),
            "deduped_batches": get(&self.analytics_deduped) + get(&self.replay_deduped),
            "rejected_requests": get(&self.rejected),
            "analytics": {"batches_stored": get(&self.analytics_batches), "events_stored": get(&self.analytics_events),
                          "deduped_batches": get(&self.analytics_deduped)},
            "replay": {"batches_stored": get(&self.replay_batches), "events_stored": get(&self.replay_events),
                       "deduped_batches": get(&self.replay_deduped)},
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_apply_in_order_then_run_out() {
        let faults = Faults::default();
        faults.push(
            Fault::from_json(&json!({"path_prefix": "/api/v1/analytics", "count": 2, "status": 503}))
                .unwrap(),
        );
        faults.push(Fault::from_json(&json!({"path_prefix": "/api/v1/analytics", "drop": true})).unwrap());
        assert_eq!(faults.take("/api/v1/session-replays/batch"), None);
        assert_eq!(faults.take("/__stats"), None);
        assert_eq!(faults.take("/api/v1/analytics/events/batch").unwrap().status, Some(503));
        assert_eq!(faults.take("/api/v1/analytics/events/batch").unwrap().status, Some(503));
        assert!(faults.take("/api/v1/analytics/events/batch").unwrap().drop);
        assert_eq!(faults.take("/api/v1/analytics/events/batch"), None);
    }

    #[test]
    fn fault_json_errors() {
        assert!(Fault::from_json(&json!({"status": 99})).unwrap_err().contains("status"));
        assert!(Fault::from_json(&json!({"status": 503, "count": -1})).unwrap_err().contains("count"));
        assert!(Fault::from_json(&json!({})).unwrap_err().contains("needs"));
        let f = Fault::from_json(&json!({"status": 429, "retry_after": 2})).unwrap();
        assert_eq!(f.retry_after.as_deref(), Some("2"));
        assert_eq!(f.path_prefix, "/api/");
        assert_eq!(f.count, 1);
    }
}
