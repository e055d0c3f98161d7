// What a mutation storm costs the page, with and without `replays.mutationLimit`.
//
//   bash scripts/build.sh && node tests/bench/recorder/storm.mjs      # RUNS=5 (min 3), NODES=100000
//
// One script appends NODES elements one by one (NODES MutationRecords in one observer
// callback) to a page of 1,000 elements recorded by the SDK. "limit" is the default
// (10,000: the callback is replaced by a fresh full snapshot); "no limit" sets
// mutationLimit to 1e9 (every record diffed). Main-thread time is the CDP ScriptDuration
// / TaskDuration delta around the storm and the upload that follows (flush()), minus the
// same step on a page without a recorder; the longest task comes from a `longtask`
// PerformanceObserver. Medians of RUNS fresh pages, the setups interleaved.
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { join, dirname, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { launchChromium, metrics, median } from "../cdp.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, "..", "..", "..");
const pkg = process.env.SIGHTLINE_PKG || join(repo, "pkg");
const RUNS = Math.max(3, Number(process.env.RUNS || 5));
const NODES = Number(process.env.NODES || 100000);
if (!existsSync(join(pkg, "sightline_bg.wasm"))) {
  console.error(`${pkg} holds no built SDK: run \`bash scripts/build.sh\` first`);
  process.exit(1);
}

const page = "<!doctype html><html><head><meta charset='utf-8'><title>storm</title></head><body><div id='box'></div>" +
  Array.from({ length: 250 }, (_, i) => `<section><h2>Part ${i}</h2><p>Text <b>${i}</b></p></section>`).join("") +
  "</body></html>";

const setup = (limit) => `import init, { Sightline } from "/pkg/sightline.js";
await init();
${limit === null ? "const sl = null;" : `const sl = new Sightline({ projectId: "p_storm", apiBaseUrl: location.origin,
  getAnalyticsSession: () => null, analytics: { enabled: false },
  replays: { enabled: true, ${limit === "none" ? "mutationLimit: 1e9" : ""} } });
sl.start();
await sl.flush();`}
window.__longtasks = [];
new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__longtasks.push(e.duration); }).observe({ type: "longtask" });
window.__storm = async () => {
  const box = document.getElementById("box");
  for (let i = 0; i < ${NODES}; i++) { const s = document.createElement("span"); s.textContent = "n"; box.appendChild(s); }
  await new Promise((r) => setTimeout(r, 0));
  if (sl) await sl.flush();
};
window.__ready = true;`;

const SETUPS = { none: setup(null), limit: setup("default"), nolimit: setup("none") };

const server = createServer(async (req, res) => {
  const path = new URL(req.url, "http://x").pathname;
  try {
    if (path === "/page.html") return res.writeHead(200, { "content-type": "text/html" }).end(page);
    if (path.startsWith("/setup-")) return res.writeHead(200, { "content-type": "text/javascript" }).end(SETUPS[path.slice(7, -3)]);
    if (path.startsWith("/pkg/")) {
      const type = path.endsWith(".wasm") ? "application/wasm" : "text/javascript";
      return res.writeHead(200, { "content-type": type }).end(await readFile(join(pkg, normalize(path.slice(5)))));
    }
    if (path.startsWith("/api/")) {
      req.resume();
      return res.writeHead(200, { "content-type": "application/json" }).end('{"session_replay_id":"r"}');
    }
  } catch {}
  res.writeHead(404).end();
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const origin = `http://127.0.0.1:${server.address().port}`;
const browser = await launchChromium();

async function once(name) {
  const context = await browser.newContext();
  const p = await context.newPage();
  await p.goto(`${origin}/page.html`);
  await p.addScriptTag({ url: `/setup-${name}.js`, type: "module" });
  await p.waitForFunction(() => window.__ready === true, null, { timeout: 60000 });
  const cdp = await context.newCDPSession(p);
  await cdp.send("Performance.enable");
  const before = await metrics(cdp);
  await p.evaluate(() => window.__storm());
  const after = await metrics(cdp);
  const longest = await p.evaluate(() => Math.max(0, ...window.__longtasks));
  await context.close();
  return { script: after.script - before.script, task: after.task - before.task, longest };
}

const results = { none: [], limit: [], nolimit: [] };
for (let run = 0; run < RUNS; run++) {
  for (const name of Object.keys(results)) results[name].push(await once(name));
  console.error(`run ${run + 1}/${RUNS} done`);
}
await browser.close();
server.close();

const base = { script: median(results.none.map((r) => r.script)), task: median(results.none.map((r) => r.task)) };
const row = (label, rs) => {
  const script = median(rs.map((r) => r.script)) - base.script;
  const task = median(rs.map((r) => r.task)) - base.task;
  const longest = median(rs.map((r) => r.longest));
  return `| ${label} | ${script.toFixed(1)} ms | ${task.toFixed(1)} ms | ${longest.toFixed(0)} ms |`;
};
console.log(`| recorder, storm of ${NODES} appended elements + upload | script (minus no recorder) | tasks (minus no recorder) | longest task |`);
console.log("|---|---:|---:|---:|");
console.log(row("mutationLimit 10000 (default): a fresh full snapshot", results.limit));
console.log(row("mutationLimit 1e9: every record diffed", results.nolimit));
console.log(`\nWithout a recorder the storm takes ${base.script.toFixed(1)} ms script / ${base.task.toFixed(1)} ms tasks (subtracted above). Medians of ${RUNS} runs.`);
