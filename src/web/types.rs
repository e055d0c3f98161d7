//! The TypeScript declarations of the public JS surface (api.md) that wasm-bindgen cannot
//! infer from Rust signatures: the options object, the session, the gate's states and the
//! results of `flush()` and `stats()`. The methods of `Sightline` (sightline.rs) refer to
//! these names through `unchecked_param_type` / `unchecked_return_type`, so the generated
//! `.d.ts` is exact and has no `any`. Keep this in step with api.md: it is the semver
//! surface of the npm package (CHANGELOG.md).

use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &str = r#"
/**
 * The signed-in user's tokens, as `getAnalyticsSession` returns them. `null` (instead of
 * an object) means anonymous / signed out.
 */
export interface AnalyticsSession {
    /** Sent as `x-stack-access-token` (and as the access check's bearer token). */
    accessToken?: string | null;
    /** Sent as `x-stack-refresh-token`. */
    refreshToken?: string | null;
}

/** The access gate's state: `"unknown"` before any definitive answer, and when signed out. */
export type AccessState = "unknown" | "granted" | "denied";

/**
 * Why the access gate changed state: the server answered (`"granted"`, `"denied"`), the
 * retries ran out without an answer (`"fail-closed"`: the server could not be reached, not
 * "this user has no access"), or the check answered 401 / there is no session
 * (`"signed-out"`).
 */
export type AccessChangeReason = "granted" | "denied" | "fail-closed" | "signed-out";

/** `options.analytics`: the event tracker. */
export interface AnalyticsOptions {
    /** Event tracker on/off. Default `true`. */
    enabled?: boolean;
    /** `$page-view` and `$click` autocapture. Default `true`. */
    autocapture?: boolean;
    /** Periodic flush of buffered events, in ms. Default `10000`. */
    flushIntervalMs?: number;
    /** A batch is formed (and sent) at this many events. Default `50`. */
    maxEventsPerBatch?: number;
    /**
     * Cap of queued analytics events in memory, in bytes (65536 to 2^30). Above it the
     * oldest batches are dropped and counted in `droppedEvents`, with one warning.
     * Default `4194304` (4 MiB).
     */
    maxQueuedBytes?: number;
    /**
     * `$rage-click`: 3 or more clicks within 1 s, each within 30 px of the first, on the
     * same element (or its ancestors); one per burst, with `click_count`. Default `true`.
     */
    rageClicks?: boolean;
    /**
     * `$dead-click`: a click on a link, button, `role=button/link`, `summary` or label
     * after which nothing visible happened within 2.5 s; with `wait_ms`. Default `true`.
     */
    deadClicks?: boolean;
    /**
     * `$page-leave` when a page view ends (SPA navigation, `pagehide`): `url`, `path`,
     * `duration_ms` (visible time), `max_scroll_percent`. Default `true`.
     */
    pageLeave?: boolean;
    /**
     * `$web-vitals` once per page view when it ends: `lcp_ms`, `inp_ms`, `cls`, `fcp_ms`,
     * `ttfb_ms`, each when measured (definitions of Google's `web-vitals`). Default `true`.
     */
    webVitals?: boolean;
    /**
     * `$exception` for uncaught errors and unhandled rejections: `message`, `type`,
     * `stack` (≤ 8 KB), `source`, `line`, `column`, `count`. Off by default because
     * messages can hold personal data. Default `false`.
     */
    captureExceptions?: boolean;
}

/** `options.replays`: the session replay recorder (rrweb's event format). */
export interface ReplayOptions {
    /** Session replay recorder on/off. Default `false`. */
    enabled?: boolean;
    /**
     * Every input/textarea/select value is masked. Passwords are masked whatever this
     * says. Default `true`.
     */
    maskAllInputs?: boolean;
    /** Elements with this class are recorded as an empty placeholder of the same size. Default `"rr-block"`. */
    blockClass?: string;
    /** Same as `blockClass`, by CSS selector. Default none. */
    blockSelector?: string;
    /** Text inside elements with this class is replaced by `*` of the same length. Default `"rr-mask"`. */
    maskTextClass?: string;
    /** Same as `maskTextClass`, by CSS selector. Default none. */
    maskTextSelector?: string;
    /** Input events of elements with this class (or inside one) are not recorded. Default `"rr-ignore"`. */
    ignoreClass?: string;
    /**
     * Every text node is masked as by `maskTextClass` (`*` for each non-whitespace
     * character), for pages that must show no content at all. Default `false`.
     */
    maskAllText?: boolean;
    /** Periodic flush of buffered replay events, in ms. Default `5000`. */
    flushIntervalMs?: number;
    /** A fresh Meta + FullSnapshot after this many ms. Default `300000`. */
    checkoutEveryNms?: number;
    /** A browser session idle this many ms is rotated (new id, fresh snapshot). Default `180000`. */
    idleTimeoutMs?: number;
    /**
     * Cap of queued replay data in memory, in bytes (65536 to 2^30). Above it the oldest
     * batches are dropped and counted in `droppedReplayEvents`, with one warning.
     * Default `16777216` (16 MiB).
     */
    maxQueuedBytes?: number;
    /**
     * Share of browser sessions recorded, from 0 to 1, decided once per browser session
     * (its reloads agree); a sampled-out session records and sends nothing. Default `1`.
     */
    sampleRate?: number;
    /**
     * A browser session's replay is held back until the session has lasted this many ms;
     * a page left sooner sends none of it. Default `0`.
     */
    minimumDurationMs?: number;
    /**
     * The recorder stops when the browser session has lasted this many ms (a Custom
     * event `sightline/recording-stopped` says why). Default `3600000`.
     */
    maxSessionDurationMs?: number;
    /**
     * `"always"` records and sends everything. `"on-error"` keeps only the last
     * `errorBufferMs` in memory (always starting with Meta + FullSnapshot) and sends
     * nothing until an uncaught error, an unhandled rejection or `captureReplay()`; then
     * it uploads that window and records as `"always"` for the rest of the browser
     * session. Default `"always"`.
     */
    mode?: ReplayMode;
    /** The window kept in `"on-error"` mode, in ms. Default `60000`. */
    errorBufferMs?: number;
    /**
     * A MutationObserver callback with more records than this is not diffed: a fresh
     * full snapshot replaces it (at most once per 10 s), and a storm that goes on stops
     * the recorder (Custom event `sightline/recording-stopped`, reason
     * `"mutation-limit"`). Default `10000`.
     */
    mutationLimit?: number;
}

/** `replays.mode`. */
export type ReplayMode = "always" | "on-error";

/** Consent to analytics and replay: see `SightlineOptions.consent`. */
export type ConsentState = "granted" | "pending" | "denied";

/** What the recorder is doing (`sl.replayState`). */
export type ReplayState = "off" | "pending-consent" | "sampled-out" | "buffering" | "recording" | "stopped";

/** `options.upload`: retries of failed batches (exponential, with jitter). */
export interface UploadOptions {
    /** First retry delay of a failed batch, in ms. Default `1000`. */
    retryInitialDelayMs?: number;
    /** Cap of the retry delay, in ms. Default `60000`. */
    retryMaxDelayMs?: number;
}

/** `options.accessGate.retry`: the background retries of one access check. */
export interface AccessGateRetryOptions {
    /** First background retry delay, in ms. Default `2000`. */
    initialDelayMs?: number;
    /** Delay cap, in ms. Default `20000`. */
    maxDelayMs?: number;
    /** Exponential factor. Default `2`. */
    multiplier?: number;
    /** Background retries before failing closed. Default `9`. */
    maxRetries?: number;
    /** In [0, 1]: each delay is scaled by a random factor in [1 - jitter, 1 + jitter]. Default `0.25`. */
    jitter?: number;
}

/** `options.accessGate`: the access gate is off without it. */
export interface AccessGateOptions {
    /** The access check: an absolute URL, or a path resolved against `apiBaseUrl`. Required. */
    url: string;
    /**
     * Called once per change of state (not when a check confirms the state it already
     * had). Default none.
     */
    onChange?: (state: AccessState, reason: AccessChangeReason) => void;
    /** Called when the check answers 401. Default none. */
    onSignedOut?: () => void;
    /** One check attempt is aborted after this many ms. Default `10000`. */
    attemptTimeoutMs?: number;
    /** The background retry schedule. */
    retry?: AccessGateRetryOptions;
}

/**
 * The options of `new Sightline(options)`. A missing or mistyped option throws a
 * `TypeError` naming the field; unknown keys are ignored at run time (and rejected by
 * TypeScript).
 */
export interface SightlineOptions {
    /** Non-empty. Sent as `x-stack-project-id`; part of storage keys. Required. */
    projectId: string;
    /** An absolute http(s) URL: batches go to `{apiBaseUrl}/api/v1/…`. Required. */
    apiBaseUrl: string;
    /** Sent as `x-stack-publishable-client-key` when set. Default none. */
    publishableClientKey?: string;
    /**
     * Called at send time, never before capture (and early, to warm a cache, without
     * capture waiting for it). If it throws, rejects or returns garbage, the batch stays
     * queued and is retried later. Required.
     */
    getAnalyticsSession: () => AnalyticsSession | null | Promise<AnalyticsSession | null>;
    /** The event tracker. */
    analytics?: AnalyticsOptions;
    /** The session replay recorder (off by default). */
    replays?: ReplayOptions;
    /** Retries of failed batches. */
    upload?: UploadOptions;
    /** The access gate (off without it). */
    accessGate?: AccessGateOptions;
    /**
     * The starting consent. `"granted"`: normal operation. `"pending"`: analytics events
     * are kept in memory only (at most 1 MiB, oldest dropped and counted), nothing is
     * sent or persisted, the recorder does not run, until `optIn()`. `"denied"`: nothing
     * is kept or sent. An explicit `optIn()` / `optOut()` is remembered for this
     * `projectId` and wins on later page loads. The access gate ignores consent.
     * Default `"granted"`.
     */
    consent?: ConsentState;
    /**
     * When `navigator.globalPrivacyControl === true` and no `optIn()` was remembered, the
     * consent starts as `"denied"`. Default `true`.
     */
    respectGlobalPrivacyControl?: boolean;
}

/** What `flush()` resolves with (analytics events only). */
export interface FlushResult {
    /** Analytics events acknowledged by this call. */
    sent: number;
    /** Analytics events still queued (failed attempts stay queued). */
    pending: number;
}

/** What `stats()` returns: counters for this page. */
export interface SightlineStats {
    /** Events waiting (buffer + queue). */
    queuedEvents: number;
    /** Events acknowledged by the server. */
    deliveredEvents: number;
    /**
     * Analytics events dropped: only by `clearBuffer()`, the `analytics.maxQueuedBytes` cap,
     * a 400/422 answer that says the batch itself is invalid, or a single event too large
     * to send. `queuedEvents + deliveredEvents + droppedEvents` equals the analytics
     * events captured.
     */
    droppedEvents: number;
    /**
     * Replay events dropped: by `clearBuffer()`, the `replays.maxQueuedBytes` cap, a
     * 400/422 answer, an event too large to send, or (when the page is hidden and storage
     * is full or blocked) replay data that could not be persisted.
     */
    droppedReplayEvents: number;
}
"#;
