// The recorder's longest task, read from a Chromium trace of one benchmark step (run.mjs).
// The `longtask` observer only reports tasks of 50 ms or more and counts the page's own
// work in them; a trace (devtools.timeline) has every main-thread task with what ran in it.

export const TRACE_CATEGORIES = ["disabled-by-default-devtools.timeline", "devtools.timeline", "blink.user_timing", "toplevel"];

// Trace events of script running in a task: a timer, an event or message handler, a
// microtask checkpoint (promise continuations, scheduler.yield), a script's evaluation.
// (A continuation that runs right after a handler, e.g. `await` on a MessageChannel
// message, has no event of its own: it is in the task's time after the handler.)
const SCRIPT = new Set(["FunctionCall", "EvaluateScript", "TimerFire", "EventDispatch", "FireAnimationFrame",
  "FireIdleCallback", "RunMicrotasks", "V8.Execute", "v8.callFunction", "v8.run", "BlinkScheduler_PerformMicrotaskCheckpoint"]);
// A frame's rendering: when it runs outside any script event (not forced by a script's
// read), the task is a rendering frame.
const RENDER = new Set(["UpdateLayoutTree", "Layout", "PrePaint", "Paint", "Layerize", "Commit"]);

/** Total length of the union of [ts, ts + dur) intervals (µs). */
function unionLength(events) {
  const spans = events.map((e) => [e.ts, e.ts + e.dur]).sort((a, b) => a[0] - b[0]);
  let total = 0;
  let end = -Infinity;
  for (const [s, e] of spans) {
    if (e <= end) continue;
    total += e - Math.max(s, end);
    end = e;
  }
  return total;
}

/**
 * The recorder's tasks in a trace of one step, in ms: over the main-thread `RunTask`s (of
 * the thread that has the `bench-step` mark) from the task that ran the step on, those that
 * run script. A rendering frame (style, layout or paint outside script) counts only the
 * time its script events cover (e.g. requestAnimationFrame callbacks): the rendering is the
 * page's. Any other task counts whole (a layout forced by a script's read included), minus
 * the marked page work (`bench-page-start` → `bench-page-end`, the burst's own DOM
 * building). Returns the longest such part (`longest`), their sum (`total`) and how many
 * tasks ran script (`scriptTasks`); null when the trace has no `bench-step` mark inside a
 * task.
 */
export function recorderTasks(traceEvents) {
  const mark = traceEvents.find((e) => e.name === "bench-step");
  if (!mark) return null;
  const thread = traceEvents.filter((e) => e.pid === mark.pid && e.tid === mark.tid && e.ph !== "M")
    .sort((a, b) => a.ts - b.ts);
  const tasks = thread.filter((e) => e.name === "RunTask" && e.ph === "X");
  const first = tasks.find((t) => t.ts <= mark.ts && mark.ts <= t.ts + t.dur);
  if (!first) return null;
  let longest = 0;
  let total = 0;
  let scriptTasks = 0;
  let i = 0;
  for (const task of tasks) {
    if (task.ts < first.ts) continue;
    const end = task.ts + task.dur;
    while (i < thread.length && thread[i].ts < task.ts) i++;
    const inner = [];
    for (let j = i; j < thread.length && thread[j].ts <= end; j++) if (thread[j] !== task) inner.push(thread[j]);
    const scripts = inner.filter((e) => SCRIPT.has(e.name) && e.ph === "X");
    if (!scripts.length) continue;
    scriptTasks += 1;
    const inScript = (e) => scripts.some((s) => s.ts <= e.ts && e.ts + e.dur <= s.ts + s.dur);
    const frame = inner.some((e) => RENDER.has(e.name) && e.ph === "X" && !inScript(e));
    let own = frame ? unionLength(scripts) : task.dur;
    const start = inner.find((e) => e.name === "bench-page-start");
    const stop = inner.find((e) => e.name === "bench-page-end");
    if (start && stop) own -= stop.ts - start.ts;
    longest = Math.max(longest, own / 1000);
    total += own / 1000;
    if (process.env.BENCH_TRACE_DEBUG && own > 5000) {
      const top = inner.filter((e) => e.ph === "X" && e.dur > 1000).map((e) => `${e.name} ${(e.dur / 1000).toFixed(1)}`);
      process.stderr.write(`task ${(task.dur / 1000).toFixed(1)} ms, counted ${(own / 1000).toFixed(1)} ms: ${top.join(", ")}\n`);
    }
  }
  return { longest, total, scriptTasks };
}
