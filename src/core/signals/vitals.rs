//! `$web-vitals`: LCP, INP, CLS, FCP and TTFB of a page view, computed from
//! PerformanceObserver entries with the definitions of Google's `web-vitals` library
//! (v4/v5), reported once when the page view ends. Times are `performance.now()`-based
//! milliseconds, as the entries carry them.
//!
//! - FCP: the `first-contentful-paint` paint entry's `startTime`, if the page was not
//!   hidden before it.
//! - LCP: the last `largest-contentful-paint` entry before the first input (click,
//!   keydown) or the page first being hidden.
//! - TTFB: the navigation entry's `responseStart` (minus `activationStart`).
//! - CLS: the largest session window of layout shifts without recent input (shifts less
//!   than 1 s apart, a window at most 5 s long); `0` when the browser reports layout
//!   shifts and none happened.
//! - INP: per interaction (`interactionId`), its longest event duration; the ten longest
//!   interactions are kept and INP is the one at index `min(9, interactions / 50)`,
//!   i.e. the worst, ignoring the highest one per 50 interactions.
//!
//! Each vital is in the report only when measured: a browser without the entry type
//! never yields that field. LCP, FCP and TTFB belong to the document's load, so only its
//! first page view reports them; CLS and INP start afresh with every page view.

/// Interactions kept for INP.
const MAX_INTERACTIONS: usize = 10;

/// What one page view measured.
#[must_use = "web vitals that are not sent are lost"]
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VitalsReport {
    pub at_ms: u64,
    pub lcp_ms: Option<f64>,
    pub inp_ms: Option<f64>,
    pub cls: Option<f64>,
    pub fcp_ms: Option<f64>,
    pub ttfb_ms: Option<f64>,
}

impl VitalsReport {
    pub fn is_empty(&self) -> bool {
        [self.lcp_ms, self.inp_ms, self.cls, self.fcp_ms, self.ttfb_ms].iter().all(Option::is_none)
    }
}

/// Inputs: the `handle_*` entry methods; output: [`end`](Self::end) when the page view
/// ends.
#[derive(Debug, Default)]
pub struct Vitals {
    activation_start: f64,
    first_hidden: Option<f64>,
    /// The document's load already reported (an SPA page view after the first).
    load_reported: bool,
    fcp: Option<f64>,
    lcp: Option<f64>,
    /// The first input (click, keydown): LCP entries from then on are ignored.
    first_input: Option<f64>,
    lcp_final: bool,
    ttfb: Option<f64>,
    layout_shift_supported: bool,
    cls: f64,
    window_value: f64,
    window_first: f64,
    window_last: f64,
    /// `performance.interactionCount` when the page view began.
    interaction_base: u64,
    /// `(interaction id, latency)`, longest first.
    interactions: Vec<(u64, f64)>,
}

impl Vitals {
    /// `activation_start`: the navigation entry's `activationStart` (prerendering), 0
    /// otherwise; `hidden_at_start`: the document was hidden when the SDK started.
    pub fn new(activation_start: f64, hidden_at_start: bool) -> Self {
        Self { activation_start, first_hidden: hidden_at_start.then_some(0.0), ..Self::default() }
    }

    fn since_activation(&self, time: f64) -> f64 {
        (time - self.activation_start).max(0.0)
    }

    fn before_hidden(&self, time: f64) -> bool {
        self.first_hidden.map_or(true, |hidden| time < hidden)
    }

    /// The navigation entry's `responseStart`; `now` is `performance.now()`.
    pub fn handle_navigation(&mut self, response_start: f64, now: f64) {
        let value = self.since_activation(response_start);
        if response_start > 0.0 && value <= now {
            self.ttfb = Some(value);
        }
    }

    /// The `first-contentful-paint` entry's `startTime`.
    pub fn handle_fcp(&mut self, start_time: f64) {
        if self.fcp.is_none() && self.before_hidden(start_time) {
            self.fcp = Some(self.since_activation(start_time));
        }
    }

    /// A `largest-contentful-paint` entry's `startTime`.
    pub fn handle_lcp(&mut self, start_time: f64) {
        let before_input = self.first_input.map_or(true, |input| start_time < input);
        if !self.lcp_final && before_input && self.before_hidden(start_time) {
            self.lcp = Some(self.since_activation(start_time));
        }
    }

    /// A click or keydown at `time` (its `timeStamp`): LCP entries that start later
    /// are ignored (ones before it may still arrive: observers deliver late).
    pub fn handle_input(&mut self, time: f64) {
        if self.first_input.is_none() {
            self.first_input = Some(time);
        }
    }

    /// The page became hidden at `time` (`performance.now()`): nothing painted later
    /// counts.
    pub fn handle_hidden(&mut self, time: f64) {
        if self.first_hidden.is_none() {
            self.first_hidden = Some(time);
        }
    }

    /// The browser reports layout shifts (CLS is measured, `0` without any).
    pub fn handle_layout_shift_supported(&mut self) {
        self.layout_shift_supported = true;
    }

    /// A `layout-shift` entry.
    pub fn handle_layout_shift(&mut self, start_time: f64, value: f64, had_recent_input: bool) {
        if had_recent_input {
            return;
        }
        if self.window_value > 0.0
            && start_time - self.window_last < 1_000.0
            && start_time - self.window_first < 5_000.0
        {
            self.window_value += value;
        } else {
            self.window_value = value;
            self.window_first = start_time;
        }
        self.window_last = start_time;
        self.cls = self.cls.max(self.window_value);
    }

    /// An `event` (or `first-input`) timing entry with a non-zero `interactionId`.
    pub fn handle_event_timing(&mut self, interaction_id: u64, duration: f64) {
        if interaction_id == 0 {
            return;
        }
        // Kept longest first by insertion (a sort would cost kilobytes of bundle).
        let latency = match self.interactions.iter().position(|(id, _)| *id == interaction_id) {
            Some(i) => self.interactions.remove(i).1.max(duration),
            None => duration,
        };
        let at = self.interactions.iter().position(|(_, l)| *l < latency).unwrap_or(self.interactions.len());
        if at < MAX_INTERACTIONS {
            self.interactions.insert(at, (interaction_id, latency));
            self.interactions.truncate(MAX_INTERACTIONS);
        }
    }

    /// INP given the document's interaction count (`performance.interactionCount`).
    fn inp(&self, interaction_count: u64) -> Option<f64> {
        let interaction_count = interaction_count.saturating_sub(self.interaction_base);
        let index = ((interaction_count / 50) as usize).min(self.interactions.len().checked_sub(1)?);
        Some(self.interactions[index].1)
    }

    /// The page view ends: what it measured. Then CLS and INP start afresh, and the
    /// load's vitals are not reported again.
    pub fn end(&mut self, now_ms: u64, interaction_count: u64) -> VitalsReport {
        let mut report = VitalsReport {
            at_ms: now_ms,
            inp_ms: self.inp(interaction_count),
            cls: self.layout_shift_supported.then_some(self.cls),
            ..VitalsReport::default()
        };
        if !self.load_reported {
            report.lcp_ms = self.lcp;
            report.fcp_ms = self.fcp;
            report.ttfb_ms = self.ttfb;
            self.load_reported = true;
        }
        self.lcp_final = true;
        self.interaction_base = self.interaction_base.max(interaction_count);
        self.cls = 0.0;
        self.window_value = 0.0;
        self.interactions.clear();
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_vitals_follow_the_web_vitals_rules() {
        let mut v = Vitals::new(0.0, false);
        v.handle_navigation(120.5, 1_000.0);
        v.handle_fcp(300.0);
        v.handle_fcp(999.0); // only the first
        v.handle_lcp(310.0);
        v.handle_input(900.0);
        v.handle_lcp(800.0); // delivered after the input, painted before it
        v.handle_lcp(2_000.0); // after input: ignored
        let r = v.end(5, 0);
        assert_eq!((r.ttfb_ms, r.fcp_ms, r.lcp_ms), (Some(120.5), Some(300.0), Some(800.0)));
        assert_eq!((r.cls, r.inp_ms), (None, None), "neither measured");
        let r = v.end(6, 0);
        assert!(r.is_empty(), "the load is reported once: {r:?}");
    }

    #[test]
    fn nothing_painted_after_the_page_was_hidden_counts() {
        let mut v = Vitals::new(0.0, false);
        v.handle_hidden(100.0);
        v.handle_fcp(150.0);
        v.handle_lcp(150.0);
        assert!(v.end(1, 0).is_empty());
        let mut v = Vitals::new(50.0, true);
        v.handle_fcp(150.0);
        v.handle_navigation(0.0, 10.0);
        assert!(v.end(1, 0).is_empty(), "hidden from the start; responseStart 0 means unknown");
        let mut v = Vitals::new(50.0, false);
        v.handle_fcp(150.0);
        v.handle_navigation(40.0, 200.0);
        let r = v.end(1, 0);
        assert_eq!((r.fcp_ms, r.ttfb_ms), (Some(100.0), Some(0.0)), "times from activationStart");
    }

    #[test]
    fn cls_is_the_largest_session_window() {
        let mut v = Vitals::new(0.0, false);
        v.handle_layout_shift_supported();
        assert_eq!(v.end(0, 0).cls, Some(0.0));
        // Window 1: 0.1 + 0.1 (500 ms apart) = 0.2; a shift with recent input is ignored.
        v.handle_layout_shift(1_000.0, 0.1, false);
        v.handle_layout_shift(1_200.0, 0.5, true);
        v.handle_layout_shift(1_500.0, 0.1, false);
        // A gap over 1 s: window 2 = 0.15 + 0.1.
        v.handle_layout_shift(3_000.0, 0.15, false);
        v.handle_layout_shift(3_900.0, 0.1, false);
        // Window 2 goes on in < 1 s steps but ends at 5 s long: 0.01 each.
        for t in [4_800.0, 5_700.0, 6_600.0, 7_500.0] {
            v.handle_layout_shift(t, 0.01, false);
        }
        v.handle_layout_shift(8_100.0, 0.01, false); // 5.1 s after 3_000: a new window
        let cls = v.end(0, 0).cls.unwrap();
        assert!((cls - 0.29).abs() < 1e-9, "cls = {cls}");
    }

    #[test]
    fn inp_is_the_worst_interaction_ignoring_one_per_fifty() {
        let mut v = Vitals::new(0.0, false);
        v.handle_event_timing(0, 500.0); // not an interaction
        v.handle_event_timing(7, 40.0);
        v.handle_event_timing(7, 96.0); // the same interaction's longest event
        v.handle_event_timing(14, 200.0);
        assert_eq!(v.end(0, 2).inp_ms, Some(200.0));
        assert_eq!(v.end(0, 0).inp_ms, None, "INP starts afresh per page view");
        for (i, d) in [300.0, 250.0, 120.0, 80.0].into_iter().enumerate() {
            v.handle_event_timing(100 + i as u64, d);
        }
        assert_eq!(v.end(0, 2 + 49).inp_ms, Some(300.0));
        for (i, d) in [300.0, 250.0, 120.0, 80.0].into_iter().enumerate() {
            v.handle_event_timing(100 + i as u64, d);
        }
        assert_eq!(v.end(0, 51 + 120).inp_ms, Some(120.0), "120 interactions: the two highest ignored");
    }

    #[test]
    fn inp_keeps_only_the_ten_longest() {
        let mut v = Vitals::new(0.0, false);
        for id in 1..=30u64 {
            v.handle_event_timing(id, id as f64 * 8.0);
        }
        assert_eq!(v.interactions.len(), 10);
        assert_eq!(v.interactions.last().map(|i| i.1), Some(21.0 * 8.0));
        assert_eq!(v.end(0, 10_000).inp_ms, Some(21.0 * 8.0), "the index is capped at the list");
    }
}
