//! An RAII event listener: dropping it detaches it, so teardown cannot be forgotten
//! (the gloo-events pattern, without the extra dependency).

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{AddEventListenerOptions, EventTarget};

pub struct Listener {
    target: EventTarget,
    event_type: &'static str,
    capture: bool,
    callback: Closure<dyn FnMut(web_sys::Event)>,
}

/// After an internal error (`poison`) the SDK's listeners do nothing.
fn guarded(mut handler: impl FnMut(web_sys::Event) + 'static) -> Closure<dyn FnMut(web_sys::Event)> {
    Closure::new(move |event| {
        if !crate::web::poison::failed() {
            handler(event)
        }
    })
}

impl Listener {
    /// A passive listener (it never calls `preventDefault`).
    pub fn new(
        target: &EventTarget,
        event_type: &'static str,
        capture: bool,
        handler: impl FnMut(web_sys::Event) + 'static,
    ) -> Self {
        Self::attach(target, event_type, capture, true, guarded(handler))
    }

    /// A listener with the browser's default for `passive` (`addEventListener(type, f,
    /// capture)`), as the session recorder attaches its own.
    pub fn with_default_passive(
        target: &EventTarget,
        event_type: &'static str,
        capture: bool,
        handler: impl FnMut(web_sys::Event) + 'static,
    ) -> Self {
        Self::attach(target, event_type, capture, false, guarded(handler))
    }

    fn attach(
        target: &EventTarget,
        event_type: &'static str,
        capture: bool,
        passive: bool,
        callback: Closure<dyn FnMut(web_sys::Event)>,
    ) -> Self {
        let function = callback.as_ref().unchecked_ref();
        if passive {
            let options = AddEventListenerOptions::new();
            options.set_capture(capture);
            options.set_passive(true);
            let _ = target.add_event_listener_with_callback_and_add_event_listener_options(
                event_type, function, &options,
            );
        } else {
            let _ = target.add_event_listener_with_callback_and_bool(event_type, function, capture);
        }
        Self { target: target.clone(), event_type, capture, callback }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.target.remove_event_listener_with_callback_and_bool(
            self.event_type,
            self.callback.as_ref().unchecked_ref(),
            self.capture,
        );
    }
}
