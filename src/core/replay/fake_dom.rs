//! A small DOM for the native tests of the replay core: it records MutationObserver-style
//! records as it is changed, and answers the diff's questions (`MutationDom`) as the shell
//! does.

use super::id_counter::IdCounter;
use super::mutation::{AttributeChange, Handle, MutationDom, Record};
use super::node::{AttrValue, NodeKind, SerializedNode};

/// A tiny DOM that records MutationObserver-style records as it is changed.
#[derive(Default)]
pub struct FakeDom {
    pub nodes: Vec<FakeNode>,
    pub records: Vec<Record>,
    pub id_counter: IdCounter,
}

#[derive(Default, Clone)]
pub struct FakeNode {
    pub tag: Option<String>, // None: text node
    pub text: String,
    pub attributes: Vec<(String, String)>,
    pub parent: Option<Handle>,
    pub children: Vec<Handle>,
    pub id: Option<u32>,
    pub blocked: bool,
}

impl FakeDom {
    /// The node as recorded (a blocked element is a placeholder: no attributes).
    pub fn serialized(&self, node: Handle, id: u32) -> SerializedNode {
        let n = &self.nodes[node as usize];
        let kind = match &n.tag {
            Some(tag) => NodeKind::Element {
                tag_name: tag.clone(),
                attributes: if n.blocked { &[][..] } else { &n.attributes[..] }
                    .iter()
                    .map(|(k, v)| (k.clone(), AttrValue::Str(v.clone())))
                    .collect(),
                is_svg: false,
                is_shadow_host: false,
            },
            None => NodeKind::Text { text: n.text.clone() },
        };
        SerializedNode { id, kind, is_shadow: false, root_id: None }
    }

    /// A document (handle 0) with `<body>` (handle 1), both already snapshotted.
    pub fn new() -> Self {
        let mut dom = FakeDom::default();
        let doc = dom.element("#document");
        let body = dom.element("body");
        dom.attach(doc, body, None);
        dom.snapshot(doc);
        dom.records.clear();
        dom
    }

    pub fn element(&mut self, tag: &str) -> Handle {
        self.nodes.push(FakeNode { tag: Some(tag.into()), ..Default::default() });
        (self.nodes.len() - 1) as Handle
    }

    pub fn text(&mut self, text: &str) -> Handle {
        self.nodes.push(FakeNode { text: text.into(), ..Default::default() });
        (self.nodes.len() - 1) as Handle
    }

    /// Assigns ids in pre-order, as a full snapshot does.
    pub fn snapshot(&mut self, node: Handle) {
        let known = self.nodes[node as usize].id;
        self.nodes[node as usize].id = Some(self.id_counter.id_for(known).0);
        for child in self.nodes[node as usize].children.clone() {
            self.snapshot(child);
        }
    }

    pub fn attach(&mut self, parent: Handle, child: Handle, before: Option<Handle>) {
        let children = &mut self.nodes[parent as usize].children;
        let at = before.and_then(|b| children.iter().position(|&c| c == b)).unwrap_or(children.len());
        children.insert(at, child);
        self.nodes[child as usize].parent = Some(parent);
    }

    /// `parent.insertBefore(child, before)` (a move when `child` is attached).
    pub fn insert(&mut self, parent: Handle, child: Handle, before: Option<Handle>) {
        if self.nodes[child as usize].parent.is_some() {
            self.remove(child);
        }
        self.attach(parent, child, before);
        self.records.push(Record::ChildList { target: parent, added: vec![child], removed: vec![] });
    }

    pub fn remove(&mut self, child: Handle) {
        let parent = self.nodes[child as usize].parent.take().unwrap();
        self.nodes[parent as usize].children.retain(|&c| c != child);
        self.records.push(Record::ChildList { target: parent, added: vec![], removed: vec![child] });
    }

    pub fn set_text(&mut self, node: Handle, text: &str) {
        self.nodes[node as usize].text = text.into();
        self.records.push(Record::CharacterData { target: node });
    }

    pub fn set_attribute(&mut self, node: Handle, name: &str, value: Option<&str>) {
        let attributes = &mut self.nodes[node as usize].attributes;
        attributes.retain(|(n, _)| n != name);
        if let Some(v) = value {
            attributes.push((name.into(), v.into()));
        }
        self.records.push(Record::Attribute { target: node, name: name.into() });
    }

    pub fn id(&self, node: Handle) -> u32 {
        self.nodes[node as usize].id.unwrap()
    }

    /// The node with id `id` (as the shell keeps the nodes it `hold`s).
    pub fn by_id(&self, id: u32) -> Handle {
        self.nodes.iter().position(|n| n.id == Some(id)).unwrap() as Handle
    }
}

impl MutationDom for FakeDom {
    fn id_of(&mut self, node: Handle) -> Option<u32> {
        self.nodes[node as usize].id
    }
    fn parent_of(&mut self, node: Handle) -> Option<Handle> {
        self.nodes[node as usize].parent
    }
    fn next_sibling_of(&mut self, node: Handle) -> Option<Handle> {
        let parent = self.nodes[node as usize].parent?;
        let siblings = &self.nodes[parent as usize].children;
        let at = siblings.iter().position(|&c| c == node)?;
        siblings.get(at + 1).copied()
    }
    fn recorded_children_of(&mut self, node: Handle) -> Vec<Handle> {
        if self.nodes[node as usize].blocked {
            return vec![];
        }
        self.nodes[node as usize].children.clone()
    }
    fn is_connected(&mut self, node: Handle) -> bool {
        let mut current = node;
        while let Some(parent) = self.nodes[current as usize].parent {
            current = parent;
        }
        current == 0
    }
    /// Blocked by itself or an ancestor, as the shell's privacy rule answers.
    fn is_blocked(&mut self, node: Handle) -> bool {
        let mut at = Some(node);
        while let Some(n) = at {
            if self.nodes[n as usize].blocked {
                return true;
            }
            at = self.nodes[n as usize].parent;
        }
        false
    }
    fn serialize_shallow(&mut self, node: Handle, out: &mut String) -> Option<u32> {
        let known = self.nodes[node as usize].id;
        let (id, _) = self.id_counter.id_for(known);
        self.nodes[node as usize].id = Some(id);
        self.serialized(node, id).write_shallow(out);
        Some(id)
    }
    fn text_value(&mut self, node: Handle) -> Option<String> {
        // Inside a region blocked after it was recorded: nothing (as the shell does).
        (!self.is_blocked(node)).then(|| self.nodes[node as usize].text.clone())
    }
    fn may_have_children(&mut self, node: Handle) -> bool {
        let n = &self.nodes[node as usize];
        n.tag.is_some() && !n.blocked
    }
    fn attribute_change(&mut self, node: Handle, name: &str) -> AttributeChange {
        match self.nodes[node as usize].attributes.iter().find(|(n, _)| n == name) {
            Some((_, v)) => AttributeChange::Value(v.clone()),
            None => AttributeChange::Removed,
        }
    }
}
