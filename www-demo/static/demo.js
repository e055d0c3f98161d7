import init, { Sightline } from "/pkg/sightline.js";

// ------------------------------------------------------------------------------------
// The request log: this demo page (not the SDK) wraps window.fetch to show what goes out.
const $ = (sel) => document.querySelector(sel);
const logBody = $("#request-log tbody");
const byteLength = (body) => {
  if (body == null) return 0;
  if (typeof body === "string") return new TextEncoder().encode(body).length;
  if (body instanceof Blob) return body.size;
  if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) return body.byteLength;
  return 0;
};
function logRequest(entry) {
  const tr = document.createElement("tr");
  const cells = [new Date().toLocaleTimeString(undefined, { hour12: false }), entry.method, entry.path, "", "…", String(entry.bytes)];
  cells.forEach((text, i) => {
    const td = document.createElement("td");
    td.textContent = text;
    td.className = ["time", "method", "path", "tags", "status", "num"][i];
    tr.append(td);
  });
  tr.children[2].title = entry.url;
  for (const tag of entry.tags) {
    const span = document.createElement("span");
    span.className = "tag";
    span.textContent = tag;
    tr.children[3].append(span);
  }
  logBody.prepend(tr);
  while (logBody.children.length > 60) logBody.lastChild.remove();
  return (status, ok) => {
    tr.children[4].textContent = status;
    tr.className = ok ? "ok" : "fail";
  };
}
const originalFetch = window.fetch;
window.fetch = function (input, init = {}) {
  const url = new URL(input instanceof Request ? input.url : String(input), location.href);
  const headers = new Headers(init.headers || (input instanceof Request ? input.headers : {}));
  const tags = [];
  if (init.keepalive) tags.push("keepalive");
  if (headers.get("content-type") === "application/octet-stream") tags.push("gzip");
  const done = logRequest({
    url: url.href,
    method: (init.method || (input instanceof Request ? input.method : "GET")).toUpperCase(),
    path: url.origin === location.origin ? url.pathname : url.host + url.pathname,
    bytes: byteLength(init.body),
    tags,
  });
  const promise = originalFetch.apply(this, arguments);
  promise.then((res) => done(res.status, res.ok), () => done("network error", false));
  return promise;
};

// ------------------------------------------------------------------------------------
// The demo's pretend sign-in. A visitor who has not signed in is an anonymous user at once,
// as with Stack Auth's anonymous users: a real user id (anon-<random>, kept in localStorage)
// whose token the collector accepts because the SDK sends x-stack-allow-anonymous-user. So a
// first visit shows up in the dashboard without pressing anything. alice and bob live in
// sessionStorage; the token is demo-<user>.
const USER_KEY = "sightline-demo:user";
const ANON_KEY = "sightline-demo:anonymous-user";
const newAnonymousUser = () => {
  const id = "anon-" + crypto.randomUUID().slice(0, 8);
  localStorage.setItem(ANON_KEY, id);
  return id;
};
const anonymousUser = () => localStorage.getItem(ANON_KEY) || newAnonymousUser();
const currentUser = () => sessionStorage.getItem(USER_KEY) || anonymousUser();
const isAnonymous = (user) => user.startsWith("anon-");

// ------------------------------------------------------------------------------------
// The SDK.

const gateBadge = $("#gate-state");
function showGate(state, reason) {
  gateBadge.textContent = state;
  gateBadge.className = "badge " + state;
  $("#gate-reason").textContent = reason ? `(${reason})` : "";
  const open = state === "granted";
  $("#lab").classList.toggle("open", open);
  $("#lab").textContent = open
    ? "Beta lab: open. The server granted access."
    : "Beta lab: locked. It opens for users the server grants (alice is invited, bob is not).";
}

let sl = null;
try {
  await init();
  sl = new Sightline({
    projectId: "p_demo",
    apiBaseUrl: location.origin,
    // Never null: an anonymous visitor has a session too.
    getAnalyticsSession: () => ({ accessToken: "demo-" + currentUser(), refreshToken: null }),
    analytics: { flushIntervalMs: 3000 },
    replays: { enabled: true },
    accessGate: { url: "/api/code/invites/check-access/", onChange: (state, reason) => showGate(state, reason) },
  });
  sl.start();
} catch (e) {
  console.error(e);
  const el = $("#sdk-error");
  el.hidden = false;
  const message = e && e.message ? e.message : String(e);
  el.textContent = "The SDK did not start: " + message +
    (/wasm-unsafe-eval/.test(message) ? "" : " (was `bash scripts/build.sh` run?)");
}
const hasGate = !!sl && typeof sl.checkAccess === "function";
if (!hasGate) {
  gateBadge.textContent = "not in this build";
  $("#gate-reason").textContent = "";
} else if (typeof sl.accessState === "string") {
  showGate(sl.accessState);
}

/** Calls into the SDK without letting a missing method or an exception break the page. */
const safely = (what, f) => {
  try { return f(); } catch (e) { console.error(`sightline demo: ${what}:`, e); return undefined; }
};

// ------------------------------------------------------------------------------------
// Account buttons.
function showUser() {
  const user = currentUser();
  $("#user").textContent = isAnonymous(user) ? `an anonymous user (${user})` : user;
  $("#sign-out").disabled = isAnonymous(user);
  $("#sign-in-alice").disabled = user === "alice";
  $("#sign-in-bob").disabled = user === "bob";
}
/** Switches to `next` (a user name, or null for a fresh anonymous user). */
async function switchUser(next) {
  const previous = currentUser();
  if (next === previous) return;
  // What the previous user did goes out with their own session; whatever is still unsent
  // after that is dropped: one user's events never go out with the next user's session.
  if (sl) await Promise.resolve(safely("flush", () => sl.flush())).catch(() => {});
  safely("clearBuffer", () => sl?.clearBuffer());
  if (next) {
    sessionStorage.setItem(USER_KEY, next);
  } else {
    sessionStorage.removeItem(USER_KEY);
    newAnonymousUser();
  }
  showUser();
  if (hasGate) await sl.checkAccess(); // onChange shows the answer
}
$("#sign-in-alice").addEventListener("click", () => switchUser("alice"));
$("#sign-in-bob").addEventListener("click", () => switchUser("bob"));
$("#sign-out").addEventListener("click", () => switchUser(null));
showUser();

// ------------------------------------------------------------------------------------
// The single-page app: three views, history.pushState navigation.
const TITLES = { home: "Home", pricing: "Pricing", settings: "Settings" };
const viewOf = (loc) => {
  const v = new URLSearchParams(loc.search).get("view");
  return v in TITLES ? v : "home";
};
function render(view) {
  document.title = `${TITLES[view]} · sightline demo`;
  for (const section of document.querySelectorAll("section.view")) section.hidden = section.dataset.view !== view;
  for (const a of document.querySelectorAll("nav.views a")) a.classList.toggle("active", a.dataset.view === view);
}
function navigate(view) {
  if (view === viewOf(location)) return;
  render(view); // the title first: the SDK's page view reads it
  history.pushState({ view }, "", view === "home" ? "/" : `/?view=${view}`);
}
$("#nav").addEventListener("click", (e) => {
  const a = e.target.closest("a[data-view]");
  if (!a || e.metaKey || e.ctrlKey || e.shiftKey) return;
  e.preventDefault();
  navigate(a.dataset.view);
});
window.addEventListener("popstate", () => render(viewOf(location)));
render(viewOf(location));

// ------------------------------------------------------------------------------------
// Buttons, custom events, the form.
let trackCount = 0;
$("#track").addEventListener("click", () => {
  trackCount += 1;
  const data = { source: "demo-page", count: trackCount, view: viewOf(location), at: new Date().toISOString() };
  safely("track", () => sl?.track("demo-button", data));
  $("#track-note").textContent = `queued demo-button #${trackCount}`;
});
for (const button of document.querySelectorAll(".choose-plan")) {
  button.addEventListener("click", () => {
    safely("track", () => sl?.track("plan-selected", { plan: button.dataset.plan }));
    $("#plan-note").textContent = `You chose ${button.dataset.plan} (a plan-selected event was queued).`;
  });
}
$("#settings-form").addEventListener("submit", (e) => {
  e.preventDefault();
  // Never the password itself: only what an analyst may see.
  safely("track", () => sl?.track("settings-saved", {
    display_name_length: $("#display-name").value.length,
    notifications: $("#notify").checked,
  }));
  $("#password").value = "";
  $("#settings-note").textContent = "Saved.";
});
$("#flush").addEventListener("click", async () => {
  if (!sl) return;
  const { sent, pending } = await sl.flush();
  $("#flush-note").textContent = `sent ${sent}, pending ${pending}`;
});

// ------------------------------------------------------------------------------------
// A list that changes over time.
const feed = $("#feed");
const WHAT = ["signed up", "upgraded to Pro", "invited a teammate", "opened a ticket", "exported a report"];
const WHO = ["Ada", "Grace", "Linus", "Margaret", "Ken", "Barbara"];
let feedTimer = null;
let feedCount = 0;
function feedTick() {
  feedCount += 1;
  const li = document.createElement("li");
  const text = document.createElement("span");
  text.textContent = `${WHO[feedCount % WHO.length]} ${WHAT[(feedCount * 7) % WHAT.length]}`;
  const time = document.createElement("span");
  time.className = "muted mono";
  time.textContent = new Date().toLocaleTimeString(undefined, { hour12: false });
  li.append(text, time);
  feed.prepend(li);
  while (feed.children.length > 6) feed.lastChild.remove();
}
function setFeed(on) {
  clearInterval(feedTimer);
  feedTimer = on ? setInterval(feedTick, 2000) : null;
  $("#feed-toggle").textContent = on ? "Pause feed" : "Resume feed";
}
$("#feed-toggle").addEventListener("click", () => setFeed(!feedTimer));
for (let i = 0; i < 3; i++) feedTick();
setFeed(true);

// ------------------------------------------------------------------------------------
// Live stats.
function showStats() {
  showConsent();
  const s = sl ? safely("stats", () => sl.stats()) : null;
  if (!s) return;
  $("#stat-queued").textContent = s.queuedEvents;
  $("#stat-delivered").textContent = s.deliveredEvents;
  $("#stat-dropped").textContent = s.droppedEvents;
}
showStats();
setInterval(showStats, 1000);

// ------------------------------------------------------------------------------------
// Consent: accept / reject, and what the SDK does about it.
function showConsent() {
  if (!sl || typeof sl.consentState !== "string") return;
  $("#consent-state").textContent = sl.consentState;
  $("#replay-state").textContent = sl.replayState;
}
$("#consent-accept").addEventListener("click", () => { safely("optIn", () => sl?.optIn()); showConsent(); });
$("#consent-reject").addEventListener("click", () => { safely("optOut", () => sl?.optOut()); showConsent(); });

// For the end-to-end tests (and the curious, in the console).
window.sightline = sl;
window.__demoReady = true;
