//! The JS-facing class `Sightline` (api.md).

use wasm_bindgen::prelude::*;

#[wasm_bindgen]
pub struct Sightline {}
