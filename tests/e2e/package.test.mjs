// The npm package as a frontend team installs it: `scripts/package.sh` packs
// sightline-<version>.tgz; a temporary copy of tests/consumer/vite-app (Vite 7 +
// TypeScript 5) `npm install`s the tarball, type-checks with `tsc --strict --noEmit`,
// builds with `vite build` (the default entry, and `sightline/bundler` through
// vite-plugin-wasm), and each build, the app under `vite dev`, and a plain HTML page
// importing the package's web/ build from a `<script type="module">` run in Debian's
// headless Chromium against the real collector, which must store the page's `$page-view`.
// A misspelled option must fail `tsc`.
//
//   node --test tests/e2e/package.test.mjs
//
// The tarball is reused when it is newer than every input of scripts/package.sh (src/,
// pkg-template/, docs/, Cargo.toml, Cargo.lock, CHANGELOG.md, the script); SIGHTLINE_REPACKAGE=1
// forces a rebuild. npm needs the registry (or its cache) for the app's committed lock file.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { cargoVersion, ensureTarball, launchChromium, ok, repo, sh, startCollector, waitFor } from "./support.mjs";

const consumer = path.join(repo, "tests/consumer");

describe("npm package (sightline-<version>.tgz) in a consumer app", { timeout: 10 * 60 * 1000 }, () => {
  let tarball, tmp, app, site, collector, browser, vite;

  before(async () => {
    tarball = ensureTarball();
    tmp = mkdtempSync(path.join(tmpdir(), "sightline-consumer-"));
    app = path.join(tmp, "vite-app");
    cpSync(path.join(consumer, "vite-app"), app, {
      recursive: true,
      filter: (src) => !/[\\/](node_modules|dist|dist-bundler)$/.test(src),
    });
    const npm = ["--no-audit", "--no-fund", "--loglevel=error"];
    // Not `npm ci`: the registry here lacks some of rollup's optional platform packages, so
    // the lock file cannot list them and `npm ci` calls it out of sync; `npm install` follows
    // the lock file for everything it does list.
    ok(app, "npm", ["install", "--no-save", ...npm, tarball]);
  });

  after(async () => {
    vite?.kill("SIGTERM");
    await browser?.close();
    await collector?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test("the tarball holds both builds, complete types without `any`, README, LICENSE, CHANGELOG", () => {
    const files = ok(repo, "tar", ["tzf", tarball]).split("\n").filter(Boolean).sort();
    for (const f of ["package.json", "README.md", "LICENSE", "CHANGELOG.md",
      "web/sightline.js", "web/sightline.d.ts", "web/sightline_bg.wasm",
      "bundler/index.js", "bundler/index.d.ts", "bundler/sightline.js", "bundler/sightline_bg.js",
      "bundler/sightline.d.ts", "bundler/sightline_bg.wasm"]) {
      assert.ok(files.includes(`package/${f}`), `the tarball lacks ${f}: ${files.join(", ")}`);
    }
    const installed = path.join(app, "node_modules/sightline");
    const pkg = JSON.parse(readFileSync(path.join(installed, "package.json"), "utf8"));
    assert.equal(pkg.name, "sightline");
    assert.equal(pkg.version, cargoVersion());
    assert.equal(pkg.type, "module");
    const dts = readFileSync(path.join(installed, "web/sightline.d.ts"), "utf8");
    for (const decl of ["constructor(options: SightlineOptions)", "track(eventType: string, data?: Record<string, unknown>): void",
      "flush(): Promise<FlushResult>", "checkAccess(): Promise<AccessState>", "readonly accessState: AccessState",
      "stats(): SightlineStats", "start(): void", "stop(): void", "clearBuffer(): void",
      "export interface SightlineOptions", 'export type AccessState = "unknown" | "granted" | "denied"',
      'export type AccessChangeReason = "granted" | "denied" | "fail-closed" | "signed-out"']) {
      assert.ok(dts.includes(decl), `web/sightline.d.ts lacks \`${decl}\``);
    }
    for (const f of files.filter((f) => f.endsWith(".d.ts"))) {
      const code = readFileSync(path.join(installed, f.replace(/^package\//, "")), "utf8")
        .split("\n").filter((line) => !/^\s*(\*|\/\*|\/\/)/.test(line)).join("\n");
      assert.doesNotMatch(code, /\bany\b/, `${f} uses the type \`any\``);
    }
    const readme = readFileSync(path.join(installed, "README.md"), "utf8");
    for (const option of ["projectId", "apiBaseUrl", "publishableClientKey", "getAnalyticsSession",
      "maxEventsPerBatch", "checkoutEveryNms", "retryMaxDelayMs", "attemptTimeoutMs", "jitter"]) {
      assert.ok(readme.includes(option), `the package README does not document ${option}`);
    }
  });

  test("tsc --strict --noEmit accepts the app (default entry and sightline/bundler)", () => {
    ok(app, "node_modules/.bin/tsc", ["--strict", "--noEmit", "-p", "tsconfig.json"]);
  });

  test("tsc --strict --noEmit rejects a misspelled option (flushIntervalMS)", () => {
    const r = sh(app, "node_modules/.bin/tsc", ["--strict", "--noEmit", "-p", "tsconfig.type-errors.json"]);
    assert.notEqual(r.status, 0, `tsc accepted type-errors/misspelled-option.ts:\n${r.output}`);
    assert.match(r.output, /misspelled-option\.ts.*'flushIntervalMS' does not exist in type 'AnalyticsOptions'/);
    assert.doesNotMatch(r.output, /node_modules\/sightline/, "the package's own declarations have errors");
  });

  test("vite build: the default entry without a wasm plugin, and sightline/bundler with vite-plugin-wasm", async () => {
    ok(app, "node_modules/.bin/vite", ["build"]);
    ok(app, "node_modules/.bin/vite", ["build", "--config", "vite.bundler.config.ts"]);
    const assets = readdirSync(path.join(app, "dist/static"));
    assert.ok(assets.some((f) => f.endsWith(".wasm")), `vite build emitted no .wasm: ${assets}`);

    // The collector's --site: the Vite app at /, the bundler build at /static/bundler/, the
    // plain page at /static/plain/ with the package's web/ folder copied next to it.
    site = path.join(tmp, "site");
    cpSync(path.join(app, "dist"), site, { recursive: true });
    cpSync(path.join(app, "dist-bundler"), path.join(site, "static/bundler"), { recursive: true });
    mkdirSync(path.join(site, "static/plain"), { recursive: true });
    cpSync(path.join(consumer, "plain-html/index.html"), path.join(site, "static/plain/index.html"));
    cpSync(path.join(app, "node_modules/sightline/web"), path.join(site, "static/plain/sightline"), { recursive: true });

    collector = await startCollector({ args: ["--allow-anonymous", "--site", site] });
    browser = await launchChromium();
  });

  /**
   * Opens `url` (a path on the collector, or absolute), waits for the page's
   * `window.__result`, then for the page's stored events.
   */
  async function deliversPageView(url, projectId, customEvent) {
    assert.ok(collector && browser, "the build step failed");
    const pageUrl = new URL(url, collector.url);
    const page = await browser.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    try {
      await page.goto(pageUrl.href);
      await page.waitForFunction(() => window.__result || window.__error, null, { timeout: 20000 });
      const { result, error } = await page.evaluate(() => ({ result: window.__result, error: window.__error }));
      assert.equal(error, undefined, `the page failed: ${error}`);
      assert.deepEqual(errors, []);
      // start() may already have sent the $page-view: flush() counts what it acknowledged.
      assert.ok(result.flush.sent >= 1 && result.flush.pending === 0, `flush(): ${JSON.stringify(result.flush)}`);
      assert.ok(result.stats.deliveredEvents >= 2, `stats(): ${JSON.stringify(result.stats)}`);
      assert.equal(result.accessState, "unknown");
      const stored = await waitFor(async () => {
        const events = (await collector.events()).filter((e) => e.project_id === projectId &&
          (e.event_type !== "$page-view" || new URL(e.data.url).origin === pageUrl.origin));
        const types = new Set(events.map((e) => e.event_type));
        return types.has("$page-view") && types.has(customEvent) && events;
      }, { message: `a $page-view and a ${customEvent} of ${projectId} at the collector` });
      const view = stored.find((e) => e.event_type === "$page-view");
      assert.equal(new URL(view.data.url).pathname, pageUrl.pathname);
    } finally {
      await page.close();
    }
  }

  test("the Vite app (import init, { Sightline } from \"sightline\") delivers a $page-view", async () => {
    await deliversPageView("/", "p_vite", "vite-app-loaded");
  });

  test("the Vite app through sightline/bundler delivers a $page-view", async () => {
    await deliversPageView("/static/bundler/bundler.html", "p_vite_bundler", "vite-bundler-loaded");
  });

  test("a plain HTML page (<script type=\"module\"> + the web build) delivers a $page-view", async () => {
    await deliversPageView("/static/plain/index.html", "p_plain", "plain-page-loaded");
  });

  test("the Vite app under `vite dev` (optimizeDeps.exclude) delivers a $page-view cross-origin", async () => {
    assert.ok(collector, "the build step failed");
    const port = await new Promise((resolve, reject) => {
      const probe = createServer().once("error", reject).listen(0, "127.0.0.1", () => {
        const { port } = probe.address();
        probe.close(() => resolve(port));
      });
    });
    vite = spawn("node_modules/.bin/vite", ["--host", "127.0.0.1", "--port", String(port), "--strictPort"], {
      cwd: app, stdio: ["ignore", "pipe", "pipe"],
    });
    let log = "";
    vite.stdout.on("data", (d) => { log += d; });
    vite.stderr.on("data", (d) => { log += d; });
    const devUrl = `http://127.0.0.1:${port}`;
    await waitFor(async () => (await fetch(devUrl + "/").catch(() => null))?.ok,
      { timeout: 30000, message: () => `vite dev on ${devUrl}: ${log}` });
    await deliversPageView(`${devUrl}/?api=${encodeURIComponent(collector.url)}`, "p_vite", "vite-app-loaded");
  });
});
