// Replay conformance: record fixture pages with the Rust recorder, play the events in
// rrweb's own player (@rrweb/replay 2.1.6) in the same headless Chromium, and compare
// the replayed DOM with the live one.
//
//   node --test tests/e2e/replay-conformance.test.mjs
//
// Events come from the SDK's `Sightline` class (uploads intercepted with page.route)
// when SIGHTLINE_PKG names a `wasm-pack build --target web` output, otherwise from the
// recorder harness (tests/bench/recorder/harness), built on first use.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { gunzipSync } from "node:zlib";
import { join, dirname, extname, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const testsDir = join(here, "..");
const repo = join(testsDir, "..");
const fixturesDir = join(testsDir, "fixtures", "replay");
const sightlinePkg = process.env.SIGHTLINE_PKG || null;
const harnessPkg = process.env.RECORDER_HARNESS_PKG || "/tmp/recorder-harness-pkg";
const CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
  "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];
const PASSWORD = "Hunter2-Secret!";
const FIXTURES = ["forms", "svg", "styles", "tables", "iframes", "shadow", "mutations"];

const TYPES = { ".html": "text/html", ".js": "text/javascript", ".cjs": "text/javascript", ".mjs": "text/javascript",
  ".wasm": "application/wasm", ".css": "text/css", ".json": "application/json" };

// The page-side bootstrap: start recording, expose `window.__recorder.flush()`.
const RECORD_JS = sightlinePkg
  ? `import init, { Sightline } from "/pkg/sightline.js";
await init();
const sl = new Sightline({ projectId: "p_conformance", apiBaseUrl: location.origin,
  getAnalyticsSession: () => null, analytics: { autocapture: false }, replays: { enabled: true } });
sl.start();
window.__recorder = { flush: () => sl.flush(), events: null };
window.__recorderReady = true;`
  : `import init, { RecorderHarness } from "/pkg/recorder_harness.js";
await init();
window.__events = [];
const harness = new RecorderHarness((json) => window.__events.push(json), true);
window.__recorder = { flush: async () => harness.flush(), events: () => window.__events };
window.__recorderReady = true;`;

const REPLAY_HTML = `<!doctype html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="/node_modules/@rrweb/replay/dist/style.css">
<script src="/node_modules/@rrweb/replay/dist/replay.umd.cjs"></script></head><body></body></html>`;

let server;
let origin;
let browser;

async function serve(req, res) {
  const url = new URL(req.url, "http://x");
  const path = decodeURIComponent(url.pathname);
  let file = null;
  let body = null;
  if (path === "/record.js") body = RECORD_JS;
  else if (path === "/replay.html") body = REPLAY_HTML;
  else if (path === "/assets/site.css") body = "body { font-family: sans-serif } .banner { background: url(../img/banner.png) }";
  else if (path.startsWith("/pkg/")) file = join(sightlinePkg || harnessPkg, normalize(path.slice(5)));
  else if (path.startsWith("/fixtures/replay/")) file = join(fixturesDir, normalize(path.slice(17)));
  else if (path.startsWith("/node_modules/")) file = join(testsDir, "node_modules", normalize(path.slice(14)));
  try {
    if (file) body = await readFile(file);
  } catch {
    body = null;
  }
  if (body === null) {
    res.writeHead(404).end();
    return;
  }
  const type = TYPES[extname(file || path)] || "application/octet-stream";
  res.writeHead(200, { "content-type": type, "cache-control": "no-store" }).end(body);
}

before(async () => {
  if (!sightlinePkg && !existsSync(join(harnessPkg, "recorder_harness.js"))) {
    execFileSync("wasm-pack", ["build", "--target", "web", "--dev", "--out-dir", harnessPkg],
      { cwd: join(repo, "tests", "bench", "recorder", "harness"), stdio: "inherit" });
  }
  server = createServer(serve);
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  origin = `http://127.0.0.1:${server.address().port}`;
  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS });
});

after(async () => {
  await browser?.close();
  server?.close();
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

/** 2·LCS / (|a| + |b|): 1 when equal. */
function similarity(a, b) {
  if (a.length + b.length === 0) return 1;
  let prev = new Uint32Array(b.length + 1);
  let cur = new Uint32Array(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      cur[j] = a[i - 1] === b[j - 1] ? prev[j - 1] + 1 : Math.max(prev[j], cur[j - 1]);
    }
    [prev, cur] = [cur, prev];
  }
  return (2 * prev[b.length]) / (a.length + b.length);
}

async function recordFixture(name, interact) {
  const context = await browser.newContext({ viewport: { width: 1024, height: 768 } });
  const page = await context.newPage();
  const uploaded = [];
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  await page.route("**/api/v1/session-replays/batch", async (route) => {
    let body = route.request().postDataBuffer();
    if (body[0] === 0x1f && body[1] === 0x8b) body = gunzipSync(body);
    uploaded.push(...JSON.parse(body.toString("utf8")).events);
    await route.fulfill({ status: 200, contentType: "application/json",
      body: JSON.stringify({ session_replay_id: "r", batch_id: "b", s3_key: "k", deduped: false }) });
  });
  await page.route("**/api/v1/analytics/events/batch", (route) =>
    route.fulfill({ status: 200, contentType: "application/json", body: '{"inserted":0}' }));
  await page.goto(`${origin}/fixtures/replay/${name}.html`);
  await page.waitForFunction(() => window.__recorderReady === true);
  await page.evaluate(() => new Promise((r) => setTimeout(r, 50)));
  await page.evaluate(() => window.fixtureActions?.());
  if (interact) await interact(page);
  await page.evaluate(() => new Promise((r) => setTimeout(r, 100)));
  const live = await page.evaluate(`(${describeDocument})(document)`);
  await page.evaluate(() => window.__recorder.flush());
  let events = sightlinePkg ? uploaded : (await page.evaluate(() => window.__recorder.events())).map((j) => JSON.parse(j));
  await context.close();
  assert.deepEqual(pageErrors, [], `${name}: no page errors`);
  return { events, live };
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
    const { events, live } = await recordFixture(name, interactions[name]);
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
    if (name === "forms") {
      const json = JSON.stringify(events);
      assert.ok(!json.includes(PASSWORD) && !json.includes("Hunter2"), "the typed password appears in no event");
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
