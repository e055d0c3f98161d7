// Stack Auth's EventTracker (@stackframe/js 2.8.108), bundled by the runner with esbuild
// from dist/esm/lib/stack-app/apps/implementations/event-tracker.js and its imports.
//
// Its deps are what the client app passes it (client-app-impl.js): `{projectId,
// sendBatch(body, {keepalive})}`, where sendBatch resolves the session at send time and
// calls the interface's sendAnalyticsEventBatch: the JSON body gzipped with
// CompressionStream unless keepalive (encodeAnalyticsBody below is that function of
// stack-shared's client-interface.js, which does not export it), POSTed with fetch,
// returning a Result. Headers are those of wire.md (the same as sightline's).
import { clickLoop, callLoop, customData, SESSION } from "./common.js";

const getAnalyticsSession = async () => SESSION;

async function encodeAnalyticsBody(jsonBody, options) {
  if (options.keepalive) return { body: jsonBody, contentType: "application/json" };
  const CompressionStreamCtor = globalThis.CompressionStream;
  if (typeof CompressionStreamCtor !== "function" || typeof Blob === "undefined" || typeof Response === "undefined") {
    return { body: jsonBody, contentType: "application/json" };
  }
  try {
    const stream = new Blob([jsonBody]).stream().pipeThrough(new CompressionStreamCtor("gzip"));
    const buffer = await new Response(stream).arrayBuffer();
    return { body: new Uint8Array(buffer), contentType: "application/octet-stream" };
  } catch {
    return { body: jsonBody, contentType: "application/json" };
  }
}

let tracker;
let acked = 0;
let waiter = null;

function makeSendBatch(projectId) {
  return async (body, opts) => {
    try {
      const session = await getAnalyticsSession();
      const encoded = await encodeAnalyticsBody(body, { keepalive: opts.keepalive });
      const response = await fetch(`${location.origin}/api/v1/analytics/events/batch`, {
        method: "POST",
        credentials: "omit",
        cache: "no-store",
        keepalive: opts.keepalive,
        headers: {
          "content-type": encoded.contentType,
          "x-stack-project-id": projectId,
          "x-stack-access-type": "client",
          "x-stack-allow-anonymous-user": "true",
          ...(session?.accessToken ? { "x-stack-access-token": session.accessToken } : {}),
          ...(session?.refreshToken ? { "x-stack-refresh-token": session.refreshToken } : {}),
        },
        body: encoded.body,
      });
      // Bench bookkeeping only: the server echoes the count in a header (no body read).
      acked += Number(response.headers.get("x-bench-inserted") || 0);
      waiter?.();
      return { status: "ok", data: response };
    } catch (e) {
      return { status: "error", error: e instanceof Error ? e : new Error(String(e)) };
    }
  };
}

window.__bench = {
  startup: async (projectId) => {
    const t0 = performance.now();
    const { EventTracker } = await import("/peer/event-tracker.js");
    const t1 = performance.now();
    tracker = new EventTracker({ projectId, sendBatch: makeSendBatch(projectId) });
    tracker.start();
    const t2 = performance.now();
    return { importMs: t1 - t0, initMs: 0, ctorStartMs: t2 - t1 };
  },
  // The tracker has no public track(): its click autocapture is the comparable path. For
  // the custom-event row, its private _pushEvent (what autocapture calls) stands in.
  capture: (mode, n) =>
    mode === "click"
      ? clickLoop(n)
      : callLoop(n, (i) => tracker._pushEvent({ event_type: "bench_event", event_at_ms: Date.now(), data: customData(i) })),
  // No public flush(): its private _flush({keepalive: false}) is what its 10 s timer calls.
  flush: async (expected) => {
    const t0 = performance.now();
    const done = new Promise((resolve) => {
      waiter = () => acked >= expected && resolve();
      waiter();
    });
    await tracker._flush({ keepalive: false });
    await done;
    return { wallMs: performance.now() - t0, delivered: acked };
  },
};
window.__benchReady = true;
