//! `$exception` (opt-in): uncaught errors and unhandled rejections.
//!
//! Identical exceptions (same type, message, source, line, column and stack) within a
//! page view are counted, not repeated: the first one opens a 2 s window, and one event
//! leaves when it closes (or when the page view ends) with `count` = how many identical
//! ones were seen by then. Identical ones after that, in the same page view, are not
//! sent again. At most 10 events leave per minute (sliding); the rest are dropped and
//! counted in [`Exceptions::dropped`].

/// How long identical exceptions are gathered before the event leaves.
pub const EXCEPTION_WINDOW_MS: u64 = 2_000;
/// Events per [`RATE_PERIOD_MS`].
pub const MAX_EXCEPTIONS_PER_PERIOD: usize = 10;
pub const RATE_PERIOD_MS: u64 = 60_000;
/// Longest `stack` (and `message`), in bytes of UTF-8.
pub const MAX_STACK_BYTES: usize = 8 * 1024;
/// Distinct exceptions remembered per page view; more are dropped (and counted).
const MAX_DISTINCT: usize = 100;

/// What the shell read from an `error` / `unhandledrejection` event.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExceptionInfo {
    pub message: String,
    /// The error's name (`TypeError`, …), or `UnhandledRejection` for a non-Error reason.
    pub kind: String,
    pub stack: String,
    pub source: String,
    pub line: u32,
    pub column: u32,
}

/// A decided `$exception`.
#[must_use = "an exception that is not sent is lost"]
#[derive(Debug, Clone, PartialEq)]
pub struct ExceptionEvent {
    /// The first occurrence.
    pub at_ms: u64,
    pub info: ExceptionInfo,
    pub count: u32,
}

struct Seen {
    info: ExceptionInfo,
    first_ms: u64,
    count: u32,
    sent: bool,
}

/// `s` cut to at most `max` bytes, on a character boundary.
pub fn truncate_utf8(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

/// Inputs: `handle_exception`, `handle_page_end`. Outputs: [`poll`](Self::poll) at
/// [`poll_timeout`](Self::poll_timeout).
#[derive(Default)]
pub struct Exceptions {
    seen: Vec<Seen>,
    sent_at: Vec<u64>,
    out: Vec<ExceptionEvent>,
    dropped: u32,
}

impl Exceptions {
    pub fn handle_exception(&mut self, now_ms: u64, mut info: ExceptionInfo) {
        info.stack = truncate_utf8(info.stack, MAX_STACK_BYTES);
        info.message = truncate_utf8(info.message, MAX_STACK_BYTES);
        if let Some(seen) = self.seen.iter_mut().find(|s| s.info == info) {
            seen.count = seen.count.saturating_add(1);
        } else if self.seen.len() < MAX_DISTINCT {
            self.seen.push(Seen { info, first_ms: now_ms, count: 1, sent: false });
        } else {
            self.dropped += 1;
        }
    }

    /// The page view ends: every exception still gathering leaves now; identical ones
    /// are new again in the next page view.
    pub fn handle_page_end(&mut self, now_ms: u64) {
        self.release(now_ms, 0);
        self.seen.clear();
    }

    fn release(&mut self, now_ms: u64, window_ms: u64) {
        for seen in self.seen.iter_mut().filter(|s| !s.sent) {
            if now_ms.saturating_sub(seen.first_ms) < window_ms {
                continue;
            }
            seen.sent = true;
            self.sent_at.retain(|at| now_ms.saturating_sub(*at) < RATE_PERIOD_MS);
            if self.sent_at.len() >= MAX_EXCEPTIONS_PER_PERIOD {
                self.dropped += 1;
                continue;
            }
            self.sent_at.push(now_ms);
            self.out.push(ExceptionEvent {
                at_ms: seen.first_ms,
                info: seen.info.clone(),
                count: seen.count,
            });
        }
    }

    pub fn poll_timeout(&self) -> Option<u64> {
        if !self.out.is_empty() {
            return Some(0);
        }
        let mut next: Option<u64> = None;
        for s in self.seen.iter().filter(|s| !s.sent) {
            let at = s.first_ms + EXCEPTION_WINDOW_MS;
            next = Some(next.map_or(at, |n| n.min(at)));
        }
        next
    }

    pub fn poll(&mut self, now_ms: u64) -> Option<ExceptionEvent> {
        self.release(now_ms, EXCEPTION_WINDOW_MS);
        (!self.out.is_empty()).then(|| self.out.remove(0))
    }

    /// Exceptions not sent because of the rate limit or the distinct-exception cap.
    pub fn dropped(&self) -> u32 {
        self.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(message: &str) -> ExceptionInfo {
        ExceptionInfo {
            message: message.into(),
            kind: "Error".into(),
            stack: format!("Error: {message}\n    at f (https://a.test/app.js:3:9)"),
            source: "https://a.test/app.js".into(),
            line: 3,
            column: 9,
        }
    }

    fn drain(e: &mut Exceptions, now: u64) -> Vec<ExceptionEvent> {
        std::iter::from_fn(|| e.poll(now)).collect()
    }

    #[test]
    fn identical_exceptions_are_one_event_with_a_count() {
        let mut e = Exceptions::default();
        for t in 0..10 {
            e.handle_exception(1_000 + t * 10, error("boom"));
        }
        assert_eq!(e.poll_timeout(), Some(3_000));
        assert!(drain(&mut e, 2_999).is_empty());
        let out = drain(&mut e, 3_000);
        assert_eq!(out, vec![ExceptionEvent { at_ms: 1_000, info: error("boom"), count: 10 }]);
        e.handle_exception(4_000, error("boom"));
        assert_eq!(e.poll_timeout(), None);
        assert!(drain(&mut e, 100_000).is_empty(), "not repeated within the page view");
        e.handle_page_end(100_000);
        e.handle_exception(100_001, error("boom"));
        assert_eq!(drain(&mut e, 102_001).len(), 1, "a new page view reports it again");
    }

    #[test]
    fn the_page_end_releases_what_is_gathering() {
        let mut e = Exceptions::default();
        e.handle_exception(0, error("a"));
        e.handle_exception(5, error("b"));
        e.handle_page_end(10);
        let out: Vec<_> = drain(&mut e, 10).into_iter().map(|x| x.info.message).collect();
        assert_eq!(out, ["a", "b"]);
    }

    #[test]
    fn at_most_ten_per_minute() {
        let mut e = Exceptions::default();
        for i in 0..15u64 {
            e.handle_exception(i, error(&format!("e{i}")));
        }
        assert_eq!(drain(&mut e, 2_100).len(), 10);
        assert_eq!(e.dropped(), 5);
        e.handle_exception(30_000, error("later"));
        assert!(drain(&mut e, 32_000).is_empty(), "still within the minute");
        e.handle_exception(61_000, error("next minute"));
        assert_eq!(drain(&mut e, 63_000).len(), 1);
        assert_eq!(e.dropped(), 6);
    }

    #[test]
    fn stack_and_message_are_cut_to_8_kb_on_a_character_boundary() {
        let mut e = Exceptions::default();
        let mut info = error("x");
        info.stack = "é".repeat(5_000); // 10 000 bytes
        info.message = "m".repeat(9_000);
        e.handle_exception(0, info);
        let out = drain(&mut e, 2_000);
        assert_eq!(out[0].info.stack.len(), 8_192);
        assert!(out[0].info.stack.chars().all(|c| c == 'é'));
        assert_eq!(out[0].info.message.len(), 8_192);
    }
}
