//! Rate limits of the high-frequency sources, with time passed in (ms since epoch).
//! Each component answers with event `data` to emit now, and with a `deadline` at which
//! the shell must call `poll` (a trailing emission); nothing here reads a clock.
//! [`Sampling`] puts the four the recorder uses behind one interface: `handle_*` for
//! the page's events, `poll_timeout` for the one timer the shell keeps, `poll` when it
//! fires and `flush` before an upload.

use super::node::push_number;
use crate::core::json::{push_i64, push_u64};

/// One mouse / touch position sample per 50 ms.
pub const MOUSE_SAMPLE_MS: u64 = 50;
/// Samples are sent at most every 500 ms.
pub const MOUSE_FLUSH_MS: u64 = 500;
pub const SCROLL_INTERVAL_MS: u64 = 100;
pub const RESIZE_INTERVAL_MS: u64 = 200;

/// rrweb's mousemove recording: samples every 50 ms; the first sample after a quiet
/// period is sent at once, later ones at most every 500 ms, each with `timeOffset` =
/// sample time − send time (≤ 0).
#[derive(Debug)]
pub struct MoveSampler {
    source: u8,
    last_sample_ms: Option<u64>,
    last_flush_ms: Option<u64>,
    positions: Vec<(f64, f64, i64, u64)>,
}

impl MoveSampler {
    /// `source`: 1 MouseMove or 6 TouchMove.
    pub fn new(source: u8) -> Self {
        Self { source, last_sample_ms: None, last_flush_ms: None, positions: Vec::new() }
    }

    /// A move to `(x, y)` over the node `id` (-1: unknown). Returns `data` to send now.
    pub fn on_move(&mut self, now_ms: u64, x: f64, y: f64, id: i64) -> Option<String> {
        if self.last_sample_ms.is_some_and(|t| now_ms < t + MOUSE_SAMPLE_MS) {
            return None;
        }
        self.last_sample_ms = Some(now_ms);
        self.positions.push((x, y, id, now_ms));
        if self.last_flush_ms.map_or(true, |t| now_ms >= t + MOUSE_FLUSH_MS) {
            return self.flush(now_ms);
        }
        None
    }

    /// When `poll` must run to send waiting samples.
    pub fn deadline(&self) -> Option<u64> {
        if self.positions.is_empty() {
            None
        } else {
            Some(self.last_flush_ms.map_or(0, |t| t + MOUSE_FLUSH_MS))
        }
    }

    pub fn poll(&mut self, now_ms: u64) -> Option<String> {
        match self.deadline() {
            Some(deadline) if now_ms >= deadline => self.flush(now_ms),
            _ => None,
        }
    }

    /// Sends whatever is waiting (before an upload or unload); `now_ms` is the event's
    /// timestamp.
    pub fn flush(&mut self, now_ms: u64) -> Option<String> {
        if self.positions.is_empty() {
            return None;
        }
        self.last_flush_ms = Some(now_ms);
        let mut out = String::from("{\"source\":");
        push_u64(&mut out, self.source.into());
        out.push_str(",\"positions\":[");
        for (i, (x, y, id, at)) in self.positions.drain(..).enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str("{\"x\":");
            push_number(&mut out, x);
            out.push_str(",\"y\":");
            push_number(&mut out, y);
            out.push_str(",\"id\":");
            push_i64(&mut out, id);
            out.push_str(",\"timeOffset\":");
            push_i64(&mut out, at as i64 - now_ms as i64);
            out.push('}');
        }
        out.push_str("]}");
        Some(out)
    }
}

/// At most one event per `interval` per key (leading edge at once, the latest value of
/// the rest at the end of the interval). Used for scroll (key: the target's id).
///
/// The keys live in a `Vec` in the order they were first seen (a handful at a time: keys
/// idle for a whole interval are dropped), so several keys due together are sent in that
/// order. A `Vec` instead of a `HashMap` also keeps a hash table's code out of the bundle.
#[derive(Debug)]
pub struct KeyedThrottle {
    interval_ms: u64,
    /// (key, last sent at, value waiting to be sent)
    entries: Vec<(u32, u64, Option<String>)>,
}

impl KeyedThrottle {
    pub fn new(interval_ms: u64) -> Self {
        Self { interval_ms, entries: Vec::new() }
    }

    pub fn on_event(&mut self, now_ms: u64, key: u32, data: String) -> Option<String> {
        let interval = self.interval_ms;
        // Keys idle for a whole interval carry no state worth keeping.
        self.entries.retain(|(_, sent, pending)| pending.is_some() || now_ms < *sent + interval);
        match self.entries.iter_mut().find(|(k, _, _)| *k == key) {
            Some((_, _, pending)) => {
                *pending = Some(data);
                None
            }
            None => {
                self.entries.push((key, now_ms, None));
                Some(data)
            }
        }
    }

    pub fn deadline(&self) -> Option<u64> {
        self.entries.iter().filter(|(_, _, p)| p.is_some()).map(|(_, sent, _)| sent + self.interval_ms).min()
    }

    pub fn poll(&mut self, now_ms: u64) -> Vec<String> {
        let interval = self.interval_ms;
        let mut due = Vec::new();
        for (_, sent, pending) in self.entries.iter_mut() {
            if pending.is_some() && now_ms >= *sent + interval {
                due.extend(pending.take());
                *sent = now_ms;
            }
        }
        due
    }

    pub fn flush(&mut self, now_ms: u64) -> Vec<String> {
        let mut due = Vec::new();
        for (_, sent, pending) in self.entries.iter_mut() {
            if let Some(p) = pending.take() {
                due.push(p);
                *sent = now_ms;
            }
        }
        due
    }
}

/// ViewportResize: at most one per 200 ms, and only when the size differs from the
/// last one recorded (the Meta event's size counts).
#[derive(Debug)]
pub struct ViewportTracker {
    recorded: (f64, f64),
    last_sent_ms: Option<u64>,
    pending: Option<(f64, f64)>,
}

impl ViewportTracker {
    pub fn new(width: f64, height: f64) -> Self {
        Self { recorded: (width, height), last_sent_ms: None, pending: None }
    }

    /// The size a Meta event just recorded.
    pub fn reset(&mut self, width: f64, height: f64) {
        self.recorded = (width, height);
        self.pending = None;
    }

    pub fn on_resize(&mut self, now_ms: u64, width: f64, height: f64) -> Option<String> {
        if self.last_sent_ms.is_some_and(|t| now_ms < t + RESIZE_INTERVAL_MS) {
            self.pending = Some((width, height));
            return None;
        }
        self.send(now_ms, (width, height))
    }

    pub fn deadline(&self) -> Option<u64> {
        self.pending.map(|_| self.last_sent_ms.unwrap_or(0) + RESIZE_INTERVAL_MS)
    }

    pub fn poll(&mut self, now_ms: u64) -> Option<String> {
        match (self.pending, self.deadline()) {
            (Some(size), Some(deadline)) if now_ms >= deadline => {
                self.pending = None;
                self.send(now_ms, size)
            }
            _ => None,
        }
    }

    fn send(&mut self, now_ms: u64, size: (f64, f64)) -> Option<String> {
        if size == self.recorded {
            return None;
        }
        self.recorded = size;
        self.last_sent_ms = Some(now_ms);
        Some(super::event::viewport_resize_data(size.0, size.1))
    }
}

/// The recorder's rate-limited sources (mouse and touch moves, scrolls, viewport size).
/// A driver calls `handle_*` for each page event and emits the `data` returned; keeps one
/// timer at `poll_timeout()` and, when it fires, emits what `poll(now)` returns; and
/// emits `flush(now)` before an upload or when the page is left.
#[derive(Debug)]
pub struct Sampling {
    mouse: MoveSampler,
    touch: MoveSampler,
    scroll: KeyedThrottle,
    viewport: ViewportTracker,
}

impl Default for Sampling {
    fn default() -> Self {
        Self {
            mouse: MoveSampler::new(super::event::source::MOUSE_MOVE),
            touch: MoveSampler::new(super::event::source::TOUCH_MOVE),
            scroll: KeyedThrottle::new(SCROLL_INTERVAL_MS),
            viewport: ViewportTracker::new(0.0, 0.0),
        }
    }
}

impl Sampling {
    #[must_use = "the data is an event to emit"]
    pub fn handle_mouse_move(&mut self, now_ms: u64, x: f64, y: f64, id: i64) -> Option<String> {
        self.mouse.on_move(now_ms, x, y, id)
    }

    #[must_use = "the data is an event to emit"]
    pub fn handle_touch_move(&mut self, now_ms: u64, x: f64, y: f64, id: i64) -> Option<String> {
        self.touch.on_move(now_ms, x, y, id)
    }

    /// A scroll of the node `id`, whose Scroll event `data` is sent now or later.
    #[must_use = "the data is an event to emit"]
    pub fn handle_scroll(&mut self, now_ms: u64, id: u32, data: String) -> Option<String> {
        self.scroll.on_event(now_ms, id, data)
    }

    #[must_use = "the data is an event to emit"]
    pub fn handle_resize(&mut self, now_ms: u64, width: f64, height: f64) -> Option<String> {
        self.viewport.on_resize(now_ms, width, height)
    }

    /// The viewport size a Meta event just recorded.
    pub fn reset_viewport(&mut self, width: f64, height: f64) {
        self.viewport.reset(width, height);
    }

    /// When `poll` must run next: the earliest trailing emission waiting.
    pub fn poll_timeout(&self) -> Option<u64> {
        crate::core::json::earliest(&[
            self.mouse.deadline(),
            self.touch.deadline(),
            self.scroll.deadline(),
            self.viewport.deadline(),
        ])
    }

    /// The trailing emissions due at `now_ms`, by source: moves, then scrolls, then size.
    #[must_use = "the data are events to emit"]
    pub fn poll(&mut self, now_ms: u64) -> Vec<String> {
        let mut due = Vec::new();
        due.extend(self.mouse.poll(now_ms));
        due.extend(self.touch.poll(now_ms));
        due.extend(self.scroll.poll(now_ms));
        due.extend(self.viewport.poll(now_ms));
        due
    }

    /// Everything waiting, due or not, stamped `now_ms`.
    #[must_use = "the data are events to emit"]
    pub fn flush(&mut self, now_ms: u64) -> Vec<String> {
        let mut due = Vec::new();
        due.extend(self.mouse.flush(now_ms));
        due.extend(self.touch.flush(now_ms));
        due.extend(self.scroll.flush(now_ms));
        if self.viewport.deadline().is_some() {
            due.extend(self.viewport.poll(u64::MAX));
        }
        due
    }
}

/// Input events are sent only when an element's (recorded) value or checked state
/// differs from the last one sent for it.
///
/// The ids are kept sorted in a `Vec` (binary search; an insertion only on an element's
/// first input): a hash table's code would cost more bundle than it saves time here.
#[derive(Debug, Default)]
pub struct InputDedup {
    last: Vec<(u32, String, bool)>,
}

impl InputDedup {
    /// `true` when `(text, checked)` is new for `id` (and remembers it).
    pub fn changed(&mut self, id: u32, text: &str, checked: bool) -> bool {
        match self.last.binary_search_by_key(&id, |(i, _, _)| *i) {
            Ok(at) => {
                let (_, t, c) = &mut self.last[at];
                if t == text && *c == checked {
                    return false;
                }
                text.clone_into(t);
                *c = checked;
                true
            }
            Err(at) => {
                self.last.insert(at, (id, text.to_string(), checked));
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn parse(s: &str) -> Value {
        serde_json::from_str(s).unwrap()
    }

    #[test]
    fn mouse_moves_are_sampled_every_50ms_and_flushed_every_500ms() {
        let t0 = 1_000_000;
        let mut sampler = MoveSampler::new(1);
        // The first move after a quiet period is sent at once.
        let first = sampler.on_move(t0, 1.0, 2.0, 7).unwrap();
        assert_eq!(
            parse(&first),
            json!({"source": 1, "positions": [{"x": 1, "y": 2, "id": 7, "timeOffset": 0}]})
        );
        // A move every 10 ms for 600 ms: one kept per 50 ms.
        let mut sent = Vec::new();
        for step in 1..=60 {
            let now = t0 + step * 10;
            sent.extend(sampler.on_move(now, step as f64, 0.0, 7).map(|d| (now, d)));
            if let Some(deadline) = sampler.deadline() {
                if now >= deadline {
                    sent.extend(sampler.poll(now).map(|d| (now, d)));
                }
            }
        }
        assert_eq!(sent.len(), 1, "one flush in the next 500 ms");
        let (flushed_at, data) = &sent[0];
        assert_eq!(*flushed_at, t0 + 500);
        let positions = parse(data)["positions"].as_array().unwrap().clone();
        assert_eq!(positions.len(), 10, "samples at +50 … +500");
        let offsets: Vec<i64> = positions.iter().map(|p| p["timeOffset"].as_i64().unwrap()).collect();
        assert_eq!(offsets, vec![-450, -400, -350, -300, -250, -200, -150, -100, -50, 0]);
        // The last moves wait for the next deadline.
        assert_eq!(sampler.deadline(), Some(t0 + 1000));
        let data = sampler.flush(t0 + 620).unwrap();
        let offsets: Vec<i64> = parse(&data)["positions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["timeOffset"].as_i64().unwrap())
            .collect();
        assert_eq!(offsets, vec![-70, -20]);
        assert_eq!(sampler.flush(t0 + 700), None);
    }

    #[test]
    fn touch_moves_use_their_own_source() {
        let mut sampler = MoveSampler::new(6);
        assert_eq!(parse(&sampler.on_move(10, 0.0, 0.0, -1).unwrap())["source"], 6);
    }

    #[test]
    fn scroll_is_throttled_per_target_with_a_trailing_event() {
        let mut throttle = KeyedThrottle::new(SCROLL_INTERVAL_MS);
        assert_eq!(throttle.on_event(0, 1, "a0".into()).as_deref(), Some("a0"));
        assert_eq!(
            throttle.on_event(10, 2, "b0".into()).as_deref(),
            Some("b0"),
            "other targets are independent"
        );
        assert_eq!(throttle.on_event(20, 1, "a1".into()), None);
        assert_eq!(throttle.on_event(30, 1, "a2".into()), None);
        assert_eq!(throttle.deadline(), Some(100));
        assert!(throttle.poll(99).is_empty());
        assert_eq!(throttle.poll(100), vec!["a2".to_string()]);
        assert_eq!(throttle.deadline(), None);
        assert_eq!(throttle.on_event(150, 1, "a3".into()), None, "within 100 ms of the trailing send");
        assert_eq!(throttle.flush(160), vec!["a3".to_string()]);
        assert_eq!(throttle.on_event(400, 1, "a4".into()).as_deref(), Some("a4"));
    }

    #[test]
    fn viewport_resizes_only_on_change_at_most_every_200ms() {
        let mut viewport = ViewportTracker::new(800.0, 600.0);
        assert_eq!(viewport.on_resize(0, 800.0, 600.0), None, "same as Meta");
        assert_eq!(
            parse(&viewport.on_resize(10, 700.0, 600.0).unwrap()),
            json!({"source": 4, "width": 700, "height": 600})
        );
        assert_eq!(viewport.on_resize(50, 650.0, 600.0), None);
        assert_eq!(viewport.on_resize(60, 640.0, 500.0), None);
        assert_eq!(viewport.deadline(), Some(210));
        assert_eq!(parse(&viewport.poll(210).unwrap())["width"], 640);
        assert_eq!(viewport.on_resize(500, 640.0, 500.0), None, "no change");
    }

    #[test]
    fn inputs_are_deduplicated_per_element() {
        let mut dedup = InputDedup::default();
        assert!(dedup.changed(1, "a", false));
        assert!(!dedup.changed(1, "a", false));
        assert!(dedup.changed(2, "a", false));
        assert!(dedup.changed(1, "a", true));
        assert!(dedup.changed(1, "ab", true));
    }

    #[test]
    fn input_dedup_remembers_each_element_whatever_the_order_of_ids() {
        let mut dedup = InputDedup::default();
        let ids = [50u32, 3, 900, 7, 3_000_000, 0, 49, 51];
        for (n, &id) in ids.iter().enumerate() {
            assert!(dedup.changed(id, &n.to_string(), false), "first value of {id}");
        }
        for (n, &id) in ids.iter().enumerate() {
            assert!(!dedup.changed(id, &n.to_string(), false), "{id} unchanged");
        }
        // A change of one element is seen, and only that element's value is replaced.
        assert!(dedup.changed(900, "x", false));
        assert!(!dedup.changed(900, "x", false));
        assert!(dedup.changed(900, "2", false), "back to the old value is a change too");
        for (n, &id) in ids.iter().enumerate() {
            assert!(!dedup.changed(id, &n.to_string(), false), "{id} still remembered");
        }
    }

    #[test]
    fn keyed_throttle_sends_keys_due_together_in_first_seen_order_and_forgets_idle_ones() {
        let mut throttle = KeyedThrottle::new(SCROLL_INTERVAL_MS);
        for key in [9u32, 4, 7] {
            assert!(throttle.on_event(0, key, format!("{key}-lead")).is_some());
            assert_eq!(throttle.on_event(5, key, format!("{key}-tail")), None);
        }
        assert_eq!(throttle.deadline(), Some(100));
        assert_eq!(throttle.poll(100), vec!["9-tail", "4-tail", "7-tail"]);
        // Idle for a whole interval after their trailing send: forgotten, so the next event
        // of each is a leading one again.
        assert_eq!(throttle.on_event(200, 4, "4-again".into()).as_deref(), Some("4-again"));
        assert_eq!(throttle.on_event(201, 9, "9-again".into()).as_deref(), Some("9-again"));
        assert_eq!(throttle.on_event(202, 4, "4-more".into()), None);
        assert_eq!(throttle.flush(210), vec!["4-more"]);
        assert!(throttle.flush(211).is_empty());
    }

    #[test]
    fn sampling_keeps_one_timer_for_every_source() {
        let mut sampling = Sampling::default();
        sampling.reset_viewport(800.0, 600.0);
        let t0 = 1_000_000;
        assert_eq!(sampling.poll_timeout(), None, "nothing waits");
        // Leading edges go out at once.
        assert!(sampling.handle_mouse_move(t0, 1.0, 1.0, 3).is_some());
        assert!(sampling.handle_scroll(t0, 9, "scroll-1".into()).is_some());
        assert!(sampling.handle_resize(t0, 640.0, 480.0).is_some());
        assert_eq!(sampling.poll_timeout(), None);
        // Trailing ones wait: the scroll until +100, the size until +200, the move until +500.
        assert!(sampling.handle_scroll(t0 + 10, 9, "scroll-2".into()).is_none());
        assert!(sampling.handle_resize(t0 + 20, 320.0, 240.0).is_none());
        assert!(sampling.handle_mouse_move(t0 + 60, 2.0, 2.0, 3).is_none());
        assert_eq!(sampling.poll_timeout(), Some(t0 + 100));
        assert!(sampling.poll(t0 + 99).is_empty());
        assert_eq!(sampling.poll(t0 + 100), vec!["scroll-2".to_string()]);
        assert_eq!(sampling.poll_timeout(), Some(t0 + 200));
        let resized = sampling.poll(t0 + 200);
        assert_eq!(resized.len(), 1);
        assert_eq!(parse(&resized[0])["width"], 320);
        assert_eq!(sampling.poll_timeout(), Some(t0 + 500));
        // A flush sends what waits without waiting for it.
        assert!(sampling.handle_touch_move(t0 + 300, 5.0, 5.0, 4).is_some());
        assert!(sampling.handle_touch_move(t0 + 360, 6.0, 6.0, 4).is_none());
        let flushed = sampling.flush(t0 + 400);
        let sources: Vec<u64> = flushed.iter().map(|d| parse(d)["source"].as_u64().unwrap()).collect();
        assert_eq!(sources, [1, 6], "the mouse's sample, then the touch's");
        assert_eq!(sampling.poll_timeout(), None);
        assert!(sampling.flush(t0 + 401).is_empty());
    }
}
