// Start-up cost of recording (Meta + FullSnapshot) on a large synthetic page: the Rust
// recorder (harness, release build) side by side with @rrweb/record 2.1.6, in one
// headless Chromium. Medians of RUNS page loads each.
//
//   (cd tests/bench/recorder/harness && wasm-pack build --target web --release --out-dir /tmp/recorder-harness-rel)
//   node tests/bench/recorder/snapshot.bench.mjs
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { join, dirname, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const testsDir = join(here, "..", "..");
const pkg = process.env.RECORDER_HARNESS_PKG || "/tmp/recorder-harness-rel";
const RUNS = Number(process.env.RUNS || 7);
const ELEMENTS = Number(process.env.ELEMENTS || 12000);

// ~ELEMENTS elements: sections of paragraphs, links, lists and inputs.
function page() {
  let html = "<!doctype html><html><head><meta charset='utf-8'><style>.s{margin:4px} a{color:#36c}</style></head><body>";
  for (let i = 0; i < ELEMENTS / 12; i++) {
    html += `<section class="s" id="s${i}"><h2>Section ${i}</h2><p>Some <b>bold</b> and <a href="p${i}.html">a link</a>.</p>` +
      `<ul><li>one</li><li>two</li><li>three</li></ul><input value="v${i}"><span title="t">x</span></section>`;
  }
  return html + "</body></html>";
}

const RUST = `import init, { RecorderHarness } from "/pkg/recorder_harness.js";
await init();
const t0 = performance.now(); let bytes = 0;
const h = new RecorderHarness((json) => { bytes += json.length; }, true);
window.__result = { ms: performance.now() - t0, bytes }; h.stop();`;
const RRWEB = `const t0 = performance.now(); let bytes = 0;
const stop = rrwebRecord.record({ emit: (e) => { bytes += JSON.stringify(e).length; } });
window.__result = { ms: performance.now() - t0, bytes }; stop();`;

const server = createServer(async (req, res) => {
  const path = new URL(req.url, "http://x").pathname;
  try {
    if (path === "/page.html") return res.writeHead(200, { "content-type": "text/html" }).end(page());
    if (path === "/rust.js") return res.writeHead(200, { "content-type": "text/javascript" }).end(RUST);
    if (path.startsWith("/pkg/")) {
      const type = path.endsWith(".wasm") ? "application/wasm" : "text/javascript";
      return res.writeHead(200, { "content-type": type }).end(await readFile(join(pkg, normalize(path.slice(5)))));
    }
    if (path === "/rrweb.js") {
      return res.writeHead(200, { "content-type": "text/javascript" })
        .end(await readFile(join(testsDir, "node_modules/@rrweb/record/dist/record.umd.cjs")));
    }
  } catch {}
  res.writeHead(404).end();
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const origin = `http://127.0.0.1:${server.address().port}`;
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--headless=new", "--no-sandbox",
  "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking", "--disable-component-update",
  "--disable-sync", "--no-first-run"] });

async function measure(kind) {
  const results = [];
  for (let i = 0; i < RUNS; i++) {
    const p = await browser.newPage();
    await p.goto(`${origin}/page.html`);
    if (kind === "rust") await p.addScriptTag({ type: "module", url: "/rust.js" });
    else {
      await p.addScriptTag({ url: "/rrweb.js" });
      await p.addScriptTag({ content: RRWEB });
    }
    await p.waitForFunction(() => window.__result);
    results.push(await p.evaluate(() => window.__result));
    await p.close();
  }
  const ms = results.map((r) => r.ms).sort((a, b) => a - b);
  return { median_ms: +ms[Math.floor(ms.length / 2)].toFixed(1), json_bytes: results[0].bytes };
}

const rust = await measure("rust");
const rrweb = await measure("rrweb");
console.log(JSON.stringify({ elements: ELEMENTS, runs: RUNS, sightline_recorder: rust, rrweb_record_2_1_6: rrweb }, null, 2));
await browser.close();
server.close();
