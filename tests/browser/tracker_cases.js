// Browser test cases of the tracker, run by tests/web_tracker.rs in headless Chromium.
// Each case gets `make(options)` (= `new Sightline(options)`) and throws on failure.
const SERVER = "http://127.0.0.1:8790";

function assert(condition, message) {
  if (!condition) throw new Error(`assertion failed: ${message}`);
}
function assertEq(actual, expected, message) {
  const a = JSON.stringify(actual), e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${message}: expected ${e}, got ${a}`);
}
function assertThrowsTypeError(fn, pattern, message) {
  try {
    fn();
  } catch (e) {
    assert(e instanceof TypeError, `${message}: expected a TypeError, got ${e && e.constructor && e.constructor.name}: ${e}`);
    assert(pattern.test(e.message), `${message}: message ${JSON.stringify(e.message)} should match ${pattern}`);
    return;
  }
  throw new Error(`${message}: did not throw`);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function script(key, responses = [], fallback = undefined) {
  await fetch(`${SERVER}/__script/${key}`, { method: "POST", body: JSON.stringify({ responses, fallback }) });
}
async function requests(key) {
  return (await fetch(`${SERVER}/__requests/${key}`)).json();
}
async function analyticsEvents(key) {
  const all = [];
  for (const r of await requests(key)) {
    if (r.path.endsWith("/analytics/events/batch")) all.push(...JSON.parse(r.body).events);
  }
  return all;
}
/**
 * The analytics events a server deduplicating by batch_id would store (as the collector
 * and Stack Auth do). A batch may legitimately be sent twice (a keepalive request whose
 * answer the page never saw is resent by the next page), but always with the same id and
 * the same events.
 */
async function storedEvents(key) {
  const batches = new Map();
  for (const r of await requests(key)) {
    if (!r.path.endsWith("/analytics/events/batch")) continue;
    const body = JSON.parse(r.body);
    const events = JSON.stringify(body.events);
    if (batches.has(body.batch_id)) assertEq(batches.get(body.batch_id), events, `batch ${body.batch_id} resent unchanged`);
    batches.set(body.batch_id, events);
  }
  return [...batches.values()].flatMap((e) => JSON.parse(e));
}
function clearStorage(projectId) {
  for (const k of Object.keys(localStorage)) if (k.startsWith(`sightline:${projectId}:`)) localStorage.removeItem(k);
}
function unsentKeys(projectId) {
  return Object.keys(localStorage).filter((k) => k.startsWith(`sightline:${projectId}:unsent:`));
}
const session = () => ({ accessToken: "tok-a", refreshToken: "ref-a" });

let counter = 0;
async function setup(name, extra = {}, responses = [], fallback = undefined) {
  const key = `${name}-${Date.now()}-${counter++}`;
  await script(key, responses, fallback);
  const projectId = `p_${key}`;
  clearStorage(projectId);
  const options = {
    projectId,
    apiBaseUrl: `${SERVER}/s/${key}`,
    getAnalyticsSession: session,
    ...extra,
    // The signals are tested end to end (tests/e2e/signals.test.mjs); here their
    // $page-leave / $web-vitals at pagehide would change the counts the cases check.
    analytics: { autocapture: false, flushIntervalMs: 60000, pageLeave: false, webVitals: false,
      rageClicks: false, deadClicks: false, ...(extra.analytics || {}) },
    upload: { retryInitialDelayMs: 20, retryMaxDelayMs: 200, ...(extra.upload || {}) },
  };
  return { key, projectId, options };
}

/** Records every fetch the page makes while `fn` runs. */
async function spyOnFetch(fn) {
  const original = window.fetch;
  const calls = [];
  window.fetch = function (url, init = {}) {
    const body = init.body;
    const bytes = typeof body === "string" ? new TextEncoder().encode(body).length : body ? body.byteLength : 0;
    calls.push({ url: String(url), keepalive: init.keepalive === true, bytes });
    return original.call(this, url, init);
  };
  try {
    await fn(calls);
  } finally {
    window.fetch = original;
  }
  return calls;
}

const cases = {
  async constructorErrorsNameTheField(make) {
    const valid = { projectId: "p", apiBaseUrl: "https://api.example.com", getAnalyticsSession: () => null };
    assertThrowsTypeError(() => make(null), /options/, "null options");
    assertThrowsTypeError(() => make({ ...valid, projectId: undefined }), /projectId/, "missing projectId");
    assertThrowsTypeError(() => make({ ...valid, projectId: "" }), /projectId/, "empty projectId");
    assertThrowsTypeError(() => make({ ...valid, apiBaseUrl: "ftp://x" }), /apiBaseUrl/, "ftp apiBaseUrl");
    assertThrowsTypeError(() => make({ ...valid, apiBaseUrl: "/relative" }), /apiBaseUrl/, "relative apiBaseUrl");
    assertThrowsTypeError(() => make({ ...valid, getAnalyticsSession: "x" }), /getAnalyticsSession/, "callback");
    assertThrowsTypeError(() => make({ ...valid, publishableClientKey: 5 }), /publishableClientKey/, "key");
    assertThrowsTypeError(() => make({ ...valid, analytics: { flushIntervalMs: "10" } }), /analytics\.flushIntervalMs/, "interval");
    assertThrowsTypeError(() => make({ ...valid, analytics: { maxEventsPerBatch: 0 } }), /analytics\.maxEventsPerBatch/, "max events");
    assertThrowsTypeError(() => make({ ...valid, analytics: { enabled: 1 } }), /analytics\.enabled/, "enabled");
    assertThrowsTypeError(() => make({ ...valid, replays: { maskAllInputs: "yes" } }), /replays\.maskAllInputs/, "mask");
    assertThrowsTypeError(() => make({ ...valid, replays: { blockSelector: "[[[" } }), /replays\.blockSelector/, "selector");
    assertThrowsTypeError(() => make({ ...valid, upload: { retryMaxDelayMs: -1 } }), /upload\.retryMaxDelayMs/, "upload");
    assertThrowsTypeError(() => make({ ...valid, accessGate: {} }), /accessGate\.url/, "gate url");
    assertThrowsTypeError(() => make({ ...valid, accessGate: { url: "/x", retry: { jitter: 2 } } }), /accessGate\.retry\.jitter/, "jitter");
    assertThrowsTypeError(() => make({ ...valid, accessGate: { url: "/x", onChange: 3 } }), /accessGate\.onChange/, "onChange");
    const ok = make({ ...valid, somethingUnknown: 1, analytics: { alsoUnknown: true } });
    assert(typeof ok.track === "function", "unknown keys are ignored");
  },

  async trackRejectsBadInputAndKeepsWorking(make) {
    const { key, options } = await setup("track");
    const sl = make(options);
    const cyclic = { a: 1 };
    cyclic.self = cyclic;
    // The message is the engine's own: V8 "circular structure", SpiderMonkey "cyclic object value",
    // JavaScriptCore "cyclic structures".
    assertThrowsTypeError(() => sl.track("e", cyclic), /circular|cyclic/i, "cyclic");
    assertThrowsTypeError(() => sl.track("e", { n: 10n }), /BigInt/, "bigint");
    assertThrowsTypeError(() => sl.track("e", { f() {} }), /function/, "function");
    assertThrowsTypeError(() => sl.track("e", { s: Symbol("x") }), /symbol/, "symbol");
    assertThrowsTypeError(() => sl.track("e", [1, 2]), /plain object/, "array");
    assertThrowsTypeError(() => sl.track("e", new Map()), /plain object/, "class instance");
    assertThrowsTypeError(() => sl.track("e", "text"), /plain object/, "string data");
    assertThrowsTypeError(() => sl.track("", {}), /eventType/, "empty type");
    assertThrowsTypeError(() => sl.track("x".repeat(201), {}), /eventType/, "long type");
    assertThrowsTypeError(() => sl.track(42, {}), /eventType/, "number type");
    assertThrowsTypeError(() => sl.track("e", { big: "x".repeat(33 * 1024) }), /limit/, "too large");
    sl.track("x".repeat(200), {});
    sl.track("ok", { a: 1, nested: { b: [1, "two", null] } });
    sl.track("no-data");
    assertEq(sl.stats().queuedEvents, 3, "valid events are queued before start()");
    const result = await sl.flush();
    assertEq(result, { sent: 3, pending: 0 }, "flush result");
    const events = await analyticsEvents(key);
    assertEq(events.map((e) => e.event_type).slice(1), ["ok", "no-data"], "types");
    assertEq(events[1].data, { a: 1, nested: { b: [1, "two", null] } }, "data");
    assertEq(events[2].data, {}, "no data is {}");
    assert(typeof events[1].event_at_ms === "number" && events[1].event_at_ms > 1.7e12, "event_at_ms");
    assertEq(sl.stats(), { queuedEvents: 0, deliveredEvents: 3, droppedEvents: 0, droppedReplayEvents: 0 }, "stats");
  },

  async requestsCarryStackAuthHeadersAndGzip(make) {
    const { key, options } = await setup("headers", { publishableClientKey: "pck_x" });
    const sl = make(options);
    for (let i = 0; i < 3; i++) sl.track("e", { i });
    await sl.flush();
    const [request] = await requests(key);
    assertEq(request.method, "POST", "method");
    assert(request.path.endsWith("/api/v1/analytics/events/batch"), `path ${request.path}`);
    const h = request.headers;
    assertEq(
      [h["x-stack-project-id"], h["x-stack-access-type"], h["x-stack-allow-anonymous-user"], h["x-stack-publishable-client-key"], h["x-stack-access-token"], h["x-stack-refresh-token"]],
      [options.projectId, "client", "true", "pck_x", "tok-a", "ref-a"],
      "headers",
    );
    assert(request.gzip, "the body is gzipped");
    assertEq(h["content-type"], "application/octet-stream", "gzip content type");
    const body = JSON.parse(request.body);
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    assert(uuid.test(body.batch_id) && uuid.test(body.session_replay_segment_id), "uuids");
    assert(Math.abs(body.sent_at_ms - Date.now()) < 60000, "sent_at_ms");
    assertEq(body.events.map((e) => e.data.i), [0, 1, 2], "events");

    const anon = await setup("anonymous", { getAnalyticsSession: () => null });
    const sl2 = make(anon.options);
    sl2.track("e", {});
    await sl2.flush();
    const [anonRequest] = await requests(anon.key);
    assert(!("x-stack-access-token" in anonRequest.headers), "no token header for a null session");
  },

  async slowOrFailingSessionLosesNothing(make) {
    let calls = 0;
    const getAnalyticsSession = () => {
      calls++;
      if (calls <= 2) return Promise.reject(new Error("auth is down"));
      if (calls === 3) throw new Error("sync failure");
      if (calls === 4) return "garbage";
      return new Promise((resolve) => setTimeout(() => resolve(session()), 300));
    };
    const { key, options } = await setup("slow-session", { getAnalyticsSession, analytics: { maxEventsPerBatch: 50 } });
    const sl = make(options);
    for (let i = 0; i < 120; i++) sl.track("e", { i });
    assertEq(sl.stats().queuedEvents, 120, "capture never waits for the session");
    let result;
    for (let attempt = 0; attempt < 20; attempt++) {
      result = await sl.flush();
      if (result.pending === 0) break;
    }
    assertEq(result.pending, 0, "everything delivered in the end");
    const got = (await analyticsEvents(key)).map((e) => e.data.i).sort((a, b) => a - b);
    assertEq(got, [...Array(120).keys()], "every event exactly once");
    assert(calls >= 5, "the session was resolved at send time");
  },

  async retriesKeepTheBatchId(make) {
    const { key, options } = await setup("retry", {}, [{ status: 503 }, { status: 503, headers: { "retry-after": "1" } }]);
    const sl = make(options);
    for (let i = 0; i < 5; i++) sl.track("e", { i });
    assertEq(await sl.flush(), { sent: 0, pending: 5 }, "first flush meets a 503");
    assertEq(await sl.flush(), { sent: 0, pending: 5 }, "second flush meets a 503");
    assertEq(await sl.flush(), { sent: 5, pending: 0 }, "third flush succeeds");
    const reqs = await requests(key);
    assertEq(reqs.length, 3, "three attempts");
    const ids = new Set(reqs.map((r) => JSON.parse(r.body).batch_id));
    assertEq(ids.size, 1, "one batch_id across retries");
    for (const r of reqs) assertEq(JSON.parse(r.body).events.map((e) => e.data.i), [0, 1, 2, 3, 4], "same events");
  },

  async historyPatchingIsRestored(make) {
    const { options } = await setup("history", { analytics: { autocapture: true } });
    const push = history.pushState;
    const replace = history.replaceState;
    const sl = make(options);
    sl.start();
    assert(history.pushState !== push && history.replaceState !== replace, "patched while running");
    sl.start();
    const url = location.href;
    history.pushState({ n: 1 }, "", "?patched=1");
    assert(location.search === "?patched=1", "the page's pushState still works");
    assertEq(history.state, { n: 1 }, "state passed through");
    sl.stop();
    sl.stop();
    assert(history.pushState === push, "pushState restored exactly");
    assert(history.replaceState === replace, "replaceState restored exactly");
    history.replaceState(null, "", url);
  },

  async pageViewsFollowNavigation(make) {
    const { key, options } = await setup("pageviews", { analytics: { autocapture: true } });
    const url = location.href;
    const sl = make(options);
    sl.start();
    history.pushState({}, "", "?a=1");
    history.pushState({}, "", "?a=1");
    history.replaceState({}, "", "?b=2");
    history.pushState({}, "", "?c=3");
    const popped = new Promise((r) => window.addEventListener("popstate", r, { once: true }));
    history.back();
    await popped;
    await sl.flush();
    sl.stop();
    history.replaceState(null, "", url);
    const views = (await analyticsEvents(key)).filter((e) => e.event_type === "$page-view");
    assertEq(views.map((v) => v.data.entry_type), ["initial", "push", "replace", "push", "pop"], "entry types");
    assertEq(views[1].data.url.endsWith("?a=1"), true, "url");
    assertEq(views[3].data.referrer.endsWith("?b=2"), true, "an SPA view's referrer is the previous view");
    const fields = ["url", "path", "referrer", "title", "entry_type", "viewport_width", "viewport_height", "screen_width", "screen_height"];
    assertEq(Object.keys(views[0].data).sort(), fields.sort(), "page-view fields");
    assert(views[0].data.viewport_width > 0, "viewport width");
  },

  async clicksAreAutocaptured(make) {
    const { key, options } = await setup("clicks", { analytics: { autocapture: true } });
    const root = document.createElement("div");
    root.id = "root";
    root.innerHTML = `<nav class="a b"><a href="/x"><span class="lbl">  Hello there  </span></a></nav><p><b>deep</b></p>`;
    document.body.appendChild(root);
    root.addEventListener("click", (e) => e.preventDefault()); // the link must not navigate the test page
    const sl = make(options);
    sl.start();
    root.querySelector("span").dispatchEvent(new MouseEvent("click", { bubbles: true, cancelable: true, clientX: 5, clientY: 6 }));
    root.querySelector("b").click();
    await sl.flush();
    sl.stop();
    root.remove();
    const clicks = (await analyticsEvents(key)).filter((e) => e.event_type === "$click");
    assertEq(clicks.length, 2, "two clicks");
    const d = clicks[0].data;
    assertEq([d.tag_name, d.text, d.href, d.selector, d.x, d.y], ["span", "Hello there", "/x", "div#root > nav.a.b > a > span.lbl", 5, 6], "click data");
    for (const f of ["page_x", "page_y", "viewport_width", "viewport_height"]) assert(typeof d[f] === "number", f);
    assertEq([clicks[1].data.href, clicks[1].data.selector], [null, "div#root > p > b"], "no link");
  },

  async clickTextFollowsThePrivacyRule(make) {
    const { key, options } = await setup("click-privacy", { analytics: { autocapture: true } });
    const root = document.createElement("div");
    root.innerHTML = `<button id="pay" class="rr-mask">Pay 42 now</button>
      <div class="rr-block"><button id="hidden">card 4111</button></div>
      <p id="mixed">Visible <span class="rr-mask">secret</span> end</p>
      <div class="rr-mask"><span id="host"></span></div>
      <textarea id="ta">draft text</textarea>
      <p id="long"></p>`;
    document.body.appendChild(root);
    root.querySelector("#host").attachShadow({ mode: "open" }).innerHTML = "<button>shadow words</button>";
    root.querySelector("#long").textContent = "x".repeat(199) + "\u{1F600}tail";
    const sl = make(options);
    sl.start();
    for (const el of [root.querySelector("#pay"), root.querySelector("#hidden"), root.querySelector("#mixed"),
      root.querySelector("#host").shadowRoot.querySelector("button"), root.querySelector("#ta"), root.querySelector("#long")]) {
      el.dispatchEvent(new MouseEvent("click", { bubbles: true, composed: true }));
    }
    await sl.flush();
    sl.stop();
    root.remove();
    const clicks = (await analyticsEvents(key)).filter((e) => e.event_type === "$click");
    assertEq(clicks.length, 6, "six clicks");
    assertEq(clicks[0].data.text, "*** ** ***", "masked like the replay");
    assert(!("text" in clicks[1].data), "no text inside a blocked region");
    assertEq(clicks[2].data.text, "Visible ****** end", "a masked part of the text");
    assertEq(clicks[3].data.tag_name, "span", "a click in a shadow root is retargeted to its host");
    assertEq(clicks[3].data.text, "", "the host has no text of its own");
    assertEq(clicks[4].data.text, "", "a textarea's text (a form value) is never sent");
    assertEq(clicks[5].data.text, "x".repeat(199), "cut at 200 units without splitting the emoji");
  },

  async unloadKeepsTheBudgetAndPersistsTheRest(make) {
    const { key, projectId, options } = await setup("unload");
    const pad = "p".repeat(400);
    const calls = await spyOnFetch(async () => {
      const sl = make(options);
      sl.start();
      await sl.flush(); // a session is resolved (and remembered for the unload path)
      for (let i = 0; i < 300; i++) sl.track("burst", { i, pad });
      sl.stop();
      await sleep(300);
    });
    const keepalive = calls.filter((c) => c.keepalive);
    assert(keepalive.length > 0, "the unload path uses keepalive");
    const total = keepalive.reduce((n, c) => n + c.bytes, 0);
    assert(total <= 64 * 1024, `keepalive bytes in flight ${total} must stay under 64 KiB`);
    assert(total > 56 * 1024, `the budget is used, not just one batch (${total} bytes)`);
    assert(calls.every((c) => c.keepalive || c.url.includes("__")), "nothing but keepalive after stop()");
    assertEq(unsentKeys(projectId).length, 1, "the rest is persisted");

    const next = make(options); // the next page
    next.start();
    const result = await next.flush();
    next.stop();
    assertEq(result.pending, 0, "the next page sent everything");
    assertEq(unsentKeys(projectId).length, 0, "the persisted copy is consumed");
    const got = (await storedEvents(key)).filter((e) => e.event_type === "burst").map((e) => e.data.i).sort((a, b) => a - b);
    assertEq(got, [...Array(300).keys()], "every event stored exactly once");
  },

  async unloadWithoutSessionPersistsEverything(make) {
    const never = () => new Promise(() => {});
    const { key, projectId, options } = await setup("nosession", { getAnalyticsSession: never });
    const calls = await spyOnFetch(async () => {
      const sl = make(options);
      sl.start();
      for (let i = 0; i < 10; i++) sl.track("e", { i });
      sl.stop();
    });
    assertEq(calls.filter((c) => c.keepalive).length, 0, "no keepalive without a session");
    assertEq(unsentKeys(projectId).length, 1, "persisted");
    const next = make({ ...options, getAnalyticsSession: session });
    next.start();
    assertEq(await next.flush(), { sent: 10, pending: 0 }, "the next page sends them");
    next.stop();
    assertEq((await analyticsEvents(key)).length, 10, "exactly once");
  },

  async clearBufferDropsAndCounts(make) {
    const { key, projectId, options } = await setup("clear");
    localStorage.setItem(`sightline:${projectId}:unsent:other-page`, "sightline-unsent v1\n");
    const sl = make(options);
    for (let i = 0; i < 5; i++) sl.track("e", { i });
    sl.clearBuffer();
    assertEq(sl.stats(), { queuedEvents: 0, deliveredEvents: 0, droppedEvents: 5, droppedReplayEvents: 0 }, "stats");
    assertEq(await sl.flush(), { sent: 0, pending: 0 }, "nothing left");
    assertEq((await requests(key)).length, 0, "nothing sent");
    assertEq(unsentKeys(projectId).length, 0, "persisted queue cleared");
  },

  async badRequestIsDroppedAndCounted(make) {
    const { options } = await setup("bad", {}, [{ status: 400, body: '{"error":"events[0] bad"}' }]);
    const sl = make(options);
    sl.track("e", {});
    sl.track("e", {});
    assertEq(await sl.flush(), { sent: 0, pending: 0 }, "dropped, not pending");
    assertEq(sl.stats().droppedEvents, 2, "counted");
  },
};

cases.accessGateThroughTheClass = async function (make) {
  const { key, options } = await setup("gate", {}, [
    { status: 403 }, { status: 403 }, { status: 200, body: '{"has_access": true}' },
  ]);
  const changes = [];
  const sl = make({
    ...options,
    accessGate: {
      url: `/s/${key}/check-access/`,
      onChange: (state, reason) => changes.push([state, reason]),
      retry: { initialDelayMs: 20, maxDelayMs: 40 },
    },
  });
  assertEq(sl.accessState, "unknown", "unknown before any check");
  assertEq(await sl.checkAccess(), "unknown", "a 403 keeps the current state");
  for (let i = 0; i < 100 && sl.accessState !== "granted"; i++) await sleep(20);
  assertEq(sl.accessState, "granted", "granted after the retries");
  assertEq(changes, [["granted", "granted"]], "one change, never denied");
  const checks = (await requests(key)).filter((r) => r.path.endsWith("/check-access/"));
  assertEq(checks.length, 3, "exactly three requests");
  assertEq(checks[0].headers.authorization, "Bearer tok-a", "bearer token");
  const plain = make((await setup("nogate")).options);
  assertEq(await plain.checkAccess(), "unknown", "without accessGate the state stays unknown");
};

cases.replayBrowserSessionRotatesWhenIdle = async function (make) {
  const { key, projectId, options } = await setup("replay-session");
  const sl = make({ ...options, replays: { enabled: true, idleTimeoutMs: 400, flushIntervalMs: 100 } });
  sl.start();
  const storageKey = `sightline:${projectId}:browser-session`;
  const first = JSON.parse(localStorage.getItem(storageKey));
  assertEq(Object.keys(first).sort(), ["created_at_ms", "last_activity_ms", "session_id"], "stored shape");
  await sleep(1200); // no user activity: the session idles out
  const second = JSON.parse(localStorage.getItem(storageKey));
  assert(second.session_id !== first.session_id, "a new browser session after the idle timeout");
  assert(second.created_at_ms > first.created_at_ms, "created later");
  await sl.flush();
  sl.stop();
  const batches = (await requests(key))
    .filter((r) => r.path.endsWith("/session-replays/batch"))
    .map((r) => JSON.parse(r.body));
  const bySession = (id) => batches.filter((b) => b.browser_session_id === id);
  for (const session of [first, second]) {
    const own = bySession(session.session_id);
    assert(own.length > 0, `batches for ${session.session_id}`);
    assert(own.every((b) => b.started_at_ms === session.created_at_ms), "started_at_ms is the session's creation");
    const types = own.flatMap((b) => b.events.map((e) => e.type));
    assertEq(types.slice(0, 2), [4, 2], "each session starts with Meta + FullSnapshot");
  }
  const segments = new Set(batches.map((b) => b.session_replay_segment_id));
  assertEq(segments.size, 1, "one segment id per page");
};

// --- delivery you can trust (issue 10) ---

/** Calls `fn` with console.warn recorded (and still printed); returns the messages. */
async function spyOnWarn(fn) {
  const original = console.warn;
  const messages = [];
  console.warn = (...args) => {
    messages.push(args.map(String).join(" "));
    original.apply(console, args);
  };
  try {
    await fn(messages);
  } finally {
    console.warn = original;
  }
  return messages;
}
const bodyOf = (r) => JSON.parse(r.body);

cases.signOutMidFlightNeverSendsOneUsersEventsWithTheOthersSession = async function (make) {
  // A slow collector: user A's first requests are still in flight when A signs out and
  // B signs in.
  let user = "a";
  const getAnalyticsSession = () =>
    new Promise((resolve) => setTimeout(() => resolve({ accessToken: `tok-${user}`, refreshToken: null }), 30));
  const slow = { status: 200, body: "{}", delay_ms: 400 };
  const { key, options } = await setup("epoch", { getAnalyticsSession, analytics: { maxEventsPerBatch: 1 } }, [slow, slow, slow, slow]);
  const sl = make(options);
  for (let i = 0; i < 6; i++) sl.track("a", { i });
  await sleep(150); // four of A's batches are in flight, two wait
  sl.clearBuffer();
  user = "b";
  for (let i = 0; i < 3; i++) sl.track("b", { i });
  await sleep(700);
  await sl.flush();
  const reqs = (await requests(key)).filter((r) => r.path.endsWith("/analytics/events/batch"));
  for (const r of reqs) {
    const types = new Set(bodyOf(r).events.map((e) => e.event_type));
    assertEq(types.size, 1, "one user's events per batch");
    const [type] = types;
    assertEq(r.headers["x-stack-access-token"], `tok-${type}`, `a batch of ${type}'s events carries ${type}'s token`);
  }
  const sentA = reqs.flatMap((r) => bodyOf(r).events).filter((e) => e.event_type === "a").map((e) => e.data.i);
  assertEq(sentA.sort(), [0, 1, 2, 3], "A's batches not yet sent at sign-out are never sent");
  const sentB = reqs.flatMap((r) => bodyOf(r).events).filter((e) => e.event_type === "b").map((e) => e.data.i);
  assertEq(sentB.sort(), [0, 1, 2], "B's events are delivered");
  const s = sl.stats();
  assertEq(s.queuedEvents + s.deliveredEvents + s.droppedEvents, 9, "every event accounted for");

  // The unload path forgets the cached session: B's event is not sent with A's token.
  user = "a";
  const next = await setup("epoch-unload", { getAnalyticsSession });
  const sl2 = make(next.options);
  sl2.start();
  await sl2.flush(); // A's session is cached for the unload path
  sl2.clearBuffer();
  user = "b";
  sl2.track("b", {});
  const calls = await spyOnFetch(async () => sl2.stop());
  assertEq(calls.filter((c) => c.keepalive).length, 0, "no keepalive with a session from before clearBuffer()");
  assertEq(unsentKeys(next.projectId).length, 1, "persisted for the next page instead");
  clearStorage(next.projectId);
};

cases.clearBufferStartsANewReplaySession = async function (make) {
  const { key, projectId, options } = await setup("epoch-replay");
  const sl = make({ ...options, replays: { enabled: true, flushIntervalMs: 100 } });
  sl.start();
  const storageKey = `sightline:${projectId}:browser-session`;
  const first = JSON.parse(localStorage.getItem(storageKey));
  await sl.flush();
  sl.clearBuffer();
  const second = JSON.parse(localStorage.getItem(storageKey));
  assert(second.session_id !== first.session_id, "clearBuffer() starts a new browser session");
  const p = document.createElement("p");
  p.textContent = "after sign-out";
  document.body.appendChild(p);
  await sleep(50);
  await sl.flush();
  sl.stop();
  p.remove();
  const batches = (await requests(key)).filter((r) => r.path.endsWith("/session-replays/batch")).map(bodyOf);
  const own = batches.filter((b) => b.browser_session_id === second.session_id);
  assert(own.length > 0, "batches of the new session");
  assertEq(own.flatMap((b) => b.events.map((e) => e.type)).slice(0, 2), [4, 2], "it starts with Meta + FullSnapshot");
  const old = batches.filter((b) => b.browser_session_id === first.session_id);
  assert(old.every((b) => !JSON.stringify(b).includes("after sign-out")), "nothing after sign-out in the old session");
};

cases.failedStorageWritesLoseNothing = async function (make) {
  const { key, projectId, options } = await setup("quota", {}, [], { status: 503 });
  const setItem = Storage.prototype.setItem;
  Storage.prototype.setItem = function (k, v) {
    if (String(k).includes(":unsent:")) throw new DOMException("quota", "QuotaExceededError");
    return setItem.call(this, k, v);
  };
  let sl;
  const warnings = await spyOnWarn(async () => {
    try {
      sl = make({ ...options, upload: { retryInitialDelayMs: 20, retryMaxDelayMs: 100 } });
      sl.start();
      await sl.flush(); // a session is cached, the collector answers 503
      for (let i = 0; i < 10; i++) sl.track("e", { i });
      window.dispatchEvent(new Event("pagehide")); // the unload path: keepalive (503) + persist (throws)
      await sleep(300);
      window.dispatchEvent(new Event("pagehide"));
      await sleep(300);
      const s = sl.stats();
      assertEq(s.queuedEvents, 10, "the memory copy stays when storage refuses the write");
      assertEq(unsentKeys(projectId).length, 0, "nothing half-written");
    } finally {
      Storage.prototype.setItem = setItem;
    }
  });
  assertEq(warnings.filter((w) => /persistence is off/.test(w)).length, 1, "one warning that persistence is off");
  await script(key, [], { status: 200 });
  for (let i = 0; i < 20 && sl.stats().queuedEvents > 0; i++) await sl.flush();
  sl.stop();
  assertEq(sl.stats(), { queuedEvents: 0, deliveredEvents: 10, droppedEvents: 0, droppedReplayEvents: 0 }, "all delivered");
  const got = (await storedEvents(key)).map((e) => e.data.i).sort((a, b) => a - b);
  assertEq(got, [...Array(10).keys()], "each stored once");
  clearStorage(projectId);
};

cases.byteCapBoundsMemoryAndCountsDrops = async function (make) {
  const { projectId, options } = await setup("cap", {}, [], { status: 503 });
  const cap = 256 * 1024;
  const memoryBytes = make.memoryBytes;
  const sl = make({ ...options, analytics: { ...options.analytics, maxQueuedBytes: cap }, upload: { retryInitialDelayMs: 60000, retryMaxDelayMs: 60000 } });
  const before = memoryBytes();
  const pad = "x".repeat(10_000);
  const warnings = await spyOnWarn(async () => {
    for (let i = 0; i < 3_000; i++) sl.track("burst", { i, pad }); // 30 MB with the collector down
  });
  const s = sl.stats();
  assertEq(s.queuedEvents + s.deliveredEvents + s.droppedEvents, 3_000, "every event accounted for");
  assert(s.droppedEvents > 2_900, `the oldest were dropped and counted (${s.droppedEvents})`);
  assert(s.queuedEvents * 10_000 <= cap, `queued ${s.queuedEvents} events stay under the cap`);
  assertEq(warnings.filter((w) => /maxQueuedBytes/.test(w)).length, 1, "one warning");
  const grown = memoryBytes() - before;
  assert(grown < 8 * 1024 * 1024, `wasm memory grew ${grown} bytes for a 30 MB burst`);
  sl.clearBuffer();
  clearStorage(projectId);
};

cases.unauthorizedWaitsForAnotherSession = async function (make) {
  let token = "tok-old";
  const { key, options } = await setup("unauthorized", {
    getAnalyticsSession: () => ({ accessToken: token }),
    analytics: { maxEventsPerBatch: 1 },
    upload: { retryInitialDelayMs: 20, retryMaxDelayMs: 5000 },
  }, [{ status: 401 }]);
  const sl = make(options);
  sl.track("first", {});
  await sleep(600);
  assertEq((await requests(key)).length, 1, "a 401 is not retried with the same session");
  token = "tok-new";
  sl.track("second", {}); // a send resolves the session: a new one wakes the 401'd batch
  await sleep(300);
  const reqs = await requests(key);
  const first = reqs.filter((r) => bodyOf(r).events[0].event_type === "first");
  assertEq(first.map((r) => r.headers["x-stack-access-token"]), ["tok-old", "tok-new"], "retried once, with the new session");
  assertEq(sl.stats().deliveredEvents, 2, "both delivered");
};

cases.bodiesAreCompressedOncePerBatch = async function (make) {
  const { key, options } = await setup("gzip-once", {}, [{ status: 503 }, { status: 503 }]);
  const Original = globalThis.CompressionStream;
  let constructed = 0;
  globalThis.CompressionStream = class extends Original {
    constructor(...args) {
      super(...args);
      constructed++;
    }
  };
  try {
    const sl = make(options);
    for (let i = 0; i < 5; i++) sl.track("e", { i });
    await sl.flush();
    await sl.flush();
    assertEq(await sl.flush(), { sent: 5, pending: 0 }, "delivered on the third attempt");
  } finally {
    globalThis.CompressionStream = Original;
  }
  const reqs = await requests(key);
  assertEq(reqs.length, 3, "three attempts");
  assertEq(new Set(reqs.map((r) => r.body)).size, 1, "byte-identical bodies");
  assertEq(constructed, 1, "compressed once");
};

cases.reentrantCallbacksNeverTrap = async function (make) {
  let sl;
  const { key, options } = await setup("reentrant", {
    getAnalyticsSession: () => {
      sl.track("from-session-callback", {});
      sl.stats();
      return session();
    },
    analytics: { maxEventsPerBatch: 2 },
  }, [{ status: 400 }], { status: 200 });
  const original = console.warn;
  console.warn = (...args) => {
    sl.track("console-warn", { message: String(args[0]).slice(0, 40) }); // a page forwarding warnings
    original.apply(console, args);
  };
  try {
    sl = make({
      ...options,
      accessGate: {
        url: `/s/${key}/check-access/`,
        onChange: () => { sl.track("from-on-change", {}); sl.checkAccess(); },
        onSignedOut: () => sl.track("from-signed-out", {}),
      },
    });
    sl.track("e", {});
    sl.track("e", {}); // a batch: the 400 answer warns while the outbox decides
    await sl.flush();
    await sl.checkAccess();
    for (let i = 0; i < 5; i++) await sl.flush();
  } finally {
    console.warn = original;
  }
  const types = (await analyticsEvents(key)).map((e) => e.event_type);
  assert(types.includes("console-warn"), "the forwarded warning was captured and sent");
  assert(types.includes("from-session-callback"), "track() from the session callback works");
  const s = sl.stats();
  assert(s.droppedEvents >= 2, "the 400 batch was counted");
  sl.track("still-works", {});
};

cases.clickTextIsCutOnCodePointsAndLoneSurrogatesAreReplaced = async function (make) {
  const { key, options } = await setup("surrogates", { analytics: { autocapture: true } });
  const button = document.createElement("button");
  button.textContent = "a".repeat(199) + "😀 tail";
  document.body.appendChild(button);
  const sl = make(options);
  sl.start();
  button.click();
  sl.track("lone", { s: "x\ud800y", ["k\udc00"]: "\\ud800 stays text" });
  await sl.flush();
  sl.stop();
  button.remove();
  const reqs = (await requests(key)).filter((r) => r.path.endsWith("/analytics/events/batch"));
  for (const r of reqs) assert(!/\\ud[89a-f][0-9a-f]{2}/i.test(r.body.replace(/\\\\/g, "")), "no lone surrogate escape on the wire");
  const events = reqs.flatMap((r) => bodyOf(r).events);
  const click = events.find((e) => e.event_type === "$click");
  assertEq(click.data.text, "a".repeat(199), "cut before the emoji, not inside it");
  const lone = events.find((e) => e.event_type === "lone");
  assertEq(lone.data, { s: "x\ufffdy", ["k\ufffd"]: "\\ud800 stays text" }, "U+FFFD for lone surrogates");
};

export async function runCase(name, make) {
  if (!cases[name]) throw new Error(`no case ${name}`);
  await cases[name](make);
}
