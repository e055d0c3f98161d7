//! Validated options, as plain data (the shell parses the JS options object into these).

use crate::core::consent::Consent;
use crate::core::replay::controls::{ControlsConfig, ReplayMode, DEFAULT_MUTATION_LIMIT};

/// Options of the event tracker (`analytics.*`).
#[derive(Debug, Clone, PartialEq)]
pub struct AnalyticsConfig {
    pub enabled: bool,
    pub autocapture: bool,
    pub flush_interval_ms: u64,
    pub max_events_per_batch: usize,
    /// `analytics.maxQueuedBytes`: cap of queued analytics events (memory).
    pub max_queued_bytes: usize,
    /// `rageClicks`, `deadClicks`, `pageLeave`, `webVitals`, `captureExceptions`.
    pub signals: crate::core::signals::SignalOptions,
}

impl Default for AnalyticsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            autocapture: true,
            flush_interval_ms: 10_000,
            max_events_per_batch: 50,
            max_queued_bytes: 4 << 20,
            signals: Default::default(),
        }
    }
}

/// Options of the session-replay recorder (`replays.*`).
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayConfig {
    pub enabled: bool,
    pub mask_all_inputs: bool,
    pub block_class: String,
    pub block_selector: Option<String>,
    pub mask_text_class: String,
    pub mask_text_selector: Option<String>,
    pub ignore_class: String,
    /// Every text node is masked, as inside `mask_text_class`.
    pub mask_all_text: bool,
    pub flush_interval_ms: u64,
    pub checkout_every_nms: u64,
    pub idle_timeout_ms: u64,
    /// Share of browser sessions recorded (0–1), decided per session.
    pub sample_rate: f64,
    pub minimum_duration_ms: u64,
    pub max_session_duration_ms: u64,
    pub mode: ReplayMode,
    pub error_buffer_ms: u64,
    /// Observer callbacks with more records are replaced by a full snapshot.
    pub mutation_limit: usize,
    /// `replays.maxQueuedBytes`: cap of queued replay data (memory).
    pub max_queued_bytes: usize,
}

impl ReplayConfig {
    /// The options that shape what is uploaded (`core::replay::controls`).
    pub fn controls(&self) -> ControlsConfig {
        ControlsConfig {
            mode: self.mode,
            error_buffer_ms: self.error_buffer_ms,
            minimum_duration_ms: self.minimum_duration_ms,
            max_session_duration_ms: self.max_session_duration_ms,
        }
    }
}

impl Default for ReplayConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            mask_all_inputs: true,
            block_class: "rr-block".into(),
            block_selector: None,
            mask_text_class: "rr-mask".into(),
            mask_text_selector: None,
            ignore_class: "rr-ignore".into(),
            mask_all_text: false,
            flush_interval_ms: 5_000,
            checkout_every_nms: 300_000,
            idle_timeout_ms: 180_000,
            sample_rate: 1.0,
            minimum_duration_ms: 0,
            max_session_duration_ms: 3_600_000,
            mode: ReplayMode::Always,
            error_buffer_ms: 60_000,
            mutation_limit: DEFAULT_MUTATION_LIMIT,
            max_queued_bytes: 16 << 20,
        }
    }
}

/// Retry schedule of failed uploads (`upload.*`).
#[derive(Debug, Clone, PartialEq)]
pub struct UploadConfig {
    pub retry_initial_delay_ms: u64,
    pub retry_max_delay_ms: u64,
}

impl Default for UploadConfig {
    fn default() -> Self {
        Self { retry_initial_delay_ms: 1_000, retry_max_delay_ms: 60_000 }
    }
}

/// Background retry schedule of the access gate (`accessGate.retry.*`).
#[derive(Debug, Clone, PartialEq)]
pub struct GateRetryConfig {
    pub initial_delay_ms: u64,
    pub max_delay_ms: u64,
    pub multiplier: f64,
    pub max_retries: u32,
    pub jitter: f64,
}

impl Default for GateRetryConfig {
    fn default() -> Self {
        Self { initial_delay_ms: 2_000, max_delay_ms: 20_000, multiplier: 2.0, max_retries: 9, jitter: 0.25 }
    }
}

/// The access gate (`accessGate.*`); `url` is already resolved against `apiBaseUrl`.
#[derive(Debug, Clone, PartialEq)]
pub struct GateConfig {
    pub url: String,
    pub attempt_timeout_ms: u64,
    pub retry: GateRetryConfig,
}

/// Every option of `new Sightline(options)` except the JS callbacks, which stay in the shell.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub project_id: String,
    /// Without a trailing slash.
    pub api_base_url: String,
    pub publishable_client_key: Option<String>,
    pub analytics: AnalyticsConfig,
    pub replays: ReplayConfig,
    pub upload: UploadConfig,
    pub gate: Option<GateConfig>,
    /// The starting consent (`consent`), before a remembered choice or GPC.
    pub consent: Consent,
    pub respect_global_privacy_control: bool,
}
