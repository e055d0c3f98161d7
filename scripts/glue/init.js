// The `web` build's entry point: wasm-bindgen's glue (sightline.raw.js, bundled in by
// esbuild), with `init()` / `initSync()` wrapped so that a page whose Content-Security-Policy
// forbids WebAssembly gets an error that says what to add ('wasm-unsafe-eval'), instead of
// the browser's CompileError about 'unsafe-eval'.
import __wbg_init, { initSync as __wbg_initSync } from "./sightline.raw.js";

export * from "./sightline.raw.js";

const CSP_HINT =
  "sightline cannot start: this page's Content-Security-Policy does not allow WebAssembly. " +
  "Add 'wasm-unsafe-eval' to its script-src (for example: script-src 'self' 'wasm-unsafe-eval').";

/** A CSP refusal becomes an Error naming 'wasm-unsafe-eval' (the original as `cause`). */
function explained(e) {
  const message = String((e && e.message) || e);
  if (!/Content Security Policy|wasm-eval|unsafe-eval/i.test(message)) return e;
  const error = new Error(CSP_HINT + " The browser said: " + message, { cause: e });
  error.name = "SightlineCspError";
  return error;
}

export default async function init(moduleOrPath) {
  try {
    return await __wbg_init(moduleOrPath);
  } catch (e) {
    throw explained(e);
  }
}

export function initSync(module) {
  try {
    return __wbg_initSync(module);
  } catch (e) {
    throw explained(e);
  }
}
