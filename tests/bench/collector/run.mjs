// Load benchmark of the demo collector (www-demo/): CLIENTS concurrent clients post gzip
// batches as the SDK does while, half of the time, a dashboard client polls every second.
//
//   node tests/bench/collector/run.mjs            # CLIENTS=8 REPLAY_CLIENTS=2 DURATION=60
//
// - The collector is the release binary (`cargo build --release`, or SIGHTLINE_COLLECTOR_BIN)
//   on 127.0.0.1 only, with a fresh database in a temporary directory.
// - Analytics clients post batches of 20-40 realistic events ($page-view, $click, custom),
//   gzipped; replay clients post rrweb batches of REPLAY_KB (default 500) KB of JSON, gzipped
//   (the SDK gzips every replay body). Each client is a closed loop: send, wait for the
//   answer, send the next. A batch answered 503/429/5xx or failed is retried (same batch_id,
//   backoff 100 ms doubling, honouring Retry-After) as the SDK would, up to 10 times; a
//   batch still not acknowledged then is lost.
// - Time alternates between SEGMENT-second windows without and with the dashboard poller
//   (DURATION seconds of each in total, default 60), so that machine noise and the growing
//   database weigh on both alike. The poller does what an open dashboard does every second:
//   events (200), sessions (100), the summary, and the latest session's replay events.
// - Latency is the time from sending a request to its full answer, per attempt. The end
//   checks the collector's totals against what was acknowledged: stored = acknowledged.
//
// Bounded: CLIENTS <= 64, DURATION <= 600. Prints a markdown table, and JSON with BENCH_JSON=1.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import zlib from "node:zlib";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "../../..");
const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
const CLIENTS = clamp(Number(process.env.CLIENTS || 8), 1, 64);
const REPLAY_CLIENTS = clamp(Number(process.env.REPLAY_CLIENTS ?? 2), 0, CLIENTS);
const DURATION = clamp(Number(process.env.DURATION || 60), 2, 600);
const SEGMENT = clamp(Number(process.env.SEGMENT || 10), 1, DURATION);
const REPLAY_KB = clamp(Number(process.env.REPLAY_KB || 500), 1, 7000);
const MAX_ATTEMPTS = 10;

// ---------------------------------------------------------------------------------------
// The collector

function binary() {
  if (process.env.SIGHTLINE_COLLECTOR_BIN) return process.env.SIGHTLINE_COLLECTOR_BIN;
  const build = spawnSync("cargo", ["build", "--quiet", "--release", "-p", "sightline-collector"], { cwd: repo, stdio: "inherit" });
  assert.equal(build.status, 0, "cargo build --release -p sightline-collector failed");
  const target = process.env.CARGO_TARGET_DIR ? path.resolve(repo, process.env.CARGO_TARGET_DIR) : path.join(repo, "target");
  return path.join(target, "release", "sightline-collector");
}

const dir = mkdtempSync(path.join(os.tmpdir(), "sightline-bench-collector-"));
const proc = spawn(binary(), ["--host", "127.0.0.1", "--port", "0", "--db", path.join(dir, "bench.db")],
  { stdio: ["ignore", "pipe", "inherit"] });
const origin = await new Promise((resolve, reject) => {
  let out = "";
  const timer = setTimeout(() => reject(new Error("collector did not start: " + out)), 20000);
  proc.stdout.on("data", (chunk) => {
    out += chunk;
    const m = out.match(/sightline demo: (http:\/\/127\.0\.0\.1:\d+)\//);
    if (m) { clearTimeout(timer); resolve(m[1]); }
  });
  proc.on("exit", (code) => reject(new Error("collector exited with " + code + ": " + out)));
});
proc.stdout.resume();
const stop = () => { proc.kill("SIGTERM"); rmSync(dir, { recursive: true, force: true }); };
process.on("exit", () => proc.kill("SIGKILL"));

// ---------------------------------------------------------------------------------------
// Bodies

const HEADERS = {
  "content-type": "application/octet-stream",
  "x-stack-project-id": "p_bench",
  "x-stack-access-type": "client",
  "x-stack-allow-anonymous-user": "true",
  "x-stack-publishable-client-key": "pck_bench",
};
const PATHS = ["/", "/pricing", "/docs/getting-started", "/docs/api/analytics", "/settings/profile", "/blog/launch-week"];

function analyticsEvents(now) {
  const n = 20 + Math.floor(Math.random() * 21);
  const events = [];
  for (let i = 0; i < n; i++) {
    const p = PATHS[(i + n) % PATHS.length];
    const at = now - (n - i) * 250;
    const kind = i % 5;
    if (kind === 0) {
      events.push({ event_type: "$page-view", event_at_ms: at, data: { url: "https://app.example.com" + p + "?utm_source=bench",
        path: p, referrer: "https://www.google.com/", title: "Example app · " + p, entry_type: i ? "push" : "initial",
        viewport_width: 1440, viewport_height: 900, screen_width: 1920, screen_height: 1080 } });
    } else if (kind === 4) {
      events.push({ event_type: "plan-selected", event_at_ms: at, data: { plan: ["hobby", "pro", "team"][i % 3], seats: i, source: "pricing-table" } });
    } else {
      events.push({ event_type: "$click", event_at_ms: at, data: { tag_name: "button", text: "Start free trial " + i,
        href: null, selector: "main > section.hero > div.actions > button.cta.primary", x: 412 + i, y: 318, page_x: 412 + i,
        page_y: 1318, viewport_width: 1440, viewport_height: 900 } });
    }
  }
  return events;
}

const WORDS = ("invoice upgraded teammate report pricing settings dashboard session replay analytics customer " +
  "account billing project deploy preview monthly annual seats trial support ticket export import filter").split(" ");
/** Text as varied as a page's (gzip compresses it about 3x, not 20x as a repeated string). */
const words = (n) => Array.from({ length: n }, () => WORDS[Math.floor(Math.random() * WORDS.length)] +
  (Math.random() < 0.3 ? " #" + Math.floor(Math.random() * 1e6) : "")).join(" ");

/** rrweb incremental events (mutations adding text-heavy nodes) totalling about `kb` KB of JSON. */
function replayEvents(kb, start) {
  const events = [];
  let size = 2;
  let id = 1000;
  for (let i = 0; size < kb * 1024; i++) {
    const adds = [];
    for (let j = 0; j < 8; j++) {
      adds.push({ parentId: 40 + (i % 17), nextId: null, node: { type: 2, tagName: "li", attributes: { class: "feed-item row-" + (j % 4), "data-id": String(id) },
        childNodes: [], id: id++ } });
      adds.push({ parentId: id - 1, nextId: null, node: { type: 3, textContent: words(8), id: id++ } });
    }
    const e = i % 6 === 5
      ? { type: 3, timestamp: start + i * 40, data: { source: 1, positions: [{ x: 100 + i % 300, y: 200, id: 12, timeOffset: -20 }, { x: 104, y: 207, id: 12, timeOffset: 0 }] } }
      : { type: 3, timestamp: start + i * 40, data: { source: 0, texts: [], attributes: [{ id: 55, attributes: { class: "badge tick-" + i } }], removes: i % 3 ? [] : [{ parentId: 40, id: id - 40 }], adds } };
    size += JSON.stringify(e).length + 1;
    events.push(e);
  }
  return events;
}

/**
 * A gzip body of `{...head, events}`: two gzip members, the ids (compressed per batch) and
 * the events (compressed once per variant), so that the benchmark's own CPU stays off the
 * collector's two cores. The collector decompresses concatenated members as one stream.
 */
const tail = (events) => zlib.gzipSync(Buffer.from(',"events":' + JSON.stringify(events) + "}"));
const body = (head, tailGz) => Buffer.concat([zlib.gzipSync(Buffer.from(JSON.stringify(head).slice(0, -1))), tailGz]);

const t0 = Date.now();
const analyticsTails = Array.from({ length: 16 }, () => { const ev = analyticsEvents(t0); return { gz: tail(ev), n: ev.length }; });
const replayTails = Array.from({ length: 4 }, (_, i) => { const ev = replayEvents(REPLAY_KB, t0 + i * 100_000); return { gz: tail(ev), n: ev.length }; });

// ---------------------------------------------------------------------------------------
// Clients

let polling = false;
let running = true;
const samples = { analytics: { off: [], on: [] }, replay: { off: [], on: [] }, poll: [] };
const counts = { batches: 0, acknowledged: 0, lost: 0, retried: 0, statuses: {}, analyticsEvents: 0, replayEvents: 0 };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function timed(url, init) {
  const start = performance.now();
  try {
    const res = await fetch(url, init);
    await res.arrayBuffer();
    return { status: res.status, ms: performance.now() - start, retryAfter: Number(res.headers.get("retry-after")) || 0 };
  } catch {
    return { status: 0, ms: performance.now() - start, retryAfter: 0 };
  }
}

/** Sends one batch until acknowledged (or MAX_ATTEMPTS); records each attempt's latency. */
async function deliver(kind, path, bytes, headers) {
  counts.batches++;
  let delay = 100;
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const phase = polling ? "on" : "off";
    const r = await timed(origin + path, { method: "POST", headers, body: bytes });
    samples[kind][phase].push(r.ms);
    counts.statuses[r.status] = (counts.statuses[r.status] || 0) + 1;
    if (r.status === 200) { counts.acknowledged++; return true; }
    if (r.status === 400 || r.status === 413) throw new Error(`${kind} batch rejected with ${r.status}`);
    counts.retried++;
    await sleep(Math.max(delay, r.retryAfter * 1000));
    delay *= 2;
  }
  counts.lost++;
  return false;
}

async function analyticsClient(c) {
  const headers = { ...HEADERS, "x-stack-access-token": "demo-bench" + c };
  for (let i = 0; running; i++) {
    const t = analyticsTails[(c * 7 + i) % analyticsTails.length];
    const head = { session_replay_segment_id: randomUUID(), batch_id: randomUUID(), sent_at_ms: Date.now() };
    if (await deliver("analytics", "/api/v1/analytics/events/batch", body(head, t.gz), headers)) counts.analyticsEvents += t.n;
  }
}

async function replayClient(c) {
  const headers = { ...HEADERS, "x-stack-access-token": "demo-anon-bench" + c };
  let session = randomUUID();
  for (let i = 0; running; i++) {
    if (i % 10 === 0) session = randomUUID(); // a new browser session every 10 batches
    const t = replayTails[(c + i) % replayTails.length];
    const head = { browser_session_id: session, session_replay_segment_id: randomUUID(), batch_id: randomUUID(),
      started_at_ms: t0, sent_at_ms: Date.now() };
    if (await deliver("replay", "/api/v1/session-replays/batch", body(head, t.gz), headers)) counts.replayEvents += t.n;
  }
}

async function poller() {
  while (running) {
    const tick = sleep(1000);
    if (polling) {
      const start = performance.now();
      // (A collector from before /api/dashboard/summary answers it 404: SIGHTLINE_COLLECTOR_BIN
      // may name an older build for a before/after comparison.)
      const get = (p) => fetch(origin + p).then((r) => {
        if (r.status === 404 && p.endsWith("/summary")) return {};
        assert.equal(r.status, 200, p);
        return r.json();
      });
      const [, { sessions }] = await Promise.all([
        get("/api/dashboard/events?limit=200"), get("/api/dashboard/sessions?limit=100"), get("/api/dashboard/summary"),
      ]);
      if (sessions.length) await get(`/api/dashboard/sessions/${sessions[0].browser_session_id}/events`);
      samples.poll.push(performance.now() - start);
    }
    await tick;
  }
}

const clients = [];
for (let c = 0; c < CLIENTS; c++) clients.push(c < REPLAY_CLIENTS ? replayClient(c) : analyticsClient(c));
const poll = poller();
const started = performance.now();
for (let elapsed = 0; elapsed < 2 * DURATION; elapsed += SEGMENT) {
  polling = (elapsed / SEGMENT) % 2 === 1;
  await sleep(SEGMENT * 1000);
}
running = false;
await Promise.all([...clients, poll]);
const wall = (performance.now() - started) / 1000;

// ---------------------------------------------------------------------------------------
// Check and report

const summary = await fetch(origin + "/api/dashboard/summary");
const totals = summary.ok ? (await summary.json()).totals : null;
stop();
if (totals) {
  assert.equal(totals.analytics_events, counts.analyticsEvents, "stored analytics events = acknowledged");
  assert.equal(totals.replay_events, counts.replayEvents, "stored replay events = acknowledged");
}

const pct = (xs, p) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const fmt = (x) => (Number.isNaN(x) ? "–" : x.toFixed(1));
const rows = [];
for (const kind of ["analytics", "replay"]) {
  for (const phase of ["off", "on"]) {
    const xs = samples[kind][phase];
    rows.push({ kind, polling: phase, requests: xs.length, p50: pct(xs, 50), p99: pct(xs, 99), max: Math.max(...xs) });
  }
}
const all = (phase) => [...samples.analytics[phase], ...samples.replay[phase]];
const ratio = pct(all("on"), 99) / pct(all("off"), 99);
const result = {
  clients: CLIENTS, replayClients: REPLAY_CLIENTS, durationPerPhase: DURATION, replayKb: REPLAY_KB, cpus: os.cpus().length,
  wallSeconds: wall, eventsPerSecond: (counts.analyticsEvents + counts.replayEvents) / wall,
  analyticsEventsPerSecond: counts.analyticsEvents / wall, replayEventsPerSecond: counts.replayEvents / wall,
  batchesPerSecond: counts.acknowledged / wall, ...counts, rows,
  ingestP99Off: pct(all("off"), 99), ingestP99On: pct(all("on"), 99), p99Ratio: ratio,
  pollP50: pct(samples.poll, 50), pollP99: pct(samples.poll, 99), polls: samples.poll.length,
};

const kb = (xs) => (xs.reduce((a, t) => a + t.gz.length, 0) / xs.length / 1024).toFixed(1);
const replayEventsPerBatch = Math.round(replayTails.reduce((a, t) => a + t.n, 0) / replayTails.length);
console.log(`\ncollector load: ${CLIENTS} clients (${REPLAY_CLIENTS} replay at ${REPLAY_KB} KB JSON = ${replayEventsPerBatch} events, ` +
  `~${kb(replayTails)} KB gzip; ${CLIENTS - REPLAY_CLIENTS} analytics, ~${kb(analyticsTails)} KB gzip), ` +
  `${DURATION} s without + ${DURATION} s with the dashboard polling every 1 s (${SEGMENT} s windows), ${os.cpus().length} CPUs\n`);
console.log("| requests | dashboard polling | attempts | p50 ms | p99 ms | max ms |");
console.log("|---|---|---:|---:|---:|---:|");
for (const r of rows) console.log(`| ${r.kind} | ${r.polling} | ${r.requests} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${fmt(r.max)} |`);
console.log(`\naccepted: ${Math.round(result.eventsPerSecond)} events/s (${Math.round(result.analyticsEventsPerSecond)} analytics + ` +
  `${Math.round(result.replayEventsPerSecond)} replay), ${result.batchesPerSecond.toFixed(1)} batches/s; ` +
  `batches ${counts.batches}, acknowledged ${counts.acknowledged}, retried attempts ${counts.retried}, lost ${counts.lost}; ` +
  `answers ${JSON.stringify(counts.statuses)}`);
console.log(`ingest p99 all requests: ${fmt(result.ingestP99Off)} ms without polling, ${fmt(result.ingestP99On)} ms with ` +
  `(x${ratio.toFixed(2)}); dashboard poll (4 requests) p50 ${fmt(result.pollP50)} ms, p99 ${fmt(result.pollP99)} ms over ${samples.poll.length} polls`);
console.log(totals ? `stored = acknowledged: ${totals.analytics_events} analytics events, ${totals.replay_events} replay events`
  : "stored totals not checked (this collector has no /api/dashboard/summary)");
if (process.env.BENCH_JSON) console.log(JSON.stringify(result));
assert.equal(counts.lost, 0, "no batch may be lost");
