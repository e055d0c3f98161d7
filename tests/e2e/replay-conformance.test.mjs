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
import { REPLAY_HTML, assertReplayMatchesIn, describeDocument } from "./replay-support.mjs";

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

/** Plays `events` and asserts ≥ 98% of the live elements and words are in the replay. */
const assertReplayMatches = (name, events, live) => assertReplayMatchesIn(browser, origin, name, events, live);

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
  // The recorder cuts a snapshot above 4 MB of JSON (SNAPSHOT_EVENT_MAX_BYTES): every event
  // stays within a size that gzips under the 1 MB a batch may weigh as sent.
  assert.ok(largest <= 4_000_200, `no event over 4 MB of JSON (largest ${largest})`);
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
