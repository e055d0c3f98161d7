// The session-replay recorder of the SDK (`new Sightline({replays: {enabled: true}})`,
// the built pkg/) side by side with `@rrweb/record` 2.1.6 driven the way Stack Auth's
// recorder drives it (emit keeps the event and measures `JSON.stringify(event).length`;
// an upload is one uncompressed JSON body `{browser_session_id, …, events}`), in one
// headless Chromium, one fresh page per run, page and recorder, the recorders interleaved.
//
//   bash scripts/build.sh && node tests/bench/recorder/run.mjs
//   PAGES=bench,vec,big (default: all three; see pages.mjs)  RUNS=5  TRACE=0 (no trace)
//   three separate runs, their ratios side by side: node tests/bench/recorder/rounds.mjs
//
// Per run, page and recorder:
//   (a) snapshot: start recording and wait until the FullSnapshot has been uploaded (the
//       SDK's walk may end, and its Meta + FullSnapshot be emitted, after start() returned:
//       the step uploads until the intercepted bodies hold an event of type 2);
//   (b) burst: one script adds the burst (BURST_BLOCKS blocks: BURST_ELEMENTS elements,
//       ~1.9 nodes per element with the text), the observer's callback runs, and the step
//       uploads until the intercepted Mutation adds hold all of its elements;
//   (c) bytes: everything uploaded for the session (snapshot, some mouse moves, a
//       scroll, typing into a field, the burst): ours are the gzipped bodies as sent.
// Main-thread time is CDP `Performance.getMetrics` deltas (TaskDuration: all main-thread
// tasks; ScriptDuration: script) around each step, minus the same step on a page without a
// recorder ("none"). The longest task is exact, from a Chromium trace of the step
// (devtools.timeline; trace.mjs): the longest `RunTask` of the page's main thread that runs
// script, minus the burst's own DOM work (marked in the page); a rendering frame counts
// only its script (the page's style, layout and paint are not the recorder's; a layout a
// recorder's read forces is). "Recorder's tasks in the trace" sums the same parts. With
// TRACE=0 (or no trace) the longest task falls back to a `longtask` PerformanceObserver
// (tasks ≥ 50 ms, 0 = none that long, the page's own work included).
// Prints medians of RUNS runs as markdown tables (and JSON with BENCH_JSON=1; a summary of
// the ratios to the file BENCH_SUMMARY, for rounds.mjs).
import os from "node:os";
import { writeFileSync } from "node:fs";
import { launchChromium, median, metrics } from "../cdp.mjs";
import { TRACE_CATEGORIES, recorderTasks } from "./trace.mjs";
import { BURST_BLOCKS, BURST_ELEMENTS, PAGES, chosenPages, openBenchPage, startBenchServer } from "./pages.mjs";

const RUNS = Math.max(1, Number(process.env.RUNS || 5));
const TRACE = process.env.TRACE !== "0";
// SIGHTLINE_BASE_PKG=<dir of another build>: that build runs too, interleaved ("base"),
// for a before/after comparison under the same machine conditions.
const basePkg = process.env.SIGHTLINE_BASE_PKG;
const KINDS = ["none", "sightline", "rrweb", ...(basePkg ? ["base"] : [])];
const GOAL_RATIO = 0.5;
const GOAL_LONGEST_MS = 50;

const pageNames = chosenPages().filter((name) => {
  if (!PAGES[name].skip) return true;
  console.error(`page "${name}" skipped: ${PAGES[name].skip}`);
  console.log(`(${PAGES[name].label}: skipped, ${PAGES[name].skip})\n`);
  return false;
});
if (!pageNames.length) {
  console.error("no page to measure");
  process.exit(1);
}

const loadBefore = os.loadavg();
const { server, origin } = await startBenchServer({ basePkg });
const browser = await launchChromium();

/** Runs `step` (source of an async function) in the page; returns its main-thread cost and longest task. */
async function measured(harness, cdp, step, phase, kind) {
  const { page } = harness;
  harness.phase = phase;
  harness[phase] = false;
  harness.burstElements = 0;
  if (TRACE) await browser.startTracing(page, { categories: TRACE_CATEGORIES });
  const [t0, polls0] = await page.evaluate(() => [performance.now(), window.__bench.polls]);
  const before = await metrics(cdp);
  // From a page task (a timer), as a recorder runs: work invoked by CDP's evaluate is
  // not counted in ScriptDuration.
  await page.evaluate(`new Promise((resolve, reject) => setTimeout(() => {
    performance.mark("bench-step");
    (${step})().then(resolve, reject);
  }, 0))`);
  const after = await metrics(cdp);
  const [t1, polls1] = await page.evaluate(() => [performance.now(), window.__bench.polls]);
  harness.phase = null;
  if (kind !== "none" && !harness[phase]) throw new Error(`${kind}: the ${phase} step ended before its events were uploaded`);
  const traced = TRACE ? recorderTasks(JSON.parse((await browser.stopTracing()).toString("utf8")).traceEvents) : null;
  const longtask = await page.evaluate(([a, b]) =>
    Math.max(0, ...window.__longtasks.filter(([s]) => s >= a && s <= b).map(([, d]) => d)), [t0, t1]);
  return {
    script: after.script - before.script,
    task: after.task - before.task,
    longtask,
    longest: traced ? traced.longest : longtask,
    traced: Boolean(traced),
    // The recorder's tasks in the trace, summed (rendering no script forced left out).
    recorderTasks: traced ? traced.total : NaN,
    wall: t1 - t0,
    polls: polls1 - polls0,
  };
}

async function run(kind, pageName) {
  const harness = await openBenchPage(browser, origin, kind, pageName);
  const p = harness.page;
  const elements = await p.evaluate(() => document.getElementsByTagName("*").length);
  const cdp = await harness.context.newCDPSession(p);
  await cdp.send("Performance.enable");
  await p.evaluate(() => new Promise((r) => setTimeout(r, 100)));

  const snapshot = await measured(harness, cdp, "() => window.__bench.start()", "snapshot", kind);
  // A little of a session, not timed: mouse moves, a scroll, typing into a field.
  await p.mouse.move(50, 50);
  await p.mouse.move(600, 400, { steps: 20 });
  await p.mouse.wheel(0, 1500);
  await p.click("#field");
  await p.keyboard.type("hello there", { delay: 10 });
  await p.evaluate(() => new Promise((r) => setTimeout(r, 600)));
  const burst = await measured(harness, cdp, "() => window.__bench.burst(window.__bench.upload)", "burst", kind);
  await p.evaluate(() => window.__bench.upload());
  await harness.context.close();
  for (const e of harness.errors) process.stderr.write(`${pageName}, ${kind}: page error: ${e}\n`);
  return { snapshot, burst, bytes: harness.bytes, bodies: harness.bodies, elements, errors: harness.errors.length };
}

const results = Object.fromEntries(pageNames.map((n) => [n, Object.fromEntries(KINDS.map((k) => [k, []]))]));
for (let i = 0; i < RUNS; i++) {
  for (const pageName of pageNames) {
    for (const kind of KINDS) results[pageName][kind].push(await run(kind, pageName));
  }
  process.stderr.write(`run ${i + 1}/${RUNS} done\n`);
}
const chromiumVersion = browser.version();
await browser.close();
server.close();
const loadAfter = os.loadavg();

const ms = (v) => `${v.toFixed(1)} ms`;
const ratio = (a, b) => (b > 0 ? a / b : NaN);
const fx = (r) => (Number.isFinite(r) ? `${r.toFixed(2)}×` : "–");
const summary = { runs: RUNS, traced: TRACE, pages: {} };

const header = [
  "| page | step | main thread (TaskDuration): sightline / rrweb = ratio | script (ScriptDuration) | " +
    "recorder's tasks in the trace | longest task: sightline / rrweb | goals: ≤ 0.50× main thread, < 50 ms |",
  "|---|---|---:|---:|---:|---:|---|",
];
const rows = [];
const byteRows = [];
const baseRows = [];
const notes = [];
for (const pageName of pageNames) {
  const r = results[pageName];
  // Cost of a step: its median minus the median of the same step without a recorder
  // (building the burst's nodes, layout, the evaluate round trip).
  const raw = (kind, step, field) => median(r[kind].map((x) => x[step][field]));
  const cost = (kind, step, field) => Math.max(0, raw(kind, step, field) - raw("none", step, field));
  const label = `${PAGES[pageName].label.replace(/ \(.*/, "")}, ${median(r.none.map((x) => x.elements))} elements`;
  const pair = (a, b) => `${a.toFixed(1)} / ${b.toFixed(1)} ms = ${fx(ratio(a, b))}`;
  summary.pages[pageName] = { label };
  for (const [step, stepLabel] of [["snapshot", "(a) first snapshot, until uploaded"], ["burst", `(b) burst of ${BURST_ELEMENTS} elements, until uploaded`]]) {
    const task = [cost("sightline", step, "task"), cost("rrweb", step, "task")];
    const script = [cost("sightline", step, "script"), cost("rrweb", step, "script")];
    const traced = [cost("sightline", step, "recorderTasks"), cost("rrweb", step, "recorderTasks")];
    const longest = [raw("sightline", step, "longest"), raw("rrweb", step, "longest")];
    const taskRatio = ratio(...task);
    const met = [taskRatio <= GOAL_RATIO ? "met" : "not met", longest[0] < GOAL_LONGEST_MS ? "met" : "not met"];
    rows.push(`| ${label} | ${stepLabel} | ${pair(...task).replace(/= (.*)$/, "= **$1**")} | ${pair(...script)} | ` +
      `${TRACE ? pair(...traced) : "–"} | **${longest[0].toFixed(1)}** / ${longest[1].toFixed(1)} ms | ${met[0]}, ${met[1]} |`);
    summary.pages[pageName][step] = { taskRatio, scriptRatio: ratio(...script), tracedRatio: ratio(...traced), task, script, traced, longest };
    if (basePkg) {
      const bt = cost("base", step, "task");
      baseRows.push(`| ${label} | ${stepLabel} | ${ms(bt)} | ${fx(ratio(bt, task[1]))} | ${ms(cost("base", step, "script"))} | ` +
        `${ms(raw("base", step, "longest"))} |`);
    }
  }
  const bytes = [median(r.sightline.map((x) => x.bytes)), median(r.rrweb.map((x) => x.bytes))];
  byteRows.push(`| ${label} | ${bytes[0]} B | ${bytes[1]} B | ${fx(ratio(...bytes))} |`);
  notes.push(`${label}: without a recorder the snapshot step takes ${raw("none", "snapshot", "task").toFixed(1)} ms of tasks ` +
    `(${raw("none", "snapshot", "script").toFixed(1)} ms script), the burst step ${raw("none", "burst", "task").toFixed(1)} ms ` +
    `(${raw("none", "burst", "script").toFixed(1)} ms script; script tasks outside the marked page work ` +
    `${raw("none", "burst", "recorderTasks").toFixed(1)} ms, longest ${raw("none", "burst", "longest").toFixed(1)} ms); ` +
    `the snapshot step lasts ${raw("sightline", "snapshot", "wall").toFixed(0)} ms of wall time with sightline ` +
    `(${raw("sightline", "snapshot", "polls")} upload polls; burst ${raw("sightline", "burst", "polls")}), ` +
    `${raw("rrweb", "snapshot", "wall").toFixed(0)} ms with rrweb. Longest task ≥ 50 ms seen by the longtask observer ` +
    `(page work included; sightline / rrweb): snapshot ${raw("sightline", "snapshot", "longtask").toFixed(0)} / ` +
    `${raw("rrweb", "snapshot", "longtask").toFixed(0)} ms, burst ${raw("sightline", "burst", "longtask").toFixed(0)} / ` +
    `${raw("rrweb", "burst", "longtask").toFixed(0)} ms.`);
}
const pageErrors = pageNames.flatMap((n) => KINDS.flatMap((k) => results[n][k].map((x) => x.errors))).reduce((a, b) => a + b, 0);
if (pageErrors) notes.push(`${pageErrors} page errors (see stderr).`);
const allTraced = pageNames.every((n) => KINDS.every((k) => results[n][k].every((x) => x.snapshot.traced && x.burst.traced)));

console.log([...header, ...rows].join("\n"));
console.log();
console.log("| page | (c) bytes uploaded per session: sightline (gzipped as sent) | rrweb (JSON) | ratio (goal ≤ 0.15×) |");
console.log("|---|---:|---:|---:|");
console.log(byteRows.join("\n"));
if (basePkg) {
  console.log();
  console.log(`| the other build (${basePkg}), same runs | step | main thread | ratio to rrweb | script | longest task |`);
  console.log("|---|---|---:|---:|---:|---:|");
  console.log(baseRows.join("\n"));
}
console.log();
for (const n of notes) console.log(`- ${n}`);
console.log(`- Longest task: ${allTraced ? "from the Chromium trace (the recorder's part of its longest task)"
  : "from the longtask observer (≥ 50 ms only; 0 = none that long): a trace was missing"}.`);
console.log(`- Medians of ${RUNS} runs; burst of ${BURST_BLOCKS} blocks (${BURST_ELEMENTS} elements). ` +
  `Machine: ${os.cpus()[0].model.trim()}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ` +
  `${os.type()} ${os.release()}; load average ${loadBefore[0].toFixed(1)} before, ${loadAfter[0].toFixed(1)} after; ` +
  `Chromium ${chromiumVersion} (headless); Node ${process.version}.`);
if (process.env.BENCH_SUMMARY) writeFileSync(process.env.BENCH_SUMMARY, JSON.stringify(summary));
if (process.env.BENCH_JSON) console.log(JSON.stringify(results));
