//! The outbox: buffers captured events, forms immutable batches, decides what to send,
//! when to retry and what to keep for the next page. It never performs I/O: the shell
//! asks what is due, sends it, and reports each outcome back.
//!
//! Delivery guarantees (README "Delivery"):
//! - Capture never waits for anything; an event is in a buffer or a batch until the
//!   server acknowledges it, or it is counted as dropped for a stated reason.
//! - A batch keeps its `batch_id` and events forever: retries and later pages resend
//!   it byte-for-byte (only `sent_at_ms` changes), so a server can deduplicate.
//! - A batch whose attempt may have reached the server (5xx, network error) is never
//!   re-cut into new batches, which would defeat that deduplication.
//! - Identity epochs: `clear()` (the host's sign-out) starts a new epoch. Every `Upload`
//!   names its epoch, and the shell sends a batch only if, after resolving the session
//!   for that very request, the epoch is unchanged (`is_current`): nothing captured
//!   before `clear()` leaves after it, and nothing captured after it leaves with a
//!   session resolved before it.
//! - Bounded: each stream's queued bytes are capped (`set_max_queued_bytes`); above the
//!   cap the oldest waiting batches are dropped and counted (`poll_warning` says so once).
//!
//! Kinds of method, in the order a driver uses them:
//! - commands: `capture`, `seal_stream`, `make_everything_due`, `clear`, `adopt`;
//! - `poll_*` (what to do next): `poll_upload_of` / `poll_uploads` (what to send now),
//!   `poll_timeout` (when to wake), `poll_keepalive` (the unload path),
//!   `poll_copy` (what to write to storage), `poll_warning` (what to tell the host);
//! - `handle_*` / outcomes: `handle_outcome`, `handle_keepalive_outcome`, `handle_session`,
//!   `handle_copy_write`, `handle_copy_taken`;
//! - getters: `stats`, `epoch`, `is_current`, `has_copy`.

use crate::core::backoff::{parse_retry_after_ms, Backoff};
use crate::core::batch::{BatchContent, ReplaySession, Stream};
use crate::core::ids::{uuid_v4, Random};
use crate::core::json::{parse_u64, push_u64, split_byte};

/// An rrweb Meta event (`{"type":4,…}`, as the recorder writes it): a full snapshot
/// follows it.
fn is_meta_event(event_json: &str) -> bool {
    event_json.starts_with("{\"type\":4,")
}

/// What the shell learned from one attempt to send a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The server answered with this status, and maybe a `Retry-After` header (its raw
    /// value, read here as the access gate reads its own).
    Status { code: u16, retry_after: Option<String> },
    /// `fetch` rejected or timed out: the server may or may not have stored the batch.
    NetworkError,
    /// `getAnalyticsSession` threw, rejected, timed out or returned garbage: not sent.
    SessionUnavailable,
    /// The body as it would be sent (after gzip) is over the server's limit: not sent.
    TooLargeAsSent,
}

/// What became of a batch after an outcome, for the shell's logging.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "a dropped batch must be told to the host"]
pub enum Verdict {
    Delivered {
        stream: Stream,
        events: usize,
    },
    /// Dropped for good (the shell words the warning).
    Dropped {
        stream: Stream,
        events: usize,
        reason: DropReason,
    },
    /// Cut in halves that are sent as new batches.
    Split,
    /// Kept, retried at `at_ms`.
    Retry {
        at_ms: u64,
    },
    /// The batch is no longer in the outbox (cleared meanwhile).
    Unknown,
}

/// Why a batch was dropped for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// The server answered 400 or 422 (`status`): it refuses the batch every time.
    Rejected { status: u16 },
    /// A batch of a single event was still too large for the server (413, or over the
    /// limit after gzip): it cannot be split further.
    EventTooLarge,
}

/// Why `adopt` refused a persisted queue. Nothing of it is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdoptError {
    /// The text does not start with the outbox's first line.
    NotAnOutbox,
    /// Line `line` (1-based) is not a batch header of eight tab-separated fields, or one
    /// of its fields (the stream, the event count, the start time) cannot be read.
    BadHeader { line: usize },
    /// The text ends before the last batch's events do.
    Truncated,
}

/// What `capture` did with an event.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "a formed batch waits until the shell sends it; a dropped event must be told"]
pub enum Captured {
    Buffered,
    /// A batch was formed; the shell should send now.
    BatchFormed,
    /// The event alone is larger than a batch may be; it is dropped (and counted, for
    /// analytics).
    DroppedTooLarge {
        bytes: usize,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Delivery {
    /// Waiting in the queue (maybe for a retry delay).
    Waiting,
    /// An ordinary fetch is under way.
    InFlight,
    /// Handed to a keepalive fetch on the unload path. The page may not live to see the
    /// answer, and a keepalive request can fail like any other, so the batch is still
    /// persisted: the next page resends it with the same `batch_id` and the server
    /// deduplicates. It is not resent by this page unless its answer says so.
    HandedToKeepalive,
}

#[derive(Debug, Clone)]
struct QueuedBatch {
    content: BatchContent,
    failed_attempts: u32,
    next_attempt_at_ms: u64,
    delivery: Delivery,
    /// An attempt may have reached the server (5xx or network error): never re-cut.
    maybe_delivered: bool,
    /// Bytes of the events (what the byte cap counts).
    bytes: usize,
    /// Holds a replay Meta event: a full snapshot starts here.
    starts_snapshot: bool,
    /// Answered 401 with the session of this fingerprint: waits for another session.
    unauthorized_for: Option<u64>,
    /// The body sent by the first attempt; every later attempt sends it unchanged.
    body: Option<String>,
    /// Keepalive bytes this batch holds in flight.
    keepalive_bytes: usize,
}

impl QueuedBatch {
    fn new(content: BatchContent) -> Self {
        let bytes = content.events.iter().map(String::len).sum();
        let starts_snapshot = content.events.iter().any(|e| is_meta_event(e));
        QueuedBatch {
            starts_snapshot,
            content,
            failed_attempts: 0,
            next_attempt_at_ms: 0,
            delivery: Delivery::Waiting,
            maybe_delivered: false,
            bytes,
            unauthorized_for: None,
            body: None,
            keepalive_bytes: 0,
        }
    }

    /// The body every attempt sends, built at the first.
    fn claim_body(&mut self, now_ms: u64) -> String {
        self.body.get_or_insert_with(|| self.content.body(now_ms)).clone()
    }

    fn body_len(&self, now_ms: u64) -> usize {
        self.body.as_ref().map_or_else(|| self.content.body_len(now_ms), String::len)
    }

    fn send(&mut self, now_ms: u64, epoch: u64) -> Upload {
        Upload {
            batch_id: self.content.batch_id.clone(),
            stream: self.content.stream,
            body: self.claim_body(now_ms),
            events: self.content.events.len(),
            epoch,
        }
    }
}

fn index(stream: Stream) -> usize {
    match stream {
        Stream::Analytics => 0,
        Stream::Replay => 1,
    }
}

#[derive(Debug, Default)]
struct Buffer {
    events: Vec<String>,
    bytes: usize,
}

/// Counters of `stats()`: analytics events (`queued + delivered + dropped` = captured),
/// and replay events dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    pub queued_events: usize,
    pub delivered_events: u64,
    pub dropped_events: u64,
    pub dropped_replay_events: u64,
}

/// A batch the shell should send now.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "a batch taken to be sent is in flight until its outcome is handled"]
pub struct Upload {
    pub batch_id: String,
    pub stream: Stream,
    /// Built once per batch: every attempt sends these exact bytes (`sent_at_ms` is the
    /// time of the first attempt), so the shell may compress it once and reuse that.
    pub body: String,
    pub events: usize,
    /// The identity epoch the batch belongs to (see the module docs).
    pub epoch: u64,
}

/// Something the host should hear about once (`console.warn`), polled by the shell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Warning {
    /// The stream's queue passed its byte cap: the oldest batches are being dropped.
    QueueFull { stream: Stream },
    /// Replay batches were left out of storage (budget or quota) and dropped.
    ReplayNotPersisted { events: usize },
    /// A copy could not be written to storage (quota full or storage blocked): unsent
    /// events are kept in memory only. Said once per page.
    PersistenceOff,
}

pub struct Outbox {
    segment_id: String,
    max_analytics_events: usize,
    backoff: Backoff,
    random: Random,
    analytics: Buffer,
    replay: Buffer,
    replay_session: Option<ReplaySession>,
    queue: Vec<QueuedBatch>,
    delivered: u64,
    dropped: u64,
    dropped_replay: u64,
    epoch: u64,
    /// Per stream: bytes of events in its buffer and batches (kept by `recount`).
    queued_bytes: [usize; 2],
    max_queued_bytes: [usize; 2],
    /// Fingerprint of the session the shell resolved last (`handle_session`).
    session: Option<u64>,
    keepalive_in_flight: usize,
    /// Per stream: ids in the copy in storage (`None`: no copy of ours there).
    copies: [Option<Vec<String>>; 2],
    /// Per stream: ids in the copy the shell is writing (`poll_copy`).
    pending_copies: [Vec<String>; 2],
    warnings: Vec<Warning>,
    warned_full: [bool; 2],
    warned_persistence: bool,
}

/// Header line of the persisted format.
const PERSIST_MAGIC: &str = "sightline-unsent v1";

impl Outbox {
    /// `segment_id` is this page's `session_replay_segment_id`; `max_analytics_events`
    /// is `analytics.maxEventsPerBatch` (clamped to the server's 1..=500); `random`
    /// draws batch ids and retry jitter.
    pub fn new(segment_id: String, max_analytics_events: usize, backoff: Backoff, random: Random) -> Self {
        Self {
            segment_id,
            max_analytics_events: max_analytics_events.clamp(1, Stream::Analytics.max_events()),
            backoff,
            random,
            analytics: Buffer::default(),
            replay: Buffer::default(),
            replay_session: None,
            queue: Vec::new(),
            delivered: 0,
            dropped: 0,
            dropped_replay: 0,
            epoch: 0,
            queued_bytes: [0; 2],
            max_queued_bytes: [usize::MAX; 2],
            session: None,
            keepalive_in_flight: 0,
            copies: [None, None],
            pending_copies: [Vec::new(), Vec::new()],
            warnings: Vec::new(),
            warned_full: [false; 2],
            warned_persistence: false,
        }
    }

    /// `analytics.maxQueuedBytes` / `replays.maxQueuedBytes`.
    pub fn set_max_queued_bytes(&mut self, stream: Stream, bytes: usize) {
        self.max_queued_bytes[index(stream)] = bytes;
        self.enforce_cap(stream);
    }

    /// Whether the batch `batch_id` is still queued (the shell drops what it cached
    /// for batches that are gone).
    pub fn holds(&self, batch_id: &str) -> bool {
        self.queue.iter().any(|b| b.content.batch_id == batch_id)
    }

    /// The current identity epoch.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Whether a batch of `epoch` may still be sent (no `clear()` since).
    pub fn is_current(&self, epoch: u64) -> bool {
        self.epoch == epoch
    }

    /// A warning to show the host, once each.
    pub fn poll_warning(&mut self) -> Option<Warning> {
        (!self.warnings.is_empty()).then(|| self.warnings.remove(0))
    }

    /// Recomputes the per-stream byte counts after a change of the queue.
    fn recount(&mut self) {
        self.queued_bytes = [self.analytics.bytes, self.replay.bytes];
        for batch in &self.queue {
            self.queued_bytes[index(batch.content.stream)] += batch.bytes;
        }
    }

    /// Drops the oldest waiting batches of `stream` while it is over its cap (and, when
    /// every batch is in flight, what is buffered).
    fn enforce_cap(&mut self, stream: Stream) {
        let i = index(stream);
        let mut dropped_any = false;
        while self.queued_bytes[i] > self.max_queued_bytes[i] {
            // A recording is only playable from its newest full snapshot: replay batches
            // before it go first, and that snapshot is never dropped (a page whose
            // snapshot alone is over the cap keeps it until it is sent).
            let keep_from = match stream {
                Stream::Analytics => self.queue.len(),
                Stream::Replay => self.newest_snapshot_batch().unwrap_or(self.queue.len()),
            };
            let oldest = self.queue[..keep_from]
                .iter()
                .position(|b| b.content.stream == stream && b.delivery == Delivery::Waiting);
            match oldest {
                Some(at) => {
                    let batch = self.queue.remove(at);
                    self.queued_bytes[i] -= batch.bytes;
                    self.count_dropped(stream, batch.content.events.len());
                    dropped_any = true;
                }
                None if keep_from == self.queue.len() && !self.buffer(stream).events.is_empty() => {
                    self.seal(stream);
                }
                None => break,
            }
        }
        if dropped_any && !std::mem::replace(&mut self.warned_full[i], true) {
            self.warnings.push(Warning::QueueFull { stream });
        }
    }

    /// The queue position of the newest replay batch that starts a full snapshot (holds
    /// a Meta event); `None` when none is queued (or the newest is still buffered).
    fn newest_snapshot_batch(&self) -> Option<usize> {
        if self.replay.events.iter().any(|e| is_meta_event(e)) {
            return None;
        }
        self.queue.iter().rposition(|b| b.content.stream == Stream::Replay && b.starts_snapshot)
    }

    pub fn segment_id(&self) -> &str {
        &self.segment_id
    }

    fn new_id(&mut self) -> String {
        uuid_v4(self.random.bytes())
    }

    fn max_events(&self, stream: Stream) -> usize {
        match stream {
            Stream::Analytics => self.max_analytics_events,
            Stream::Replay => stream.max_events(),
        }
    }

    fn buffer(&mut self, stream: Stream) -> &mut Buffer {
        match stream {
            Stream::Analytics => &mut self.analytics,
            Stream::Replay => &mut self.replay,
        }
    }

    /// Bytes of a body holding no event (an upper bound over every id and time).
    fn empty_body_bytes(stream: Stream) -> usize {
        let template = BatchContent {
            stream,
            batch_id: uuid_v4([0; 16]),
            segment_id: uuid_v4([0; 16]),
            replay_session: (stream == Stream::Replay)
                .then(|| ReplaySession { browser_session_id: uuid_v4([0; 16]), started_at_ms: u64::MAX }),
            events: Vec::new(),
        };
        template.body_len(u64::MAX)
    }

    /// Buffers one serialized event. Never waits, never fails except for an event that
    /// could not fit in any batch.
    pub fn capture(&mut self, stream: Stream, event_json: String) -> Captured {
        let cost = BatchContent::event_cost(&event_json);
        let room = stream.max_body_bytes() - Self::empty_body_bytes(stream);
        if cost > room {
            self.count_dropped(stream, 1);
            return Captured::DroppedTooLarge { bytes: event_json.len() };
        }
        let mut formed = false;
        let buffer = self.buffer(stream);
        if buffer.bytes + buffer.events.len() + cost > room {
            formed |= self.seal(stream);
        }
        let max_events = self.max_events(stream);
        let len = event_json.len();
        let buffer = self.buffer(stream);
        buffer.bytes += len;
        buffer.events.push(event_json);
        self.queued_bytes[index(stream)] += len;
        if self.buffer(stream).events.len() >= max_events {
            formed |= self.seal(stream);
        }
        self.enforce_cap(stream);
        if formed {
            Captured::BatchFormed
        } else {
            Captured::Buffered
        }
    }

    /// The browser session replay batches are formed for. Events buffered for an
    /// earlier session are sealed into their own batch first.
    pub fn set_replay_session(&mut self, session: ReplaySession) {
        if self.replay_session.as_ref() != Some(&session) {
            self.seal(Stream::Replay);
            self.replay_session = Some(session);
        }
    }

    /// Forms a batch of what `stream`'s buffer holds. Returns whether one was formed.
    fn seal(&mut self, stream: Stream) -> bool {
        if self.buffer(stream).events.is_empty() {
            return false;
        }
        let replay_session =
            match stream {
                Stream::Analytics => None,
                Stream::Replay => Some(self.replay_session.clone().unwrap_or(ReplaySession {
                    browser_session_id: self.segment_id.clone(),
                    started_at_ms: 0,
                })),
            };
        let events = std::mem::take(&mut self.buffer(stream).events);
        self.buffer(stream).bytes = 0;
        let batch_id = self.new_id();
        let content =
            BatchContent { stream, batch_id, segment_id: self.segment_id.clone(), replay_session, events };
        self.enqueue(content);
        true
    }

    fn enqueue(&mut self, content: BatchContent) {
        self.queue.push(QueuedBatch::new(content));
    }

    /// Forms batches of everything buffered (the periodic flush, `flush()`, unload).
    pub fn seal_buffers(&mut self) -> bool {
        let analytics = self.seal(Stream::Analytics);
        let replay = self.seal(Stream::Replay);
        analytics || replay
    }

    /// Forms batches of one stream's buffer (each stream has its own flush interval).
    pub fn seal_stream(&mut self, stream: Stream) -> bool {
        self.seal(stream)
    }

    /// `flush()`: everything buffered becomes a batch and every waiting batch is due now,
    /// its retry delay skipped.
    pub fn make_everything_due(&mut self) {
        self.seal_buffers();
        for batch in &mut self.queue {
            if batch.delivery == Delivery::Waiting {
                batch.next_attempt_at_ms = 0;
            }
        }
    }

    /// The batches to send now, in the order they were formed; each is marked in flight
    /// until `handle_outcome` is called for it.
    pub fn poll_uploads(&mut self, now_ms: u64) -> Vec<Upload> {
        let mut due = Vec::new();
        while let Some(send) = self.poll_upload(now_ms) {
            due.push(send);
        }
        due
    }

    /// Whether a batch is due at `now_ms` (without claiming it).
    pub fn has_due(&self, now_ms: u64) -> bool {
        self.queue.iter().any(|b| b.delivery == Delivery::Waiting && b.next_attempt_at_ms <= now_ms)
    }

    /// Claims the oldest due batch, marking it in flight. The shell claims a batch only
    /// when its request is about to start, so that everything else stays available to
    /// the keepalive planner if the page goes away meanwhile.
    pub fn poll_upload(&mut self, now_ms: u64) -> Option<Upload> {
        self.poll_upload_of(now_ms, None)
    }

    /// `poll_upload`, limited to one stream when `only` says so.
    pub fn poll_upload_of(&mut self, now_ms: u64, only: Option<Stream>) -> Option<Upload> {
        let batch = self.queue.iter_mut().find(|b| {
            b.delivery == Delivery::Waiting
                && b.next_attempt_at_ms <= now_ms
                && only.map_or(true, |stream| b.content.stream == stream)
        })?;
        batch.delivery = Delivery::InFlight;
        Some(batch.send(now_ms, self.epoch))
    }

    /// When the next waiting batch becomes due, if any (the shell sets a timer).
    pub fn poll_timeout(&self) -> Option<u64> {
        let mut next: Option<u64> = None;
        for b in self.queue.iter().filter(|b| b.delivery == Delivery::Waiting) {
            next = Some(next.map_or(b.next_attempt_at_ms, |n| n.min(b.next_attempt_at_ms)));
        }
        next
    }

    /// Applies the outcome of one attempt (wire.md's status table).
    pub fn handle_outcome(&mut self, batch_id: &str, outcome: Outcome, now_ms: u64) -> Verdict {
        let Some(index) = self.queue.iter().position(|b| b.content.batch_id == batch_id) else {
            return Verdict::Unknown;
        };
        let stream = self.queue[index].content.stream;
        let events = self.queue[index].content.events.len();
        let code = match outcome {
            Outcome::Status { code, .. } => Some(code),
            _ => None,
        };
        let verdict = match (&outcome, code) {
            (_, Some(200..=299)) => {
                self.queue.remove(index);
                if stream == Stream::Analytics {
                    self.delivered += events as u64;
                }
                Verdict::Delivered { stream, events }
            }
            (_, Some(401)) => {
                // Retrying with the same session would loop: wait for another one
                // (`handle_session`), or the longest backoff.
                let at_ms = now_ms.saturating_add(self.backoff.max_delay_ms());
                let session = self.session.unwrap_or(0);
                let batch = &mut self.queue[index];
                batch.failed_attempts = batch.failed_attempts.saturating_add(1);
                batch.next_attempt_at_ms = at_ms;
                batch.delivery = Delivery::Waiting;
                batch.unauthorized_for = Some(session);
                Verdict::Retry { at_ms }
            }
            (_, Some(status @ (400 | 422))) => {
                self.queue.remove(index);
                self.count_dropped(stream, events);
                Verdict::Dropped { stream, events, reason: DropReason::Rejected { status } }
            }
            (Outcome::TooLargeAsSent, _) | (_, Some(413)) => self.split_too_large(index),
            _ => {
                let retry_after_ms = match &outcome {
                    Outcome::Status { retry_after: Some(value), .. } => parse_retry_after_ms(value, now_ms),
                    _ => None,
                };
                let random = self.random.unit();
                let batch = &mut self.queue[index];
                let delay = self.backoff.delay_ms(batch.failed_attempts, random, retry_after_ms);
                batch.failed_attempts = batch.failed_attempts.saturating_add(1);
                batch.next_attempt_at_ms = now_ms.saturating_add(delay);
                batch.delivery = Delivery::Waiting;
                batch.maybe_delivered |=
                    matches!(outcome, Outcome::NetworkError) || code.is_some_and(|c| c >= 500);
                Verdict::Retry { at_ms: batch.next_attempt_at_ms }
            }
        };
        self.recount();
        verdict
    }

    /// The shell resolved a session for a request (`fingerprint`: a hash of its tokens,
    /// 0 when signed out). Batches answered 401 under another session are due at once.
    /// Returns whether any became due.
    pub fn handle_session(&mut self, fingerprint: u64) -> bool {
        self.session = Some(fingerprint);
        let mut woke = false;
        for batch in &mut self.queue {
            if batch.unauthorized_for.is_some_and(|f| f != fingerprint) {
                batch.unauthorized_for = None;
                batch.next_attempt_at_ms = 0;
                woke = true;
            }
        }
        woke
    }

    fn count_dropped(&mut self, stream: Stream, events: usize) {
        match stream {
            Stream::Analytics => self.dropped += events as u64,
            Stream::Replay => self.dropped_replay += events as u64,
        }
    }

    /// 413 (or too large after gzip): halves become new batches, due now; a single event
    /// is dropped. Splitting is safe: the server refused the whole batch.
    fn split_too_large(&mut self, index: usize) -> Verdict {
        let batch = self.queue.remove(index);
        let stream = batch.content.stream;
        let template = batch.content.clone_without_events();
        let mut events = batch.content.events;
        if events.len() <= 1 {
            self.count_dropped(stream, events.len());
            return Verdict::Dropped { stream, events: events.len(), reason: DropReason::EventTooLarge };
        }
        let second = events.split_off(events.len() / 2);
        // The halves take the batch's place in the queue: a recording's events must
        // reach the server in order (a FullSnapshot before the events that refer to it).
        for (offset, half) in [events, second].into_iter().enumerate() {
            let batch_id = self.new_id();
            let content = BatchContent { batch_id, events: half, ..template.clone_without_events() };
            self.queue.insert(index + offset, QueuedBatch::new(content));
        }
        Verdict::Split
    }

    /// The unload path (`pagehide`, `visibilitychange` to hidden, `stop()`): seals the
    /// buffers and picks the waiting batches whose bodies fit in `budget_bytes` of
    /// keepalive, cutting a never-attempted batch that does not fit into one that does.
    /// What is not picked stays in the outbox for `persisted()`.
    pub fn poll_keepalive(&mut self, now_ms: u64, budget_bytes: usize) -> Vec<Upload> {
        self.seal_buffers();
        let mut left = budget_bytes.saturating_sub(self.keepalive_in_flight);
        let mut sends = Vec::new();
        let mut index = 0;
        while index < self.queue.len() {
            let batch = &self.queue[index];
            if batch.delivery != Delivery::Waiting {
                index += 1;
                continue;
            }
            let len = batch.body_len(now_ms);
            if len > left && !batch.maybe_delivered && batch.body.is_none() {
                self.cut_to_fit(index, now_ms, left);
            }
            let epoch = self.epoch;
            let batch = &mut self.queue[index];
            let len = batch.body_len(now_ms);
            if len <= left {
                left -= len;
                batch.delivery = Delivery::HandedToKeepalive;
                // From now on the server may hold it: never re-cut it into new batches.
                batch.maybe_delivered = true;
                batch.keepalive_bytes = len;
                self.keepalive_in_flight += len;
                sends.push(batch.send(now_ms, epoch));
            }
            index += 1;
        }
        self.recount();
        sends
    }

    /// Replaces the batch at `index` by a new one holding the longest prefix of its
    /// events whose body fits in `bytes`, followed by a new one with the rest.
    fn cut_to_fit(&mut self, index: usize, now_ms: u64, bytes: usize) {
        let content = &self.queue[index].content;
        let mut len = content.clone_without_events().body_len(now_ms);
        let mut fits = 0;
        for (i, event) in content.events.iter().enumerate() {
            len += event.len() + usize::from(i > 0);
            if len > bytes {
                break;
            }
            fits += 1;
        }
        if fits == 0 {
            return;
        }
        let mut batch = self.queue.remove(index);
        let rest = batch.content.events.split_off(fits);
        let first = std::mem::take(&mut batch.content.events);
        for (offset, events) in [first, rest].into_iter().enumerate() {
            let batch_id = self.new_id();
            let content = BatchContent { batch_id, events, ..batch.content.clone_without_events() };
            let mut cut = QueuedBatch::new(content);
            cut.failed_attempts = batch.failed_attempts;
            cut.next_attempt_at_ms = batch.next_attempt_at_ms;
            self.queue.insert(index + offset, cut);
        }
    }

    /// Marks a keepalive batch as answered while the page still lives.
    pub fn handle_keepalive_outcome(&mut self, batch_id: &str, outcome: Outcome, now_ms: u64) -> Verdict {
        if let Some(batch) = self.queue.iter_mut().find(|b| b.content.batch_id == batch_id) {
            batch.delivery = Delivery::InFlight;
            self.keepalive_in_flight = self.keepalive_in_flight.saturating_sub(batch.keepalive_bytes);
            batch.keepalive_bytes = 0;
        }
        self.handle_outcome(batch_id, outcome, now_ms)
    }

    /// A keepalive request of a batch no longer here (cleared) ended: its bytes are no
    /// longer in flight.
    pub fn handle_keepalive_released(&mut self, bytes: usize) {
        self.keepalive_in_flight = self.keepalive_in_flight.saturating_sub(bytes);
    }

    /// Keepalive bytes this page has in flight (the browser's 64 KiB counts them all).
    pub fn keepalive_in_flight(&self) -> usize {
        self.keepalive_in_flight
    }

    /// Everything not yet acknowledged, in a text form a later page can `adopt`; `None`
    /// when there is nothing. Batches in flight (ordinary or keepalive) are included:
    /// an unload cancels an ordinary fetch, a keepalive one may fail unseen, and if
    /// either did arrive the server deduplicates the resent copy by `batch_id`.
    pub fn persisted(&self) -> Option<String> {
        write_persisted(self.queue.iter())
    }

    /// This stream's copy for storage: its unacknowledged batches, oldest first, as many
    /// as fit in `budget_bytes`. Analytics batches that do not fit stay in memory (and
    /// are sent if the page lives); replay batches that do not fit are dropped and
    /// counted (replay data goes first). `None`: nothing to write (remove the key).
    /// Report the write with `handle_copy_write`.
    pub fn poll_copy(&mut self, stream: Stream, budget_bytes: usize) -> Option<String> {
        let mut left = budget_bytes;
        let mut picked = Vec::new();
        let mut left_out = Vec::new();
        for (at, batch) in self.queue.iter().enumerate().filter(|(_, b)| b.content.stream == stream) {
            let cost = batch.bytes + batch.content.events.len() + 200;
            if cost <= left {
                left -= cost;
                picked.push(at);
            } else if batch.delivery == Delivery::Waiting {
                left_out.push(at);
            }
        }
        if stream == Stream::Replay {
            self.drop_replay_batches(&left_out);
            // Indexes moved: pick again (everything left of this stream fits now, or
            // is in flight).
            return self.persisted_copy_unbudgeted(stream);
        }
        let mut ids = Vec::new();
        for &at in &picked {
            ids.push(self.queue[at].content.batch_id.clone());
        }
        self.pending_copies[index(stream)] = ids;
        write_persisted(picked.iter().map(|&at| &self.queue[at]))
    }

    fn persisted_copy_unbudgeted(&mut self, stream: Stream) -> Option<String> {
        let batches = self.queue.iter().filter(|b| b.content.stream == stream);
        let mut ids = Vec::new();
        for batch in batches.clone() {
            ids.push(batch.content.batch_id.clone());
        }
        self.pending_copies[index(stream)] = ids;
        write_persisted(batches)
    }

    fn drop_replay_batches(&mut self, at: &[usize]) {
        let mut events = 0;
        for &at in at.iter().rev() {
            events += self.queue.remove(at).content.events.len();
        }
        if events > 0 {
            self.count_dropped(Stream::Replay, events);
            self.warnings.push(Warning::ReplayNotPersisted { events });
            self.recount();
        }
    }

    /// The shell wrote (`ok`) or failed to write the copy from `poll_copy`. A
    /// failed replay write drops the waiting replay batches of that copy (counted): the
    /// page is going away and nothing else would keep them. A failed analytics write
    /// keeps everything in memory.
    pub fn handle_copy_write(&mut self, stream: Stream, ok: bool) {
        let ids = std::mem::take(&mut self.pending_copies[index(stream)]);
        if ok {
            self.copies[index(stream)] = (!ids.is_empty()).then_some(ids);
            return;
        }
        self.copies[index(stream)] = None;
        if !std::mem::replace(&mut self.warned_persistence, true) {
            self.warnings.push(Warning::PersistenceOff);
        }
        if stream == Stream::Replay {
            let mut at = Vec::new();
            for (i, b) in self.queue.iter().enumerate() {
                if b.delivery == Delivery::Waiting && ids.contains(&b.content.batch_id) {
                    at.push(i);
                }
            }
            self.drop_replay_batches(&at);
        }
    }

    /// Whether a copy of this stream written by this page should be in storage.
    pub fn has_copy(&self, stream: Stream) -> bool {
        self.copies[index(stream)].is_some()
    }

    /// Our copy is no longer in storage: another page adopted it and sends those
    /// batches, so this page forgets them (except those it is sending right now).
    pub fn handle_copy_taken(&mut self, stream: Stream) {
        if let Some(ids) = self.copies[index(stream)].take() {
            self.forget_adopted(&ids);
        }
    }

    /// Our copy was removed by us (the page is visible again, or `clear()`).
    pub fn handle_copy_removed(&mut self, stream: Stream) {
        self.copies[index(stream)] = None;
    }
}

/// The persisted text form of `batches` (`None` when there are none).
fn write_persisted<'a>(batches: impl Iterator<Item = &'a QueuedBatch>) -> Option<String> {
    {
        let mut out = String::new();
        for batch in batches {
            if out.is_empty() {
                out.push_str(PERSIST_MAGIC);
                out.push('\n');
            }
            let c = &batch.content;
            out.push_str("B\t");
            for field in [c.stream.tag(), &c.batch_id, &c.segment_id] {
                out.push_str(field);
                out.push('\t');
            }
            match &c.replay_session {
                Some(s) => {
                    out.push_str(&s.browser_session_id);
                    out.push('\t');
                    push_u64(&mut out, s.started_at_ms);
                }
                None => out.push_str("-\t-"),
            }
            out.push_str(if batch.maybe_delivered { "\t1\t" } else { "\t0\t" });
            push_u64(&mut out, c.events.len() as u64);
            out.push('\n');
            for event in &c.events {
                // JSON text never holds a raw newline: one event per line.
                out.push_str(event);
                out.push('\n');
            }
        }
        (!out.is_empty()).then_some(out)
    }
}

impl Outbox {
    /// Takes over batches persisted by an earlier page; they keep their ids and are due
    /// now. Returns how many batches were adopted.
    pub fn adopt(&mut self, persisted: &str) -> Result<usize, AdoptError> {
        // `persisted.lines()`, without core's char searcher.
        let persisted = persisted.strip_suffix('\n').unwrap_or(persisted);
        let mut lines = split_byte(persisted, b'\n').map(|line| line.strip_suffix('\r').unwrap_or(line));
        if lines.next() != Some(PERSIST_MAGIC) {
            return Err(AdoptError::NotAnOutbox);
        }
        let mut adopted = Vec::new();
        // The 1-based number of the line `lines` gave last.
        let mut line = 1;
        while let Some(header) = lines.next() {
            line += 1;
            let bad_header = AdoptError::BadHeader { line };
            // Exactly eight tab-separated fields, read without collecting them (no `Vec`).
            let mut fields = [""; 8];
            let mut n = 0;
            for part in split_byte(header, b'\t') {
                if n == fields.len() {
                    n += 1;
                    break;
                }
                fields[n] = part;
                n += 1;
            }
            if n != fields.len() {
                return Err(bad_header);
            }
            let [b, stream, batch_id, segment_id, session_id, started, maybe, count] = fields;
            let stream = Stream::from_tag(stream).filter(|_| b == "B").ok_or(bad_header)?;
            let count = parse_u64(count).and_then(|n| usize::try_from(n).ok()).ok_or(bad_header)?;
            let replay_session = match stream {
                Stream::Analytics => None,
                Stream::Replay => Some(ReplaySession {
                    browser_session_id: session_id.to_string(),
                    started_at_ms: parse_u64(started).ok_or(bad_header)?,
                }),
            };
            // A loop, not `take(count).map(..).collect()` (the same events; less code).
            let mut events = Vec::new();
            while events.len() < count {
                let Some(event) = lines.next() else { return Err(AdoptError::Truncated) };
                line += 1;
                events.push(event.to_string());
            }
            if self.queue.iter().any(|q| q.content.batch_id == batch_id) {
                continue;
            }
            let mut batch = QueuedBatch::new(BatchContent {
                stream,
                batch_id: batch_id.to_string(),
                segment_id: segment_id.to_string(),
                replay_session,
                events,
            });
            batch.maybe_delivered = maybe == "1";
            adopted.push(batch);
        }
        let count = adopted.len();
        self.queue.extend(adopted);
        self.recount();
        self.enforce_cap(Stream::Analytics);
        self.enforce_cap(Stream::Replay);
        Ok(count)
    }

    /// Drops batches another page adopted from this page's persisted copy (their ids),
    /// unless an attempt of ours is under way.
    pub fn forget_adopted(&mut self, batch_ids: &[String]) {
        self.queue.retain(|b| b.delivery == Delivery::InFlight || !batch_ids.contains(&b.content.batch_id));
        self.recount();
    }

    /// Ids of the batches `persisted()` would write.
    pub fn persisted_ids(&self) -> Vec<String> {
        let mut ids = Vec::new();
        for batch in &self.queue {
            ids.push(batch.content.batch_id.clone());
        }
        ids
    }

    /// `clearBuffer()`: drops every event not yet acknowledged (counted) and starts a
    /// new identity epoch: in-flight answers that arrive later are ignored, claimed
    /// batches are no longer `is_current`, the session fingerprint is forgotten and so
    /// are the copies in storage (the shell removes them). Returns the analytics events
    /// dropped.
    pub fn clear(&mut self) -> usize {
        let queued = self.stats().queued_events;
        let replay_queued = self.replay.events.len()
            + self
                .queue
                .iter()
                .filter(|b| b.content.stream == Stream::Replay)
                .map(|b| b.content.events.len())
                .sum::<usize>();
        self.analytics = Buffer::default();
        self.replay = Buffer::default();
        self.queue.clear();
        self.dropped += queued as u64;
        self.dropped_replay += replay_queued as u64;
        self.epoch += 1;
        self.session = None;
        self.copies = [None, None];
        self.pending_copies = [Vec::new(), Vec::new()];
        self.recount();
        queued
    }

    pub fn stats(&self) -> Stats {
        let queued = self.analytics.events.len()
            + self
                .queue
                .iter()
                .filter(|b| b.content.stream == Stream::Analytics)
                .map(|b| b.content.events.len())
                .sum::<usize>();
        Stats {
            queued_events: queued,
            delivered_events: self.delivered,
            dropped_events: self.dropped,
            dropped_replay_events: self.dropped_replay,
        }
    }
}

impl BatchContent {
    fn clone_without_events(&self) -> BatchContent {
        BatchContent {
            stream: self.stream,
            batch_id: self.batch_id.clone(),
            segment_id: self.segment_id.clone(),
            replay_session: self.replay_session.clone(),
            events: Vec::new(),
        }
    }
}

#[cfg(test)]
#[path = "outbox_tests.rs"]
mod tests;
