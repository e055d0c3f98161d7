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
}

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
}

/** What `flush()` resolves with (analytics events only). */
export interface FlushResult {
    /** Analytics events acknowledged by this call. */
    sent: number;
    /** Analytics events still queued (failed attempts stay queued). */
    pending: number;
}

/** What `stats()` returns: counters for this page (analytics events only). */
export interface SightlineStats {
    /** Events waiting (buffer + queue). */
    queuedEvents: number;
    /** Events acknowledged by the server. */
    deliveredEvents: number;
    /**
     * Events dropped: only by `clearBuffer()`, a 400/422 answer that says the batch itself
     * is invalid, or a single event too large to send.
     */
    droppedEvents: number;
}
"#;
