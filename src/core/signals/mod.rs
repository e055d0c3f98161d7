//! Product signals (api.md "Signals"): `$rage-click`, `$dead-click`, `$page-leave`,
//! `$web-vitals` and `$exception`, decided from timestamped inputs.
//!
//! [`Signals`] bundles the detectors behind one quinn-style interface:
//!
//! - `handle_*`: what the browser saw (clicks, activity, page views, visibility,
//!   scrolls, performance entries through [`Signals::vitals`], exceptions);
//! - [`Signals::poll_timeout`]: when to call [`Signals::poll`] next (one timer for all);
//! - [`Signals::poll`]`(now)`: the next decided [`Signal`], until `None`.
//!
//! A driver calls the `handle_*` methods as events arrive, then drains `poll(now)` and
//! re-arms its single timer at `poll_timeout()`. The click payload `C` is the shell's
//! (the DOM event, read lazily for the `$click` fields); the core only asks it whether
//! two clicks hit related elements ([`Target`]).

pub mod dead_click;
pub mod exceptions;
pub mod page_leave;
pub mod rage;
pub mod vitals;

use crate::core::json::ObjectWriter;
use dead_click::{ClickFacts, DeadClick, DeadClicks};
use exceptions::{ExceptionEvent, ExceptionInfo, Exceptions};
use page_leave::{PageLeave, PageViews};
use rage::{RageClick, RageClicks};
use vitals::{Vitals, VitalsReport};

/// A click's target, as far as the detectors care.
pub trait Target {
    /// The two clicks hit the same element, or one hit an ancestor of the other's.
    fn related(&self, other: &Self) -> bool;
}

/// Which signals are on (`analytics.rageClicks` … `analytics.captureExceptions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignalOptions {
    pub rage_clicks: bool,
    pub dead_clicks: bool,
    pub page_leave: bool,
    pub web_vitals: bool,
    pub capture_exceptions: bool,
}

impl Default for SignalOptions {
    fn default() -> Self {
        Self {
            rage_clicks: true,
            dead_clicks: true,
            page_leave: true,
            web_vitals: true,
            capture_exceptions: false,
        }
    }
}

impl SignalOptions {
    /// Whether clicks need to be watched at all.
    pub fn clicks(&self) -> bool {
        self.rage_clicks || self.dead_clicks
    }
}

/// A decided signal, to be sent as an analytics event and marked in the replay.
#[must_use = "a signal that is not sent is lost"]
#[derive(Debug, Clone, PartialEq)]
pub enum Signal<C> {
    RageClick(RageClick<C>),
    DeadClick(DeadClick<C>),
    PageLeave(PageLeave),
    WebVitals(VitalsReport),
    Exception(ExceptionEvent),
}

impl<C> Signal<C> {
    pub fn event_type(&self) -> &'static str {
        match self {
            Signal::RageClick(_) => "$rage-click",
            Signal::DeadClick(_) => "$dead-click",
            Signal::PageLeave(_) => "$page-leave",
            Signal::WebVitals(_) => "$web-vitals",
            Signal::Exception(_) => "$exception",
        }
    }

    /// When it happened (ms since the epoch): the burst's first click, the dead click,
    /// the page view's end, the first of the identical exceptions.
    pub fn at_ms(&self) -> u64 {
        match self {
            Signal::RageClick(s) => s.at_ms,
            Signal::DeadClick(s) => s.at_ms,
            Signal::PageLeave(s) => s.at_ms,
            Signal::WebVitals(s) => s.at_ms,
            Signal::Exception(s) => s.at_ms,
        }
    }

    /// The click whose `$click` fields the event carries (rage and dead clicks).
    pub fn click(&self) -> Option<&C> {
        match self {
            Signal::RageClick(s) => Some(&s.click),
            Signal::DeadClick(s) => Some(&s.click),
            _ => None,
        }
    }

    /// The event's `data` as JSON. `click_fields` is the click's `$click` data object
    /// (for rage and dead clicks; `"{}"` when the shell could not read it).
    pub fn data_json(&self, click_fields: &str) -> String {
        let mut w = ObjectWriter::extending(click_fields);
        match self {
            Signal::RageClick(s) => w.uint("click_count", s.click_count.into()),
            Signal::DeadClick(s) => w.uint("wait_ms", s.wait_ms),
            Signal::PageLeave(s) => {
                w.string("url", &s.url);
                w.string("path", &s.path);
                w.uint("duration_ms", s.duration_ms);
                w.uint("max_scroll_percent", s.max_scroll_percent.into());
            }
            Signal::WebVitals(s) => {
                // Milliseconds to 0.01 (a local TTFB is about 1 ms), CLS to 0.00001.
                let fields = [
                    ("lcp_ms", s.lcp_ms, 2),
                    ("inp_ms", s.inp_ms, 2),
                    ("cls", s.cls, 5),
                    ("fcp_ms", s.fcp_ms, 2),
                    ("ttfb_ms", s.ttfb_ms, 2),
                ];
                for (key, value, places) in fields {
                    if let Some(value) = value {
                        w.decimal(key, value, places);
                    }
                }
            }
            Signal::Exception(s) => {
                w.string("message", &s.info.message);
                w.string("type", &s.info.kind);
                w.string("stack", &s.info.stack);
                w.string("source", &s.info.source);
                w.uint("line", s.info.line.into());
                w.uint("column", s.info.column.into());
                w.uint("count", s.count.into());
            }
        }
        w.finish()
    }
}

/// Every detector, behind one `handle_*` / `poll_timeout` / `poll` interface.
pub struct Signals<C> {
    options: SignalOptions,
    rage: RageClicks<C>,
    dead: DeadClicks<C>,
    pages: PageViews,
    vitals: Vitals,
    exceptions: Exceptions,
    out: Vec<Signal<C>>,
}

impl<C: Target + Clone> Signals<C> {
    /// `visible`: the document is visible now; `vitals`: see [`Vitals::new`].
    pub fn new(options: SignalOptions, now_ms: u64, visible: bool, vitals: Vitals) -> Self {
        Self {
            options,
            rage: RageClicks::default(),
            dead: DeadClicks::default(),
            pages: PageViews::new(now_ms, visible),
            vitals,
            exceptions: Exceptions::default(),
            out: Vec::new(),
        }
    }

    pub fn options(&self) -> SignalOptions {
        self.options
    }

    /// A click at viewport position `(x, y)`.
    pub fn handle_click(&mut self, now_ms: u64, x: f64, y: f64, facts: ClickFacts, click: C) {
        if self.options.dead_clicks {
            self.dead.handle_click(now_ms, facts, click.clone());
        }
        if self.options.rage_clicks {
            self.rage.handle_click(now_ms, x, y, click);
        }
    }

    /// Something visible happened: a mutation, navigation, history change, scroll,
    /// focus change or input.
    pub fn handle_activity(&mut self) {
        self.dead.handle_activity();
    }

    /// The user pressed a mouse button or a key.
    pub fn handle_user_press(&mut self, now_ms: u64) {
        self.dead.handle_user_press(now_ms);
    }

    /// Focus moved (activity unless the user's own press moved it).
    pub fn handle_focus_change(&mut self, now_ms: u64) {
        self.dead.handle_focus_change(now_ms);
    }

    /// Whether the shell must watch for DOM mutations (a click waits to be judged).
    pub fn watching_mutations(&self) -> bool {
        self.dead.is_waiting()
    }

    /// A page view begins (the first, or an SPA navigation to another URL): the previous
    /// one ends.
    pub fn handle_page_view(&mut self, now_ms: u64, url: &str, path: &str, interaction_count: u64) {
        if let Some(left) = self.pages.handle_page_view(now_ms, url, path) {
            self.dead.handle_activity();
            if self.options.page_leave {
                self.out.push(Signal::PageLeave(left));
            }
            self.end_page_view(now_ms, interaction_count);
        }
    }

    fn end_page_view(&mut self, now_ms: u64, interaction_count: u64) {
        self.rage.flush();
        while let Some(r) = self.rage.poll(now_ms) {
            self.out.push(Signal::RageClick(r));
        }
        self.exceptions.handle_page_end(now_ms);
        let vitals = self.vitals.end(now_ms, interaction_count);
        if self.options.web_vitals && !vitals.is_empty() {
            self.out.push(Signal::WebVitals(vitals));
        }
    }

    pub fn handle_visibility(&mut self, now_ms: u64, visible: bool, perf_now: f64) {
        self.pages.handle_visibility(now_ms, visible);
        if !visible {
            self.vitals.handle_hidden(perf_now);
        }
    }

    /// The viewport's bottom edge and the document height, in CSS pixels.
    pub fn handle_scroll(&mut self, viewport_bottom: f64, document_height: f64) {
        self.pages.handle_scroll(viewport_bottom, document_height);
    }

    /// The page is being left (`pagehide`): the page view ends, and everything decided
    /// is ready to be polled at once, for the unload path.
    pub fn handle_page_hide(&mut self, now_ms: u64, interaction_count: u64) {
        self.dead.handle_activity();
        if let Some(left) = self.pages.end(now_ms) {
            if self.options.page_leave {
                self.out.push(Signal::PageLeave(left));
            }
        }
        self.end_page_view(now_ms, interaction_count);
    }

    /// Performance entries go here (see [`Vitals`]).
    pub fn vitals(&mut self) -> &mut Vitals {
        &mut self.vitals
    }

    pub fn handle_exception(&mut self, now_ms: u64, info: ExceptionInfo) {
        if self.options.capture_exceptions {
            self.exceptions.handle_exception(now_ms, info);
        }
    }

    /// Exceptions not sent (rate limit, distinct-exception cap).
    pub fn dropped_exceptions(&self) -> u32 {
        self.exceptions.dropped()
    }

    /// When to call [`poll`](Self::poll) next (ms since the epoch; `0`: now).
    pub fn poll_timeout(&self) -> Option<u64> {
        if !self.out.is_empty() {
            return Some(0);
        }
        crate::core::json::earliest(&[
            self.rage.poll_timeout(),
            self.dead.poll_timeout(),
            self.exceptions.poll_timeout(),
        ])
    }

    pub fn poll(&mut self, now_ms: u64) -> Option<Signal<C>> {
        if !self.out.is_empty() {
            return Some(self.out.remove(0));
        }
        if let Some(r) = self.rage.poll(now_ms) {
            return Some(Signal::RageClick(r));
        }
        if let Some(d) = self.dead.poll(now_ms) {
            return Some(Signal::DeadClick(d));
        }
        self.exceptions.poll(now_ms).map(Signal::Exception)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A mock element: its path of ids from the root.
    #[derive(Debug, Clone, PartialEq)]
    pub struct El(pub Vec<u32>);

    impl El {
        pub fn path(ids: &[u32]) -> Self {
            El(ids.to_vec())
        }
    }

    impl Target for El {
        fn related(&self, other: &Self) -> bool {
            self.0.starts_with(&other.0) || other.0.starts_with(&self.0)
        }
    }

    const BUTTON: ClickFacts =
        ClickFacts { clickable: true, form_field: false, editable: false, selection: false };

    /// A driver loop with a virtual clock: polls at each timeout up to `until`.
    fn run_until(s: &mut Signals<El>, clock: &mut u64, until: u64) -> Vec<Signal<El>> {
        let mut out = Vec::new();
        loop {
            while let Some(signal) = s.poll(*clock) {
                out.push(signal);
            }
            match s.poll_timeout() {
                Some(t) if t <= until => *clock = (*clock).max(t),
                _ => break,
            }
        }
        *clock = until;
        out
    }

    #[test]
    fn a_rage_burst_on_a_dead_button_is_one_rage_and_one_dead_click() {
        let mut s = Signals::new(SignalOptions::default(), 0, true, Vitals::default());
        s.handle_page_view(0, "https://a.test/", "/", 0);
        let mut clock = 1_000;
        for t in [1_000, 1_100, 1_200, 1_300] {
            s.handle_click(t, 10.0, 10.0, BUTTON, El::path(&[1, 2]));
        }
        assert!(s.watching_mutations());
        let out = run_until(&mut s, &mut clock, 10_000);
        let kinds: Vec<_> = out.iter().map(|s| (s.event_type(), s.at_ms())).collect();
        assert_eq!(kinds, [("$rage-click", 1_000), ("$dead-click", 1_000)]);
        assert_eq!(out[0].data_json(r#"{"tag_name":"button"}"#), r#"{"tag_name":"button","click_count":4}"#);
        assert_eq!(out[1].data_json(r#"{"tag_name":"button"}"#), r#"{"tag_name":"button","wait_ms":2500}"#);
        assert!(!s.watching_mutations());
    }

    #[test]
    fn options_switch_detectors_off() {
        let options = SignalOptions {
            rage_clicks: false,
            dead_clicks: false,
            page_leave: false,
            web_vitals: false,
            capture_exceptions: false,
        };
        let mut s = Signals::new(options, 0, true, Vitals::default());
        s.handle_page_view(0, "u", "/", 0);
        s.vitals().handle_fcp(10.0);
        for t in [0, 10, 20] {
            s.handle_click(t, 0.0, 0.0, BUTTON, El::path(&[1]));
        }
        s.handle_exception(30, ExceptionInfo::default());
        s.handle_page_hide(40, 0);
        let mut clock = 40;
        assert!(run_until(&mut s, &mut clock, 100_000).is_empty());
    }

    #[test]
    fn page_hide_hands_over_everything_at_once_for_the_unload_path() {
        let options = SignalOptions { capture_exceptions: true, ..SignalOptions::default() };
        let mut s = Signals::new(options, 0, true, Vitals::default());
        s.handle_page_view(0, "https://a.test/a", "/a", 0);
        s.vitals().handle_layout_shift_supported();
        s.vitals().handle_fcp(120.0);
        s.handle_scroll(500.0, 1000.0);
        for t in [100, 200, 300] {
            s.handle_click(t, 0.0, 0.0, ClickFacts::default(), El::path(&[1]));
        }
        s.handle_exception(400, ExceptionInfo { message: "x".into(), ..ExceptionInfo::default() });
        s.handle_page_hide(600, 0);
        let kinds: Vec<_> = std::iter::from_fn(|| s.poll(600)).map(|s| s.event_type()).collect();
        assert_eq!(kinds, ["$page-leave", "$rage-click", "$web-vitals", "$exception"]);
    }

    #[test]
    fn an_spa_navigation_sends_the_previous_views_leave_and_vitals() {
        let mut s: Signals<El> = Signals::new(SignalOptions::default(), 0, true, Vitals::default());
        s.handle_page_view(0, "https://a.test/a", "/a", 0);
        s.vitals().handle_fcp(50.0);
        s.handle_page_view(2_000, "https://a.test/b", "/b", 0);
        let out: Vec<_> = std::iter::from_fn(|| s.poll(2_000)).collect();
        assert_eq!(out.len(), 2, "{out:?}");
        assert_eq!(out[0].event_type(), "$page-leave");
        assert_eq!(
            out[0].data_json(""),
            r#"{"url":"https://a.test/a","path":"/a","duration_ms":2000,"max_scroll_percent":0}"#
        );
        assert_eq!(out[1].data_json(""), r#"{"fcp_ms":50}"#);
    }

    #[test]
    fn a_page_restored_after_its_pagehide_is_a_new_page_view() {
        let mut s: Signals<El> = Signals::new(SignalOptions::default(), 0, true, Vitals::default());
        s.handle_page_view(0, "u", "/a", 0);
        s.handle_page_hide(1_000, 0);
        let kinds: Vec<_> = std::iter::from_fn(|| s.poll(1_000)).map(|s| s.event_type()).collect();
        assert_eq!(kinds, ["$page-leave"]);
        s.handle_page_hide(2_000, 0);
        assert_eq!(s.poll(2_000), None, "no page view, no leave");
        // Back from the back/forward cache (`pageshow` with `persisted`).
        s.handle_page_view(60_000, "u", "/a", 0);
        s.handle_page_hide(61_500, 0);
        match s.poll(61_500) {
            Some(Signal::PageLeave(leave)) => assert_eq!(leave.duration_ms, 1_500),
            other => panic!("expected a page leave, got {other:?}"),
        }
    }

    #[test]
    fn decimals_are_written_without_float_formatting() {
        let report = VitalsReport {
            at_ms: 0,
            lcp_ms: Some(1234.56),
            inp_ms: Some(0.0),
            cls: Some(0.05),
            fcp_ms: None,
            ttfb_ms: Some(7.4),
        };
        let json = Signal::<El>::WebVitals(report).data_json("{}");
        assert_eq!(json, r#"{"lcp_ms":1234.56,"inp_ms":0,"cls":0.05,"ttfb_ms":7.4}"#);
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["cls"], 0.05);
        let cls = Signal::<El>::WebVitals(VitalsReport { cls: Some(0.100049), ..VitalsReport::default() });
        assert_eq!(cls.data_json("{}"), r#"{"cls":0.10005}"#);
        let small = Signal::<El>::WebVitals(VitalsReport { ttfb_ms: Some(1.004), ..VitalsReport::default() });
        assert_eq!(small.data_json("{}"), r#"{"ttfb_ms":1}"#);
        let small = Signal::<El>::WebVitals(VitalsReport { ttfb_ms: Some(1.06), ..VitalsReport::default() });
        assert_eq!(small.data_json("{}"), r#"{"ttfb_ms":1.06}"#);
    }
}
