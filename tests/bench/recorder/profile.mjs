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
import { launchChromium } from "../cdp.mjs";
import { PAGES, openBenchPage, startBenchServer } from "./pages.mjs";

const { server, origin } = await startBenchServer();
const browser = await launchChromium();

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
const pageName = process.env.PAGE || "bench";
if (!PAGES[pageName] || PAGES[pageName].skip) {
  console.error(`PAGE=${pageName}: ${PAGES[pageName]?.skip || `unknown (known: ${Object.keys(PAGES).join(", ")})`}`);
  process.exit(1);
}
const harness = await openBenchPage(browser, origin, kind, pageName);
const { context, page: p } = harness;
const cdp = await context.newCDPSession(p);
await p.evaluate(() => new Promise((r) => setTimeout(r, 100)));
// Each step waits until what it caused was uploaded (see openBenchPage).
harness.phase = "snapshot";
await profiled(p, cdp, "() => window.__bench.start()", "snapshot");
await p.evaluate(() => new Promise((r) => setTimeout(r, 300)));
harness.phase = "burst";
await profiled(p, cdp, "() => window.__bench.burst(window.__bench.upload)", "burst");
harness.phase = null;
await context.close();
await browser.close();
server.close();
