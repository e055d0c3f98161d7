// The `sightline/bundler` entry (wasm-pack's bundler build) under Vite with vite-plugin-wasm
// (vite.bundler.config.ts): instantiated on import, `init()` is a no-op kept for symmetry.
import init, { Sightline } from "sightline/bundler";

async function main(): Promise<void> {
  await init();
  const sl = new Sightline({
    projectId: "p_vite_bundler",
    apiBaseUrl: location.origin,
    getAnalyticsSession: () => null,
  });
  sl.start();
  sl.track("vite-bundler-loaded", { framework: "vite", entry: "sightline/bundler" });
  window.__result = { flush: await sl.flush(), stats: sl.stats(), accessState: sl.accessState };
}

main().catch((e: unknown) => {
  window.__error = String(e);
});
