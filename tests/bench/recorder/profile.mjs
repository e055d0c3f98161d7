// CPU profile of the recorder's two benchmark steps (run.mjs's pages and steps): the
// snapshot (start + upload) and the burst (10,000 elements added + upload), sampled by
// CDP's Profiler every 100 µs, printed as self and total time per function.
//
//   CARGO_TARGET_DIR=/work/target-perf cargo build --release --target wasm32-unknown-unknown -p sightline
//   wasm-bindgen --target web --keep-debug --out-dir /tmp/perfpkg --out-name sightline \
//     /work/target-perf/wasm32-unknown-unknown/release/sightline.wasm
//   SIGHTLINE_PKG=/tmp/perfpkg node tests/bench/recorder/profile.mjs     # TOP=35, KIND=sightline|rrweb
//
// (--keep-debug keeps the wasm name section, so Rust functions show by name.) One run is
// noisy: compare totals over a few runs.
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import os from "node:os";
import { join, dirname, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const testsDir = join(here, "..", "..");
const repo = join(testsDir, "..");
const pkg = process.env.SIGHTLINE_PKG || join(repo, "pkg");
const RUNS = Math.max(5, Number(process.env.RUNS || 7));
const ELEMENTS = Number(process.env.ELEMENTS || 10000);
const BURST = Number(process.env.BURST || 10000);
const KINDS = ["none", "sightline", "rrweb"];

if (!existsSync(join(pkg, "sightline_bg.wasm"))) {
  console.error(`${pkg} holds no built SDK: run \`bash scripts/build.sh\` first`);
  process.exit(1);
}

// 12 elements per block: a section with a heading, a paragraph, a list, an input…
const block = (i) => `<section class="s" id="s${i}"><h2>Section ${i}</h2><p>Some <b>bold</b> and ` +
  `<a href="p${i}.html">a link</a>.</p><ul><li>one</li><li>two</li><li>three</li></ul>` +
  `<input value="v${i}"><span title="t">x</span></section>`;

function pageHtml() {
  let html = "<!doctype html><html><head><meta charset='utf-8'><title>bench</title>" +
    "<style>.s{margin:4px} a{color:#36c}</style></head><body><input id='field'><div id='burst'></div>";
  for (let i = 0; i < (ELEMENTS - 8) / 12; i++) html += block(i);
  return html + "</body></html>";
}

// Each page gets `window.__bench = {start(), burst(), upload()}`; every call awaits the
// upload it causes.
const COMMON = `
window.__bench = window.__bench || {};
window.__bench.burst = async (upload) => {
  const blocks = ${BURST / 12};
  const box = document.getElementById("burst");
  const make = ${block.toString()};
  let html = "";
  for (let i = 0; i < blocks; i++) html += make(100000 + i);
  const t = document.createElement("template");
  t.innerHTML = html;
  box.append(t.content);
  await new Promise((r) => setTimeout(r, 0));
  await upload();
};`;

const SETUP = {
  none: `${COMMON}
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
  await sl.flush();
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
  await window.__bench.upload();
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

const LONGTASKS = `window.__longtasks = [];
new PerformanceObserver((list) => { for (const e of list.getEntries()) window.__longtasks.push([e.startTime, e.duration]); })
  .observe({ type: "longtask", buffered: true });`;

const page = pageHtml();
const server = createServer(async (req, res) => {
  const path = new URL(req.url, "http://x").pathname;
  try {
    if (path === "/page.html") return res.writeHead(200, { "content-type": "text/html" }).end(page);
    if (path.startsWith("/setup-")) {
      return res.writeHead(200, { "content-type": "text/javascript" }).end(SETUP[path.slice(7, -3)]);
    }
    if (path.startsWith("/pkg/")) {
      const type = path.endsWith(".wasm") ? "application/wasm" : "text/javascript";
      return res.writeHead(200, { "content-type": type }).end(await readFile(join(pkg, normalize(path.slice(5)))));
    }
    if (path === "/rrweb.js") {
      return res.writeHead(200, { "content-type": "text/javascript" })
        .end(await readFile(join(testsDir, "node_modules/@rrweb/record/dist/record.umd.cjs")));
    }
  } catch {}
  res.writeHead(404).end();
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const origin = `http://127.0.0.1:${server.address().port}`;
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--headless=new", "--no-sandbox",
  "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking", "--disable-component-update",
  "--disable-sync", "--no-first-run"] });


const STEP = process.env.STEP || "both";
async function profiled(p, cdp, step, label) {
  await cdp.send("Profiler.enable");
  await cdp.send("Profiler.setSamplingInterval", { interval: 100 });
  await cdp.send("Profiler.start");
  const t0 = Date.now();
  await p.evaluate(`new Promise((resolve, reject) => setTimeout(() => (${step})().then(resolve, reject), 0))`);
  const wall = Date.now() - t0;
  const { profile } = await cdp.send("Profiler.stop");
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const dts = profile.timeDeltas;
  const counts = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    const dt = (dts[i + 1] ?? 0) / 1000;
    counts.set(id, (counts.get(id) || 0) + dt);
  }
  // total (inclusive) too
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children || []) parent.set(c, n.id);
  const total = new Map();
  for (const [id, t] of counts) {
    const n = byId.get(id);
    const cf = n.callFrame;
    const key = `${cf.functionName || "(anon)"} ${cf.url ? cf.url.split("/").pop() + ":" + cf.lineNumber : ""}`;
    self.set(key, (self.get(key) || 0) + t);
    const seen = new Set();
    let cur = id;
    while (cur !== undefined) {
      const cn = byId.get(cur).callFrame;
      const k = `${cn.functionName || "(anon)"} ${cn.url ? cn.url.split("/").pop() + ":" + cn.lineNumber : ""}`;
      if (!seen.has(k)) { total.set(k, (total.get(k) || 0) + t); seen.add(k); }
      cur = parent.get(cur);
    }
  }
  const sum = [...self.values()].reduce((a, b) => a + b, 0);
  console.log(`\n=== ${label}: wall ${wall} ms, sampled ${sum.toFixed(1)} ms ===`);
  console.log("-- self --");
  for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.TOP || 35))) console.log(v.toFixed(2).padStart(8), k.slice(0, 160));
  console.log("-- total --");
  for (const [k, v] of [...total].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.TOP || 35))) console.log(v.toFixed(2).padStart(8), k.slice(0, 160));
}
const kind = process.env.KIND || "sightline";
const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
const p = await context.newPage();
await p.route("**/api/v1/session-replays/batch", (route) => route.fulfill({ status: 200, contentType: "application/json", body: "{}" }));
await p.goto(`${origin}/page.html`);
if (kind === "rrweb") await p.addScriptTag({ url: "/rrweb.js" });
await p.addScriptTag({ type: "module", url: `/setup-${kind}.js` });
await p.waitForFunction(() => window.__benchReady === true);
const cdp = await context.newCDPSession(p);
await p.evaluate(() => new Promise((r) => setTimeout(r, 100)));
await profiled(p, cdp, "() => window.__bench.start()", "snapshot");
await p.evaluate(() => new Promise((r) => setTimeout(r, 300)));
await profiled(p, cdp, "() => window.__bench.burst(window.__bench.upload)", "burst");
await context.close();
await browser.close();
server.close();
