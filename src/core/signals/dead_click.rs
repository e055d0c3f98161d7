//! `$dead-click`: a click on something meant to be clicked after which nothing visible
//! happened within 2.5 s — no DOM mutation, navigation or history change, scroll, focus
//! change or form input. Form fields, `contenteditable` and clicks that leave a text
//! selection are never dead clicks.
//!
//! The shell feeds every click with its [`ClickFacts`] and every sign of life with
//! [`handle_activity`](DeadClicks::handle_activity); it needs to watch the DOM (a
//! MutationObserver) only while [`is_waiting`](DeadClicks::is_waiting).

use super::Target;

/// How long nothing must happen after a click for it to be dead.
pub const DEAD_CLICK_WAIT_MS: u64 = 2_500;
/// A focus change this soon after the user pressed a mouse button or a key is the
/// user's doing (the browser focuses what is pressed, Tab moves focus), not the page
/// answering a click.
pub const USER_FOCUS_MS: u64 = 100;
/// Clicks waited on at once; older ones are forgotten beyond this (a flood of clicks on
/// a dead page is a rage click anyway).
const MAX_PENDING: usize = 16;

/// What the shell read about a click's target.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClickFacts {
    /// The target or an ancestor is a link (`a[href]`), `button`, `[role=button]`,
    /// `[role=link]`, `summary` or `label`.
    pub clickable: bool,
    /// The target is an `input`, `select`, `textarea` or `option`.
    pub form_field: bool,
    /// The target is editable (`isContentEditable`).
    pub editable: bool,
    /// The click left a non-empty text selection.
    pub selection: bool,
}

impl ClickFacts {
    /// Whether the click can be a dead click at all.
    pub fn is_candidate(&self) -> bool {
        self.clickable && !self.form_field && !self.editable && !self.selection
    }
}

/// A decided dead click.
#[must_use = "a dead click that is not sent is lost"]
#[derive(Debug, Clone, PartialEq)]
pub struct DeadClick<C> {
    pub at_ms: u64,
    pub click: C,
    /// How long was waited without anything happening (≥ 2500).
    pub wait_ms: u64,
}

/// Inputs: `handle_click`, `handle_activity`. Outputs: [`poll`](Self::poll) at
/// [`poll_timeout`](Self::poll_timeout); [`is_waiting`](Self::is_waiting) says whether
/// the shell must watch for mutations.
pub struct DeadClicks<C> {
    pending: Vec<(u64, C)>,
    last_user_press_ms: Option<u64>,
}

impl<C> Default for DeadClicks<C> {
    fn default() -> Self {
        Self { pending: Vec::new(), last_user_press_ms: None }
    }
}

impl<C: Target> DeadClicks<C> {
    /// A click; a candidate starts a wait (unless the last waiting click was on the same
    /// element: repeated clicks on a dead button are one dead click; only the last one
    /// is compared, each comparison being a call into the DOM).
    pub fn handle_click(&mut self, now_ms: u64, facts: ClickFacts, click: C) {
        if !facts.is_candidate() || self.pending.last().is_some_and(|(_, c)| c.related(&click)) {
            return;
        }
        if self.pending.len() == MAX_PENDING {
            self.pending.remove(0);
        }
        self.pending.push((now_ms, click));
    }

    /// Something visible happened (mutation, navigation, history change, scroll, focus
    /// change, input, the page being hidden): every waiting click was alive.
    pub fn handle_activity(&mut self) {
        self.pending.clear();
    }

    /// The user pressed a mouse button or a key (`mousedown`, `keydown`).
    pub fn handle_user_press(&mut self, now_ms: u64) {
        self.last_user_press_ms = Some(now_ms);
    }

    /// Focus moved (`focusin` / `focusout`): activity, unless the user's own press
    /// moved it.
    pub fn handle_focus_change(&mut self, now_ms: u64) {
        let by_user = self.last_user_press_ms.is_some_and(|at| now_ms.saturating_sub(at) <= USER_FOCUS_MS);
        if !by_user {
            self.handle_activity();
        }
    }

    /// Whether a click is waiting (the shell observes mutations only then).
    pub fn is_waiting(&self) -> bool {
        !self.pending.is_empty()
    }

    pub fn poll_timeout(&self) -> Option<u64> {
        self.pending.first().map(|(at, _)| at + DEAD_CLICK_WAIT_MS)
    }

    pub fn poll(&mut self, now_ms: u64) -> Option<DeadClick<C>> {
        let (at, _) = self.pending.first()?;
        if now_ms < at + DEAD_CLICK_WAIT_MS {
            return None;
        }
        let (at_ms, click) = self.pending.remove(0);
        Some(DeadClick { at_ms, click, wait_ms: now_ms - at_ms })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::signals::tests::El;

    const BUTTON: ClickFacts =
        ClickFacts { clickable: true, form_field: false, editable: false, selection: false };

    #[test]
    fn a_click_with_nothing_after_it_is_dead_after_2500_ms() {
        let mut d = DeadClicks::default();
        d.handle_click(1_000, BUTTON, El::path(&[1, 2]));
        assert!(d.is_waiting());
        assert_eq!(d.poll_timeout(), Some(3_500));
        assert_eq!(d.poll(3_499), None);
        assert_eq!(d.poll(3_520), Some(DeadClick { at_ms: 1_000, click: El::path(&[1, 2]), wait_ms: 2_520 }));
        assert!(!d.is_waiting());
        assert_eq!(d.poll_timeout(), None);
    }

    #[test]
    fn any_activity_within_the_wait_makes_it_alive() {
        let mut d = DeadClicks::default();
        d.handle_click(0, BUTTON, El::path(&[1, 2]));
        d.handle_click(100, BUTTON, El::path(&[1, 3]));
        d.handle_activity();
        assert!(!d.is_waiting());
        assert_eq!(d.poll(10_000), None);
    }

    #[test]
    fn focus_moved_by_the_users_next_press_is_not_the_page_answering() {
        let mut d = DeadClicks::default();
        d.handle_click(0, BUTTON, El::path(&[1, 2]));
        d.handle_user_press(1_000);
        d.handle_focus_change(1_001); // the next mousedown focuses an input
        assert!(d.is_waiting());
        d.handle_focus_change(1_500); // the page moved focus itself
        assert!(!d.is_waiting());
    }

    #[test]
    fn only_clickable_things_outside_forms_and_editing_are_candidates() {
        let mut d = DeadClicks::default();
        for facts in [
            ClickFacts { clickable: false, ..BUTTON },
            ClickFacts { form_field: true, ..BUTTON },
            ClickFacts { editable: true, ..BUTTON },
            ClickFacts { selection: true, ..BUTTON },
        ] {
            assert!(!facts.is_candidate());
            d.handle_click(0, facts, El::path(&[1]));
        }
        assert!(!d.is_waiting());
        assert_eq!(d.poll(10_000), None);
    }

    #[test]
    fn repeated_clicks_on_one_dead_button_are_one_dead_click_and_others_wait_apart() {
        let mut d = DeadClicks::default();
        for t in [0, 100, 200] {
            d.handle_click(t, BUTTON, El::path(&[1, 2]));
        }
        d.handle_click(1_000, BUTTON, El::path(&[1, 7]));
        assert_eq!(d.poll(2_600).map(|c| c.at_ms), Some(0));
        assert_eq!(d.poll(2_600), None);
        assert_eq!(d.poll_timeout(), Some(3_500));
        assert_eq!(d.poll(3_500).map(|c| (c.at_ms, c.wait_ms)), Some((1_000, 2_500)));
    }
}
