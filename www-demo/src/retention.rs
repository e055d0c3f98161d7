//! `--retain-days`: data received longer ago than that is deleted at start and every hour,
//! in small transactions (see `Store::delete_received_before`).

use std::time::Duration;

use crate::routes::AppState;
use crate::storage::now_ms;

pub const INTERVAL: Duration = Duration::from_secs(3600);
const DAY_MS: i64 = 24 * 3600 * 1000;

/// One pass; `None` when retention is off (`--retain-days 0`).
pub async fn sweep(state: &AppState) -> Option<crate::storage::Deleted> {
    let days = state.config.retain_days;
    if days == 0 {
        return None;
    }
    let cutoff = now_ms() - i64::from(days) * DAY_MS;
    let store = state.store.clone();
    match tokio::task::spawn_blocking(move || store.delete_received_before(cutoff)).await {
        Ok(Ok(deleted)) => Some(deleted),
        Ok(Err(e)) => {
            eprintln!("sightline-collector: retention cleanup failed: {e}");
            None
        }
        Err(e) => {
            eprintln!("sightline-collector: retention cleanup failed: {e}");
            None
        }
    }
}

/// Sweeps now, then every `INTERVAL`, forever (the caller aborts the task).
pub async fn run(state: AppState) {
    let mut tick = tokio::time::interval(INTERVAL);
    loop {
        tick.tick().await;
        if let Some(d) = sweep(&state).await {
            if d.analytics_events + d.replay_sessions > 0 {
                println!(
                    "retention: deleted {} analytics events and {} replay sessions ({} replay events) older than {} days",
                    d.analytics_events, d.replay_sessions, d.replay_events, state.config.retain_days
                );
            }
        }
    }
}
