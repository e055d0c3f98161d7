//! The access gate (access-gate.md) as a sans-IO state machine.
//!
//! The gate never touches the network, a timer or the host's session callback. A check
//! is a loop the shell drives: it calls [`AccessGate::begin_check`], performs the
//! [`Action`] it gets back, reports what happened (`session_resolved`,
//! `attempt_finished`, `woke`) and performs the next action, until [`Action::Stop`] or
//! [`Action::SignedOut`]. Every input is tagged with the [`CheckId`] it belongs to, so
//! a superseded loop is told to stop instead of writing state.
//!
//! Why it is shaped like this: the bug this design fixes (users ejected mid-session
//! during a short outage, a stale retry loop overwriting a fresh grant) lives entirely
//! in *ordering*, and ordering is only testable deterministically when time, randomness
//! and answers are inputs.

use std::fmt;

use crate::core::backoff::{parse_retry_after_ms, Backoff};
use crate::core::config::GateRetryConfig;

/// What the gate currently says about the signed-in user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessState {
    /// No definitive answer yet, or signed out.
    Unknown,
    Granted,
    Denied,
}

impl AccessState {
    pub fn as_str(self) -> &'static str {
        match self {
            AccessState::Unknown => "unknown",
            AccessState::Granted => "granted",
            AccessState::Denied => "denied",
        }
    }
}

/// Why the gate is in its state (the second argument of `onChange`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessReason {
    /// The server said yes.
    Granted,
    /// The server said no.
    Denied,
    /// The retries ran out without a definitive answer.
    FailClosed,
    /// The server answered 401, or there is no session.
    SignedOut,
}

impl AccessReason {
    pub fn as_str(self) -> &'static str {
        match self {
            AccessReason::Granted => "granted",
            AccessReason::Denied => "denied",
            AccessReason::FailClosed => "fail-closed",
            AccessReason::SignedOut => "signed-out",
        }
    }
}

/// A state change to report to `onChange`; only produced when the state really changed.
pub type Change = (AccessState, AccessReason);

/// The session identity a check runs for. `Debug` never prints the token.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken(pub String);

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken(<redacted>)")
    }
}

/// What resolving the host's session callback gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolvedSession {
    /// A session with an access token.
    SignedIn(AccessToken),
    /// `null`, or a session without an access token: nothing to authenticate with.
    SignedOut,
    /// The callback threw, rejected, timed out or returned garbage: a transient outcome.
    Unavailable,
}

/// The outcome of one request to the access-check URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// An HTTP answer. `has_access` is `Some` only when the body is an object whose
    /// `has_access` is a boolean; `retry_after` is the raw `Retry-After` header.
    Answer { status: u16, has_access: Option<bool>, retry_after: Option<String> },
    /// `fetch` rejected (DNS, refused, dropped connection, CORS).
    NetworkError,
    /// The attempt was aborted after `attemptTimeoutMs`.
    TimedOut,
}

/// How the gate reads one attempt (the outcome table of access-gate.md).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Verdict {
    Granted,
    Denied,
    SessionRejected,
    Transient { retry_after_ms: Option<u64> },
}

fn verdict(outcome: &AttemptOutcome, now_ms: u64) -> Verdict {
    match outcome {
        // Only `200 {"has_access": boolean}` is definitive (wire.md).
        AttemptOutcome::Answer { status: 200, has_access: Some(true), .. } => Verdict::Granted,
        AttemptOutcome::Answer { status: 200, has_access: Some(false), .. } => Verdict::Denied,
        AttemptOutcome::Answer { status: 401, .. } => Verdict::SessionRejected,
        // 403 included: during an outage a proxy or a half-up backend can answer 403,
        // and reading it as "no access" is exactly the bug this gate exists to avoid.
        AttemptOutcome::Answer { retry_after, .. } => Verdict::Transient {
            retry_after_ms: retry_after.as_deref().and_then(|value| parse_retry_after_ms(value, now_ms)),
        },
        AttemptOutcome::NetworkError | AttemptOutcome::TimedOut => {
            Verdict::Transient { retry_after_ms: None }
        }
    }
}

/// Identifies one check (its generation). Inputs for an older check are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct CheckId(u64);

/// What the shell must do next for a check.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "an action the shell does not carry out stalls the check"]
pub enum Action {
    /// Resolve the host's session, then call [`AccessGate::session_resolved`].
    ResolveSession,
    /// Send one request with this token, then call [`AccessGate::attempt_finished`].
    SendAttempt { token: AccessToken },
    /// Sleep this long (an `online` event may cut it short), then call
    /// [`AccessGate::woke`]. Everything from here on runs in the background.
    Sleep { delay_ms: u64, until_ms: u64 },
    /// The server rejected the session: call the host's `onSignedOut`. The check is over.
    SignedOut,
    /// The check is over (settled, failed closed, or superseded).
    Stop,
}

/// The answer to one input: an optional state change to report, and what to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "a step carries the state change to report and the next action"]
pub struct Step {
    pub change: Option<Change>,
    pub action: Action,
}

impl Step {
    fn then(action: Action) -> Self {
        Self { change: None, action }
    }

    fn stop() -> Self {
        Self::then(Action::Stop)
    }
}

/// Where the current check is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    /// Resolving the session for the first, awaited attempt.
    ResolvingFirst,
    /// An attempt is in flight; `retries_done` retries happened before it.
    Attempting { retries_done: u32 },
    /// Sleeping before retry number `retry` (0-based).
    Sleeping { retry: u32 },
    /// Resolving the session before retry number `retry`.
    ResolvingRetry { retry: u32 },
    /// Retries are exhausted; resolving the session once more before failing closed.
    ConfirmingFailClosed,
    /// No loop: settled, stopped or never started.
    Idle,
}

/// The gate: its state, and the one check allowed to write it.
#[derive(Debug, Clone)]
pub struct AccessGate {
    backoff: Backoff,
    max_retries: u32,
    state: AccessState,
    reason: Option<AccessReason>,
    /// The newest check; only it may write state.
    current: CheckId,
    phase: Phase,
    /// The session the current check runs for; `None` until a session resolved.
    identity: Option<AccessToken>,
}

impl AccessGate {
    pub fn new(retry: &GateRetryConfig) -> Self {
        Self {
            backoff: Backoff {
                initial_ms: retry.initial_delay_ms as f64,
                max_ms: retry.max_delay_ms as f64,
                multiplier: retry.multiplier,
                jitter: retry.jitter,
            },
            max_retries: retry.max_retries,
            state: AccessState::Unknown,
            reason: None,
            current: CheckId(0),
            phase: Phase::Idle,
            identity: None,
        }
    }

    pub fn state(&self) -> AccessState {
        self.state
    }

    /// The reason of the last definitive transition, if any.
    pub fn reason(&self) -> Option<AccessReason> {
        self.reason
    }

    /// Whether a retry loop (the background part of a check) is alive.
    pub fn is_retrying(&self) -> bool {
        matches!(
            self.phase,
            Phase::Sleeping { .. } | Phase::ResolvingRetry { .. } | Phase::ConfirmingFailClosed
        ) || matches!(self.phase, Phase::Attempting { retries_done } if retries_done > 0)
    }

    /// Starts a fresh check, superseding any older one (whose next input gets `Stop`).
    /// The first action is always [`Action::ResolveSession`].
    pub fn begin_check(&mut self) -> CheckId {
        self.current = CheckId(self.current.0 + 1);
        self.phase = Phase::ResolvingFirst;
        self.identity = None;
        self.current
    }

    /// Stops whatever check runs, without touching the state (`stop()`).
    pub fn cancel(&mut self) {
        self.current = CheckId(self.current.0 + 1);
        self.phase = Phase::Idle;
        self.identity = None;
    }

    fn is_current(&self, check: CheckId) -> bool {
        check == self.current && self.phase != Phase::Idle
    }

    /// Writes a definitive state; reports it only when the state itself changed.
    fn settle(&mut self, state: AccessState, reason: AccessReason) -> Option<Change> {
        let changed = self.state != state;
        self.state = state;
        self.reason = Some(reason);
        changed.then_some((state, reason))
    }

    fn finish(&mut self, state: AccessState, reason: AccessReason, action: Action) -> Step {
        self.phase = Phase::Idle;
        Step { change: self.settle(state, reason), action }
    }

    /// The session callback answered for `check`.
    pub fn session_resolved(
        &mut self,
        check: CheckId,
        session: ResolvedSession,
        now_ms: u64,
        random01: f64,
    ) -> Step {
        if !self.is_current(check) {
            return Step::stop();
        }
        match (self.phase.clone(), session) {
            (Phase::ResolvingFirst, ResolvedSession::SignedOut) => {
                self.finish(AccessState::Unknown, AccessReason::SignedOut, Action::Stop)
            }
            (Phase::ResolvingFirst, ResolvedSession::SignedIn(token)) => {
                self.identity = Some(token.clone());
                self.phase = Phase::Attempting { retries_done: 0 };
                Step::then(Action::SendAttempt { token })
            }
            // No session means no request, but the outcome is transient all the same.
            (Phase::ResolvingFirst, ResolvedSession::Unavailable) => {
                self.after_transient(0, None, now_ms, random01)
            }

            (Phase::ResolvingRetry { retry }, ResolvedSession::SignedIn(token)) => match &self.identity {
                Some(identity) if *identity != token => self.drop_stale_loop(),
                _ => {
                    self.identity = Some(token.clone());
                    self.phase = Phase::Attempting { retries_done: retry + 1 };
                    Step::then(Action::SendAttempt { token })
                }
            },
            (Phase::ResolvingRetry { .. }, ResolvedSession::SignedOut) => match self.identity {
                // The session this loop checked for is gone: the host signs out and
                // re-checks; a stale loop must not decide anything.
                Some(_) => self.drop_stale_loop(),
                // This check never saw a session, so "signed out" is its first real fact.
                None => self.finish(AccessState::Unknown, AccessReason::SignedOut, Action::Stop),
            },
            (Phase::ResolvingRetry { retry }, ResolvedSession::Unavailable) => {
                self.after_transient(retry + 1, None, now_ms, random01)
            }

            (Phase::ConfirmingFailClosed, ResolvedSession::SignedIn(token)) => match &self.identity {
                Some(identity) if *identity != token => self.drop_stale_loop(),
                _ => self.finish(AccessState::Denied, AccessReason::FailClosed, Action::Stop),
            },
            (Phase::ConfirmingFailClosed, ResolvedSession::SignedOut) => match self.identity {
                Some(_) => self.drop_stale_loop(),
                None => self.finish(AccessState::Unknown, AccessReason::SignedOut, Action::Stop),
            },
            // Staying unable to tell who is signed in must not keep the gate open.
            (Phase::ConfirmingFailClosed, ResolvedSession::Unavailable) => {
                self.finish(AccessState::Denied, AccessReason::FailClosed, Action::Stop)
            }

            // An input the current phase does not expect (a shell bug): end the loop
            // rather than guess.
            _ => self.drop_stale_loop(),
        }
    }

    /// The request of `check` finished with `outcome`.
    pub fn attempt_finished(
        &mut self,
        check: CheckId,
        outcome: &AttemptOutcome,
        now_ms: u64,
        random01: f64,
    ) -> Step {
        if !self.is_current(check) {
            return Step::stop();
        }
        let Phase::Attempting { retries_done } = self.phase else {
            return self.drop_stale_loop();
        };
        match verdict(outcome, now_ms) {
            Verdict::Granted => self.finish(AccessState::Granted, AccessReason::Granted, Action::Stop),
            Verdict::Denied => self.finish(AccessState::Denied, AccessReason::Denied, Action::Stop),
            Verdict::SessionRejected => {
                self.finish(AccessState::Unknown, AccessReason::SignedOut, Action::SignedOut)
            }
            Verdict::Transient { retry_after_ms } => {
                self.after_transient(retries_done, retry_after_ms, now_ms, random01)
            }
        }
    }

    /// The sleep of `check` ended (its timer fired, or `online` woke it).
    pub fn woke(&mut self, check: CheckId) -> Step {
        if !self.is_current(check) {
            return Step::stop();
        }
        let Phase::Sleeping { retry } = self.phase else {
            return self.drop_stale_loop();
        };
        // The session is resolved again before every retry: a token that changed
        // under a sleeping loop makes that loop stale.
        self.phase = Phase::ResolvingRetry { retry };
        Step::then(Action::ResolveSession)
    }

    /// A transient outcome after `retries_done` retries: sleep before the next retry,
    /// or confirm the session before failing closed. The state is kept either way.
    fn after_transient(
        &mut self,
        retries_done: u32,
        retry_after_ms: Option<u64>,
        now_ms: u64,
        random01: f64,
    ) -> Step {
        if retries_done >= self.max_retries {
            self.phase = Phase::ConfirmingFailClosed;
            return Step::then(Action::ResolveSession);
        }
        let delay_ms = self.backoff.step_capped_delay_ms(retries_done, random01, retry_after_ms);
        self.phase = Phase::Sleeping { retry: retries_done };
        Step::then(Action::Sleep { delay_ms, until_ms: now_ms.saturating_add(delay_ms) })
    }

    /// Ends the current loop without writing state (it was superseded).
    fn drop_stale_loop(&mut self) -> Step {
        self.phase = Phase::Idle;
        self.identity = None;
        Step::stop()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    use AccessReason as R;
    use AccessState as S;

    fn token(value: &str) -> AccessToken {
        AccessToken(value.to_string())
    }

    fn answer(status: u16, has_access: Option<bool>) -> AttemptOutcome {
        AttemptOutcome::Answer { status, has_access, retry_after: None }
    }

    fn ok(has_access: bool) -> AttemptOutcome {
        answer(200, Some(has_access))
    }

    fn no_jitter(max_retries: u32) -> GateRetryConfig {
        GateRetryConfig { jitter: 0.0, max_retries, ..GateRetryConfig::default() }
    }

    /// A stand-in for the browser shell: a virtual clock, a scripted server and a
    /// scripted session callback. It performs the gate's actions exactly as the shell
    /// does, so every worked case runs its full schedule in microseconds.
    struct Harness {
        gate: AccessGate,
        now_ms: u64,
        random01: f64,
        /// What the server answers, in order; when empty, `fallback`.
        replies: VecDeque<AttemptOutcome>,
        fallback: AttemptOutcome,
        /// What the session callback resolves to from now on.
        session: ResolvedSession,
        /// (time, token) of every request sent.
        requests: Vec<(u64, AccessToken)>,
        changes: Vec<Change>,
        signed_out_calls: u32,
        sleeps: Vec<u64>,
    }

    impl Harness {
        fn new(retry: GateRetryConfig) -> Self {
            Self {
                gate: AccessGate::new(&retry),
                now_ms: 0,
                random01: 0.5,
                replies: VecDeque::new(),
                fallback: answer(503, None),
                session: ResolvedSession::SignedIn(token("token-a")),
                requests: Vec::new(),
                changes: Vec::new(),
                signed_out_calls: 0,
                sleeps: Vec::new(),
            }
        }

        fn replies(mut self, replies: impl IntoIterator<Item = AttemptOutcome>) -> Self {
            self.replies.extend(replies);
            self
        }

        fn fallback(mut self, fallback: AttemptOutcome) -> Self {
            self.fallback = fallback;
            self
        }

        /// Performs one action and returns the next one (recording changes).
        fn perform(&mut self, check: CheckId, action: Action) -> Action {
            let step = match action {
                Action::ResolveSession => {
                    self.gate.session_resolved(check, self.session.clone(), self.now_ms, self.random01)
                }
                Action::SendAttempt { token } => {
                    self.requests.push((self.now_ms, token));
                    let outcome = self.replies.pop_front().unwrap_or_else(|| self.fallback.clone());
                    self.gate.attempt_finished(check, &outcome, self.now_ms, self.random01)
                }
                Action::Sleep { delay_ms, until_ms } => {
                    assert_eq!(until_ms, self.now_ms + delay_ms);
                    self.sleeps.push(delay_ms);
                    self.now_ms = until_ms;
                    self.gate.woke(check)
                }
                Action::SignedOut => {
                    self.signed_out_calls += 1;
                    return Action::Stop;
                }
                Action::Stop => return Action::Stop,
            };
            self.changes.extend(step.change);
            step.action
        }

        /// Runs a check up to the end of its first attempt (what `checkAccess()`
        /// awaits) and returns the check and its pending background action.
        fn check_first_attempt(&mut self) -> (CheckId, Action) {
            let check = self.gate.begin_check();
            let mut action = Action::ResolveSession;
            loop {
                action = self.perform(check, action);
                if matches!(action, Action::Sleep { .. } | Action::Stop) {
                    return (check, action);
                }
            }
        }

        /// Drives a check's background actions until the loop ends.
        fn run_to_end(&mut self, check: CheckId, mut action: Action) {
            while action != Action::Stop {
                action = self.perform(check, action);
            }
        }

        /// A whole check, first attempt and background retries.
        fn check(&mut self) {
            let (check, action) = self.check_first_attempt();
            self.run_to_end(check, action);
        }
    }

    // --- the worked cases of access-gate.md ---

    #[test]
    fn forbidden_twice_then_granted_settles_granted_after_three_requests_never_denied() {
        let mut h = Harness::new(no_jitter(9)).replies([answer(403, None), answer(403, None), ok(true)]);
        let (check, pending) = h.check_first_attempt();
        assert_eq!(h.gate.state(), S::Unknown, "a 403 is transient, not a denial");
        assert!(matches!(pending, Action::Sleep { delay_ms: 2000, .. }));
        h.run_to_end(check, pending);
        assert_eq!(h.requests.len(), 3);
        assert_eq!(h.gate.state(), S::Granted);
        assert_eq!(h.changes, vec![(S::Granted, R::Granted)]);
    }

    #[test]
    fn always_forbidden_fails_closed_after_one_plus_max_retries_requests() {
        let mut h = Harness::new(no_jitter(9)).fallback(answer(403, None));
        h.check();
        assert_eq!(h.requests.len(), 10);
        assert_eq!(h.gate.state(), S::Denied);
        assert_eq!(h.gate.reason(), Some(R::FailClosed));
        assert_eq!(h.changes, vec![(S::Denied, R::FailClosed)]);
    }

    #[test]
    fn default_schedule_runs_two_to_twenty_seconds_over_nine_retries() {
        let mut h = Harness::new(no_jitter(9)).fallback(answer(503, None));
        h.check();
        assert_eq!(h.sleeps, vec![2000, 4000, 8000, 16000, 20000, 20000, 20000, 20000, 20000]);
        let times: Vec<u64> = h.requests.iter().map(|(at, _)| *at).collect();
        assert_eq!(times, vec![0, 2000, 6000, 14000, 30000, 50000, 70000, 90000, 110000, 130000]);
        assert_eq!(h.now_ms, 130_000, "fails closed right after the last retry");
        assert_eq!(h.changes, vec![(S::Denied, R::FailClosed)]);
    }

    #[test]
    fn a_huge_retry_after_still_fails_closed_within_the_budget() {
        for retry_after in ["86400", "99999999999999999999", "Fri, 31 Dec 9999 23:59:59 GMT"] {
            let reply = AttemptOutcome::Answer {
                status: 503,
                has_access: None,
                retry_after: Some(retry_after.into()),
            };
            let mut h = Harness::new(no_jitter(9)).fallback(reply);
            h.check();
            assert_eq!(
                h.sleeps,
                vec![2000, 4000, 8000, 16000, 20000, 20000, 20000, 20000, 20000],
                "{retry_after}"
            );
            assert_eq!(h.changes, vec![(S::Denied, R::FailClosed)]);
        }
    }

    #[test]
    fn network_error_every_time_fails_closed_like_a_403() {
        let mut h = Harness::new(no_jitter(9)).fallback(AttemptOutcome::NetworkError);
        h.check();
        assert_eq!(h.requests.len(), 10);
        assert_eq!(h.changes, vec![(S::Denied, R::FailClosed)]);
    }

    #[test]
    fn granted_then_a_recheck_meeting_5xx_stays_granted_while_retrying() {
        let mut h = Harness::new(no_jitter(9)).replies([ok(true)]).fallback(answer(500, None));
        h.check();
        assert_eq!(h.gate.state(), S::Granted);
        let (check, mut action) = h.check_first_attempt();
        for _ in 0..8 {
            // Each retry of the re-check: still granted, still retrying.
            assert_eq!(h.gate.state(), S::Granted);
            assert!(h.gate.is_retrying());
            action = h.perform(check, action); // sleep -> resolve
            action = h.perform(check, action); // resolve -> send
            action = h.perform(check, action); // send -> 500 -> sleep
        }
        assert_eq!(h.changes, vec![(S::Granted, R::Granted)], "no change while retrying");
    }

    #[test]
    fn stale_loop_of_session_a_wakes_after_session_b_was_granted_and_stays_quiet() {
        let mut h = Harness::new(no_jitter(9)).replies([answer(503, None)]);
        let (check_a, pending_a) = h.check_first_attempt();
        assert!(matches!(pending_a, Action::Sleep { .. }), "A's loop is sleeping");

        h.session = ResolvedSession::SignedIn(token("token-b"));
        h.replies.push_back(ok(true));
        h.check();
        assert_eq!(h.gate.state(), S::Granted);

        // A's sleep ends: the loop must stop without a request or a state write.
        h.fallback = answer(503, None);
        let requests_before = h.requests.len();
        h.run_to_end(check_a, pending_a);
        assert_eq!(h.requests.len(), requests_before);
        assert_eq!(h.gate.state(), S::Granted);
        assert_eq!(h.changes, vec![(S::Granted, R::Granted)]);
    }

    #[test]
    fn unauthorized_is_signed_out_with_one_callback_and_one_request() {
        let mut h = Harness::new(no_jitter(9)).replies([ok(true), answer(401, None)]);
        h.check();
        h.check();
        assert_eq!(h.requests.len(), 2);
        assert_eq!(h.signed_out_calls, 1);
        assert_eq!(h.gate.state(), S::Unknown);
        assert_eq!(h.gate.reason(), Some(R::SignedOut));
        assert_eq!(h.changes, vec![(S::Granted, R::Granted), (S::Unknown, R::SignedOut)]);
    }

    #[test]
    fn unauthorized_first_is_one_request_and_no_change_from_unknown() {
        let mut h = Harness::new(no_jitter(9)).replies([answer(401, None)]);
        h.check();
        assert_eq!(h.requests.len(), 1);
        assert_eq!(h.signed_out_calls, 1);
        assert_eq!(h.gate.state(), S::Unknown);
        assert!(h.changes.is_empty(), "unknown -> unknown is not a change");
    }

    #[test]
    fn ok_false_is_denied_after_exactly_one_request() {
        let mut h = Harness::new(no_jitter(9)).replies([ok(false)]).fallback(ok(true));
        h.check();
        assert_eq!(h.requests.len(), 1);
        assert_eq!(h.gate.state(), S::Denied);
        assert_eq!(h.changes, vec![(S::Denied, R::Denied)]);
    }

    #[test]
    fn success_on_the_last_retry_is_granted_without_failing_closed() {
        let mut h = Harness::new(no_jitter(9)).replies((0..9).map(|_| answer(502, None))).fallback(ok(true));
        h.check();
        assert_eq!(h.requests.len(), 10);
        assert_eq!(h.gate.state(), S::Granted);
        assert_eq!(h.changes, vec![(S::Granted, R::Granted)]);
    }

    // --- the rest of the outcome table ---

    #[test]
    fn every_non_definitive_answer_is_transient() {
        let transient = [
            answer(403, None),
            answer(408, None),
            answer(429, None),
            answer(500, None),
            answer(503, None),
            answer(599, None),
            answer(404, None),
            answer(302, None),
            answer(200, None),       // malformed 2xx body
            answer(204, Some(true)), // only 200 is definitive
            answer(201, Some(false)),
            answer(403, Some(false)), // a body does not make a 403 definitive
            AttemptOutcome::NetworkError,
            AttemptOutcome::TimedOut,
        ];
        for outcome in transient {
            let mut h = Harness::new(no_jitter(3)).replies([outcome.clone()]).fallback(ok(true));
            let (_, pending) = h.check_first_attempt();
            assert!(matches!(pending, Action::Sleep { .. }), "{outcome:?} should schedule a retry");
            assert_eq!(h.gate.state(), S::Unknown, "{outcome:?} should keep the state");
            assert!(h.changes.is_empty());
        }
    }

    #[test]
    fn signed_out_session_sends_nothing_and_reports_signed_out() {
        let mut h = Harness::new(no_jitter(9)).replies([ok(true)]);
        h.check();
        h.session = ResolvedSession::SignedOut;
        h.check();
        assert_eq!(h.requests.len(), 1);
        assert_eq!(h.signed_out_calls, 0, "onSignedOut is only for a 401");
        assert_eq!(h.gate.state(), S::Unknown);
        assert_eq!(h.changes, vec![(S::Granted, R::Granted), (S::Unknown, R::SignedOut)]);
    }

    #[test]
    fn session_error_is_transient_and_counts_as_an_attempt() {
        let mut h = Harness::new(no_jitter(9)).replies([ok(true)]);
        h.session = ResolvedSession::Unavailable;
        let (check, pending) = h.check_first_attempt();
        assert!(h.requests.is_empty());
        assert!(matches!(pending, Action::Sleep { delay_ms: 2000, .. }));
        h.session = ResolvedSession::SignedIn(token("token-a"));
        h.run_to_end(check, pending);
        assert_eq!(h.requests.len(), 1);
        assert_eq!(h.gate.state(), S::Granted);
    }

    #[test]
    fn a_session_that_never_resolves_fails_closed_after_the_budget() {
        let mut h = Harness::new(no_jitter(2));
        h.session = ResolvedSession::Unavailable;
        h.check();
        assert!(h.requests.is_empty());
        assert_eq!(h.sleeps.len(), 2);
        assert_eq!(h.changes, vec![(S::Denied, R::FailClosed)]);
    }

    #[test]
    fn zero_retries_fails_closed_right_after_the_first_attempt() {
        let mut h = Harness::new(no_jitter(0)).fallback(AttemptOutcome::TimedOut);
        let (_, pending) = h.check_first_attempt();
        assert_eq!(pending, Action::Stop);
        assert_eq!(h.requests.len(), 1);
        assert_eq!(h.changes, vec![(S::Denied, R::FailClosed)]);
    }

    #[test]
    fn on_change_fires_only_on_a_real_state_change() {
        let mut h = Harness::new(no_jitter(1)).replies([ok(true), ok(true), ok(false), ok(false)]);
        for _ in 0..4 {
            h.check();
        }
        // Denied by the server, then fail-closed: the state stays "denied", no event.
        h.check();
        assert_eq!(h.gate.reason(), Some(R::FailClosed));
        assert_eq!(h.changes, vec![(S::Granted, R::Granted), (S::Denied, R::Denied)]);
    }

    // --- backoff: jitter and Retry-After ---

    #[test]
    fn jitter_keeps_every_delay_within_its_band() {
        let retry = GateRetryConfig::default();
        let bases = [2000.0, 4000.0, 8000.0, 16000.0, 20000.0, 20000.0, 20000.0, 20000.0, 20000.0];
        for random01 in [0.0, 0.1, 0.5, 0.9, 0.999_999] {
            let mut h = Harness::new(retry.clone());
            h.random01 = random01;
            h.check();
            assert_eq!(h.sleeps.len(), 9);
            for (delay, base) in h.sleeps.iter().zip(bases) {
                let (low, high) = ((base * 0.75) as u64, (base * 1.25) as u64);
                assert!((low..=high).contains(delay), "{delay} outside [{low}, {high}] at {random01}");
            }
        }
        let mut low = Harness::new(retry.clone());
        low.random01 = 0.0;
        low.check();
        assert_eq!(low.sleeps[0], 1500);
        let mut high = Harness::new(retry);
        high.random01 = 0.999_999;
        high.check();
        assert_eq!(high.sleeps[0], 2500);
    }

    fn jitter_quarter(max_retries: u32) -> GateRetryConfig {
        GateRetryConfig { jitter: 0.25, max_retries, ..GateRetryConfig::default() }
    }

    #[test]
    fn retry_after_lengthens_the_next_delay_only_up_to_the_steps_longest_delay() {
        // random01 = 0.5: the jittered delay is the step's base; the step may last up
        // to base × 1.25, and no Retry-After makes it longer (fail-closed stays within
        // the documented budget).
        let slow_down =
            |s: &str| AttemptOutcome::Answer { status: 429, has_access: None, retry_after: Some(s.into()) };
        let mut h = Harness::new(jitter_quarter(9)).replies([slow_down("2")]).fallback(answer(503, None));
        h.check();
        assert_eq!(h.sleeps[..3], [2000, 4000, 8000]);
        let mut h = Harness::new(jitter_quarter(9))
            .replies([answer(503, None), slow_down("4.5"), slow_down("4")])
            .fallback(answer(503, None));
        h.check();
        assert_eq!(h.sleeps[..3], [2000, 4000, 8000], "4.5 is not delay-seconds; 4 s is under the base");
        let mut h = Harness::new(jitter_quarter(9)).replies([slow_down("30")]).fallback(answer(503, None));
        h.check();
        assert_eq!(h.sleeps[..3], [2500, 4000, 8000]);
    }

    #[test]
    fn retry_after_shorter_than_the_backoff_is_ignored() {
        let hurry = AttemptOutcome::Answer { status: 503, has_access: None, retry_after: Some("1".into()) };
        let mut h = Harness::new(no_jitter(1)).replies([hurry]);
        h.check();
        assert_eq!(h.sleeps, vec![2000]);
    }

    #[test]
    fn retry_after_as_an_http_date_is_measured_from_now() {
        // 784111777 s since the epoch is Sun, 06 Nov 1994 08:49:37 GMT.
        let date = "Sun, 06 Nov 1994 08:49:37 GMT";
        let outcome =
            AttemptOutcome::Answer { status: 503, has_access: None, retry_after: Some(date.into()) };
        let mut h = Harness::new(jitter_quarter(1)).replies([outcome]);
        h.now_ms = 784_111_777_000 - 2_300;
        h.check();
        assert_eq!(h.sleeps, vec![2_300]);
    }

    // --- the seed bugs ---

    /// Users were ejected mid-session during brief outages because any non-success read
    /// as "no access". No transient outcome may move "granted" before the budget is spent.
    #[test]
    fn seed_bug_transient_failures_never_turn_granted_into_denied_before_the_budget() {
        let outcomes = [
            answer(500, None),
            answer(502, None),
            answer(503, None),
            answer(504, None),
            answer(403, None),
            answer(408, None),
            answer(429, None),
            answer(200, None),
            AttemptOutcome::TimedOut,
            AttemptOutcome::NetworkError,
        ];
        for outcome in outcomes {
            let mut h = Harness::new(GateRetryConfig::default()).replies([ok(true)]);
            h.check();
            // A re-check meets the failure on every attempt but the last retry.
            h.replies.extend((0..9).map(|_| outcome.clone()));
            h.fallback = ok(true);
            let (check, mut action) = h.check_first_attempt();
            while action != Action::Stop {
                assert_eq!(h.gate.state(), S::Granted, "{outcome:?} changed a grant mid-budget");
                action = h.perform(check, action);
            }
            assert_eq!(h.requests.len(), 11);
            assert_eq!(h.changes, vec![(S::Granted, R::Granted)], "{outcome:?}");
        }
    }

    /// A retry loop started for an old session must never overwrite a fresh "granted" —
    /// neither before a retry nor when it would fail closed.
    #[test]
    fn seed_bug_stale_loop_never_overwrites_a_fresh_grant() {
        // The stale loop is about to fail closed (its last retry just failed).
        let mut h = Harness::new(no_jitter(1)).fallback(answer(503, None));
        let (check_a, action) = h.check_first_attempt();
        let action = h.perform(check_a, action); // sleep -> resolve session
        let action = h.perform(check_a, action); // resolve -> send
        let before_fail_closed = h.perform(check_a, action); // 503 -> confirm before failing closed
        assert_eq!(before_fail_closed, Action::ResolveSession);

        h.replies.push_back(ok(true));
        h.check(); // a newer check (same session) is granted
        h.run_to_end(check_a, before_fail_closed);
        assert_eq!(h.gate.state(), S::Granted);
        assert_eq!(h.changes, vec![(S::Granted, R::Granted)]);
    }

    #[test]
    fn seed_bug_stale_first_attempt_answering_late_is_ignored() {
        let mut h = Harness::new(no_jitter(9));
        let check_a = h.gate.begin_check();
        let send_a = h.gate.session_resolved(check_a, h.session.clone(), 0, 0.5).action;
        assert!(matches!(send_a, Action::SendAttempt { .. }));

        h.replies.push_back(ok(true));
        h.check();
        // A's slow request comes back with a 200 false and then a 401: both ignored.
        assert_eq!(h.gate.attempt_finished(check_a, &ok(false), 10, 0.5), Step::stop());
        assert_eq!(h.gate.attempt_finished(check_a, &answer(401, None), 10, 0.5), Step::stop());
        assert_eq!(h.gate.state(), S::Granted);
    }

    #[test]
    fn a_loop_stops_silently_when_the_token_changed_under_it() {
        let mut h = Harness::new(no_jitter(9)).fallback(answer(503, None));
        let (check, pending) = h.check_first_attempt();
        h.session = ResolvedSession::SignedIn(token("token-refreshed"));
        h.run_to_end(check, pending);
        assert_eq!(h.requests.len(), 1, "no retry with a token the loop was not started for");
        assert!(!h.gate.is_retrying());
        assert_eq!(h.gate.state(), S::Unknown);
        assert!(h.changes.is_empty());
    }

    #[test]
    fn a_loop_stops_silently_when_the_session_is_gone_before_failing_closed() {
        let mut h = Harness::new(no_jitter(1)).replies([ok(true)]).fallback(answer(503, None));
        h.check();
        let (check, action) = h.check_first_attempt();
        let action = h.perform(check, action); // sleep -> resolve
        let action = h.perform(check, action); // resolve -> send
        let confirm = h.perform(check, action); // 503 -> confirm before failing closed
        h.session = ResolvedSession::SignedOut;
        h.run_to_end(check, confirm);
        assert_eq!(h.gate.state(), S::Granted);
        assert_eq!(h.changes, vec![(S::Granted, R::Granted)]);
    }

    #[test]
    fn at_most_one_loop_runs_a_new_check_ends_the_old_one() {
        let mut h = Harness::new(no_jitter(9)).fallback(answer(503, None));
        let (check_a, _) = h.check_first_attempt();
        let (check_b, _) = h.check_first_attempt();
        assert!(check_b > check_a);
        assert_eq!(h.gate.woke(check_a), Step::stop());
        // B's loop is unaffected by A having been told to stop.
        assert!(h.gate.is_retrying());
        assert_eq!(h.gate.woke(check_b), Step::then(Action::ResolveSession));
    }

    #[test]
    fn cancel_stops_the_loop_and_keeps_the_state() {
        let mut h = Harness::new(no_jitter(9)).replies([ok(true)]).fallback(answer(503, None));
        h.check();
        let (check, pending) = h.check_first_attempt();
        h.gate.cancel();
        assert!(!h.gate.is_retrying());
        h.run_to_end(check, pending);
        assert_eq!(h.requests.len(), 2);
        assert_eq!(h.gate.state(), S::Granted);
    }

    #[test]
    fn debug_output_never_shows_a_token() {
        let action = Action::SendAttempt { token: token("secret-token-value") };
        assert!(!format!("{action:?}").contains("secret"));
        let gate = {
            let mut h = Harness::new(no_jitter(9));
            let _ = h.check_first_attempt();
            h.gate
        };
        assert!(!format!("{gate:?}").contains("token-a"));
    }
}
