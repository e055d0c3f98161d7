// The node-id checks of replay-support.mjs (checkNodeIds) on hand-made recordings: they
// accept what rrweb's player can apply and name what it cannot. No browser needed.
//
//   node --test tests/e2e/replay-support.test.mjs
import { test } from "node:test";
import assert from "node:assert/strict";
import { checkNodeIds } from "./replay-support.mjs";

const el = (id, tagName, childNodes = []) => ({ id, type: 2, tagName, attributes: {}, childNodes });
const text = (id, textContent) => ({ id, type: 3, textContent });
const meta = { type: 4, data: { href: "http://x/", width: 800, height: 600 }, timestamp: 1 };
// Document 1 > html 2 > body 3 > [p 4 > "a" 5, ul 6 > li 7]
const snapshot = {
  type: 2,
  timestamp: 2,
  data: {
    initialOffset: { top: 0, left: 0 },
    node: { id: 1, type: 0, childNodes: [el(2, "html", [el(3, "body", [el(4, "p", [text(5, "a")]), el(6, "ul", [el(7, "li")])])])] },
  },
};
const mutation = (timestamp, data) =>
  ({ type: 3, timestamp, data: { source: 0, texts: [], attributes: [], removes: [], adds: [], ...data } });
const add = (parentId, nextId, node) => ({ parentId, nextId, node });

test("a recording the player can apply passes, with its counts", () => {
  const events = [
    meta,
    snapshot,
    // A subtree listed child first (the player queues it until the parent arrives), before li 7.
    mutation(3, { adds: [add(8, null, text(9, "new")), add(6, 7, el(8, "li"))] }),
    // A move inside one batch: a remove plus an add with the same id.
    mutation(4, { removes: [{ parentId: 6, id: 7 }], adds: [add(4, null, el(7, "li"))], texts: [{ id: 9, value: "x" }] }),
    // A removed subtree, with a remove of its child that the player skips.
    mutation(5, { removes: [{ parentId: 3, id: 4 }, { parentId: 4, id: 5 }], attributes: [{ id: 6, attributes: { class: "a" } }] }),
    { type: 3, timestamp: 6, data: { source: 5, id: 6, text: "***", isChecked: false } },
  ];
  assert.deepEqual(checkNodeIds(events, "ok"), {
    snapshots: 1, snapshotNodes: 7, mutations: 3, adds: 3, removes: 3, texts: 1, attributes: 1, inputs: 1, detached: 0,
  });
});

test("a removed host's shadow children stay in the player's mirror, detached, as rrweb's mirror keeps them", () => {
  // body 3 > host 8 > [light b 9, shadow p 10 > "s" 11]
  const host = { ...el(8, "div", [el(9, "b"), { ...el(10, "p", [text(11, "s")]), isShadow: true }]), isShadowHost: true };
  const withHost = { ...snapshot, data: { ...snapshot.data, node: { id: 1, type: 0, childNodes: [el(2, "html", [el(3, "body", [host])])] } } };
  const events = [
    meta,
    withHost,
    mutation(3, { removes: [{ parentId: 3, id: 8 }] }),
    // The page goes on changing the detached shadow root: the player still has those nodes.
    mutation(4, { texts: [{ id: 11, value: "t" }] }),
    // The host comes back with the same ids: not a duplicate of the detached ones.
    mutation(5, { adds: [add(3, null, { ...el(8, "div"), isShadowHost: true }), add(8, null, { ...el(10, "p"), isShadow: true }),
      add(10, null, text(11, "t")), add(8, 10, el(9, "b"))] }),
  ];
  assert.equal(checkNodeIds(events, "detached").detached, 1);
  // The light child went with the host: a change to it refers to a node the player lacks.
  assert.throws(() => checkNodeIds([meta, withHost, mutation(3, { removes: [{ parentId: 3, id: 8 }] }),
    mutation(4, { attributes: [{ id: 9, attributes: { a: "1" } }] })], "light"), /attribute change of node 9/);
  // Once back in the document, adding them again is recording them twice.
  assert.throws(() => checkNodeIds([...events, mutation(6, { adds: [add(8, null, { ...el(10, "p"), isShadow: true })] })], "twice"),
    /node 10 is added but the player already has it/);
});

test("events are applied in timestamp order, as the player does", () => {
  const events = [meta, mutation(5, { removes: [{ parentId: 3, id: 4 }] }), snapshot];
  assert.equal(checkNodeIds(events, "sorted").removes, 1);
  assert.throws(() => checkNodeIds([meta, { ...snapshot, timestamp: 9 }, mutation(5, { removes: [{ parentId: 3, id: 4 }] })], "early"),
    /before any FullSnapshot/);
});

const fails = (name, extra, pattern) => test(`names ${name}`, () => {
  assert.throws(() => checkNodeIds([meta, snapshot, ...extra], "rec", "seed 42"),
    (e) => pattern.test(e.message) && e.message.includes("seed 42"));
});

fails("an id twice in the FullSnapshot", [{ ...snapshot, data: { ...snapshot.data, node: { id: 1, type: 0, childNodes: [el(2, "html"), el(2, "body")] } } }],
  /id 2 appears twice in the FullSnapshot/);
fails("a node recorded twice", [mutation(3, { adds: [add(3, null, el(6, "ul"))] })], /node 6 is added but the player already has it/);
fails("an add whose parent never comes", [mutation(3, { adds: [add(99, null, el(8, "li"))] })], /refer to parents or next siblings the player never gets/);
fails("an add before a node that is not there", [mutation(3, { adds: [add(6, 98, el(8, "li"))] })], /refer to parents or next siblings/);
fails("an add before a node of another parent", [mutation(3, { adds: [add(6, 5, el(8, "li"))] })], /before 5, whose parent is 4/);
fails("an unflattened add", [mutation(3, { adds: [add(6, null, el(8, "li", [text(9, "t")]))] })], /not flattened/);
fails("a remove of an unknown node", [mutation(3, { removes: [{ parentId: 3, id: 50 }] })], /remove of node 50/);
fails("a remove from the wrong parent", [mutation(3, { removes: [{ parentId: 6, id: 4 }] })], /its parent is 3/);
fails("a remove of a node already removed", [mutation(3, { removes: [{ parentId: 3, id: 4 }] }), mutation(4, { removes: [{ parentId: 4, id: 5 }] })],
  /remove of node 5/);
fails("a text change of a removed node", [mutation(3, { removes: [{ parentId: 3, id: 4 }] }), mutation(4, { texts: [{ id: 5, value: "b" }] })],
  /text change of node 5/);
fails("an attribute change of an unknown node", [mutation(3, { attributes: [{ id: 77, attributes: { a: "1" } }] })], /attribute change of node 77/);
fails("an input of an unknown node", [{ type: 3, timestamp: 3, data: { source: 5, id: 77, text: "*", isChecked: false } }], /Input names node 77/);
