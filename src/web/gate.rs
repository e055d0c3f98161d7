//! The access gate's browser shell: carries the core's actions out (resolve the session,
//! `fetch` the check URL, sleep) and their outcomes back in. Every decision is made by
//! `core::access_gate::AccessGate`; this file only knows how to do things in a browser.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, Headers, RequestCache, RequestCredentials, RequestInit, Response};

use crate::core::access_gate::{
    AccessGate, AccessToken, Action, AttemptOutcome, Change, CheckId, ResolvedSession, Step,
};
use crate::core::config::GateConfig;
use crate::web::listener::Listener;
use crate::web::session::{SessionError, SessionSource};
use crate::web::util::{error_message, now_ms, random01, spawn, warn};

/// The access gate of one `Sightline` instance. Cloning is cheap and shares the gate.
#[derive(Clone)]
pub struct GateShell {
    inner: Rc<Inner>,
}

struct Inner {
    config: GateConfig,
    project_id: String,
    session: SessionSource,
    on_change: Option<Function>,
    on_signed_out: Option<Function>,
    gate: RefCell<AccessGate>,
    /// Resolves the promise the sleeping retry waits on. Taken by `online` (retry now),
    /// by a newer check and by `stop()` (the woken loop is then told to stop).
    wake_sleeper: RefCell<Option<Function>>,
    /// The window's `online` listener while started (detached on drop).
    online: RefCell<Option<Listener>>,
}

impl GateShell {
    pub fn new(
        config: GateConfig,
        project_id: String,
        session: SessionSource,
        on_change: Option<Function>,
        on_signed_out: Option<Function>,
    ) -> Self {
        let gate = RefCell::new(AccessGate::new(&config.retry));
        Self {
            inner: Rc::new(Inner {
                config,
                project_id,
                session,
                on_change,
                on_signed_out,
                gate,
                wake_sleeper: RefCell::new(None),
                online: RefCell::new(None),
            }),
        }
    }

    /// `"unknown"`, `"granted"` or `"denied"`.
    pub fn state(&self) -> &'static str {
        self.inner.gate.borrow().state().as_str()
    }

    /// Attaches the `online` listener that wakes a sleeping retry at once. Idempotent.
    pub fn start(&self) {
        let mut online = self.inner.online.borrow_mut();
        if online.is_some() {
            return;
        }
        let Some(window) = web_sys::window() else { return };
        // Weak: the listener lives inside `Inner`, a strong reference would leak both.
        let weak: Weak<Inner> = Rc::downgrade(&self.inner);
        *online = Some(Listener::new(&window, "online", false, move |_| {
            if let Some(inner) = weak.upgrade() {
                inner.wake();
            }
        }));
    }

    /// Detaches the listener and ends any running check; the state is kept. Idempotent.
    pub fn stop(&self) {
        let listener = self.inner.online.borrow_mut().take();
        drop(listener);
        self.inner.gate.borrow_mut().cancel();
        self.inner.wake();
    }

    /// Runs a fresh check for the current session, superseding older ones, and resolves
    /// with the state after its first attempt; retries continue in the background.
    pub async fn check(&self) -> &'static str {
        let check = self.inner.gate.borrow_mut().begin_check();
        // A superseded loop asleep would otherwise linger until its timer; woken, it is
        // told to stop, so at most one loop is ever alive.
        self.inner.wake();
        let mut action = Action::ResolveSession;
        loop {
            match action {
                Action::Stop => break,
                Action::Sleep { .. } => {
                    let inner = self.inner.clone();
                    spawn(async move { inner.run(check, action).await });
                    break;
                }
                other => action = self.inner.perform(check, other).await,
            }
        }
        self.state()
    }
}

impl Inner {
    /// Drives a check's background part until the core says it is over.
    async fn run(&self, check: CheckId, mut action: Action) {
        while action != Action::Stop {
            action = self.perform(check, action).await;
        }
    }

    /// Performs one action, feeds its outcome to the core and returns the next action.
    async fn perform(&self, check: CheckId, action: Action) -> Action {
        let step: Step = match action {
            Action::ResolveSession => {
                let session = self.resolve_session().await;
                self.gate.borrow_mut().session_resolved(check, session, now_ms(), random01())
            }
            Action::SendAttempt { token } => {
                let outcome = self.attempt(&token).await;
                self.gate.borrow_mut().attempt_finished(check, &outcome, now_ms(), random01())
            }
            Action::Sleep { delay_ms, .. } => {
                self.sleep(delay_ms).await;
                self.gate.borrow_mut().woke(check)
            }
            Action::SignedOut => {
                if let Some(callback) = &self.on_signed_out {
                    if let Err(error) = callback.call0(&JsValue::NULL) {
                        warn(&format!("accessGate.onSignedOut threw: {}", error_message(&error)));
                    }
                }
                return Action::Stop;
            }
            Action::Stop => return Action::Stop,
        };
        // The gate is no longer borrowed: a callback may call back into the gate.
        if let Some(change) = step.change {
            self.report(change);
        }
        step.action
    }

    fn report(&self, (state, reason): Change) {
        let Some(callback) = &self.on_change else { return };
        let result = callback.call2(&JsValue::NULL, &state.as_str().into(), &reason.as_str().into());
        if let Err(error) = result {
            warn(&format!("accessGate.onChange threw: {}", error_message(&error)));
        }
    }

    async fn resolve_session(&self) -> ResolvedSession {
        match self.session.resolve().await {
            Ok(Some(session)) => match session.access_token {
                Some(token) if !token.is_empty() => ResolvedSession::SignedIn(AccessToken(token)),
                // Nothing to authenticate the check with: the same as signed out.
                _ => ResolvedSession::SignedOut,
            },
            Ok(None) => ResolvedSession::SignedOut,
            Err(error) => {
                let why = match error {
                    SessionError::Threw(_) => "it threw or rejected",
                    SessionError::TimedOut => "it did not answer in time",
                    SessionError::Malformed(_) => "it returned something that is not a session",
                };
                warn(&format!("access check: getAnalyticsSession failed ({why}); will retry"));
                ResolvedSession::Unavailable
            }
        }
    }

    /// One `GET` of the check URL, aborted after `attemptTimeoutMs` (body included).
    async fn attempt(&self, token: &AccessToken) -> AttemptOutcome {
        let Some(window) = web_sys::window() else { return AttemptOutcome::NetworkError };
        let Ok(init) = self.request_init(token) else { return AttemptOutcome::NetworkError };
        let controller = AbortController::new().ok();
        if let Some(controller) = &controller {
            init.set_signal(Some(&controller.signal()));
        }
        let timed_out = Rc::new(Cell::new(false));
        let _timer = controller.map(|controller| {
            let timed_out = timed_out.clone();
            let timeout_ms = self.config.attempt_timeout_ms.min(i32::MAX as u64) as u32;
            // Dropping the handle at the end of the attempt clears the timer.
            crate::web::timer::Timeout::new(timeout_ms, move || {
                timed_out.set(true);
                controller.abort();
            })
        });
        let failed = || if timed_out.get() { AttemptOutcome::TimedOut } else { AttemptOutcome::NetworkError };

        let response = match JsFuture::from(window.fetch_with_str_and_init(&self.config.url, &init)).await {
            Ok(response) => response.unchecked_into::<Response>(),
            Err(_) => return failed(),
        };
        let status = response.status();
        let retry_after = response.headers().get("retry-after").ok().flatten();
        // Only a 200 body can be definitive, so only it is read.
        let has_access = if status == 200 {
            let text = match response.text() {
                Ok(promise) => JsFuture::from(promise).await,
                Err(error) => Err(error),
            };
            match text {
                Ok(text) => text.as_string().and_then(|text| has_access(&text)),
                Err(_) => return failed(),
            }
        } else {
            None
        };
        AttemptOutcome::Answer { status, has_access, retry_after }
    }

    fn request_init(&self, token: &AccessToken) -> Result<RequestInit, JsValue> {
        let headers = Headers::new()?;
        headers.set("authorization", &format!("Bearer {}", token.0))?;
        headers.set("x-stack-project-id", &self.project_id)?;
        let init = RequestInit::new();
        init.set_method("GET");
        init.set_headers(headers.as_ref());
        // The bearer token is the credential; cookies would only add ambiguity (and a
        // stricter CORS preflight). A cached answer would defeat the point of a re-check.
        init.set_credentials(RequestCredentials::Omit);
        init.set_cache(RequestCache::NoStore);
        Ok(init)
    }

    /// Sleeps `delay_ms`, or less if woken (`online`, a newer check, `stop()`).
    async fn sleep(&self, delay_ms: u64) {
        let Some(window) = web_sys::window() else { return };
        // setTimeout's delay is a signed 32-bit number: a longer one would fire at once.
        let delay_ms = delay_ms.min(i32::MAX as u64) as i32;
        let mut timer = None;
        let mut resolver = None;
        let woken = Promise::new(&mut |resolve, _reject| {
            timer = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, delay_ms).ok();
            resolver = Some(resolve);
        });
        if let Some(resolve) = &resolver {
            // A sleeper left from an older loop is woken too: it will be told to stop.
            if let Some(older) = self.wake_sleeper.borrow_mut().replace(resolve.clone()) {
                let _ = older.call0(&JsValue::NULL);
            }
        }
        let _ = JsFuture::from(woken).await;
        if let Some(timer) = timer {
            window.clear_timeout_with_handle(timer);
        }
        let mut sleeper = self.wake_sleeper.borrow_mut();
        if sleeper.as_ref().zip(resolver.as_ref()).is_some_and(|(stored, ours)| stored == ours) {
            *sleeper = None;
        }
    }

    /// Ends the current sleep now, if a retry is sleeping.
    fn wake(&self) {
        let resolve = self.wake_sleeper.borrow_mut().take();
        if let Some(resolve) = resolve {
            let _ = resolve.call0(&JsValue::NULL);
        }
    }
}

/// `Some(b)` only for a JSON object whose `has_access` is a boolean.
fn has_access(body: &str) -> Option<bool> {
    let value = js_sys::JSON::parse(body).ok()?;
    if !value.is_object() || js_sys::Array::is_array(&value) {
        return None;
    }
    Reflect::get(&value, &JsValue::from_str("has_access")).ok()?.as_bool()
}
