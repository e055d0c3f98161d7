// Shared by the three setups (none, sightline, peer): the same synthetic input for each.

/** Dispatches `n` synthetic clicks on the label inside the page's `<a>`; returns the wall time. */
export function clickLoop(n) {
  const target = document.querySelector("#app .label");
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    target.dispatchEvent(new MouseEvent("click", {
      bubbles: true, cancelable: true, view: window, clientX: 100 + (i % 50), clientY: 120,
    }));
  }
  return performance.now() - t0;
}

/** Calls `fn(i)` `n` times; returns the wall time. */
export function callLoop(n, fn) {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) fn(i);
  return performance.now() - t0;
}

/** The data of one custom event (the same for both SDKs). */
export const customData = (i) => ({ plan: "pro", step: i, source: "bench", ok: true });

// The `<a>` must not navigate away when clicked (both SDKs only listen, never prevent).
addEventListener("click", (e) => e.preventDefault());

export const SESSION = { accessToken: "at_bench", refreshToken: null };
