// What both benchmark runners share: Debian's Chromium (the e2e suite's launcher), the
// main-thread time CDP reports, and the median they report.
export { launchChromium } from "../e2e/support.mjs";

/** ScriptDuration and TaskDuration so far, in ms (CDP `Performance.getMetrics`). */
export async function metrics(cdp) {
  const { metrics } = await cdp.send("Performance.getMetrics");
  const get = (name) => metrics.find((m) => m.name === name).value * 1000;
  return { script: get("ScriptDuration"), task: get("TaskDuration") };
}

/** The median of a list of numbers. */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
