// The collector's dashboard: recent events (with their user), browser sessions (with a link
// that plays their replay in rrweb-player) and an empty state that says what to do.
// Served as a file so the page's Content-Security-Policy needs no inline script.
"use strict";

const $ = (sel) => document.querySelector(sel);
const EVENTS_PAGE = 200;
const SESSIONS_PAGE = 100;
/** A replay is fetched page by page (each at most 5,000 events / ~4 MiB); at most this many. */
const MAX_REPLAY_PAGES = 200;

const fmtTime = (ms) => {
  const d = new Date(ms);
  return d.toLocaleDateString(undefined, { month: "short", day: "numeric" }) + " " +
    d.toLocaleTimeString(undefined, { hour12: false }) + "." + String(d.getMilliseconds()).padStart(3, "0");
};
const el = (tag, props = {}, ...children) => {
  const e = document.createElement(tag);
  Object.assign(e, props);
  for (const c of children) e.append(c);
  return e;
};
let selected = null;
let player = null;
/** Older pages of events the user asked for ("Load older"), kept across refreshes. */
let olderEvents = [];
let olderCursor = null;
let firstPageCursor = null;

async function getJson(url) {
  const res = await fetch(url, { cache: "no-store" });
  if (!res.ok) {
    let detail = "";
    try { detail = (await res.json()).error || ""; } catch { /* not JSON */ }
    throw new Error(url + " answered " + res.status + (detail ? ": " + detail : ""));
  }
  return res.json();
}

function userCell(userId) {
  const td = el("td", { className: "user" });
  if (!userId) {
    td.append(el("span", { className: "anon", textContent: "no user" }));
  } else {
    td.append(userId);
    if (userId.startsWith("anon-")) td.append(el("span", { className: "anon", textContent: "anonymous" }));
  }
  return td;
}

function eventRow(ev) {
  const json = JSON.stringify(ev.data);
  const data = el("details", {}, el("summary", { textContent: json }), el("pre", { textContent: JSON.stringify(ev.data, null, 2) }));
  return el("tr", { className: "event-row" },
    el("td", { className: "time", textContent: fmtTime(ev.event_at_ms), title: "received " + fmtTime(ev.received_at_ms) }),
    el("td", { className: "type" }, el("code", { textContent: ev.event_type })),
    el("td", { className: "page mono", textContent: ev.page_path ?? "" }),
    userCell(ev.user_id),
    el("td", { className: "data" }, data));
}

const replayHref = (id, at) => "/dashboard?session=" + encodeURIComponent(id) + (at === undefined ? "" : "&t=" + at);

function sessionRow(s) {
  const play = el("a", { className: "play", textContent: "▶ Play", href: replayHref(s.browser_session_id) });
  play.addEventListener("click", (e) => {
    if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
    e.preventDefault();
    history.pushState({ session: s.browser_session_id }, "", play.href);
    play.closest(".scroll").scrollLeft = 0;
    openReplay(s.browser_session_id);
  });
  const tr = el("tr", { className: "session-row" },
    el("td", { className: "mono", textContent: s.browser_session_id.slice(0, 8) + "…", title: s.browser_session_id }),
    userCell(s.user_id),
    el("td", { className: "time", textContent: new Date(s.last_event_at_ms).toLocaleTimeString(undefined, { hour12: false }),
      title: fmtTime(s.last_event_at_ms) }),
    el("td", { textContent: String(s.event_count), title: s.batch_count + (s.batch_count === 1 ? " batch" : " batches") }),
    el("td", {}, play));
  tr.dataset.session = s.browser_session_id;
  if (s.browser_session_id === selected) tr.classList.add("selected");
  return tr;
}

function showEvents(events) {
  $("#events-table tbody").replaceChildren(...events.map(eventRow), ...olderEvents.map(eventRow));
  $("#events-empty").hidden = events.length > 0;
  const more = olderEvents.length ? olderCursor : firstPageCursor;
  $("#events-more").hidden = !more;
  $("#events-note").textContent = events.length + olderEvents.length >= EVENTS_PAGE ? "newest first" : "";
}

async function refresh() {
  try {
    const [{ events, next }, { sessions }, { totals }] = await Promise.all([
      getJson(`/api/dashboard/events?limit=${EVENTS_PAGE}`),
      getJson(`/api/dashboard/sessions?limit=${SESSIONS_PAGE}`),
      getJson("/api/dashboard/summary"),
    ]);
    firstPageCursor = next;
    showEvents(events);
    $("#sessions-table tbody").replaceChildren(...sessions.map(sessionRow));
    $("#sessions-empty").hidden = sessions.length > 0;
    $("#welcome").hidden = events.length > 0 || sessions.length > 0;
    $("#counts").textContent = totals.analytics_events + " events · " + totals.replay_sessions + " browser sessions · " +
      totals.replay_events + " replay events stored";
    $("#counts").classList.remove("error");
    window.__dashboardRefreshed = (window.__dashboardRefreshed || 0) + 1;
  } catch (e) {
    $("#counts").textContent = "cannot reach the collector: " + e.message;
    $("#counts").classList.add("error");
  }
}

async function loadOlder() {
  const cursor = olderEvents.length ? olderCursor : firstPageCursor;
  if (!cursor) return;
  const { events, next } = await getJson(`/api/dashboard/events?limit=${EVENTS_PAGE}&before=${encodeURIComponent(cursor)}`);
  olderEvents = olderEvents.concat(events);
  olderCursor = next;
  $("#events-more").hidden = !next;
  $("#events-table tbody").append(...events.map(eventRow));
}

/** Every event of a session, page by page. */
async function sessionEvents(id) {
  let events = [];
  let after = null;
  for (let page = 0; page < MAX_REPLAY_PAGES; page++) {
    const q = after ? "?after=" + encodeURIComponent(after) : "";
    const body = await getJson("/api/dashboard/sessions/" + encodeURIComponent(id) + "/events" + q);
    events = events.concat(body.events);
    if (!body.next) return events;
    after = body.next;
  }
  return events;
}

/**
 * The product signals the SDK marked in a recording: Custom events (type 5) whose tag is an
 * event type starting with "$" ($rage-click, $dead-click, $page-leave, $web-vitals,
 * $exception), each with its offset from the replay's first event (what the player's
 * `goto` takes).
 */
function signalsOf(events) {
  const start = Math.min(...events.map((e) => e.timestamp));
  return events
    .filter((e) => e.type === 5 && typeof e.data?.tag === "string" && e.data.tag.startsWith("$"))
    .map((e) => ({ tag: e.data.tag, offset: Math.max(0, e.timestamp - start), payload: e.data.payload || {} }))
    .sort((a, b) => a.offset - b.offset);
}

const fmtOffset = (ms) => Math.floor(ms / 60000) + ":" + String(Math.floor(ms / 1000) % 60).padStart(2, "0") +
  "." + String(Math.floor(ms) % 1000).padStart(3, "0");

/** What one signal was about, in a few words. */
function signalDetail(s) {
  const p = s.payload;
  switch (s.tag) {
    case "$rage-click": return (p.selector || "") + " × " + p.click_count;
    case "$dead-click": return (p.selector || "") + ", nothing for " + p.wait_ms + " ms";
    case "$page-leave": return (p.path || "") + ", " + p.duration_ms + " ms, scrolled " + p.max_scroll_percent + " %";
    case "$exception": return (p.type || "") + ": " + (p.message || "") + (p.count > 1 ? " (× " + p.count + ")" : "");
    default: return JSON.stringify(p);
  }
}

/** Counts per kind and a "jump to" link per signal, for the session being played. */
function showSignals(id, signals) {
  const counts = new Map();
  for (const s of signals) counts.set(s.tag, (counts.get(s.tag) || 0) + 1);
  $("#signal-counts").textContent = signals.length
    ? "Signals: " + [...counts].map(([tag, n]) => n + " × " + tag).join(" · ")
    : "No signals in this replay.";
  $("#signal-list").replaceChildren(...signals.map((s) => {
    const link = el("a", { className: "jump", textContent: "▶ " + fmtOffset(s.offset), href: replayHref(id, s.offset) });
    link.dataset.tag = s.tag;
    link.dataset.offset = String(s.offset);
    link.addEventListener("click", (e) => {
      if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
      e.preventDefault();
      history.replaceState({ session: id, t: s.offset }, "", link.href);
      jumpTo(s.offset);
    });
    return el("li", {}, link, " ", el("code", { textContent: s.tag }), " ", el("span", { textContent: signalDetail(s) }));
  }));
  $("#signals").hidden = false;
}

/** Moves the player to `offset` ms from the replay's start, paused there. */
function jumpTo(offset) {
  if (!player) return;
  player.goto(offset, false);
  $("#player").scrollIntoView({ block: "nearest" });
}

async function openReplay(id, at) {
  selected = id;
  document.querySelectorAll("#sessions-table tr").forEach((tr) => tr.classList.toggle("selected", tr.dataset.session === id));
  $("#replay-title").textContent = id;
  const target = $("#player");
  player?.$destroy?.();
  player = null;
  $("#signals").hidden = true;
  target.replaceChildren(el("span", { className: "note", textContent: "loading…" }));
  try {
    const events = await sessionEvents(id);
    if (events.length < 2) throw new Error("a replay needs at least 2 events (has " + events.length + ")");
    const Player = window.rrwebPlayer?.default ?? window.rrwebPlayer;
    if (typeof Player !== "function") throw new Error("rrweb-player did not load (is it installed in tests/node_modules?)");
    target.replaceChildren();
    const width = Math.min(1024, target.clientWidth - 32);
    player = new Player({ target, props: { events, width, height: Math.round(width * 0.56), autoPlay: true, showController: true } });
    window.__replayEventCount = events.length;
    window.__replayPlayer = player;
    showSignals(id, signalsOf(events));
    if (at !== undefined) jumpTo(at);
    $("#replay").scrollIntoView({ behavior: "smooth", block: "start" });
  } catch (e) {
    target.replaceChildren(el("span", { className: "error", textContent: "Cannot replay: " + e.message }));
  }
}

$("#load-older").addEventListener("click", () => loadOlder().catch((e) => {
  $("#events-note").textContent = "cannot load older events: " + e.message;
}));
refresh();
setInterval(() => { if ($("#autorefresh").checked) refresh(); }, 3000);
const wanted = () => new URLSearchParams(location.search).get("session");
/** `t` of the address: where to open the replay (ms from its start), from a signal's link. */
const wantedAt = () => {
  const t = Number(new URLSearchParams(location.search).get("t"));
  return Number.isFinite(t) && t >= 0 && new URLSearchParams(location.search).has("t") ? t : undefined;
};
window.addEventListener("popstate", () => { if (wanted()) openReplay(wanted(), wantedAt()); });
if (wanted()) openReplay(wanted(), wantedAt());
