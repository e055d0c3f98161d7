//! What happens to the recorder's events before upload: sampling, the minimum and
//! maximum durations of a browser session's replay, the `"on-error"` window, and the
//! mutation-storm limit. Plain data in, decisions out; the shell (`web::replay`) owns
//! the recorder and the timers.
//!
//! A driver calls, in this order:
//! - [`sampled_in`] once per browser session (no state: the same session id always gives
//!   the same answer, so reloads of a session agree without storing anything);
//! - [`ReplayControls::handle_event`] for each event the recorder emits, uploading what it
//!   returns;
//! - [`ReplayControls::poll_timeout`] to arm one timer, and [`ReplayControls::poll`] when
//!   it fires, carrying out each [`ControlAction`];
//! - [`ReplayControls::handle_trigger`] on an uncaught error or `captureReplay()`;
//! - [`ReplayControls::handle_new_session`] when the browser session rotates.

/// `replays.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayMode {
    /// Record and send everything.
    Always,
    /// Keep only the last `error_buffer_ms` in memory; send on a trigger.
    OnError,
}

impl ReplayMode {
    pub fn parse(value: &str) -> Option<ReplayMode> {
        match value {
            "always" => Some(ReplayMode::Always),
            "on-error" => Some(ReplayMode::OnError),
            _ => None,
        }
    }
}

/// `sl.replayState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayState {
    Off,
    PendingConsent,
    SampledOut,
    Buffering,
    Recording,
    Stopped,
}

impl ReplayState {
    pub fn as_str(self) -> &'static str {
        match self {
            ReplayState::Off => "off",
            ReplayState::PendingConsent => "pending-consent",
            ReplayState::SampledOut => "sampled-out",
            ReplayState::Buffering => "buffering",
            ReplayState::Recording => "recording",
            ReplayState::Stopped => "stopped",
        }
    }
}

/// Why the recorder stopped (the `reason` of the `sightline/recording-stopped` event).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    MaxSessionDuration,
    MutationLimit,
}

impl StopReason {
    pub fn as_str(self) -> &'static str {
        match self {
            StopReason::MaxSessionDuration => "max-session-duration",
            StopReason::MutationLimit => "mutation-limit",
        }
    }
}

/// A stable hash of the session id (the same in every tab and reload): FNV-1a, 64 bits,
/// with MurmurHash3's finalizer so that ids differing in one character spread over the
/// whole range.
fn session_hash(text: &str) -> u64 {
    let mut h = text
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ byte as u64).wrapping_mul(0x100_0000_01b3));
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// Whether the browser session `session_id` is recorded at `sample_rate` (0–1): decided
/// from the id alone, so every reload of the session gives the same answer.
pub fn sampled_in(session_id: &str, sample_rate: f64) -> bool {
    if sample_rate >= 1.0 {
        return true;
    }
    if sample_rate.is_nan() || sample_rate <= 0.0 {
        return false;
    }
    let unit = (session_hash(session_id) >> 11) as f64 / (1u64 << 53) as f64;
    unit < sample_rate
}

/// The options that shape a replay (`replays.*`).
#[derive(Debug, Clone, PartialEq)]
pub struct ControlsConfig {
    pub mode: ReplayMode,
    pub error_buffer_ms: u64,
    pub minimum_duration_ms: u64,
    pub max_session_duration_ms: u64,
}

impl Default for ControlsConfig {
    fn default() -> Self {
        ControlsConfig {
            mode: ReplayMode::Always,
            error_buffer_ms: 60_000,
            minimum_duration_ms: 0,
            max_session_duration_ms: 3_600_000,
        }
    }
}

/// What the driver must do when [`ReplayControls::poll`] answers.
#[must_use]
#[derive(Debug, Clone, PartialEq)]
pub enum ControlAction {
    /// Upload these events (held back until the minimum duration was reached).
    Release(Vec<String>),
    /// Take a fresh Meta + FullSnapshot (the on-error window slides).
    Checkout,
    /// Stop the recorder (after writing the `sightline/recording-stopped` event).
    Stop(StopReason),
}

/// Events since one Meta + FullSnapshot.
#[derive(Debug)]
struct Segment {
    started_ms: u64,
    events: Vec<String>,
}

#[derive(Debug)]
pub struct ReplayControls {
    config: ControlsConfig,
    /// The current mode: `OnError` switches to `Always` on a trigger, for the rest of
    /// the browser session.
    mode: ReplayMode,
    session_started_ms: u64,
    /// Events held back until the session lasted `minimum_duration_ms`.
    held: Vec<String>,
    /// The on-error window, oldest segment first.
    window: Vec<Segment>,
    next_checkout_ms: u64,
    stopped: Option<StopReason>,
}

impl ReplayControls {
    pub fn new(config: ControlsConfig, session_started_ms: u64, now_ms: u64) -> ReplayControls {
        let mode = config.mode;
        let mut controls = ReplayControls {
            config,
            mode,
            session_started_ms,
            held: Vec::new(),
            window: Vec::new(),
            next_checkout_ms: 0,
            stopped: None,
        };
        controls.next_checkout_ms = now_ms.saturating_add(controls.checkout_interval_ms());
        controls
    }

    /// The on-error window slides by taking a fresh snapshot every half window, so a
    /// segment that began at most `error_buffer_ms` ago always exists.
    fn checkout_interval_ms(&self) -> u64 {
        (self.config.error_buffer_ms / 2).max(1)
    }

    pub fn mode(&self) -> ReplayMode {
        self.mode
    }

    pub fn state(&self) -> ReplayState {
        match (self.stopped, self.mode) {
            (Some(_), _) => ReplayState::Stopped,
            (None, ReplayMode::OnError) => ReplayState::Buffering,
            (None, ReplayMode::Always) => ReplayState::Recording,
        }
    }

    /// A new browser session began (rotation, `clearBuffer()`): the configured mode, a
    /// fresh duration count, and nothing of the old session kept.
    pub fn handle_new_session(&mut self, session_started_ms: u64, now_ms: u64) {
        *self = ReplayControls::new(self.config.clone(), session_started_ms, now_ms);
    }

    fn minimum_reached(&self, now_ms: u64) -> bool {
        now_ms.saturating_sub(self.session_started_ms) >= self.config.minimum_duration_ms
    }

    /// One event from the recorder (`starts_snapshot`: a Meta, which a FullSnapshot
    /// follows); returns the events to upload now, oldest first.
    #[must_use]
    pub fn handle_event(&mut self, now_ms: u64, event: String, starts_snapshot: bool) -> Vec<String> {
        if self.stopped.is_some() {
            return Vec::new();
        }
        match self.mode {
            ReplayMode::OnError => {
                match self.window.last_mut() {
                    Some(segment) if !starts_snapshot => segment.events.push(event),
                    _ => self.window.push(Segment { started_ms: now_ms, events: vec![event] }),
                }
                self.trim_window(now_ms);
                Vec::new()
            }
            ReplayMode::Always if !self.minimum_reached(now_ms) => {
                self.held.push(event);
                Vec::new()
            }
            ReplayMode::Always => {
                let mut out = std::mem::take(&mut self.held);
                out.push(event);
                out
            }
        }
    }

    /// Drops the segments that began more than `error_buffer_ms` ago, as long as a
    /// newer one exists (every segment starts with Meta + FullSnapshot).
    fn trim_window(&mut self, now_ms: u64) {
        let oldest_allowed = now_ms.saturating_sub(self.config.error_buffer_ms);
        let stale = self.window.iter().take_while(|s| s.started_ms < oldest_allowed).count();
        // Keep the newest segment even when it is older (every segment starts with Meta).
        self.window.drain(..stale.min(self.window.len().saturating_sub(1)));
    }

    /// An uncaught error, an unhandled rejection or `captureReplay()`: in `"on-error"`
    /// mode, the window (then `marker`, the Custom event that marks the moment) is
    /// returned for upload and the session records as `"always"` from here on. In
    /// `"always"` mode only the marker is recorded (through `handle_event`).
    #[must_use]
    pub fn handle_trigger(&mut self, now_ms: u64, marker: String) -> Vec<String> {
        if self.stopped.is_some() {
            return Vec::new();
        }
        if self.mode == ReplayMode::Always {
            return self.handle_event(now_ms, marker, false);
        }
        self.trim_window(now_ms);
        self.mode = ReplayMode::Always;
        let mut out: Vec<String> = Vec::new();
        for mut segment in self.window.drain(..) {
            out.append(&mut segment.events);
        }
        out.push(marker);
        // Held events of the minimum duration do not apply to a triggered replay: the
        // error is the reason to send it.
        self.session_started_ms =
            self.session_started_ms.min(now_ms.saturating_sub(self.config.minimum_duration_ms));
        out
    }

    /// The stop caused by a mutation storm (see [`StormGuard`]).
    pub fn handle_stop(&mut self, reason: StopReason) {
        self.stopped.get_or_insert(reason);
        self.held.clear();
        self.window.clear();
    }

    /// The page is being left: events still held back belong to a replay shorter than
    /// the minimum, which is never sent. Returns how many were dropped.
    pub fn handle_unload(&mut self, now_ms: u64) -> usize {
        if self.minimum_reached(now_ms) {
            return 0;
        }
        std::mem::take(&mut self.held).len()
    }

    /// When [`poll`](Self::poll) next has something to do.
    pub fn poll_timeout(&self) -> Option<u64> {
        if self.stopped.is_some() {
            return None;
        }
        let stop = self.session_started_ms.saturating_add(self.config.max_session_duration_ms);
        let release = (!self.held.is_empty())
            .then(|| self.session_started_ms.saturating_add(self.config.minimum_duration_ms));
        let checkout = (self.mode == ReplayMode::OnError).then_some(self.next_checkout_ms);
        crate::core::json::earliest(&[Some(stop), release, checkout])
    }

    /// What is due at `now_ms`, one action at a time (call again until `None`).
    pub fn poll(&mut self, now_ms: u64) -> Option<ControlAction> {
        if self.stopped.is_some() {
            return None;
        }
        if now_ms.saturating_sub(self.session_started_ms) >= self.config.max_session_duration_ms {
            self.handle_stop(StopReason::MaxSessionDuration);
            return Some(ControlAction::Stop(StopReason::MaxSessionDuration));
        }
        if !self.held.is_empty() && self.minimum_reached(now_ms) && self.mode == ReplayMode::Always {
            return Some(ControlAction::Release(std::mem::take(&mut self.held)));
        }
        if self.mode == ReplayMode::OnError && now_ms >= self.next_checkout_ms {
            self.next_checkout_ms = now_ms.saturating_add(self.checkout_interval_ms());
            return Some(ControlAction::Checkout);
        }
        None
    }
}

/// Most records one MutationObserver callback may have before it is replaced by a
/// fresh full snapshot (`replays.mutationLimit`).
pub const DEFAULT_MUTATION_LIMIT: usize = 10_000;
/// A storm may be answered with a full snapshot at most this often; one that goes on
/// stops the recorder.
pub const STORM_SNAPSHOT_EVERY_MS: u64 = 10_000;

/// How one observer callback is recorded.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StormVerdict {
    /// Diff the records (the usual case).
    Diff,
    /// Too many records: drop them and take a fresh full snapshot instead.
    Snapshot,
    /// A storm that goes on: stop recording.
    Stop,
}

/// Bounds what one mutation storm can cost the page.
#[derive(Debug, Clone)]
pub struct StormGuard {
    limit: usize,
    last_snapshot_ms: Option<u64>,
}

impl StormGuard {
    pub fn new(limit: usize) -> StormGuard {
        StormGuard { limit, last_snapshot_ms: None }
    }

    pub fn handle_batch(&mut self, now_ms: u64, records: usize) -> StormVerdict {
        if records <= self.limit {
            return StormVerdict::Diff;
        }
        match self.last_snapshot_ms {
            Some(at) if now_ms.saturating_sub(at) < STORM_SNAPSHOT_EVERY_MS => StormVerdict::Stop,
            _ => {
                self.last_snapshot_ms = Some(now_ms);
                StormVerdict::Snapshot
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(name: &str) -> String {
        name.to_string()
    }

    #[test]
    fn sampling_is_decided_by_the_session_id_alone() {
        assert!(sampled_in("any", 1.0));
        assert!(!sampled_in("any", 0.0));
        assert!(!sampled_in("any", f64::NAN));
        let ids: Vec<String> = (0..2000).map(|i| format!("session-{i}")).collect();
        let kept = ids.iter().filter(|id| sampled_in(id, 0.25)).count();
        assert!((400..600).contains(&kept), "about a quarter sampled in: {kept}");
        for id in &ids[..50] {
            assert_eq!(sampled_in(id, 0.5), sampled_in(id, 0.5), "stable across reloads");
        }
        // A session sampled in at a rate stays in at any higher rate.
        assert!(ids.iter().filter(|id| sampled_in(id, 0.25)).all(|id| sampled_in(id, 0.5)));
    }

    #[test]
    fn always_mode_sends_everything_as_it_comes() {
        let mut c = ReplayControls::new(ControlsConfig::default(), 1_000, 1_000);
        assert_eq!(c.state(), ReplayState::Recording);
        assert_eq!(c.handle_event(1_000, ev("meta"), true), vec!["meta"]);
        assert_eq!(c.handle_event(1_001, ev("full"), false), vec!["full"]);
    }

    #[test]
    fn a_replay_is_held_back_until_the_minimum_duration_and_dropped_if_shorter() {
        let config = ControlsConfig { minimum_duration_ms: 5_000, ..ControlsConfig::default() };
        let mut c = ReplayControls::new(config.clone(), 1_000, 1_000);
        assert!(c.handle_event(1_000, ev("meta"), true).is_empty());
        assert!(c.handle_event(2_000, ev("click"), false).is_empty());
        assert_eq!(c.poll_timeout(), Some(6_000));
        assert_eq!(c.poll(5_999), None);
        assert_eq!(c.poll(6_000), Some(ControlAction::Release(vec![ev("meta"), ev("click")])));
        assert_eq!(c.handle_event(6_500, ev("later"), false), vec!["later"]);

        // A session that ends sooner sends nothing.
        let mut short = ReplayControls::new(config, 1_000, 1_000);
        assert!(short.handle_event(1_000, ev("meta"), true).is_empty());
        assert_eq!(short.handle_unload(3_000), 1);
        assert_eq!(short.poll(10_000), None, "nothing left to release");
    }

    #[test]
    fn the_recorder_stops_after_the_maximum_duration() {
        let config = ControlsConfig { max_session_duration_ms: 60_000, ..ControlsConfig::default() };
        let mut c = ReplayControls::new(config, 0, 0);
        assert_eq!(c.poll_timeout(), Some(60_000));
        assert_eq!(c.poll(59_999), None);
        assert_eq!(c.poll(60_000), Some(ControlAction::Stop(StopReason::MaxSessionDuration)));
        assert_eq!(c.state(), ReplayState::Stopped);
        assert!(c.handle_event(60_001, ev("after"), false).is_empty());
        assert_eq!(c.poll_timeout(), None);
        // A new browser session records again.
        c.handle_new_session(70_000, 70_000);
        assert_eq!(c.state(), ReplayState::Recording);
        assert_eq!(c.handle_event(70_000, ev("meta"), true), vec!["meta"]);
    }

    #[test]
    fn on_error_keeps_a_window_that_starts_with_a_snapshot_and_begins_at_most_the_buffer_before() {
        let config = ControlsConfig {
            mode: ReplayMode::OnError,
            error_buffer_ms: 60_000,
            ..ControlsConfig::default()
        };
        let mut c = ReplayControls::new(config, 0, 0);
        assert_eq!(c.state(), ReplayState::Buffering);
        let mut now = 0;
        let mut checkouts = 0;
        let mut snapshot_next = true; // the recorder starts with Meta + FullSnapshot
                                      // Ten minutes of a click a second; a checkout makes the next event a Meta.
        while now <= 600_000 {
            if c.poll_timeout().is_some_and(|t| t <= now) {
                if let Some(ControlAction::Checkout) = c.poll(now) {
                    checkouts += 1;
                    snapshot_next = true;
                }
            }
            let name = if snapshot_next { "meta" } else { "click" };
            assert!(c.handle_event(now, format!("{name}@{now}"), snapshot_next).is_empty());
            snapshot_next = false;
            now += 1_000;
        }
        assert!(checkouts >= 19, "a fresh snapshot every half window: {checkouts}");
        let error_at = 600_500;
        let sent = c.handle_trigger(error_at, ev("trigger"));
        assert!(sent[0].starts_with("meta@"), "starts with Meta + FullSnapshot: {}", sent[0]);
        let started: u64 = sent[0].split('@').nth(1).unwrap().parse().unwrap();
        assert!(error_at - started <= 60_000, "begins at most errorBufferMs before the error: {started}");
        assert_eq!(sent.last().unwrap(), "trigger");
        assert_eq!(c.state(), ReplayState::Recording, "records as always from here on");
        assert_eq!(c.handle_event(error_at + 1, ev("next"), false), vec!["next"]);
    }

    #[test]
    fn a_trigger_in_always_mode_only_adds_the_marker() {
        let mut c = ReplayControls::new(ControlsConfig::default(), 0, 0);
        assert_eq!(c.handle_trigger(10, ev("trigger")), vec!["trigger"]);
    }

    #[test]
    fn a_storm_is_snapshotted_once_per_ten_seconds_then_stops_the_recorder() {
        let mut guard = StormGuard::new(100);
        assert_eq!(guard.handle_batch(0, 100), StormVerdict::Diff);
        assert_eq!(guard.handle_batch(0, 101), StormVerdict::Snapshot);
        assert_eq!(guard.handle_batch(5_000, 50), StormVerdict::Diff);
        assert_eq!(guard.handle_batch(9_999, 5_000), StormVerdict::Stop, "the storm goes on");
        let mut later = StormGuard::new(100);
        assert_eq!(later.handle_batch(0, 101), StormVerdict::Snapshot);
        assert_eq!(
            later.handle_batch(10_000, 101),
            StormVerdict::Snapshot,
            "a storm 10 s later gets a snapshot"
        );
    }
}
