// Baseline: the same input with no tracker, to subtract the cost of the input itself.
import { clickLoop, callLoop, customData } from "./common.js";

window.__bench = {
  startup: async () => ({ importMs: 0, initMs: 0, ctorStartMs: 0 }),
  capture: (mode, n) => (mode === "click" ? clickLoop(n) : callLoop(n, (i) => customData(i))),
  flush: async () => ({ wallMs: 0, delivered: 0 }),
};
window.__benchReady = true;
