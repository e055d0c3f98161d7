//! rrweb event envelopes and the `data` of each incremental source.

use super::node::push_number;
use crate::core::json::{push_str_literal, push_u64};

pub const DOM_CONTENT_LOADED: u8 = 0;
pub const LOAD: u8 = 1;
pub const FULL_SNAPSHOT: u8 = 2;
pub const INCREMENTAL_SNAPSHOT: u8 = 3;
pub const META: u8 = 4;
pub const CUSTOM: u8 = 5;

/// `data.source` of an IncrementalSnapshot.
pub mod source {
    pub const MUTATION: u8 = 0;
    pub const MOUSE_MOVE: u8 = 1;
    pub const MOUSE_INTERACTION: u8 = 2;
    pub const SCROLL: u8 = 3;
    pub const VIEWPORT_RESIZE: u8 = 4;
    pub const INPUT: u8 = 5;
    pub const TOUCH_MOVE: u8 = 6;
    pub const MEDIA_INTERACTION: u8 = 7;
    pub const SELECTION: u8 = 14;
}

/// `data.type` of a MouseInteraction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MouseInteraction {
    MouseUp = 0,
    MouseDown = 1,
    Click = 2,
    ContextMenu = 3,
    DblClick = 4,
    Focus = 5,
    Blur = 6,
    TouchStart = 7,
    TouchEnd = 9,
}

impl MouseInteraction {
    /// The interaction a DOM event type stands for.
    pub fn from_event_type(event_type: &str) -> Option<Self> {
        Some(match event_type {
            "mouseup" => Self::MouseUp,
            "mousedown" => Self::MouseDown,
            "click" => Self::Click,
            "contextmenu" => Self::ContextMenu,
            "dblclick" => Self::DblClick,
            "focus" => Self::Focus,
            "blur" => Self::Blur,
            "touchstart" => Self::TouchStart,
            "touchend" => Self::TouchEnd,
            _ => return None,
        })
    }
}

/// `{"type":…,"data":…,"timestamp":…}` with `data` already JSON.
pub fn envelope(event_type: u8, data: &str, timestamp_ms: u64) -> String {
    let mut out = String::with_capacity(data.len() + 48);
    out.push_str("{\"type\":");
    push_u64(&mut out, event_type.into());
    out.push_str(",\"data\":");
    out.push_str(data);
    out.push_str(",\"timestamp\":");
    push_u64(&mut out, timestamp_ms);
    out.push('}');
    out
}

/// The `data` of a Custom event: `{"tag":…,"payload":…}` with `payload` already JSON.
pub fn custom_data(tag: &str, payload_json: &str) -> String {
    let mut out = String::with_capacity(tag.len() + payload_json.len() + 24);
    out.push_str("{\"tag\":");
    push_str_literal(&mut out, tag);
    out.push_str(",\"payload\":");
    out.push_str(payload_json);
    out.push('}');
    out
}

/// `{"reason":…}`, the payload of sightline's own Custom events.
pub fn reason_payload(reason: &str) -> String {
    let mut out = String::from("{\"reason\":");
    push_str_literal(&mut out, reason);
    out.push('}');
    out
}

pub fn meta_data(href: &str, width: f64, height: f64) -> String {
    let mut out = String::from("{\"href\":");
    push_str_literal(&mut out, href);
    out.push_str(",\"width\":");
    push_number(&mut out, width);
    out.push_str(",\"height\":");
    push_number(&mut out, height);
    out.push('}');
    out
}

pub fn full_snapshot_data(node_json: &str, scroll_top: f64, scroll_left: f64) -> String {
    let mut out = String::with_capacity(node_json.len() + 64);
    out.push_str("{\"node\":");
    out.push_str(node_json);
    out.push_str(",\"initialOffset\":{\"top\":");
    push_number(&mut out, scroll_top);
    out.push_str(",\"left\":");
    push_number(&mut out, scroll_left);
    out.push_str("}}");
    out
}

/// MouseInteraction; focus and blur have no coordinates.
pub fn mouse_interaction_data(kind: MouseInteraction, id: u32, position: Option<(f64, f64)>) -> String {
    let mut out = String::from("{\"source\":2,\"type\":");
    push_u64(&mut out, kind as u64);
    out.push_str(",\"id\":");
    push_u64(&mut out, id.into());
    if let Some((x, y)) = position {
        out.push_str(",\"x\":");
        push_number(&mut out, x);
        out.push_str(",\"y\":");
        push_number(&mut out, y);
    }
    out.push('}');
    out
}

pub fn scroll_data(id: u32, x: f64, y: f64) -> String {
    let mut out = String::from("{\"source\":3,\"id\":");
    push_u64(&mut out, id.into());
    out.push_str(",\"x\":");
    push_number(&mut out, x);
    out.push_str(",\"y\":");
    push_number(&mut out, y);
    out.push('}');
    out
}

pub fn viewport_resize_data(width: f64, height: f64) -> String {
    let mut out = String::from("{\"source\":4,\"width\":");
    push_number(&mut out, width);
    out.push_str(",\"height\":");
    push_number(&mut out, height);
    out.push('}');
    out
}

/// Input; `text` is already masked as configured.
pub fn input_data(id: u32, text: &str, is_checked: bool) -> String {
    let mut out = String::from("{\"source\":5,\"text\":");
    push_str_literal(&mut out, text);
    out.push_str(if is_checked { ",\"isChecked\":true,\"id\":" } else { ",\"isChecked\":false,\"id\":" });
    push_u64(&mut out, id.into());
    out.push('}');
    out
}

/// MediaInteraction: `kind` 0 play, 1 pause.
pub fn media_data(
    kind: u8,
    id: u32,
    current_time: f64,
    volume: f64,
    muted: bool,
    playback_rate: f64,
) -> String {
    let mut out = String::from("{\"source\":7,\"type\":");
    push_u64(&mut out, kind.into());
    out.push_str(",\"id\":");
    push_u64(&mut out, id.into());
    out.push_str(",\"currentTime\":");
    push_number(&mut out, current_time);
    out.push_str(",\"volume\":");
    push_number(&mut out, volume);
    out.push_str(if muted {
        ",\"muted\":true,\"playbackRate\":"
    } else {
        ",\"muted\":false,\"playbackRate\":"
    });
    push_number(&mut out, playback_rate);
    out.push('}');
    out
}

/// One selected range: `(startId, startOffset, endId, endOffset)`.
pub type SelectionRange = (u32, u32, u32, u32);

pub fn selection_data(ranges: &[SelectionRange]) -> String {
    let mut out = String::from("{\"source\":14,\"ranges\":[");
    for (i, (start, start_offset, end, end_offset)) in ranges.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"start\":");
        push_u64(&mut out, (*start).into());
        out.push_str(",\"startOffset\":");
        push_u64(&mut out, (*start_offset).into());
        out.push_str(",\"end\":");
        push_u64(&mut out, (*end).into());
        out.push_str(",\"endOffset\":");
        push_u64(&mut out, (*end_offset).into());
        out.push('}');
    }
    out.push_str("]}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(s: &str) -> serde_json::Value {
        serde_json::from_str(s).unwrap()
    }

    #[test]
    fn custom_events_carry_tag_and_payload() {
        let json = envelope(CUSTOM, &custom_data("$dead-click", r#"{"wait_ms":2500}"#), 42);
        let v = parse(&json);
        assert_eq!(v["type"], 5);
        assert_eq!(v["timestamp"], 42);
        assert_eq!(v["data"]["tag"], "$dead-click");
        assert_eq!(v["data"]["payload"]["wait_ms"], 2500);
    }

    #[test]
    fn envelopes_and_meta() {
        let meta = envelope(META, &meta_data("https://a.test/?q=\"x\"", 1280.0, 720.0), 1_700_000_000_000);
        assert_eq!(
            parse(&meta),
            json!({"type": 4, "data": {"href": "https://a.test/?q=\"x\"", "width": 1280, "height": 720}, "timestamp": 1_700_000_000_000u64})
        );
        let full = envelope(
            FULL_SNAPSHOT,
            &full_snapshot_data(r#"{"id":1,"type":0,"childNodes":[]}"#, 10.0, 0.0),
            5,
        );
        assert_eq!(
            parse(&full),
            json!({"type": 2, "data": {"node": {"id": 1, "type": 0, "childNodes": []}, "initialOffset": {"top": 10, "left": 0}}, "timestamp": 5})
        );
        assert_eq!(envelope(DOM_CONTENT_LOADED, "{}", 1), r#"{"type":0,"data":{},"timestamp":1}"#);
    }

    #[test]
    fn custom_events_have_rrweb_shape() {
        let custom = envelope(
            CUSTOM,
            &custom_data("sightline/recording-stopped", &reason_payload("mutation-limit")),
            7,
        );
        assert_eq!(
            parse(&custom),
            json!({"type": 5, "data": {"tag": "sightline/recording-stopped", "payload": {"reason": "mutation-limit"}}, "timestamp": 7})
        );
    }

    #[test]
    fn incremental_sources_have_rrweb_shapes() {
        assert_eq!(
            parse(&mouse_interaction_data(MouseInteraction::Click, 9, Some((10.5, 20.0)))),
            json!({"source": 2, "type": 2, "id": 9, "x": 10.5, "y": 20})
        );
        assert_eq!(
            parse(&mouse_interaction_data(MouseInteraction::Focus, 9, None)),
            json!({"source": 2, "type": 5, "id": 9})
        );
        assert_eq!(MouseInteraction::from_event_type("touchend"), Some(MouseInteraction::TouchEnd));
        assert_eq!(MouseInteraction::from_event_type("keydown"), None);
        assert_eq!(parse(&scroll_data(1, 0.0, 300.0)), json!({"source": 3, "id": 1, "x": 0, "y": 300}));
        assert_eq!(
            parse(&viewport_resize_data(800.0, 600.0)),
            json!({"source": 4, "width": 800, "height": 600})
        );
        assert_eq!(
            parse(&input_data(4, "***", false)),
            json!({"source": 5, "text": "***", "isChecked": false, "id": 4})
        );
        assert_eq!(
            parse(&media_data(0, 3, 1.5, 1.0, false, 1.0)),
            json!({"source": 7, "type": 0, "id": 3, "currentTime": 1.5, "volume": 1, "muted": false, "playbackRate": 1})
        );
        assert_eq!(
            parse(&selection_data(&[(5, 1, 6, 2)])),
            json!({"source": 14, "ranges": [{"start": 5, "startOffset": 1, "end": 6, "endOffset": 2}]})
        );
    }
}
