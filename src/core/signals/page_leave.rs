//! `$page-leave`: when a page view ends (an SPA navigation to another URL, `pagehide`),
//! its `url`, `path`, `duration_ms` — the time the page was visible, hidden tabs not
//! counted — and `max_scroll_percent`: the largest share (0–100) of the document height
//! the viewport's bottom edge reached, the first screen included.

/// A decided page leave.
#[must_use = "a page leave that is not sent is lost"]
#[derive(Debug, Clone, PartialEq)]
pub struct PageLeave {
    pub at_ms: u64,
    pub url: String,
    pub path: String,
    pub duration_ms: u64,
    pub max_scroll_percent: u32,
}

struct View {
    url: String,
    path: String,
    visible_ms: u64,
    max_scroll_percent: u32,
}

/// Inputs: `handle_page_view`, `handle_visibility`, `handle_scroll`; `end` answers the
/// leave of the current page view.
pub struct PageViews {
    view: Option<View>,
    /// Since when the page is visible (`None`: hidden).
    visible_since: Option<u64>,
}

/// `bottom` (the viewport's bottom edge, in document coordinates) as a share of
/// `height` (the document's), in whole percent, 0–100. A document no taller than the
/// viewport is seen whole.
pub fn scroll_percent(bottom: f64, height: f64) -> u32 {
    if height.is_nan() || height <= 0.0 || bottom >= height {
        return 100;
    }
    if bottom.is_nan() || bottom <= 0.0 {
        return 0;
    }
    // Both positive and bottom < height: in [0, 100], rounded half up.
    ((bottom / height) * 100.0 + 0.5) as u32
}

impl PageViews {
    pub fn new(now_ms: u64, visible: bool) -> Self {
        Self { view: None, visible_since: visible.then_some(now_ms) }
    }

    /// A page view begins; the previous one (if any) ends.
    pub fn handle_page_view(&mut self, now_ms: u64, url: &str, path: &str) -> Option<PageLeave> {
        let left = self.end(now_ms);
        // Visible time counts from the view's start (a page restored from the
        // back/forward cache may have been away since its last view ended).
        if self.visible_since.is_some() {
            self.visible_since = Some(now_ms);
        }
        self.view = Some(View { url: url.into(), path: path.into(), visible_ms: 0, max_scroll_percent: 0 });
        left
    }

    pub fn handle_visibility(&mut self, now_ms: u64, visible: bool) {
        match (visible, self.visible_since) {
            (true, None) => self.visible_since = Some(now_ms),
            (false, Some(since)) => {
                if let Some(view) = &mut self.view {
                    view.visible_ms += now_ms.saturating_sub(since);
                }
                self.visible_since = None;
            }
            _ => {}
        }
    }

    /// The viewport's bottom edge and the document's height, both in CSS pixels.
    pub fn handle_scroll(&mut self, viewport_bottom: f64, document_height: f64) {
        if let Some(view) = &mut self.view {
            view.max_scroll_percent =
                view.max_scroll_percent.max(scroll_percent(viewport_bottom, document_height));
        }
    }

    /// The current page view ends (`pagehide`); `None` when none was running.
    pub fn end(&mut self, now_ms: u64) -> Option<PageLeave> {
        let view = self.view.take()?;
        let visible_now = self.visible_since.map_or(0, |since| now_ms.saturating_sub(since));
        if self.visible_since.is_some() {
            self.visible_since = Some(now_ms);
        }
        Some(PageLeave {
            at_ms: now_ms,
            url: view.url,
            path: view.path,
            duration_ms: view.visible_ms + visible_now,
            max_scroll_percent: view.max_scroll_percent,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scroll_percent_is_the_viewport_bottom_over_the_document_height() {
        assert_eq!(scroll_percent(800.0, 4000.0), 20);
        assert_eq!(scroll_percent(2000.0, 4000.0), 50);
        assert_eq!(scroll_percent(4000.0, 4000.0), 100);
        assert_eq!(scroll_percent(600.0, 500.0), 100, "a short page is seen whole");
        assert_eq!(scroll_percent(0.0, 0.0), 100);
        assert_eq!(scroll_percent(f64::NAN, 100.0), 0);
    }

    #[test]
    fn duration_counts_visible_time_only_and_scroll_keeps_its_maximum() {
        let mut p = PageViews::new(0, true);
        assert_eq!(p.handle_page_view(0, "https://a.test/x?q=1", "/x"), None);
        p.handle_scroll(800.0, 4000.0);
        p.handle_scroll(2000.0, 4000.0);
        p.handle_scroll(900.0, 4000.0); // back up: the maximum stays
        p.handle_visibility(1_000, false);
        p.handle_visibility(61_000, true); // a minute in another tab
        p.handle_visibility(61_000, true); // repeated: ignored
        let left = p.end(62_500).unwrap();
        assert_eq!(
            left,
            PageLeave {
                at_ms: 62_500,
                url: "https://a.test/x?q=1".into(),
                path: "/x".into(),
                duration_ms: 2_500,
                max_scroll_percent: 50
            }
        );
        assert_eq!(p.end(63_000), None, "one leave per page view");
    }

    #[test]
    fn an_spa_navigation_ends_the_previous_view_and_starts_a_fresh_one() {
        let mut p = PageViews::new(0, true);
        let _ = p.handle_page_view(0, "u1", "/1");
        p.handle_scroll(1000.0, 1000.0);
        let left = p.handle_page_view(3_000, "u2", "/2").unwrap();
        assert_eq!((left.path.as_str(), left.duration_ms, left.max_scroll_percent), ("/1", 3_000, 100));
        p.handle_scroll(100.0, 1000.0);
        let left = p.end(4_000).unwrap();
        assert_eq!((left.path.as_str(), left.duration_ms, left.max_scroll_percent), ("/2", 1_000, 10));
    }

    #[test]
    fn a_page_hidden_when_it_ends_counts_nothing_more() {
        let mut p = PageViews::new(0, false);
        let _ = p.handle_page_view(0, "u", "/");
        p.handle_visibility(5_000, true);
        p.handle_visibility(7_000, false);
        assert_eq!(p.end(100_000).unwrap().duration_ms, 2_000);
    }
}
