//! Drives the core `Outbox` in the browser: a single send loop (the pump), the retry
//! timer, the keepalive unload path and the localStorage copies of what is unsent. The
//! decisions (epochs, byte caps, keepalive budget, which batches a copy holds) are the
//! outbox's; this file feeds it inputs and carries out what it says.
//!
//! Re-entrancy: no `RefCell` borrow is held across a call into JS (the host's session
//! callback, `console.warn` — which a page may forward into `track()` —, storage,
//! fetch). Every `borrow_mut()` below ends within its statement.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use js_sys::{Promise, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::core::batch::{ReplaySession, Stream};
use crate::core::outbox::{
    AdoptError, Captured, DropReason, Outbox, Outcome, Stats, Upload, Verdict, Warning,
};
use crate::web::poison;
use crate::web::session::{AnalyticsSession, SessionSource};
use crate::web::storage;
use crate::web::transport::{gzip, response_outcome, Endpoint, KEEPALIVE_BUDGET_BYTES};
use crate::web::util::{now_ms, promise, spawn, warn};

/// The server's limit on a body as sent (wire.md).
const MAX_SENT_BYTES: usize = 1_000_000;
/// Analytics requests in flight at once (browsers open about six connections a host).
const MAX_PARALLEL_ANALYTICS_SENDS: usize = 4;
/// Storage budgets of this page's copies (localStorage holds about 5 M characters an
/// origin, shared by every tab and the host's own keys).
const ANALYTICS_STORAGE_BYTES: usize = 1 << 20;
/// A copy whose writer still held its lock is looked at again after this long.
const ADOPT_AGAIN_MS: u32 = 3_000;
const REPLAY_STORAGE_BYTES: usize = 2 << 20;

#[derive(Default)]
struct Pump {
    /// The last pump scheduled; a new one runs after it.
    tail: Option<Promise>,
    /// A scheduled pump that has not started yet: new requests join it.
    queued: Option<Promise>,
}

struct Inner {
    outbox: RefCell<Outbox>,
    endpoint: Endpoint,
    session: SessionSource,
    /// `sightline:<projectId>:unsent:` — this page's keys are below it.
    storage_prefix: String,
    /// `sightline:<projectId>:page:` — the Web Lock each live page holds.
    lock_prefix: String,
    segment_id: String,
    pump: RefCell<Pump>,
    retry_timer: RefCell<Option<crate::web::timer::Timeout>>,
    /// A batch's body as sent (gzipped once), by `batch_id`, while it may be retried.
    payloads: RefCell<Vec<(String, Uint8Array, bool)>>,
    warned_session: Cell<bool>,
    /// After `stop()` nothing is sent: what is left is the next page's to send.
    paused: Cell<bool>,
    /// Releases this page's Web Lock (held from `start()` to `stop()`).
    release_lock: RefCell<Option<js_sys::Function>>,
    /// An adoption under Web Locks that has not finished (`flush()` waits for it).
    adoption: RefCell<Option<Promise>>,
    /// Another look at copies whose writer still held its lock (it may have been dying).
    adopt_again: RefCell<Option<crate::web::timer::Timeout>>,
    /// Whether this browser has Web Locks (then a missing own copy was removed by a
    /// `clearBuffer()` elsewhere, never adopted: nobody adopts a live page's copy).
    locks: bool,
}

#[derive(Clone)]
pub struct Uploader {
    inner: Rc<Inner>,
}

/// A stable hash of a session's tokens (never logged, never sent): the outbox only needs
/// to tell sessions apart (a batch answered 401 waits for a different one).
fn fingerprint(session: &Option<AnalyticsSession>) -> u64 {
    let Some(session) = session else { return 0 };
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in [&session.access_token, &session.refresh_token] {
        for byte in part.as_deref().unwrap_or("\u{0}").bytes() {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x100_0000_01b3);
        }
        // A separator after each part (0xff is never a byte of UTF-8).
        hash = (hash ^ 0xff).wrapping_mul(0x100_0000_01b3);
    }
    hash | 1
}

impl Uploader {
    pub fn new(outbox: Outbox, endpoint: Endpoint, session: SessionSource) -> Self {
        let storage_prefix = format!("sightline:{}:unsent:", endpoint.project_id);
        let lock_prefix = format!("sightline:{}:page:", endpoint.project_id);
        let segment_id = outbox.segment_id().to_string();
        Self {
            inner: Rc::new(Inner {
                outbox: RefCell::new(outbox),
                endpoint,
                session,
                storage_prefix,
                lock_prefix,
                segment_id,
                pump: RefCell::new(Pump::default()),
                retry_timer: RefCell::new(None),
                payloads: RefCell::new(Vec::new()),
                warned_session: Cell::new(false),
                paused: Cell::new(false),
                release_lock: RefCell::new(None),
                adoption: RefCell::new(None),
                adopt_again: RefCell::new(None),
                locks: has_locks(),
            }),
        }
    }

    fn key(&self, stream: Stream) -> String {
        let inner = &self.inner;
        match stream {
            Stream::Analytics => format!("{}{}", inner.storage_prefix, inner.segment_id),
            Stream::Replay => format!("{}{}:replay", inner.storage_prefix, inner.segment_id),
        }
    }

    /// Buffers a serialized event; sends when that formed a batch.
    pub fn capture(&self, stream: Stream, event_json: String) {
        if poison::failed() {
            return;
        }
        let captured = self.inner.outbox.borrow_mut().capture(stream, event_json);
        match captured {
            Captured::BatchFormed => self.send_soon(),
            Captured::DroppedTooLarge { bytes } => warn(&format!(
                "dropped a {} event of {bytes} bytes: larger than a batch may be",
                stream.tag()
            )),
            Captured::Buffered => {}
        }
        self.report_warnings();
    }

    /// Tells the host what the outbox wants said (each once), with no borrow held.
    fn report_warnings(&self) {
        loop {
            let warning = self.inner.outbox.borrow_mut().poll_warning();
            match warning {
                Some(Warning::QueueFull { stream }) => warn(&format!(
                    "the {} queue is over its maxQueuedBytes (the collector is unreachable?): \
                     the oldest batches are dropped and counted in stats()",
                    stream.tag()
                )),
                Some(Warning::ReplayNotPersisted { events }) => warn(&format!(
                    "dropped {events} replay event(s) that did not fit in storage (counted in \
                     stats().droppedReplayEvents)"
                )),
                Some(Warning::PersistenceOff) => warn(
                    "could not write unsent events to localStorage (quota full or storage \
                     blocked): persistence is off; they stay in memory and are retried while \
                     the page lives",
                ),
                None => return,
            }
        }
    }

    pub fn set_max_queued_bytes(&self, stream: Stream, bytes: usize) {
        self.inner.outbox.borrow_mut().set_max_queued_bytes(stream, bytes);
    }

    pub fn set_replay_session(&self, session: ReplaySession) {
        self.inner.outbox.borrow_mut().set_replay_session(session);
    }

    /// The periodic flush of one stream.
    pub fn flush_stream(&self, stream: Stream) {
        let sealed = self.inner.outbox.borrow_mut().seal_stream(stream);
        if sealed {
            self.send_soon();
        }
    }

    /// `flush()`: sends everything now, retry delays skipped; resolves with the
    /// analytics events acknowledged meanwhile and those still pending.
    pub async fn flush_now(&self) -> (u64, usize) {
        let adoption = self.inner.adoption.borrow_mut().take();
        if let Some(adoption) = adoption {
            let _ = JsFuture::from(adoption).await;
        }
        let delivered_before = self.stats().delivered_events;
        self.inner.outbox.borrow_mut().make_everything_due();
        let _ = JsFuture::from(self.schedule_pump()).await;
        let stats = self.stats();
        (stats.delivered_events - delivered_before, stats.queued_events)
    }

    pub fn stats(&self) -> Stats {
        self.inner.outbox.borrow().stats()
    }

    /// `clearBuffer()`: drops what is unsent here and every persisted copy, and starts a
    /// new identity epoch: the cached session is forgotten, a batch whose session is
    /// being resolved is not sent, nothing is sent with a session resolved before.
    pub fn clear(&self) {
        self.inner.outbox.borrow_mut().clear();
        self.inner.session.forget();
        for key in storage::keys_with_prefix(&self.inner.storage_prefix) {
            storage::remove(&key);
        }
        self.inner.payloads.borrow_mut().clear();
        self.inner.retry_timer.borrow_mut().take();
    }

    /// Takes over what earlier pages persisted, and sends it. With Web Locks, only the
    /// copies of pages that are gone (their lock is free), under an adoption lock, so
    /// two starting pages never adopt the same copy; without them, every copy.
    pub fn adopt_persisted(&self) {
        // This page's own copies (from a `stop()` before this `start()`) are stale: the
        // batches are still in memory, unless another page adopted them meanwhile.
        for stream in [Stream::Analytics, Stream::Replay] {
            self.take_back_copy(stream);
            self.remove_own_copy(stream);
        }
        self.adopt_foreign();
    }

    fn adopt_foreign(&self) {
        let inner = &self.inner;
        let owners = js_sys::Array::new();
        for key in self.foreign_keys() {
            owners.push(&JsValue::from_str(&self.lock_name(&key)));
        }
        if owners.length() == 0 {
            return;
        }
        let this = self.clone();
        let adopt = Closure::once_into_js(move |free: js_sys::Array| {
            let skipped =
                this.adopt_keys(|lock| free.iter().any(|f| f.as_string().is_some_and(|f| f == lock)));
            if skipped > 0 && !this.inner.paused.get() {
                let again = this.clone();
                let timer = crate::web::timer::Timeout::new(ADOPT_AGAIN_MS, move || again.adopt_foreign());
                *this.inner.adopt_again.borrow_mut() = Some(timer);
            }
        });
        let adoption_lock = format!("{}adopt", inner.lock_prefix);
        match adopt_under_locks(&adoption_lock, &owners, &adopt) {
            Some(adoption) => *inner.adoption.borrow_mut() = Some(adoption),
            None => {
                self.adopt_keys(|_| true);
            }
        }
    }

    fn foreign_keys(&self) -> Vec<String> {
        let own = [self.key(Stream::Analytics), self.key(Stream::Replay)];
        let mut keys = storage::keys_with_prefix(&self.inner.storage_prefix);
        keys.retain(|k| !own.contains(k));
        keys
    }

    /// The Web Lock of the page that wrote `key`.
    fn lock_name(&self, key: &str) -> String {
        let rest = key.strip_prefix(self.inner.storage_prefix.as_str()).unwrap_or(key);
        let page = rest.strip_suffix(":replay").unwrap_or(rest);
        format!("{}{page}", self.inner.lock_prefix)
    }

    /// Adopts the copies whose owner is gone; returns how many were skipped.
    fn adopt_keys(&self, owner_is_gone: impl Fn(&str) -> bool) -> usize {
        let mut adopted = 0;
        let mut skipped = 0;
        for key in self.foreign_keys() {
            if !owner_is_gone(&self.lock_name(&key)) {
                skipped += 1;
                continue;
            }
            let Some(text) = storage::get(&key) else { continue };
            storage::remove(&key);
            let result = self.inner.outbox.borrow_mut().adopt(&text);
            match result {
                Ok(n) => adopted += n,
                Err(e) => {
                    let why = match e {
                        AdoptError::NotAnOutbox => "not a sightline outbox".to_string(),
                        AdoptError::BadHeader { line } => format!("bad batch header on line {line}"),
                        AdoptError::Truncated => "a batch is cut short".to_string(),
                    };
                    warn(&format!("ignored an unreadable persisted queue ({why})"));
                }
            }
        }
        self.report_warnings();
        if adopted > 0 {
            self.send_soon();
        }
        skipped
    }

    /// Starts a send soon (see `schedule_pump`).
    pub fn send_soon(&self) {
        if poison::failed() {
            return;
        }
        let _ = self.schedule_pump();
    }

    /// Runs the send loop after any running one; joins a pump that has not started.
    pub fn schedule_pump(&self) -> Promise {
        let mut pump = self.inner.pump.borrow_mut();
        if let Some(queued) = &pump.queued {
            return queued.clone();
        }
        let previous = pump.tail.take();
        let this = self.clone();
        let promise = promise(async move {
            if let Some(previous) = previous {
                let _ = JsFuture::from(previous).await;
            }
            this.inner.pump.borrow_mut().queued = None;
            this.run_pump().await;
            Ok(JsValue::UNDEFINED)
        });
        pump.queued = Some(promise.clone());
        pump.tail = Some(promise.clone());
        promise
    }

    fn has_due(&self) -> bool {
        !self.inner.paused.get() && self.inner.outbox.borrow().has_due(now_ms())
    }

    async fn run_pump(&self) {
        let inner = &self.inner;
        while self.has_due() {
            // The session is resolved for every send, at send time, and used only if no
            // `clearBuffer()` happened meanwhile (the epoch is unchanged): the batches
            // claimed right after belong to that same epoch.
            let epoch = inner.outbox.borrow().epoch();
            let session = match inner.session.resolve().await {
                Ok(session) => session,
                Err(error) => {
                    if !inner.warned_session.replace(true) {
                        warn(&format!(
                            "getAnalyticsSession failed ({}); events stay queued and are retried",
                            error.describe()
                        ));
                    }
                    let due = inner.outbox.borrow_mut().poll_uploads(now_ms());
                    for send in due {
                        let _ = inner.outbox.borrow_mut().handle_outcome(
                            &send.batch_id,
                            Outcome::SessionUnavailable,
                            now_ms(),
                        );
                    }
                    break;
                }
            };
            if !inner.outbox.borrow().is_current(epoch) || inner.paused.get() {
                continue;
            }
            let _ = inner.outbox.borrow_mut().handle_session(fingerprint(&session));
            // Batches are claimed only as their requests start, so that an unload meanwhile
            // can still hand the others to keepalive. Analytics batches go a few at a time
            // (their order does not matter: every event has its own time); replay batches
            // one by one, in order.
            let first = inner.outbox.borrow_mut().poll_upload(now_ms());
            let Some(first) = first else { continue };
            let mut sends = vec![first];
            while sends[0].stream == Stream::Analytics && sends.len() < MAX_PARALLEL_ANALYTICS_SENDS {
                let next = inner.outbox.borrow_mut().poll_upload_of(now_ms(), Some(Stream::Analytics));
                let Some(next) = next else { break };
                sends.push(next);
            }
            let requests = js_sys::Array::new();
            for send in sends {
                let (this, session) = (self.clone(), session.clone());
                requests.push(&promise(async move {
                    let outcome = this.post(&send, session.as_ref()).await;
                    let verdict =
                        this.inner.outbox.borrow_mut().handle_outcome(&send.batch_id, outcome, now_ms());
                    this.settled(&send.batch_id, &verdict);
                    Ok(JsValue::UNDEFINED)
                }));
            }
            let _ = JsFuture::from(Promise::all(&requests)).await;
        }
        self.after_change();
    }

    /// POSTs a batch, compressing its body once for all its attempts.
    async fn post(&self, send: &Upload, session: Option<&AnalyticsSession>) -> Outcome {
        let cached =
            self.inner.payloads.borrow().iter().find(|p| p.0 == send.batch_id).map(|p| (p.1.clone(), p.2));
        let (payload, gzipped) = match cached {
            Some(payload) => payload,
            None => {
                let payload = match gzip(&send.body).await {
                    Some(bytes) => (bytes, true),
                    None => (Uint8Array::from(send.body.as_bytes()), false),
                };
                self.inner.payloads.borrow_mut().push((send.batch_id.clone(), payload.0.clone(), payload.1));
                payload
            }
        };
        if payload.length() as usize > MAX_SENT_BYTES {
            return Outcome::TooLargeAsSent;
        }
        if !self.inner.outbox.borrow().is_current(send.epoch) {
            // Cleared while compressing: the batch is gone and must not leave.
            return Outcome::SessionUnavailable;
        }
        self.inner.endpoint.post(send.stream.path(), session, &payload, gzipped).await
    }

    /// After a verdict: the cached body goes once the batch will not be sent again.
    fn settled(&self, batch_id: &str, verdict: &Verdict) {
        if !matches!(verdict, Verdict::Retry { .. }) {
            self.inner.payloads.borrow_mut().retain(|p| p.0 != batch_id);
        }
        if let Verdict::Dropped { stream, events, reason } = verdict {
            let stream = stream.tag();
            let why = match reason {
                DropReason::Rejected { status } => {
                    format!("the server rejected a {stream} batch as invalid ({status})")
                }
                DropReason::EventTooLarge => {
                    format!("a single {stream} event is larger than the server accepts")
                }
            };
            warn(&format!("dropped {events} event(s): {why}"));
        }
    }

    /// Keeps the persisted copies true and the retry timer armed; forgets the cached
    /// bodies of batches that are gone (delivered, dropped by the byte cap, cleared).
    fn after_change(&self) {
        let outbox = self.inner.outbox.borrow();
        self.inner.payloads.borrow_mut().retain(|p| outbox.holds(&p.0));
        drop(outbox);
        self.refresh_persisted_copies();
        self.arm_retry_timer();
        self.report_warnings();
    }

    fn arm_retry_timer(&self) {
        if self.inner.paused.get() {
            self.inner.retry_timer.borrow_mut().take();
            return;
        }
        let next = self.inner.outbox.borrow().poll_timeout();
        let timer = next.map(|at| {
            let delay = at.saturating_sub(now_ms()).min(i32::MAX as u64) as u32;
            let this = self.clone();
            crate::web::timer::Timeout::new(delay, move || {
                this.send_soon();
            })
        });
        *self.inner.retry_timer.borrow_mut() = timer;
    }

    /// `stop()`: no more sends from this page (after its unload path ran).
    pub fn pause(&self) {
        self.inner.paused.set(true);
        self.inner.retry_timer.borrow_mut().take();
        // What is left is the next page's: its copies may be adopted from now on.
        let release = self.inner.release_lock.borrow_mut().take();
        if let Some(release) = release {
            let _ = release.call0(&JsValue::NULL);
        }
    }

    /// `start()` (again): takes this page's Web Lock, so no other page adopts its copies
    /// while it lives.
    pub fn resume_sending(&self) {
        self.inner.paused.set(false);
        if self.inner.release_lock.borrow().is_none() {
            let release = hold_lock(&format!("{}{}", self.inner.lock_prefix, self.inner.segment_id));
            *self.inner.release_lock.borrow_mut() = release;
        }
    }

    /// The unload path: keepalive what fits in the budget (only with a session resolved
    /// earlier in this epoch: there is no time to ask for one), persist the rest.
    pub fn unload(&self) {
        let inner = &self.inner;
        let session = inner.session.last();
        let sends = match &session {
            Some(_) => inner.outbox.borrow_mut().poll_keepalive(now_ms(), KEEPALIVE_BUDGET_BYTES),
            None => {
                inner.outbox.borrow_mut().seal_buffers();
                Vec::new()
            }
        };
        let session = session.flatten();
        for send in sends {
            let bytes = send.body.len();
            let promise = inner.endpoint.post_keepalive(send.stream.path(), session.as_ref(), &send.body);
            let this = self.clone();
            spawn(async move {
                let outcome = match promise {
                    Some(promise) => response_outcome(promise).await,
                    None => Outcome::NetworkError,
                };
                let verdict = this.inner.outbox.borrow_mut().handle_keepalive_outcome(
                    &send.batch_id,
                    outcome,
                    now_ms(),
                );
                if verdict == Verdict::Unknown {
                    this.inner.outbox.borrow_mut().handle_keepalive_released(bytes);
                }
                this.settled(&send.batch_id, &verdict);
                this.after_change();
            });
        }
        self.write_persisted_copies();
        self.report_warnings();
    }

    /// The page is visible again: its own copies are not needed, unless another page
    /// adopted them meanwhile (then those batches are that page's to send).
    pub fn resumed(&self) {
        for stream in [Stream::Analytics, Stream::Replay] {
            self.take_back_copy(stream);
            self.remove_own_copy(stream);
        }
    }

    fn remove_own_copy(&self, stream: Stream) {
        storage::remove(&self.key(stream));
        self.inner.outbox.borrow_mut().handle_copy_removed(stream);
    }

    /// Writes both copies. Analytics first: when storage is full, the replay copy is
    /// removed to make room (replay data goes first, and is counted as dropped). A
    /// write that fails keeps everything in memory; one warning says persistence is off.
    fn write_persisted_copies(&self) {
        for (stream, budget) in
            [(Stream::Analytics, ANALYTICS_STORAGE_BYTES), (Stream::Replay, REPLAY_STORAGE_BYTES)]
        {
            let key = self.key(stream);
            let text = self.inner.outbox.borrow_mut().poll_copy(stream, budget);
            let Some(text) = text else {
                storage::remove(&key);
                self.inner.outbox.borrow_mut().handle_copy_write(stream, true);
                continue;
            };
            let mut written = storage::set(&key, &text);
            if !written && stream == Stream::Analytics {
                storage::remove(&self.key(Stream::Replay));
                written = storage::set(&key, &text);
            }
            if !written {
                storage::remove(&key);
            }
            self.inner.outbox.borrow_mut().handle_copy_write(stream, written);
        }
    }

    /// If another page adopted our copy (it is gone from storage), forgets those
    /// batches. Returns whether our copy is still there.
    fn take_back_copy(&self, stream: Stream) -> bool {
        if !self.inner.outbox.borrow().has_copy(stream) {
            return false;
        }
        if storage::get(&self.key(stream)).is_none() {
            if self.inner.locks {
                // Removed by a `clearBuffer()` in another tab: write it again.
                return true;
            }
            self.inner.outbox.borrow_mut().handle_copy_taken(stream);
            return false;
        }
        true
    }

    fn refresh_persisted_copies(&self) {
        let mut rewrite = false;
        for stream in [Stream::Analytics, Stream::Replay] {
            rewrite |= self.take_back_copy(stream);
        }
        if rewrite {
            self.write_persisted_copies();
        }
    }
}

// Web Locks (`navigator.locks`), by name: web-sys marks them unstable. A page holds its
// own lock while it lives; a starting page adopts a copy only when its writer's lock is
// free (the writer is gone), and does so under an adoption lock, one page at a time.
#[wasm_bindgen(inline_js = r#"
const locks = () => { const l = globalThis.navigator && navigator.locks; return l && typeof l.request === "function" ? l : null; };
export function hasLocks() { return !!locks(); }
export function holdLock(name) {
  const l = locks();
  if (!l) return undefined;
  let release;
  const held = new Promise((resolve) => { release = resolve; });
  l.request(name, () => held).catch(() => {});
  return () => release();
}
export function adoptUnderLocks(adoptName, owners, adopt) {
  const l = locks();
  if (!l) return undefined;
  return l.request(adoptName, async () => {
    const free = [];
    for (const name of new Set(owners)) {
      await l.request(name, { ifAvailable: true }, (lock) => { if (lock) free.push(name); });
    }
    adopt(free);
  }).catch(() => {});
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = hasLocks)]
    fn has_locks() -> bool;
    /// Requests the lock and keeps it until the returned function is called.
    #[wasm_bindgen(js_name = holdLock)]
    fn hold_lock(name: &str) -> Option<js_sys::Function>;
    /// `None` without Web Locks; else the adoption's promise.
    #[wasm_bindgen(js_name = adoptUnderLocks)]
    fn adopt_under_locks(adopt_name: &str, owners: &js_sys::Array, adopt: &JsValue) -> Option<Promise>;
}
