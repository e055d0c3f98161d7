// Consent and recording controls end to end: the built SDK in Debian's Chromium against
// the real collector (www-demo) with its fault injection.
//
//   bash scripts/build.sh && node --test tests/e2e/consent.test.mjs
//
// - consent "pending" sends nothing until optIn(), then everything kept;
// - optOut() mid-session stops every request at once, retries already scheduled too;
// - Global Privacy Control starts denied, unless optIn() was remembered;
// - replays.sampleRate 0 sends no replay request, 1 does;
// - replays.mode "on-error" sends nothing until an error, then a window that begins with
//   Meta + FullSnapshot at most errorBufferMs before the error, and plays in rrweb's player.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { startCollector, startPageServer, launchChromium, waitFor } from "./support.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const testsDir = join(here, "..");

// A page that creates `window.sl` from `?opts=<json>&api=<collector>`; `?start=0` leaves
// start() to the test.
const PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>consent</title></head>
<body><h1>Consent page</h1><div id="log"></div><button id="go">Go</button>
<script type="module">
import init, { Sightline } from "/pkg/sightline.js";
await init();
const q = new URLSearchParams(location.search);
const opts = JSON.parse(q.get("opts") || "{}");
window.sl = new Sightline(Object.assign({ projectId: "p_consent", apiBaseUrl: q.get("api"),
  getAnalyticsSession: () => null }, opts));
if (q.get("start") !== "0") window.sl.start();
window.ready = true;
</script></body></html>`;

const REPLAY_HTML = `<!doctype html><html><head><meta charset="utf-8">
<script src="/node_modules/@rrweb/replay/dist/replay.umd.cjs"></script></head><body></body></html>`;

let server;
let origin;
let browser;

before(async () => {
  server = await startPageServer({ pkg: true, routes: { "/page.html": PAGE, "/replay.html": REPLAY_HTML },
    dirs: { "/node_modules/": join(testsDir, "node_modules") } });
  origin = server.origin;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

/** Requests the page sent to the collector: `{at, path, body}` (bodies gunzipped). */
function watchRequests(page, collectorUrl) {
  const sent = [];
  page.on("request", (request) => {
    if (!request.url().startsWith(collectorUrl) || request.method() !== "POST") return;
    let body = request.postDataBuffer() || Buffer.alloc(0);
    if (body[0] === 0x1f && body[1] === 0x8b) body = gunzipSync(body);
    sent.push({ at: Date.now(), path: new URL(request.url()).pathname, body: body.toString("utf8") });
  });
  return sent;
}

const analyticsRequests = (sent) => sent.filter((r) => r.path.includes("/analytics/"));
const replayRequests = (sent) => sent.filter((r) => r.path.includes("/session-replays/"));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A fresh collector, context and page with `opts`; `fn({page, sent, collector})`. */
async function withPage(opts, fn, { start = true, initScript } = {}) {
  const collector = await startCollector({ args: ["--allow-anonymous"] });
  const context = await browser.newContext();
  try {
    if (initScript) await context.addInitScript(initScript);
    const page = await context.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    const sent = watchRequests(page, collector.url);
    const query = new URLSearchParams({ opts: JSON.stringify(opts), api: collector.url, start: start ? "1" : "0" });
    const url = `${origin}/page.html?${query}`;
    await page.goto(url);
    await page.waitForFunction(() => window.ready === true);
    await fn({ page, sent, collector, url, errors });
  } finally {
    await context.close();
    await collector.stop();
  }
}

test('consent "pending" sends nothing until optIn(), then everything kept', async () => {
  await withPage({ consent: "pending", replays: { enabled: true }, analytics: { flushIntervalMs: 100 } }, async ({ page, sent, collector }) => {
    assert.equal(await page.evaluate(() => sl.consentState), "pending");
    assert.equal(await page.evaluate(() => sl.replayState), "pending-consent");
    await page.evaluate(() => { for (let i = 0; i < 5; i++) sl.track("kept", { i }); });
    await page.click("#go");
    await page.evaluate(() => sl.flush());
    await sleep(400);
    assert.equal(sent.length, 0, "nothing sent while pending");
    assert.equal(await page.evaluate(() => Object.keys(localStorage).filter((k) => k.includes(":unsent:")).length), 0,
      "nothing persisted while pending");
    const stats = await page.evaluate(() => sl.stats());
    assert.equal(stats.queuedEvents, 7, "5 tracked + $page-view + $click kept in memory");

    await page.evaluate(() => sl.optIn());
    assert.equal(await page.evaluate(() => sl.consentState), "granted");
    await page.evaluate(() => sl.flush());
    const stored = await waitFor(async () => {
      const events = await collector.events();
      return events.filter((e) => e.event_type === "kept").length === 5 ? events : null;
    }, { message: "the kept events at the collector" });
    assert.ok(stored.some((e) => e.event_type === "$page-view"), "the page view captured while pending is delivered");
    await waitFor(async () => replayRequests(sent).length > 0, { message: "replay uploads after optIn()" });
    assert.equal(await page.evaluate(() => sl.replayState), "recording");
    assert.equal(await page.evaluate(() => localStorage.getItem("sightline:p_consent:consent")), "granted", "remembered");
  });
});

test("optOut() mid-session stops every request at once, including retries already scheduled", async () => {
  const opts = { replays: { enabled: true, flushIntervalMs: 100 }, analytics: { flushIntervalMs: 100 },
    upload: { retryInitialDelayMs: 150, retryMaxDelayMs: 300 } };
  await withPage(opts, async ({ page, sent, collector }) => {
    await page.evaluate(() => sl.flush());
    await collector.fault({ path_prefix: "/api/v1/", count: 1000, status: 503 });
    await page.evaluate(() => { for (let i = 0; i < 20; i++) sl.track("doomed", { i }); });
    await page.evaluate(() => sl.flush());
    await waitFor(async () => analyticsRequests(sent).filter((r) => r.body.includes("doomed")).length >= 2,
      { message: "retries of the failing batch" });
    const before = await page.evaluate(() => sl.stats());
    assert.ok(before.queuedEvents >= 20, "the batch is queued for a retry");
    await page.evaluate(() => sl.optOut());
    const stoppedAt = Date.now();
    await page.evaluate(() => { sl.track("after-opt-out"); document.body.append("mutation after opt-out"); });
    await page.evaluate(() => sl.flush());
    await sleep(1500);
    const late = sent.filter((r) => r.at > stoppedAt + 50);
    assert.deepEqual(late.map((r) => r.path), [], "no request after optOut()");
    const stats = await page.evaluate(() => sl.stats());
    assert.equal(stats.queuedEvents, 0, "nothing left queued");
    assert.ok(stats.droppedEvents >= 21, `dropped and counted: ${JSON.stringify(stats)}`);
    assert.equal(await page.evaluate(() => sl.replayState), "off");
    assert.equal(await page.evaluate(() => sl.consentState), "denied");
    assert.equal(await page.evaluate(() => Object.keys(localStorage).filter((k) => k.includes(":unsent:")).length), 0,
      "the persisted queue is dropped");
    // Remembered: the next page load starts denied and sends nothing.
    sent.length = 0;
    await collector.clearFaults();
    await page.reload();
    await page.waitForFunction(() => window.ready === true);
    assert.equal(await page.evaluate(() => sl.consentState), "denied");
    await page.evaluate(() => { sl.track("denied-event"); return sl.flush(); });
    await sleep(300);
    assert.equal(sent.length, 0, "a remembered optOut() sends nothing on the next page");
  });
});

test("Global Privacy Control starts denied unless optIn() was remembered", async () => {
  const gpc = () => Object.defineProperty(Navigator.prototype, "globalPrivacyControl", { get: () => true, configurable: true });
  await withPage({ replays: { enabled: true } }, async ({ page, sent, url }) => {
    assert.equal(await page.evaluate(() => navigator.globalPrivacyControl), true);
    assert.equal(await page.evaluate(() => sl.consentState), "denied");
    assert.equal(await page.evaluate(() => sl.replayState), "off");
    await page.evaluate(() => { sl.track("gpc"); return sl.flush(); });
    await sleep(300);
    assert.equal(sent.length, 0, "nothing sent under GPC");
    await page.evaluate(() => sl.optIn());
    await page.goto(url);
    await page.waitForFunction(() => window.ready === true);
    assert.equal(await page.evaluate(() => sl.consentState), "granted", "a remembered optIn() wins over GPC");
    await page.evaluate(() => sl.flush());
    await waitFor(async () => analyticsRequests(sent).length > 0, { message: "events after opting in" });
  }, { initScript: gpc });
  await withPage({ respectGlobalPrivacyControl: false }, async ({ page }) => {
    assert.equal(await page.evaluate(() => sl.consentState), "granted", "respectGlobalPrivacyControl: false");
  }, { initScript: gpc });
});

test("replays.sampleRate 0 sends no replay request, 1 does", async () => {
  await withPage({ replays: { enabled: true, sampleRate: 0 } }, async ({ page, sent }) => {
    assert.equal(await page.evaluate(() => sl.replayState), "sampled-out");
    await page.click("#go");
    await page.evaluate(() => sl.flush());
    await sleep(300);
    assert.equal(replayRequests(sent).length, 0, "a sampled-out session sends no replay");
    assert.ok(analyticsRequests(sent).length > 0, "analytics still flow");
  });
  await withPage({ replays: { enabled: true, sampleRate: 1 } }, async ({ page, sent }) => {
    assert.equal(await page.evaluate(() => sl.replayState), "recording");
    await page.evaluate(() => sl.flush());
    await waitFor(async () => replayRequests(sent).length > 0, { message: "replay requests at sampleRate 1" });
  });
});

test('replays.mode "on-error": nothing until an error, then a window that starts with a snapshot and plays', async () => {
  const errorBufferMs = 1500;
  const opts = { replays: { enabled: true, mode: "on-error", errorBufferMs, flushIntervalMs: 100 } };
  await withPage(opts, async ({ page, sent }) => {
    assert.equal(await page.evaluate(() => sl.replayState), "buffering");
    // Four seconds of page activity: more than two windows.
    for (let i = 0; i < 20; i++) {
      await page.evaluate((i) => { const p = document.createElement("p"); p.textContent = "line " + i; document.body.append(p); }, i);
      await sleep(200);
    }
    await page.evaluate(() => sl.flush());
    assert.equal(replayRequests(sent).length, 0, "nothing sent before the error");
    const errorAt = await page.evaluate(() => {
      setTimeout(() => { throw new Error("boom"); }, 0);
      return Date.now();
    });
    await waitFor(async () => replayRequests(sent).length > 0, { message: "the replay after the error" });
    await page.evaluate(() => sl.flush());
    assert.equal(await page.evaluate(() => sl.replayState), "recording", "records as always from here on");
    const events = replayRequests(sent).flatMap((r) => JSON.parse(r.body).events).sort((a, b) => a.timestamp - b.timestamp);
    assert.equal(events[0].type, 4, "starts with Meta");
    assert.equal(events[1].type, 2, "then FullSnapshot");
    assert.ok(errorAt - events[0].timestamp <= errorBufferMs + 50,
      `begins at most errorBufferMs before the error: ${errorAt - events[0].timestamp} ms`);
    const trigger = events.find((e) => e.type === 5 && e.data.tag === "sightline/replay-trigger");
    assert.deepEqual(trigger?.data.payload, { reason: "error" });
    // It plays in rrweb's player, and the last lines are there.
    const replayPage = await browser.newPage();
    try {
      await replayPage.goto(`${origin}/replay.html`);
      const text = await replayPage.evaluate(async (events) => {
        const replayer = new rrwebReplay.Replayer(events, { root: document.body, showWarning: false });
        replayer.pause(replayer.getMetaData().totalTime + 1);
        await new Promise((r) => setTimeout(r, 200));
        return replayer.iframe.contentDocument.body.textContent;
      }, events);
      assert.ok(text.includes("line 19"), "the replay shows the page as it was at the error");
    } finally {
      await replayPage.close();
    }
  });
});

test("captureReplay() sends the on-error window on demand", async () => {
  await withPage({ replays: { enabled: true, mode: "on-error" } }, async ({ page, sent }) => {
    await page.click("#go");
    await page.evaluate(() => sl.flush());
    assert.equal(replayRequests(sent).length, 0);
    await page.evaluate(() => { sl.captureReplay("checkout-failed"); return sl.flush(); });
    await waitFor(async () => replayRequests(sent).length > 0, { message: "the captured replay" });
    const events = replayRequests(sent).flatMap((r) => JSON.parse(r.body).events);
    assert.ok(events.some((e) => e.type === 5 && e.data.payload?.reason === "checkout-failed"));
  });
});

test("replays.minimumDurationMs holds a short session back; maxSessionDurationMs stops the recorder", async () => {
  await withPage({ replays: { enabled: true, minimumDurationMs: 60000 } }, async ({ page, sent }) => {
    await page.click("#go");
    await page.evaluate(() => sl.flush());
    await sleep(300);
    assert.equal(replayRequests(sent).length, 0, "held back: the session is shorter than the minimum");
    assert.equal(await page.evaluate(() => sl.replayState), "recording");
  });
  await withPage({ replays: { enabled: true, maxSessionDurationMs: 800, flushIntervalMs: 100 } }, async ({ page, sent }) => {
    await waitFor(async () => (await page.evaluate(() => sl.replayState)) === "stopped", { message: "the recorder stops" });
    await page.evaluate(() => sl.flush());
    const events = replayRequests(sent).flatMap((r) => JSON.parse(r.body).events);
    const stopped = events.find((e) => e.type === 5 && e.data.tag === "sightline/recording-stopped");
    assert.deepEqual(stopped?.data.payload, { reason: "max-session-duration" });
    const count = replayRequests(sent).length;
    await page.evaluate(() => { document.body.append("after the stop"); return sl.flush(); });
    await sleep(300);
    assert.equal(replayRequests(sent).length, count, "nothing recorded after the stop");
  });
});

test("the demo page's consent banner shows and changes consentState and replayState", async () => {
  const collector = await startCollector({ sdk: true, args: ["--allow-anonymous"] });
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(collector.url + "/");
    await page.waitForFunction(() => document.getElementById("consent-state").textContent === "granted");
    assert.equal(await page.textContent("#replay-state"), "recording");
    await page.click("#consent-reject");
    assert.equal(await page.textContent("#consent-state"), "denied");
    assert.equal(await page.textContent("#replay-state"), "off");
    await page.reload();
    await page.waitForFunction(() => document.getElementById("consent-state").textContent === "denied");
    await page.click("#consent-accept");
    assert.equal(await page.textContent("#consent-state"), "granted");
    assert.equal(await page.textContent("#replay-state"), "recording");
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
    await collector.stop();
  }
});
