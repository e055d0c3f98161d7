//! Drives the core `Outbox` in the browser: a single send loop (the pump), the retry
//! timer, the keepalive unload path and the localStorage copy of what is unsent.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use js_sys::Promise;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::core::batch::{ReplaySession, Stream};
use crate::core::outbox::{Captured, Outbox, Outcome, Stats, Verdict};
use crate::web::session::SessionSource;
use crate::web::storage;
use crate::web::transport::{response_outcome, Endpoint, KEEPALIVE_BUDGET_BYTES};
use crate::web::util::{now_ms, promise, spawn, warn};

/// The server's limit on a body as sent (wire.md).
const MAX_SENT_BYTES: usize = 1_000_000;
/// Analytics requests in flight at once (browsers open about six connections a host).
const MAX_PARALLEL_ANALYTICS_SENDS: usize = 4;

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
    /// `sightline:<projectId>:unsent:` — one key per page below it.
    storage_prefix: String,
    storage_key: String,
    /// Ids of the batches in this page's copy in localStorage, while one exists.
    persisted_ids: RefCell<Option<Vec<String>>>,
    pump: RefCell<Pump>,
    retry_timer: RefCell<Option<gloo_timers::callback::Timeout>>,
    keepalive_bytes_in_flight: Cell<usize>,
    warned_session: Cell<bool>,
    /// After `stop()` nothing is sent: what is left is the next page's to send.
    paused: Cell<bool>,
}

#[derive(Clone)]
pub struct Uploader {
    inner: Rc<Inner>,
}

impl Uploader {
    pub fn new(outbox: Outbox, endpoint: Endpoint, session: SessionSource) -> Self {
        let storage_prefix = format!("sightline:{}:unsent:", endpoint.project_id);
        let storage_key = format!("{storage_prefix}{}", outbox.segment_id());
        Self {
            inner: Rc::new(Inner {
                outbox: RefCell::new(outbox),
                endpoint,
                session,
                storage_prefix,
                storage_key,
                persisted_ids: RefCell::new(None),
                pump: RefCell::new(Pump::default()),
                retry_timer: RefCell::new(None),
                keepalive_bytes_in_flight: Cell::new(0),
                warned_session: Cell::new(false),
                paused: Cell::new(false),
            }),
        }
    }

    /// Buffers a serialized event; sends when that formed a batch.
    pub fn capture(&self, stream: Stream, event_json: String) {
        let captured = self.inner.outbox.borrow_mut().capture(stream, event_json);
        match captured {
            Captured::BatchFormed => {
                self.send_soon();
            }
            Captured::DroppedTooLarge { bytes } => warn(&format!(
                "dropped a {} event of {bytes} bytes: larger than a batch may be",
                stream.tag()
            )),
            Captured::Buffered => {}
        }
    }

    pub fn set_replay_session(&self, session: ReplaySession) {
        self.inner.outbox.borrow_mut().set_replay_session(session);
    }

    /// The periodic flush of one stream.
    pub fn flush_stream(&self, stream: Stream) {
        if self.inner.outbox.borrow_mut().seal_stream(stream) {
            self.send_soon();
        }
    }

    /// `flush()`: sends everything now, retry delays skipped; resolves with the
    /// analytics events acknowledged meanwhile and those still pending.
    pub async fn flush_now(&self) -> (u64, usize) {
        let delivered_before = self.stats().delivered_events;
        self.inner.outbox.borrow_mut().make_everything_due();
        let _ = JsFuture::from(self.schedule_pump()).await;
        let stats = self.stats();
        (stats.delivered_events - delivered_before, stats.queued_events)
    }

    pub fn stats(&self) -> Stats {
        self.inner.outbox.borrow().stats()
    }

    /// `clearBuffer()`: drops what is unsent here and every persisted copy.
    pub fn clear(&self) {
        self.inner.outbox.borrow_mut().clear();
        for key in storage::keys_with_prefix(&self.inner.storage_prefix) {
            storage::remove(&key);
        }
        *self.inner.persisted_ids.borrow_mut() = None;
        self.inner.retry_timer.borrow_mut().take();
    }

    /// Takes over what earlier pages persisted, and sends it.
    pub fn adopt_persisted(&self) {
        let inner = &self.inner;
        // A copy of this page's own (from a `stop()` before this `start()`) is stale:
        // the batches are still in memory.
        if inner.persisted_ids.borrow_mut().take().is_some() {
            storage::remove(&inner.storage_key);
        }
        let mut adopted = 0;
        for key in storage::keys_with_prefix(&inner.storage_prefix) {
            if key == inner.storage_key {
                continue;
            }
            let Some(text) = storage::get(&key) else { continue };
            storage::remove(&key);
            match inner.outbox.borrow_mut().adopt(&text) {
                Ok(n) => adopted += n,
                Err(e) => warn(&format!("ignored an unreadable persisted queue ({e})")),
            }
        }
        if adopted > 0 {
            self.send_soon();
        }
    }

    /// Starts a send soon (see `schedule_pump`).
    pub fn send_soon(&self) {
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

    async fn run_pump(&self) {
        let inner = &self.inner;
        while !inner.paused.get() && inner.outbox.borrow().has_due(now_ms()) {
            // The session is resolved when a batch is sent, never before capture.
            let session = match inner.session.resolve().await {
                Ok(session) => session,
                Err(error) => {
                    if !inner.warned_session.replace(true) {
                        warn(&format!(
                            "getAnalyticsSession failed ({}); events stay queued and are retried",
                            error.describe()
                        ));
                    }
                    let mut outbox = inner.outbox.borrow_mut();
                    for send in outbox.take_due(now_ms()) {
                        outbox.complete(&send.batch_id, Outcome::SessionUnavailable, now_ms());
                    }
                    break;
                }
            };
            // Batches are claimed only as their requests start, so that an unload meanwhile
            // can still hand the others to keepalive. Analytics batches go a few at a time
            // (their order does not matter: every event has its own time); replay batches
            // one by one, in order.
            while !inner.paused.get() {
                let Some(first) = inner.outbox.borrow_mut().take_next_due(now_ms()) else { break };
                let mut sends = vec![first];
                if sends[0].stream == Stream::Analytics {
                    while sends.len() < MAX_PARALLEL_ANALYTICS_SENDS {
                        let next =
                            inner.outbox.borrow_mut().take_next_due_of(now_ms(), Some(Stream::Analytics));
                        let Some(next) = next else { break };
                        sends.push(next);
                    }
                }
                let requests = js_sys::Array::new();
                for send in sends {
                    let (this, session) = (self.clone(), session.clone());
                    requests.push(&promise(async move {
                        let inner = &this.inner;
                        let outcome = inner
                            .endpoint
                            .post(send.stream.path(), session.as_ref(), &send.body, MAX_SENT_BYTES)
                            .await;
                        report(&inner.outbox.borrow_mut().complete(&send.batch_id, outcome, now_ms()));
                        Ok(JsValue::UNDEFINED)
                    }));
                }
                let _ = JsFuture::from(Promise::all(&requests)).await;
            }
        }
        self.after_change();
    }

    /// Keeps the persisted copy true and the retry timer armed.
    fn after_change(&self) {
        self.refresh_persisted_copy();
        self.arm_retry_timer();
    }

    fn arm_retry_timer(&self) {
        if self.inner.paused.get() {
            self.inner.retry_timer.borrow_mut().take();
            return;
        }
        let next = self.inner.outbox.borrow().next_wakeup_ms();
        let timer = next.map(|at| {
            let delay = at.saturating_sub(now_ms()).min(i32::MAX as u64) as u32;
            let this = self.clone();
            gloo_timers::callback::Timeout::new(delay, move || {
                this.send_soon();
            })
        });
        *self.inner.retry_timer.borrow_mut() = timer;
    }

    /// `stop()`: no more sends from this page (after its unload path ran).
    pub fn pause(&self) {
        self.inner.paused.set(true);
        self.inner.retry_timer.borrow_mut().take();
    }

    /// `start()` (again).
    pub fn resume_sending(&self) {
        self.inner.paused.set(false);
    }

    /// The unload path: keepalive what fits in the budget (only with a session resolved
    /// earlier: there is no time to ask for one), persist the rest.
    pub fn unload(&self) {
        let inner = &self.inner;
        let sends = match inner.session.last() {
            Some(session) => {
                let budget = KEEPALIVE_BUDGET_BYTES.saturating_sub(inner.keepalive_bytes_in_flight.get());
                let sends = inner.outbox.borrow_mut().plan_keepalive(now_ms(), budget);
                sends.into_iter().map(|send| (send, session.clone())).collect()
            }
            None => {
                inner.outbox.borrow_mut().seal_buffers();
                Vec::new()
            }
        };
        for (send, session) in sends {
            let bytes = send.body.len();
            let promise = inner.endpoint.post_keepalive(send.stream.path(), session.as_ref(), &send.body);
            inner.keepalive_bytes_in_flight.set(inner.keepalive_bytes_in_flight.get() + bytes);
            let this = self.clone();
            spawn(async move {
                let outcome = match promise {
                    Some(promise) => response_outcome(promise).await,
                    None => Outcome::NetworkError,
                };
                let inner = &this.inner;
                inner
                    .keepalive_bytes_in_flight
                    .set(inner.keepalive_bytes_in_flight.get().saturating_sub(bytes));
                let verdict = inner.outbox.borrow_mut().keepalive_answered(&send.batch_id, outcome, now_ms());
                report(&verdict);
                this.after_change();
            });
        }
        self.write_persisted_copy();
    }

    /// The page is visible again: its own copy is not needed, unless another page
    /// adopted it meanwhile (then those batches are that page's to send).
    pub fn resumed(&self) {
        self.take_back_persisted_copy();
        storage::remove(&self.inner.storage_key);
        *self.inner.persisted_ids.borrow_mut() = None;
    }

    fn write_persisted_copy(&self) {
        let inner = &self.inner;
        let text = inner.outbox.borrow().persisted();
        match text {
            Some(text) => {
                if !storage::set(&inner.storage_key, &text) {
                    warn("could not persist unsent events to localStorage (quota or storage disabled)");
                }
                *inner.persisted_ids.borrow_mut() = Some(inner.outbox.borrow().persisted_ids());
            }
            None => {
                storage::remove(&inner.storage_key);
                *inner.persisted_ids.borrow_mut() = None;
            }
        }
    }

    /// If another page adopted our copy, forgets those batches (that page sends them).
    /// Returns whether our copy is still ours.
    fn take_back_persisted_copy(&self) -> bool {
        let inner = &self.inner;
        let Some(ids) = inner.persisted_ids.borrow().clone() else { return false };
        if storage::get(&inner.storage_key).is_none() {
            inner.outbox.borrow_mut().forget_adopted(&ids);
            *inner.persisted_ids.borrow_mut() = None;
            return false;
        }
        true
    }

    fn refresh_persisted_copy(&self) {
        if self.take_back_persisted_copy() {
            self.write_persisted_copy();
        }
    }
}

fn report(verdict: &Verdict) {
    if let Verdict::Dropped { reason, events, .. } = verdict {
        warn(&format!("dropped {events} event(s): {reason}"));
    }
}
