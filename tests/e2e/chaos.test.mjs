// Many tabs, a flaky collector and users signing in and out: the built SDK (pkg/) in
// Debian's headless Chromium (Playwright) against the real collector with fault injection
// (--test-hooks). Run alone with
//
//   bash scripts/build.sh && CHAOS_SECONDS=60 node --test tests/e2e/chaos.test.mjs
//
// CHAOS_SECONDS (default 60) sets how long the chaos runs; CHAOS_TABS (default 5) how many
// tabs; CHAOS_SEED fixes the random choices (printed with the tallies).
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { launchChromium, startCollector, waitFor } from "./support.mjs";

const SECONDS = Number(process.env.CHAOS_SECONDS || 60);
const TABS = Number(process.env.CHAOS_TABS || 5);
const SEED = Number(process.env.CHAOS_SEED || Date.now() % 1_000_000);
const USERS = ["alice", "bob"];

/** A small seeded PRNG (mulberry32): a failing run can be replayed with CHAOS_SEED. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The init script of every page: the page's user (its view of the shared sign-in state)
 * is `window.__user`, read from localStorage when the page loads; the session callback
 * answers with that user's demo token (or null when signed out).
 */
function chaosPage() {
  window.__user = localStorage.getItem("__chaos_user") || null;
  window.__epoch = Number(localStorage.getItem("__chaos_epoch") || 0);
  window.__fixture = {
    options: {
      getAnalyticsSession: () => (window.__user ? { accessToken: "demo-" + window.__user, refreshToken: null } : null),
      analytics: { autocapture: false, flushIntervalMs: 400, maxEventsPerBatch: 5 },
      upload: { retryInitialDelayMs: 100, retryMaxDelayMs: 1500 },
    },
  };
}

const fixtureUrl = (base) => `${base}/static/demo-e2e.html?fixture=${encodeURIComponent("{}")}`;

async function open(page, base) {
  await page.goto(fixtureUrl(base));
  await page.waitForFunction(() => window.__ready || window.__error, null, { timeout: 15000 });
  assert.equal(await page.evaluate(() => window.__error), undefined, "the fixture failed to start the SDK");
}

describe("many tabs", () => {
  let c, browser;
  before(async () => {
    c = await startCollector({ sdk: true, args: ["--allow-anonymous"] });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await c?.stop();
  });

  test("a live tab's persisted copy is never adopted; a closed tab's is adopted exactly once", async () => {
    const context = await browser.newContext();
    await context.addInitScript(() => localStorage.setItem("__chaos_user", "alice"));
    await context.addInitScript(chaosPage);
    const owner = await context.newPage();
    await open(owner, c.url);
    await owner.route("**/api/v1/**", (route) => route.abort()); // this tab cannot reach the collector
    await owner.evaluate(async () => {
      await window.sl.flush(); // a session is cached
      for (let i = 0; i < 20; i++) window.sl.track("tabs", { id: i });
      window.dispatchEvent(new Event("pagehide")); // hidden: keepalive fails, the copy is written
    });
    const copies = () => owner.evaluate(() => Object.keys(localStorage).filter((k) => k.includes(":unsent:")).length);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await copies(), 1, "the owner persisted its copy");
    // Two tabs start together while the owner lives: neither takes its copy.
    const [a, b] = [await context.newPage(), await context.newPage()];
    await Promise.all([open(a, c.url), open(b, c.url)]);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(await copies(), 1, "a live tab's copy stays where it is");
    const queued = async (p) => p.evaluate(() => window.sl.stats().queuedEvents);
    assert.equal((await queued(a)) + (await queued(b)), 0, "nobody adopted it");
    // The owner goes away: the copy is adopted by one of the tabs (they look again), once.
    await owner.close();
    const stored = await waitFor(async () => {
      const events = (await c.events(5000)).filter((e) => e.event_type === "tabs");
      return events.length >= 20 && events;
    }, { timeout: 20000, message: "the closed tab's events to be stored" });
    await new Promise((r) => setTimeout(r, 1500));
    const again = (await c.events(5000)).filter((e) => e.event_type === "tabs");
    assert.equal(again.length, 20, "adopted by exactly one tab, stored once each");
    assert.deepEqual(new Set(stored.map((e) => e.data.id)).size, 20);
    assert.ok(again.every((e) => e.user_id === "alice"), "with the token of the user who captured them");
    await context.close();
  });

  test(`chaos: ${TABS} tabs for ${SECONDS} s, faults, reloads, sign-in and sign-out`, { timeout: (SECONDS + 120) * 1000 }, async () => {
    const random = prng(SEED);
    const pick = (list) => list[Math.floor(random() * list.length)];
    const context = await browser.newContext();
    await context.addInitScript(chaosPage);
    const setup = await context.newPage();
    await setup.goto(`${c.url}/static/demo-e2e.html?fixture=${encodeURIComponent(JSON.stringify({ sdk: false }))}`);
    await setup.evaluate(() => {
      localStorage.setItem("__chaos_user", "alice");
      localStorage.setItem("__chaos_epoch", "0");
    });
    const tabs = [];
    for (let t = 0; t < TABS; t++) {
      const page = await context.newPage();
      page.on("pageerror", (e) => console.error(`tab ${t}: ${e}`));
      await open(page, c.url);
      tabs.push(page);
    }

    // The state the test drives: epoch k starts with a sign-out (clearBuffer in every
    // tab); epoch k's user signs in during it. users[k] is that user (alice in epoch 0).
    const users = ["alice"];
    let epoch = 0;
    let signedIn = true;
    const captured = []; // {id, epoch, user}
    const tally = { bursts: 0, reloads: 0, signOuts: 0, signIns: 0, faults: {} };
    let next = 0;

    let faulting = true;
    const faults = (async () => {
      while (faulting) {
        const kind = pick(["503", "503", "drop", "slow", "429", "none"]);
        tally.faults[kind] = (tally.faults[kind] || 0) + 1;
        const fault = {
          "503": { status: 503, count: 1 + Math.floor(random() * 3) },
          drop: { drop: true },
          slow: { latency_ms: 1500 + Math.floor(random() * 3000) },
          "429": { status: 429, retry_after: "1" },
          none: null,
        }[kind];
        if (fault) await c.fault({ path_prefix: "/api/v1/", ...fault });
        await new Promise((r) => setTimeout(r, 200 + random() * 300));
      }
    })();

    const deadline = Date.now() + SECONDS * 1000;
    while (Date.now() < deadline) {
      const roll = random();
      if (roll < 0.75) {
        const t = Math.floor(random() * TABS);
        const n = 1 + Math.floor(random() * 5);
        const ids = Array.from({ length: n }, () => `e${next++}`);
        const user = await tabs[t].evaluate((ids) => {
          for (const id of ids) window.sl.track("chaos", { id, user: window.__user, epoch: window.__epoch });
          return window.__user;
        }, ids);
        for (const id of ids) captured.push({ id, epoch, user });
        tally.bursts++;
      } else if (roll < 0.9) {
        const t = Math.floor(random() * TABS);
        await tabs[t].reload();
        await tabs[t].waitForFunction(() => window.__ready || window.__error, null, { timeout: 15000 });
        tally.reloads++;
      } else if (signedIn) {
        // Sign-out in every tab: the host forgets the user, then calls clearBuffer().
        epoch++;
        await setup.evaluate((epoch) => {
          localStorage.removeItem("__chaos_user");
          localStorage.setItem("__chaos_epoch", String(epoch));
        }, epoch);
        for (const tab of tabs) {
          await tab.evaluate((epoch) => {
            window.__user = null;
            window.__epoch = epoch;
            window.sl.clearBuffer();
          }, epoch);
        }
        users[epoch] = null;
        signedIn = false;
        tally.signOuts++;
      } else {
        const user = pick(USERS);
        users[epoch] = user;
        await setup.evaluate((user) => localStorage.setItem("__chaos_user", user), user);
        for (const tab of tabs) await tab.evaluate((user) => { window.__user = user; }, user);
        signedIn = true;
        tally.signIns++;
      }
      await new Promise((r) => setTimeout(r, 20 + random() * 120));
    }

    // Calm: no more faults; every tab sends what it holds (copies of reloaded tabs are
    // adopted by the tabs, which look again while a writer's lock is held).
    faulting = false;
    await faults;
    await c.clearFaults();
    await waitFor(async () => {
      let queued = 0;
      for (const tab of tabs) {
        queued += await tab.evaluate(async () => {
          await window.sl.flush();
          const copies = Object.keys(localStorage).filter((k) => k.includes(":unsent:")).length;
          return window.sl.stats().queuedEvents + copies;
        });
      }
      return queued === 0;
    }, { timeout: 60000, interval: 500, message: "every tab to have sent everything" });
    await new Promise((r) => setTimeout(r, 6000)); // keepalive requests of reloaded pages, slow answers

    const rows = (await c.events(5000)).filter((e) => e.event_type === "chaos");
    const storedById = new Map();
    for (const row of rows) {
      const list = storedById.get(row.data.id) || [];
      list.push(row);
      storedById.set(row.data.id, list);
    }
    const counts = { captured: captured.length, stored: 0, droppedBySignOut: 0, lost: 0, duplicated: 0, wrongUser: 0, anonymous: 0 };
    const problems = [];
    for (const event of captured) {
      const stored = storedById.get(event.id) || [];
      if (stored.length > 1) {
        counts.duplicated++;
        problems.push(`${event.id} stored ${stored.length} times`);
      }
      if (stored.length === 0) {
        // Only a sign-out (clearBuffer) may drop an event: it must belong to an epoch
        // that ended.
        if (event.epoch < epoch) counts.droppedBySignOut++;
        else {
          counts.lost++;
          problems.push(`${event.id} (epoch ${event.epoch}, ${event.user}) lost`);
        }
        continue;
      }
      counts.stored++;
      const userId = stored[0].user_id;
      // The rule: an event leaves with a session of its own epoch (or none).
      if (userId === null) counts.anonymous++;
      else if (userId !== users[event.epoch] || (event.user !== null && userId !== event.user)) {
        counts.wrongUser++;
        problems.push(`${event.id} (epoch ${event.epoch}, captured as ${event.user}) stored as ${userId}`);
      }
      if (stored[0].data.epoch !== event.epoch) problems.push(`${event.id} epoch mismatch`);
    }
    const stats = await c.stats();
    console.log(`chaos tallies (seed ${SEED}, ${TABS} tabs, ${SECONDS} s): ${JSON.stringify({ ...counts, ...tally, epochs: epoch + 1, collector: { deduped_batches: stats.analytics.deduped_batches, rejected: stats.rejected_requests } })}`);
    assert.ok(captured.length > 0, "events were captured");
    assert.deepEqual(problems.slice(0, 20), [], "every event stored once with an allowed user, or dropped by a sign-out");
    assert.equal(counts.stored + counts.droppedBySignOut, counts.captured);
    assert.ok(rows.length < 5000, "the dashboard API returned every row");
    await context.close();
  });
});
