//! The full snapshot's DOM side: `core::replay::walk` decides what is read when; this
//! reads a chunk of siblings per crossing (`sl_read_children`) and turns each record
//! into its JSON.

use std::rc::Rc;

use web_sys::Document;

use super::serialize::{sl_push, sl_read_children, Context, Serializer};
use crate::core::replay::mutation::Handle;
use crate::core::replay::node::TextParent;
use crate::core::replay::protocol::{parse_chunk, NodeRecord};
use crate::core::replay::walk::{Children, Read, ReadNode, SnapshotWalk, WalkDom};

/// Most siblings read in one crossing: large enough that crossings are few, small
/// enough that a slice can stop within its budget.
pub const CHUNK: usize = 128;

/// The walk asks the clock after this many nodes (a crossing each; about 0.1 ms of work).
const ASK_CLOCK_EVERY: usize = 32;

/// What the children of a container inherit.
#[derive(Clone)]
pub struct Inherited {
    context: Context,
    base_url: Rc<str>,
}

pub struct Reader<'s, 'a> {
    pub serializer: &'s mut Serializer<'a>,
}

impl Reader<'_, '_> {
    fn node(
        &mut self,
        index: u32,
        record: &NodeRecord,
        context: Context,
        base_url: &Rc<str>,
    ) -> ReadNode<Inherited> {
        let built = self.serializer.build(index, record, context, base_url);
        let mut json = String::new();
        built.node.write_open(&mut json);
        let children = match (built.child_context, record.children) {
            (Some(context), Some(range)) => {
                let base_url = match built.document_base {
                    Some(base) => Rc::from(base),
                    None => base_url.clone(),
                };
                Some(Children {
                    context: Inherited { context, base_url },
                    handles: range.handles(),
                    shadow_from: range.light as usize,
                })
            }
            _ => {
                if built.node.has_child_list() {
                    json.push_str("]}");
                }
                None
            }
        };
        ReadNode { id: record.id, json, children }
    }

    /// Reads the `count` nodes from `from` (children of `parent`; `-1`: no check).
    fn read_records(
        &mut self,
        parent: i32,
        shadow: bool,
        from: u32,
        count: usize,
        mut each: impl FnMut(&mut Self, u32, Option<NodeRecord>),
    ) {
        let s = &mut *self.serializer;
        let fresh = s.id_counter.peek_next();
        let text = sl_read_children(&s.all, parent, shadow, from, count as u32, s.ids.key(), fresh);
        let mut chunk = parse_chunk(&text).ok();
        if let Some(chunk) = &chunk {
            self.serializer.id_counter.reserve_until(chunk.next_fresh);
        }
        // One call per node asked for: a malformed record (a reader bug) or a missing one
        // leaves that node out, nothing else. (A loop, not `enumerate().take()`: smaller.)
        for i in 0..count {
            let record = chunk.as_mut().and_then(Iterator::next).and_then(|r| r.ok().flatten());
            each(self, from + i as u32, record);
        }
    }

    /// Starts the walk of `document` (`masked`: an iframe's inside a masked region),
    /// cut into events of at most `max_bytes` of JSON.
    pub fn start(
        &mut self,
        document: &Document,
        is_iframe: bool,
        masked: bool,
        max_bytes: usize,
    ) -> Option<SnapshotWalk<Inherited>> {
        let index = sl_push(&self.serializer.all, document);
        let base_url: Rc<str> = Rc::from(document.base_uri().ok().flatten().unwrap_or_default());
        let masked_text = masked || self.serializer.privacy.mask_all_text;
        let mut root = None;
        self.read_records(-1, false, index, 1, |reader, index, record| {
            let Some(record) = record else { return };
            let context = Context {
                blocked: false,
                masked_text,
                root_id: is_iframe.then_some(record.id),
                is_shadow: false,
                text_parent: TextParent::Other,
            };
            root = Some(reader.node(index, &record, context, &base_url));
        });
        Some(SnapshotWalk::new(index, root?, CHUNK, max_bytes).ask_every(ASK_CLOCK_EVERY))
    }
}

impl WalkDom for Reader<'_, '_> {
    type Context = Inherited;

    fn read(
        &mut self,
        parent: Handle,
        inherited: &Inherited,
        shadow: bool,
        nodes: &[Handle],
        was_read: &dyn Fn(u32) -> bool,
        out: &mut Vec<Read<Inherited>>,
    ) {
        let Some(&from) = nodes.first() else { return };
        let context = Context { is_shadow: shadow, ..inherited.context };
        self.read_records(parent as i32, shadow, from, nodes.len(), |reader, index, record| {
            out.push(match record {
                None => Read::Gone,
                Some(record) if was_read(record.id) => Read::Again,
                Some(record) => Read::Node(reader.node(index, &record, context, &inherited.base_url)),
            });
        });
    }
}

/// Walks a whole document in one go (a same-origin iframe's, attached after the
/// snapshot, in one event); its JSON.
pub fn walk_whole(serializer: &mut Serializer, document: &Document, masked: bool) -> Option<String> {
    let mut reader = Reader { serializer };
    let mut walk = reader.start(document, true, masked, usize::MAX)?;
    while !walk.step(&mut reader, &mut || true) {}
    Some(walk.take_json())
}
