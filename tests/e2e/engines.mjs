// One small page API over three engines, for the end-to-end tests that run in every engine
// (engines.test.mjs), always with the browsers Debian installs (scripts/setup.sh), never a
// downloaded one:
//
//   chromium  Playwright (playwright-core) with /usr/bin/chromium
//   firefox   puppeteer-core over WebDriver BiDi with /usr/bin/firefox-esr (headless)
//   webkit    WebDriver classic, a small client over fetch, to WebKitGTK's WebKitWebDriver,
//             which drives its MiniBrowser; under xvfb-run (MiniBrowser needs a display)
//
// Page = {goto(url), evaluate(fn, arg), type(selector, text), click(selector), errors, close()}:
// `evaluate` runs `fn(arg)` in the page (it may return a promise) and returns its JSON value.
// A page has its own storage (a browser context, or for WebKit a WebDriver session; MiniBrowser
// under automation keeps its website data in memory, per session).
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { launchChromium } from "./support.mjs";

export const BINARIES = {
  chromium: ["/usr/bin/chromium"],
  firefox: ["/usr/bin/firefox-esr"],
  webkit: ["/usr/bin/WebKitWebDriver", "/usr/bin/xvfb-run"],
};

/** The engines to run (SIGHTLINE_ENGINES, comma-separated; default firefox,webkit). */
export function enginesToRun() {
  return (process.env.SIGHTLINE_ENGINES || "firefox,webkit").split(",").map((s) => s.trim()).filter(Boolean);
}

/** Why `engine` cannot run here (a missing binary), or null. */
export function missing(engine) {
  const absent = (BINARIES[engine] || [`<unknown engine ${engine}>`]).filter((p) => !existsSync(p));
  return absent.length ? `${engine}: not installed (${absent.join(", ")}); run scripts/setup.sh` : null;
}

export async function launchEngine(name) {
  if (name === "chromium") return launchPlaywrightChromium();
  if (name === "firefox") return launchFirefox();
  if (name === "webkit") return launchWebKit();
  throw new Error(`unknown engine ${name}`);
}

const wrapEval = (fn) => (typeof fn === "function" ? fn.toString() : fn);

async function launchPlaywrightChromium() {
  const browser = await launchChromium();
  return {
    name: "chromium",
    version: `Chromium ${browser.version()}`,
    async newPage() {
      const context = await browser.newContext();
      const page = await context.newPage();
      const errors = [];
      page.on("pageerror", (e) => errors.push(String(e)));
      return {
        errors,
        goto: (url) => page.goto(url).then(() => {}),
        evaluate: (fn, arg) => page.evaluate(`(${wrapEval(fn)})(${JSON.stringify(arg ?? null)})`),
        type: (selector, text) => page.type(selector, text, { delay: 2 }),
        click: (selector) => page.click(selector),
        close: () => context.close(),
      };
    },
    close: () => browser.close(),
  };
}

async function launchFirefox() {
  const { default: puppeteer } = await import("puppeteer-core");
  const browser = await puppeteer.launch({
    browser: "firefox",
    executablePath: "/usr/bin/firefox-esr",
    headless: true,
    protocol: "webDriverBiDi",
    extraPrefsFirefox: { "datareporting.policy.dataSubmissionEnabled": false, "app.update.enabled": false },
  });
  return {
    name: "firefox",
    version: await browser.version(),
    async newPage() {
      const context = await browser.createBrowserContext();
      const page = await context.newPage();
      const errors = [];
      page.on("pageerror", (e) => errors.push(String(e)));
      return {
        errors,
        goto: (url) => page.goto(url).then(() => {}),
        evaluate: (fn, arg) => page.evaluate(`(${wrapEval(fn)})(${JSON.stringify(arg ?? null)})`),
        type: (selector, text) => page.type(selector, text, { delay: 2 }),
        click: (selector) => page.click(selector),
        close: () => context.close(),
      };
    },
    close: () => browser.close(),
  };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const ELEMENT = "element-6066-11e4-a52e-4f735466cecf";

async function launchWebKit() {
  const port = await freePort();
  // Its own process group, so that close() ends xvfb-run, Xvfb, the driver and MiniBrowser.
  // Xvfb with -noreset: by default it resets when its last client disconnects, and a reset
  // drops a client that connected meanwhile but was not yet accepted. Every page is a new
  // MiniBrowser (one WebDriver session each), started as the previous one exits, and
  // MiniBrowser opens a short-lived X connection before its real one: when the old browser's
  // connection and that short one are gone, the reset drops the real one ("cannot open
  // display"), and WebKitWebDriver then waits for the browser forever (about 1 new session in
  // 80; with -noreset, none in 600). The screen is xvfb-run's default.
  const proc = spawn("xvfb-run", ["-a", "-s", "-screen 0 1280x1024x24 -noreset", "/usr/bin/WebKitWebDriver", `--port=${port}`],
    { detached: true, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  proc.stderr.on("data", (c) => { stderr = (stderr + c).slice(-4000); });
  const base = `http://127.0.0.1:${port}`;
  const call = async (method, path, body, { timeoutMs } = {}) => {
    const res = await fetch(base + path, { method, headers: { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: timeoutMs ? AbortSignal.timeout(timeoutMs) : undefined }).catch((e) => {
      throw new Error(`WebKitWebDriver ${method} ${path}: ${e.name === "TimeoutError" ? `no answer in ${timeoutMs} ms` : e}; `
        + `driver stderr: ${stderr.slice(-1000)}`);
    });
    const json = await res.json();
    if (!res.ok || (json.value && json.value.error)) {
      throw new Error(`WebKitWebDriver ${method} ${path}: ${JSON.stringify(json.value)}`);
    }
    return json.value;
  };
  const deadline = Date.now() + 20000;
  for (;;) {
    try {
      await fetch(base + "/status");
      break;
    } catch {
      if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`WebKitWebDriver did not start: ${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  let version = "WebKitGTK";
  let current = null; // WebKitWebDriver allows one session at a time
  const kill = () => {
    try { process.kill(-proc.pid, "SIGTERM"); } catch {}
  };
  return {
    name: "webkit",
    get version() { return version; },
    async newPage() {
      if (current) await current.close();
      // A MiniBrowser that could not start leaves the request unanswered: fail with the
      // driver's stderr (it says why) instead of hanging until the test times out.
      const session = await call("POST", "/session", { capabilities: { alwaysMatch: {} } }, { timeoutMs: 30000 });
      const id = session.sessionId;
      version = `${session.capabilities.browserName} (WebKitGTK ${session.capabilities.browserVersion})`;
      await call("POST", `/session/${id}/timeouts`, { script: 90000, pageLoad: 30000 });
      const s = (p) => `/session/${id}${p}`;
      const find = async (selector) => (await call("POST", s("/element"), { using: "css selector", value: selector }))[ELEMENT];
      const page = {
        errors: [],
        goto: (url) => call("POST", s("/url"), { url }).then(() => {}),
        async evaluate(fn, arg) {
          const script = `const done = arguments[arguments.length - 1];
            Promise.resolve().then(() => (${wrapEval(fn)})(arguments[0]))
              .then((v) => done({ ok: v === undefined ? null : v }), (e) => done({ error: String(e && e.stack || e) }));`;
          const result = await call("POST", s("/execute/async"), { script, args: [arg ?? null] });
          if (result && "error" in result) throw new Error(result.error);
          return result ? result.ok : null;
        },
        async type(selector, text) {
          await call("POST", s(`/element/${await find(selector)}/value`), { text });
        },
        async click(selector) {
          await call("POST", s(`/element/${await find(selector)}/click`), {});
        },
        async close() {
          if (current !== page) return;
          current = null;
          await call("DELETE", s("")).catch(() => {});
        },
      };
      current = page;
      return page;
    },
    async close() {
      if (current) await current.close();
      kill();
    },
  };
}
