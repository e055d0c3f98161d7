//! Outbox tests driven by a virtual clock and a fake server (no I/O, no waiting).

// The tests drive the outbox step by step and ignore the `Captured` and `Verdict` values
// they do not assert (the shell must act on each, hence `#[must_use]` on them).
#![allow(unused_must_use)]

use super::*;
use std::collections::{BTreeMap, BTreeSet};

/// Deterministic randomness: the same seed, the same ids and jitter in every run.
fn seeded_random() -> Random {
    Random::from_seed(*b"sightline-tests!")
}

fn new_outbox(max_events: usize) -> Outbox {
    Outbox::new("seg".into(), max_events, Backoff::for_uploads(1_000, 60_000), seeded_random())
}

fn event(i: usize) -> String {
    format!(r#"{{"event_type":"e","event_at_ms":{i},"data":{{"i":{i}}}}}"#)
}

fn body_events(body: &str) -> (String, Vec<u64>) {
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    let ids = v["events"].as_array().unwrap().iter().map(|e| e["data"]["i"].as_u64().unwrap()).collect();
    (v["batch_id"].as_str().unwrap().to_string(), ids)
}

/// A server that stores batches by id (deduplicating) and answers from a script.
#[derive(Default)]
struct FakeServer {
    script: Vec<Outcome>,
    requests: Vec<(String, Vec<u64>)>,
    stored: BTreeMap<String, Vec<u64>>,
}

impl FakeServer {
    fn answer(&mut self, body: &str) -> Outcome {
        let (batch_id, events) = body_events(body);
        self.requests.push((batch_id.clone(), events.clone()));
        let outcome = if self.script.is_empty() { ok() } else { self.script.remove(0) };
        if matches!(outcome, Outcome::Status { code: 200..=299, .. }) {
            self.stored.entry(batch_id).or_insert(events);
        }
        outcome
    }

    fn stored_events(&self) -> Vec<u64> {
        let mut all: Vec<u64> = self.stored.values().flatten().copied().collect();
        all.sort();
        all
    }
}

fn ok() -> Outcome {
    Outcome::Status { code: 200, retry_after: None }
}

fn status(code: u16) -> Outcome {
    Outcome::Status { code, retry_after: None }
}

/// The shell's send loop, in miniature: send what is due (if the session resolves),
/// else report the session failure.
fn pump(outbox: &mut Outbox, server: &mut FakeServer, now: u64, session_ok: bool) {
    for send in outbox.poll_uploads(now) {
        let outcome = if session_ok { server.answer(&send.body) } else { Outcome::SessionUnavailable };
        outbox.handle_outcome(&send.batch_id, outcome, now);
    }
}

/// Runs the clock forward, waking at every retry time, until nothing is queued.
fn run_until_idle(outbox: &mut Outbox, server: &mut FakeServer, mut now: u64, session_ok_from: u64) -> u64 {
    for _ in 0..10_000 {
        pump(outbox, server, now, now >= session_ok_from);
        match outbox.poll_timeout() {
            Some(at) => now = at.max(now),
            None => return now,
        }
    }
    panic!("outbox never became idle");
}

#[test]
fn seed_bug_events_captured_while_the_session_is_slow_or_failing_are_all_delivered() {
    // Stack Auth's bug: events were dropped while the access token was not there yet.
    let mut outbox = new_outbox(50);
    let mut server = FakeServer::default();
    let mut now = 1_000;
    for i in 0..120 {
        outbox.capture(Stream::Analytics, event(i));
        now += 25;
        // The session callback keeps failing for the first 20 seconds.
        pump(&mut outbox, &mut server, now, false);
    }
    outbox.seal_buffers();
    assert!(server.requests.is_empty(), "nothing can be sent without a session");
    assert_eq!(outbox.stats().queued_events, 120);
    run_until_idle(&mut outbox, &mut server, now, 21_000);
    assert_eq!(server.stored_events(), (0..120).collect::<Vec<_>>());
    assert_eq!(
        outbox.stats(),
        Stats { queued_events: 0, delivered_events: 120, dropped_events: 0, ..Stats::default() }
    );
}

#[test]
fn a_batch_failing_with_503_is_retried_with_the_same_id_and_never_duplicated() {
    let mut outbox = new_outbox(10);
    let mut server = FakeServer { script: vec![status(503), status(503), status(503)], ..Default::default() };
    for i in 0..10 {
        outbox.capture(Stream::Analytics, event(i));
    }
    run_until_idle(&mut outbox, &mut server, 0, 0);
    assert_eq!(server.requests.len(), 4);
    let ids: BTreeSet<&String> = server.requests.iter().map(|(id, _)| id).collect();
    assert_eq!(ids.len(), 1, "every retry carries the same batch_id");
    assert!(server.requests.iter().all(|(_, events)| *events == (0..10).collect::<Vec<_>>()));
    assert_eq!(server.stored_events(), (0..10).collect::<Vec<_>>());
    assert_eq!(outbox.stats().delivered_events, 10);
}

#[test]
fn retries_back_off_exponentially_and_honour_retry_after() {
    let mut outbox = new_outbox(1);
    outbox.capture(Stream::Analytics, event(0));
    let mut now = 0;
    let mut delays = Vec::new();
    for _ in 0..8 {
        let send = outbox.poll_uploads(now).pop().unwrap();
        outbox.handle_outcome(&send.batch_id, status(503), now);
        let next = outbox.poll_timeout().unwrap();
        delays.push(next - now);
        now = next;
    }
    // 1 s doubling to the 60 s cap, each delay jittered by up to ±25 % (the seeded
    // generator's draws: not all at the middle of their range).
    let expected = [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000];
    for (delay, expected) in delays.iter().zip(expected) {
        assert!((*delay as f64 - expected as f64).abs() <= expected as f64 * 0.25, "{delays:?}");
    }
    assert!(delays.iter().zip(expected).any(|(d, e)| d.abs_diff(e) > e / 20), "jittered: {delays:?}");
    let send = outbox.poll_uploads(now).pop().unwrap();
    outbox.handle_outcome(
        &send.batch_id,
        Outcome::Status { code: 429, retry_after: Some("600".into()) },
        now,
    );
    let wait = outbox.poll_timeout().unwrap() - now;
    assert!((60_000..=75_000).contains(&wait), "Retry-After is capped at retryMaxDelayMs: {wait}");
    // Early in the schedule, a Retry-After longer than the backoff is honoured.
    let mut outbox = new_outbox(1);
    outbox.capture(Stream::Analytics, event(0));
    let send = outbox.poll_uploads(0).pop().unwrap();
    outbox.handle_outcome(&send.batch_id, Outcome::Status { code: 429, retry_after: Some("45".into()) }, 0);
    assert_eq!(outbox.poll_timeout(), Some(45_000));
    assert!(outbox.poll_uploads(44_999).is_empty());
    // The header's raw value is read here, as the access gate reads its own: an HTTP-date
    // counts from `now` (1,700,000,000,000 ms is Tue, 14 Nov 2023 22:13:20 GMT), and a
    // value that is neither form is ignored (the backoff's first delay, 1 s ± 25 %).
    let now = 1_700_000_000_000;
    for (value, wait) in [("Tue, 14 Nov 2023 22:13:50 GMT", 30_000..=30_000), ("soon", 750..=1_250)] {
        let mut outbox = new_outbox(1);
        outbox.capture(Stream::Analytics, event(0));
        let send = outbox.poll_uploads(now).pop().unwrap();
        outbox.handle_outcome(
            &send.batch_id,
            Outcome::Status { code: 503, retry_after: Some(value.into()) },
            now,
        );
        let waited = outbox.poll_timeout().unwrap() - now;
        assert!(wait.contains(&waited), "Retry-After {value:?}: waited {waited} ms");
    }
}

#[test]
fn status_400_drops_and_counts_the_batch() {
    let mut outbox = new_outbox(5);
    let mut server = FakeServer { script: vec![status(400)], ..Default::default() };
    for i in 0..7 {
        outbox.capture(Stream::Analytics, event(i));
    }
    outbox.seal_buffers();
    let sends = outbox.poll_uploads(0);
    let first = server.answer(&sends[0].body);
    assert_eq!(
        outbox.handle_outcome(&sends[0].batch_id, first, 0),
        Verdict::Dropped {
            stream: Stream::Analytics,
            events: 5,
            reason: DropReason::Rejected { status: 400 }
        }
    );
    let second = server.answer(&sends[1].body);
    outbox.handle_outcome(&sends[1].batch_id, second, 0);
    assert_eq!(
        outbox.stats(),
        Stats { queued_events: 0, delivered_events: 2, dropped_events: 5, ..Stats::default() }
    );
    assert_eq!(server.requests.len(), 2, "a 400 is not retried");
}

#[test]
fn status_401_403_408_429_and_5xx_keep_the_batch() {
    for code in [401, 403, 408, 429, 500, 502, 503, 504] {
        let mut outbox = new_outbox(1);
        outbox.capture(Stream::Analytics, event(0));
        let send = outbox.poll_uploads(0).pop().unwrap();
        assert!(
            matches!(outbox.handle_outcome(&send.batch_id, status(code), 0), Verdict::Retry { .. }),
            "{code}"
        );
        assert_eq!(outbox.stats().queued_events, 1, "{code}");
    }
}

#[test]
fn status_413_splits_in_halves_and_drops_a_single_oversized_event() {
    let mut outbox = new_outbox(8);
    let mut server =
        FakeServer { script: vec![status(413), status(413), ok(), status(413)], ..Default::default() };
    for i in 0..8 {
        outbox.capture(Stream::Analytics, event(i));
    }
    run_until_idle(&mut outbox, &mut server, 0, 0);
    let sizes: Vec<usize> = server.requests.iter().map(|(_, e)| e.len()).collect();
    // 8 → 413 → 4 + 4; the first 4 → 413 → 2 + 2 …
    assert_eq!(sizes[..3], [8, 4, 4]);
    assert_eq!(server.stored_events().len() + outbox.stats().dropped_events as usize, 8);
    assert!(server.stored_events().len() >= 6);

    let mut single = outbox_with_one_event();
    let send = single.poll_uploads(0).pop().unwrap();
    let verdict = single.handle_outcome(&send.batch_id, status(413), 0);
    assert_eq!(
        verdict,
        Verdict::Dropped { stream: Stream::Analytics, events: 1, reason: DropReason::EventTooLarge }
    );
    assert_eq!(single.stats().dropped_events, 1);
}

#[test]
fn the_halves_of_a_split_batch_keep_its_place_so_a_recording_arrives_in_order() {
    let mut outbox = new_outbox(50);
    for batch in 0..3 {
        for i in 0..4 {
            outbox.capture(Stream::Replay, event(batch * 4 + i));
        }
        outbox.seal_stream(Stream::Replay);
    }
    let mut server = FakeServer { script: vec![status(413)], ..Default::default() };
    // One replay batch at a time, as the shell sends them.
    while let Some(send) = outbox.poll_upload(0) {
        let outcome = server.answer(&send.body);
        let _ = outbox.handle_outcome(&send.batch_id, outcome, 0);
    }
    let delivered: Vec<u64> = server.requests.iter().skip(1).flat_map(|(_, events)| events.clone()).collect();
    assert_eq!(delivered, (0..12).collect::<Vec<u64>>(), "in capture order after the split");
}

fn outbox_with_one_event() -> Outbox {
    let mut outbox = new_outbox(1);
    outbox.capture(Stream::Analytics, event(0));
    outbox
}

#[test]
fn batches_form_at_the_event_count_and_before_the_byte_limit() {
    let mut outbox = new_outbox(50);
    for i in 0..49 {
        assert_eq!(outbox.capture(Stream::Analytics, event(i)), Captured::Buffered);
    }
    assert_eq!(outbox.capture(Stream::Analytics, event(49)), Captured::BatchFormed);
    assert_eq!(outbox.poll_uploads(0).len(), 1);

    let mut outbox = new_outbox(500);
    let big = format!(r#"{{"event_type":"e","event_at_ms":0,"data":{{"s":"{}"}}}}"#, "x".repeat(20_000));
    let mut formed = 0;
    for _ in 0..7 {
        if outbox.capture(Stream::Analytics, big.clone()) == Captured::BatchFormed {
            formed += 1;
        }
    }
    outbox.seal_buffers();
    let sends = outbox.poll_uploads(0);
    assert_eq!(formed, 3);
    assert!(sends.iter().all(|s| s.body.len() <= Stream::Analytics.max_body_bytes()));
    assert_eq!(sends.iter().map(|s| s.events).sum::<usize>(), 7);
}

#[test]
fn an_event_larger_than_any_batch_is_dropped_and_counted() {
    let mut outbox = new_outbox(50);
    let huge = format!(r#"{{"data":"{}"}}"#, "x".repeat(70_000));
    assert!(matches!(outbox.capture(Stream::Analytics, huge), Captured::DroppedTooLarge { .. }));
    assert_eq!(outbox.stats().dropped_events, 1);
}

/// Deterministic sizes for property-style tests.
fn lcg(seed: &mut u64) -> u64 {
    *seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
    *seed >> 33
}

#[test]
fn the_keepalive_planner_never_exceeds_the_budget_and_loses_nothing() {
    const BUDGET: usize = 64 * 1024;
    let mut seed = 7;
    for round in 0..200 {
        let mut outbox = new_outbox(1 + (lcg(&mut seed) % 100) as usize);
        let count = lcg(&mut seed) % 400;
        for i in 0..count as usize {
            let pad = "p".repeat((lcg(&mut seed) % 3_000) as usize);
            let e = format!(r#"{{"event_type":"e","event_at_ms":0,"data":{{"i":{i},"pad":"{pad}"}}}}"#);
            outbox.capture(Stream::Analytics, e);
        }
        let already_in_flight = (lcg(&mut seed) % 30_000) as usize;
        let sends = outbox.poll_keepalive(5, BUDGET - already_in_flight);
        let sent: usize = sends.iter().map(|s| s.body.len()).sum();
        assert!(sent + already_in_flight <= BUDGET, "round {round}: {sent} + {already_in_flight}");
        // Every event is in what is persisted (the keepalive ones too, in case their
        // request fails unseen), each under exactly one batch_id: the one it was sent
        // with, if it was sent.
        let sent: BTreeMap<String, Vec<u64>> = sends.iter().map(|s| body_events(&s.body)).collect();
        let mut next = outbox_adopting(outbox.persisted().as_deref());
        next.make_everything_due();
        let resent: BTreeMap<String, Vec<u64>> =
            next.poll_uploads(0).iter().map(|s| body_events(&s.body)).collect();
        for (id, events) in &sent {
            assert_eq!(resent.get(id), Some(events), "round {round}: a keepalive batch keeps its id");
        }
        let mut seen: Vec<u64> = resent.values().flatten().copied().collect();
        seen.sort();
        assert_eq!(seen, (0..count).collect::<Vec<_>>(), "round {round}");
    }
}

fn outbox_adopting(persisted: Option<&str>) -> Outbox {
    let mut next = Outbox::new("next-page".into(), 50, Backoff::for_uploads(1_000, 60_000), seeded_random());
    if let Some(text) = persisted {
        next.adopt(text).unwrap();
    }
    next
}

#[test]
fn the_keepalive_planner_cuts_a_batch_that_does_not_fit() {
    let mut outbox = new_outbox(500);
    for i in 0..300 {
        outbox.capture(Stream::Analytics, event(i));
    }
    let sends = outbox.poll_keepalive(0, 4_000);
    assert_eq!(sends.len(), 1);
    assert!(sends[0].body.len() <= 4_000 && sends[0].body.len() > 3_000);
    assert!(outbox.persisted().is_some());
}

#[test]
fn a_batch_that_may_have_reached_the_server_is_never_cut() {
    let mut outbox = new_outbox(300);
    for i in 0..300 {
        outbox.capture(Stream::Analytics, event(i));
    }
    let send = outbox.poll_uploads(0).pop().unwrap();
    outbox.handle_outcome(&send.batch_id, Outcome::NetworkError, 0);
    let sends = outbox.poll_keepalive(0, 4_000);
    assert!(sends.is_empty());
    let persisted = outbox.persisted().unwrap();
    assert!(persisted.contains(&send.batch_id), "persisted whole, with its id");
}

#[test]
fn persisted_batches_keep_their_ids_and_events_on_the_next_page() {
    let mut outbox = new_outbox(3);
    outbox.set_replay_session(ReplaySession { browser_session_id: "bs".into(), started_at_ms: 42 });
    for i in 0..5 {
        outbox.capture(Stream::Analytics, event(i));
    }
    outbox.capture(Stream::Replay, r#"{"type":4,"data":{"href":"x\ny"},"timestamp":1}"#.into());
    let in_flight = outbox.poll_uploads(0);
    outbox.seal_buffers();
    let before: Vec<Upload> = {
        let mut copy = outbox_adopting(outbox.persisted().as_deref());
        copy.make_everything_due();
        copy.poll_uploads(7)
    };
    let mut original_bodies: Vec<String> = in_flight.iter().map(|s| s.body.clone()).collect();
    original_bodies.extend(outbox.poll_uploads(7).into_iter().map(|s| s.body));
    let rebuilt: Vec<String> = before.iter().map(|s| s.body.clone()).collect();
    let strip = |b: &String| b.replace("\"sent_at_ms\":0", "\"sent_at_ms\":7");
    let original: BTreeSet<String> = original_bodies.iter().map(strip).collect();
    assert_eq!(original, rebuilt.iter().cloned().collect::<BTreeSet<_>>());
    let replay = before.iter().find(|s| s.stream == Stream::Replay).unwrap();
    assert!(
        replay.body.contains("\"browser_session_id\":\"bs\"") && replay.body.contains("\"started_at_ms\":42")
    );
    assert!(
        replay.body.contains("\"segment_id\"")
            || replay.body.contains("\"session_replay_segment_id\":\"seg\"")
    );
}

#[test]
fn adopting_garbage_is_an_error_and_adopting_twice_is_harmless() {
    let mut outbox = new_outbox(5);
    assert_eq!(outbox.adopt("hello"), Err(AdoptError::NotAnOutbox));
    assert_eq!(
        outbox.adopt("sightline-unsent v1\nB\tanalytics\tid\tseg\t-\t-\t0\t3\n{}\n"),
        Err(AdoptError::Truncated)
    );
    // A header of seven or nine fields is refused, naming its line.
    let seven = "sightline-unsent v1\nB\tanalytics\tid\tseg\t-\t-\t1\n{}\n";
    assert_eq!(outbox.adopt(seven), Err(AdoptError::BadHeader { line: 2 }));
    let nine = "sightline-unsent v1\nB\tanalytics\tid\tseg\t-\t-\t0\t1\tx\n{}\n";
    assert_eq!(outbox.adopt(nine), Err(AdoptError::BadHeader { line: 2 }));
    // So is a header whose fields cannot be read, counting the events before it.
    let good = "B\tanalytics\tid1\tseg\t-\t-\t0\t2\n{}\n{}\n";
    for bad in [
        "B\tvideo\tid2\tseg\t-\t-\t0\t1",
        "X\tanalytics\tid2\tseg\t-\t-\t0\t1",
        "B\tanalytics\tid2\tseg\t-\t-\t0\tmany",
        "B\treplay\tid2\tseg\tsession\tyesterday\t0\t1",
    ] {
        let text = format!("sightline-unsent v1\n{good}{bad}\n{{}}\n");
        assert_eq!(outbox.adopt(&text), Err(AdoptError::BadHeader { line: 5 }), "{bad}");
    }
    assert_eq!(outbox.stats().queued_events, 0);
    let text = "sightline-unsent v1\nB\tanalytics\tid\tseg\t-\t-\t0\t1\n{}\n";
    assert_eq!(outbox.adopt(text), Ok(1));
    assert_eq!(outbox.adopt(text), Ok(0));
    assert_eq!(outbox.stats().queued_events, 1);
}

#[test]
fn clear_drops_everything_unacknowledged_and_late_answers_are_ignored() {
    let mut outbox = new_outbox(2);
    for i in 0..5 {
        outbox.capture(Stream::Analytics, event(i));
    }
    let in_flight = outbox.poll_uploads(0);
    assert_eq!(outbox.clear(), 5);
    assert_eq!(outbox.handle_outcome(&in_flight[0].batch_id, ok(), 0), Verdict::Unknown);
    assert_eq!(
        outbox.stats(),
        Stats { queued_events: 0, delivered_events: 0, dropped_events: 5, ..Stats::default() }
    );
    assert!(outbox.persisted().is_none());
}

#[test]
fn flush_skips_the_retry_delay() {
    let mut outbox = outbox_with_one_event();
    let send = outbox.poll_uploads(0).pop().unwrap();
    outbox.handle_outcome(&send.batch_id, status(503), 0);
    assert!(outbox.poll_uploads(10).is_empty());
    outbox.make_everything_due();
    assert_eq!(outbox.poll_uploads(10).len(), 1);
}

#[test]
fn a_replay_session_change_seals_the_old_sessions_events() {
    let mut outbox = new_outbox(50);
    outbox.set_replay_session(ReplaySession { browser_session_id: "a".into(), started_at_ms: 1 });
    outbox.capture(Stream::Replay, "{}".into());
    outbox.set_replay_session(ReplaySession { browser_session_id: "b".into(), started_at_ms: 2 });
    outbox.capture(Stream::Replay, "{}".into());
    outbox.seal_buffers();
    let bodies: Vec<String> = outbox.poll_uploads(0).into_iter().map(|s| s.body).collect();
    assert_eq!(bodies.len(), 2);
    assert!(bodies[0].contains("\"browser_session_id\":\"a\""));
    assert!(bodies[1].contains("\"browser_session_id\":\"b\""));
}

#[test]
fn a_keepalive_answer_received_while_the_page_lives_is_applied() {
    let mut outbox = new_outbox(5);
    outbox.capture(Stream::Analytics, event(0));
    let sends = outbox.poll_keepalive(0, 65_536);
    assert!(outbox.persisted().unwrap().contains(&sends[0].batch_id), "persisted until answered");
    assert!(outbox.poll_uploads(u64::MAX / 2).is_empty(), "not resent by this page meanwhile");
    outbox.handle_keepalive_outcome(&sends[0].batch_id, status(503), 0);
    let send = outbox.poll_uploads(u64::MAX / 2).pop().unwrap();
    assert_eq!(send.batch_id, sends[0].batch_id, "a failed keepalive is retried with its id");
    outbox.handle_outcome(&send.batch_id, ok(), 0);
    assert_eq!(outbox.stats().delivered_events, 1);
    assert!(outbox.persisted().is_none(), "acknowledged: nothing left to persist");
}

#[test]
fn batches_not_yet_claimed_by_a_send_stay_available_to_the_keepalive_planner() {
    // The shell claims one batch as its request starts; an unload meanwhile can still
    // hand every other batch to keepalive instead of leaving it for a later visit.
    let mut outbox = new_outbox(10);
    for i in 0..40 {
        outbox.capture(Stream::Analytics, event(i));
    }
    assert!(outbox.has_due(0));
    let claimed = outbox.poll_upload(0).unwrap();
    assert_eq!(body_events(&claimed.body).1, (0..10).collect::<Vec<_>>(), "the oldest batch first");
    let sends = outbox.poll_keepalive(0, 64 * 1024);
    assert_eq!(sends.len(), 3, "the three unclaimed batches leave with keepalive");
    assert!(outbox.persisted().unwrap().contains(&claimed.batch_id), "the claimed one is persisted");
}

// --- identity epochs, bounds, storage (issue 10) ---

fn replay_event(i: usize, pad: usize) -> String {
    format!(r#"{{"type":3,"data":{{"i":{i},"pad":"{}"}},"timestamp":{i}}}"#, "r".repeat(pad))
}

#[test]
fn clear_starts_a_new_epoch_and_a_claimed_batch_of_the_old_one_is_not_current() {
    let mut outbox = new_outbox(2);
    for i in 0..4 {
        outbox.capture(Stream::Analytics, event(i));
    }
    // User A's batch is claimed; the session is being resolved when A signs out.
    let a = outbox.poll_upload(0).unwrap();
    assert!(outbox.is_current(a.epoch));
    outbox.clear();
    assert!(!outbox.is_current(a.epoch), "A's claimed batch must not leave after clearBuffer()");
    // User B's events form batches of the new epoch only.
    for i in 10..12 {
        outbox.capture(Stream::Analytics, event(i));
    }
    let b = outbox.poll_upload(0).unwrap();
    assert!(outbox.is_current(b.epoch) && b.epoch != a.epoch);
    assert_eq!(body_events(&b.body).1, vec![10, 11]);
    assert!(outbox.poll_upload(0).is_none(), "nothing of A's is left to send");
    assert_eq!(outbox.handle_outcome(&a.batch_id, ok(), 0), Verdict::Unknown);
}

#[test]
fn clear_counts_replay_events_and_forgets_the_session_and_the_copies() {
    let mut outbox = new_outbox(50);
    outbox.capture(Stream::Replay, replay_event(0, 10));
    outbox.capture(Stream::Replay, replay_event(1, 10));
    outbox.seal_buffers();
    let copy = outbox.poll_copy(Stream::Replay, 1 << 20);
    assert!(copy.is_some());
    outbox.handle_copy_write(Stream::Replay, true);
    assert!(outbox.has_copy(Stream::Replay));
    outbox.clear();
    assert!(!outbox.has_copy(Stream::Replay));
    assert_eq!(outbox.stats().dropped_replay_events, 2);
}

#[test]
fn a_401_waits_for_another_session_or_the_longest_backoff_instead_of_looping() {
    let mut outbox = outbox_with_one_event();
    assert!(!outbox.handle_session(111));
    let send = outbox.poll_upload(0).unwrap();
    assert!(matches!(
        outbox.handle_outcome(&send.batch_id, status(401), 1_000),
        Verdict::Retry { at_ms: 61_000 }
    ));
    assert!(!outbox.has_due(60_999), "not retried with the rejected session");
    assert!(!outbox.handle_session(111), "the same session again: still waiting");
    assert!(!outbox.has_due(1_001));
    assert!(outbox.handle_session(222), "another session: due at once");
    assert!(outbox.has_due(1_001));
    let again = outbox.poll_upload(1_001).unwrap();
    assert_eq!(again.batch_id, send.batch_id);
}

#[test]
fn a_batch_is_serialized_once_every_attempt_sends_the_same_bytes() {
    let mut outbox = outbox_with_one_event();
    let first = outbox.poll_upload(5).unwrap();
    outbox.handle_outcome(&first.batch_id, status(503), 5);
    outbox.make_everything_due();
    let second = outbox.poll_upload(90_000).unwrap();
    assert_eq!(first.body, second.body, "the body (and its gzip) is reused, sent_at_ms of the first attempt");
    outbox.handle_outcome(&second.batch_id, Outcome::NetworkError, 90_000);
    let keepalive = outbox.poll_keepalive(100_000, 65_536);
    assert_eq!(keepalive[0].body, first.body);
}

#[test]
fn the_replay_cap_drops_whole_recordings_before_the_newest_snapshot_and_never_that_snapshot() {
    let mut outbox = new_outbox(10);
    outbox.set_max_queued_bytes(Stream::Replay, 50_000);
    let meta =
        |i: usize| format!(r#"{{"type":4,"data":{{"href":"x","width":1,"height":1}},"timestamp":{i}}}"#);
    // An old recording: a snapshot and its events.
    outbox.capture(Stream::Replay, meta(0));
    for i in 1..100 {
        outbox.capture(Stream::Replay, replay_event(i, 100));
    }
    outbox.seal_stream(Stream::Replay);
    // A new snapshot larger than the cap on its own (a page of 100k elements), in chunks.
    outbox.capture(Stream::Replay, meta(1_000));
    for i in 1_001..1_100 {
        outbox.capture(Stream::Replay, replay_event(i, 900));
        outbox.seal_stream(Stream::Replay);
    }
    let stats = outbox.stats();
    assert_eq!(stats.dropped_replay_events, 100, "the old recording went first, whole");
    outbox.make_everything_due();
    let first = outbox.poll_upload(0).expect("the new snapshot is kept");
    assert!(first.body.contains(r#""timestamp":1000"#), "it starts with the newest Meta");
}

#[test]
fn the_byte_cap_drops_the_oldest_batches_counts_them_and_warns_once() {
    let mut outbox = new_outbox(10);
    outbox.set_max_queued_bytes(Stream::Analytics, 20_000);
    outbox.set_max_queued_bytes(Stream::Replay, 50_000);
    let in_flight = {
        outbox.capture(Stream::Analytics, event(0));
        outbox.seal_buffers();
        outbox.poll_upload(0).unwrap()
    };
    for i in 1..2_000 {
        outbox.capture(Stream::Analytics, event(i));
        outbox.capture(Stream::Replay, replay_event(i, 100));
        let bytes = outbox.queued_bytes;
        assert!(bytes[0] <= 20_000 && bytes[1] <= 50_000, "event {i}: {bytes:?}");
    }
    let warnings: BTreeSet<String> =
        std::iter::from_fn(|| outbox.poll_warning()).map(|w| format!("{w:?}")).collect();
    assert_eq!(
        warnings,
        ["QueueFull { stream: Analytics }", "QueueFull { stream: Replay }"].map(String::from).into(),
        "one warning per stream"
    );
    let stats = outbox.stats();
    assert!(stats.dropped_events > 1_500 && stats.dropped_replay_events > 1_500);
    assert_eq!(stats.queued_events as u64 + stats.delivered_events + stats.dropped_events, 2_000);
    // The batch in flight was never dropped; the newest events are kept.
    assert_eq!(
        outbox.handle_outcome(&in_flight.batch_id, ok(), 0),
        Verdict::Delivered { stream: Stream::Analytics, events: 1 }
    );
    outbox.make_everything_due();
    let kept: Vec<u64> = outbox
        .poll_uploads(0)
        .iter()
        .filter(|s| s.stream == Stream::Analytics)
        .flat_map(|s| body_events(&s.body).1)
        .collect();
    assert_eq!(kept.last(), Some(&1_999));
}

#[test]
fn every_analytics_event_is_queued_delivered_or_dropped_whatever_happens() {
    let mut seed = 11;
    for round in 0..100 {
        let mut outbox = new_outbox(1 + (lcg(&mut seed) % 20) as usize);
        outbox.set_max_queued_bytes(Stream::Analytics, 2_000 + (lcg(&mut seed) % 20_000) as usize);
        let mut captured = 0u64;
        let mut now = 0;
        let mut in_flight: Vec<Upload> = Vec::new();
        for _ in 0..400 {
            now += lcg(&mut seed) % 3_000;
            match lcg(&mut seed) % 10 {
                0..=4 => {
                    outbox.capture(Stream::Analytics, event(captured as usize));
                    captured += 1;
                }
                5 => in_flight.extend(outbox.poll_uploads(now)),
                6 => {
                    if !in_flight.is_empty() {
                        let send = in_flight.remove((lcg(&mut seed) as usize) % in_flight.len());
                        let outcome =
                            [ok(), status(503), status(401), status(400), status(413), Outcome::NetworkError]
                                [(lcg(&mut seed) % 6) as usize]
                                .clone();
                        outbox.handle_outcome(&send.batch_id, outcome, now);
                    }
                }
                7 => {
                    outbox.handle_session(lcg(&mut seed) % 3);
                }
                8 => {
                    for send in outbox.poll_keepalive(now, 65_536) {
                        let outcome = [ok(), status(503)][(lcg(&mut seed) % 2) as usize].clone();
                        outbox.handle_keepalive_outcome(&send.batch_id, outcome, now);
                    }
                }
                _ => {
                    if lcg(&mut seed) % 20 == 0 {
                        outbox.clear();
                        in_flight.clear();
                    } else {
                        outbox.seal_buffers();
                    }
                }
            }
            let s = outbox.stats();
            assert_eq!(
                s.queued_events as u64 + s.delivered_events + s.dropped_events,
                captured,
                "round {round}"
            );
        }
    }
}

#[test]
fn replay_data_goes_first_when_storage_is_short_and_is_counted() {
    let mut outbox = new_outbox(5);
    for i in 0..10 {
        outbox.capture(Stream::Analytics, event(i));
    }
    for i in 0..5 {
        outbox.capture(Stream::Replay, replay_event(i, 5_000));
        outbox.seal_buffers();
    }
    // A replay budget for about two batches: the oldest fit, the rest are dropped.
    let copy = outbox.poll_copy(Stream::Replay, 11_000).unwrap();
    outbox.handle_copy_write(Stream::Replay, true);
    assert_eq!(copy.matches("\nB\t").count(), 2);
    assert_eq!(outbox.stats().dropped_replay_events, 3);
    assert_eq!(outbox.poll_warning(), Some(Warning::ReplayNotPersisted { events: 3 }));
    // The replay write then fails (quota): those are dropped too, counted.
    let _ = outbox.poll_copy(Stream::Replay, 11_000);
    outbox.handle_copy_write(Stream::Replay, false);
    assert_eq!(outbox.stats().dropped_replay_events, 5);
    // The host hears that persistence is off, then about the events it cost.
    assert_eq!(outbox.poll_warning(), Some(Warning::PersistenceOff));
    assert_eq!(outbox.poll_warning(), Some(Warning::ReplayNotPersisted { events: 2 }));
    // A failed analytics write keeps every event in memory, and the page does not
    // mistake the missing copy for an adoption by another page.
    let _ = outbox.poll_copy(Stream::Analytics, 1 << 20).unwrap();
    outbox.handle_copy_write(Stream::Analytics, false);
    assert!(!outbox.has_copy(Stream::Analytics));
    outbox.handle_copy_taken(Stream::Analytics);
    assert_eq!(outbox.stats().queued_events, 10);
    // Persistence being off is said once per page, however many writes fail.
    assert_eq!(outbox.poll_warning(), None);
}

#[test]
fn a_copy_adopted_by_another_page_is_forgotten_here() {
    let mut outbox = new_outbox(5);
    for i in 0..10 {
        outbox.capture(Stream::Analytics, event(i));
    }
    let claimed = outbox.poll_upload(0).unwrap();
    let copy = outbox.poll_copy(Stream::Analytics, 1 << 20).unwrap();
    outbox.handle_copy_write(Stream::Analytics, true);
    let mut other = outbox_adopting(Some(&copy));
    other.make_everything_due();
    assert_eq!(other.poll_uploads(0).len(), 2);
    outbox.handle_copy_taken(Stream::Analytics);
    assert_eq!(outbox.stats().queued_events, 5, "only the batch this page is sending stays");
    assert_eq!(
        outbox.handle_outcome(&claimed.batch_id, ok(), 0),
        Verdict::Delivered { stream: Stream::Analytics, events: 5 }
    );
}

#[test]
fn keepalive_bytes_in_flight_are_counted_across_unloads_until_answered() {
    let mut outbox = new_outbox(500);
    for i in 0..300 {
        outbox.capture(Stream::Analytics, event(i));
    }
    let first = outbox.poll_keepalive(0, 8_000);
    let first_bytes: usize = first.iter().map(|s| s.body.len()).sum();
    assert_eq!(outbox.keepalive_in_flight(), first_bytes);
    for i in 300..600 {
        outbox.capture(Stream::Analytics, event(i));
    }
    let second = outbox.poll_keepalive(0, 8_000);
    let second_bytes: usize = second.iter().map(|s| s.body.len()).sum();
    assert!(first_bytes + second_bytes <= 8_000);
    outbox.handle_keepalive_outcome(&first[0].batch_id, ok(), 0);
    assert_eq!(outbox.keepalive_in_flight(), second_bytes);
}

#[test]
fn pages_seeded_apart_retry_apart_with_their_own_ids() {
    // Two pages failing at the same moment must not come back in lockstep, and their
    // batches must not share ids (a server deduplicates by `batch_id`).
    let mut waits = Vec::new();
    let mut ids = Vec::new();
    for seed in [*b"page-one........", *b"page-two........"] {
        let mut outbox =
            Outbox::new("seg".into(), 1, Backoff::for_uploads(1_000, 60_000), Random::from_seed(seed));
        outbox.capture(Stream::Analytics, event(0));
        let send = outbox.poll_uploads(0).pop().unwrap();
        ids.push(send.batch_id.clone());
        outbox.handle_outcome(&send.batch_id, Outcome::NetworkError, 0);
        waits.push(outbox.poll_timeout().unwrap());
    }
    assert_ne!(waits[0], waits[1], "jitter differs between pages");
    assert_ne!(ids[0], ids[1]);
}
