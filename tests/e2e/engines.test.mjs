// The end-to-end subset that runs in every engine (engines.mjs: Firefox ESR over WebDriver
// BiDi, WebKitGTK over WebDriver classic; SIGHTLINE_ENGINES picks them, default
// "firefox,webkit"; Chromium runs the full suite in the other files): the built SDK (pkg/)
// against the real collector (www-demo/, SQLite), through a recording proxy that keeps every
// request body (gunzipped) so that "no secret in any body" and "sent uncompressed" are read
// from what really went over the wire.
//
//   bash scripts/build.sh && SIGHTLINE_ENGINES=firefox node --test tests/e2e/engines.test.mjs
//
// Covered per engine: the two seed bugs (events captured while the session is slow or failing
// are delivered once; the gate's transient failures keep the user granted and it fails closed
// after 1 + maxRetries), delivery on unload, replay conformance of tests/fixtures/replay/forms.html
// (recorded in the engine, played in @rrweb/replay in Chromium), the privacy page, and the
// fallbacks: no CompressionStream → plain JSON, keepalive refused (rejected, or thrown
// synchronously) → persisted and sent by the next page, no Web Locks → adoption with batch_id dedupe.
//
// An engine whose binaries are missing is skipped with the reason, unless
// SIGHTLINE_REQUIRE_ENGINES=1 (scripts/test.sh sets it), which makes that a failure.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { gunzipSync } from "node:zlib";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { assertDeliveredOnce, launchChromium, startCollector, startPageServer, storedBytes, waitFor } from "./support.mjs";
import { REPLAY_HTML, assertReplayMatchesIn, describeDocument } from "./replay-support.mjs";
import { enginesToRun, launchEngine, missing } from "./engines.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const testsDir = join(here, "..");
const ANALYTICS = "/api/v1/analytics/events/batch";
const REPLAYS = "/api/v1/session-replays/batch";
const PASSWORD = "Hunter2-Secret!";

// The bootstrap of the fixture pages (tests/fixtures/{replay,privacy}/*.html load /record.js):
// replays on, options from `?opts=<json>`, anonymous (the collector runs --allow-anonymous).
const RECORD_JS = `import init, { Sightline } from "/pkg/sightline.js";
await init();
const q = new URLSearchParams(location.search);
const replays = Object.assign({ enabled: true, flushIntervalMs: 200 }, JSON.parse(q.get("opts") || "{}"));
const sl = new Sightline({ projectId: "p_engines", apiBaseUrl: location.origin, getAnalyticsSession: () => null,
  analytics: { flushIntervalMs: 200 }, replays });
sl.start();
window.__sl = sl;
window.__recorder = { flush: () => sl.flush() };
window.__recorderReady = true;`;

/**
 * A proxy in front of `collector` that serves the fixtures, /record.js and the rrweb player,
 * forwards everything else, and records every request: {method, path, gzip, encoding, text}.
 */
async function startProxy(collector) {
  const requests = [];
  const forward = async (req, res, path) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const raw = Buffer.concat(chunks);
    if (raw.length) {
      const gzip = raw[0] === 0x1f && raw[1] === 0x8b;
      let text;
      try { text = (gzip ? gunzipSync(raw) : raw).toString("utf8"); } catch (e) { text = `<undecodable: ${e.message}>`; }
      requests.push({ method: req.method, path, gzip, encoding: req.headers["content-encoding"] ?? null, text });
    }
    // The page and its API are one origin (the proxy's); to the collector, that is its own.
    const headers = { ...req.headers };
    if (headers.origin) headers.origin = collector.url;
    delete headers.host;
    delete headers.connection;
    delete headers["content-length"];
    try {
      const upstream = await fetch(collector.url + req.url, { method: req.method, headers,
        body: raw.length ? raw : undefined, redirect: "manual" });
      const out = Buffer.from(await upstream.arrayBuffer());
      const back = {};
      upstream.headers.forEach((v, k) => { if (!["content-encoding", "content-length", "transfer-encoding", "connection"].includes(k)) back[k] = v; });
      res.writeHead(upstream.status, back).end(out);
    } catch (e) {
      res.writeHead(502).end(String(e));
    }
  };
  const server = await startPageServer({
    routes: { "/record.js": RECORD_JS, "/replay.html": REPLAY_HTML },
    dirs: { "/fixtures/": join(testsDir, "fixtures"), "/node_modules/": join(testsDir, "node_modules") },
    fallback: forward,
  });
  return { url: server.origin, requests, close: () => server.close() };
}

const blank = (origin) => `${origin}/static/demo-e2e.html?fixture=${encodeURIComponent('{"sdk":false}')}`;

/**
 * Starts the SDK in the (blank, same-origin) page from a module script, as a site would:
 * `prelude` (JS source) runs first (e.g. removes a feature), `options` (JS source of an
 * object literal, so it may hold functions) are merged over the defaults. Signed in as alice.
 */
async function startSdk(page, { options = "{}", prelude = "" } = {}) {
  const code = `${prelude}
    try {
      window.sessionResolved = 0;
      const { default: init, Sightline } = await import("/pkg/sightline.js");
      await init();
      const extra = ${options};
      const { analytics, upload, ...rest } = extra;
      window.sl = new Sightline({ projectId: "p_e2e", apiBaseUrl: location.origin,
        getAnalyticsSession: () => { window.sessionResolved += 1; return { accessToken: "demo-alice", refreshToken: null }; },
        ...rest, analytics: { autocapture: false, ...analytics }, upload: { ...upload }, replays: { enabled: false } });
      window.sl.start();
      window.__started(true);
    } catch (e) { window.__started(e instanceof Error ? e.name + ": " + e.message + "\\n" + e.stack : String(e)); }`;
  const result = await page.evaluate((code) => new Promise((resolve) => {
    window.__started = resolve;
    const s = document.createElement("script");
    s.type = "module";
    s.textContent = code;
    document.head.append(s);
  }), code);
  assert.equal(result, true, `the SDK started: ${result}`);
}

const burst = (page, run, n, pad = 100) => page.evaluate(({ run, n, pad }) => {
  for (let i = 0; i < n; i++) window.sl.track("burst", { run, id: i, pad: "x".repeat(pad) });
}, { run, n, pad });

const sleep = (page, ms) => page.evaluate((ms) => new Promise((r) => setTimeout(r, ms)), ms);

const runs = enginesToRun();
const required = process.env.SIGHTLINE_REQUIRE_ENGINES === "1";

for (const name of runs) {
  const why = missing(name);
  if (why && required) {
    test(`${name}: the engine is installed`, () => assert.fail(why));
    continue;
  }
  describe(`${name}: end to end in this engine`, { skip: why ?? false }, () => {
    let engine;
    let collector;
    let proxy;
    let started;
    before(async () => {
      started = Date.now();
      engine = await launchEngine(name);
      collector = await startCollector({ sdk: true, args: ["--allow-anonymous"] });
      proxy = await startProxy(collector);
    });
    after(async () => {
      console.log(`# ${name}: ${engine?.version}; this engine's share took ${((Date.now() - started) / 1000).toFixed(1)} s`);
      await engine?.close();
      await proxy?.close();
      await collector?.stop();
    });
    /** A fresh page (own storage), closed after the test; the collector's faults cleared. */
    async function open(t) {
      await collector.clearFaults();
      const page = await engine.newPage();
      t.after(() => page.close());
      await page.goto(blank(proxy.url));
      return page;
    }
    const bodiesSince = (n, path) => proxy.requests.slice(n).filter((r) => !path || r.path === path);

    test("seed bug 1: events captured while the session is slow and the server fails (3×503) are delivered once", { timeout: 60000 }, async (t) => {
      const page = await open(t);
      const run = `slow-${name}-${randomUUID()}`;
      await collector.fault({ path_prefix: "/api/v1/analytics", count: 3, status: 503 });
      await startSdk(page, { options: `{ getAnalyticsSession: () => new Promise((r) => setTimeout(() => { window.sessionResolved += 1;
          r({ accessToken: "demo-alice", refreshToken: null }); }, 1500)), upload: { retryInitialDelayMs: 100, retryMaxDelayMs: 400 } }` });
      await burst(page, run, 120);
      assert.equal(await page.evaluate(() => window.sessionResolved), 0, "captured before the session answered");
      await assertDeliveredOnce(collector, run, 120, { timeout: 30000 });
      const stats = await page.evaluate(() => window.sl.stats());
      assert.equal(stats.droppedEvents, 0, JSON.stringify(stats));
    });

    test("seed bug 2: the gate keeps a granted user through 503s, and fails closed after exactly 1 + maxRetries", { timeout: 60000 }, async (t) => {
      const page = await open(t);
      const CHECK = "/api/code/invites/check-access";
      const checks = async () => (await collector.stats()).requests[`GET ${CHECK}/`] ?? 0;
      await startSdk(page, { prelude: "window.__changes = [];", options: `{ accessGate: { url: "/api/code/invites/check-access/",
        retry: { initialDelayMs: 100, maxDelayMs: 200, maxRetries: 3 }, onChange: (s, r) => window.__changes.push([s, r]) } }` });
      const state = () => page.evaluate(() => window.sl.accessState);
      await waitFor(async () => (await state()) === "granted", { message: "first check granted" });
      await collector.fault({ path_prefix: CHECK, count: 2, status: 503 });
      let before = await checks();
      assert.equal(await page.evaluate(() => window.sl.checkAccess()), "granted", "a 503 keeps the current state");
      await waitFor(async () => (await checks()) === before + 3, { message: "two retries after the 503s" });
      await sleep(page, 300);
      assert.equal(await state(), "granted");
      assert.deepEqual(await page.evaluate(() => window.__changes), [["granted", "granted"]], "never denied");

      await collector.fault({ path_prefix: CHECK, count: 50, status: 503 });
      before = await checks();
      await page.evaluate(() => window.sl.checkAccess());
      await waitFor(async () => (await state()) === "denied", { message: "fail-closed" });
      await sleep(page, 500);
      assert.equal((await checks()) - before, 1 + 3, "1 + maxRetries requests");
      assert.deepEqual(await page.evaluate(() => window.__changes), [["granted", "granted"], ["denied", "fail-closed"]]);
    });

    /**
     * Events pending at unload (the regular upload held back by a slow server) reach the
     * collector exactly once: by keepalive, or persisted and sent by the next page.
     * `prelude` runs in both pages before the SDK starts.
     */
    async function unloadDelivers(t, { prelude = "", nextPrelude = prelude } = {}) {
      const page = await open(t);
      const run = `unload-${name}-${randomUUID()}`;
      await startSdk(page, { prelude, options: "{ analytics: { flushIntervalMs: 60000 } }" });
      await waitFor(() => page.evaluate(() => window.sessionResolved >= 1), { message: "session resolved" });
      await page.evaluate(() => window.sl.flush());
      const from = proxy.requests.length;
      // The burst forms 3 batches of 50 (maxEventsPerBatch) and the SDK sends them at once
      // (up to 4 analytics requests in flight): every one of them is held, so that none is
      // acknowledged before the page is left. They are answered 503 after 15 s (longer than
      // the page lives) without running the route, so that they store nothing themselves:
      // only keepalive or the next page can deliver these events.
      await collector.fault({ path_prefix: "/api/v1/analytics", count: 3, status: 503, latency_ms: 15000 });
      await burst(page, run, 150, 200);
      await waitFor(async () => (await collector.stats()).faults.pending.length === 0,
        { message: "the burst's 3 requests held by the collector" });
      const held = bodiesSince(from, ANALYTICS).map((r) => JSON.parse(r.text));
      assert.deepEqual([held.length, held.reduce((n, b) => n + b.events.length, 0)], [3, 150],
        "the held requests are the burst's 3 batches");
      assert.ok((await page.evaluate(() => window.sl.stats().queuedEvents)) >= 150, "pending at unload");
      await page.goto(blank(proxy.url)); // pagehide
      await startSdk(page, { prelude: nextPrelude });
      await assertDeliveredOnce(collector, run, 150, { timeout: 30000 });
      return page;
    }

    test("delivery on unload: events pending when the page is left arrive once", { timeout: 60000 }, async (t) => {
      await unloadDelivers(t);
    });

    // Counted in localStorage: the page that was refused is gone when the count is read.
    const REFUSED = `localStorage.setItem("__refused", String(Number(localStorage.getItem("__refused") || 0) + 1));`;
    const refusals = (page) => page.evaluate(() => Number(localStorage.getItem("__refused") || 0));

    test("fallback: keepalive refused (the promise rejects) → persisted and sent by the next page", { timeout: 60000 }, async (t) => {
      const prelude = `const f = window.fetch;
        window.fetch = function (input, init) { if (init && init.keepalive) { ${REFUSED}
          return Promise.reject(new TypeError("keepalive refused")); } return f.apply(this, arguments); };`;
      const page = await unloadDelivers(t, { prelude, nextPrelude: "" });
      assert.ok(await refusals(page) > 0, "the unload path tried keepalive and was refused");
    });

    test("fallback: keepalive refused (fetch throws synchronously) → persisted and sent by the next page", { timeout: 60000 }, async (t) => {
      const prelude = `const f = window.fetch;
        window.fetch = function (input, init) { if (init && init.keepalive) { ${REFUSED} throw new TypeError("keepalive refused"); }
          return f.apply(this, arguments); };`;
      const page = await unloadDelivers(t, { prelude, nextPrelude: "" });
      assert.ok(await refusals(page) > 0, "the unload path tried keepalive and was refused");
    });

    test("a fetch that throws synchronously (a page's wrapper, an extension) is a network error: retried, nothing lost", { timeout: 60000 }, async (t) => {
      const page = await open(t);
      const run = `throw-${name}-${randomUUID()}`;
      await startSdk(page, {
        prelude: `const f = window.fetch; window.__thrown = 0;
          window.fetch = function (input, init) { if (String(input).includes("/analytics/") && window.__thrown < 2) {
            window.__thrown += 1; throw new TypeError("blocked by a wrapper"); } return f.apply(this, arguments); };`,
        options: "{ upload: { retryInitialDelayMs: 100, retryMaxDelayMs: 400 } }",
      });
      await burst(page, run, 30);
      await assertDeliveredOnce(collector, run, 30, { timeout: 20000 });
      assert.equal(await page.evaluate(() => window.__thrown), 2, "fetch threw twice");
      const stats = await page.evaluate(() => window.sl.stats());
      assert.equal(stats.droppedEvents, 0, JSON.stringify(stats));
    });

    test("fallback: no Web Locks → the next page adopts the copy; batch_id dedupe keeps each event once", { timeout: 60000 }, async (t) => {
      const hadLocks = await (await open(t)).evaluate(() => typeof navigator.locks?.request === "function");
      t.diagnostic(`${name} has Web Locks: ${hadLocks}`);
      const prelude = `delete Navigator.prototype.locks; if (navigator.locks) throw new Error("could not remove navigator.locks");`;
      await unloadDelivers(t, { prelude });
    });

    test("fallback: no CompressionStream → the batch is sent as plain JSON and stored", { timeout: 60000 }, async (t) => {
      const page = await open(t);
      const has = await page.evaluate(() => typeof CompressionStream === "function");
      const from = proxy.requests.length;
      const run = `plain-${name}-${randomUUID()}`;
      await startSdk(page, { prelude: "delete globalThis.CompressionStream;" });
      await burst(page, run, 20);
      await page.evaluate(() => window.sl.flush());
      await assertDeliveredOnce(collector, run, 20);
      const sent = bodiesSince(from, ANALYTICS).filter((r) => r.text.includes(run));
      assert.ok(sent.length > 0, "the batch went through the proxy");
      for (const r of sent) {
        assert.equal(r.gzip, false, "no gzip body without CompressionStream");
        assert.equal(r.encoding, null, "no content-encoding header");
      }
      if (has) {
        // The control: with CompressionStream, the same SDK gzips.
        const page2 = await open(t);
        const from2 = proxy.requests.length;
        const run2 = `gzip-${name}-${randomUUID()}`;
        await startSdk(page2);
        await burst(page2, run2, 20);
        await page2.evaluate(() => window.sl.flush());
        await assertDeliveredOnce(collector, run2, 20);
        assert.ok(bodiesSince(from2, ANALYTICS).some((r) => r.text.includes(run2) && r.gzip), `${name} gzips when it can`);
      } else {
        t.diagnostic(`${name} has no CompressionStream: the control run is left out`);
      }
    });

    test("replay conformance: forms.html recorded here plays in @rrweb/replay (Chromium) with ≥ 98% match", { timeout: 90000 }, async (t) => {
      const page = await open(t);
      const from = proxy.requests.length;
      await page.goto(`${proxy.url}/fixtures/replay/forms.html`);
      await waitFor(() => page.evaluate(() => window.__recorderReady === true), { message: "recorder ready" });
      await sleep(page, 100);
      await page.type("#name", " Lovelace");
      await page.type("#pw", PASSWORD);
      await page.click("#yearly");
      await page.click("#terms");
      await page.type("#bio", " Compilers");
      await sleep(page, 300);
      const live = await page.evaluate(`() => (${describeDocument})(document)`);
      await page.evaluate(() => window.__recorder.flush());
      const sent = bodiesSince(from);
      const replay = sent.filter((r) => r.path === REPLAYS);
      assert.ok(replay.length > 0, "replay batches were sent");
      const events = replay.flatMap((r) => JSON.parse(r.text).events);
      for (const r of sent) assert.ok(!r.text.includes("Hunter2"), `the typed password is in a body sent to ${r.path}`);
      const inputs = events.filter((e) => e.type === 3 && e.data.source === 5);
      assert.ok(inputs.some((e) => e.data.text === "*".repeat(PASSWORD.length)), "the password field's input is recorded, masked");
      const chromium = await launchChromium();
      try {
        await assertReplayMatchesIn(chromium, proxy.url, `forms (${name})`, events, live);
      } finally {
        await chromium.close();
      }
    });

    test("privacy: the hostile page sends no SECRET in any request body, nor stores one", { timeout: 90000 }, async (t) => {
      const page = await open(t);
      const from = proxy.requests.length;
      const opts = JSON.stringify({ blockSelector: "[data-private]", maskTextSelector: "[data-hide-text]" });
      await page.goto(`${proxy.url}/fixtures/privacy/hostile.html?opts=${encodeURIComponent(opts)}`);
      await waitFor(() => page.evaluate(() => window.__recorderReady === true && document.readyState === "complete"),
        { message: "recorder ready" });
      await sleep(page, 100);
      await page.evaluate(() => window.fixtureActions("SECRET"));
      for (const [selector, text] of [["#numeric", "SECRET-TYPED-NUMERIC"], ["#plain", "SECRET-TYPED-PLAIN"],
        ["#notes", "SECRET-TEXTAREA"], ["#toggle", "SECRET-PW-ONE"], ["#blocked-input", "SECRET-TYPED-BLOCKED"],
        ["#input-in-blocked", "SECRET-TYPED-IN-BLOCKED"], ["#input-in-selector", "SECRET-TYPED-SELECTOR"],
        ["#input-in-masked", "SECRET-TYPED-IN-MASKED"]]) {
        await page.type(selector, text);
      }
      await page.click("#masked-button");
      await sleep(page, 300);
      await page.evaluate(() => window.__sl.flush());
      const sent = bodiesSince(from);
      assert.ok(sent.some((r) => r.path === REPLAYS), "replay batches were sent");
      for (const r of sent) {
        const at = r.text.indexOf("SECRET");
        assert.equal(at, -1, `a secret in the body sent to ${r.path}: …${r.text.slice(Math.max(0, at - 120), at + 60)}…`);
      }
      assert.equal(storedBytes(collector).indexOf("SECRET"), -1, "a secret in the collector's database");
      const events = sent.filter((r) => r.path === REPLAYS).flatMap((r) => JSON.parse(r.text).events);
      const all = JSON.stringify(events);
      for (const visible of ["VISIBLE-HEADING", "VISIBLE-AFTER-MUTATION"]) assert.ok(all.includes(visible), `recorded: ${visible}`);
      const inputs = events.filter((e) => e.type === 3 && e.data.source === 5);
      assert.ok(inputs.some((e) => e.data.text === "*".repeat("SECRET-TYPED-PLAIN".length)), "typed input recorded, masked");
    });
  });
}
