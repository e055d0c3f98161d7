// End-to-end tests of the demo collector (www-demo/): the built binary on a free port with a
// temporary database, driven with fetch from node and from Debian's headless Chromium.
//
//   node --test tests/e2e/collector.test.mjs
//
// The binary is built first (`cargo build -p sightline-collector`, a no-op when up to date)
// unless SIGHTLINE_COLLECTOR_BIN names one. CARGO_TARGET_DIR is honoured. The dashboard's
// screenshot is written to tests/e2e/artifacts/dashboard.png (git-ignored).
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { Readable } from "node:stream";
import zlib from "node:zlib";
import { artifacts, launchChromium, repo as repoRoot, startCollector } from "./support.mjs";

const HEADERS = {
  "content-type": "application/json",
  "x-stack-project-id": "p_e2e",
  "x-stack-access-type": "client",
  "x-stack-allow-anonymous-user": "true",
  "x-stack-access-token": "demo-alice",
  "x-stack-refresh-token": "r_alice",
};

const pageView = (at, p) => ({
  event_type: "$page-view", event_at_ms: at,
  data: { url: "http://demo.test" + p, path: p, referrer: "", title: "Demo " + p, entry_type: "initial",
    viewport_width: 1280, viewport_height: 720, screen_width: 1920, screen_height: 1080 },
});
const click = (at, text) => ({
  event_type: "$click", event_at_ms: at,
  data: { tag_name: "button", text, href: null, selector: "main > button.cta", x: 40, y: 80, page_x: 40, page_y: 80,
    viewport_width: 1280, viewport_height: 720 },
});
const analyticsBatch = (events) => ({ session_replay_segment_id: randomUUID(), batch_id: randomUUID(), sent_at_ms: Date.now(), events });

/** A tiny but complete rrweb recording: Meta, FullSnapshot, a scroll. */
function recording(start) {
  let id = 1;
  const text = (t) => ({ type: 3, textContent: t, id: id++ });
  const elem = (tagName, attributes, ...childNodes) => ({ type: 2, tagName, attributes, childNodes, id: id++ });
  const doc = {
    type: 0, id: id++, childNodes: [
      { type: 1, name: "html", publicId: "", systemId: "", id: id++ },
      elem("html", {},
        elem("head", {}, elem("style", {}, text("body{font:24px sans-serif;background:#fffbe6;color:#222;margin:40px} h1{color:#3b5bdb}"))),
        elem("body", {}, elem("h1", {}, text("Recorded demo page")), elem("p", {}, text("Hello from a replayed session.")))),
    ],
  };
  return [
    { type: 4, timestamp: start, data: { href: "http://demo.test/replayed", width: 800, height: 450 } },
    { type: 2, timestamp: start + 10, data: { node: doc, initialOffset: { left: 0, top: 0 } } },
    { type: 3, timestamp: start + 1500, data: { source: 3, id: 1, x: 0, y: 10 } },
  ];
}

describe("collector (built binary)", () => {
  let c;
  const api = (p) => c.url + p;
  const post = (p, body, headers = HEADERS) =>
    fetch(api(p), { method: "POST", headers, body: typeof body === "string" || body instanceof Uint8Array ? body : JSON.stringify(body) });

  before(async () => { c = await startCollector(); });
  after(async () => { await c?.stop(); });

  test("stores a valid analytics batch and answers {inserted}", async () => {
    const res = await post("/api/v1/analytics/events/batch", analyticsBatch([pageView(Date.now(), "/"), click(Date.now(), "Go")]));
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { inserted: 2, deduped: false });
  });

  test("schema errors are 400 and name the field", async () => {
    const events = [pageView(1, "/"), pageView(2, "/"), pageView(3, "/"), { event_type: "$click", event_at_ms: "soon", data: {} }];
    let res = await post("/api/v1/analytics/events/batch", analyticsBatch(events));
    assert.equal(res.status, 400);
    assert.equal((await res.json()).error, "events[3].event_at_ms must be a number");

    res = await post("/api/v1/analytics/events/batch", analyticsBatch(Array.from({ length: 600 }, (_, i) => pageView(i, "/"))));
    assert.equal(res.status, 400);
    assert.match((await res.json()).error, /^events must contain at most 500 events/);

    res = await post("/api/v1/analytics/events/batch", "{not json");
    assert.equal(res.status, 400);
    assert.match((await res.json()).error, /not valid JSON/);

    res = await post("/api/v1/session-replays/batch", { browser_session_id: randomUUID(), session_replay_segment_id: randomUUID(),
      batch_id: randomUUID(), started_at_ms: 1, sent_at_ms: 2, events: [] });
    assert.equal(res.status, 400);
    assert.equal((await res.json()).error, "events must contain at least 1 event");
  });

  test("a body over 1,000,000 bytes as sent is 413", async () => {
    const big = analyticsBatch([{ event_type: "big", event_at_ms: 1, data: { pad: "x".repeat(2_000_000) } }]);
    const res = await post("/api/v1/analytics/events/batch", big);
    assert.equal(res.status, 413);
    assert.equal((await res.json()).code, "PAYLOAD_TOO_LARGE");
  });

  test("gzip bodies are accepted; a gzip bomb is 413 without the server's memory growing", async () => {
    const batch = { browser_session_id: randomUUID(), session_replay_segment_id: randomUUID(), batch_id: randomUUID(),
      started_at_ms: Date.now(), sent_at_ms: Date.now(), events: recording(Date.now()) };
    let res = await post("/api/v1/session-replays/batch", zlib.gzipSync(JSON.stringify(batch)),
      { ...HEADERS, "content-type": "application/octet-stream" });
    assert.equal(res.status, 200);
    const answer = await res.json();
    assert.equal(answer.batch_id, batch.batch_id);
    assert.equal(answer.deduped, false);
    assert.ok(answer.session_replay_id && answer.s3_key);

    const hwm = () => Number(readFileSync(`/proc/${c.proc.pid}/status`, "utf8").match(/VmHWM:\s+(\d+) kB/)[1]) * 1024;
    const before = hwm();
    for (const mb of [20, 200]) {
      const bomb = await gzipZeros(mb);
      assert.ok(bomb.length < 1_000_000, `${mb} MB of zeros gzip to ${bomb.length} bytes`);
      res = await post("/api/v1/session-replays/batch", bomb, { ...HEADERS, "content-type": "application/octet-stream" });
      assert.equal(res.status, 413, `${mb} MB bomb`);
      assert.match((await res.json()).error, /decompressed body is over/);
    }
    const grown = hwm() - before;
    assert.ok(grown < 64 * 1024 * 1024, `peak memory grew by ${(grown / 1048576).toFixed(1)} MiB`);
  });

  test("a resent batch is deduplicated by batch_id", async () => {
    const batch = analyticsBatch([pageView(Date.now(), "/again")]);
    assert.deepEqual(await (await post("/api/v1/analytics/events/batch", batch)).json(), { inserted: 1, deduped: false });
    assert.deepEqual(await (await post("/api/v1/analytics/events/batch", batch)).json(), { inserted: 0, deduped: true });
  });

  test("CORS preflight allows every x-stack-* header", async () => {
    const res = await fetch(api("/api/v1/session-replays/batch"), {
      method: "OPTIONS",
      headers: {
        origin: "http://page.example",
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type,x-stack-project-id,x-stack-access-token,x-stack-refresh-token,x-stack-publishable-client-key",
      },
    });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get("access-control-allow-origin"), "http://page.example");
    assert.match(res.headers.get("access-control-allow-methods"), /POST/);
    const allowed = res.headers.get("access-control-allow-headers").split(/,\s*/);
    for (const h of ["content-type", "authorization", "x-stack-project-id", "x-stack-access-type", "x-stack-allow-anonymous-user",
      "x-stack-publishable-client-key", "x-stack-access-token", "x-stack-refresh-token"]) {
      assert.ok(allowed.includes(h), `${h} in ${allowed}`);
    }
    assert.equal(res.headers.get("access-control-max-age"), "600");
  });

  test("401 without an access token; check-access answers from the bearer token", async () => {
    const { "x-stack-access-token": _, ...anonymous } = HEADERS;
    const res = await post("/api/v1/analytics/events/batch", analyticsBatch([pageView(1, "/")]), anonymous);
    assert.equal(res.status, 401);
    const check = (auth) => fetch(api("/api/code/invites/check-access/"), { headers: auth ? { authorization: auth } : {} });
    assert.deepEqual(await (await check("Bearer demo-alice")).json(), { has_access: true });
    assert.deepEqual(await (await check("Bearer demo-mallory")).json(), { has_access: false });
    assert.equal((await check(null)).status, 401);
  });

  test("faults: N injected answers, then back to normal; counted in /__stats", async () => {
    await fetch(api("/__faults"), { method: "DELETE" });
    let res = await fetch(api("/__faults"), { method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ path_prefix: "/api/v1/analytics", count: 2, status: 503, latency_ms: 0, drop: false, retry_after: 1 }) });
    assert.equal(res.status, 200);
    const batch = analyticsBatch([pageView(Date.now(), "/faulted")]);
    for (let i = 0; i < 2; i++) {
      res = await post("/api/v1/analytics/events/batch", batch);
      assert.equal(res.status, 503);
      assert.equal(res.headers.get("retry-after"), "1");
    }
    res = await post("/api/v1/analytics/events/batch", batch);
    assert.equal(res.status, 200);
    const stats = await (await fetch(api("/__stats"))).json();
    assert.ok(stats.requests["POST /api/v1/analytics/events/batch"] >= 3);
    assert.ok(stats.batches_stored >= 3 && stats.events_stored >= 3 && stats.deduped_batches >= 1);
  });

  describe("in Chromium", () => {
    let browser;
    before(async () => {
      browser = await launchChromium();
    });
    after(async () => { await browser?.close(); });

    test("cross-origin keepalive fetches with the x-stack headers work; a drop fault is a network error", async () => {
      const page = await browser.newPage();
      // The page's origin is localhost; the collector is addressed as 127.0.0.1: cross-origin.
      // (Not the demo page: its CSP, connect-src 'self', rightly blocks such requests.)
      await page.goto(`http://localhost:${c.port}/static/demo-e2e.html?fixture=${encodeURIComponent('{"sdk":false}')}`);
      const target = `http://127.0.0.1:${c.port}`;
      const result = await page.evaluate(async ({ target, headers, body }) => {
        const send = (b, h = headers) => fetch(target + "/api/v1/analytics/events/batch",
          { method: "POST", keepalive: true, credentials: "omit", cache: "no-store", headers: h, body: b });
        const plain = await send(JSON.stringify(body));
        // The same batch gzipped by the browser, as the SDK sends large bodies.
        const gz = await new Response(new Blob([JSON.stringify({ ...body, batch_id: crypto.randomUUID() })])
          .stream().pipeThrough(new CompressionStream("gzip"))).arrayBuffer();
        const zipped = await send(gz, { ...headers, "content-type": "application/octet-stream" });
        return { origin: location.origin, plain: [plain.status, await plain.json()], zipped: [zipped.status, await zipped.json()] };
      }, { target, headers: { ...HEADERS, "x-stack-publishable-client-key": "pck_demo" }, body: analyticsBatch([click(Date.now(), "keepalive")]) });
      assert.notEqual(result.origin, target);
      assert.deepEqual(result.plain, [200, { inserted: 1, deduped: false }]);
      assert.deepEqual(result.zipped, [200, { inserted: 1, deduped: false }]);

      await fetch(api("/__faults"), { method: "POST", body: JSON.stringify({ path_prefix: "/api/v1/analytics", count: 1, drop: true }) });
      const dropped = await page.evaluate(async ({ target, headers, body }) => {
        try {
          const r = await fetch(target + "/api/v1/analytics/events/batch", { method: "POST", headers, body });
          return "answered " + r.status;
        } catch (e) {
          return e.name;
        }
      }, { target, headers: HEADERS, body: JSON.stringify(analyticsBatch([click(Date.now(), "dropped")])) });
      assert.equal(dropped, "TypeError");

      // A 503 fault on a large body is read as a 503 (not a reset), with Retry-After exposed.
      await fetch(api("/__faults"), { method: "POST", body: JSON.stringify({ path_prefix: "/api/v1/session-replays", count: 1, status: 503, retry_after: 2 }) });
      const faulted = await page.evaluate(async ({ target, headers }) => {
        const body = crypto.getRandomValues(new Uint8Array(60_000));
        const big = new Uint8Array(900_000);
        for (let i = 0; i < big.length; i += body.length) big.set(body.subarray(0, Math.min(body.length, big.length - i)), i);
        const r = await fetch(target + "/api/v1/session-replays/batch", { method: "POST", headers, body: big });
        return [r.status, r.headers.get("retry-after")];
      }, { target, headers: { ...HEADERS, "content-type": "application/octet-stream" } });
      assert.deepEqual(faulted, [503, "2"]);
      await fetch(api("/__faults"), { method: "DELETE" });
      await page.close();
    });

    test("the dashboard lists events and replays a session (screenshot is not blank)", async () => {
      const now = Date.now();
      const res = await post("/api/v1/analytics/events/batch", analyticsBatch([
        pageView(now - 3000, "/pricing"), click(now - 2000, "Start free trial"), { event_type: "signup", event_at_ms: now - 1000, data: { plan: "pro" } },
      ]));
      assert.equal(res.status, 200);
      const session = randomUUID();
      const replay = await post("/api/v1/session-replays/batch", { browser_session_id: session, session_replay_segment_id: randomUUID(),
        batch_id: randomUUID(), started_at_ms: now - 5000, sent_at_ms: now, events: recording(now - 5000) });
      assert.equal(replay.status, 200);

      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      const errors = [];
      page.on("pageerror", (e) => errors.push(e.message));
      await page.goto(`${c.url}/dashboard?session=${session}`);
      await page.waitForSelector("#events-table tbody tr.event-row");
      await page.waitForSelector(`#sessions-table tr[data-session="${session}"]`);
      await page.waitForSelector("#player .rr-player", { timeout: 15000 });
      const rows = await page.locator("#events-table tbody tr.event-row").count();
      assert.ok(rows >= 6, `events table has ${rows} rows`);
      const types = await page.locator("#events-table td.type").allTextContents();
      assert.ok(types.includes("signup") && types.includes("$click") && types.includes("$page-view"), types.join(","));
      assert.equal(await page.evaluate(() => window.__replayEventCount), 3);
      // The replayer rebuilt the recorded page inside its iframe.
      const replayed = page.frameLocator("#player iframe").locator("h1");
      assert.equal(await replayed.textContent({ timeout: 10000 }), "Recorded demo page");
      assert.deepEqual(errors, []);

      const png = await page.screenshot({ fullPage: true });
      mkdirSync(artifacts, { recursive: true });
      writeFileSync(path.join(artifacts, "dashboard.png"), png);
      assert.ok(png.length > 20_000, `screenshot is ${png.length} bytes`);
      const { distinct, stddev } = await pixelStats(browser, png);
      assert.ok(distinct > 50, `${distinct} distinct colours`);
      assert.ok(stddev > 10, `luminance stddev ${stddev.toFixed(1)}`);
      await page.close();
    });
  });
});

describe("collector: safe by default (Chromium)", () => {
  let c;
  let browser;
  before(async () => {
    c = await startCollector();
    // rebind.test resolves to this machine, as after a DNS rebinding attack.
    browser = await launchChromium({ args: ["--host-resolver-rules=MAP rebind.test 127.0.0.1"] });
    const res = await fetch(c.url + "/api/v1/analytics/events/batch", { method: "POST", headers: HEADERS,
      body: JSON.stringify(analyticsBatch([pageView(Date.now(), "/private-page")])) });
    assert.equal(res.status, 200);
  });
  after(async () => { await browser?.close(); await c?.stop(); });

  test("a page on another origin cannot read the dashboard's API", async () => {
    const page = await browser.newPage();
    // localhost:PORT is a name the collector answers to, but another origin than 127.0.0.1:PORT.
    await page.goto(`http://localhost:${c.port}/static/demo.css`);
    const target = `http://127.0.0.1:${c.port}`;
    const result = await page.evaluate(async (target) => {
      const out = {};
      for (const path of ["/api/dashboard/events", "/api/dashboard/sessions", "/api/dashboard/summary", "/dashboard"]) {
        try {
          const res = await fetch(target + path);
          out[path] = "read " + res.status + " " + (await res.text()).slice(0, 80);
        } catch (e) {
          out[path] = e.name;
        }
        // no-cors: the answer is opaque, nothing can be read from it.
        const opaque = await fetch(target + path, { mode: "no-cors" }).catch(() => null);
        out[path + " no-cors"] = opaque ? opaque.type + ":" + (await opaque.text()).length : "failed";
      }
      return out;
    }, target);
    for (const path of ["/api/dashboard/events", "/api/dashboard/sessions", "/api/dashboard/summary", "/dashboard"]) {
      assert.equal(result[path], "TypeError", `${path}: ${result[path]}`);
      assert.ok(["opaque:0", "failed"].includes(result[path + " no-cors"]), `${path}: ${result[path + " no-cors"]}`);
    }
    // The same page may still send batches (ingestion is cross-origin by design).
    const sent = await page.evaluate(async ({ target, headers, body }) =>
      (await fetch(target + "/api/v1/analytics/events/batch", { method: "POST", headers, body })).status,
    { target, headers: HEADERS, body: JSON.stringify(analyticsBatch([pageView(Date.now(), "/x")])) });
    assert.equal(sent, 200);
    await page.close();
  });

  test("a rebound name (foreign Host) gets 421 on every route, even same-origin", async () => {
    const page = await browser.newPage();
    const nav = await page.goto(`http://rebind.test:${c.port}/dashboard`);
    assert.equal(nav.status(), 421);
    const result = await page.evaluate(async () => {
      const out = {};
      for (const path of ["/api/dashboard/events", "/api/dashboard/sessions/x/events", "/", "/__stats"]) {
        const res = await fetch(path); // same-origin for the attacker's page
        out[path] = [res.status, (await res.text()).includes("private-page")];
      }
      return out;
    });
    for (const [path, [status, leaked]] of Object.entries(result)) {
      assert.equal(status, 421, path);
      assert.equal(leaked, false, path);
    }
    await page.close();
  });
});

describe("demo: a fresh visitor (Chromium)", () => {
  let c;
  let browser;
  before(async () => {
    // Without --allow-anonymous: the visitor's events count only because the demo page signs
    // them in as an anonymous user.
    c = await startCollector({ sdk: true });
    browser = await launchChromium();
  });
  after(async () => { await browser?.close(); await c?.stop(); });

  const watchCsp = (page) => page.addInitScript(() => {
    window.__csp = [];
    document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(e.violatedDirective + " " + e.blockedURI));
  });

  test("init() on a page whose CSP forbids WebAssembly rejects naming 'wasm-unsafe-eval'", async () => {
    const page = await browser.newPage();
    const script = `import init, { Sightline } from "/pkg/sightline.js";
      init().then(() => { window.__init = "started"; }, (e) => { window.__init = e.name + ": " + e.message; });`;
    const serve = (csp) => async (route) => {
      const url = new URL(route.request().url());
      if (url.pathname.endsWith(".js")) return route.fulfill({ contentType: "text/javascript", body: script });
      return route.fulfill({ contentType: "text/html", headers: { "content-security-policy": csp },
        body: '<!doctype html><meta charset="utf-8"><script type="module" src="' + url.pathname + '.js"></script>' });
    };
    const outcome = async (name, csp) => {
      await page.route(`${c.url}/${name}*`, serve(csp));
      await page.goto(`${c.url}/${name}`);
      return (await page.waitForFunction(() => window.__init, null, { timeout: 15000 })).jsonValue();
    };
    const refused = await outcome("csp-strict", "default-src 'self'; script-src 'self'");
    assert.match(refused, /^SightlineCspError: /, refused);
    assert.match(refused, /'wasm-unsafe-eval'/);
    assert.match(refused, /script-src 'self' 'wasm-unsafe-eval'/);
    // The policy the README recommends lets it start.
    assert.equal(await outcome("csp-wasm", "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'"), "started");
    await page.close();
  });

  test("clicks without signing in show up in the dashboard with a playable replay; no CSP violation", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    // Before anything is recorded, the dashboard says what to do.
    const empty = await context.newPage();
    await empty.goto(c.url + "/dashboard");
    await empty.waitForFunction(() => window.__dashboardRefreshed >= 1);
    assert.equal(await empty.locator("#welcome").isVisible(), true);
    assert.match(await empty.locator("#welcome").textContent(), /Open the demo page[\s\S]*Click around[\s\S]*Play/);
    await empty.close();
    const demo = await context.newPage();
    await watchCsp(demo);
    const errors = [];
    demo.on("pageerror", (e) => errors.push(e.message));
    const demoNav = await demo.goto(c.url + "/");
    assert.match(demoNav.headers()["content-security-policy"], /script-src 'self' 'wasm-unsafe-eval'/);
    await demo.waitForFunction(() => window.__demoReady === true && window.sightline, null, { timeout: 20000 });
    const who = await demo.locator("#user").textContent();
    assert.match(who, /anonymous user \(anon-[0-9a-f]{8}\)/);
    const anon = who.match(/anon-[0-9a-f]{8}/)[0];
    await demo.click("#cta-primary");
    await demo.click("nav a[data-view=pricing]");
    await demo.click(".choose-plan[data-plan=pro]");
    await demo.click("nav a[data-view=home]");

    const started = Date.now();
    const dash = await context.newPage();
    await watchCsp(dash);
    dash.on("pageerror", (e) => errors.push("dashboard: " + e.message));
    const dashNav = await dash.goto(c.url + "/dashboard");
    assert.match(dashNav.headers()["content-security-policy"], /script-src 'self' 'wasm-unsafe-eval'/);
    // Events of the anonymous user, then a session with a Play link, within seconds.
    await dash.waitForFunction((anon) => [...document.querySelectorAll("#events-table td.user")]
      .some((td) => td.textContent.startsWith(anon)), anon, { timeout: 20000 });
    const types = await dash.locator("#events-table td.type").allTextContents();
    for (const t of ["$page-view", "$click", "plan-selected"]) assert.ok(types.includes(t), `${t} in ${types}`);
    const play = dash.locator("#sessions-table tr.session-row a.play").first();
    await play.waitFor({ timeout: 20000 });
    assert.match(await dash.locator("#sessions-table tr.session-row td.user").first().textContent(), new RegExp(anon));
    const seconds = (Date.now() - started) / 1000;
    assert.ok(seconds < 20, `took ${seconds} s`);
    assert.match(await play.getAttribute("href"), /^\/dashboard\?session=[0-9a-f-]{36}$/);
    await play.click();
    await dash.waitForSelector("#player .rr-player", { timeout: 15000 });
    // The replayer rebuilt the demo page inside its iframe.
    const brand = dash.frameLocator("#player iframe").locator(".brand");
    assert.match(await brand.textContent({ timeout: 10000 }), /sightline demo/);
    assert.ok(await dash.evaluate(() => window.__replayEventCount) >= 2);
    await dash.waitForTimeout(1500); // a moment of playback for the screenshot
    await dash.evaluate(() => window.scrollTo(0, 0));
    const png = await dash.screenshot({ fullPage: true });
    mkdirSync(artifacts, { recursive: true });
    writeFileSync(path.join(artifacts, "dashboard-first-visit.png"), png);
    if (process.env.SIGHTLINE_UPDATE_DOCS) writeFileSync(path.join(repoRoot, "docs", "dashboard.png"), png);

    // Signing in as alice switches users (flush, clearBuffer, checkAccess): her events carry her name.
    await demo.bringToFront();
    await demo.click("#sign-in-alice");
    await demo.waitForFunction(() => document.querySelector("#gate-state").textContent === "granted", null, { timeout: 10000 });
    await demo.click("#track");
    await demo.evaluate(() => window.sightline.flush());
    const events = await c.events();
    const tracked = events.filter((e) => e.event_type === "demo-button");
    assert.ok(tracked.length >= 1 && tracked.every((e) => e.user_id === "alice"), JSON.stringify(tracked));
    assert.ok(events.some((e) => e.user_id === anon && e.event_type === "plan-selected"));

    assert.deepEqual(await demo.evaluate(() => window.__csp), []);
    assert.deepEqual(await dash.evaluate(() => window.__csp), []);
    assert.deepEqual(errors, []);
    await context.close();
  });
});

/** `mb` megabytes of zeros, gzipped while streaming (never held whole). */
async function gzipZeros(mb) {
  const chunk = Buffer.alloc(1 << 20);
  const source = Readable.from((function* () { for (let i = 0; i < mb; i++) yield chunk; })());
  const out = [];
  for await (const part of source.pipe(zlib.createGzip({ level: 9 }))) out.push(part);
  return Buffer.concat(out);
}

/** Colour statistics of a PNG, decoded by the browser itself. */
async function pixelStats(browser, png) {
  const page = await browser.newPage();
  const stats = await page.evaluate(async (b64) => {
    const img = new Image();
    img.src = "data:image/png;base64," + b64;
    await img.decode();
    const canvas = new OffscreenCanvas(img.width, img.height);
    const ctx = canvas.getContext("2d");
    ctx.drawImage(img, 0, 0);
    const { data } = ctx.getImageData(0, 0, img.width, img.height);
    const colours = new Set();
    let sum = 0, sumSq = 0, n = 0;
    for (let i = 0; i < data.length; i += 16) { // every 4th pixel is plenty
      colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
      const y = 0.2126 * data[i] + 0.7152 * data[i + 1] + 0.0722 * data[i + 2];
      sum += y; sumSq += y * y; n++;
    }
    const mean = sum / n;
    return { distinct: colours.size, stddev: Math.sqrt(sumSq / n - mean * mean) };
  }, png.toString("base64"));
  await page.close();
  return stats;
}
