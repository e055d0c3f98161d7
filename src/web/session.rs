//! Resolving the host's `getAnalyticsSession` callback at send time.
//!
//! The callback is never awaited before capture: only senders (the outbox, the access
//! gate) resolve it, and the last resolved session is remembered so the unload path can
//! send synchronously.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use crate::web::util::error_message;

/// `{ accessToken?, refreshToken? }` as resolved from the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnalyticsSession {
    pub access_token: Option<String>,
    pub refresh_token: Option<String>,
}

/// Why a session could not be resolved; the caller keeps its batch and retries later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionError {
    Threw(String),
    TimedOut,
    Malformed(String),
}

/// A session callback can hang forever; after this long the send is treated as failed
/// (the batch stays queued and is retried with backoff).
pub const SESSION_TIMEOUT_MS: u32 = 15_000;

#[derive(Clone)]
pub struct SessionSource {
    callback: js_sys::Function,
    /// `Some(last)` once any call resolved; `last` may be `None` (signed out).
    last: Rc<RefCell<Option<Option<AnalyticsSession>>>>,
    /// Bumped by `forget()`: a call that began before is not remembered.
    generation: Rc<Cell<u64>>,
}

impl SessionSource {
    pub fn new(callback: js_sys::Function) -> Self {
        Self { callback, last: Rc::new(RefCell::new(None)), generation: Rc::new(Cell::new(0)) }
    }

    /// `clearBuffer()`: the cached session is forgotten, and so is the answer of any
    /// call under way (it may be the previous user's).
    pub fn forget(&self) {
        self.generation.set(self.generation.get() + 1);
        *self.last.borrow_mut() = None;
    }

    /// The last session resolved, if any call ever resolved.
    pub fn last(&self) -> Option<Option<AnalyticsSession>> {
        self.last.borrow().clone()
    }

    /// Calls the host's callback and awaits it (at most `SESSION_TIMEOUT_MS`).
    pub async fn resolve(&self) -> Result<Option<AnalyticsSession>, SessionError> {
        let generation = self.generation.get();
        let result = match self.callback.call0(&JsValue::NULL) {
            Ok(value) => value,
            Err(e) => return Err(SessionError::Threw(error_message(&e))),
        };
        let value = if result.has_type::<js_sys::Promise>() {
            let promise: js_sys::Promise = result.unchecked_into();
            let timed_out = JsValue::from_str("__sightline_session_timeout__");
            let timeout = js_sys::Promise::new(&mut |resolve, _| {
                if let Some(window) = web_sys::window() {
                    let _ = window.set_timeout_with_callback_and_timeout_and_arguments_1(
                        &resolve,
                        SESSION_TIMEOUT_MS as i32,
                        &timed_out,
                    );
                }
            });
            let race = js_sys::Promise::race(&js_sys::Array::of2(&promise, &timeout));
            match JsFuture::from(race).await {
                Ok(v) if v == timed_out => return Err(SessionError::TimedOut),
                Ok(v) => v,
                Err(e) => return Err(SessionError::Threw(error_message(&e))),
            }
        } else {
            result
        };
        let session = parse_session(&value)?;
        if self.generation.get() == generation {
            *self.last.borrow_mut() = Some(session.clone());
        }
        Ok(session)
    }
}

impl SessionError {
    /// A message for the console; never contains a token.
    pub fn describe(&self) -> String {
        match self {
            SessionError::Threw(message) => format!("it threw or rejected: {message}"),
            SessionError::TimedOut => {
                let mut out = String::from("no answer within ");
                crate::core::json::push_u64(&mut out, SESSION_TIMEOUT_MS.into());
                out.push_str(" ms");
                out
            }
            SessionError::Malformed(message) => message.clone(),
        }
    }
}

fn token_field(value: &JsValue, name: &str) -> Result<Option<String>, SessionError> {
    let field = js_sys::Reflect::get(value, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED);
    if field.is_null() || field.is_undefined() {
        return Ok(None);
    }
    field
        .as_string()
        .map(Some)
        .ok_or_else(|| SessionError::Malformed(format!("session.{name} must be a string or null")))
}

/// `null`/`undefined` mean signed out; an object needs string-or-null tokens.
pub fn parse_session(value: &JsValue) -> Result<Option<AnalyticsSession>, SessionError> {
    if value.is_null() || value.is_undefined() {
        return Ok(None);
    }
    if !value.is_object() || js_sys::Array::is_array(value) {
        return Err(SessionError::Malformed("the session must be an object or null".into()));
    }
    Ok(Some(AnalyticsSession {
        access_token: token_field(value, "accessToken")?,
        refresh_token: token_field(value, "refreshToken")?,
    }))
}
