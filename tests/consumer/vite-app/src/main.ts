// What the package README's Vite quick start shows, plus hooks for the test
// (tests/e2e/package.test.mjs): the collector is this page's own origin, or `?api=<url>`
// (the test's `vite dev` run, cross-origin).
import init, { Sightline } from "sightline";
import type { AccessState, FlushResult, SightlineOptions, SightlineStats } from "sightline";

declare global {
  interface Window {
    __result?: { flush: FlushResult; stats: SightlineStats; accessState: AccessState };
    __error?: string;
  }
}

const options: SightlineOptions = {
  projectId: "p_vite",
  apiBaseUrl: new URLSearchParams(location.search).get("api") ?? location.origin,
  getAnalyticsSession: async () => null, // anonymous (the test collector allows it)
  analytics: { flushIntervalMs: 1000 },
  accessGate: {
    url: "/api/code/invites/check-access/",
    onChange: (state, reason) => console.log("access", state, reason),
  },
};

async function main(): Promise<void> {
  await init();
  const sl = new Sightline(options);
  sl.start();
  sl.track("vite-app-loaded", { framework: "vite", version: 7 });
  const flush = await sl.flush();
  window.__result = { flush, stats: sl.stats(), accessState: sl.accessState };
}

main().catch((e: unknown) => {
  window.__error = String(e);
});
