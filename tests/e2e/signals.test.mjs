// Product signals end to end (api.md "Signals"): the built SDK (pkg/) in Debian's headless
// Chromium against the real collector (www-demo/, SQLite). Pages come from a small static
// server here (the SDK, a signals page, and the `web-vitals` npm library for comparison);
// results are read back from what the collector stored (/api/dashboard/events) and, for
// the replay markers, from the replay batches the page uploaded.
//
//   bash scripts/build.sh && node --test tests/e2e/signals.test.mjs
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { gunzipSync } from "node:zlib";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { startCollector, startPageServer, launchChromium, waitFor } from "./support.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const WEB_VITALS = join(here, "..", "node_modules", "web-vitals", "dist", "web-vitals.js");

// The page: options from the query (`?opts=<analytics json>&replay=1&api=<url>&vitals=1`).
// With `vitals=1` Google's web-vitals library reports every change into localStorage, so
// the values survive the page being left.
const BOOT_JS = `import init, { Sightline } from "/pkg/sightline.js";
const q = new URLSearchParams(location.search);
if (q.get("vitals")) {
  const wv = await import("/vendor/web-vitals.js");
  const put = (m) => {
    const all = JSON.parse(localStorage.getItem("__wv") || "{}");
    all[m.name] = m.value;
    localStorage.setItem("__wv", JSON.stringify(all));
  };
  for (const on of [wv.onLCP, wv.onCLS, wv.onINP, wv.onFCP, wv.onTTFB]) on(put, { reportAllChanges: true });
}
await init();
const analytics = Object.assign({ flushIntervalMs: 60000 }, JSON.parse(q.get("opts") || "{}"));
const sl = new Sightline({ projectId: "p_signals", apiBaseUrl: q.get("api"), getAnalyticsSession: () => null,
  analytics, replays: { enabled: q.get("replay") === "1", flushIntervalMs: 60000 } });
sl.start();
window.sl = sl;
window.fire = function fire() { throw new Error("the same every time"); };
document.getElementById("opens").addEventListener("click", () => { document.getElementById("panel").hidden = false; });
document.getElementById("slow").addEventListener("click", () => {
  const end = performance.now() + 150;
  while (performance.now() < end) {}
  document.getElementById("slow").textContent = "done";
});
setTimeout(() => {
  // A layout shift without input: a banner pushes the content down.
  const banner = document.createElement("div");
  banner.style.height = "120px";
  banner.textContent = "banner";
  document.body.prepend(banner);
  window.__shifted = true;
}, 150);
window.__ready = true;`;

const PAGE_HTML = `<!doctype html><html><head><meta charset="utf-8"><title>signals</title>
<style>body{margin:0;font:16px sans-serif} #tall{height:4000px} h1{font-size:48px;margin:0;padding:20px}
#zone{width:200px;height:80px;background:#eee}</style></head><body>
<h1>The largest paint of this page is this heading text</h1>
<button id="dead">Does nothing</button>
<button id="opens">Opens a panel</button>
<button id="slow">Slow handler</button>
<div id="panel" hidden>The panel</div>
<div id="zone">Click zone</div>
<input id="field" value="x">
<div id="tall"></div>
<script type="module" src="/boot.js"></script>
</body></html>`;

let server;
let origin;
let browser;

before(async () => {
  server = await startPageServer({
    pkg: true,
    routes: {
      "/page.html": PAGE_HTML,
      "/blank.html": "<!doctype html><title>blank</title><p>left",
      "/boot.js": BOOT_JS,
      "/vendor/web-vitals.js": () => readFile(WEB_VITALS),
    },
  });
  origin = server.origin;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

/**
 * Opens the signals page against a fresh collector; `run(page, ctx)` drives it. Returns the
 * stored analytics events of kind `$…` and the replay events the page uploaded.
 */
async function withPage({ opts = {}, replay = false, vitals = false }, run) {
  const collector = await startCollector({ args: ["--allow-anonymous"] });
  const context = await browser.newContext({ viewport: { width: 1000, height: 800 } });
  const replayEvents = [];
  const replaySessions = new Set();
  const pageErrors = [];
  try {
    const page = await context.newPage();
    page.on("request", (request) => {
      if (!request.url().includes("/session-replays/batch")) return;
      let body = request.postDataBuffer();
      if (!body) return;
      if (body[0] === 0x1f && body[1] === 0x8b) body = gunzipSync(body);
      const batch = JSON.parse(body.toString("utf8"));
      replaySessions.add(batch.browser_session_id);
      replayEvents.push(...batch.events);
    });
    const query = new URLSearchParams({ opts: JSON.stringify(opts), api: collector.url });
    if (replay) query.set("replay", "1");
    if (vitals) query.set("vitals", "1");
    await page.goto(`${origin}/page.html?${query}`);
    await page.waitForFunction(() => window.__ready === true && window.__shifted === true);
    page.on("pageerror", (e) => pageErrors.push(String(e)));
    const ctx = {
      collector,
      replayEvents,
      replaySessions,
      pageErrors,
      stored: async (type) => (await collector.events()).filter((e) => e.event_type === type),
      flush: () => page.evaluate(() => window.sl.flush()),
      leave: () => page.goto(`${origin}/blank.html`),
      waitStored: (type, n = 1) =>
        waitFor(async () => {
          const found = (await collector.events()).filter((e) => e.event_type === type);
          return found.length >= n && found;
        }, { timeout: 15000, message: `${n} stored ${type}` }),
    };
    await run(page, ctx);
  } finally {
    await context.close();
    await collector.stop();
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test("a rage burst is one $rage-click; a dead button gives a $dead-click, one that opens a panel does not; each is marked in the replay", async () => {
  await withPage({ replay: true }, async (page, c) => {
    const zone = await page.locator("#zone").boundingBox();
    for (let i = 0; i < 4; i++) await page.mouse.click(zone.x + 50 + i * 3, zone.y + 40, { delay: 10 });
    await page.click("#opens");
    await page.click("#dead");
    await page.click("#field"); // a form field: never a dead click
    await sleep(3000);
    await c.flush();

    const rage = await c.stored("$rage-click");
    assert.equal(rage.length, 1, `one $rage-click: ${JSON.stringify(rage)}`);
    assert.equal(rage[0].data.click_count, 4);
    assert.match(rage[0].data.selector, /div#zone$/);
    assert.equal(rage[0].data.text, "Click zone", "the $click fields");

    const dead = await c.stored("$dead-click");
    assert.equal(dead.length, 1, `one $dead-click: ${JSON.stringify(dead.map((d) => d.data.selector))}`);
    assert.match(dead[0].data.selector, /button#dead$/);
    assert.equal(dead[0].data.tag_name, "button");
    assert.equal(dead[0].data.text, "Does nothing");
    assert.ok(dead[0].data.wait_ms >= 2500 && dead[0].data.wait_ms < 4000, `wait_ms ${dead[0].data.wait_ms}`);
    assert.equal(await page.locator("#panel").isVisible(), true);

    // The replay holds a Custom event per signal, stamped when it happened.
    for (const signal of [rage[0], dead[0]]) {
      const marks = c.replayEvents.filter((e) => e.type === 5 && e.data.tag === signal.event_type);
      assert.equal(marks.length, 1, `one replay marker for ${signal.event_type}`);
      assert.equal(marks[0].timestamp, signal.event_at_ms);
      assert.deepEqual(marks[0].data.payload, signal.data);
    }
    assert.deepEqual(c.pageErrors, []);
  });
});

test("leaving after scrolling half way gives $page-leave with max_scroll_percent 50±5 on the unload path", async () => {
  await withPage({}, async (page, c) => {
    const started = Date.now();
    await page.evaluate(() => {
      const h = document.documentElement.scrollHeight;
      scrollTo(0, h / 2 - innerHeight);
    });
    await sleep(300);
    await page.evaluate(() => scrollTo(0, 0)); // back up: the maximum stays
    await sleep(200);
    await c.leave();
    const [leave] = await c.waitStored("$page-leave");
    const elapsed = Date.now() - started;
    assert.ok(Math.abs(leave.data.max_scroll_percent - 50) <= 5, `max_scroll_percent ${leave.data.max_scroll_percent}`);
    assert.equal(leave.data.path, "/page.html");
    assert.ok(leave.data.url.startsWith(`${origin}/page.html?`), leave.data.url);
    assert.ok(leave.data.duration_ms >= 400 && leave.data.duration_ms <= elapsed + 1000, `duration_ms ${leave.data.duration_ms}`);
    assert.equal((await c.stored("$page-leave")).length, 1);
    const vitals = await c.stored("$web-vitals");
    assert.equal(vitals.length, 1, "web vitals once, at the page's end");
  });
});

test("an SPA navigation ends the page view: $page-leave of the old path before the new $page-view", async () => {
  await withPage({}, async (page, c) => {
    await page.evaluate(() => history.pushState({}, "", "/spa/next"));
    await c.flush();
    const [leave] = await c.waitStored("$page-leave");
    assert.equal(leave.data.path, "/page.html");
    const views = (await c.stored("$page-view")).map((e) => e.data.path);
    assert.deepEqual(views.sort(), ["/page.html", "/spa/next"]);
  });
});

test("$web-vitals agrees with Google's web-vitals library within 5 %", async () => {
  await withPage({ vitals: true }, async (page, c) => {
    await sleep(800); // past the 500 ms "recent input" window of the shift
    await page.click("#slow");
    await sleep(500);
    await c.leave();
    const [event] = await c.waitStored("$web-vitals");
    const theirs = await page.evaluate(() => JSON.parse(localStorage.getItem("__wv") || "{}"));
    const ours = event.data;
    const names = { LCP: "lcp_ms", FCP: "fcp_ms", TTFB: "ttfb_ms", CLS: "cls", INP: "inp_ms" };
    for (const [name, field] of Object.entries(names)) {
      assert.equal(typeof theirs[name], "number", `web-vitals measured ${name}: ${JSON.stringify(theirs)}`);
      assert.equal(typeof ours[field], "number", `we measured ${field}: ${JSON.stringify(ours)}`);
      const tolerance = Math.max(0.05 * theirs[name], name === "CLS" ? 1e-5 : 0.01);
      assert.ok(Math.abs(ours[field] - theirs[name]) <= tolerance,
        `${name}: ours ${ours[field]}, web-vitals ${theirs[name]}`);
    }
    assert.ok(ours.cls > 0.01, `the banner shifted the page: ${ours.cls}`);
    assert.ok(ours.inp_ms >= 150, `the slow handler is the INP: ${ours.inp_ms}`);
  });
});

test("$exception: one per thrown error, ten identical ones are one with count 10; off by default", async () => {
  await withPage({ opts: { captureExceptions: true } }, async (page, c) => {
    await page.evaluate(() => setTimeout(() => { throw new TypeError("boom once"); }));
    await page.evaluate(() => { for (let i = 0; i < 10; i++) setTimeout(() => window.fire()); });
    await page.evaluate(() => { Promise.reject(new RangeError("rejected")); });
    await sleep(2600);
    await c.flush();
    const stored = await c.stored("$exception");
    const byMessage = Object.fromEntries(stored.map((e) => [e.data.message, e.data]));
    assert.equal(stored.length, 3, JSON.stringify(stored.map((e) => e.data)));
    const once = byMessage["boom once"];
    assert.equal(once.type, "TypeError");
    assert.equal(once.count, 1);
    assert.match(once.stack, /TypeError: boom once/);
    const same = byMessage["the same every time"];
    assert.equal(same.count, 10, "ten identical exceptions counted in one event");
    assert.equal(same.type, "Error");
    assert.match(same.source, /\/boot\.js$/);
    assert.ok(same.line > 0 && same.column > 0, `line ${same.line}, column ${same.column}`);
    assert.match(same.stack, /at (window\.)?fire/);
    assert.equal(byMessage.rejected.type, "RangeError");
  });
  await withPage({}, async (page, c) => {
    await page.evaluate(() => setTimeout(() => { throw new Error("not captured"); }));
    await sleep(2300);
    await c.flush();
    assert.deepEqual(await c.stored("$exception"), [], "captureExceptions defaults to false");
  });
});

test("the dashboard lists a session's signals and its jump link opens the replay at that moment", async () => {
  await withPage({ replay: true }, async (page, c) => {
    await sleep(1200); // the signal is well into the replay
    await page.click("#dead");
    const zone = await page.locator("#zone").boundingBox();
    for (let i = 0; i < 3; i++) await page.mouse.click(zone.x + 20, zone.y + 20, { delay: 10 });
    await sleep(3000);
    await c.flush();
    assert.equal(c.replaySessions.size, 1);
    const [session] = c.replaySessions;
    const start = Math.min(...c.replayEvents.map((e) => e.timestamp));
    const mark = c.replayEvents.find((e) => e.type === 5 && e.data.tag === "$dead-click");
    assert.ok(mark, "the dead click is marked in the replay");
    const expected = mark.timestamp - start;
    assert.ok(expected >= 1000, `offset ${expected}`);

    const dash = await page.context().newPage();
    const errors = [];
    dash.on("pageerror", (e) => errors.push(String(e)));
    await dash.goto(`${c.collector.url}/dashboard?session=${session}`);
    const link = dash.locator('#signal-list a.jump[data-tag="$dead-click"]');
    await link.waitFor({ timeout: 15000 });
    const counts = await dash.locator("#signal-counts").textContent();
    assert.match(counts, /1 × \$dead-click/);
    assert.match(counts, /1 × \$rage-click/);
    assert.equal(Number(await link.getAttribute("data-offset")), expected);
    await link.click();
    const current = await dash.waitForFunction((want) => {
      const t = window.__replayPlayer?.getReplayer().getCurrentTime();
      return Math.abs(t - want) < 50 && t;
    }, expected, { timeout: 10000 }).then((h) => h.jsonValue());
    assert.ok(Math.abs(current - expected) < 50, `player at ${current} ms, the signal at ${expected} ms`);
    // The link is an address too: opening it starts the replay at the signal.
    assert.match(dash.url(), new RegExp(`[?&]t=${expected}$`));
    await dash.reload();
    await dash.waitForFunction((want) => {
      const t = window.__replayPlayer?.getReplayer().getCurrentTime();
      return t !== undefined && Math.abs(t - want) < 50;
    }, expected, { timeout: 15000 });
    assert.deepEqual(errors, []);
  });
});

test("options: a wrong type is a TypeError naming the field", async () => {
  const page = await browser.newPage();
  try {
    await page.goto(`${origin}/blank.html`);
    const message = await page.evaluate(async () => {
      const { default: init, Sightline } = await import("/pkg/sightline.js");
      await init();
      try {
        new Sightline({ projectId: "p", apiBaseUrl: "http://127.0.0.1:1", getAnalyticsSession: () => null,
          analytics: { deadClicks: "yes" } });
        return "no error";
      } catch (e) {
        return `${e.name}: ${e.message}`;
      }
    });
    assert.match(message, /^TypeError: .*options\.analytics\.deadClicks must be a boolean/);
  } finally {
    await page.close();
  }
});

test("options: the first wrong field (in reading order) is the one named; nothing after it is read", async () => {
  const page = await browser.newPage();
  try {
    await page.goto(`${origin}/blank.html`);
    const got = await page.evaluate(async () => {
      const { default: init, Sightline } = await import("/pkg/sightline.js");
      await init();
      const attempt = (options) => {
        try {
          new Sightline(options);
          return "no error";
        } catch (e) {
          return `${e.name}: ${e.message}`;
        }
      };
      const base = { projectId: "p", apiBaseUrl: "http://127.0.0.1:1", getAnalyticsSession: () => null };
      const reads = [];
      const spied = new Proxy({ ...base, analytics: { flushIntervalMs: 0 }, replays: { sampleRate: 2 } }, {
        get(target, key) {
          reads.push(String(key));
          return target[key];
        },
      });
      return {
        // flushIntervalMs is read before deadClicks.
        order: attempt({ ...base, analytics: { deadClicks: "yes", flushIntervalMs: "x" }, replays: { mode: "never" } }),
        number: attempt({ ...base, replays: { sampleRate: 2 } }),
        oneOf: attempt({ ...base, replays: { mode: "never" } }),
        selector: attempt({ ...base, replays: { blockSelector: "[[", maskTextSelector: "((" }, upload: { retryMaxDelayMs: -1 } }),
        gateUrl: attempt({ ...base, accessGate: { url: "ftp://x/y", retry: { jitter: 2 } } }),
        noSession: attempt({ projectId: "p", apiBaseUrl: "http://127.0.0.1:1" }),
        noProject: attempt({ apiBaseUrl: 7, getAnalyticsSession: 1 }),
        spied: attempt(spied),
        reads,
        valid: attempt({ ...base, replays: { blockSelector: ".a" }, accessGate: { url: "/access" } }),
      };
    });
    assert.deepEqual(got, {
      order: 'TypeError: sightline: options.analytics.flushIntervalMs must be a number from 1 to 2147483647, got the string "x"',
      number: "TypeError: sightline: options.replays.sampleRate must be a number from 0 to 1, got the number 2",
      oneOf: 'TypeError: sightline: options.replays.mode must be one of "always", "on-error", got the string "never"',
      selector: 'TypeError: sightline: options.replays.blockSelector must be a valid CSS selector, got "[["',
      gateUrl: 'TypeError: sightline: options.accessGate.url must be an absolute URL or a path, got the string "ftp://x/y"',
      noSession: "TypeError: sightline: options.getAnalyticsSession must be a function, got undefined",
      noProject: "TypeError: sightline: options.projectId must be a non-empty string, got undefined",
      spied: "TypeError: sightline: options.analytics.flushIntervalMs must be a number from 1 to 2147483647, got the number 0",
      // The root's fields up to `analytics`, where the error is: none after it.
      reads: ["projectId", "apiBaseUrl", "publishableClientKey", "getAnalyticsSession", "analytics"],
      valid: "no error",
    });
  } finally {
    await page.close();
  }
});
