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

const replayHref = (id) => "/dashboard?session=" + encodeURIComponent(id);

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

async function openReplay(id) {
  selected = id;
  document.querySelectorAll("#sessions-table tr").forEach((tr) => tr.classList.toggle("selected", tr.dataset.session === id));
  $("#replay-title").textContent = id;
  const target = $("#player");
  player?.$destroy?.();
  player = null;
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
window.addEventListener("popstate", () => { if (wanted()) openReplay(wanted()); });
if (wanted()) openReplay(wanted());
