//! `new RecorderHarness(onEvent, maskAllInputs)`: runs `sightline::web::recorder::Recorder`
//! and passes every event's JSON to `onEvent`.

use std::rc::Rc;

use sightline::core::config::ReplayConfig;
use sightline::web::recorder::{RecordedEvent, Recorder};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
pub struct RecorderHarness {
    recorder: Recorder,
}

#[wasm_bindgen]
impl RecorderHarness {
    #[wasm_bindgen(constructor)]
    pub fn new(on_event: js_sys::Function, mask_all_inputs: bool) -> Result<RecorderHarness, JsValue> {
        let config = ReplayConfig { enabled: true, mask_all_inputs, ..ReplayConfig::default() };
        let sink = Rc::new(move |event: RecordedEvent| {
            let _ = on_event.call1(&JsValue::NULL, &JsValue::from_str(&event.json));
        });
        Ok(RecorderHarness { recorder: Recorder::start(&config, sink)? })
    }

    pub fn checkout(&self) {
        self.recorder.checkout();
    }

    pub fn flush(&self) {
        self.recorder.flush_pending();
    }

    pub fn stop(&self) {
        self.recorder.stop();
    }
}
