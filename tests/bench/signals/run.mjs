// What the product signals cost per click on the main thread: the built SDK (pkg/) with
// its defaults (rage and dead clicks, page leave, web vitals on) side by side with the
// same SDK with every signal off, and a page without any SDK, in one headless Chromium.
//
//   node tests/bench/signals/run.mjs            (needs pkg/: `bash scripts/build.sh`)
//   RUNS=9 CLICKS=1000 node tests/bench/signals/run.mjs
//
// Per run and kind, a fresh browser context; CLICKS synthetic clicks in one page task on
// 50 buttons in turn (every click is a dead-click candidate on a new element and starts
// a new rage burst: the detectors' busiest path; nothing on the page reacts). Main-thread
// time: CDP Performance.getMetrics deltas (ScriptDuration, TaskDuration) around the loop,
// minus the same loop on the page without an SDK. Prints medians as a markdown table.
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { join, dirname, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { launchChromium, median, metrics } from "../cdp.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, "..", "..", "..");
const pkg = process.env.SIGHTLINE_PKG || join(repo, "pkg");
const RUNS = Math.max(3, Number(process.env.RUNS || 7));
const CLICKS = Number(process.env.CLICKS || 1000);
const OFF = { rageClicks: false, deadClicks: false, pageLeave: false, webVitals: false, captureExceptions: false };
const KINDS = { none: null, "signals off": OFF, "signals on (defaults)": {} };

if (!existsSync(join(pkg, "sightline_bg.wasm"))) {
  console.error(`${pkg} holds no built SDK: run \`bash scripts/build.sh\` first`);
  process.exit(1);
}

const PAGE = `<!doctype html><meta charset="utf-8"><title>signals bench</title><main id="app">${
  Array.from({ length: 50 }, (_, i) => `<div class="row"><button class="btn b${i}"><span>Button ${i}</span></button></div>`).join("")
}</main>`;

const server = createServer(async (req, res) => {
  const path = new URL(req.url, "http://x").pathname;
  const send = (status, type, body) => res.writeHead(status, { "content-type": type, "cache-control": "no-store" }).end(body);
  if (path === "/page.html") return send(200, "text/html", PAGE);
  if (req.method === "POST") return send(200, "application/json", JSON.stringify({ inserted: 0 }));
  if (path.startsWith("/pkg/")) {
    try {
      const type = path.endsWith(".wasm") ? "application/wasm" : "text/javascript";
      return send(200, type, await readFile(join(pkg, normalize(path.slice(5)))));
    } catch {}
  }
  send(404, "text/plain", "not found");
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const origin = `http://127.0.0.1:${server.address().port}`;
const browser = await launchChromium();

async function run(analytics) {
  const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
  const page = await context.newPage();
  await page.goto(`${origin}/page.html`);
  if (analytics) {
    await page.evaluate(async (analytics) => {
      const mod = await import("/pkg/sightline.js");
      await mod.default();
      window.sl = new mod.Sightline({ projectId: "p_bench", apiBaseUrl: location.origin,
        getAnalyticsSession: () => null, analytics: { flushIntervalMs: 600000, ...analytics } });
      window.sl.start();
    }, analytics);
  }
  const cdp = await context.newCDPSession(page);
  await cdp.send("Performance.enable");
  await page.evaluate(() => new Promise((r) => setTimeout(r, 100)));
  const before = await metrics(cdp);
  await page.evaluate((n) => new Promise((resolve) => setTimeout(() => {
    const buttons = [...document.querySelectorAll("button span")];
    for (let i = 0; i < n; i++) {
      buttons[i % buttons.length].dispatchEvent(new MouseEvent("click", {
        bubbles: true, cancelable: true, view: window, clientX: 20 + (i % 50) * 3, clientY: 30 + (i % 50) * 40,
      }));
    }
    resolve();
  }, 0)), CLICKS);
  const after = await metrics(cdp);
  await context.close();
  return { script: after.script - before.script, task: after.task - before.task };
}

const results = Object.fromEntries(Object.keys(KINDS).map((k) => [k, []]));
for (let i = 0; i < RUNS; i++) {
  const names = Object.keys(KINDS);
  for (let j = 0; j < names.length; j++) {
    const name = names[(i + j) % names.length];
    results[name].push(await run(KINDS[name]));
  }
  process.stderr.write(`run ${i + 1}/${RUNS} done\n`);
}
const version = browser.version();
await browser.close();
server.close();

const perClick = (name, field) =>
  median(results[name].map((r, i) => (r[field] - results.none[i][field]) * 1000 / CLICKS));
const us = (v) => `${v.toFixed(1)} µs`;
console.log(`| per click (medians of ${RUNS} runs of ${CLICKS} clicks, net of the no-SDK page) | ScriptDuration | TaskDuration |`);
console.log("|---|---:|---:|");
for (const name of ["signals off", "signals on (defaults)"]) {
  console.log(`| sightline, ${name} | ${us(perClick(name, "script"))} | ${us(perClick(name, "task"))} |`);
}
const diff = (field) => perClick("signals on (defaults)", field) - perClick("signals off", field);
console.log(`| the detectors alone (difference of the two medians) | ${us(diff("script"))} | ${us(diff("task"))} |`);
console.log(`\nChromium ${version} (headless, /usr/bin/chromium); Node ${process.version}.`);
