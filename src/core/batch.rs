//! Immutable batches and their request bodies (wire.md).

use crate::core::json::{push_str_literal, push_u64};

/// Which endpoint a batch goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    Analytics,
    Replay,
}

impl Stream {
    /// The path below `apiBaseUrl`.
    pub fn path(self) -> &'static str {
        match self {
            Stream::Analytics => "/api/v1/analytics/events/batch",
            Stream::Replay => "/api/v1/session-replays/batch",
        }
    }

    /// Most events the server accepts in one batch.
    pub fn max_events(self) -> usize {
        match self {
            Stream::Analytics => 500,
            Stream::Replay => 5_000,
        }
    }

    /// Largest body (uncompressed JSON) a batch is formed up to. Analytics batches stay
    /// under the keepalive budget so any one of them can leave on the unload path;
    /// replay batches stay under the server's 8 MiB decompressed limit (the 1,000,000
    /// bytes *as sent* limit is checked after gzip, by splitting).
    pub fn max_body_bytes(self) -> usize {
        match self {
            Stream::Analytics => 60_000,
            Stream::Replay => 8_000_000,
        }
    }

    pub fn tag(self) -> &'static str {
        match self {
            Stream::Analytics => "analytics",
            Stream::Replay => "replay",
        }
    }

    pub fn from_tag(tag: &str) -> Option<Stream> {
        match tag {
            "analytics" => Some(Stream::Analytics),
            "replay" => Some(Stream::Replay),
            _ => None,
        }
    }
}

/// The browser session a replay batch belongs to (wire.md: `browser_session_id`,
/// `started_at_ms`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplaySession {
    pub browser_session_id: String,
    pub started_at_ms: u64,
}

/// What goes on the wire, fixed when the batch is formed: a retry resends the same
/// `batch_id` with the same events so the server can deduplicate. Only `sent_at_ms`
/// changes between attempts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchContent {
    pub stream: Stream,
    pub batch_id: String,
    pub segment_id: String,
    /// `Some` for replay batches.
    pub replay_session: Option<ReplaySession>,
    /// Each event already serialized as a JSON object.
    pub events: Vec<String>,
}

impl BatchContent {
    fn head(&self, sent_at_ms: u64) -> String {
        let mut out = String::with_capacity(200);
        out.push('{');
        if let Some(session) = &self.replay_session {
            out.push_str("\"browser_session_id\":");
            push_str_literal(&mut out, &session.browser_session_id);
            out.push(',');
        }
        out.push_str("\"session_replay_segment_id\":");
        push_str_literal(&mut out, &self.segment_id);
        out.push_str(",\"batch_id\":");
        push_str_literal(&mut out, &self.batch_id);
        if let Some(session) = &self.replay_session {
            out.push_str(",\"started_at_ms\":");
            push_u64(&mut out, session.started_at_ms);
        }
        out.push_str(",\"sent_at_ms\":");
        push_u64(&mut out, sent_at_ms);
        out.push_str(",\"events\":[");
        out
    }

    /// The JSON request body.
    pub fn body(&self, sent_at_ms: u64) -> String {
        let mut out = self.head(sent_at_ms);
        out.reserve(self.events_bytes() + 2);
        for (i, event) in self.events.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(event);
        }
        out.push_str("]}");
        out
    }

    /// `body(sent_at_ms).len()` in bytes, without building the body.
    pub fn body_len(&self, sent_at_ms: u64) -> usize {
        self.head(sent_at_ms).len() + self.events_bytes() + 2
    }

    fn events_bytes(&self) -> usize {
        self.events.iter().map(String::len).sum::<usize>() + self.events.len().saturating_sub(1)
    }

    /// Bytes a body of this batch costs per event beyond the head: the event and a comma.
    pub fn event_cost(event: &str) -> usize {
        event.len() + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content(stream: Stream, events: &[&str]) -> BatchContent {
        BatchContent {
            stream,
            batch_id: "b-1".into(),
            segment_id: "seg-1".into(),
            replay_session: (stream == Stream::Replay)
                .then(|| ReplaySession { browser_session_id: "bs-1".into(), started_at_ms: 5 }),
            events: events.iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn analytics_body_is_the_wire_shape() {
        let batch = content(Stream::Analytics, &[r#"{"event_type":"a","event_at_ms":1,"data":{}}"#]);
        let body: serde_json::Value = serde_json::from_str(&batch.body(1_700_000_000_000)).unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "session_replay_segment_id": "seg-1", "batch_id": "b-1", "sent_at_ms": 1_700_000_000_000u64,
                "events": [{"event_type": "a", "event_at_ms": 1, "data": {}}]
            })
        );
    }

    #[test]
    fn replay_body_carries_the_browser_session() {
        let batch = content(Stream::Replay, &[r#"{"type":4}"#, r#"{"type":2}"#]);
        let body: serde_json::Value = serde_json::from_str(&batch.body(9)).unwrap();
        assert_eq!(body["browser_session_id"], "bs-1");
        assert_eq!(body["started_at_ms"], 5);
        assert_eq!(body["events"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn body_len_is_byte_accurate() {
        for events in [vec![], vec!["{\"é\":\"😀\"}"], vec!["{}", "{\"a\":1}", "{\"ü\":2}"]] {
            let batch = content(Stream::Replay, &events);
            assert_eq!(batch.body_len(1_700_000_000_123), batch.body(1_700_000_000_123).len());
        }
    }
}
