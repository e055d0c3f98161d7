import { defineConfig } from "vite";
import wasm from "vite-plugin-wasm";

// The `sightline/bundler` entry needs a plugin that implements `.wasm` ES module imports;
// Vite 7's default targets support top-level await, so vite-plugin-top-level-await is not
// needed. Built under /static/bundler/ so the collector's --site can serve it.
export default defineConfig({
  plugins: [wasm()],
  base: "/static/bundler/",
  build: { outDir: "dist-bundler", target: "es2022", rollupOptions: { input: "bundler.html" } },
});
