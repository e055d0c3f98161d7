// The `sightline/bundler` entry: wasm-pack's `bundler` build, for toolchains that load a
// `.wasm` import themselves (webpack 5 with `experiments.asyncWebAssembly`, Vite with
// vite-plugin-wasm). The module is instantiated when it is imported, so `init()` has
// nothing left to do; it exists so that code written for the default entry
// (`import init, { Sightline } from "sightline"; await init();`) works unchanged.
export * from "./sightline.js";

/** Nothing to do: the bundler build is ready once imported. Resolves at once. */
export default function init() {
  return Promise.resolve();
}
