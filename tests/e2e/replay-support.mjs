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

async function replay(browser, origin, events) {
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
  }, [events, describeDocument.toString()]);
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

