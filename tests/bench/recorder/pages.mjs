// The recorder benchmark's pages, their per-recorder setup scripts, the loopback server
// that serves them, and the page harness (upload interception that knows when a step's
// events have arrived), shared by run.mjs (the side-by-side numbers) and profile.mjs (CPU
// profiles of the same steps).
//
// Pages (PAGES=bench,vec,big; all three by default):
//   bench: the 10k-element bench page (ELEMENTS, blocks of 11 elements);
//   vec:   the Rust `std::vec::Vec` documentation page from the toolchain's docs (the
//          rust-docs component; skipped with a message when absent);
//   big:   a page of BIG_ELEMENTS (100,000) elements, the replay conformance test's page.
// Every page gets an <input id="field"> and a <div id="burst"> at the top of its body when
// it has none (the session's typing and the burst go there).
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { join, dirname, extname, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { bigPage, rustDocsDir } from "../../e2e/large-pages.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const testsDir = join(here, "..", "..");
const repo = join(testsDir, "..");
const pkg = process.env.SIGHTLINE_PKG || join(repo, "pkg");
export const ELEMENTS = Number(process.env.ELEMENTS || 10000);
export const BIG_ELEMENTS = Number(process.env.BIG_ELEMENTS || 100000);
export const BURST = Number(process.env.BURST || 10000);
// How often a step polls for its upload (the SDK: `flush()`; rrweb: the Stack Auth upload).
// A poll costs ~0.3 ms of main-thread tasks with the SDK (a flush with nothing to send).
const POLL_MS = Number(process.env.POLL_MS || 50);
const RUST_DOCS = rustDocsDir();

if (!existsSync(join(pkg, "sightline_bg.wasm"))) {
  console.error(`${pkg} holds no built SDK: run \`bash scripts/build.sh\` first`);
  process.exit(1);
}

/** The benchmark pages: where each is served, or why it is skipped. */
export const PAGES = {
  bench: { path: "/page.html", label: `bench page (${ELEMENTS} elements)` },
  vec: RUST_DOCS
    ? { path: "/rustdoc/std/vec/struct.Vec.html", label: "std::vec::Vec docs" }
    : { skip: "the rust-docs component is not installed (rustup component add rust-docs)", label: "std::vec::Vec docs" },
  big: { path: "/big.html", label: `big page (${BIG_ELEMENTS} elements)` },
};

/** The pages chosen by PAGES (comma-separated names), all by default; fails naming an unknown one. */
export function chosenPages() {
  const names = (process.env.PAGES || Object.keys(PAGES).join(",")).split(",").map((n) => n.trim()).filter(Boolean);
  for (const n of names) {
    if (!PAGES[n]) {
      console.error(`PAGES: unknown page "${n}" (known: ${Object.keys(PAGES).join(", ")})`);
      process.exit(1);
    }
  }
  return names;
}

const block = (i) => `<section class="s" id="s${i}"><h2>Section ${i}</h2><p>Some <b>bold</b> and ` +
  `<a href="p${i}.html">a link</a>.</p><ul><li>one</li><li>two</li><li>three</li></ul>` +
  `<input value="v${i}"><span title="t">x</span></section>`;

function pageHtml() {
  let html = "<!doctype html><html><head><meta charset='utf-8'><title>bench</title>" +
    "<style>.s{margin:4px} a{color:#36c}</style></head><body><input id='field'><div id='burst'></div>";
  for (let i = 0; i < (ELEMENTS - 8) / 12; i++) html += block(i);
  return html + "</body></html>";
}

// Elements in one block (11), and the burst: BURST_BLOCKS blocks (BURST / 12 rounded up,
// as this benchmark has always built it), BURST_ELEMENTS elements.
const BLOCK_ELEMENTS = (block(0).match(/<[a-z]/g) || []).length;
export const BURST_BLOCKS = Math.ceil(BURST / 12);
export const BURST_ELEMENTS = BURST_BLOCKS * BLOCK_ELEMENTS;

// Each page gets `window.__bench = {start(), burst(), upload()}`. `start()` and `burst()`
// resolve once what they caused has been uploaded: they upload (poll, every POLL_MS) until
// the harness says the FullSnapshot (start) or the burst's Mutation adds have arrived
// (without the harness: one upload). The burst's own DOM work is marked
// (`bench-page-start` / `bench-page-end`) so the trace can tell it from the recorder's.
const COMMON = `
for (const [id, tag] of [["burst", "div"], ["field", "input"]]) {
  if (!document.getElementById(id)) {
    const el = document.createElement(tag);
    el.id = id;
    document.body.prepend(el);
  }
}
window.__bench = window.__bench || {};
window.__bench.polls = 0;
window.__bench.untilUploaded = async (what, upload) => {
  const deadline = performance.now() + 120000;
  for (;;) {
    window.__bench.polls += 1;
    await upload();
    if (!window.__benchHarness || window.__bench.noUploads) return;
    // Told by the harness's answer (a Server-Timing entry, seen by a PerformanceObserver:
    // no round trip to the harness per poll).
    if (window.__benchUploadedSteps[what]) return;
    if (performance.now() > deadline) throw new Error("bench: the " + what + " was not uploaded within 120 s");
    await new Promise((r) => setTimeout(r, ${POLL_MS}));
  }
};
window.__bench.burst = async (upload) => {
  performance.mark("bench-page-start");
  const blocks = ${BURST_BLOCKS};
  const box = document.getElementById("burst");
  const make = ${block.toString()};
  let html = "";
  for (let i = 0; i < blocks; i++) html += make(100000 + i);
  const t = document.createElement("template");
  t.innerHTML = html;
  box.append(t.content);
  performance.mark("bench-page-end");
  await new Promise((r) => setTimeout(r, 0));
  await window.__bench.untilUploaded("burst", upload);
};`;

const SETUP = {
  none: `${COMMON}
window.__bench.noUploads = true;
window.__bench.start = async () => {};
window.__bench.upload = async () => {};
window.__benchReady = true;`,
  sightline: `import init, { Sightline } from "/pkg/sightline.js";
await init();
${COMMON}
let sl;
window.__bench.start = async () => {
  sl = new Sightline({ projectId: "p_bench", apiBaseUrl: location.origin, getAnalyticsSession: () => null,
    analytics: { enabled: false }, replays: { enabled: true } });
  sl.start();
  // The first snapshot may be walked in slices and emitted when the walk ends: upload until
  // the FullSnapshot has arrived (flush() sends what is buffered; it does not end a walk).
  await window.__bench.untilUploaded("snapshot", () => sl.flush());
};
window.__bench.upload = () => sl.flush();
window.__benchReady = true;`,
  // Stack Auth's recorder: rrweb's record(), each event kept and measured with
  // JSON.stringify; an upload is one JSON body of the batch, uncompressed.
  rrweb: `${COMMON}
let events = [];
let approxBytes = 0;
const session = { browser_session_id: crypto.randomUUID(), started_at_ms: Date.now() };
const segment = crypto.randomUUID();
window.__bench.start = async () => {
  rrwebRecord.record({ maskAllInputs: true, emit: (event) => {
    events.push(event);
    approxBytes += JSON.stringify(event).length;
  } });
  // record() emits Meta + FullSnapshot synchronously: the first upload carries them.
  await window.__bench.untilUploaded("snapshot", window.__bench.upload);
};
window.__bench.upload = async () => {
  if (!events.length) return;
  const body = JSON.stringify({ browser_session_id: session.browser_session_id, session_replay_segment_id: segment,
    batch_id: crypto.randomUUID(), started_at_ms: session.started_at_ms, sent_at_ms: Date.now(), events });
  events = [];
  approxBytes = 0;
  await fetch("/api/v1/session-replays/batch", { method: "POST", headers: { "content-type": "application/json" }, body });
};
window.__benchReady = true;`,
};

// SETUP.base: the same as sightline, from another build served at /base/ (run.mjs).
SETUP.base = SETUP.sightline.replace('"/pkg/sightline.js"', '"/base/sightline.js"');

// In every page before its scripts: the longtask observer, and the harness's word that a
// step's events have arrived (a Server-Timing `bench-<step>` entry on an upload's answer).
export const LONGTASKS = `window.__benchHarness = true;
window.__benchUploadedSteps = {};
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    for (const t of e.serverTiming || []) if (t.name.startsWith("bench-")) window.__benchUploadedSteps[t.name.slice(6)] = true;
  }
}).observe({ type: "resource", buffered: true });
window.__longtasks = [];
new PerformanceObserver((list) => { for (const e of list.getEntries()) window.__longtasks.push([e.startTime, e.duration]); })
  .observe({ type: "longtask", buffered: true });`;

const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".json": "application/json",
  ".svg": "image/svg+xml", ".woff2": "font/woff2", ".png": "image/png", ".wasm": "application/wasm" };

/** Serves the pages, the setups, pkg/ (and `basePkg` at /base/), rrweb and the Rust docs; resolves with its origin. */
export async function startBenchServer({ basePkg } = {}) {
  const page = pageHtml();
  let big = null;
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    try {
      if (path === "/page.html") return res.writeHead(200, { "content-type": "text/html" }).end(page);
      if (path === "/big.html") {
        big ??= bigPage(BIG_ELEMENTS);
        return res.writeHead(200, { "content-type": "text/html" }).end(big);
      }
      if (path.startsWith("/setup-")) {
        return res.writeHead(200, { "content-type": "text/javascript" }).end(SETUP[path.slice(7, -3)]);
      }
      if (basePkg && path.startsWith("/base/")) {
        const type = path.endsWith(".wasm") ? "application/wasm" : "text/javascript";
        return res.writeHead(200, { "content-type": type }).end(await readFile(join(basePkg, normalize(path.slice(6)))));
      }
      if (path.startsWith("/pkg/")) {
        const type = path.endsWith(".wasm") ? "application/wasm" : "text/javascript";
        return res.writeHead(200, { "content-type": type }).end(await readFile(join(pkg, normalize(path.slice(5)))));
      }
      if (path === "/rrweb.js") {
        return res.writeHead(200, { "content-type": "text/javascript" })
          .end(await readFile(join(testsDir, "node_modules/@rrweb/record/dist/record.umd.cjs")));
      }
      if (RUST_DOCS && path.startsWith("/rustdoc/")) {
        const type = TYPES[extname(path)] || "application/octet-stream";
        return res.writeHead(200, { "content-type": type }).end(await readFile(join(RUST_DOCS, normalize(path.slice(9)))));
      }
    } catch {}
    res.writeHead(404).end();
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return { server, origin: `http://127.0.0.1:${server.address().port}` };
}

/** Elements in a serialized node (rrweb's node format: type 2 = element), its children included. */
function countElements(node) {
  if (!node || typeof node !== "object") return 0;
  let n = node.type === 2 ? 1 : 0;
  for (const c of node.childNodes || []) n += countElements(c);
  return n;
}

/**
 * A fresh context and page of `pageName` with the recorder `kind` ready (`window.__bench`).
 * The session-replay uploads are intercepted: every body is counted (bytes as sent), and
 * while a step is being waited for (`harness.phase = "snapshot" | "burst"`) it is gunzipped
 * and parsed to see whether what the step causes has arrived: for the snapshot, an event of
 * type 2 (FullSnapshot: the SDK's walk may end after start() returned, and a big page's
 * snapshot is a FullSnapshot followed by Mutation adds sent in the same flush); for the
 * burst, Mutation adds (type 3, source 0) holding at least BURST_ELEMENTS elements, or a
 * fresh FullSnapshot (a recorder may re-snapshot instead of diffing). The answer to the
 * upload that completes a step carries `Server-Timing: bench-<step>`, which the page's
 * `window.__bench.untilUploaded` sees.
 */
export async function openBenchPage(browser, origin, kind, pageName) {
  const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
  const page = await context.newPage();
  const harness = { context, page, phase: null, bytes: 0, bodies: 0, snapshot: false, burst: false, burstElements: 0, errors: [] };
  page.on("pageerror", (e) => harness.errors.push(String(e)));
  await page.route("**/api/v1/session-replays/batch", async (route) => {
    const raw = route.request().postDataBuffer() ?? Buffer.alloc(0);
    harness.bytes += raw.length;
    harness.bodies += 1;
    const phase = harness.phase;
    if (phase && raw.length) {
      const body = raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw) : raw;
      for (const e of JSON.parse(body.toString("utf8")).events || []) {
        if (e.type === 2) harness[phase] = true;
        if (phase === "burst" && e.type === 3 && e.data?.source === 0) {
          for (const add of e.data.adds || []) harness.burstElements += countElements(add.node);
          if (harness.burstElements >= BURST_ELEMENTS) harness.burst = true;
        }
      }
    }
    const headers = phase && harness[phase] ? { "server-timing": `bench-${phase}` } : {};
    await route.fulfill({ status: 200, contentType: "application/json", headers, body: '{"deduped":false}' });
  });
  await page.route("**/api/v1/analytics/events/batch", (route) =>
    route.fulfill({ status: 200, contentType: "application/json", body: '{"inserted":0}' }));
  await page.addInitScript(LONGTASKS);
  await page.goto(`${origin}${PAGES[pageName].path}`);
  if (kind === "rrweb") await page.addScriptTag({ url: "/rrweb.js" });
  await page.addScriptTag({ type: "module", url: `/setup-${kind}.js` });
  await page.waitForFunction(() => window.__benchReady === true);
  return harness;
}
