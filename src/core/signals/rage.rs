//! `$rage-click`: three or more clicks within 1 s, each within 30 px of the first, on
//! the same element or an element related to it (its ancestor or descendant: a click on
//! a button's label and one on its padding are the same button). One event per burst,
//! decided when the burst ends (1 s without a fitting click), carrying the first
//! click's payload and `click_count`.

use super::Target;

/// Clicks of a burst fall within this much of the previous one; the first three within
/// this much of the first.
pub const RAGE_WINDOW_MS: u64 = 1_000;
/// Every click of a burst is at most this far from its first click.
pub const RAGE_RADIUS_PX: f64 = 30.0;
/// Clicks that make a burst a rage click.
pub const RAGE_MIN_CLICKS: u32 = 3;

/// A decided rage click.
#[must_use = "a rage click that is not sent is lost"]
#[derive(Debug, Clone, PartialEq)]
pub struct RageClick<C> {
    /// When the burst began (its first click).
    pub at_ms: u64,
    /// The first click's payload.
    pub click: C,
    pub click_count: u32,
}

/// Within [`RAGE_RADIUS_PX`] of `(x, y)`.
fn within(x: f64, y: f64, fx: f64, fy: f64) -> bool {
    let (dx, dy) = (x - fx, y - fy);
    dx * dx + dy * dy <= RAGE_RADIUS_PX * RAGE_RADIUS_PX
}

fn near<C: Target>(c: &Click<C>, first: &Click<C>) -> bool {
    within(c.x, c.y, first.x, first.y) && c.click.related(&first.click)
}

struct Click<C> {
    at_ms: u64,
    x: f64,
    y: f64,
    click: C,
}

/// Inputs: [`handle_click`](Self::handle_click). Outputs: [`poll`](Self::poll) at
/// [`poll_timeout`](Self::poll_timeout).
pub struct RageClicks<C> {
    /// The burst so far; once it qualified, only its first click is kept.
    burst: Vec<Click<C>>,
    count: u32,
    last_ms: u64,
    out: Vec<RageClick<C>>,
}

impl<C> Default for RageClicks<C> {
    fn default() -> Self {
        Self { burst: Vec::new(), count: 0, last_ms: 0, out: Vec::new() }
    }
}

impl<C: Target> RageClicks<C> {
    pub fn handle_click(&mut self, now_ms: u64, x: f64, y: f64, click: C) {
        self.end_if_over(now_ms);
        let fits = self.burst.first().is_some_and(|first| {
            now_ms.saturating_sub(self.last_ms) <= RAGE_WINDOW_MS
                && within(x, y, first.x, first.y)
                && click.related(&first.click)
        });
        if !fits {
            self.end_burst();
        }
        self.last_ms = now_ms;
        if self.qualified() {
            self.count += 1;
            return;
        }
        self.burst.push(Click { at_ms: now_ms, x, y, click });
        // Not yet a rage click: first clicks more than 1 s before this one leave the
        // burst, and the clicks left must fit the new first click.
        while self.burst.len() > 1 && now_ms - self.burst[0].at_ms > RAGE_WINDOW_MS {
            self.burst.remove(0);
            // Every click (the first one too) is kept when it is near the first one; the
            // first is dropped last, as it is what the others are compared with.
            let keep_first = near(&self.burst[0], &self.burst[0]);
            let mut i = 1;
            while i < self.burst.len() {
                if near(&self.burst[i], &self.burst[0]) {
                    i += 1;
                } else {
                    self.burst.remove(i);
                }
            }
            if !keep_first {
                self.burst.remove(0);
            }
        }
        self.count = self.burst.len() as u32;
        if self.qualified() {
            self.burst.truncate(1);
        }
    }

    fn qualified(&self) -> bool {
        self.count >= RAGE_MIN_CLICKS
    }

    fn end_if_over(&mut self, now_ms: u64) {
        if !self.burst.is_empty() && now_ms.saturating_sub(self.last_ms) > RAGE_WINDOW_MS {
            self.end_burst();
        }
    }

    fn end_burst(&mut self) {
        let qualified = self.qualified();
        let count = std::mem::take(&mut self.count);
        let mut burst = std::mem::take(&mut self.burst);
        if qualified && !burst.is_empty() {
            let first = burst.swap_remove(0);
            self.out.push(RageClick { at_ms: first.at_ms, click: first.click, click_count: count });
        }
    }

    /// When [`poll`](Self::poll) has something to say (a qualified burst ends).
    pub fn poll_timeout(&self) -> Option<u64> {
        if !self.out.is_empty() {
            return Some(0);
        }
        self.qualified().then_some(self.last_ms + RAGE_WINDOW_MS + 1)
    }

    pub fn poll(&mut self, now_ms: u64) -> Option<RageClick<C>> {
        self.end_if_over(now_ms);
        (!self.out.is_empty()).then(|| self.out.remove(0))
    }

    /// Ends the current burst now (page end): a qualified one is reported.
    pub fn flush(&mut self) {
        self.end_burst();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::signals::tests::El;

    fn drain(r: &mut RageClicks<El>, now: u64) -> Vec<RageClick<El>> {
        std::iter::from_fn(|| r.poll(now)).collect()
    }

    #[test]
    fn three_clicks_within_a_second_are_one_rage_click_with_the_count() {
        let mut r = RageClicks::default();
        let button = El::path(&[1, 2, 3]);
        for (i, t) in [1000u64, 1200, 1400, 1600, 1800].into_iter().enumerate() {
            r.handle_click(t, 100.0 + i as f64, 50.0, button.clone());
            assert!(drain(&mut r, t).is_empty(), "nothing before the burst ends");
        }
        assert_eq!(r.poll_timeout(), Some(2801));
        assert!(drain(&mut r, 2800).is_empty());
        let out = drain(&mut r, 2801);
        assert_eq!(out, vec![RageClick { at_ms: 1000, click: button, click_count: 5 }]);
        assert_eq!(r.poll_timeout(), None);
    }

    #[test]
    fn two_clicks_or_slow_clicks_are_not_rage() {
        let mut r = RageClicks::default();
        let b = El::path(&[1, 2]);
        r.handle_click(0, 0.0, 0.0, b.clone());
        r.handle_click(300, 0.0, 0.0, b.clone());
        assert_eq!(r.poll_timeout(), None);
        assert!(drain(&mut r, 5000).is_empty());
        // Three clicks, 600 ms apart: each within 1 s of the previous, never three in 1 s.
        for t in [10_000, 10_600, 11_200] {
            r.handle_click(t, 0.0, 0.0, b.clone());
        }
        assert!(drain(&mut r, 20_000).is_empty());
    }

    #[test]
    fn a_sliding_second_counts_the_last_three() {
        let mut r = RageClicks::default();
        let b = El::path(&[1]);
        for t in [0, 900, 1800, 1850] {
            r.handle_click(t, 0.0, 0.0, b.clone());
        }
        let out = drain(&mut r, 3000);
        assert_eq!(out.len(), 1);
        assert_eq!((out[0].at_ms, out[0].click_count), (900, 3));
    }

    #[test]
    fn far_clicks_and_unrelated_elements_break_the_burst() {
        let mut r = RageClicks::default();
        let a = El::path(&[1, 2]);
        r.handle_click(0, 0.0, 0.0, a.clone());
        r.handle_click(100, 31.0, 0.0, a.clone()); // 31 px away: a new burst
        r.handle_click(200, 0.0, 0.0, a.clone()); // 31 px from that one's first
        assert!(drain(&mut r, 5000).is_empty());

        let other = El::path(&[1, 9]);
        r.handle_click(10_000, 0.0, 0.0, a.clone());
        r.handle_click(10_100, 0.0, 0.0, other.clone());
        r.handle_click(10_200, 0.0, 0.0, a.clone());
        assert!(drain(&mut r, 20_000).is_empty(), "a sibling is not the same element");
    }

    #[test]
    fn ancestors_and_descendants_of_the_first_target_count() {
        let mut r = RageClicks::default();
        let label = El::path(&[1, 2, 3]);
        let button = El::path(&[1, 2]);
        r.handle_click(0, 10.0, 10.0, label.clone());
        r.handle_click(150, 20.0, 12.0, button.clone());
        r.handle_click(300, 12.0, 30.0, label.clone());
        let out = drain(&mut r, 1301);
        assert_eq!(out.len(), 1);
        assert_eq!((out[0].click.clone(), out[0].click_count), (label, 3));
    }

    #[test]
    fn a_click_elsewhere_ends_a_qualified_burst_at_once() {
        let mut r = RageClicks::default();
        let b = El::path(&[1]);
        for t in [0, 100, 200] {
            r.handle_click(t, 0.0, 0.0, b.clone());
        }
        r.handle_click(300, 500.0, 500.0, b.clone());
        assert_eq!(r.poll_timeout(), Some(0));
        assert_eq!(drain(&mut r, 300).len(), 1);
    }
}
