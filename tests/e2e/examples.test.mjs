// The examples in examples/, built as a user would build them against the packed tarball
// (sightline-<version>.tgz, from scripts/package.sh), then run in Debian's headless Chromium
// against the real collector:
//
// - examples/react-vite: `npm install` + the tarball, `npm run build` (tsc --strict, then
//   vite build); sign in as alice (the access gate as a route guard lets her into the beta
//   lab, where a tracked event is stored under her user id), sign out (clearBuffer()), sign
//   in as bob (the guard shows the invite screen);
// - examples/plain-html: the package's web/ folder next to the page, a
//   <script type="module">; sign in, a tracked click, the gate's state on the page.
//
//   node --test tests/e2e/examples.test.mjs
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { ensureTarball, launchChromium, ok, repo, startCollector, waitFor } from "./support.mjs";

const examples = path.join(repo, "examples");

describe("examples/ against the packed tarball", { timeout: 10 * 60 * 1000 }, () => {
  let tmp, app, site, collector, browser;

  before(() => {
    const tarball = ensureTarball();
    tmp = mkdtempSync(path.join(tmpdir(), "sightline-examples-"));
    app = path.join(tmp, "react-vite");
    cpSync(path.join(examples, "react-vite"), app, {
      recursive: true,
      filter: (src) => !/[\\/](node_modules|dist)$/.test(src),
    });
    // As the example's README says: its locked dependencies, plus the tarball (not saved, so
    // the committed package.json and lock file stay as they are). `npm install`, not `npm ci`:
    // see package.test.mjs.
    ok(app, "npm", ["install", "--no-save", "--no-audit", "--no-fund", "--loglevel=error", tarball]);
  });

  after(async () => {
    await browser?.close();
    await collector?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test("examples/react-vite builds: tsc --strict, then vite build", async () => {
    ok(app, "npm", ["run", "build"]);
    assert.ok(readdirSync(path.join(app, "dist/static")).some((f) => f.endsWith(".wasm")), "vite build emitted no .wasm");
    // The collector's --site: the React build at /, the plain page at /static/plain/.
    site = path.join(tmp, "site");
    cpSync(path.join(app, "dist"), site, { recursive: true });
    mkdirSync(path.join(site, "static/plain"), { recursive: true });
    cpSync(path.join(examples, "plain-html/index.html"), path.join(site, "static/plain/index.html"));
    cpSync(path.join(app, "node_modules/sightline/web"), path.join(site, "static/plain/sightline"), { recursive: true });
    collector = await startCollector({ args: ["--allow-anonymous", "--site", site, "--granted-users", "alice"] });
    browser = await launchChromium();
  });

  /** A fresh page whose errors fail the test at the end. */
  async function open(url) {
    const page = await browser.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(new URL(url, collector.url).href);
    return { page, errors };
  }

  /** Stored events of `projectId` matching `pick`, once there is one. */
  const stored = (projectId, pick, message) => waitFor(async () => {
    const events = (await collector.events()).filter((e) => e.project_id === projectId && pick(e));
    return events.length > 0 && events;
  }, { timeout: 30000, message });

  test("examples/react-vite: sign-in, the gate as a route guard, sign-out with clearBuffer()", async () => {
    assert.ok(collector && browser, "the build step failed");
    const { page, errors } = await open("/");
    try {
      await page.getByRole("button", { name: "Sign in as alice" }).click();
      await page.getByRole("heading", { name: "Beta lab" }).waitFor({ timeout: 15000 });
      await page.getByRole("button", { name: "Run an experiment" }).click();
      await page.getByText("1 sent").waitFor();
      const [experiment] = await stored("p_example_react", (e) => e.event_type === "lab-experiment",
        "alice's lab-experiment at the collector");
      assert.equal(experiment.user_id, "alice");
      assert.deepEqual(experiment.data, { variant: "b" });

      await page.getByRole("button", { name: "Sign out" }).click();
      await page.getByRole("button", { name: "Sign in as bob" }).waitFor();
      await page.getByRole("button", { name: "Sign in as bob" }).click();
      await page.getByText("You're not invited to the beta lab yet.").waitFor({ timeout: 15000 });
      assert.equal(await page.getByRole("heading", { name: "Beta lab" }).count(), 0, "bob got into the lab");

      // The SPA's page views went out too ($page-view on pushState), under the user of the time.
      const views = await stored("p_example_react", (e) => e.event_type === "$page-view" && e.data.path === "/lab",
        "a $page-view of /lab");
      assert.ok(views.every((e) => e.user_id === null || e.user_id === "alice" || e.user_id === "bob"));
      assert.deepEqual(errors, []);
    } finally {
      await page.close();
    }
  });

  test("examples/plain-html: a <script type=\"module\"> page signs in, tracks and follows the gate", async () => {
    assert.ok(collector && browser, "the build step failed");
    const { page, errors } = await open("/static/plain/index.html");
    try {
      // The module script has run (init(), start(), the handlers) once the counters show.
      await page.waitForFunction(() => document.getElementById("stats").textContent.includes("queued"));
      await page.getByRole("button", { name: "Sign in as alice" }).click();
      await page.locator("#access").getByText("granted (granted)").waitFor({ timeout: 15000 });
      await page.getByRole("button", { name: "Buy the pro plan" }).click();
      const [checkout] = await stored("p_example_plain", (e) => e.event_type === "checkout-started",
        "the plain page's checkout-started event");
      assert.equal(checkout.user_id, "alice");
      assert.deepEqual(checkout.data, { plan: "pro" });
      await stored("p_example_plain", (e) => e.event_type === "$click" && e.data.text === "Buy the pro plan",
        "the autocaptured $click on the button");
      assert.deepEqual(errors, []);
    } finally {
      await page.close();
    }
  });
});
