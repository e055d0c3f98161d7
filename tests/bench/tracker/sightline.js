// sightline from the built pkg/, with its defaults (autocapture on, batches of 50, gzip).
import { clickLoop, callLoop, customData, SESSION } from "./common.js";

let sl;
window.__bench = {
  startup: async (projectId) => {
    const t0 = performance.now();
    const mod = await import("/pkg/sightline.js");
    const t1 = performance.now();
    await mod.default();
    const t2 = performance.now();
    sl = new mod.Sightline({ projectId, apiBaseUrl: location.origin, getAnalyticsSession: async () => SESSION });
    sl.start();
    const t3 = performance.now();
    return { importMs: t1 - t0, initMs: t2 - t1, ctorStartMs: t3 - t2 };
  },
  capture: (mode, n) =>
    mode === "click" ? clickLoop(n) : callLoop(n, (i) => sl.track("bench_event", customData(i))),
  // flush() sends everything buffered and queued; batches already in flight are waited
  // for through stats().
  flush: async (expected) => {
    const t0 = performance.now();
    let result = await sl.flush();
    let polls = 0;
    while (sl.stats().deliveredEvents < expected) {
      await new Promise((r) => setTimeout(r, 0));
      if (++polls % 200 === 0) result = await sl.flush();
      if (polls > 100000) break;
    }
    return { wallMs: performance.now() - t0, delivered: sl.stats().deliveredEvents, polls, result };
  },
};
window.__benchReady = true;
