// The trace reading of the recorder benchmark (trace.mjs) on hand-made traces.
//   node --test tests/bench/recorder/trace.test.mjs
import { test } from "node:test";
import assert from "node:assert/strict";
import { recorderTasks } from "./trace.mjs";

const MAIN = { pid: 1, tid: 1 };
const x = (name, ts, dur, thread = MAIN) => ({ ...thread, ph: "X", name, ts: ts * 1000, dur: dur * 1000, cat: "t" });
const mark = (name, ts, thread = MAIN) => ({ ...thread, ph: "I", name, ts: ts * 1000, cat: "blink.user_timing" });

test("the step's script counts without the marked page work; later script tasks count, rendering tasks do not", () => {
  const events = [
    { ...MAIN, ph: "M", name: "thread_name", args: { name: "CrRendererMain" } },
    x("RunTask", 0, 5), x("FunctionCall", 1, 3), // before the step: not counted
    x("RunTask", 10, 100), mark("bench-step", 10.5), x("TimerFire", 10.2, 99), x("FunctionCall", 10.3, 98),
    mark("bench-page-start", 11), mark("bench-page-end", 41), // 30 ms of the page's own DOM work
    x("RunTask", 120, 200), x("UpdateLayoutTree", 121, 50), x("Layout", 171, 140), // rendering only
    x("RunTask", 330, 45), x("SimpleWatcher::OnHandleReady", 330, 45), x("FunctionCall", 331, 43), // a slice
    x("RunTask", 400, 60, { pid: 2, tid: 2 }), x("FunctionCall", 400, 60, { pid: 2, tid: 2 }), // another renderer
  ];
  const r = recorderTasks(events);
  assert.equal(r.scriptTasks, 2);
  assert.equal(r.longest, 70); // the task's 100 ms - 30 ms of page work
  assert.equal(r.total, 115); // + the slice's 45 ms
});

test("layout forced by script counts; rendering beside script in the same task does not", () => {
  const events = [
    x("RunTask", 0, 100), mark("bench-step", 1), x("FunctionCall", 0.5, 60), x("Layout", 20, 30),
    x("BlinkScheduler_PerformMicrotaskCheckpoint", 50, 15), // overlaps the call: counted once
    x("UpdateLayoutTree", 66, 10), x("Layout", 76, 24),
  ];
  const r = recorderTasks(events);
  assert.equal(r.longest, 64.5); // 0.5 → 65 of script (its forced 30 ms layout included), not the frame's 34 ms
  assert.equal(r.scriptTasks, 1);
});

test("a continuation after a message handler (no event of its own) counts with its task", () => {
  const events = [
    x("RunTask", 0, 2), mark("bench-step", 1), x("TimerFire", 0.1, 1.5),
    x("RunTask", 10, 22.5), x("SimpleWatcher::OnHandleReady", 10, 22.5), x("FunctionCall", 10.1, 0),
  ];
  assert.equal(recorderTasks(events).longest, 22.5);
});

test("no mark, or a mark outside any task: no figure (the caller falls back to the longtask observer)", () => {
  assert.equal(recorderTasks([x("RunTask", 0, 10), x("FunctionCall", 1, 5)]), null);
  assert.equal(recorderTasks([x("RunTask", 0, 10), mark("bench-step", 20)]), null);
});

test("in Chromium: a job sliced by scheduler.yield or MessageChannel shows its slices, not the whole job; one task shows whole", async () => {
  const { launchChromium } = await import("../cdp.mjs");
  const { TRACE_CATEGORIES } = await import("./trace.mjs");
  const browser = await launchChromium();
  try {
    const page = await (await browser.newContext()).newPage();
    await page.setContent("<div id=box></div>");
    // 8 slices of 15 ms of script each (busy), yielded by `how`; the page adds 5,000 elements first (marked).
    const job = (how) => `new Promise((resolve) => setTimeout(async () => {
      performance.mark("bench-step");
      performance.mark("bench-page-start");
      const t = document.createElement("template");
      t.innerHTML = "<p>x <b>y</b></p>".repeat(2500);
      document.getElementById("box").append(t.content);
      const p0 = performance.now(); while (performance.now() - p0 < 30);
      performance.mark("bench-page-end");
      const ch = new MessageChannel();
      const next = () => ${how === "yield" ? "scheduler.yield()" : how === "channel"
        ? "new Promise((r) => { ch.port1.onmessage = () => r(); ch.port2.postMessage(0); })" : "Promise.resolve()"};
      for (let i = 0; i < 8; i++) {
        const s = performance.now(); while (performance.now() - s < 15);
        await next();
      }
      resolve();
    }, 0))`;
    const results = {};
    for (const how of ["yield", "channel", "none"]) {
      await browser.startTracing(page, { categories: TRACE_CATEGORIES });
      await page.evaluate(job(how));
      await page.evaluate(() => new Promise((r) => setTimeout(r, 50)));
      results[how] = recorderTasks(JSON.parse((await browser.stopTracing()).toString("utf8")).traceEvents);
    }
    for (const how of ["yield", "channel"]) {
      const r = results[how];
      assert.ok(r.longest >= 14 && r.longest < 40, `${how}: the longest slice is ~15 ms (${r.longest.toFixed(1)} ms)`);
      assert.ok(r.total >= 115 && r.total < 220, `${how}: the slices add up to ~120 ms (${r.total.toFixed(1)} ms)`);
      assert.ok(r.scriptTasks >= 8, `${how}: ${r.scriptTasks} tasks ran script`);
    }
    // Not yielding (microtasks only): one task of ~120 ms, the page's marked 30+ ms left out.
    assert.ok(results.none.longest >= 115 && results.none.longest < 220, `one task: ${results.none.longest.toFixed(1)} ms`);
  } finally {
    await browser.close();
  }
});
