//! Turning the records of one MutationObserver callback into one rrweb Mutation event
//! (rrweb's `MutationBuffer`).
//!
//! The records only say *which* nodes to look at; what is emitted is the DOM's state at
//! the end of the callback: a node added and removed in the batch is simply not in the
//! document any more, a node added twice is added where it ended up. Known nodes (with
//! an id) that were removed get a `remove`; every connected added subtree is flattened
//! into one `add` per node, parents first and later siblings before earlier ones, so
//! that each `parentId` and `nextId` already exists when the player reaches the add.
//!
//! A burst of added nodes is serialized in slices (`diff_in_slices`): once the slice's
//! budget is spent, a container is added without its children, which it then *owes*
//! (`Deferred`), and a later slice adds them as they are by then. The player has exactly
//! the DOM minus what is owed. While something is owed, a record is used only for what
//! the player has: a change inside an owed container is seen when its children are
//! added; a removal counts only when the node was in the player, judged by the
//! parents it had before this batch (a node's first removal in a batch is from its
//! parent before it; a node whose first mention is an add was not in the document).

use std::collections::VecDeque;

use super::idhash::{IdMap, IdSet};

use super::node::push_str_literal;
use crate::core::json::{push_u64, Commas, ObjectWriter};

/// A node of the batch, as the shell numbers them (stable within one batch).
pub type Handle = u32;

/// One `MutationRecord`, with nodes as handles. A record whose target is a shadow root
/// uses the host as target.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    ChildList { target: Handle, added: Vec<Handle>, removed: Vec<Handle> },
    Attribute { target: Handle, name: String },
    CharacterData { target: Handle },
}

/// How an attribute change is recorded.
#[derive(Debug, Clone, PartialEq)]
pub enum AttributeChange {
    /// The attribute (as recorded: absolute URLs, masked values).
    Value(String),
    /// The attribute was removed: `null`.
    Removed,
    /// Not recorded (e.g. an iframe's `src`).
    Skip,
}

/// The DOM as the diff needs to see it. The shell implements it over web-sys; tests
/// over a small tree.
pub trait MutationDom {
    /// The id of a node serialized before (or earlier in this batch).
    fn id_of(&mut self, node: Handle) -> Option<u32>;
    /// The recorded parent: the parent node, or the host for a shadow root's child.
    fn parent_of(&mut self, node: Handle) -> Option<Handle>;
    /// The next sibling within the same child list (light DOM or shadow root).
    fn next_sibling_of(&mut self, node: Handle) -> Option<Handle>;
    /// The children to record under `node` (light DOM, then the open shadow root's);
    /// empty for blocked elements and a `<textarea>` whose value is recorded.
    fn recorded_children_of(&mut self, node: Handle) -> Vec<Handle>;
    /// In the document (shadow-including) right now.
    fn is_connected(&mut self, node: Handle) -> bool;
    /// Recorded as a blocked placeholder (its children and attribute changes are not).
    fn is_blocked(&mut self, node: Handle) -> bool;
    /// Writes the node without children (`"childNodes":[]`), giving it an id if it has
    /// none; `None` (and nothing written) when the node is not recorded.
    fn serialize_shallow(&mut self, node: Handle, out: &mut String) -> Option<u32>;
    /// The recorded content of a text / comment node.
    fn text_value(&mut self, node: Handle) -> Option<String>;
    fn attribute_change(&mut self, node: Handle, name: &str) -> AttributeChange;
    /// Whether `node`, just serialized, may have recorded children (`true` is always
    /// safe: an owed container with none adds nothing).
    fn may_have_children(&mut self, _node: Handle) -> bool {
        true
    }
    /// `node` (with id `id`) now owes its children: the shell keeps the node until
    /// `Deferred::take` gives the id back.
    fn hold(&mut self, _node: Handle, _id: u32) {}
}

/// Containers the player has without their children yet, oldest first.
#[derive(Default)]
pub struct Deferred {
    queue: VecDeque<u32>,
    /// By id: owes its children.
    owes: Vec<bool>,
    owing: usize,
}

impl Deferred {
    /// Nothing is owed.
    pub fn is_empty(&self) -> bool {
        self.owing == 0
    }

    pub fn owes(&self, id: u32) -> bool {
        self.owes.get(id as usize).copied().unwrap_or(false)
    }

    /// Marks `id` as owing its children; `false` when it did already.
    fn defer(&mut self, id: u32) -> bool {
        if self.owes(id) {
            return false;
        }
        let i = id as usize;
        if self.owes.len() <= i {
            self.owes.resize(i + 1, false);
        }
        self.owes[i] = true;
        self.owing += 1;
        self.queue.push_back(id);
        true
    }

    /// `id`'s children were added (with it, again): nothing owed any more.
    fn settle(&mut self, id: u32) {
        if let Some(owes) = self.owes.get_mut(id as usize) {
            if *owes {
                *owes = false;
                self.owing -= 1;
            }
        }
    }

    /// Up to `max` containers whose children are owed, oldest first; they are no longer
    /// owed once taken (the caller adds their children now, with `diff_in_slices`).
    pub fn take(&mut self, max: usize) -> Vec<u32> {
        let mut taken = Vec::new();
        while taken.len() < max {
            let Some(id) = self.queue.pop_front() else { break };
            if self.owes(id) {
                self.settle(id);
                taken.push(id);
            }
        }
        if self.owing == 0 {
            self.queue.clear();
        }
        taken
    }

    /// Forgets everything owed (a full snapshot is taken instead).
    pub fn clear(&mut self) {
        *self = Deferred::default();
    }
}

/// How a diff may slice its work.
pub struct Slices<'a> {
    pub owed: &'a mut Deferred,
    /// Asked every `ask_every` nodes serialized (a clock read costs a crossing); once it
    /// says `false`, every container still to serialize is added without its children,
    /// which it then owes.
    pub go_on: &'a mut dyn FnMut() -> bool,
    pub ask_every: usize,
}

struct Budget<'a> {
    slices: Option<Slices<'a>>,
    serialized: usize,
    spent: bool,
}

impl Budget<'_> {
    fn spent(&mut self) -> bool {
        let Some(slices) = self.slices.as_mut() else { return false };
        if !self.spent {
            self.serialized += 1;
            if self.serialized % slices.ask_every.max(1) == 0 && !(slices.go_on)() {
                self.spent = true;
            }
        }
        self.spent
    }

    fn owes(&self, id: u32) -> bool {
        self.slices.as_ref().is_some_and(|s| s.owed.owes(id))
    }
}

/// How each node was first met in a batch's child-list records: the handle of the parent
/// it was first removed from (its parent before the batch), or `ADDED_FIRST` (it was not
/// in the document before the batch). A `usize` value: the same map type as the diff's
/// attribute index (one hash-map instantiation fewer in the bundle).
type FirstMet = IdMap<Handle, usize>;
const ADDED_FIRST: usize = usize::MAX;

/// Whether the player lacks `node` (from its parent up when `from_parent`) because it is
/// in a container that owes its children. With `before`, parents as they were before
/// the batch (a node added in the batch was not in the player at all).
fn owed_path(
    dom: &mut dyn MutationDom,
    owed: &Deferred,
    node: Handle,
    from_parent: bool,
    before: Option<&FirstMet>,
) -> bool {
    let parent = |dom: &mut dyn MutationDom, n: Handle| -> Result<Option<Handle>, ()> {
        match before.and_then(|b| b.get(&n)) {
            Some(&ADDED_FIRST) => Err(()),
            Some(&p) => Ok(Some(p as Handle)),
            None => Ok(dom.parent_of(n)),
        }
    };
    let mut at = if from_parent {
        match parent(dom, node) {
            Ok(p) => p,
            Err(()) => return true,
        }
    } else {
        Some(node)
    };
    while let Some(n) = at {
        if dom.id_of(n).is_some_and(|id| owed.owes(id)) {
            return true;
        }
        at = match parent(dom, n) {
            Ok(p) => p,
            Err(()) => return true,
        };
    }
    false
}

struct Added {
    parent_id: u32,
    handle: Handle,
    json: std::ops::Range<usize>,
    children: Vec<usize>,
}

/// The `data` of the Mutation event for one observer callback, or `None` when there is
/// nothing to send.
pub fn diff(records: &[Record], dom: &mut dyn MutationDom) -> Option<String> {
    diff_after(Vec::new(), records, dom)
}

/// `diff`, with `removes` (`(parent id, id)` pairs the caller decided) sent first.
pub fn diff_after(removes: Vec<(u32, u32)>, records: &[Record], dom: &mut dyn MutationDom) -> Option<String> {
    diff_with(removes, records, dom, Budget { slices: None, serialized: 0, spent: false })
}

/// `diff`, serializing added subtrees only while `slices.go_on` says so: what is left is
/// owed (`slices.owed`). Records are used as the player has the page with what is owed
/// so far. To add owed children, pass a `ChildList` record per container taken from
/// `Deferred::take`, with its current children as `added`.
pub fn diff_in_slices(records: &[Record], dom: &mut dyn MutationDom, slices: Slices) -> Option<String> {
    diff_with(Vec::new(), records, dom, Budget { slices: Some(slices), serialized: 0, spent: false })
}

fn diff_with(
    removes: Vec<(u32, u32)>,
    records: &[Record],
    dom: &mut dyn MutationDom,
    mut budget: Budget,
) -> Option<String> {
    // Something is owed since the last event: records are read against what the
    // player has (see the module's comment).
    let owed_before = budget.slices.as_ref().map(|s| &*s.owed).filter(|owed| !owed.is_empty());
    let first_met = owed_before.map(|_| first_met(records));
    let named = Named::collect(records, removes, dom, owed_before.zip(first_met.as_ref()));
    let adds = Adds::serialize(&named.roots, &named.root_set, dom, &mut budget);
    // Texts and attributes are applied after the adds: what is owed by then is not in
    // the player (an old node moved into a part just deferred, too).
    let texts = text_items(&named, &adds.ids, dom, &budget);
    let attributes = attribute_items(&named, &adds.ids, dom, &budget);
    if texts.is_empty() && attributes.is_empty() && named.removes.is_empty() && adds.nodes.is_empty() {
        return None;
    }

    let mut out =
        String::with_capacity(adds.json.len() + adds.nodes.len() * 40 + texts.len() + attributes.len() + 64);
    out.push_str("{\"source\":0,\"texts\":[");
    out.push_str(&texts);
    out.push_str("],\"attributes\":[");
    out.push_str(&attributes);
    out.push_str("],\"removes\":[");
    let mut commas = Commas::default();
    for (parent_id, id) in &named.removes {
        commas.next(&mut out);
        out.push_str("{\"parentId\":");
        push_u64(&mut out, (*parent_id).into());
        out.push_str(",\"id\":");
        push_u64(&mut out, (*id).into());
        out.push('}');
    }
    out.push_str("],\"adds\":[");
    adds.write(dom, &mut out);
    out.push_str("]}");
    Some(out)
}

/// How each node was first met in the batch's child-list records (see `FirstMet`).
fn first_met(records: &[Record]) -> FirstMet {
    let mut first_met = FirstMet::default();
    for record in records {
        if let Record::ChildList { target, added, removed } = record {
            for &node in removed {
                first_met.entry(node).or_insert(*target as usize);
            }
            for &node in added {
                first_met.entry(node).or_insert(ADDED_FIRST);
            }
        }
    }
    first_met
}

/// What one batch's records name, each once, in the order first named.
#[derive(Default)]
struct Named {
    /// Added nodes, as the records give them (connected or not, recorded or not).
    roots: Vec<Handle>,
    root_set: IdSet<Handle>,
    /// `(parent id, id)` of the removed nodes the player has.
    removes: Vec<(u32, u32)>,
    removed_ids: IdSet<u32>,
    texts: Vec<Handle>,
    /// Per element, the names of its changed attributes.
    attributes: Vec<(Handle, Vec<String>)>,
}

impl Named {
    /// `owing`: what is owed before this batch, and how its nodes were first met; a
    /// removal then counts only when the node was in the player.
    fn collect(
        records: &[Record],
        removes: Vec<(u32, u32)>,
        dom: &mut dyn MutationDom,
        owing: Option<(&Deferred, &FirstMet)>,
    ) -> Self {
        let removed_ids = removes.iter().map(|&(_, id)| id).collect();
        let mut named = Named { removes, removed_ids, ..Named::default() };
        let mut text_set: IdSet<Handle> = IdSet::default();
        let mut attribute_index: IdMap<Handle, usize> = IdMap::default();
        for record in records {
            match record {
                Record::CharacterData { target } => {
                    if text_set.insert(*target) {
                        named.texts.push(*target);
                    }
                }
                Record::Attribute { target, name } => {
                    let attributes = &mut named.attributes;
                    let index = *attribute_index.entry(*target).or_insert_with(|| {
                        attributes.push((*target, Vec::new()));
                        attributes.len() - 1
                    });
                    let names = &mut attributes[index].1;
                    if !names.contains(name) {
                        names.push(name.clone());
                    }
                }
                Record::ChildList { target, added, removed } => {
                    for node in removed {
                        // Only nodes the player knows need removing; the first removal is
                        // from the parent the player has them under (later ones are moves
                        // inside this batch).
                        let Some(id) = dom.id_of(*node) else { continue };
                        let Some(parent_id) = dom.id_of(*target) else { continue };
                        if named.removed_ids.contains(&id) {
                            continue;
                        }
                        if let Some((owed, first_met)) = owing {
                            let first_from_here = first_met.get(node) == Some(&(*target as usize));
                            if !first_from_here || owed_path(dom, owed, *target, false, Some(first_met)) {
                                continue; // not in the player
                            }
                        }
                        named.removed_ids.insert(id);
                        named.removes.push((parent_id, id));
                    }
                    for node in added {
                        if named.root_set.insert(*node) {
                            named.roots.push(*node);
                        }
                    }
                }
            }
        }
        named
    }
}

/// Whether a text or attribute change of `node` (id `id`) is one the player needs: not
/// of a node added or removed in the batch (the add carries its state), one out of the
/// document or one inside a container that owes its children.
fn changed_in_player(
    dom: &mut dyn MutationDom,
    budget: &Budget,
    added_ids: &IdSet<u32>,
    removed_ids: &IdSet<u32>,
    node: Handle,
    id: u32,
) -> bool {
    if added_ids.contains(&id) || removed_ids.contains(&id) || !dom.is_connected(node) {
        return false;
    }
    let owing = budget.slices.as_ref().is_some_and(|s| !s.owed.is_empty());
    !(owing && in_owed(dom, budget, node))
}

/// The items of the `texts` array: each changed text the player needs.
fn text_items(named: &Named, added_ids: &IdSet<u32>, dom: &mut dyn MutationDom, budget: &Budget) -> String {
    let mut out = String::new();
    let mut commas = Commas::default();
    for &node in &named.texts {
        let Some(id) = dom.id_of(node) else { continue };
        if !changed_in_player(dom, budget, added_ids, &named.removed_ids, node, id) {
            continue;
        }
        let Some(value) = dom.text_value(node) else { continue };
        commas.next(&mut out);
        out.push_str("{\"id\":");
        push_u64(&mut out, id.into());
        out.push_str(",\"value\":");
        push_str_literal(&mut out, &value);
        out.push('}');
    }
    out
}

/// The items of the `attributes` array: each element whose recorded attributes changed,
/// when the player needs it.
fn attribute_items(
    named: &Named,
    added_ids: &IdSet<u32>,
    dom: &mut dyn MutationDom,
    budget: &Budget,
) -> String {
    let mut out = String::new();
    let mut commas = Commas::default();
    for (node, names) in &named.attributes {
        let Some(id) = dom.id_of(*node) else { continue };
        if !changed_in_player(dom, budget, added_ids, &named.removed_ids, *node, id) || dom.is_blocked(*node)
        {
            continue;
        }
        let mut entry = ObjectWriter::new();
        let mut changed = false;
        for name in names {
            match dom.attribute_change(*node, name) {
                AttributeChange::Skip => continue,
                AttributeChange::Value(v) => entry.string(name, &v),
                AttributeChange::Removed => entry.raw(name, "null"),
            }
            changed = true;
        }
        if changed {
            commas.next(&mut out);
            out.push_str("{\"id\":");
            push_u64(&mut out, id.into());
            out.push_str(",\"attributes\":");
            out.push_str(&entry.finish());
            out.push('}');
        }
    }
    out
}

/// The batch's added subtrees, each serialized once (ids in pre-order).
#[derive(Default)]
struct Adds {
    /// Every added node's JSON, without children, back to back.
    json: String,
    nodes: Vec<Added>,
    /// The subtrees' roots (indexes into `nodes`).
    tops: Vec<usize>,
    ids: IdSet<u32>,
}

impl Adds {
    fn serialize(
        roots: &[Handle],
        root_set: &IdSet<Handle>,
        dom: &mut dyn MutationDom,
        budget: &mut Budget,
    ) -> Self {
        let mut adds = Adds::default();
        // Roots under one parent come together (a burst, owed children): its checks once.
        let mut checked: Option<(Handle, Option<u32>)> = None;
        for &root in roots {
            if !dom.is_connected(root) {
                continue;
            }
            let Some(parent) = dom.parent_of(root) else { continue };
            let parent_id = match checked {
                Some((p, verdict)) if p == parent => verdict,
                _ => {
                    let verdict = adds_go_under(dom, parent, root_set, budget);
                    checked = Some((parent, verdict));
                    verdict
                }
            };
            let Some(parent_id) = parent_id else { continue };
            if let Some(index) = adds.serialize_subtree(dom, root, parent_id, budget) {
                adds.tops.push(index);
            }
        }
        adds
    }

    fn serialize_subtree(
        &mut self,
        dom: &mut dyn MutationDom,
        node: Handle,
        parent_id: u32,
        budget: &mut Budget,
    ) -> Option<usize> {
        let start = self.json.len();
        let id = dom.serialize_shallow(node, &mut self.json)?;
        if !self.ids.insert(id) {
            self.json.truncate(start); // already recorded in this batch
            return None;
        }
        let index = self.nodes.len();
        self.nodes.push(Added {
            parent_id,
            handle: node,
            json: start..self.json.len(),
            children: Vec::new(),
        });
        if budget.spent() {
            if let Some(slices) = budget.slices.as_mut() {
                if dom.may_have_children(node) && slices.owed.defer(id) {
                    dom.hold(node, id);
                }
            }
            return Some(index);
        }
        if budget.owes(id) {
            // An owing container added again, whole this time.
            if let Some(slices) = budget.slices.as_mut() {
                slices.owed.settle(id);
            }
        }
        for child in dom.recorded_children_of(node) {
            if let Some(child_index) = self.serialize_subtree(dom, child, id, budget) {
                self.nodes[index].children.push(child_index);
            }
        }
        Some(index)
    }

    /// The items of the `adds` array: parents first and later siblings before earlier
    /// ones, so that each `parentId` and `nextId` exists when the player reaches it.
    fn write(&self, dom: &mut dyn MutationDom, out: &mut String) {
        let mut commas = Commas::default();
        for &top in self.tops.iter().rev() {
            self.write_subtree(dom, top, out, &mut commas);
        }
    }

    fn write_subtree(&self, dom: &mut dyn MutationDom, index: usize, out: &mut String, commas: &mut Commas) {
        let node = &self.nodes[index];
        commas.next(out);
        out.push_str("{\"parentId\":");
        push_u64(out, node.parent_id.into());
        out.push_str(",\"nextId\":");
        match next_id(dom, node.handle) {
            Some(id) => push_u64(out, id.into()),
            None => out.push_str("null"),
        }
        out.push_str(",\"node\":");
        out.push_str(crate::core::json::cut(&self.json, node.json.start, node.json.end));
        out.push('}');
        for &child in node.children.iter().rev() {
            self.write_subtree(dom, child, out, commas);
        }
    }
}

/// The id of `parent` when a node added under it is written now: not when an ancestor
/// (or itself) was added in the batch too (the node is written with that subtree), when
/// the player does not have it, blocks it, or is owed its children. The same for every
/// root under `parent` in one batch: `root_set` is fixed, and a container deferred or
/// settled during the batch is inside a root's subtree, so under a covered parent.
fn adds_go_under(
    dom: &mut dyn MutationDom,
    parent: Handle,
    root_set: &IdSet<Handle>,
    budget: &Budget,
) -> Option<u32> {
    let mut ancestor = Some(parent);
    while let Some(a) = ancestor {
        if root_set.contains(&a) {
            return None; // recorded with the added ancestor's subtree
        }
        ancestor = dom.parent_of(a);
    }
    let parent_id = dom.id_of(parent)?;
    if dom.is_blocked(parent) {
        return None;
    }
    if let Some(slices) = budget.slices.as_ref().filter(|s| !s.owed.is_empty()) {
        if owed_path(dom, slices.owed, parent, false, None) {
            return None; // added with the owed children
        }
    }
    Some(parent_id)
}

/// Whether `node` is inside a container that owes its children (not in the player).
fn in_owed(dom: &mut dyn MutationDom, budget: &Budget, node: Handle) -> bool {
    budget.slices.as_ref().is_some_and(|s| owed_path(dom, s.owed, node, true, None))
}

/// The id of the first following sibling that is recorded (unrecorded ones are skipped).
fn next_id(dom: &mut dyn MutationDom, node: Handle) -> Option<u32> {
    let mut sibling = dom.next_sibling_of(node);
    while let Some(s) = sibling {
        if let Some(id) = dom.id_of(s) {
            return Some(id);
        }
        sibling = dom.next_sibling_of(s);
    }
    None
}

/// The `data` of the Mutation event that attaches a same-origin iframe's document
/// (serialized with its whole subtree) to the iframe element.
pub fn attach_iframe_data(iframe_id: u32, document_json: &str) -> String {
    let mut out = String::with_capacity(document_json.len() + 128);
    out.push_str("{\"source\":0,\"adds\":[{\"parentId\":");
    push_u64(&mut out, iframe_id.into());
    out.push_str(",\"nextId\":null,\"node\":");
    out.push_str(document_json);
    out.push_str("}],\"removes\":[],\"texts\":[],\"attributes\":[],\"isAttachIframe\":true}");
    out
}

#[cfg(test)]
#[path = "mutation_tests.rs"]
mod tests;
