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
// injected into it), a generated 100,000-element page, generated pages that mutate in every
// task from before the recorder starts until after its first snapshot (seeded:
// SIGHTLINE_MUTATION_SEED=<n>|random), and the demo page served by the collector. A typed
// password must appear in no request body. The mutating pages are held to more than the
// ≥ 98% score: every node id the recording uses must be one the player has (checkNodeIds)
// and the replayed body must equal the live one token for token (describeTree).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { join, dirname, extname } from "node:path";
import { fileURLToPath } from "node:url";
import { bigPage, rustDocsDir } from "./large-pages.mjs";
import { artifacts, startCollector, startPageServer, launchChromium, waitFor } from "./support.mjs";
import { REPLAY_HTML, assertReplayMatchesIn, assertReplayExactIn, checkNodeIds, describeDocument, describeTree }
  from "./replay-support.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const testsDir = join(here, "..");
const fixturesDir = join(testsDir, "fixtures", "replay");
const PASSWORD = "Hunter2-Secret!";
const FIXTURES = ["forms", "svg", "styles", "tables", "iframes", "shadow", "mutations"];

const RUST_DOCS = rustDocsDir();

// The seed of the page that mutates during the first snapshot: fixed, so that a run can be
// repeated; SIGHTLINE_MUTATION_SEED=<n> picks another, `random` a fresh one (printed).
const MUTATION_SEED = process.env.SIGHTLINE_MUTATION_SEED === "random"
  ? Math.floor(Math.random() * 2 ** 31)
  : Number(process.env.SIGHTLINE_MUTATION_SEED || 20261130);

// The page-side bootstrap: start the SDK with replays on, expose `window.__recorder.flush()`.
const RECORD_JS = `import init, { Sightline } from "/pkg/sightline.js";
await init();
const sl = new Sightline({ projectId: "p_conformance", apiBaseUrl: location.origin,
  getAnalyticsSession: () => null, analytics: { autocapture: false }, replays: { enabled: true } });
sl.start();
window.__recorder = { flush: () => sl.flush() };
window.__recorderReady = true;`;
const RECORD_TAG = '<script type="module" src="/record.js"></script>';



/**
 * The mutator of the page that mutates during the first snapshot (run in the page from its
 * source, so self-contained). From the end of <body> (before the SDK's module script runs)
 * until the test's `stopAt` (ms) has passed and `stopAfterTasks` tasks have run, every
 * task (MessageChannel, with a setTimeout(0) every eighth) makes 1–6 changes chosen by a
 * seeded PRNG, in early, late and any parts of the document: appends and removes, subtree moves between early and late parts (and into
 * deeper parents), attribute and text changes, innerHTML replacements, whole sections
 * added and removed, adds and removes inside shadow roots, a node added and removed in one
 * task, and input / password values (set and announced with an `input` event, or set as
 * the `value` attribute). With `storm`, bursts too: subtrees of ~2,000 elements added in
 * one change (early, late, anywhere), moved between early and late parts, edited deep
 * inside in the same task and the next ones, and removed (at most 6 kept).
 * State in `window.__mutator`.
 */
function mutator(seed, secret, storm) {
  let s = seed >>> 0;
  const rand = () => { // mulberry32
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n) => Math.floor(rand() * n);
  const zones = [...document.querySelectorAll(".zone")];
  const hosts = [...document.querySelectorAll(".host")];
  for (const [k, host] of hosts.entries()) {
    host.attachShadow({ mode: "open" }).innerHTML = `<p class="sp">shadow ${k}</p><ul class="sl"><li>s-one</li></ul>`;
  }
  const state = { seed, tasks: 0, ops: 0, tasksBeforeReady: 0, stopAt: Infinity, stopAfterTasks: 0, done: false, opCounts: {}, kinds: 0 };
  window.__mutator = state;
  let n = 0;
  // Early: the first two zones; late: the last two; any: all of them.
  const zone = (where) => {
    const z = zones.length;
    if (where === "early") return zones[int(2)];
    if (where === "late") return zones[z - 1 - int(2)];
    return zones[int(z)];
  };
  const where = () => ["early", "late", "any"][int(3)];
  const section = (w = where()) => {
    const kids = zone(w).children;
    return kids.length ? kids[int(kids.length)] : null;
  };
  const el = (tag, text, cls) => {
    const e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  };
  const newSection = () => {
    const sec = el("section", undefined, "sec added");
    sec.innerHTML = `<h3>New part ${n}</h3><p>Fresh <b>bold ${n}</b> and <i>italic</i> words.</p>` +
      `<ul><li>one ${n}</li><li>two <em>${n}</em></li></ul>`;
    return sec;
  };
  const bursts = [];
  const burstHtml = (k) => {
    const rows = [];
    for (let r = 0; r < 400; r++) rows.push(`<li class="br">row ${k}.${r} <b>b${r}</b> <i>i</i> <em>e${r % 7}</em></li>`);
    return `<h4>Burst ${k}</h4><ul>${rows.join("")}</ul>`;
  };
  const editBurst = (burst) => {
    const items = burst.querySelectorAll("li");
    for (let j = 0; j < 5 && items.length; j++) {
      const li = items[int(items.length)];
      const r = rand();
      if (r < 0.3) li.firstChild.data = `row edited ${n}.${j} `;
      else if (r < 0.6) li.setAttribute("data-e", String(n));
      else if (r < 0.8) li.remove();
      else li.appendChild(el("span", `late add ${n}`));
    }
  };
  const stormOps = {
    burst() {
      const div = el("div", undefined, "burst");
      div.innerHTML = burstHtml(n);
      const target = zone(where());
      const kids = target.children;
      target.insertBefore(div, kids.length ? kids[int(kids.length)] : null);
      bursts.push(div);
      if (rand() < 0.5) editBurst(div); // edited inside in the task that added it
      if (bursts.length > 6) bursts.shift().remove();
    },
    burstMove() {
      const burst = bursts[int(bursts.length)];
      if (!burst) return;
      const target = zone(rand() < 0.5 ? "early" : "late");
      target.insertBefore(burst, target.firstChild);
    },
    burstEdit() {
      const burst = bursts[int(bursts.length)];
      if (burst) editBurst(burst);
    },
  };
  const ops = {
    ...(storm ? stormOps : {}),
    append() {
      const sec = section();
      const ul = sec?.querySelector("ul");
      if (!ul) return;
      const li = el("li", `added ${n} `);
      if (rand() < 0.5) li.appendChild(el("b", `deep ${n}`));
      if (rand() < 0.5) ul.appendChild(li);
      else ul.insertBefore(li, ul.firstChild);
    },
    remove() {
      const ul = section()?.querySelector("ul");
      if (ul && ul.children.length > 1) ul.children[int(ul.children.length)].remove();
    },
    moveSection() {
      const [from, to] = rand() < 0.5 ? ["late", "early"] : ["early", "late"];
      const sec = section(from);
      const target = zone(to);
      if (!sec) return;
      const kids = target.children;
      target.insertBefore(sec, kids.length ? kids[int(kids.length)] : null);
    },
    moveItem() {
      const [from, to] = rand() < 0.5 ? ["late", "early"] : ["early", "late"];
      const li = section(from)?.querySelector("li");
      const ul = section(to)?.querySelector("ul");
      if (li && ul && !li.contains(ul)) ul.insertBefore(li, ul.children[int(ul.children.length + 1)] ?? null);
    },
    nest() {
      // A section moved into another's paragraph (deeper), or one nested section moved back out.
      const nested = document.querySelector("p > section");
      if (nested && rand() < 0.6) {
        zone(where()).appendChild(nested);
        return;
      }
      const a = section("late");
      const b = section("early");
      if (a && b && a !== b && !a.contains(b)) b.querySelector("p")?.appendChild(a);
    },
    attr() {
      const sec = section();
      if (!sec) return;
      const r = rand();
      if (r < 0.3) sec.setAttribute("data-v", String(n));
      else if (r < 0.5) sec.removeAttribute("data-v");
      else if (r < 0.8) sec.classList.toggle("hot");
      else sec.querySelector("a")?.setAttribute("title", `title ${n}`);
    },
    text() {
      const sec = section();
      const h3 = sec?.querySelector("h3");
      if (!h3) return;
      const r = rand();
      if (r < 0.4 && h3.firstChild?.nodeType === 3) h3.firstChild.data = `Part edited ${n}`;
      else if (r < 0.7) (sec.querySelector("b") ?? h3).textContent = `replaced ${n}`;
      else sec.querySelector("p")?.appendChild(document.createTextNode(` more ${n}`));
    },
    innerHTML() {
      const sec = section();
      if (!sec) return;
      if (rand() < 0.5) {
        const ul = sec.querySelector("ul");
        if (ul) ul.innerHTML = `<li>inner ${n}</li><li><em>em ${n}</em> tail</li>`;
      } else {
        const p = sec.querySelector("p");
        if (p) p.innerHTML = `Rewritten <i>${n}</i> <a href="#s${n}">link</a>.`;
      }
    },
    addSection() {
      const target = zone(where());
      const kids = target.children;
      target.insertBefore(newSection(), kids.length ? kids[int(kids.length)] : null);
    },
    removeSection() {
      const sec = section();
      if (sec && sec.parentNode.children.length > 10) sec.remove();
    },
    shadow() {
      const root = hosts[int(hosts.length)].shadowRoot;
      const r = rand();
      if (r < 0.4) root.querySelector("ul").appendChild(el("li", `shadow add ${n}`));
      else if (r < 0.7) {
        const ul = root.querySelector("ul");
        if (ul.children.length > 1) ul.firstElementChild.remove();
      } else {
        // A new text node, not `.data =`: see the shadow-move test below (a player bug).
        root.querySelector("p").textContent = `shadow text ${n}`;
      }
    },
    transient() {
      // Added and removed within the task; and a node moved, then edited.
      const ul = section()?.querySelector("ul");
      if (!ul) return;
      const li = el("li", `transient ${n}`);
      ul.appendChild(li);
      li.remove();
      const b = section()?.querySelector("b");
      const p = section()?.querySelector("p");
      if (b && p && !b.contains(p)) {
        p.appendChild(b);
        b.textContent = `moved then edited ${n}`;
      }
    },
    input() {
      const ids = ["name", "late-name", "pw", "late-pw"];
      const field = document.getElementById(ids[int(ids.length)]);
      // Lengths vary, so that the masked values differ and each change is an Input event.
      const pad = "x".repeat(int(8));
      field.value = field.type === "password" ? `${secret}${pad}${n}` : `typed ${pad}${n}`;
      field.dispatchEvent(new Event("input", { bubbles: true }));
    },
    valueAttr() {
      // Fields whose value only ever follows their attribute (never set as a property).
      document.getElementById(rand() < 0.5 ? "pw-attr" : "name-attr")
        .setAttribute("value", rand() < 0.5 ? `${secret}${n}` : `attr ${n}`);
    },
  };
  // Setting an input's value costs a few ms (a style update): fewer of those.
  const weights = { input: 1, valueAttr: 1, nest: 2, burst: 2, burstMove: 2 };
  const names = Object.keys(ops).flatMap((name) => Array(weights[name] ?? 4).fill(name));
  state.kinds = Object.keys(ops).length;
  const channel = new MessageChannel();
  const step = () => {
    if ((performance.now() >= state.stopAt && state.tasks >= state.stopAfterTasks) || state.tasks > 200000) {
      state.done = true;
      return;
    }
    state.tasks += 1;
    if (!window.__recorderReady) state.tasksBeforeReady += 1;
    const count = 1 + int(6);
    for (let i = 0; i < count; i++) {
      const name = names[int(names.length)];
      n += 1;
      ops[name]();
      state.ops += 1;
      state.opCounts[name] = (state.opCounts[name] ?? 0) + 1;
    }
    if (state.tasks % 8 === 0) setTimeout(step, 0);
    else channel.port2.postMessage(0);
  };
  channel.port1.onmessage = step;
  step();
}

/**
 * A page of about `elements` elements in 20 zones of sections, with shadow hosts early,
 * in the middle and late, text and password fields at both ends, and the mutator, seeded
 * with `seed`, started at the end of <body>: before the SDK's module script runs.
 */
function mutatingPage(elements, seed, storm = false) {
  const sections = Math.floor(elements / 10);
  const perZone = Math.ceil(sections / 20);
  const fields = (prefix) =>
    `<form><input id="${prefix}name" name="${prefix}name"> <input id="${prefix}pw" type="password"></form>`;
  const parts = ['<!doctype html><html><head><meta charset="utf-8"><title>mutating</title>',
    // Off-screen zones skip rendering, so that the page's tasks are not frames of layout.
    "<style>.zone { content-visibility: auto; contain-intrinsic-size: auto 2000px }</style>", RECORD_TAG,
    "</head><body><h1>Mutating during the snapshot</h1>", fields(""),
    '<form><input id="name-attr" value="initial"> <input id="pw-attr" type="password" value=""></form>'];
  for (let i = 0; i < sections; i++) {
    if (i % perZone === 0) parts.push(`${i ? "</div>" : ""}<div class="zone" id="z${i / perZone}">`);
    parts.push(`<section id="s${i}" class="sec"><h3>Part ${i}</h3><p>Some <b>bold</b> and <i>italic</i> words, `,
      `<a href="#s${i}">a link</a>.</p><ul><li>one</li><li>two <em>${i}</em></li></ul>`,
      i % 400 === 200 ? `<div class="host" id="h${i}"></div>` : "", "</section>\n");
  }
  parts.push("</div>", fields("late-"));
  parts.push(`<script>(${mutator})(${seed}, ${JSON.stringify(PASSWORD)}, ${storm});</script></body></html>`);
  return parts.join("");
}

// A shadow host whose shadow text changes (`.data`), then moves (remove + add with the same ids).
const SHADOW_MOVE_HTML = `<!doctype html><html><head><meta charset="utf-8"><title>shadow move</title>${RECORD_TAG}</head>
<body><section id="a"><div id="host"></div></section><section id="b"><p>target</p></section>
<script>
  document.getElementById("host").attachShadow({ mode: "open" }).innerHTML = "<p>first</p><ul><li>one</li></ul>";
  const tick = () => new Promise((r) => setTimeout(r, 0));
  window.fixtureActions = async () => {
    const root = document.getElementById("host").shadowRoot;
    root.querySelector("p").firstChild.data = "second";
    await tick();
    document.getElementById("b").appendChild(document.getElementById("host"));
    await tick();
    root.querySelector("p").firstChild.data = "third";
    root.querySelector("ul").appendChild(document.createElement("li")).textContent = "two";
  };
</script></body></html>`;

let server;
let origin;
let browser;

before(async () => {
  server = await startPageServer({
    pkg: true,
    routes: {
      "/record.js": RECORD_JS,
      "/replay.html": REPLAY_HTML,
      "/assets/site.css": "body { font-family: sans-serif } .banner { background: url(../img/banner.png) }",
      "/generated/big.html": () => bigPage(100000, RECORD_TAG),
      "/generated/shadow-move.html": SHADOW_MOVE_HTML,
      "/generated/mutating.html": (url) =>
        mutatingPage(Number(url.searchParams.get("elements")), Number(url.searchParams.get("seed")), url.searchParams.has("storm")),
    },
    dirs: {
      "/fixtures/replay/": fixturesDir,
      "/node_modules/": join(testsDir, "node_modules"),
      ...(RUST_DOCS ? { "/rustdoc/": RUST_DOCS } : {}),
    },
    // The SDK goes into the documentation pages as a site would ship it: a module script in <head>.
    transform: (path, body) => path.startsWith("/rustdoc/") && extname(path) === ".html"
      ? body.toString("utf8").replace("</head>", `${RECORD_TAG}</head>`)
      : body,
  });
  origin = server.origin;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await server?.close();
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
async function recordPage(url, { interact, settleMs = 100, exact = false } = {}) {
  const context = await browser.newContext({ viewport: { width: 1024, height: 768 } });
  const page = await context.newPage();
  const uploaded = [];
  const pageErrors = [];
  const bodies = captureBodies(page);
  let gzipped = 0;
  const logs = [];
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  page.on("console", (m) => logs.push(m.text()));
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
  if (interact) await interact(page, uploaded);
  await page.evaluate((ms) => new Promise((r) => setTimeout(r, ms)), settleMs);
  const live = await page.evaluate(`(${describeDocument})(document)`);
  const liveTree = exact ? await page.evaluate(`(${describeTree})(document)`) : null;
  await page.evaluate(() => window.__recorder.flush());
  await context.close();
  assert.deepEqual(pageErrors, [], `${url}: no page errors`);
  return { events: uploaded, live, liveTree, bodies, gzipped, logs };
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
  const adds = events.filter((e) => e.type === 3 && e.data.source === 0);
  assert.ok(adds.length >= 3, `the rest of the page came as Mutation adds (${adds.length} events)`);
  await assertReplayMatches("100k elements", events, live);
});

/** Flushes until `uploaded` stops growing for two flushes in a row (slices and observer batches done). */
async function settleUploads(page, uploaded, { timeout = 30000 } = {}) {
  let stable = 0;
  let last = -1;
  const deadline = Date.now() + timeout;
  while (stable < 2) {
    assert.ok(Date.now() < deadline, `uploads did not settle within ${timeout} ms (${uploaded.length} events)`);
    await page.evaluate(() => window.__recorder.flush());
    await page.evaluate(() => new Promise((r) => setTimeout(r, 300)));
    stable = uploaded.length === last ? stable + 1 : 0;
    last = uploaded.length;
  }
}

/**
 * Records the page that mutates in every task (mutatingPage) from before the recorder
 * starts until a little after its FullSnapshot was uploaded, and checks the recording: no
 * password sent, one FullSnapshot, every id used refers to a node the player has, and the
 * replay in rrweb's player equals the live page token for token (describeTree).
 */
async function recordMutatingPage(name, { elements, storm = false }) {
  const seed = MUTATION_SEED;
  const context = `seed ${seed}; repeat with SIGHTLINE_MUTATION_SEED=${seed}`;
  let mutator;
  let snapshotSeenAt;
  const url = `${origin}/generated/mutating.html?elements=${elements}&seed=${seed}${storm ? "&storm" : ""}`;
  const { events, liveTree, bodies, gzipped, logs } = await recordPage(url, {
    exact: true,
    settleMs: 0,
    interact: async (page, uploaded) => {
      // Keep the page mutating until the FullSnapshot has been uploaded (however long a
      // sliced walk takes), then a little longer; then stop and let the uploads settle.
      await waitFor(async () => {
        await page.evaluate(() => window.__recorder.flush());
        return uploaded.some((e) => e.type === 2);
      }, { timeout: 60000, interval: 250, message: `the FullSnapshot uploaded (${context})` });
      snapshotSeenAt = await page.evaluate(() => window.__mutator.tasks);
      await page.evaluate(() => {
        window.__mutator.stopAt = performance.now() + 400;
        window.__mutator.stopAfterTasks = window.__mutator.tasks + 10;
      });
      await page.waitForFunction(() => window.__mutator.done === true);
      mutator = await page.evaluate(() => window.__mutator);
      await settleUploads(page, uploaded);
    },
  });
  console.log(`${name} (${context}): ${mutator.tasks} mutating tasks (${mutator.tasksBeforeReady} before the ` +
    `recorder started, ${mutator.tasks - snapshotSeenAt} after the FullSnapshot was uploaded), ${mutator.ops} changes ` +
    `${JSON.stringify(mutator.opCounts)}; ${events.length} events`);
  // On failure, the recording and the live page are kept for a look (git-ignored).
  const saved = join(artifacts, `${name.replace(/\W+/g, "-")}-seed-${seed}.json`);
  try {
    await checkMutatingRecording({ name, context: `${context}; on failure the recording is saved to ${saved}`, elements, mutator, snapshotSeenAt,
      events, liveTree, bodies, gzipped, logs });
  } catch (e) {
    mkdirSync(artifacts, { recursive: true });
    writeFileSync(saved, JSON.stringify({ seed, mutator, events, liveTree }));
    throw e;
  }
}

async function checkMutatingRecording({ name, context, elements, mutator, snapshotSeenAt, events, liveTree, bodies, gzipped, logs }) {
  const label = `${name} (${context})`;
  assert.ok(mutator.tasksBeforeReady > 0, `${label}: the page mutated before the recorder started`);
  assert.ok(mutator.tasks - snapshotSeenAt >= 10, `${label}: the page went on mutating after the FullSnapshot`);
  assert.equal(Object.keys(mutator.opCounts).length, mutator.kinds, `${label}: every kind of change was made: ${JSON.stringify(mutator.opCounts)}`);
  assert.ok(gzipped > 0, `${label}: replay bodies are gzipped`);
  assertNoPassword(bodies, label);
  assert.deepEqual(logs.filter((l) => l.includes("Hunter2")), [], `${label}: the password in the console`);
  const snapshots = events.filter((e) => e.type === 2).length;
  assert.equal(snapshots, 1, `${label}: one FullSnapshot (no mutation-limit re-snapshot)`);
  const counts = checkNodeIds(events, name, context);
  console.log(`${name}: ${JSON.stringify(counts)}`);
  assert.ok(counts.mutations > 20 && counts.adds > 100 && counts.removes > 100 && counts.texts > 10 && counts.attributes > 10,
    `${label}: the recording holds the page's changes: ${JSON.stringify(counts)}`);
  assert.ok(counts.inputs > 0, `${label}: input events recorded`);
  const liveElements = liveTree.filter((t) => t.startsWith("<") && !t.startsWith("</")).length;
  assert.ok(liveElements > elements * 0.75, `${label}: a large page (${liveElements} elements)`);
  await assertReplayExactIn(browser, origin, name, events, liveTree, context);
}

test("a 40,000-element page that mutates in every task while the first snapshot is taken replays exactly", () =>
  recordMutatingPage("mutating page", { elements: 40000 }));

test("a 20,000-element page with mutation storms (subtrees of 2,000 elements added, moved, edited) during the first snapshot replays exactly",
  () => recordMutatingPage("storm page", { elements: 20000, storm: true }));



// rrweb's player (2.x) drops a removed node's light-DOM subtree from its mirror but keeps
// its shadow root's children; when the host is added back, the player reuses those kept
// nodes whose recorded state equals the add, and builds a new text node for a text whose
// `.data` changed since it was recorded, next to the old one that the reused <p> still
// holds: the page shows "third", the replay "second" (without the player's virtual DOM,
// "second" and "third"). rrweb's own recorder
// (@rrweb/record) gives the same replay (found with the mutating page above, seed 12). A
// recorder can spare the player: remove a host's shadow children (`isShadow: true`)
// before the host itself.
test("a shadow host moved after its shadow text changed replays exactly",
  { todo: "rrweb's player reuses a moved shadow host's stale text node; the recorder does not yet work around it" },
  async () => {
    const { events, liveTree } = await recordPage(`${origin}/generated/shadow-move.html`, { exact: true });
    checkNodeIds(events, "shadow move");
    await assertReplayExactIn(browser, origin, "shadow move", events, liveTree);
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
