//! Consent: whether analytics and replay may run, and what happens to events captured
//! while the visitor has not decided yet.
//!
//! - `Granted`: normal operation.
//! - `Pending`: analytics events are kept in memory only (never persisted, never sent),
//!   at most [`PENDING_MAX_BYTES`], the oldest dropped and counted; the recorder does not
//!   run. Granting sends what was kept.
//! - `Denied`: everything buffered or persisted is dropped (counted), nothing is sent.
//!
//! An explicit `optIn()` / `optOut()` is remembered per project and wins over the option
//! on later page loads; Global Privacy Control starts as `Denied` unless the visitor
//! opted in. The access gate is functional, not tracking: consent never changes it.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consent {
    Granted,
    Pending,
    Denied,
}

impl Consent {
    pub fn as_str(self) -> &'static str {
        match self {
            Consent::Granted => "granted",
            Consent::Pending => "pending",
            Consent::Denied => "denied",
        }
    }

    pub fn parse(value: &str) -> Option<Consent> {
        match value {
            "granted" => Some(Consent::Granted),
            "pending" => Some(Consent::Pending),
            "denied" => Some(Consent::Denied),
            _ => None,
        }
    }

    /// What is remembered after an explicit choice (only `granted` / `denied` are).
    pub fn parse_remembered(value: &str) -> Option<Consent> {
        Consent::parse(value).filter(|c| *c != Consent::Pending)
    }

    /// Whether events may be sent (and persisted for the next page).
    pub fn allows_sending(self) -> bool {
        self == Consent::Granted
    }
}

/// The state a page starts in: a remembered explicit choice wins; else Global Privacy
/// Control (when respected) means `Denied`; else the `consent` option.
pub fn initial_consent(
    option: Consent,
    remembered: Option<Consent>,
    respect_gpc: bool,
    gpc: bool,
) -> Consent {
    match remembered {
        Some(choice) => choice,
        None if respect_gpc && gpc => Consent::Denied,
        None => option,
    }
}

/// Most bytes of analytics events kept while consent is pending (1 MiB).
pub const PENDING_MAX_BYTES: usize = 1 << 20;

/// Analytics events captured while consent is pending: memory only, oldest dropped
/// beyond the byte cap.
#[derive(Debug, Default)]
pub struct PendingEvents {
    /// Oldest first (a `Vec`, not a `VecDeque`: dropping from the front is rare, and
    /// one more collection type costs bundle bytes).
    events: Vec<String>,
    bytes: usize,
}

impl PendingEvents {
    /// Keeps `event`; returns how many older events were dropped to make room (an event
    /// larger than the cap on its own is dropped itself: it counts as 1).
    #[must_use]
    pub fn push(&mut self, event: String) -> u64 {
        if event.len() > PENDING_MAX_BYTES {
            return 1;
        }
        let mut dropped = 0;
        while self.bytes + event.len() > PENDING_MAX_BYTES && dropped < self.events.len() {
            self.bytes -= self.events[dropped].len();
            dropped += 1;
        }
        self.events.drain(..dropped);
        self.bytes += event.len();
        self.events.push(event);
        dropped as u64
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Every kept event, oldest first, leaving the buffer empty.
    pub fn take(&mut self) -> Vec<String> {
        self.bytes = 0;
        std::mem::take(&mut self.events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remembered_choice_wins_over_the_option_and_gpc() {
        use Consent::*;
        assert_eq!(initial_consent(Pending, Some(Granted), true, true), Granted);
        assert_eq!(initial_consent(Granted, Some(Denied), true, false), Denied);
        assert_eq!(initial_consent(Granted, None, true, true), Denied, "GPC starts denied");
        assert_eq!(initial_consent(Granted, None, false, true), Granted, "GPC not respected");
        assert_eq!(initial_consent(Pending, None, true, false), Pending);
        assert_eq!(initial_consent(Denied, None, true, false), Denied);
    }

    #[test]
    fn only_explicit_choices_are_remembered() {
        assert_eq!(Consent::parse_remembered("granted"), Some(Consent::Granted));
        assert_eq!(Consent::parse_remembered("denied"), Some(Consent::Denied));
        assert_eq!(Consent::parse_remembered("pending"), None);
        assert_eq!(Consent::parse_remembered("yes"), None);
        for c in [Consent::Granted, Consent::Pending, Consent::Denied] {
            assert_eq!(Consent::parse(c.as_str()), Some(c));
        }
        assert!(Consent::Granted.allows_sending());
        assert!(!Consent::Pending.allows_sending() && !Consent::Denied.allows_sending());
    }

    #[test]
    fn pending_events_keep_the_newest_mebibyte() {
        let mut pending = PendingEvents::default();
        let event = "x".repeat(100_000);
        let mut dropped = 0;
        for _ in 0..15 {
            dropped += pending.push(event.clone());
        }
        assert_eq!(pending.len(), 10, "10 × 100 kB fit in 1 MiB");
        assert_eq!(dropped, 5, "the 5 oldest were dropped and counted");
        assert_eq!(pending.push("y".repeat(PENDING_MAX_BYTES + 1)), 1, "too large on its own");
        let kept = pending.take();
        assert_eq!(kept.len(), 10);
        assert!(pending.is_empty());
        assert_eq!(pending.push("z".into()), 0);
    }
}
