// What both benchmark runners share: Debian's Chromium (the e2e suite's launcher) and the
// main-thread time CDP reports.
export { launchChromium } from "../e2e/support.mjs";

/** ScriptDuration and TaskDuration so far, in ms (CDP `Performance.getMetrics`). */
export async function metrics(cdp) {
  const { metrics } = await cdp.send("Performance.getMetrics");
  const get = (name) => metrics.find((m) => m.name === name).value * 1000;
  return { script: get("ScriptDuration"), task: get("TaskDuration") };
}
