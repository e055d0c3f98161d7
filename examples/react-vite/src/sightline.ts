// One sightline instance for the whole app, created before React renders, and the access
// gate's state as a React hook.
import init, { Sightline } from "sightline";
import type { AccessChangeReason, AccessState } from "sightline";
import { useSyncExternalStore } from "react";
import { auth } from "./auth";

/** Where batches go: VITE_SIGHTLINE_API, else the demo collector under `vite dev`, else this origin. */
const apiBaseUrl: string =
  import.meta.env.VITE_SIGHTLINE_API ?? (import.meta.env.DEV ? "http://127.0.0.1:8787" : location.origin);

export interface Gate {
  state: AccessState;
  reason: AccessChangeReason | null;
}

let gate: Gate = { state: "unknown", reason: null };
const gateListeners = new Set<() => void>();

await init(); // once, before `new Sightline()` (top-level await: Vite's default targets have it)

export const sl = new Sightline({
  projectId: "p_example_react",
  apiBaseUrl,
  // Called when a batch is sent, never before an event is captured.
  getAnalyticsSession: () => auth.currentSession(),
  replays: { enabled: true, maskTextSelector: ".user-name" },
  accessGate: {
    url: "/api/code/invites/check-access/", // resolved against apiBaseUrl
    onChange: (state, reason) => {
      gate = { state, reason };
      gateListeners.forEach((notify) => notify());
    },
    // The check answered 401: the server rejected the session.
    onSignedOut: () => auth.signOut(),
  },
});
sl.start(); // autocapture, timers, the recorder, and a first access check

/** Sign-in: re-check access for the new session (the newest check always wins). */
export async function signIn(user: string): Promise<AccessState> {
  if (auth.currentUser() !== null && auth.currentUser() !== user) sl.clearBuffer();
  auth.signIn(user);
  return sl.checkAccess();
}

/** Sign-out: never send one user's events with the next user's session. */
export function signOut(): void {
  sl.clearBuffer();
  auth.signOut();
  void sl.checkAccess(); // no session now: "unknown" / "signed-out"
}

/** The access gate's current state and the reason of its last change. */
export function useGate(): Gate {
  return useSyncExternalStore(
    (notify) => {
      gateListeners.add(notify);
      return () => gateListeners.delete(notify);
    },
    () => gate,
  );
}
