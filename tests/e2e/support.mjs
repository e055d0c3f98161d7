// Shared helpers of the end-to-end tests: the collector (www-demo/) on a free port with a
// temporary database and its test hooks, Debian's headless Chromium, and bounded polling.
//
// The collector binary is built on first use (`cargo build -p sightline-collector`, a no-op
// when up to date; CARGO_TARGET_DIR is honoured) unless SIGHTLINE_COLLECTOR_BIN names one.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
export const repo = path.resolve(here, "../..");
export const artifacts = path.join(here, "artifacts");

export const CHROMIUM_ARGS = [
  "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
  "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
];

let builtBinary = null;

/** The collector binary: SIGHTLINE_COLLECTOR_BIN, or a (cached) `cargo build`. */
export function collectorBinary() {
  if (process.env.SIGHTLINE_COLLECTOR_BIN) return process.env.SIGHTLINE_COLLECTOR_BIN;
  if (builtBinary) return builtBinary;
  const build = spawnSync("cargo", ["build", "--quiet", "-p", "sightline-collector"], { cwd: repo, stdio: "inherit" });
  assert.equal(build.status, 0, "cargo build -p sightline-collector failed");
  const targetDir = process.env.CARGO_TARGET_DIR ? path.resolve(repo, process.env.CARGO_TARGET_DIR) : path.join(repo, "target");
  builtBinary = path.join(targetDir, "debug", "sightline-collector");
  return builtBinary;
}

/** The built SDK package (pkg/ unless SIGHTLINE_PKG names one); fails clearly when missing. */
export function sdkPackage() {
  const dir = process.env.SIGHTLINE_PKG ? path.resolve(process.env.SIGHTLINE_PKG) : path.join(repo, "pkg");
  assert.ok(existsSync(path.join(dir, "sightline.js")) && existsSync(path.join(dir, "sightline_bg.wasm")),
    `${dir} holds no built SDK: run \`bash scripts/build.sh\` first`);
  return dir;
}

/**
 * Starts the collector on a free port with a temporary database and `--test-hooks`.
 *
 * options.args: more CLI arguments (e.g. ["--allow-anonymous"]).
 * options.sdk: true serves a private copy of the built SDK at /pkg/ (a copy, so a
 *   concurrent rebuild of pkg/ cannot hand the browser half-written files); otherwise
 *   /pkg/ is an empty directory.
 *
 * Resolves with {url, port, proc, stop(), fault(), clearFaults(), stats(), events()}.
 */
export async function startCollector({ args = [], sdk = false } = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), "sightline-collector-"));
  const pkg = path.join(dir, "pkg");
  if (sdk) cpSync(sdkPackage(), pkg, { recursive: true });
  // A `--pkg` in `args` replaces the default one (the CLI takes each flag once).
  const pkgArgs = args.includes("--pkg") ? [] : ["--pkg", pkg];
  const proc = spawn(collectorBinary(), [
    "--port", "0", "--db", path.join(dir, "collector.db"), "--test-hooks",
    "--vendor", path.join(repo, "tests/node_modules"), ...pkgArgs, ...args,
  ], { stdio: ["ignore", "pipe", "inherit"] });
  let url;
  try {
    url = await new Promise((resolve, reject) => {
      let out = "";
      const timer = setTimeout(() => reject(new Error("collector did not start: " + out)), 20000);
      proc.stdout.on("data", (chunk) => {
        out += chunk;
        const m = out.match(/sightline demo: (http:\/\/127\.0\.0\.1:\d+)\/\s+dashboard: \S+\/dashboard/);
        if (m) { clearTimeout(timer); resolve(m[1]); }
      });
      proc.on("exit", (code) => { clearTimeout(timer); reject(new Error("collector exited with " + code + ": " + out)); });
    });
  } catch (e) {
    proc.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  proc.stdout.resume();
  const json = async (p, init) => {
    const res = await fetch(url + p, init);
    assert.ok(res.ok, `${init?.method ?? "GET"} ${p}: ${res.status} ${await res.clone().text()}`);
    return res.json();
  };
  return {
    url,
    port: Number(new URL(url).port),
    proc,
    dir,
    /** Queues a fault (faults.rs): {path_prefix, count, status, latency_ms, drop, retry_after}. */
    fault: (f) => json("/__faults", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(f) }),
    clearFaults: () => json("/__faults", { method: "DELETE" }),
    /** GET /__stats: request counters, stored/deduped batches, pending faults, database totals. */
    stats: () => json("/__stats"),
    /** The most recent stored analytics events (GET /api/dashboard/events). */
    events: async (limit = 5000) => (await json(`/api/dashboard/events?limit=${limit}`)).events,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        const exited = new Promise((r) => proc.once("exit", r));
        proc.kill("SIGTERM");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Content types of what the test page servers serve, by file extension. */
export const CONTENT_TYPES = {
  ".html": "text/html", ".js": "text/javascript", ".cjs": "text/javascript", ".mjs": "text/javascript",
  ".wasm": "application/wasm", ".css": "text/css", ".json": "application/json", ".svg": "image/svg+xml",
  ".woff2": "font/woff2", ".png": "image/png",
};

/**
 * A static server for test pages on a free port of 127.0.0.1 (`no-store`, content type by
 * extension, else application/octet-stream; 404 for anything unknown or unreadable).
 *
 * options.routes: exact path → body (string or Buffer), `{body, type}`, or a function of
 *   the request URL returning either (or null for 404; it may be async).
 * options.dirs: path prefix ("/fixtures/replay/") → folder whose files it serves.
 * options.pkg: true serves a private copy of the built SDK (sdkPackage()) at /pkg/, so
 *   that a concurrent rebuild of pkg/ cannot hand the browser half-written files; close()
 *   removes it.
 * options.transform(path, body): the body to send for a file served from `dirs` (e.g. a
 *   script tag injected into an HTML page).
 * options.fallback(req, res, path): handles what no route or folder matches (e.g. a proxy).
 *
 * Resolves with {origin, close()}.
 */
export async function startPageServer({ routes = {}, dirs = {}, pkg = false, transform, fallback } = {}) {
  let pkgCopy = null;
  const folders = Object.entries(dirs);
  if (pkg) {
    pkgCopy = mkdtempSync(path.join(tmpdir(), "sightline-pages-pkg-"));
    cpSync(sdkPackage(), pkgCopy, { recursive: true });
    folders.push(["/pkg/", pkgCopy]);
  }
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, "http://x");
    const pathname = decodeURIComponent(url.pathname);
    const folder = folders.find(([prefix]) => pathname.startsWith(prefix));
    if (!Object.hasOwn(routes, pathname) && !folder && fallback) return void (await fallback(req, res, pathname));
    let body = null;
    let type = null;
    try {
      if (Object.hasOwn(routes, pathname)) {
        let route = routes[pathname];
        if (typeof route === "function") route = await route(url);
        if (route !== null && typeof route === "object" && !Buffer.isBuffer(route)) [body, type] = [route.body, route.type];
        else body = route;
      } else if (folder) {
        body = await readFile(path.join(folder[1], path.normalize(pathname.slice(folder[0].length))));
        if (transform) body = transform(pathname, body);
      }
    } catch {
      body = null;
    }
    if (body === null || body === undefined) return void res.writeHead(404).end();
    type ??= CONTENT_TYPES[path.extname(pathname)] || "application/octet-stream";
    res.writeHead(200, { "content-type": type, "cache-control": "no-store" }).end(body);
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return {
    origin: `http://127.0.0.1:${server.address().port}`,
    async close() {
      const closed = new Promise((r) => server.close(r));
      server.closeAllConnections();
      await closed;
      if (pkgCopy) rmSync(pkgCopy, { recursive: true, force: true });
    },
  };
}

/** Debian's Chromium through playwright-core (never a downloaded browser); `args` are added. */
export async function launchChromium({ args = [] } = {}) {
  const { chromium } = await import("playwright-core");
  return chromium.launch({ executablePath: "/usr/bin/chromium", args: [...CHROMIUM_ARGS, ...args] });
}

/**
 * Polls `probe` until it returns a truthy value (which is returned), at most `timeout` ms;
 * then fails with `message` (a string, or a function of nothing giving one, e.g. the state
 * that was waited on).
 */
export async function waitFor(probe, { timeout = 15000, interval = 200, message = "condition" } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    last = await probe();
    if (last) return last;
    if (Date.now() > deadline) {
      const what = typeof message === "function" ? await message() : message;
      throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}

/** Every byte a collector (startCollector) wrote (database and write-ahead log), as latin1 text. */
export function storedBytes(collector) {
  let text = "";
  for (const name of ["collector.db", "collector.db-wal"]) {
    const file = path.join(collector.dir, name);
    if (existsSync(file)) text += readFileSync(file).toString("latin1");
  }
  return text;
}

/** The ids of stored events tagged with `run`. */
export async function storedIds(c, run) {
  const events = await c.events(5000);
  return events.filter((e) => e.data && e.data.run === run).map((e) => e.data.id);
}

/**
 * Waits until `n` events tagged `run` are stored, lets late duplicates arrive for a moment,
 * then asserts every one is stored exactly once. `nudge` (optional) runs between polls.
 */
export async function assertDeliveredOnce(c, run, n, { timeout = 15000, nudge } = {}) {
  let ids = [];
  await waitFor(async () => {
    if (nudge) await nudge();
    ids = await storedIds(c, run);
    return ids.length >= n;
  }, { timeout, interval: 300, message: () => `${n} events of run ${run} (stored: ${ids.length}, distinct: ${new Set(ids).size})` });
  await new Promise((r) => setTimeout(r, 700));
  ids = await storedIds(c, run);
  const distinct = new Set(ids);
  assert.equal(distinct.size, n, `distinct events stored for ${run}`);
  assert.equal(ids.length, n, `events stored for ${run} (duplicates: ${ids.length - distinct.size})`);
  for (let i = 0; i < n; i++) assert.ok(distinct.has(i), `event ${i} of ${run} stored`);
  return ids.length;
}

/** The version in Cargo.toml's [package] (the npm package's too). */
export function cargoVersion() {
  const toml = readFileSync(path.join(repo, "Cargo.toml"), "utf8");
  const pkg = toml.slice(toml.indexOf("[package]"));
  return pkg.match(/^version\s*=\s*"([^"]+)"/m)[1];
}

/** The newest mtime under `p` (a file or a folder), in ms. */
function newest(p) {
  if (!existsSync(p)) return 0;
  const st = statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  return readdirSync(p).reduce((m, name) => Math.max(m, newest(path.join(p, name))), st.mtimeMs);
}

/** sightline-<version>.tgz: reused when fresh, else built by scripts/package.sh. */
export function ensureTarball() {
  const tarball = path.join(repo, `sightline-${cargoVersion()}.tgz`);
  const inputs = ["src", "pkg-template", "docs", "Cargo.toml", "Cargo.lock", "CHANGELOG.md", "scripts/package.sh"];
  const fresh = existsSync(tarball) && existsSync(path.join(repo, "dist/package.json")) &&
    statSync(tarball).mtimeMs > Math.max(...inputs.map((p) => newest(path.join(repo, p))));
  if (fresh && !process.env.SIGHTLINE_REPACKAGE) return tarball;
  const run = spawnSync("bash", ["scripts/package.sh"], {
    cwd: repo, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], timeout: 15 * 60 * 1000,
  });
  assert.equal(run.status, 0, "scripts/package.sh failed");
  assert.equal(run.stdout.trim(), tarball, "scripts/package.sh names its tarball on stdout");
  return tarball;
}

/** Runs a command in `cwd`; returns {status, output} (stdout + stderr). */
export function sh(cwd, cmd, args, timeout = 5 * 60 * 1000) {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", timeout });
  return { status: r.status, output: `${r.stdout ?? ""}${r.stderr ?? ""}${r.error ? String(r.error) : ""}` };
}

/** `sh`, failing the test (with the output) unless the command exits 0; returns the output. */
export function ok(cwd, cmd, args, timeout) {
  const r = sh(cwd, cmd, args, timeout);
  assert.equal(r.status, 0, `${cmd} ${args.join(" ")} failed:\n${r.output}`);
  return r.output;
}
