// Shared helpers of the replay tests (replay-conformance.test.mjs, engines.test.mjs): a
// description of a document (element sequence and visible words), a similarity score, and
// playback of recorded events in rrweb's own player (@rrweb/replay) in Chromium.
import assert from "node:assert/strict";

// The player page: serve it at /replay.html next to /node_modules/ (tests/node_modules).
export const REPLAY_HTML = `<!doctype html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="/node_modules/@rrweb/replay/dist/style.css">
<script src="/node_modules/@rrweb/replay/dist/replay.umd.cjs"></script></head><body></body></html>`;

/** Element tags (document order, through open shadow roots and same-origin iframes) and words. */
export function describeDocument(doc) {
  const SKIP = new Set(["script", "noscript", "style", "link", "meta", "title", "head", "template", "textarea"]);
  const tags = [];
  const words = [];
  const visit = (node) => {
    if (node.nodeType === 1) {
      const tag = node.localName.toLowerCase();
      if (SKIP.has(tag)) return;
      tags.push(tag);
      for (let c = node.firstChild; c; c = c.nextSibling) visit(c);
      if (node.shadowRoot) for (let c = node.shadowRoot.firstChild; c; c = c.nextSibling) visit(c);
      if (tag === "iframe") {
        try {
          if (node.contentDocument?.body) visit(node.contentDocument.body);
        } catch {}
      }
    } else if (node.nodeType === 3) {
      for (const w of node.data.split(/\s+/)) if (w) words.push(w);
    }
  };
  visit(doc.body);
  return { tags, words };
}

/**
 * 2·LCS / (|a| + |b|): 1 when equal. Myers' O((N+M)·D) diff, so that pages of tens of
 * thousands of elements and words are cheap when they match; gives up (returning a
 * bound below 0.95) once the edit distance passes 5% of N+M.
 */
export function similarity(a, b) {
  const n = a.length;
  const m = b.length;
  if (n + m === 0) return 1;
  const maxD = Math.ceil((n + m) * 0.05) + 1;
  const offset = maxD + 1;
  const v = new Int32Array(2 * maxD + 3);
  for (let d = 0; d <= maxD; d++) {
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[offset + k - 1] < v[offset + k + 1]) ? v[offset + k + 1] : v[offset + k - 1] + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) { x++; y++; }
      v[offset + k] = x;
      if (x >= n && y >= m) return (n + m - d) / (n + m);
    }
  }
  return (n + m - maxD - 1) / (n + m);
}

/**
 * The document's body as an exact token list: every element (tag, its attributes but
 * `value` and `autocomplete` (which the player sets to "off" on form fields), sorted, and
 * for inputs the value as the recorder masks it: `*` per character), every text node's
 * exact data (whitespace included), and open shadow roots' children
 * after a `#shadow` marker; scripts (which the player turns into noscript) are left out.
 * Live and replayed documents must give the same list. Self-contained: it is run in
 * the page via its source.
 */
export function describeTree(doc) {
  const out = [];
  const visit = (node) => {
    if (node.nodeType === 1) {
      const tag = node.localName.toLowerCase();
      if (tag === "script" || tag === "noscript") return;
      const attrs = [];
      for (const a of node.attributes) if (a.name !== "value" && a.name !== "autocomplete") attrs.push(`${a.name}=${JSON.stringify(a.value)}`);
      attrs.sort();
      if (tag === "input") attrs.push(`value:${"*".repeat(node.value.length)}`);
      out.push(`<${tag}${attrs.length ? " " + attrs.join(" ") : ""}>`);
      for (let c = node.firstChild; c; c = c.nextSibling) visit(c);
      if (node.shadowRoot) {
        out.push("#shadow");
        for (let c = node.shadowRoot.firstChild; c; c = c.nextSibling) visit(c);
      }
      out.push(`</${tag}>`);
    } else if (node.nodeType === 3) {
      out.push(`#text ${JSON.stringify(node.data)}`);
    }
  };
  visit(doc.body);
  return out;
}

async function replay(browser, origin, events, describe = describeDocument) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(`${origin}/replay.html`);
  const replayed = await page.evaluate(async ([events, describeSource]) => {
    const describe = eval(`(${describeSource})`);
    const warnings = [];
    const replayer = new rrwebReplay.Replayer(events, { root: document.body, showWarning: true, showDebug: false,
      mouseTail: false, skipInactive: false, triggerFocus: false, UNSAFE_replayCanvas: false,
      logger: { log: () => {}, warn: (...a) => warnings.push(a.map(String).join(" ")) } });
    replayer.pause(replayer.getMetaData().totalTime + 1);
    await new Promise((r) => setTimeout(r, 300));
    return { dom: describe(replayer.iframe.contentDocument), warnings };
  }, [events, describe.toString()]);
  await context.close();
  return { ...replayed, errors };
}

export function checkEnvelope(events, name) {
  assert.ok(events.length >= 2, `${name}: at least Meta + FullSnapshot`);
  const firstSnapshot = events.findIndex((e) => e.type === 2);
  assert.ok(firstSnapshot > 0 && events[firstSnapshot - 1].type === 4, `${name}: Meta right before FullSnapshot`);
  for (const e of events) {
    assert.deepEqual(Object.keys(e).sort(), ["data", "timestamp", "type"], `${name}: envelope`);
    assert.ok(e.type >= 0 && e.type <= 6);
    if (e.type === 3 && e.data.source === 0) {
      const empty = !e.data.adds.length && !e.data.removes.length && !e.data.texts.length && !e.data.attributes.length;
      assert.ok(!empty, `${name}: no empty Mutation event`);
    }
  }
}

/**
 * Plays `events` in rrweb's player in Chromium (`browser`, Playwright) on `origin`'s
 * /replay.html (REPLAY_HTML, with @rrweb/replay under /node_modules/), and asserts that
 * ≥ 98% of the live elements and words are in the replay.
 */
export async function assertReplayMatchesIn(browser, origin, name, events, live) {
  checkEnvelope(events, name);
  const { dom, warnings, errors } = await replay(browser, origin, events);
  assert.deepEqual(errors, [], `${name}: the player threw`);
  const tagScore = similarity(live.tags, dom.tags);
  const wordScore = similarity(live.words, dom.words);
  const detail = `${name}: tags ${tagScore.toFixed(4)} (${live.tags.length} live / ${dom.tags.length} replayed), ` +
    `words ${wordScore.toFixed(4)} (${live.words.length} / ${dom.words.length}); warnings: ${warnings.slice(0, 5).join(" | ")}`;
  console.log(detail);
  assert.ok(tagScore >= 0.98, detail);
  assert.ok(wordScore >= 0.98, detail);
}


/**
 * Replays `events` as rrweb's player would apply them, on a model of its node mirror
 * (id → parent id), and asserts every id they use refers to a node the player has:
 * no id twice in a FullSnapshot; each Mutation's removes name a node known at that point
 * under the parent they say; adds go under a known parent (possibly added later in the
 * same event, as the player queues them), before a known `nextId` of that parent, and
 * never re-add an id the mirror has in the document (a node recorded twice); texts,
 * attributes, inputs and scrolls name known nodes. Events are taken in timestamp order,
 * as the player does.
 *
 * Like the player's mirror, a removed node takes its light-DOM subtree out of the mirror
 * but not its shadow root's children (`isShadow`): those stay, detached (counted in
 * `detached` when an event refers to them), and an add of one of them is no duplicate.
 * Returns counts. `context` (e.g. the seed) goes into every failure message.
 */
export function checkNodeIds(events, name, context = "") {
  const where = (i, what) => `${name}${context ? ` (${context})` : ""}: event #${i}: ${what}`;
  const sorted = events.map((e, i) => [e, i]).sort((a, b) => a[0].timestamp - b[0].timestamp);
  let parents = null; // id → parent id (0 for the document)
  let children = null; // id → Set of child ids
  let shadow = null; // ids of nodes serialized with isShadow
  let detached = null; // ids the player keeps though their host was removed
  const counts = { snapshots: 0, snapshotNodes: 0, mutations: 0, adds: 0, removes: 0, texts: 0, attributes: 0, inputs: 0, detached: 0 };
  const known = (id) => parents.has(id) || detached.has(id);
  const note = (id) => { if (detached.has(id)) counts.detached += 1; };
  const dropSubtree = (id) => {
    const stack = [[id, false]];
    while (stack.length) {
      const [n, keep] = stack.pop();
      // A host's shadow children (and theirs) stay in the player's mirror, detached.
      for (const c of children.get(n) ?? []) stack.push([c, keep || shadow.has(c)]);
      if (keep) {
        detached.set(n, parents.get(n));
      } else {
        children.delete(n);
      }
      parents.delete(n);
    }
  };
  const link = (id, parentId, isShadow) => {
    if (detached.has(id)) {
      // The player takes the detached node back; its detached children stay detached.
      children.get(detached.get(id))?.delete(id);
      detached.delete(id);
    }
    parents.set(id, parentId);
    if (!children.has(id)) children.set(id, new Set());
    if (parentId) children.get(parentId).add(id);
    if (isShadow) shadow.add(id);
    else shadow.delete(id);
  };
  const parentOf = (id) => (parents.has(id) ? parents.get(id) : detached.get(id));
  for (const [e, i] of sorted) {
    if (e.type === 2) {
      counts.snapshots += 1;
      parents = new Map();
      children = new Map();
      shadow = new Set();
      detached = new Map();
      const stack = [[e.data.node, 0]];
      while (stack.length) {
        const [node, parentId] = stack.pop();
        assert.ok(Number.isInteger(node.id) && node.id > 0, where(i, `a FullSnapshot node without a valid id: ${JSON.stringify(node).slice(0, 200)}`));
        assert.ok(!parents.has(node.id), where(i, `id ${node.id} appears twice in the FullSnapshot`));
        link(node.id, parentId, node.isShadow === true);
        counts.snapshotNodes += 1;
        for (const c of node.childNodes ?? []) stack.push([c, node.id]);
      }
      continue;
    }
    if (e.type !== 3) continue;
    assert.ok(parents, where(i, "an incremental event before any FullSnapshot"));
    const d = e.data;
    if (d.source === 5 || d.source === 3) {
      counts.inputs += d.source === 5 ? 1 : 0;
      assert.ok(known(d.id), where(i, `${d.source === 5 ? "Input" : "Scroll"} names node ${d.id}, which the player does not have`));
      continue;
    }
    if (d.source !== 0) continue;
    counts.mutations += 1;
    const removedIds = new Set(d.removes.map((r) => r.id));
    // The player first drops (with a warning) removes of nodes it lacks, then removes each
    // node with its subtree, skipping one already gone with an ancestor.
    for (const r of d.removes) {
      assert.ok(known(r.id), where(i, `remove of node ${r.id} (parent ${r.parentId}), which the player does not have`));
    }
    for (const r of d.removes) {
      counts.removes += 1;
      if (!known(r.id)) continue;
      note(r.id);
      assert.ok(known(r.parentId), where(i, `remove of node ${r.id} from parent ${r.parentId}, which the player does not have`));
      assert.equal(parentOf(r.id), r.parentId, where(i, `remove of node ${r.id} from ${r.parentId}, but its parent is ${parentOf(r.id)}`));
      children.get(r.parentId)?.delete(r.id);
      if (detached.has(r.id)) {
        detached.delete(r.id);
        parents.set(r.id, r.parentId); // so that dropSubtree sees it
      }
      dropSubtree(r.id);
    }
    const addIds = new Set();
    for (const a of d.adds) {
      assert.ok(!addIds.has(a.node.id), where(i, `node ${a.node.id} is added twice in one event`));
      addIds.add(a.node.id);
      assert.ok(!parents.has(a.node.id), where(i, `node ${a.node.id} is added but the player already has it (recorded twice)`));
      assert.equal((a.node.childNodes ?? []).length, 0, where(i, `added node ${a.node.id} is not flattened`));
    }
    // The player appends what it can and queues the rest until their parent (and next
    // sibling) arrive; whatever is left at the end is lost.
    let pending = d.adds;
    while (pending.length) {
      const later = [];
      for (const a of pending) {
        const hasNext = a.nextId !== null && a.nextId !== undefined;
        if (!known(a.parentId) || (hasNext && !known(a.nextId))) {
          later.push(a);
          continue;
        }
        note(a.parentId);
        if (hasNext) {
          assert.equal(parentOf(a.nextId), a.parentId,
            where(i, `node ${a.node.id} is added under ${a.parentId} before ${a.nextId}, whose parent is ${parentOf(a.nextId)}`));
        }
        link(a.node.id, a.parentId, a.node.isShadow === true);
        counts.adds += 1;
      }
      assert.ok(later.length < pending.length, where(i, `${later.length} adds refer to parents or next siblings the player never gets: ` +
        JSON.stringify(later.slice(0, 3).map((a) => ({ id: a.node.id, parentId: a.parentId, nextId: a.nextId })))));
      pending = later;
    }
    for (const t of d.texts) {
      counts.texts += 1;
      note(t.id);
      assert.ok(known(t.id) || removedIds.has(t.id), where(i, `text change of node ${t.id}, which the player does not have`));
    }
    for (const a of d.attributes) {
      counts.attributes += 1;
      note(a.id);
      assert.ok(known(a.id) || removedIds.has(a.id), where(i, `attribute change of node ${a.id}, which the player does not have`));
    }
  }
  assert.ok(counts.snapshots > 0, `${name}: a FullSnapshot was recorded`);
  return counts;
}

/**
 * Plays `events` in rrweb's player and asserts the replayed body equals `live`
 * (`describeTree` of the live document) token for token, with no player warning about
 * missing nodes. `context` (e.g. the seed) goes into the failure message.
 */
export async function assertReplayExactIn(browser, origin, name, events, live, context = "") {
  checkEnvelope(events, name);
  const { dom, warnings, errors } = await replay(browser, origin, events, describeTree);
  const label = `${name}${context ? ` (${context})` : ""}`;
  assert.deepEqual(errors, [], `${label}: the player threw`);
  const missing = warnings.filter((w) => /not found|could not remove|Timeout in the loop/i.test(w));
  assert.deepEqual(missing.slice(0, 5), [], `${label}: the player warned about nodes (${missing.length} warnings)`);
  let first = 0;
  while (first < live.length && first < dom.length && live[first] === dom[first]) first += 1;
  const around = (list) => list.slice(Math.max(0, first - 4), first + 4).join(" ");
  const detail = `${label}: ${live.length} live tokens, ${dom.length} replayed; ` +
    (first === live.length && first === dom.length ? "identical" : `first difference at token ${first}:\n  live:     ${around(live)}\n  replayed: ${around(dom)}`);
  console.log(detail.split("\n")[0]);
  assert.ok(first === live.length && first === dom.length, detail);
}
