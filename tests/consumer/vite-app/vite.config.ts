import { defineConfig } from "vite";

export default defineConfig({
  // `vite dev` pre-bundles dependencies into node_modules/.vite/deps/, where the web
  // build's `new URL("sightline_bg.wasm", import.meta.url)` finds no wasm: keep sightline
  // out of the pre-bundling (`vite build` works either way).
  optimizeDeps: { exclude: ["sightline"] },
  // The test serves the build from the collector's --site, whose static files live under
  // /static/; sightline itself needs no build option.
  build: { assetsDir: "static", target: "es2022" },
});
