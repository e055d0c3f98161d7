// Must NOT type-check: `flushIntervalMS` is a misspelling of `flushIntervalMs`
// (tests/e2e/package.test.mjs asserts tsc fails and names it).
import { Sightline } from "sightline";

new Sightline({
  projectId: "p_1",
  apiBaseUrl: "https://api.example.com",
  getAnalyticsSession: () => null,
  analytics: { flushIntervalMS: 5000 },
});
