import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

export default defineConfig({
  plugins: [react()],
  // `vite dev` pre-bundles dependencies into node_modules/.vite/deps/, where sightline's
  // `new URL("sightline_bg.wasm", import.meta.url)` would find no wasm: keep it out.
  optimizeDeps: { exclude: ["sightline"] },
  // Assets under /static/, so that the demo collector (`--site dist`) can serve the build.
  build: { assetsDir: "static", target: "es2022" },
});
