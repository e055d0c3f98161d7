// The analytics event tracker of the SDK (the built pkg/, defaults) side by side with
// Stack Auth's EventTracker (@stackframe/js 2.8.108, bundled here with esbuild), in one
// headless Chromium, each run in a fresh browser context, the SDKs interleaved.
//
//   node tests/bench/tracker/run.mjs            (needs pkg/: `bash scripts/build.sh`)
//   RUNS=9 EVENTS=1000 node tests/bench/tracker/run.mjs
//
// Both trackers send with fetch to this runner's loopback server, which answers like
// Stack Auth: 200 {"inserted": n}. Per run and SDK:
//   startup: import the module (+ init() for the wasm) + construct + start();
//   capture: EVENTS synthetic clicks on a nested <span> inside an <a> (click autocapture
//            in both; the peer has no public track()), in one page task;
//   flush:   send everything and wait until the server acknowledged all EVENTS + 1 events
//            (the $page-view of start()). sightline: flush(); the peer: its private
//            _flush({keepalive: false}), which its 10 s timer calls;
//   bytes:   sum of request bodies as received (as sent), and their JSON once gunzipped.
// A second mode repeats capture + flush with custom events: sightline's track() vs the
// peer's private _pushEvent() (what its autocapture calls; there is no public API).
// Main-thread time: CDP Performance.getMetrics deltas (ScriptDuration, TaskDuration)
// around each step, the step run from a page task (work run by CDP's evaluate itself is
// not counted in ScriptDuration); capture and flush minus the same step on a page with
// no tracker. Wall time: performance.now() in the page around the step.
// Shipped size: gzip -9 (zlib) of pkg/sightline_bg.wasm + pkg/sightline.js vs the peer's
// event-tracker.js bundled with its imports by esbuild --bundle --minify --format=esm.
// Prints medians of RUNS runs as a markdown table (and every run as JSON with BENCH_JSON=1).
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { gzipSync, gunzipSync, constants as zc } from "node:zlib";
import { execFileSync } from "node:child_process";
import os from "node:os";
import { join, dirname, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { launchChromium, median, metrics } from "../cdp.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const testsDir = join(here, "..", "..");
const repo = join(testsDir, "..");
const pkg = process.env.SIGHTLINE_PKG || join(repo, "pkg");
const RUNS = Math.max(5, Number(process.env.RUNS || 7));
const EVENTS = Number(process.env.EVENTS || 1000);
const KINDS = ["none", "sightline", "peer"];
const MODES = ["click", "track"];
const PEER_ENTRY = join(testsDir, "node_modules/@stackframe/js/dist/esm/lib/stack-app/apps/implementations/event-tracker.js");
const PEER_VERSION = JSON.parse(await readFile(join(testsDir, "node_modules/@stackframe/js/package.json"), "utf8")).version;

if (!existsSync(join(pkg, "sightline_bg.wasm"))) {
  console.error(`${pkg} holds no built SDK: run \`bash scripts/build.sh\` first`);
  process.exit(1);
}

// ---- the peer, bundled (this is also what the page loads) ----
async function bundle(external) {
  const out = await build({
    entryPoints: [PEER_ENTRY], bundle: true, minify: true, format: "esm", platform: "browser",
    write: false, logLevel: "silent", external,
  });
  return Buffer.from(out.outputFiles[0].contents);
}
const peerBundle = await bundle([]);
const peerAlone = await bundle(["@stackframe/*", "./*"]); // the tracker's own code, imports left out
const gz = (buf) => gzipSync(buf, { level: zc.Z_BEST_COMPRESSION }).length;
const ourWasm = await readFile(join(pkg, "sightline_bg.wasm"));
const ourJs = await readFile(join(pkg, "sightline.js"));
const sizes = {
  sightline: gz(ourWasm) + gz(ourJs), sightlineWasm: gz(ourWasm), sightlineJs: gz(ourJs),
  peer: gz(peerBundle), peerAlone: gz(peerAlone), peerRaw: peerBundle.length,
};

// ---- the loopback server: pages, the SDKs, and the ingestion endpoint ----
const received = new Map(); // projectId -> {requests, bytes, jsonBytes, events, gzipped, sample, types}
const FILES = { "/page.html": "page.html", "/bench/common.js": "common.js", "/bench/none.js": "none.js",
  "/bench/sightline.js": "sightline.js", "/bench/peer.js": "peer.js" };
const unexpected = [];
const server = createServer(async (req, res) => {
  const path = new URL(req.url, "http://x").pathname;
  const send = (status, type, body, extra = {}) =>
    res.writeHead(status, { "content-type": type, "cache-control": "no-store", ...extra }).end(body);
  try {
    if (req.method === "POST" && path === "/api/v1/analytics/events/batch") {
      const chunks = [];
      for await (const c of req) chunks.push(c);
      const raw = Buffer.concat(chunks);
      const gzipped = raw[0] === 0x1f && raw[1] === 0x8b;
      const json = gzipped ? gunzipSync(raw) : raw;
      const batch = JSON.parse(json.toString("utf8"));
      const project = req.headers["x-stack-project-id"] || "?";
      const r = received.get(project) ||
        { requests: 0, bytes: 0, jsonBytes: 0, events: 0, gzipped: 0, types: {}, sample: null, arrivals: [] };
      r.arrivals.push(performance.now());
      r.requests += 1;
      r.bytes += raw.length;
      r.jsonBytes += json.length;
      r.events += batch.events.length;
      r.gzipped += gzipped ? 1 : 0;
      for (const e of batch.events) {
        r.types[e.event_type] = (r.types[e.event_type] || 0) + 1;
        if (!r.sample && e.event_type !== "$page-view") r.sample = e;
      }
      received.set(project, r);
      return send(200, "application/json", JSON.stringify({ inserted: batch.events.length }),
        { "x-bench-inserted": String(batch.events.length), "access-control-expose-headers": "x-bench-inserted" });
    }
    if (path === "/favicon.ico") return send(204, "image/x-icon", "");
    if (FILES[path]) {
      const type = path.endsWith(".html") ? "text/html" : "text/javascript";
      return send(200, type, await readFile(join(here, FILES[path])));
    }
    if (path === "/peer/event-tracker.js") return send(200, "text/javascript", peerBundle);
    if (path.startsWith("/pkg/")) {
      const type = path.endsWith(".wasm") ? "application/wasm" : "text/javascript";
      return send(200, type, await readFile(join(pkg, normalize(path.slice(5)))));
    }
  } catch (e) {
    unexpected.push(`${req.method} ${path}: ${e}`);
    return send(500, "text/plain", String(e));
  }
  unexpected.push(`${req.method} ${path}: 404`);
  send(404, "text/plain", "not found");
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const origin = `http://127.0.0.1:${server.address().port}`;

const browser = await launchChromium();


/** Runs `step` (source of a function, sync or async) from a page task; returns its value and main-thread cost. */
async function measured(page, cdp, step, arg) {
  const before = await metrics(cdp);
  const value = await page.evaluate(([src, a]) => new Promise((resolve, reject) =>
    setTimeout(() => { try { Promise.resolve((0, eval)(src)(a)).then(resolve, reject); } catch (e) { reject(e); } }, 0)),
  [step, arg]);
  const after = await metrics(cdp);
  return { value, script: after.script - before.script, task: after.task - before.task };
}

const settle = (p, ms) => p.evaluate((t) => new Promise((r) => setTimeout(r, t)), ms);

let seq = 0;
async function run(kind, mode) {
  const projectId = `p_bench_${kind}_${mode}_${++seq}`;
  const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
  const p = await context.newPage();
  const errors = [];
  p.on("pageerror", (e) => errors.push(String(e)));
  p.on("console", (m) => { if (m.type() === "error" || m.type() === "warning") errors.push(m.text()); });
  await p.goto(`${origin}/page.html`);
  await p.waitForFunction(() => window.__pageReady === true);
  await p.addScriptTag({ type: "module", url: `/bench/${kind}.js` });
  await p.waitForFunction(() => window.__benchReady === true);
  const cdp = await context.newCDPSession(p);
  await cdp.send("Performance.enable");
  await settle(p, 100);

  const startup = await measured(p, cdp, "(id) => window.__bench.startup(id)", projectId);
  await settle(p, 200);
  const capture = await measured(p, cdp, `() => window.__bench.capture(${JSON.stringify(mode)}, ${EVENTS})`);
  const expected = kind === "none" ? 0 : EVENTS + 1;
  const flush = await measured(p, cdp, "(n) => window.__bench.flush(n)", expected);
  await settle(p, 100);
  await context.close();
  const got = received.get(projectId) || { requests: 0, bytes: 0, jsonBytes: 0, events: 0, gzipped: 0, types: {} };
  received.delete(projectId);
  // How the requests were spread: ms from the first to the last arrival at the server.
  got.spreadMs = got.arrivals?.length ? got.arrivals.at(-1) - got.arrivals[0] : 0;
  delete got.arrivals;
  if (got.events !== expected) errors.push(`server got ${got.events} events, expected ${expected}`);
  return { startup, capture, flush, got, errors };
}

const results = Object.fromEntries(MODES.map((m) => [m, Object.fromEntries(KINDS.map((k) => [k, []]))]));
for (let i = 0; i < RUNS; i++) {
  for (const mode of MODES) {
    // Rotate the order so that neither SDK always runs first.
    const order = KINDS.map((_, j) => KINDS[(i + j) % KINDS.length]);
    for (const kind of order) results[mode][kind].push(await run(kind, mode));
  }
  process.stderr.write(`run ${i + 1}/${RUNS} done\n`);
}
const chromiumVersion = browser.version();
await browser.close();
server.close();

// ---- the table ----
const pick = (r, path) => path.split(".").reduce((o, k) => o[k], r);
const raw = (mode, kind, path) => median(results[mode][kind].map((r) => pick(r, path)));
// Per run: the step minus the same step of the no-tracker page of the same run index.
const net = (mode, kind, path) =>
  median(results[mode][kind].map((r, i) => Math.max(0, pick(r, path) - pick(results[mode].none[i], path))));
const sumNet = (mode, kind, field) =>
  median(results[mode][kind].map((r, i) =>
    Math.max(0, r.capture[field] + r.flush[field] - results[mode].none[i].capture[field] - results[mode].none[i].flush[field])));

const ms = (v) => `${v.toFixed(2)} ms`;
const kb = (v) => `${(v / 1000).toFixed(1)} kB`;
const ratio = (a, b) => (b > 0 ? `${(a / b).toFixed(2)}×` : "–");
const rows = [];
const row = (label, ours, theirs, fmt) => rows.push([label, fmt(ours), fmt(theirs), ratio(ours, theirs)]);

for (const mode of MODES) {
  const what = mode === "click" ? `${EVENTS} clicks (autocapture)` : `${EVENTS} custom events (track() / peer's private _pushEvent)`;
  const both = (f) => [f("sightline"), f("peer")];
  rows.push([`**capture + flush of ${what}**`, "", "", ""]);
  row("capture: wall time of the loop", ...both((k) => net(mode, k, "capture.value")), ms);
  row("capture: ScriptDuration", ...both((k) => net(mode, k, "capture.script")), ms);
  row("capture: TaskDuration", ...both((k) => net(mode, k, "capture.task")), ms);
  row("flush until all acknowledged: wall time", ...both((k) => raw(mode, k, "flush.value.wallMs")), ms);
  row("flush: ScriptDuration", ...both((k) => net(mode, k, "flush.script")), ms);
  row("flush: TaskDuration", ...both((k) => net(mode, k, "flush.task")), ms);
  row("capture + flush: ScriptDuration", ...both((k) => sumNet(mode, k, "script")), ms);
  row("capture + flush: TaskDuration", ...both((k) => sumNet(mode, k, "task")), ms);
  row(`bytes uploaded for ${EVENTS + 1} events, as sent`, ...both((k) => raw(mode, k, "got.bytes")), kb);
  row("… the same bodies as JSON (gunzipped)", ...both((k) => raw(mode, k, "got.jsonBytes")), kb);
  row("requests", ...both((k) => raw(mode, k, "got.requests")), (v) => String(v));
  row("… of which gzipped", ...both((k) => raw(mode, k, "got.gzipped")), (v) => String(v));
}
rows.push(["**startup** (both modes' runs: 2 × RUNS fresh pages)", "", "", ""]);
const startup = (k, f) => median([...results.click[k], ...results.track[k]].map(f));
const su = (k, field) => startup(k, (r) => r.startup.value[field]);
row("import the module (wall)", su("sightline", "importMs"), su("peer", "importMs"), ms);
row("`init()`: fetch + compile + instantiate the wasm (wall; the peer has none)", su("sightline", "initMs"), 0, ms);
row("construct + `start()` (wall)", su("sightline", "ctorStartMs"), su("peer", "ctorStartMs"), ms);
const total = (r) => r.startup.value.importMs + r.startup.value.initMs + r.startup.value.ctorStartMs;
row("total: import + init + construct + start (wall)", startup("sightline", total), startup("peer", total), ms);
row("total: ScriptDuration", startup("sightline", (r) => r.startup.script), startup("peer", (r) => r.startup.script), ms);
row("total: TaskDuration", startup("sightline", (r) => r.startup.task), startup("peer", (r) => r.startup.task), ms);
rows.push(["**shipped size (gzip -9)**", "", "", ""]);
row("sightline: sightline_bg.wasm + sightline.js; peer: event-tracker.js + imports, esbuild --bundle --minify",
  sizes.sightline, sizes.peer, kb);

const lines = [
  `| measure (medians of ${RUNS} runs) | sightline | @stackframe/js ${PEER_VERSION} EventTracker | ratio (sightline / peer) |`,
  `|---|---:|---:|---:|`,
  ...rows.map((r) => `| ${r.join(" | ")} |`),
];
console.log(lines.join("\n"));
console.log();
console.log(`Shipped size details: sightline_bg.wasm ${kb(sizes.sightlineWasm)} + sightline.js ${kb(sizes.sightlineJs)} gzipped ` +
  `(the whole SDK: tracker, replay recorder, access gate); the peer's bundle is ${kb(sizes.peerRaw)} minified, ` +
  `of which event-tracker.js alone (imports left out) is ${kb(sizes.peerAlone)} gzipped.`);
console.log(`Medians of ${RUNS} runs, each SDK in a fresh browser context per run; capture/flush CPU is net of a ` +
  `no-tracker page. Machine: ${os.cpus()[0].model.trim()}, ${os.cpus().length} cores, ` +
  `${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}; Chromium ${chromiumVersion} ` +
  `(headless, /usr/bin/chromium); Node ${process.version}.`);

// ---- what each side sent and said ----
const notes = [];
for (const mode of MODES) for (const kind of ["sightline", "peer"]) {
  const errs = [...new Set(results[mode][kind].flatMap((r) => r.errors))];
  if (errs.length) notes.push(`${kind}/${mode}: ${errs.slice(0, 5).join(" | ")}`);
}
if (unexpected.length) notes.push(`unexpected requests: ${[...new Set(unexpected)].slice(0, 5).join(" | ")}`);
for (const mode of MODES) {
  const spread = (k) => median(results[mode][k].map((r) => r.got.spreadMs)).toFixed(1);
  notes.push(`${mode}: first → last request arrival at the server: sightline ${spread("sightline")} ms, peer ${spread("peer")} ms`);
}
for (const kind of ["sightline", "peer"]) {
  const last = results.click[kind].at(-1).got;
  notes.push(`${kind}: event types ${JSON.stringify(last.types)}, one $click: ${JSON.stringify(last.sample)}`);
}
console.log();
for (const n of notes) console.log(`- ${n}`);
if (process.env.BENCH_JSON) console.log(JSON.stringify({ sizes, results }));
