// Replay conformance through the real SDK: pages are recorded by `new Sightline({replays:
// {enabled: true}})` from the built package (pkg/, or SIGHTLINE_PKG), its session-replay
// uploads are intercepted (page.route) and gunzipped here, the events are played to the
// end in rrweb's own player (@rrweb/replay 2.1.6) in the same headless Chromium, and the
// replayed DOM is compared with the live one (element sequence and visible words, ≥ 98%).
//
//   bash scripts/build.sh && node --test tests/e2e/replay-conformance.test.mjs
//
// Pages: the fixtures in tests/fixtures/replay, a large real-world page (the Rust
// documentation of `Vec` that ships with the toolchain, served over HTTP with the SDK
// injected into it), and the demo page served by the collector. A typed password must
// appear in no request body.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { existsSync, cpSync, mkdtempSync, rmSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { gunzipSync } from "node:zlib";
import { tmpdir } from "node:os";
import { join, dirname, extname, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { sdkPackage, startCollector, launchChromium, waitFor } from "./support.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const testsDir = join(here, "..");
const fixturesDir = join(testsDir, "fixtures", "replay");
const PASSWORD = "Hunter2-Secret!";
const FIXTURES = ["forms", "svg", "styles", "tables", "iframes", "shadow", "mutations"];

/** The Rust documentation that ships with the toolchain (the rust-docs component). */
function rustDocsDir() {
  try {
    const sysroot = execFileSync("rustc", ["--print", "sysroot"], { encoding: "utf8" }).trim();
    const dir = join(sysroot, "share", "doc", "rust", "html");
    return existsSync(join(dir, "std", "vec", "struct.Vec.html")) ? dir : null;
  } catch {
    return null;
  }
}
const RUST_DOCS = rustDocsDir();

const TYPES = { ".html": "text/html", ".js": "text/javascript", ".cjs": "text/javascript", ".mjs": "text/javascript",
  ".wasm": "application/wasm", ".css": "text/css", ".json": "application/json", ".svg": "image/svg+xml",
  ".woff2": "font/woff2", ".png": "image/png" };

// The page-side bootstrap: start the SDK with replays on, expose `window.__recorder.flush()`.
const RECORD_JS = `import init, { Sightline } from "/pkg/sightline.js";
await init();
const sl = new Sightline({ projectId: "p_conformance", apiBaseUrl: location.origin,
  getAnalyticsSession: () => null, analytics: { autocapture: false }, replays: { enabled: true } });
sl.start();
window.__recorder = { flush: () => sl.flush() };
window.__recorderReady = true;`;
const RECORD_TAG = '<script type="module" src="/record.js"></script>';

const REPLAY_HTML = `<!doctype html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="/node_modules/@rrweb/replay/dist/style.css">
<script src="/node_modules/@rrweb/replay/dist/replay.umd.cjs"></script></head><body></body></html>`;

/** A page of `elements` elements (sections of 10), with the recorder in <head>. */
function bigPage(elements) {
  const parts = ['<!doctype html><html><head><meta charset="utf-8"><title>big</title>', RECORD_TAG, "</head><body>"];
  for (let i = 0; i < elements / 10; i++) {
    parts.push(`<section id="s${i}"><h3>Part ${i}</h3><p>Some <b>bold</b> and <i>italic</i> words, `,
      `<a href="#s${i}">a link</a>.</p><ul><li>one</li><li>two <em>${i}</em></li></ul></section>`);
  }
  return parts.join("") + "</body></html>";
}

let server;
let origin;
let browser;
let pkgCopy;

async function serve(req, res) {
  const url = new URL(req.url, "http://x");
  const path = decodeURIComponent(url.pathname);
  let file = null;
  let body = null;
  if (path === "/record.js") body = RECORD_JS;
  else if (path === "/replay.html") body = REPLAY_HTML;
  else if (path === "/assets/site.css") body = "body { font-family: sans-serif } .banner { background: url(../img/banner.png) }";
  else if (path.startsWith("/pkg/")) file = join(pkgCopy, normalize(path.slice(5)));
  else if (path.startsWith("/fixtures/replay/")) file = join(fixturesDir, normalize(path.slice(17)));
  else if (path.startsWith("/node_modules/")) file = join(testsDir, "node_modules", normalize(path.slice(14)));
  else if (path.startsWith("/rustdoc/") && RUST_DOCS) file = join(RUST_DOCS, normalize(path.slice(9)));
  else if (path === "/generated/big.html") body = bigPage(100000);
  try {
    if (file) body = await readFile(file);
  } catch {
    body = null;
  }
  if (body === null) {
    res.writeHead(404).end();
    return;
  }
  if (path.startsWith("/rustdoc/") && extname(path) === ".html") {
    // The SDK goes into the page as a site would ship it: a module script in <head>.
    body = body.toString("utf8").replace("</head>", `${RECORD_TAG}</head>`);
  }
  const type = TYPES[extname(file || path)] || "application/octet-stream";
  res.writeHead(200, { "content-type": type, "cache-control": "no-store" }).end(body);
}

before(async () => {
  // A private copy: a concurrent rebuild of pkg/ cannot hand the browser half-written files.
  pkgCopy = mkdtempSync(join(tmpdir(), "sightline-conformance-pkg-"));
  cpSync(sdkPackage(), pkgCopy, { recursive: true });
  server = createServer(serve);
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  origin = `http://127.0.0.1:${server.address().port}`;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  server?.close();
  if (pkgCopy) rmSync(pkgCopy, { recursive: true, force: true });
});

/** Element tags (document order, through open shadow roots and same-origin iframes) and words. */
function describeDocument(doc) {
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
function similarity(a, b) {
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

/** Every request body the page sent (gunzipped), to look for secrets in. */
function captureBodies(page) {
  const bodies = [];
  page.on("request", (request) => {
    let body = request.postDataBuffer();
    if (!body) return;
    if (body[0] === 0x1f && body[1] === 0x8b) body = gunzipSync(body);
    bodies.push({ url: request.url(), text: body.toString("utf8") });
  });
  return bodies;
}

/**
 * Records `url` with the SDK: intercepts the session-replay uploads (answering like
 * Stack Auth's backend), runs `interact`, flushes, and describes the live DOM.
 */
async function recordPage(url, { interact, settleMs = 100 } = {}) {
  const context = await browser.newContext({ viewport: { width: 1024, height: 768 } });
  const page = await context.newPage();
  const uploaded = [];
  const pageErrors = [];
  const bodies = captureBodies(page);
  let gzipped = 0;
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  await page.route("**/api/v1/session-replays/batch", async (route) => {
    let body = route.request().postDataBuffer();
    if (body[0] === 0x1f && body[1] === 0x8b) {
      gzipped += 1;
      body = gunzipSync(body);
    }
    uploaded.push(...JSON.parse(body.toString("utf8")).events);
    await route.fulfill({ status: 200, contentType: "application/json",
      body: JSON.stringify({ session_replay_id: "r", batch_id: "b", s3_key: "k", deduped: false }) });
  });
  await page.route("**/api/v1/analytics/events/batch", (route) =>
    route.fulfill({ status: 200, contentType: "application/json", body: '{"inserted":0}' }));
  await page.goto(url);
  await page.waitForFunction(() => window.__recorderReady === true);
  await page.evaluate(() => new Promise((r) => setTimeout(r, 50)));
  await page.evaluate(() => window.fixtureActions?.());
  if (interact) await interact(page);
  await page.evaluate((ms) => new Promise((r) => setTimeout(r, ms)), settleMs);
  const live = await page.evaluate(`(${describeDocument})(document)`);
  await page.evaluate(() => window.__recorder.flush());
  await context.close();
  assert.deepEqual(pageErrors, [], `${url}: no page errors`);
  return { events: uploaded, live, bodies, gzipped };
}

async function replay(events) {
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

function checkEnvelope(events, name) {
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

/** Plays `events` and asserts ≥ 98% of the live elements and words are in the replay. */
async function assertReplayMatches(name, events, live) {
  checkEnvelope(events, name);
  const { dom, warnings, errors } = await replay(events);
  assert.deepEqual(errors, [], `${name}: the player threw`);
  const tagScore = similarity(live.tags, dom.tags);
  const wordScore = similarity(live.words, dom.words);
  const detail = `${name}: tags ${tagScore.toFixed(4)} (${live.tags.length} live / ${dom.tags.length} replayed), ` +
    `words ${wordScore.toFixed(4)} (${live.words.length} / ${dom.words.length}); warnings: ${warnings.slice(0, 5).join(" | ")}`;
  console.log(detail);
  assert.ok(tagScore >= 0.98, detail);
  assert.ok(wordScore >= 0.98, detail);
}

function assertNoPassword(bodies, what) {
  assert.ok(bodies.length > 0, `${what}: requests were sent`);
  for (const { url, text } of bodies) {
    assert.ok(!text.includes(PASSWORD) && !text.includes("Hunter2"), `${what}: the typed password is in the body sent to ${url}`);
  }
}

const interactions = {
  forms: async (page) => {
    await page.fill("#name", "Grace Hopper");
    await page.click("#pw");
    await page.keyboard.type(PASSWORD, { delay: 5 });
    await page.selectOption("#plan", "team");
    await page.check("#yearly");
    await page.check("#terms");
    await page.fill("#bio", "Compilers");
  },
  styles: async (page) => {
    await page.evaluate(() => { document.getElementById("scroller").scrollTop = 120; });
    await page.mouse.move(100, 100);
    await page.mouse.move(200, 150, { steps: 10 });
  },
};

for (const name of FIXTURES) {
  test(`${name}: the replayed DOM matches the live DOM`, async () => {
    const { events, live, bodies, gzipped } = await recordPage(`${origin}/fixtures/replay/${name}.html`,
      { interact: interactions[name] });
    assert.ok(gzipped > 0, `${name}: replay bodies are gzipped`);
    await assertReplayMatches(name, events, live);
    if (name === "forms") {
      assertNoPassword(bodies, "forms");
      const inputs = events.filter((e) => e.type === 3 && e.data.source === 5);
      assert.ok(inputs.length > 0, "input events recorded");
      assert.ok(inputs.every((e) => /^\**$/.test(e.data.text) || ["monthly", "yearly", "on"].includes(e.data.text)),
        "maskAllInputs: every typed value is masked");
    }
    if (name === "mutations") {
      assert.ok(events.filter((e) => e.type === 3 && e.data.source === 0).length >= 4, "mutation events recorded");
    }
  });
}

test("a large real-world page (std::vec::Vec from the toolchain's docs) replays with ≥ 98% of elements and words",
  { skip: RUST_DOCS ? false : "the rust-docs component is not installed (rustup component add rust-docs)" },
  async () => {
    const url = `${origin}/rustdoc/std/vec/struct.Vec.html`;
    const { events, live, gzipped } = await recordPage(url, {
      settleMs: 500,
      interact: async (page) => {
        await page.waitForLoadState("load");
        await page.mouse.wheel(0, 3000);
      },
    });
    assert.ok(live.tags.length > 10000, `a large page: ${live.tags.length} elements`);
    assert.ok(gzipped > 0, "replay bodies are gzipped");
    await assertReplayMatches("std::vec::Vec", events, live);
  });

test("a 100,000-element page records and plays: its snapshot is cut into events that can be sent", async () => {
  const { events, live, gzipped } = await recordPage(`${origin}/generated/big.html`, { settleMs: 500 });
  assert.ok(live.tags.length >= 100000, `a page of ${live.tags.length} elements`);
  assert.ok(gzipped > 0, "replay bodies are gzipped");
  const largest = Math.max(...events.map((e) => JSON.stringify(e).length));
  assert.ok(largest <= 1_000_000, `no event over 1 MB of JSON (largest ${largest})`);
  assert.ok(events.filter((e) => e.type === 3 && e.data.source === 0).length > 5, "the body came as Mutation adds");
  await assertReplayMatches("100k elements", events, live);
});

test("the demo page (served by the collector): a typed password is in nothing sent, nor stored", async () => {
  const collector = await startCollector({ sdk: true, args: ["--allow-anonymous"] });
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  try {
    const page = await context.newPage();
    const pageErrors = [];
    page.on("pageerror", (e) => pageErrors.push(String(e)));
    const bodies = captureBodies(page);
    await page.goto(collector.url + "/");
    await page.waitForFunction(() => Object.keys(localStorage).some((k) => k.endsWith(":browser-session")));
    await page.click('nav.views a[data-view="settings"]');
    await page.fill("#display-name", "Ada Lovelace");
    await page.click("#password");
    await page.keyboard.type(PASSWORD, { delay: 5 });
    await page.evaluate(() => new Promise((r) => setTimeout(r, 100)));
    const live = await page.evaluate(`(${describeDocument})(document)`);
    await page.click("#flush");
    const key = await page.evaluate(() => Object.keys(localStorage).find((k) => k.endsWith(":browser-session")));
    const sessionId = JSON.parse(await page.evaluate((k) => localStorage.getItem(k), key)).session_id;
    // Read the recording back from the collector until the typed characters are in it.
    const events = await waitFor(async () => {
      const res = await fetch(`${collector.url}/api/dashboard/sessions/${sessionId}/events`);
      if (!res.ok) return null;
      const { events } = await res.json();
      const inputs = events.filter((e) => e.type === 3 && e.data.source === 5 && e.data.text.length === PASSWORD.length);
      return inputs.length > 0 ? events : null;
    }, { message: "the password field's input events stored by the collector" });
    assert.deepEqual(pageErrors, [], "no page errors");
    assertNoPassword(bodies, "demo page");
    assert.ok(bodies.some((b) => b.url.includes("/session-replays/batch")), "replay batches were sent");
    const stored = JSON.stringify(events);
    assert.ok(!stored.includes(PASSWORD) && !stored.includes("Hunter2"), "the password is not stored");
    await assertReplayMatches("demo page", events, live);
  } finally {
    await context.close();
    await collector.stop();
  }
});
