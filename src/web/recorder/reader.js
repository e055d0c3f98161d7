// The recorder's DOM reader. Rust asks for many nodes in one call and gets back one
// string of NUL-separated fields (the format and its parser: src/core/replay/protocol.rs),
// instead of crossing the wasm boundary for every property of every node. Nodes are
// handed over by index in an array (`all`) that both sides keep.
//
// A node's id is kept on the node, under a symbol of the recorder's (`ids`): not in a
// WeakMap, whose table stalls the main thread for 20-115 ms each time it grows past
// 10k, 20k, 40k, 80k, 170k entries (measured in V8), which a sliced snapshot cannot
// split. A symbol property is invisible to the page's `for…in`, `Object.keys` and JSON,
// is not copied by `cloneNode`, and goes away with the node.
// scripts/build.sh minifies this file in the package.

const SVG = "http://www.w3.org/2000/svg";

/** Whether the recorder records nodes of this type. */
function recorded(type) {
  return type === 1 || type === 3 || type === 4 || type === 8 || type === 9 || type === 10;
}

/** NULs in a value become U+FFFD (as the HTML parser does) so fields cannot shift. */
function clean(value) {
  return value.indexOf("\0") < 0 ? value : value.replace(/\0/g, "\ufffd");
}

/** An element: `localName, flags (v: SVG, s: open shadow root), count, (name, value)*`. */
export function sl_read(element) {
  // Names, then values by name: no Attr node is made for each attribute (as
  // `element.attributes[i]` does).
  const names = element.getAttributeNames();
  let s = element.localName + "\0" + (element.namespaceURI === SVG ? "v" : "") + (element.shadowRoot ? "s" : "") +
    "\0" + names.length + "\0";
  for (let i = 0; i < names.length; i++) s += names[i] + "\0" + clean(element.getAttribute(names[i])) + "\0";
  return s;
}

/** Pushes the children of `node` (light, then its open shadow root's) to `all`. */
function children(all, node) {
  const first = all.length;
  for (let c = node.firstChild; c; c = c.nextSibling) all.push(c);
  const light = all.length - first;
  const root = node.nodeType === 1 ? node.shadowRoot : null;
  if (root) for (let c = root.firstChild; c; c = c.nextSibling) all.push(c);
  return first + "\0" + light + "\0" + (all.length - first - light) + "\0";
}

/** A new recorder's key for node ids. */
export function sl_new_ids() {
  return Symbol("sightline.id");
}

/** The id of `node` under `ids`, or -1. */
export function sl_id(ids, node) {
  const id = node[ids];
  return id === undefined ? -1 : id;
}

/** Gives `node` an id (a node the page froze keeps none, and is read as new each time). */
function sl_set_id(ids, node, id) {
  try {
    node[ids] = id;
  } catch (_) {
    // Object.freeze(node): nothing to do.
  }
}

/** Appends `node` to `all`; its index. */
export function sl_push(all, node) {
  all.push(node);
  return all.length - 1;
}

/**
 * Reads `all[from .. from + count]`, children of `all[parent]` (of its shadow root when
 * `shadow`; no check when `parent` is negative), giving ids from `fresh` on to nodes that
 * have none. A node no longer a child there is "gone": the walk meets it where it went.
 */
export function sl_read_children(all, parent, shadow, from, count, ids, fresh) {
  const owner = parent < 0 ? null : shadow ? all[parent].shadowRoot : all[parent];
  let s = "";
  for (let i = from; i < from + count; i++) {
    const node = all[i];
    const type = node.nodeType;
    if ((owner !== null && node.parentNode !== owner) || !recorded(type)) {
      s += "g\0";
      continue;
    }
    let id = node[ids];
    if (id === undefined) {
      id = fresh++;
      sl_set_id(ids, node, id);
    }
    s += type + "\0" + id + "\0";
    if (type === 1) s += (node.scrollLeft | 0) + "\0" + (node.scrollTop | 0) + "\0" + sl_read(node) + children(all, node);
    else if (type === 9) s += children(all, node);
    else if (type !== 10) {
      const value = node.nodeValue;
      s += value.length + "\0" + value + "\0";
    }
  }
  return fresh + "\0" + s;
}

/**
 * One node of a mutation, `all[index]`: `type, id, rest` (an element's `sl_read`, after
 * its scroll offsets when `scroll`; a text's value), giving it id `fresh` when it has
 * none; empty when its type is not recorded.
 */
export function sl_node(all, index, ids, fresh, scroll) {
  const node = all[index];
  const type = node.nodeType;
  if (!recorded(type)) return "";
  let id = node[ids];
  if (id === undefined) {
    id = fresh;
    sl_set_id(ids, node, fresh);
  }
  const s = type + "\0" + id + "\0";
  if (type === 1) return s + (scroll ? (node.scrollLeft | 0) + "\0" + (node.scrollTop | 0) + "\0" : "") + sl_read(node);
  return type === 3 || type === 8 ? s + node.nodeValue : s;
}

/** A node's handle in a mutation batch (its index in `all`, one per node). */
export function sl_handle(handles, all, node) {
  let h = handles.get(node);
  if (h === undefined) {
    h = all.length;
    all.push(node);
    handles.set(node, h);
  }
  return h;
}

/** The handles of the children of `all[parent]` (of its shadow root when `shadow`), each followed by a comma. */
export function sl_kids(handles, all, parent, shadow) {
  let s = "";
  for (let c = (shadow ? all[parent].shadowRoot : all[parent]).firstChild; c; c = c.nextSibling) {
    s += sl_handle(handles, all, c) + ",";
  }
  return s;
}

const waiting = [];
let channel = null;

/**
 * Runs `callback` in a new task soon, after the page's pending work: `scheduler.yield()`
 * where there is one, else a MessageChannel message (not `setTimeout`, which is clamped
 * and throttled in background tabs).
 */
export function sl_later(callback) {
  const scheduler = globalThis.scheduler;
  if (scheduler && typeof scheduler.yield === "function") {
    scheduler.yield().then(() => callback());
    return;
  }
  if (channel === null) {
    channel = new MessageChannel();
    channel.port1.onmessage = () => {
      for (const f of waiting.splice(0)) f();
    };
  }
  waiting.push(callback);
  channel.port2.postMessage(0);
}
