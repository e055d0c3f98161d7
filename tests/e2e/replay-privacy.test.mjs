// Replay privacy on a hostile-but-legal page (tests/fixtures/privacy/hostile.html), end
// to end: the real SDK records the page in Debian's Chromium and uploads to the real
// collector; no byte of any request body, nor of the collector's database, may contain
// a planted or typed secret (every secret holds the word SECRET). Each run also has
// positive controls (VISIBLE-… texts, typed values where they are allowed) proving the
// recorder did record the page, so "nothing leaked" cannot mean "nothing recorded".
//
//   bash scripts/build.sh && node --test tests/e2e/replay-privacy.test.mjs
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { startCollector, startPageServer, storedBytes, launchChromium } from "./support.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const fixturesDir = join(here, "..", "fixtures", "privacy");

// The page-side bootstrap: options come from the page URL (`?opts=<json>&api=<url>`).
const RECORD_JS = `import init, { Sightline } from "/pkg/sightline.js";
await init();
const q = new URLSearchParams(location.search);
const replays = Object.assign({ enabled: true, flushIntervalMs: 200 }, JSON.parse(q.get("opts") || "{}"));
const sl = new Sightline({ projectId: "p_privacy", apiBaseUrl: q.get("api"), getAnalyticsSession: () => null,
  analytics: { flushIntervalMs: 200 }, replays });
sl.start();
window.__sl = sl;
window.__recorderReady = true;`;

let server;
let origin;
let browser;

before(async () => {
  server = await startPageServer({ pkg: true, routes: { "/record.js": RECORD_JS }, dirs: { "/fixtures/privacy/": fixturesDir } });
  origin = server.origin;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

/** Ids of the nodes recorded as blocked placeholders (they carry `rr_width`). */
function blockedIds(events) {
  const ids = new Set();
  const visit = (node) => {
    if (!node || typeof node !== "object") return;
    if (node.type === 2 && node.attributes && "rr_width" in node.attributes) ids.add(node.id);
    for (const child of node.childNodes || []) visit(child);
  };
  for (const e of events) {
    if (e.type === 2) visit(e.data.node);
    if (e.type === 3 && e.data.source === 0) for (const add of e.data.adds || []) visit(add.node);
  }
  return ids;
}

/**
 * Records the hostile page with `opts` (replays.* options) against a fresh collector:
 * runs `interact`, flushes, and returns the replay events and analytics events the
 * page uploaded, every request body, and what the collector stored.
 */
async function recordHostile(opts, interact, plainPrefix = "SECRET") {
  const collector = await startCollector({ args: ["--allow-anonymous"] });
  const context = await browser.newContext({ viewport: { width: 1024, height: 768 } });
  try {
    const page = await context.newPage();
    const pageErrors = [];
    page.on("pageerror", (e) => pageErrors.push(String(e)));
    const bodies = [];
    const replayEvents = [];
    const analyticsEvents = [];
    page.on("request", (request) => {
      let body = request.postDataBuffer();
      if (!body) return;
      if (body[0] === 0x1f && body[1] === 0x8b) body = gunzipSync(body);
      const text = body.toString("utf8");
      bodies.push({ url: request.url(), text });
      if (request.url().includes("/session-replays/batch")) replayEvents.push(...JSON.parse(text).events);
      if (request.url().includes("/analytics/events/batch")) analyticsEvents.push(...JSON.parse(text).events);
    });
    const query = new URLSearchParams({ opts: JSON.stringify(opts), api: collector.url });
    await page.goto(`${origin}/fixtures/privacy/hostile.html?${query}`);
    await page.waitForFunction(() => window.__recorderReady === true);
    await page.waitForLoadState("load");
    await page.evaluate(() => new Promise((r) => setTimeout(r, 100)));
    await page.evaluate((plain) => window.fixtureActions(plain), plainPrefix);
    await interact(page);
    await page.evaluate(() => new Promise((r) => setTimeout(r, 300)));
    await page.evaluate(() => window.__sl.flush());
    // flush() resolves once every attempt was answered: the collector has stored them.
    const stored = storedBytes(collector);
    assert.deepEqual(pageErrors, [], "no page errors");
    return { bodies, replayEvents, analyticsEvents, stored };
  } finally {
    await context.close();
    await collector.stop();
  }
}

function assertNoSecret({ bodies, stored }, what) {
  assert.ok(bodies.length > 0, `${what}: requests were sent`);
  for (const { url, text } of bodies) {
    const at = text.indexOf("SECRET");
    assert.equal(at, -1, `${what}: a secret in the body sent to ${url}: …${text.slice(Math.max(0, at - 120), at + 60)}…`);
  }
  const at = stored.indexOf("SECRET");
  assert.equal(at, -1, `${what}: a secret in the collector's database: …${stored.slice(Math.max(0, at - 80), at + 40)}…`);
}

/** No event of the blocked elements' own: no input, interaction, scroll, media, mutation. */
function assertBlockedSilent(events, what) {
  const blocked = blockedIds(events);
  assert.ok(blocked.size >= 4, `${what}: the blocked elements were recorded as placeholders (${blocked.size})`);
  for (const e of events.filter((e) => e.type === 3)) {
    const d = e.data;
    if ([2, 3, 5, 7].includes(d.source)) assert.ok(!blocked.has(d.id), `${what}: event of a blocked element: ${JSON.stringify(e)}`);
    if (d.source === 0) {
      for (const t of d.texts) assert.ok(!blocked.has(t.id), `${what}: text mutation of a blocked element`);
      for (const a of d.attributes) assert.ok(!blocked.has(a.id), `${what}: attribute mutation of a blocked element`);
      for (const a of d.adds) assert.ok(!blocked.has(a.parentId), `${what}: a node added under a blocked element`);
    }
  }
}

const typeInto = async (page, selector, text) => {
  await page.click(selector);
  await page.keyboard.type(text, { delay: 2 });
};

/** Interactions shared by every run: private fields and regions the rule must hide. */
async function hostileInteractions(page) {
  await typeInto(page, "#toggle", "SECRET-PW-ONE");
  await page.evaluate(() => document.getElementById("toggle").setAttribute("type", "text"));
  await page.keyboard.type("SECRET-PW-SHOWN", { delay: 2 });
  await page.evaluate(() => document.getElementById("toggle").setAttribute("type", "password"));
  await page.keyboard.type("SECRET-PW-AGAIN", { delay: 2 });
  await typeInto(page, "pw-box #shadow-pw", "SECRET-SHADOW-PW");
  await page.frameLocator("#visible-frame").locator("#frame-pw").click();
  await page.keyboard.type("SECRET-FRAME-PW", { delay: 2 });
  await typeInto(page, "#blocked-input", "SECRET-TYPED-BLOCKED");
  await typeInto(page, "#input-in-blocked", "SECRET-TYPED-IN-BLOCKED");
  await typeInto(page, "#input-in-selector", "SECRET-TYPED-SELECTOR");
  await typeInto(page, "#input-in-masked", "SECRET-TYPED-IN-MASKED");
  await page.click("#blocked-button");
  await page.click("#masked-button");
  await page.mouse.move(20, 20);
  const box = await page.locator("#blocked-region").boundingBox();
  await page.mouse.move(box.x + 5, box.y + 5, { steps: 5 });
  await page.mouse.wheel(0, 600);
  // The lazy blocked iframe loads once it comes near the viewport.
  await page.evaluate(() => document.getElementById("below").scrollIntoView());
  await page.waitForFunction(() => document.getElementById("lazy-blocked").contentDocument?.body?.textContent.includes("CHILD"));
}

test("hostile page, default masking (+ blockSelector, maskTextSelector): nothing private leaves the page", async () => {
  const run = await recordHostile({ blockSelector: "[data-private]", maskTextSelector: "[data-hide-text]" }, async (page) => {
    await typeInto(page, "#numeric", "SECRET-TYPED-NUMERIC");
    await typeInto(page, "#creditcard", "SECRET-TYPED-CARD");
    await typeInto(page, "#datetime", "SECRET-TYPED-DATETIME");
    await typeInto(page, "#plain", "SECRET-TYPED-PLAIN");
    await typeInto(page, "#notes", "SECRET-TEXTAREA");
    await hostileInteractions(page);
  });
  assertNoSecret(run, "default masking");
  const all = JSON.stringify(run.replayEvents);
  // Positive controls: the page, its mutations, shadow root, iframe and lazy content were recorded.
  for (const visible of ["VISIBLE-HEADING", "VISIBLE-AFTER-MUTATION", "VISIBLE-SHADOW-TEXT", "VISIBLE-FRAME-TEXT", "VISIBLE-BELOW"]) {
    assert.ok(all.includes(visible), `recorded: ${visible}`);
  }
  assert.ok(run.stored.includes("VISIBLE-AFTER-MUTATION"), "the collector stores events as readable text");
  const inputs = run.replayEvents.filter((e) => e.type === 3 && e.data.source === 5);
  const masked = (n) => inputs.some((e) => e.data.text === "*".repeat(n));
  assert.ok(masked("SECRET-TYPED-NUMERIC".length), "the numeric field's input was recorded, masked");
  assert.ok(masked("SECRET-TYPED-CARD".length) && masked("SECRET-TYPED-DATETIME".length), "unknown types masked");
  assert.ok(masked("SECRET-PW-ONE".length + "SECRET-PW-SHOWN".length), "the toggled password stays masked");
  assert.ok(all.includes("*".repeat("SECRET-MASKED-MUTATED".length)), "masked text mutations are recorded as *");
  assertBlockedSilent(run.replayEvents, "default masking");
  // $click: masked text inside a mask region, no text at all on a blocked element.
  const clicks = run.analyticsEvents.filter((e) => e.event_type === "$click");
  const blockedClick = clicks.find((e) => e.data.selector.includes("blocked-button"));
  const maskedClick = clicks.find((e) => e.data.selector.includes("masked-button"));
  assert.ok(blockedClick && !("text" in blockedClick.data), `no text for a blocked click: ${JSON.stringify(blockedClick)}`);
  assert.equal(maskedClick?.data.text, "*".repeat("SECRET-MASKED-BUTTON".length), "masked click text");
  assert.ok(clicks.some((e) => e.data.selector.includes("#plain")), "clicks on ordinary fields are captured");
});

test("hostile page with maskAllInputs: false: blocked and masked fields still send nothing", async () => {
  const run = await recordHostile({ maskAllInputs: false, blockSelector: "[data-private]", maskTextSelector: "[data-hide-text]" }, async (page) => {
    await typeInto(page, "#plain", "VISIBLE-TYPED-PLAIN");
    await hostileInteractions(page);
  }, "VISIBLE");
  assertNoSecret(run, "maskAllInputs: false");
  const inputs = run.replayEvents.filter((e) => e.type === 3 && e.data.source === 5);
  assert.ok(inputs.some((e) => e.data.text === "VISIBLE-TYPED-PLAIN"), "positive control: an ordinary field's value is recorded");
  assert.ok(inputs.some((e) => e.data.text === "VISIBLE-SCRIPTED-VALUE"), "positive control: a script-set value is recorded");
  assert.ok(JSON.stringify(run.replayEvents).includes("VISIBLE-ATTRIBUTE-VALUE"), "positive control: a value attribute write is recorded");
  assert.ok(inputs.some((e) => e.data.text === "*".repeat("SECRET-TYPED-IN-MASKED".length)), "a field in a masked region is masked");
  assertBlockedSilent(run.replayEvents, "maskAllInputs: false");
});

test("maskAllText: true: no text of the page is recorded, its structure is", async () => {
  const run = await recordHostile({ maskAllText: true }, async (page) => {
    await typeInto(page, "#plain", "SECRET-TYPED-PLAIN");
  });
  assertNoSecret(run, "maskAllText");
  const all = JSON.stringify(run.replayEvents);
  for (const text of ["VISIBLE-HEADING", "VISIBLE-AFTER-MUTATION", "VISIBLE-SHADOW-TEXT", "VISIBLE-FRAME-TEXT"]) {
    assert.ok(!all.includes(text), `maskAllText: ${text} is masked`);
  }
  assert.ok(all.includes('"tagName":"h1"') && all.includes("*".repeat("VISIBLE-HEADING".length)), "the heading is recorded, masked");
  assert.ok(all.includes("*".repeat("VISIBLE-AFTER-MUTATION".length)), "mutations are recorded, masked");
  assert.ok(all.includes("*".repeat("VISIBLE-FRAME-TEXT".length)), "iframe text is recorded, masked");
  const clicks = run.analyticsEvents.filter((e) => e.event_type === "$click");
  assert.ok(clicks.length > 0 && clicks.every((e) => !/[A-Za-z]/.test(e.data.text ?? "")), "click text is masked too");
});
