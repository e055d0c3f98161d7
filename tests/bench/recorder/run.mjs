// The session-replay recorder of the SDK (`new Sightline({replays: {enabled: true}})`,
// the built pkg/) side by side with `@rrweb/record` 2.1.6 driven the way Stack Auth's
// recorder drives it (emit keeps the event and measures `JSON.stringify(event).length`;
// an upload is one uncompressed JSON body `{browser_session_id, …, events}`), in one
// headless Chromium, one fresh page per run and recorder, the recorders interleaved.
//
//   bash scripts/build.sh && node tests/bench/recorder/run.mjs
//
// Per run and recorder, on a page of ELEMENTS elements:
//   (a) snapshot: start recording (Meta + FullSnapshot) and upload it;
//   (b) burst: one script adds BURST elements, the observer's callback runs, upload;
//   (c) bytes: everything uploaded for the session (snapshot, some mouse moves, a
//       scroll, typing into a field, the burst): ours are the gzipped bodies as sent.
// Main-thread time is CDP `Performance.getMetrics` deltas (ScriptDuration, TaskDuration)
// around each step, minus the same step on a page without a recorder; the longest task
// comes from a `longtask` PerformanceObserver (tasks ≥ 50 ms; 0 = none that long).
// Prints medians of RUNS runs as a markdown table (and JSON with BENCH_JSON=1).
import os from "node:os";
import { launchChromium, median, metrics } from "../cdp.mjs";
import { BURST, ELEMENTS, LONGTASKS, startBenchServer } from "./pages.mjs";

const RUNS = Math.max(5, Number(process.env.RUNS || 7));
// SIGHTLINE_BASE_PKG=<dir of another build>: that build runs too, interleaved ("base"),
// for a before/after comparison under the same machine conditions.
const basePkg = process.env.SIGHTLINE_BASE_PKG;
const KINDS = ["none", "sightline", "rrweb", ...(basePkg ? ["base"] : [])];

const { server, origin } = await startBenchServer({ basePkg });
const browser = await launchChromium();

/** Runs `step` (source of an async function) in the page and returns its main-thread cost and longest task. */
async function measured(page, cdp, step) {
  const t0 = await page.evaluate(() => performance.now());
  const before = await metrics(cdp);
  // From a page task (a timer), as a recorder runs: work invoked by CDP's evaluate is
  // not counted in ScriptDuration.
  await page.evaluate(`new Promise((resolve, reject) => setTimeout(() => (${step})().then(resolve, reject), 0))`);
  const after = await metrics(cdp);
  const t1 = await page.evaluate(() => performance.now());
  const longest = await page.evaluate(([a, b]) =>
    Math.max(0, ...window.__longtasks.filter(([s]) => s >= a && s <= b).map(([, d]) => d)), [t0, t1]);
  return { script: after.script - before.script, task: after.task - before.task, longest };
}

async function run(kind) {
  const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
  const p = await context.newPage();
  let bytes = 0;
  let bodies = 0;
  await p.route("**/api/v1/session-replays/batch", async (route) => {
    bytes += route.request().postDataBuffer()?.length ?? 0;
    bodies += 1;
    await route.fulfill({ status: 200, contentType: "application/json", body: '{"deduped":false}' });
  });
  await p.addInitScript(LONGTASKS);
  await p.goto(`${origin}/page.html`);
  if (kind === "rrweb") await p.addScriptTag({ url: "/rrweb.js" });
  await p.addScriptTag({ type: "module", url: `/setup-${kind}.js` });
  await p.waitForFunction(() => window.__benchReady === true);
  const cdp = await context.newCDPSession(p);
  await cdp.send("Performance.enable");
  await p.evaluate(() => new Promise((r) => setTimeout(r, 100)));

  const snapshot = await measured(p, cdp, "() => window.__bench.start()");
  // A little of a session, not timed: mouse moves, a scroll, typing into a field.
  await p.mouse.move(50, 50);
  await p.mouse.move(600, 400, { steps: 20 });
  await p.mouse.wheel(0, 1500);
  await p.click("#field");
  await p.keyboard.type("hello there", { delay: 10 });
  await p.evaluate(() => new Promise((r) => setTimeout(r, 600)));
  const burst = await measured(p, cdp, "() => window.__bench.burst(window.__bench.upload)");
  await p.evaluate(() => window.__bench.upload());
  await context.close();
  return { snapshot, burst, bytes, bodies };
}

const results = Object.fromEntries(KINDS.map((k) => [k, []]));
for (let i = 0; i < RUNS; i++) {
  for (const kind of KINDS) results[kind].push(await run(kind));
  process.stderr.write(`run ${i + 1}/${RUNS} done\n`);
}
const chromiumVersion = browser.version();
await browser.close();
server.close();

// Cost of a step: its median minus the median of the same step without a recorder
// (building the burst's nodes, layout, the evaluate round trip).
const cost = (kind, step, field) =>
  Math.max(0, median(results[kind].map((r) => r[step][field])) - median(results.none.map((r) => r[step][field])));
const raw = (kind, step, field) => median(results[kind].map((r) => r[step][field]));

const rows = [];
const ms = (v) => `${v.toFixed(1)} ms`;
const ratio = (a, b) => (b > 0 ? `${(a / b).toFixed(2)}×` : "–");
for (const [step, label, n] of [["snapshot", "(a) first full snapshot + upload", ELEMENTS], ["burst", "(b) burst + upload", BURST]]) {
  for (const [field, what] of [["script", "main-thread script (ScriptDuration)"], ["task", "main-thread tasks (TaskDuration)"]]) {
    const ours = cost("sightline", step, field);
    const theirs = cost("rrweb", step, field);
    rows.push([`${label}, ${n} elements: ${what}`, ms(ours), ms(theirs), ratio(ours, theirs), "≤ 0.50×"]);
  }
  const ours = raw("sightline", step, "longest");
  const theirs = raw("rrweb", step, "longest");
  rows.push([`${label}: longest task (≥ 50 ms; 0 = none)`, ms(ours), ms(theirs), ratio(ours, theirs), ""]);
}
const ourBytes = median(results.sightline.map((r) => r.bytes));
const theirBytes = median(results.rrweb.map((r) => r.bytes));
rows.push(["(c) bytes uploaded per session (ours gzipped as sent; theirs JSON)", `${ourBytes} B`, `${theirBytes} B`,
  ratio(ourBytes, theirBytes), "≤ 0.15×"]);

const lines = [
  `| measure | sightline | @rrweb/record 2.1.6 as Stack Auth drives it | ratio | goal |`,
  `|---|---:|---:|---:|---|`,
  ...rows.map((r) => `| ${r.join(" | ")} |`),
];
console.log(lines.join("\n"));
if (basePkg) {
  console.log();
  console.log(`| the other build (${basePkg}), same runs | script | tasks | longest task | ratio to rrweb (script) |`);
  console.log(`|---|---:|---:|---:|---:|`);
  for (const [step, label] of [["snapshot", "(a) snapshot + upload"], ["burst", "(b) burst + upload"]]) {
    const script = cost("base", step, "script");
    console.log(`| ${label} | ${ms(script)} | ${ms(cost("base", step, "task"))} | ${ms(raw("base", step, "longest"))} | ` +
      `${ratio(script, cost("rrweb", step, "script"))} |`);
  }
}
console.log();
console.log(`Without a recorder the same steps take (subtracted above): snapshot step ` +
  `${raw("none", "snapshot", "script").toFixed(1)} ms script / ${raw("none", "snapshot", "task").toFixed(1)} ms tasks, ` +
  `burst step ${raw("none", "burst", "script").toFixed(1)} ms script / ${raw("none", "burst", "task").toFixed(1)} ms tasks.`);
console.log(`Medians of ${RUNS} runs; page of ${ELEMENTS} elements; burst of ${BURST} elements. ` +
  `Machine: ${os.cpus()[0].model.trim()}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ` +
  `${os.type()} ${os.release()}; Chromium ${chromiumVersion} (headless); Node ${process.version}.`);
if (process.env.BENCH_JSON) console.log(JSON.stringify(results));
