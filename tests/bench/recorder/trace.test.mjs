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
  assert.equal(r.longest, 69); // TimerFire's 99 ms - 30 ms of page work
  assert.equal(r.total, 112); // + the slice's 43 ms of script
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

test("no mark, or a mark outside any task: no figure (the caller falls back to the longtask observer)", () => {
  assert.equal(recorderTasks([x("RunTask", 0, 10), x("FunctionCall", 1, 5)]), null);
  assert.equal(recorderTasks([x("RunTask", 0, 10), mark("bench-step", 20)]), null);
});
