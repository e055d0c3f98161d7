//! The time-sliced full snapshot. rrweb walks the whole document in one task, which
//! freezes a big page for a second or more; this walk reads it in slices, and the page
//! runs (and changes the DOM) between them. The recording stays exact through three
//! rules, all about *when* something was read:
//!
//! - A node's content (attributes, text) is read when its parent's children are read;
//!   a container's child list is captured at that same moment. From then on the node is
//!   *read*: a MutationObserver record whose target was read is kept for the catch-up
//!   (`SnapshotWalk::keeps`), any other record is dropped, because the walk will see its
//!   effect when it reaches that part.
//! - A child met in a captured list is written only if it is still a child of that
//!   container (else it left after the capture: it is `Gone` here, and met again where
//!   it went, if anywhere) and was not read before. A node read before and met again was
//!   moved into a part not yet walked: it is not written twice, its new container is
//!   reconciled in the catch-up instead.
//! - When the walk ends the snapshot is sent, then one Mutation event, the catch-up,
//!   turns it into the document as it is now: each container whose child list changed
//!   after it was read is reconciled (children no longer there are removed, current
//!   children not in their written place are added), and kept attribute and text
//!   changes carry their current values.
//!
//! Walk order: depth first, children in document order (light DOM, then the open shadow
//! root's). Siblings are read a chunk at a time, so they are numbered together, before
//! the first one's children (ids are not in pre-order; nothing depends on that). The
//! JSON is written as the walk goes; a node's opening is written when its parent's
//! turn comes, which may be after its content was read, and that is fine: changes
//! after the read are kept either way.

use std::collections::VecDeque;

use super::idhash::IdSet;

use super::mutation::{diff_after, AttributeChange, Handle, MutationDom, Record};
use crate::core::json::push_u64;

/// What the shell read of one child.
#[derive(Debug)]
pub enum Read<C> {
    /// No longer a child of the container it was captured in, or not a recorded node.
    Gone,
    /// Read earlier in this walk: it moved here after.
    Again,
    Node(ReadNode<C>),
}

#[derive(Debug)]
pub struct ReadNode<C> {
    pub id: u32,
    /// The node's JSON: whole for a leaf; for a container up to and including
    /// `"childNodes":[` (the walk writes the children and the closing `]}`).
    pub json: String,
    /// The container's children, captured now; `None` for a leaf (and for an element
    /// whose children are not recorded, whose JSON is then whole).
    pub children: Option<Children<C>>,
}

#[derive(Debug)]
pub struct Children<C> {
    /// What the children inherit (privacy context, base URL…), the shell's business.
    pub context: C,
    /// Light DOM children, then the open shadow root's.
    pub handles: Vec<Handle>,
    /// Where the shadow root's children start in `handles`.
    pub shadow_from: usize,
}

/// The DOM as the walk reads it. The shell reads a chunk of siblings in one crossing.
pub trait WalkDom {
    type Context;
    /// Reads `nodes`, children of `parent` captured in its light DOM (its shadow root's
    /// when `shadow`), as they are now, one `Read` each pushed to `out`, in order: `Gone`
    /// for one no longer a child there or not recorded, `Again` for one whose id
    /// `was_read` says was read before. A node without an id gets one.
    fn read(
        &mut self,
        parent: Handle,
        context: &Self::Context,
        shadow: bool,
        nodes: &[Handle],
        was_read: &dyn Fn(u32) -> bool,
        out: &mut Vec<Read<Self::Context>>,
    );
}

struct Frame<C> {
    handle: Handle,
    id: u32,
    children: Children<C>,
    /// The next child to read.
    next: usize,
    /// Read, not yet written (with their handles).
    pending: VecDeque<(Handle, ReadNode<C>)>,
    written: bool,
}

/// One full snapshot in progress.
pub struct SnapshotWalk<C> {
    stack: Vec<Frame<C>>,
    /// The FullSnapshot's node JSON.
    json: String,
    /// Most bytes of JSON in one event: once the snapshot passes it, the open nodes are
    /// closed and the rest of the walk is written as Mutation adds (`adds`) of at most
    /// this size each. Each add appends to its parent (`nextId` null): the walk writes
    /// children in order, so appending rebuilds them in order (rrweb's player ignores
    /// an added node's children, so every node is its own add).
    max_bytes: usize,
    /// Past `max_bytes`: writing adds.
    cut: bool,
    /// The Mutation events' data after the FullSnapshot (the last one still open).
    adds: Vec<String>,
    /// By id: read in this walk.
    read: Vec<bool>,
    /// `(container id, child id)` of every node written, in the order written.
    placed: Vec<(u32, u32)>,
    /// Containers (handles) where a node read before was met again.
    moved_into: Vec<Handle>,
    /// Most children read in one crossing.
    chunk: usize,
    nodes_read: usize,
    /// Children looked at (read, gone or met again).
    visited: usize,
    /// `visited` when `go_on` was last asked, and how many more before asking again.
    asked_at: usize,
    ask_every: usize,
    buffer: Vec<Read<C>>,
}

impl<C> SnapshotWalk<C> {
    /// Starts from the root (the document), read by the caller; events are cut at
    /// `max_bytes` of JSON.
    pub fn new(root_handle: Handle, root: ReadNode<C>, chunk: usize, max_bytes: usize) -> Self {
        let mut walk = SnapshotWalk {
            stack: Vec::new(),
            json: String::with_capacity(64 * 1024),
            max_bytes,
            cut: false,
            adds: Vec::new(),
            read: Vec::new(),
            placed: Vec::new(),
            moved_into: Vec::new(),
            chunk: chunk.max(1),
            nodes_read: 1,
            visited: 0,
            asked_at: 0,
            ask_every: 1,
            buffer: Vec::new(),
        };
        walk.mark_read(root.id);
        walk.json.push_str(&root.json);
        if let Some(children) = root.children {
            walk.stack.push(Frame {
                handle: root_handle,
                id: root.id,
                children,
                next: 0,
                pending: VecDeque::new(),
                written: false,
            });
        }
        walk
    }

    /// Asks `step`'s `go_on` only once at least `nodes` more children were looked at
    /// (default 1: after every chunk), so that a clock read is not paid per tiny chunk.
    pub fn ask_every(mut self, nodes: usize) -> Self {
        self.ask_every = nodes.max(1);
        self
    }

    fn mark_read(&mut self, id: u32) {
        let i = id as usize;
        if self.read.len() <= i {
            self.read.resize(i + 1, false);
        }
        self.read[i] = true;
    }

    pub fn was_read(&self, id: u32) -> bool {
        self.read.get(id as usize).copied().unwrap_or(false)
    }

    /// Whether a MutationObserver record about `target` (its id, `None` when it has
    /// none; the host for a shadow root) delivered now is kept for the catch-up: only
    /// when the walk has read the target. Any other change is seen by the walk itself.
    pub fn keeps(&self, target: Option<u32>) -> bool {
        target.is_some_and(|id| self.was_read(id))
    }

    pub fn is_done(&self) -> bool {
        self.stack.is_empty()
    }

    /// Nodes read so far (the root included).
    pub fn nodes_read(&self) -> usize {
        self.nodes_read
    }

    /// Walks on, one chunk of siblings at a time, while `go_on()` says so after each
    /// chunk (the shell's time budget). Returns whether the walk is done.
    pub fn step(&mut self, dom: &mut dyn WalkDom<Context = C>, go_on: &mut dyn FnMut() -> bool) -> bool {
        loop {
            let Some(top) = self.stack.last_mut() else { return true };
            if let Some((handle, node)) = top.pending.pop_front() {
                let parent = top.id;
                if self.cut {
                    write_add(&mut self.adds, self.max_bytes, parent, &node);
                } else {
                    if top.written {
                        self.json.push(',');
                    }
                    top.written = true;
                    self.json.push_str(&node.json);
                }
                self.placed.push((parent, node.id));
                if let Some(children) = node.children {
                    self.stack.push(Frame {
                        handle,
                        id: node.id,
                        children,
                        next: 0,
                        pending: VecDeque::new(),
                        written: false,
                    });
                }
                if !self.cut && self.json.len() > self.max_bytes {
                    // Close what is open: the rest is added to it.
                    for _ in &self.stack {
                        self.json.push_str("]}");
                    }
                    self.cut = true;
                }
                continue;
            }
            let total = top.children.handles.len();
            if top.next >= total {
                if !self.cut {
                    self.json.push_str("]}");
                }
                self.stack.pop();
                continue;
            }
            let shadow = top.next >= top.children.shadow_from;
            let limit = if shadow { total } else { top.children.shadow_from };
            let end = limit.min(top.next + self.chunk);
            let count = end - top.next;
            let nodes = &top.children.handles[top.next..end];
            let read = &self.read;
            let was_read = |id: u32| read.get(id as usize).copied().unwrap_or(false);
            dom.read(top.handle, &top.children.context, shadow, nodes, &was_read, &mut self.buffer);
            let mut fresh = Vec::new();
            for (i, result) in self.buffer.drain(..).enumerate() {
                match result {
                    Read::Gone => {}
                    Read::Again => self.moved_into.push(top.handle),
                    Read::Node(node) => {
                        fresh.push(node.id);
                        top.pending.push_back((top.children.handles[top.next + i], node));
                    }
                }
            }
            top.next = end;
            self.nodes_read += fresh.len();
            for id in fresh {
                self.mark_read(id);
            }
            // Asking the clock costs a crossing: after enough nodes, not after each chunk.
            self.visited += count;
            if self.visited >= self.asked_at + self.ask_every {
                self.asked_at = self.visited;
                if !go_on() {
                    return self.stack.is_empty();
                }
            }
        }
    }

    /// The snapshot's JSON (the root node), once `step` returned `true`.
    pub fn json(&self) -> &str {
        &self.json
    }

    pub fn take_json(&mut self) -> String {
        std::mem::take(&mut self.json)
    }

    /// The Mutation events (`data`) that add what did not fit in the FullSnapshot, to
    /// send right after it, once `step` returned `true`.
    pub fn take_adds(&mut self) -> Vec<String> {
        let mut adds = std::mem::take(&mut self.adds);
        if let Some(last) = adds.last_mut() {
            last.push_str("]}");
        }
        adds
    }

    /// Containers (handles of the walk's DOM) into which a node read earlier moved.
    pub fn moved_into(&self) -> &[Handle] {
        &self.moved_into
    }

    /// The catch-up Mutation event's `data` (`None`: the snapshot is the page as it is).
    /// `records` are the kept records and `moved_into` the walk's containers, both as
    /// handles of `dom`.
    pub fn catch_up(
        &self,
        records: &[Record],
        moved_into: &[Handle],
        dom: &mut dyn MutationDom,
    ) -> Option<String> {
        let mut known = Known { dom, walk_read: &self.read, added: IdSet::default() };
        let mut containers: Vec<Handle> = Vec::new();
        let mut seen: IdSet<u32> = IdSet::default();
        let mut changes: Vec<Record> = Vec::new();
        for record in records {
            match record {
                Record::ChildList { target, .. } => containers.push(*target),
                other => changes.push(other.clone()),
            }
        }
        containers.extend_from_slice(moved_into);

        // Each container's children not in their written place, and the written ones
        // no longer there.
        let written = Written::index(&self.placed, self.read.len());
        let mut plans: Vec<(Handle, u32, Vec<Handle>, Vec<u32>)> = Vec::new();
        let mut readded: IdSet<Handle> = IdSet::default();
        for &container in &containers {
            let Some(id) = known.id_of(container) else { continue };
            // Not in the recording any more: detached, or in a blocked region.
            if !seen.insert(id) || !known.is_connected(container) || known.is_blocked(container) {
                continue;
            }
            let children = written.children(id);
            let current = known.recorded_children_of(container);
            let mut places = Vec::with_capacity(current.len());
            for &child in &current {
                places.push(known.id_of(child).and_then(|c| written.position_under(c, id)));
            }
            let in_place = longest_increasing(&places);
            let mut stays = vec![false; children.len()];
            let mut added = Vec::new();
            for (i, &child) in current.iter().enumerate() {
                match places[i] {
                    Some(at) if in_place[i] => stays[at] = true,
                    _ => {
                        readded.insert(child);
                        added.push(child);
                    }
                }
            }
            let gone = children.iter().zip(&stays).filter(|(_, &stays)| !stays).map(|(&c, _)| c).collect();
            plans.push((container, id, added, gone));
        }

        let mut removes = Vec::new();
        let mut adds = Vec::new();
        for (container, id, added, gone) in plans {
            // A container inside a subtree added again anyway is written whole there.
            if inside(&mut known, container, &readded) {
                continue;
            }
            removes.extend(gone.into_iter().map(|child| (id, child)));
            if !added.is_empty() {
                adds.push(Record::ChildList { target: container, added, removed: Vec::new() });
            }
        }
        adds.extend(changes);
        diff_after(removes, &adds, &mut known)
    }
}

const ADDS_OPEN: &str = "{\"source\":0,\"texts\":[],\"attributes\":[],\"removes\":[],\"adds\":[";

/// Appends `node` (under `parent`, after its siblings) to the last add event, or to a new
/// one when it would pass `max_bytes`.
fn write_add<C>(events: &mut Vec<String>, max_bytes: usize, parent: u32, node: &ReadNode<C>) {
    let entry_len = node.json.len() + 48;
    let full = events.last().map_or(true, |e| e.len() > ADDS_OPEN.len() && e.len() + entry_len > max_bytes);
    if full {
        if let Some(event) = events.last_mut() {
            event.push_str("]}");
        }
        let mut event = String::with_capacity(max_bytes.min(1 << 20));
        event.push_str(ADDS_OPEN);
        events.push(event);
    }
    let Some(event) = events.last_mut() else { return };
    if event.len() > ADDS_OPEN.len() {
        event.push(',');
    }
    event.push_str("{\"parentId\":");
    push_u64(event, parent.into());
    event.push_str(",\"nextId\":null,\"node\":");
    event.push_str(&node.json);
    if node.children.is_some() {
        event.push_str("]}");
    }
    event.push('}');
}

/// The written children of every container, indexed once for the catch-up (a counting
/// sort of `placed` by container id: ids are small and dense).
struct Written {
    /// Child ids grouped by container, each group in written order.
    children: Vec<u32>,
    /// By container id: where its group starts in `children` (and, at `id + 1`, ends).
    start: Vec<u32>,
    /// By child id: its container and its index in the container's group.
    place: Vec<(u32, u32)>,
}

impl Written {
    fn index(placed: &[(u32, u32)], ids: usize) -> Written {
        let mut start = vec![0u32; ids + 2];
        for &(parent, _) in placed {
            start[parent as usize + 1] += 1;
        }
        for i in 1..start.len() {
            start[i] += start[i - 1];
        }
        let mut next = start.clone();
        let mut children = vec![0u32; placed.len()];
        let mut place = vec![(u32::MAX, 0u32); ids];
        for &(parent, child) in placed {
            let at = next[parent as usize];
            children[at as usize] = child;
            next[parent as usize] += 1;
            place[child as usize] = (parent, at - start[parent as usize]);
        }
        Written { children, start, place }
    }

    fn children(&self, container: u32) -> &[u32] {
        let c = container as usize;
        match (self.start.get(c), self.start.get(c + 1)) {
            (Some(&from), Some(&to)) => &self.children[from as usize..to as usize],
            _ => &[],
        }
    }

    /// The index of `child` among the written children of `container`, if written there.
    fn position_under(&self, child: u32, container: u32) -> Option<usize> {
        match self.place.get(child as usize) {
            Some(&(parent, at)) if parent == container => Some(at as usize),
            _ => None,
        }
    }
}

/// Whether `node` or one of its ancestors is in `nodes` (handles are unique within one
/// batch: the shell numbers each node once).
fn inside(dom: &mut dyn MutationDom, node: Handle, nodes: &IdSet<Handle>) -> bool {
    let mut at = Some(node);
    while let Some(n) = at {
        if nodes.contains(&n) {
            return true;
        }
        at = dom.parent_of(n);
    }
    false
}

/// Which entries are in a longest strictly increasing subsequence of the `Some` values
/// (the children that kept their written order; the others are moved).
fn longest_increasing(values: &[Option<usize>]) -> Vec<bool> {
    // tails[k]: index of the smallest last value of an increasing run of length k + 1.
    let mut tails: Vec<usize> = Vec::new();
    let mut previous: Vec<Option<usize>> = vec![None; values.len()];
    for (i, value) in values.iter().enumerate() {
        let Some(v) = value else { continue };
        let k = tails.partition_point(|&t| values[t].is_some_and(|tv| tv < *v));
        if k > 0 {
            previous[i] = Some(tails[k - 1]);
        }
        if k == tails.len() {
            tails.push(i);
        } else {
            tails[k] = i;
        }
    }
    let mut keep = vec![false; values.len()];
    let mut at = tails.last().copied();
    while let Some(i) = at {
        keep[i] = true;
        at = previous[i];
    }
    keep
}

/// The DOM as the player knows it after the snapshot: a node has an id only if the walk
/// read it or the catch-up adds it.
struct Known<'a> {
    dom: &'a mut dyn MutationDom,
    walk_read: &'a [bool],
    added: IdSet<u32>,
}

impl MutationDom for Known<'_> {
    fn id_of(&mut self, node: Handle) -> Option<u32> {
        let id = self.dom.id_of(node)?;
        (self.walk_read.get(id as usize).copied().unwrap_or(false) || self.added.contains(&id)).then_some(id)
    }
    fn parent_of(&mut self, node: Handle) -> Option<Handle> {
        self.dom.parent_of(node)
    }
    fn next_sibling_of(&mut self, node: Handle) -> Option<Handle> {
        self.dom.next_sibling_of(node)
    }
    fn recorded_children_of(&mut self, node: Handle) -> Vec<Handle> {
        self.dom.recorded_children_of(node)
    }
    fn is_connected(&mut self, node: Handle) -> bool {
        self.dom.is_connected(node)
    }
    fn is_blocked(&mut self, node: Handle) -> bool {
        self.dom.is_blocked(node)
    }
    fn serialize_shallow(&mut self, node: Handle, out: &mut String) -> Option<u32> {
        let id = self.dom.serialize_shallow(node, out)?;
        self.added.insert(id);
        Some(id)
    }
    fn text_value(&mut self, node: Handle) -> Option<String> {
        self.dom.text_value(node)
    }
    fn attribute_change(&mut self, node: Handle, name: &str) -> AttributeChange {
        self.dom.attribute_change(node, name)
    }
}

#[cfg(test)]
#[path = "walk_tests.rs"]
mod tests;
