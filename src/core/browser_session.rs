//! The replay's browser session: one id shared by the tabs of an origin, kept in
//! localStorage as `{session_id, created_at_ms, last_activity_ms}` and rotated after
//! `idleTimeoutMs` without activity (wire.md).

use crate::core::json::push_str_literal;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserSession {
    pub session_id: String,
    pub created_at_ms: u64,
    pub last_activity_ms: u64,
}

impl BrowserSession {
    /// The stored session if it is still live at `now_ms`, else a new one with `new_id`.
    /// The flag says whether a new session began (the recorder then takes a fresh
    /// Meta + FullSnapshot so the new session plays on its own).
    pub fn resume_or_start(
        stored: Option<BrowserSession>,
        now_ms: u64,
        idle_timeout_ms: u64,
        new_id: impl FnOnce() -> String,
    ) -> (BrowserSession, bool) {
        match stored {
            Some(session) if now_ms.saturating_sub(session.last_activity_ms) < idle_timeout_ms => {
                (BrowserSession { last_activity_ms: session.last_activity_ms.max(now_ms), ..session }, false)
            }
            _ => (
                BrowserSession { session_id: new_id(), created_at_ms: now_ms, last_activity_ms: now_ms },
                true,
            ),
        }
    }

    pub fn to_json(&self) -> String {
        let mut out = String::from("{\"session_id\":");
        push_str_literal(&mut out, &self.session_id);
        out.push_str(&format!(
            ",\"created_at_ms\":{},\"last_activity_ms\":{}}}",
            self.created_at_ms, self.last_activity_ms
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(last: u64) -> Option<BrowserSession> {
        Some(BrowserSession { session_id: "old".into(), created_at_ms: 10, last_activity_ms: last })
    }

    #[test]
    fn a_live_session_is_resumed_and_touched() {
        let (session, rotated) =
            BrowserSession::resume_or_start(stored(1_000), 5_000, 180_000, || "new".into());
        assert!(!rotated);
        assert_eq!(
            session,
            BrowserSession { session_id: "old".into(), created_at_ms: 10, last_activity_ms: 5_000 }
        );
    }

    #[test]
    fn an_idle_session_rotates() {
        let (session, rotated) =
            BrowserSession::resume_or_start(stored(1_000), 181_000, 180_000, || "new".into());
        assert!(rotated);
        assert_eq!(
            session,
            BrowserSession { session_id: "new".into(), created_at_ms: 181_000, last_activity_ms: 181_000 }
        );
    }

    #[test]
    fn no_session_starts_one() {
        let (session, rotated) = BrowserSession::resume_or_start(None, 7, 180_000, || "new".into());
        assert!(rotated);
        assert_eq!(session.created_at_ms, 7);
    }

    #[test]
    fn serializes_as_the_stored_shape() {
        let s = BrowserSession { session_id: "a".into(), created_at_ms: 1, last_activity_ms: 2 };
        assert_eq!(s.to_json(), r#"{"session_id":"a","created_at_ms":1,"last_activity_ms":2}"#);
    }
}
