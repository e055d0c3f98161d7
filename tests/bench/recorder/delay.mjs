// How long the FullSnapshot waits: the walk is sliced and the snapshot is emitted when it
// ends (docs/replay.md, "When the snapshot is sent"). Measured from `start()` to the first
// replay upload the page makes (`window.fetch` wrapped): the walk, then the gzip of the
// body. `start()` here is the benchmark's (pages.mjs), which calls `flush()` right away
// and then every 50 ms, and `flush()` waits for a walk in progress, so the upload leaves
// as soon as the walk is done. Medians of RUNS fresh pages.
//
//   bash scripts/build.sh && node tests/bench/recorder/delay.mjs     PAGES=bench,vec,big (default)  RUNS=5
import { launchChromium, median } from "../cdp.mjs";
import { openBenchPage, startBenchServer } from "./pages.mjs";

const RUNS = Math.max(1, Number(process.env.RUNS || 5));
const pages = (process.env.PAGES || "bench,vec,big").split(",");
const { server, origin } = await startBenchServer();
const browser = await launchChromium();

console.log("| page | start() → first replay upload | start() → the snapshot uploaded (every body answered) |");
console.log("|---|---:|---:|");
for (const name of pages) {
  const firstUpload = [];
  const received = [];
  for (let r = 0; r < RUNS; r++) {
    const harness = await openBenchPage(browser, origin, "sightline", name);
    harness.phase = "snapshot";
    await harness.page.evaluate(() => new Promise((resolve) => setTimeout(resolve, 200)));
    const [upload, done] = await harness.page.evaluate(async () => {
      const sent = [];
      const fetch = window.fetch;
      window.fetch = function (input) {
        if (String(input instanceof Request ? input.url : input).includes("session-replay")) sent.push(performance.now());
        return fetch.apply(this, arguments);
      };
      const t0 = performance.now();
      await window.__bench.start();
      return [sent[0] - t0, performance.now() - t0];
    });
    firstUpload.push(upload);
    received.push(done);
    harness.phase = null;
    await harness.context.close();
  }
  console.log(`| ${name} | ${median(firstUpload).toFixed(0)} ms | ${median(received).toFixed(0)} ms |`);
}
await browser.close();
server.close();
