// A stand-in for your auth provider (Stack Auth, Auth0, Clerk, your own): who is signed in,
// their tokens, and a way to hear about changes. The demo collector accepts the access token
// `demo-<user>` and grants the access check to alice (not to bob).
import type { AnalyticsSession } from "sightline";

const KEY = "sightline-example:user";
const listeners = new Set<() => void>();

export const auth = {
  /** The signed-in user's name, or null. */
  currentUser(): string | null {
    return sessionStorage.getItem(KEY);
  },

  /** What sightline's `getAnalyticsSession` returns: the tokens, or null when signed out. */
  async currentSession(): Promise<AnalyticsSession | null> {
    const user = auth.currentUser();
    return user ? { accessToken: `demo-${user}`, refreshToken: null } : null;
  },

  signIn(user: string): void {
    sessionStorage.setItem(KEY, user);
    listeners.forEach((notify) => notify());
  },

  signOut(): void {
    sessionStorage.removeItem(KEY);
    listeners.forEach((notify) => notify());
  },

  /** Calls `notify` after every sign-in and sign-out; returns the unsubscribe function. */
  subscribe(notify: () => void): () => void {
    listeners.add(notify);
    return () => listeners.delete(notify);
  },
};
