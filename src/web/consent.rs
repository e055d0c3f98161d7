//! The shell of `core::consent`: the remembered choice in localStorage, Global Privacy
//! Control, and the analytics capture path that consent decides (send, keep in memory,
//! or drop).

use std::cell::{Cell, RefCell};

use js_sys::Reflect;
use wasm_bindgen::JsValue;

use crate::core::batch::Stream;
use crate::core::consent::{initial_consent, Consent, PendingEvents};
use crate::web::storage;
use crate::web::uploader::Uploader;

/// `navigator.globalPrivacyControl === true`.
fn global_privacy_control() -> bool {
    let Some(window) = web_sys::window() else { return false };
    Reflect::get(&window, &JsValue::from_str("navigator"))
        .and_then(|navigator| Reflect::get(&navigator, &JsValue::from_str("globalPrivacyControl")))
        .is_ok_and(|gpc| gpc.as_bool() == Some(true))
}

/// Where consent decides what happens to an analytics event.
pub struct ConsentGate {
    key: String,
    state: Cell<Consent>,
    pending: RefCell<PendingEvents>,
    /// Analytics events dropped because of consent (pending overflow, `optOut()`, or
    /// captured while denied).
    dropped: Cell<u64>,
    uploader: Uploader,
}

impl ConsentGate {
    pub fn new(project_id: &str, option: Consent, respect_gpc: bool, uploader: Uploader) -> ConsentGate {
        let key = format!("sightline:{project_id}:consent");
        let remembered = storage::get(&key).and_then(|v| Consent::parse_remembered(&v));
        let state = initial_consent(option, remembered, respect_gpc, global_privacy_control());
        ConsentGate {
            key,
            state: Cell::new(state),
            pending: RefCell::new(PendingEvents::default()),
            dropped: Cell::new(0),
            uploader,
        }
    }

    pub fn state(&self) -> Consent {
        self.state.get()
    }

    /// An analytics event: sent (granted), kept in memory (pending), or dropped and
    /// counted (denied).
    pub fn capture(&self, event_json: String) {
        match self.state.get() {
            Consent::Granted => self.uploader.capture(Stream::Analytics, event_json),
            Consent::Pending => {
                let dropped = self.pending.borrow_mut().push(event_json);
                self.count_dropped(dropped);
            }
            Consent::Denied => self.count_dropped(1),
        }
    }

    fn count_dropped(&self, events: u64) {
        self.dropped.set(self.dropped.get() + events);
    }

    /// Events kept while pending (queued, for `stats()`), and those dropped by consent.
    pub fn counts(&self) -> (usize, u64) {
        (self.pending.borrow().len(), self.dropped.get())
    }

    /// `optIn()`: remembered; what was kept is handed to the uploader.
    pub fn grant(&self) {
        storage::set(&self.key, Consent::Granted.as_str());
        self.state.set(Consent::Granted);
        let kept = self.pending.borrow_mut().take();
        for event in kept {
            self.uploader.capture(Stream::Analytics, event);
        }
    }

    /// `optOut()`: remembered; every buffer and the persisted queue dropped (counted),
    /// retries cancelled.
    pub fn deny(&self) {
        storage::set(&self.key, Consent::Denied.as_str());
        self.state.set(Consent::Denied);
        self.drop_everything();
    }

    /// Drops what was kept and everything the uploader holds (counted), and sends
    /// nothing more: used by `optOut()` and when a page starts denied.
    pub fn drop_everything(&self) {
        let kept = self.pending.borrow_mut().take();
        self.count_dropped(kept.len() as u64);
        self.uploader.clear();
    }
}
