import { defineConfig } from "vite";

export default defineConfig({
  // The test serves the build from the collector's --site, whose static files live under
  // /static/; nothing here is needed by sightline itself.
  build: { assetsDir: "static", target: "es2022" },
});
