// End-to-end tests of the event tracker: the built SDK (pkg/) in Debian's headless Chromium,
// driven by Playwright, against the real collector (www-demo/) with its SQLite database and
// test hooks (injected faults, counters). Results are read back over HTTP (/__stats and
// /api/dashboard/events), i.e. from what the collector stored.
//
//   bash scripts/build.sh && node --test tests/e2e/tracker.test.mjs
//
// Pages: the demo (www-demo/index.html) and a bare fixture (www-demo/static/demo-e2e.html)
// configured per test through `window.__fixture`.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { assertDeliveredOnce, launchChromium, startCollector, waitFor } from "./support.mjs";

const KEEPALIVE_LIMIT = 64 * 1024;
const ANALYTICS = "/api/v1/analytics/events/batch";

/**
 * An init script (runs before any page script): records every upload the page starts —
 * {path, keepalive, bytes, load} — in localStorage, synchronously, so the record survives
 * the page being left (the keepalive requests of the unload path are started in pagehide).
 */
function recordUploads() {
  const original = window.fetch;
  const size = (body) => {
    if (body == null) return 0;
    if (typeof body === "string") return new TextEncoder().encode(body).length;
    if (body instanceof Blob) return body.size;
    if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) return body.byteLength;
    return -1;
  };
  window.fetch = function (input, init) {
    try {
      const url = new URL(input instanceof Request ? input.url : String(input), location.href);
      if (url.pathname.startsWith("/api/v1/")) {
        const log = JSON.parse(localStorage.getItem("__e2e_uploads") || "[]");
        log.push({ path: url.pathname, origin: url.origin, keepalive: !!(init && init.keepalive),
          bytes: size(init && init.body), load: performance.timeOrigin });
        localStorage.setItem("__e2e_uploads", JSON.stringify(log));
      }
    } catch (e) {
      console.error("upload recorder:", e);
    }
    return original.apply(this, arguments);
  };
}

const fixtureUrl = (base, fixture = {}) =>
  `${base}/static/demo-e2e.html?fixture=${encodeURIComponent(JSON.stringify(fixture))}`;

/** Opens the fixture with `fixture` and waits for the SDK to have started. */
async function openFixture(page, base, fixture = {}) {
  await page.goto(fixtureUrl(base, fixture));
  await page.waitForFunction(() => window.__ready || window.__error, null, { timeout: 10000 });
  const error = await page.evaluate(() => window.__error);
  assert.equal(error, undefined, "the fixture failed to start the SDK");
}

/** Leaves for a same-origin page that does not load the SDK (pagehide, visibilitychange fire). */
async function leave(page, base) {
  await page.goto(fixtureUrl(base, { sdk: false }));
  await page.waitForFunction(() => window.__ready);
}

/** `n` track() calls of ~`pad` bytes of data each, tagged with `run` and a sequence id. */
function burst(page, run, n, pad = 300, from = 0) {
  return page.evaluate(({ run, n, pad, from }) => {
    for (let i = from; i < from + n; i++) window.sl.track("burst", { run, id: i, pad: "x".repeat(pad) });
  }, { run, n, pad, from });
}

/** What `recordUploads` saw (read from a live page of the same origin). */
const uploads = (page) => page.evaluate(() => JSON.parse(localStorage.getItem("__e2e_uploads") || "[]"));

/** Keepalive uploads grouped by the page load that started them. */
function keepaliveByLoad(log) {
  const loads = new Map();
  for (const u of log.filter((u) => u.keepalive)) {
    if (!loads.has(u.load)) loads.set(u.load, []);
    loads.get(u.load).push(u.bytes);
  }
  return [...loads.values()];
}

function assertKeepaliveWithinBudget(log) {
  const groups = keepaliveByLoad(log);
  for (const sizes of groups) {
    for (const bytes of sizes) assert.ok(bytes >= 0 && bytes < KEEPALIVE_LIMIT, `a keepalive body of ${bytes} bytes`);
    const sum = sizes.reduce((a, b) => a + b, 0);
    assert.ok(sum < KEEPALIVE_LIMIT, `keepalive bodies of one unload sum to ${sum} bytes (${sizes.join(", ")})`);
  }
  return groups;
}

describe("tracker end to end (SDK in Chromium → collector → SQLite)", () => {
  let browser;
  before(async () => { browser = await launchChromium(); });
  after(async () => { await browser?.close(); });

  /** A fresh collector and a fresh browser context (own localStorage) for one test. */
  async function setup(t, { args = [], record = true } = {}) {
    const c = await startCollector({ sdk: true, args });
    const context = await browser.newContext();
    if (record) await context.addInitScript(recordUploads);
    const page = await context.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));
    t.after(async () => { await context.close(); await c.stop(); });
    return { c, context, page, errors };
  }

  test("a. the demo page: navigation, buttons, sign-in and custom events arrive in SQLite", { timeout: 45000 }, async (t) => {
    const { c, page, errors } = await setup(t);
    await page.goto(c.url + "/");
    await page.waitForFunction(() => window.__demoReady, null, { timeout: 10000 });
    assert.equal(await page.locator("#sdk-error").isHidden(), true, "the SDK started");

    // An anonymous user at first (the demo signs every visitor in as one), then alice.
    await page.click("#cta-primary");
    await page.click("nav >> text=Pricing");
    assert.equal(await page.title(), "Pricing · sightline demo");
    await page.click("button[data-plan=pro]");
    await page.click("nav >> text=Settings");
    await page.fill("#display-name", "Ada");
    await page.fill("#password", "Hunter2-Secret!");
    await page.click("#save-settings");
    await page.click("nav >> text=Home");
    await page.click("#sign-in-alice");
    // The switch waits for the anonymous user's events to be flushed first.
    await page.waitForFunction(() => document.querySelector("#user").textContent === "alice", null, { timeout: 10000 });
    await page.click("#track");
    await page.goBack(); // popstate → a "pop" page view (Settings)
    await page.waitForFunction(() => document.title.startsWith("Settings"));

    const flushed = await page.evaluate(() => window.sightline.flush());
    assert.equal(typeof flushed.sent, "number");
    const byType = (events, type) => events.filter((e) => e.event_type === type);
    const events = await waitFor(async () => {
      const events = await c.events(500);
      const views = byType(events, "$page-view").map((e) => e.data.entry_type);
      const done = views.includes("initial") && views.filter((v) => v === "push").length >= 3 && views.includes("pop") &&
        byType(events, "demo-button").length === 1 && byType(events, "plan-selected").length === 1 &&
        byType(events, "settings-saved").length === 1;
      return done && events;
    }, { message: async () => JSON.stringify((await c.events(500)).map((e) => e.event_type)) });

    const clicks = byType(events, "$click");
    const selectors = clicks.map((e) => e.data.selector);
    for (const s of ["button#cta-primary", "button#sign-in-alice", "button#track", "button#save-settings", "nav#nav > a"]) {
      assert.ok(selectors.includes(s), `a $click with selector ${s} (got ${selectors.join(" | ")})`);
    }
    const pricingClick = clicks.find((e) => e.data.text === "Pricing");
    assert.equal(pricingClick.data.href, "/?view=pricing");
    assert.equal(pricingClick.data.tag_name, "a");
    const views = byType(events, "$page-view");
    const pricingView = views.find((e) => e.data.url.endsWith("/?view=pricing"));
    assert.equal(pricingView.data.entry_type, "push");
    assert.equal(pricingView.data.title, "Pricing · sightline demo");
    assert.equal(pricingView.data.path, "/");
    assert.deepEqual(byType(events, "plan-selected")[0].data, { plan: "pro" });
    assert.equal(byType(events, "demo-button")[0].data.source, "demo-page");
    assert.deepEqual(byType(events, "settings-saved")[0].data, { display_name_length: 3, notifications: true });
    // Before signing in, the visitor's events went out with their anonymous user's session
    // (flushed before the switch); after it, with alice's. Nothing was dropped in between.
    const anon = byType(events, "plan-selected")[0].user_id;
    assert.match(anon, /^anon-[0-9a-f]{8}$/);
    assert.equal(byType(events, "settings-saved")[0].user_id, anon);
    assert.equal(byType(events, "demo-button")[0].user_id, "alice");
    assert.ok(events.every((e) => e.user_id === "alice" || e.user_id === anon), "each event with its own user's session");
    assert.ok(!JSON.stringify(events).includes("Hunter2-Secret!"), "the password is in no analytics event");
    const stats = await page.evaluate(() => window.sightline.stats());
    assert.equal(stats.droppedEvents, 0);
    assert.ok(stats.deliveredEvents >= events.length, `stats ${JSON.stringify(stats)} vs ${events.length} stored`);

    // The panel shows what was sent.
    await page.waitForFunction(() => Number(document.querySelector("#stat-delivered").textContent) > 0);
    assert.ok(await page.locator("#request-log tbody tr").count() > 0, "the request log lists the uploads");

    // Replays (when the recorder is on): the password never reaches the server.
    const sessions = (await (await fetch(`${c.url}/api/dashboard/sessions`)).json()).sessions;
    for (const s of sessions) {
      const body = await (await fetch(`${c.url}/api/dashboard/sessions/${s.browser_session_id}/events`)).text();
      assert.ok(!body.includes("Hunter2-Secret!"), "the password is in no replay event");
    }
    assert.deepEqual(errors, []);
  });

  test("a. the demo page: the access gate follows sign-in (alice granted, bob denied, sign-out unknown)", { timeout: 30000 }, async (t) => {
    const { c, page, errors } = await setup(t);
    await page.goto(c.url + "/");
    await page.waitForFunction(() => window.__demoReady, null, { timeout: 10000 });
    if (!(await page.evaluate(() => typeof window.sightline.checkAccess === "function"))) {
      t.skip("the access gate is not wired into Sightline in this build");
      return;
    }
    const gate = () => page.textContent("#gate-state");
    await page.click("#sign-in-alice");
    await page.waitForFunction(() => document.querySelector("#gate-state").textContent === "granted", null, { timeout: 10000 });
    assert.equal(await page.evaluate(() => window.sightline.accessState), "granted");
    assert.match(await page.textContent("#lab"), /open/);
    await page.click("#sign-in-bob");
    await page.waitForFunction(() => document.querySelector("#gate-state").textContent === "denied", null, { timeout: 10000 });
    await page.click("#sign-out");
    await page.waitForFunction(() => document.querySelector("#gate-state").textContent === "unknown", null, { timeout: 10000 });
    assert.equal(await gate(), "unknown");
    assert.equal(await page.evaluate(() => window.sightline.stats().queuedEvents), 0, "sign-out cleared the buffer");
    assert.deepEqual(errors, []);
  });

  // The keepalive request of the unload path meets the first injected 503, unseen by the
  // page: its batch must still be persisted for the next page (fixed in 8fbc665; before,
  // those events were lost), and the server deduplicates whatever arrives twice.
  test("b. acceptance: slow session, 3×503, SPA navigation, 300-event burst, leave, reload → each event once, keepalive < 64 KiB", { timeout: 60000 }, async (t) => {
    const { c, page, errors } = await setup(t);
    const run = "b-" + randomUUID();
    await c.fault({ path_prefix: "/api/v1/analytics", count: 3, status: 503 });
    await openFixture(page, c.url, { sessionDelayMs: 3000 });
    await page.evaluate(() => { history.pushState({}, "", "/static/demo-e2e.html?view=a"); history.pushState({}, "", "/static/demo-e2e.html?view=b"); });
    // The session is slow; wait until the SDK has resolved it once (as a real page would
    // have after a few seconds), so that the unload path can send with keepalive.
    await page.waitForFunction(() => window.sessionResolved >= 1, null, { timeout: 10000 });
    await burst(page, run, 300, 300);
    const pending = await page.evaluate(() => window.sl.stats().queuedEvents);
    assert.ok(pending >= 300, `${pending} events pending before leaving`);

    // Cyclic data throws a TypeError that says so; the SDK keeps working.
    const cyclic = await page.evaluate(() => {
      const o = { a: 1 };
      o.self = o;
      try { window.sl.track("cyclic", o); return "no error"; } catch (e) { return `${e.name}: ${e.message}`; }
    });
    assert.match(cyclic, /^TypeError: .*(cyclic|circular)/i);
    await page.evaluate((run) => window.sl.track("burst", { run, id: 300, after: "cyclic" }), run);

    await leave(page, c.url);
    const log = await uploads(page);
    assertKeepaliveWithinBudget(log);
    const keepalive = log.filter((u) => u.keepalive);
    t.diagnostic(`keepalive uploads at unload: ${keepalive.length} (${keepalive.map((u) => u.bytes).join(", ")} bytes)`);
    assert.ok(keepalive.length > 0, "the unload path sent something with keepalive");

    await openFixture(page, c.url, { sessionDelayMs: 3000 });
    await assertDeliveredOnce(c, run, 301, { timeout: 40000 });
    const stats = await c.stats();
    t.diagnostic(`server: ${JSON.stringify({ requests: stats.requests[`POST ${ANALYTICS}`], batches: stats.analytics, faults: stats.faults.applied })}`);
    assert.equal(stats.faults.pending.length, 0, "the three 503s were used");
    const all = await c.events(5000);
    const pageViews = all.filter((e) => e.event_type === "$page-view").map((e) => e.data.entry_type);
    assert.deepEqual(pageViews.filter((v) => v === "push").length, 2, `page views: ${pageViews}`);
    assert.ok(pageViews.filter((v) => v === "initial").length >= 1, `page views: ${pageViews}`);
    assertKeepaliveWithinBudget(await uploads(page));
    assert.deepEqual(errors, []);
  });

  describe("c. no loss under faults", () => {
    const fast = { upload: { retryInitialDelayMs: 100, retryMaxDelayMs: 400 } };

    test("a 503 storm (20 failures) then recovery: every event arrives once", { timeout: 40000 }, async (t) => {
      const { c, page, errors } = await setup(t);
      const run = "storm-" + randomUUID();
      await c.fault({ path_prefix: "/api/v1/analytics", count: 20, status: 503 });
      await openFixture(page, c.url, { options: fast });
      await burst(page, run, 120, 100);
      await assertDeliveredOnce(c, run, 120, { timeout: 30000 });
      const stats = await c.stats();
      assert.equal(stats.faults.applied, 20);
      await page.evaluate(() => window.sl.flush());
      const sdk = await page.evaluate(() => window.sl.stats());
      t.diagnostic(`sdk stats ${JSON.stringify(sdk)}; analytics requests ${stats.requests[`POST ${ANALYTICS}`]}`);
      assert.equal(sdk.droppedEvents, 0);
      assert.ok(sdk.deliveredEvents >= 121, `deliveredEvents ${sdk.deliveredEvents}`);
      assert.deepEqual(errors, []);
    });

    test("dropped connections are retried: every event arrives once", { timeout: 30000 }, async (t) => {
      const { c, page, errors } = await setup(t);
      const run = "drop-" + randomUUID();
      await c.fault({ path_prefix: "/api/v1/analytics", count: 3, drop: true });
      await openFixture(page, c.url, { options: fast });
      await burst(page, run, 75, 100);
      const first = await page.evaluate(() => window.sl.flush());
      t.diagnostic(`first flush: ${JSON.stringify(first)}`);
      await assertDeliveredOnce(c, run, 75, { timeout: 20000 });
      assert.equal((await c.stats()).faults.applied, 3);
      assert.deepEqual(errors, []);
    });

    test("a slow session (3 s): flush waits for it, and leaving before it ever answered loses nothing", { timeout: 45000 }, async (t) => {
      const { c, page, errors } = await setup(t);
      const run = "slow-" + randomUUID();
      await openFixture(page, c.url, { sessionDelayMs: 3000 });
      await burst(page, run, 20, 50);
      const started = Date.now();
      const flushed = await page.evaluate(() => window.sl.flush());
      t.diagnostic(`flush with a 3 s session: ${JSON.stringify(flushed)} after ${Date.now() - started} ms`);
      await assertDeliveredOnce(c, run, 20);

      // A new page: events captured and the page left before the session ever resolved.
      const run2 = "slow2-" + randomUUID();
      await openFixture(page, c.url, { sessionDelayMs: 3000 });
      await burst(page, run2, 80, 200);
      assert.equal(await page.evaluate(() => window.sessionResolved), 0, "left before the session answered");
      await leave(page, c.url);
      await openFixture(page, c.url, { sessionDelayMs: 3000 });
      await assertDeliveredOnce(c, run2, 80, { timeout: 20000 });
      assertKeepaliveWithinBudget(await uploads(page));
      assert.deepEqual(errors, []);
    });

    test("unload with more than 64 KiB pending, then reload: every event arrives once", { timeout: 40000 }, async (t) => {
      const { c, page, errors } = await setup(t);
      const run = "unload-" + randomUUID();
      await openFixture(page, c.url, { options: { analytics: { flushIntervalMs: 60000 } } });
      await page.waitForFunction(() => window.sessionResolved >= 1);
      await page.evaluate(() => window.sl.flush()); // the initial page view
      // Hold the regular uploads back (a slow server) so that the events are still pending.
      await c.fault({ path_prefix: "/api/v1/analytics", count: 1, latency_ms: 5000 });
      await burst(page, run, 400, 300);
      const pending = await page.evaluate(() => window.sl.stats().queuedEvents);
      t.diagnostic(`${pending} events (~${Math.round((pending * 360) / 1024)} KiB) pending at unload`);
      await leave(page, c.url);
      const groups = assertKeepaliveWithinBudget(await uploads(page));
      t.diagnostic(`keepalive bodies at unload: ${JSON.stringify(groups)}`);
      await openFixture(page, c.url);
      await assertDeliveredOnce(c, run, 400, { timeout: 25000 });
      assertKeepaliveWithinBudget(await uploads(page));
      assert.deepEqual(errors, []);
    });
  });

  // PostHog Code's bug: a transient failure of the access check (5xx) was read as "no
  // access" and bounced paying users. Against the real collector with injected faults.
  describe("e. the access gate against the collector", () => {
    const CHECK = "/api/code/invites/check-access";
    /** Opens the fixture with a gate whose changes are recorded in window.__changes. */
    async function openGated(page, c, { getAnalyticsSession } = {}) {
      await page.addInitScript((withSession) => {
        window.__changes = [];
        window.__signedOut = 0;
        window.__fixture = {
          options: {
            ...(withSession ? { getAnalyticsSession: () => ({ accessToken: "expired-token" }) } : {}),
            accessGate: {
              url: "/api/code/invites/check-access/",
              retry: { initialDelayMs: 100, maxDelayMs: 200, maxRetries: 3 },
              onChange: (state, reason) => window.__changes.push([state, reason]),
              onSignedOut: () => { window.__signedOut += 1; },
            },
          },
        };
      }, Boolean(getAnalyticsSession));
      await openFixture(page, c.url, {});
    }
    const checks = async (c) => (await c.stats()).requests[`GET ${CHECK}/`] ?? 0;
    const state = (page) => page.evaluate(() => window.sl.accessState);

    test("a 503 while granted keeps the user in; the retry settles it; no denied on the way", { timeout: 30000 }, async (t) => {
      const { c, page, errors } = await setup(t);
      await openGated(page, c);
      await waitFor(async () => (await state(page)) === "granted", { message: "first check granted" });
      await c.fault({ path_prefix: CHECK, count: 2, status: 503 });
      const before = await checks(c);
      assert.equal(await page.evaluate(() => window.sl.checkAccess()), "granted", "a 503 keeps the current state");
      await waitFor(async () => (await checks(c)) === before + 3, { message: "two retries after the 503s" });
      await page.waitForTimeout(300);
      assert.equal(await state(page), "granted");
      assert.deepEqual(await page.evaluate(() => window.__changes), [["granted", "granted"]], "never denied");
      assert.deepEqual(errors, []);
    });

    test("an outage longer than the budget fails closed after exactly 1 + maxRetries requests", { timeout: 30000 }, async (t) => {
      const { c, page, errors } = await setup(t);
      await openGated(page, c);
      await waitFor(async () => (await state(page)) === "granted", { message: "first check granted" });
      await c.fault({ path_prefix: CHECK, count: 50, status: 503 });
      const before = await checks(c);
      await page.evaluate(() => window.sl.checkAccess());
      await waitFor(async () => (await state(page)) === "denied", { message: "fail-closed" });
      assert.equal((await checks(c)) - before, 1 + 3, "1 + maxRetries requests");
      assert.deepEqual(await page.evaluate(() => window.__changes), [["granted", "granted"], ["denied", "fail-closed"]]);
      assert.deepEqual(errors, []);
    });

    test("a 401 signs out: unknown, onSignedOut once, exactly one request", { timeout: 30000 }, async (t) => {
      const { c, page, errors } = await setup(t);
      await openGated(page, c, { getAnalyticsSession: true });
      await waitFor(async () => (await page.evaluate(() => window.__signedOut)) === 1, { message: "onSignedOut" });
      await page.waitForTimeout(500);
      assert.equal(await checks(c), 1, "no retry after a 401");
      assert.equal(await state(page), "unknown");
      assert.equal(await page.evaluate(() => window.__signedOut), 1);
      assert.deepEqual(errors, []);
    });
  });

  test("d. CORS: a page on origin A sends to a collector on origin B", { timeout: 30000 }, async (t) => {
    const { c: a, page, errors } = await setup(t);
    const b = await startCollector({ args: [] });
    t.after(() => b.stop());
    const apiB = `http://localhost:${b.port}`; // another host and port: another origin
    assert.notEqual(new URL(apiB).origin, new URL(a.url).origin);
    const run = "cors-" + randomUUID();
    await openFixture(page, a.url, { options: { apiBaseUrl: apiB, publishableClientKey: "pck_e2e" } });
    await burst(page, run, 30, 100);
    await page.click("#btn");
    const flushed = await page.evaluate(() => window.sl.flush());
    assert.equal(flushed.pending, 0, `flush: ${JSON.stringify(flushed)}`);
    await assertDeliveredOnce(b, run, 30);
    // The unload path (keepalive, preflighted) works cross-origin too.
    const run2 = "cors2-" + randomUUID();
    await burst(page, run2, 10, 100);
    await leave(page, a.url);
    await openFixture(page, a.url, { options: { apiBaseUrl: apiB } });
    await assertDeliveredOnce(b, run2, 10);

    const events = await b.events(500);
    assert.ok(events.some((e) => e.event_type === "$click" && e.data.selector === "button#btn"), "the click reached B");
    assert.ok(events.every((e) => e.user_id === "alice" && e.project_id === "p_e2e"));
    const statsA = await a.stats();
    assert.equal(statsA.requests[`POST ${ANALYTICS}`] ?? 0, 0, "nothing was sent to A");
    assert.equal(statsA.database.analytics_events, 0);
    const log = await uploads(page);
    assert.ok(log.length > 0 && log.every((u) => u.origin === apiB), "every upload went to B");
    assert.deepEqual(errors, []);
  });
});
