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

impl Listener {
    pub fn new(
        target: &EventTarget,
        event_type: &'static str,
        capture: bool,
        handler: impl FnMut(web_sys::Event) + 'static,
    ) -> Self {
        let callback = Closure::<dyn FnMut(web_sys::Event)>::new(handler);
        let options = AddEventListenerOptions::new();
        options.set_capture(capture);
        options.set_passive(true);
        let _ = target.add_event_listener_with_callback_and_add_event_listener_options(
            event_type,
            callback.as_ref().unchecked_ref(),
            &options,
        );
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
