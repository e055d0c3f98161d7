// The recorder benchmark's page, its per-recorder setup scripts and the loopback server
// that serves them, shared by run.mjs (the side-by-side numbers) and profile.mjs (CPU
// profiles of the same steps).
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { join, dirname, normalize } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const testsDir = join(here, "..", "..");
const repo = join(testsDir, "..");
const pkg = process.env.SIGHTLINE_PKG || join(repo, "pkg");
export const ELEMENTS = Number(process.env.ELEMENTS || 10000);
export const BURST = Number(process.env.BURST || 10000);

if (!existsSync(join(pkg, "sightline_bg.wasm"))) {
  console.error(`${pkg} holds no built SDK: run \`bash scripts/build.sh\` first`);
  process.exit(1);
}

const block = (i) => `<section class="s" id="s${i}"><h2>Section ${i}</h2><p>Some <b>bold</b> and ` +
  `<a href="p${i}.html">a link</a>.</p><ul><li>one</li><li>two</li><li>three</li></ul>` +
  `<input value="v${i}"><span title="t">x</span></section>`;

function pageHtml() {
  let html = "<!doctype html><html><head><meta charset='utf-8'><title>bench</title>" +
    "<style>.s{margin:4px} a{color:#36c}</style></head><body><input id='field'><div id='burst'></div>";
  for (let i = 0; i < (ELEMENTS - 8) / 12; i++) html += block(i);
  return html + "</body></html>";
}

// Each page gets `window.__bench = {start(), burst(), upload()}`; every call awaits the
// upload it causes.
const COMMON = `
window.__bench = window.__bench || {};
window.__bench.burst = async (upload) => {
  const blocks = ${BURST / 12};
  const box = document.getElementById("burst");
  const make = ${block.toString()};
  let html = "";
  for (let i = 0; i < blocks; i++) html += make(100000 + i);
  const t = document.createElement("template");
  t.innerHTML = html;
  box.append(t.content);
  await new Promise((r) => setTimeout(r, 0));
  await upload();
};`;

const SETUP = {
  none: `${COMMON}
window.__bench.start = async () => {};
window.__bench.upload = async () => {};
window.__benchReady = true;`,
  sightline: `import init, { Sightline } from "/pkg/sightline.js";
await init();
${COMMON}
let sl;
window.__bench.start = async () => {
  sl = new Sightline({ projectId: "p_bench", apiBaseUrl: location.origin, getAnalyticsSession: () => null,
    analytics: { enabled: false }, replays: { enabled: true } });
  sl.start();
  await sl.flush();
};
window.__bench.upload = () => sl.flush();
window.__benchReady = true;`,
  // Stack Auth's recorder: rrweb's record(), each event kept and measured with
  // JSON.stringify; an upload is one JSON body of the batch, uncompressed.
  rrweb: `${COMMON}
let events = [];
let approxBytes = 0;
const session = { browser_session_id: crypto.randomUUID(), started_at_ms: Date.now() };
const segment = crypto.randomUUID();
window.__bench.start = async () => {
  rrwebRecord.record({ maskAllInputs: true, emit: (event) => {
    events.push(event);
    approxBytes += JSON.stringify(event).length;
  } });
  await window.__bench.upload();
};
window.__bench.upload = async () => {
  if (!events.length) return;
  const body = JSON.stringify({ browser_session_id: session.browser_session_id, session_replay_segment_id: segment,
    batch_id: crypto.randomUUID(), started_at_ms: session.started_at_ms, sent_at_ms: Date.now(), events });
  events = [];
  approxBytes = 0;
  await fetch("/api/v1/session-replays/batch", { method: "POST", headers: { "content-type": "application/json" }, body });
};
window.__benchReady = true;`,
};

// SETUP.base: the same as sightline, from another build served at /base/ (run.mjs).
SETUP.base = SETUP.sightline.replace('"/pkg/sightline.js"', '"/base/sightline.js"');

export const LONGTASKS = `window.__longtasks = [];
new PerformanceObserver((list) => { for (const e of list.getEntries()) window.__longtasks.push([e.startTime, e.duration]); })
  .observe({ type: "longtask", buffered: true });`;

/** Serves the page, the setups, pkg/ (and `basePkg` at /base/) and rrweb; resolves with its origin. */
export async function startBenchServer({ basePkg } = {}) {
  const page = pageHtml();
  const server = createServer(async (req, res) => {
    const path = new URL(req.url, "http://x").pathname;
    try {
      if (path === "/page.html") return res.writeHead(200, { "content-type": "text/html" }).end(page);
      if (path.startsWith("/setup-")) {
        return res.writeHead(200, { "content-type": "text/javascript" }).end(SETUP[path.slice(7, -3)]);
      }
      if (basePkg && path.startsWith("/base/")) {
        const type = path.endsWith(".wasm") ? "application/wasm" : "text/javascript";
        return res.writeHead(200, { "content-type": type }).end(await readFile(join(basePkg, normalize(path.slice(6)))));
      }
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
  return { server, origin: `http://127.0.0.1:${server.address().port}` };
}
