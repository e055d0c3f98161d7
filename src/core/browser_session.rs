//! The replay's browser session: one id shared by the tabs of an origin, kept in
//! localStorage as `{session_id, created_at_ms, last_activity_ms}` and rotated after
//! `idleTimeoutMs` without activity (wire.md).

use crate::core::json::{push_str_literal, push_u64};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserSession {
    pub session_id: String,
    pub created_at_ms: u64,
    pub last_activity_ms: u64,
}

impl BrowserSession {
    /// The stored session if it is still live at `now_ms`, else a new one with `new_id`.
    /// `activity_ms` is this tab's last user activity (a page load counts); the stored
    /// `last_activity_ms` carries the other tabs'. The flag says whether a new session
    /// began (the recorder then takes a fresh Meta + FullSnapshot so the new session
    /// plays on its own).
    pub fn resume_or_start(
        stored: Option<BrowserSession>,
        now_ms: u64,
        activity_ms: u64,
        idle_timeout_ms: u64,
        new_id: impl FnOnce() -> String,
    ) -> (BrowserSession, bool) {
        let activity_ms = activity_ms.min(now_ms);
        if let Some(session) = stored {
            let last_activity_ms = session.last_activity_ms.max(activity_ms).min(now_ms);
            if now_ms - last_activity_ms < idle_timeout_ms {
                return (BrowserSession { last_activity_ms, ..session }, false);
            }
        }
        (BrowserSession { session_id: new_id(), created_at_ms: now_ms, last_activity_ms: now_ms }, true)
    }

    pub fn to_json(&self) -> String {
        let mut out = String::from("{\"session_id\":");
        push_str_literal(&mut out, &self.session_id);
        out.push_str(",\"created_at_ms\":");
        push_u64(&mut out, self.created_at_ms);
        out.push_str(",\"last_activity_ms\":");
        push_u64(&mut out, self.last_activity_ms);
        out.push('}');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(last: u64) -> Option<BrowserSession> {
        Some(BrowserSession { session_id: "old".into(), created_at_ms: 10, last_activity_ms: last })
    }

    fn new_id() -> String {
        "new".into()
    }

    #[test]
    fn a_live_session_is_resumed_with_the_latest_activity() {
        let (session, rotated) =
            BrowserSession::resume_or_start(stored(1_000), 5_000, 4_000, 180_000, new_id);
        assert!(!rotated);
        assert_eq!(
            session,
            BrowserSession { session_id: "old".into(), created_at_ms: 10, last_activity_ms: 4_000 }
        );
    }

    #[test]
    fn checking_does_not_count_as_activity() {
        // A tab that only checks (no user activity since 1 s) lets the session idle out.
        let mut session = stored(1_000);
        let mut rotated_at = None;
        for now in (5_000..=200_000).step_by(5_000) {
            let (next, rotated) = BrowserSession::resume_or_start(session, now, 1_000, 180_000, new_id);
            if rotated {
                rotated_at = Some(now);
                break;
            }
            session = Some(next);
        }
        assert_eq!(rotated_at, Some(185_000));
    }

    #[test]
    fn another_tabs_activity_keeps_the_session_alive() {
        let (session, rotated) =
            BrowserSession::resume_or_start(stored(170_000), 200_000, 1_000, 180_000, new_id);
        assert!(!rotated);
        assert_eq!(session.last_activity_ms, 170_000);
    }

    #[test]
    fn an_idle_session_rotates() {
        let (session, rotated) =
            BrowserSession::resume_or_start(stored(1_000), 181_000, 1_000, 180_000, new_id);
        assert!(rotated);
        assert_eq!(
            session,
            BrowserSession { session_id: "new".into(), created_at_ms: 181_000, last_activity_ms: 181_000 }
        );
    }

    #[test]
    fn no_session_starts_one() {
        let (session, rotated) = BrowserSession::resume_or_start(None, 7, 7, 180_000, new_id);
        assert!(rotated);
        assert_eq!(session.created_at_ms, 7);
    }

    #[test]
    fn serializes_as_the_stored_shape() {
        let s = BrowserSession { session_id: "a".into(), created_at_ms: 1, last_activity_ms: 2 };
        assert_eq!(s.to_json(), r#"{"session_id":"a","created_at_ms":1,"last_activity_ms":2}"#);
    }
}
