//! Sending batches with `fetch`: Stack Auth's headers (wire.md), gzip through the
//! browser's `CompressionStream`, `keepalive` on the unload path, a timeout per request.

use js_sys::Uint8Array;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, Headers, RequestCache, RequestCredentials, RequestInit, Response};

use crate::core::outbox::Outcome;
use crate::web::session::AnalyticsSession;

/// An ordinary upload is abandoned (and retried) after this long.
const REQUEST_TIMEOUT_MS: i32 = 30_000;

/// Browsers refuse a keepalive request once the page's keepalive bodies in flight would
/// pass 64 KiB.
pub const KEEPALIVE_BUDGET_BYTES: usize = 64 * 1024;

/// What every request of a page carries.
#[derive(Clone)]
pub struct Endpoint {
    pub api_base_url: String,
    pub project_id: String,
    pub publishable_client_key: Option<String>,
}

impl Endpoint {
    fn headers(&self, session: Option<&AnalyticsSession>, gzip: bool) -> Result<Headers, JsValue> {
        let headers = Headers::new()?;
        let content_type = if gzip { "application/octet-stream" } else { "application/json" };
        headers.set("content-type", content_type)?;
        headers.set("x-stack-project-id", &self.project_id)?;
        headers.set("x-stack-access-type", "client")?;
        headers.set("x-stack-allow-anonymous-user", "true")?;
        if let Some(key) = &self.publishable_client_key {
            headers.set("x-stack-publishable-client-key", key)?;
        }
        if let Some(session) = session {
            if let Some(token) = &session.access_token {
                headers.set("x-stack-access-token", token)?;
            }
            if let Some(token) = &session.refresh_token {
                headers.set("x-stack-refresh-token", token)?;
            }
        }
        Ok(headers)
    }

    fn init(
        &self,
        path: &str,
        session: Option<&AnalyticsSession>,
        body: &JsValue,
        gzip: bool,
    ) -> Result<(String, RequestInit), JsValue> {
        let init = RequestInit::new();
        init.set_method("POST");
        init.set_credentials(RequestCredentials::Omit);
        init.set_cache(RequestCache::NoStore);
        init.set_headers(self.headers(session, gzip)?.as_ref());
        init.set_body(body);
        Ok((format!("{}{path}", self.api_base_url), init))
    }

    /// POSTs a body as sent (`gzip`: it is gzipped), with a timeout. Never fails: every
    /// failure is an `Outcome`.
    pub async fn post(
        &self,
        path: &str,
        session: Option<&AnalyticsSession>,
        payload: &Uint8Array,
        gzip: bool,
    ) -> Outcome {
        let Ok((url, init)) = self.init(path, session, payload, gzip) else {
            return Outcome::NetworkError;
        };
        let controller = AbortController::new().ok();
        if let Some(controller) = &controller {
            init.set_signal(Some(&controller.signal()));
        }
        let timer = controller.as_ref().map(|c| {
            let c = c.clone();
            crate::web::timer::Timeout::new(REQUEST_TIMEOUT_MS as u32, move || c.abort())
        });
        let outcome = fetch_outcome(&url, &init).await;
        drop(timer);
        outcome
    }

    /// A `keepalive` POST of plain JSON for the unload path: starts the request at once
    /// (synchronously, before the page goes) and returns a future of its outcome, which
    /// only resolves if the page lives long enough.
    pub fn post_keepalive(
        &self,
        path: &str,
        session: Option<&AnalyticsSession>,
        body: &str,
    ) -> Option<js_sys::Promise> {
        let (url, init) = self.init(path, session, &JsValue::from_str(body), false).ok()?;
        // `keepalive` is not in web-sys's stable RequestInit.
        js_sys::Reflect::set(&init, &JsValue::from_str("keepalive"), &JsValue::TRUE).ok()?;
        start_fetch(&url, &init)
    }
}

/// `fetch(url, init)`, where a fetch that throws synchronously (a page's wrapper of `fetch`,
/// or an engine refusing a keepalive body at once) is `None`, a network error, instead of
/// an exception through the wasm frames, which would stop the unload path before it
/// persists what it could not send.
fn start_fetch(url: &str, init: &RequestInit) -> Option<js_sys::Promise> {
    let global = js_sys::global();
    let fetch: js_sys::Function =
        js_sys::Reflect::get(&global, &JsValue::from_str("fetch")).ok()?.dyn_into().ok()?;
    fetch.call2(&global, &JsValue::from_str(url), init).ok()?.dyn_into().ok()
}

/// Turns a `fetch` promise into an outcome.
pub async fn response_outcome(promise: js_sys::Promise) -> Outcome {
    match JsFuture::from(promise).await {
        Ok(response) => {
            let response: Response = response.unchecked_into();
            let retry_after = response.headers().get("retry-after").ok().flatten();
            Outcome::Status { code: response.status(), retry_after }
        }
        Err(_) => Outcome::NetworkError,
    }
}

async fn fetch_outcome(url: &str, init: &RequestInit) -> Outcome {
    match start_fetch(url, init) {
        Some(promise) => response_outcome(promise).await,
        None => Outcome::NetworkError,
    }
}

#[wasm_bindgen(module = "/src/web/gzip.js")]
extern "C" {
    /// A promise of the gzip of `bytes`, or of `null`.
    fn sl_gzip(bytes: &Uint8Array) -> js_sys::Promise;
}

/// gzip through `CompressionStream`, a 256 KB piece per task (see `gzip.js`); `None`
/// where the browser lacks it.
pub async fn gzip(text: &str) -> Option<Uint8Array> {
    let bytes = Uint8Array::from(text.as_bytes());
    JsFuture::from(sl_gzip(&bytes)).await.ok()?.dyn_into().ok()
}
