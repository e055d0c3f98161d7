//! Exponential backoff with jitter, shared by the upload outbox and the access gate.

use crate::core::json::{parse_u64, split_byte};

/// `delay(n) = min(initial * multiplier^n, max)` scaled by a random factor in
/// `[1 - jitter, 1 + jitter]`; a server's `Retry-After` can only lengthen it, and never
/// past a cap (`delay_ms`: the schedule's `max`; `step_capped_delay_ms`: the step's own
/// longest delay), so a hostile or broken header can neither overflow a due time nor
/// park a retry for days.
#[derive(Debug, Clone, PartialEq)]
pub struct Backoff {
    pub initial_ms: f64,
    pub max_ms: f64,
    pub multiplier: f64,
    pub jitter: f64,
}

impl Backoff {
    /// Uploads: doubling from `initial` to `max`, ±25 % jitter.
    pub fn for_uploads(initial_ms: u64, max_ms: u64) -> Self {
        Self { initial_ms: initial_ms as f64, max_ms: max_ms as f64, multiplier: 2.0, jitter: 0.25 }
    }

    fn step(&self, n: u32) -> (f64, f64) {
        let exp = self.multiplier.powi(n.min(1_000) as i32);
        let base = (self.initial_ms * exp).min(self.max_ms);
        (base, self.jitter.clamp(0.0, 1.0))
    }

    fn jittered(&self, n: u32, random01: f64) -> u64 {
        let (base, jitter) = self.step(n);
        let factor = 1.0 - jitter + 2.0 * jitter * random01.clamp(0.0, 1.0);
        // `as` saturates (and maps NaN to 0): no overflow whatever the options.
        (base * factor).max(0.0).round() as u64
    }

    /// Delay before retry number `n` (0-based). `random01` is uniform in `[0, 1)`.
    /// `Retry-After` lengthens it up to the schedule's `max` (uploads:
    /// `upload.retryMaxDelayMs`).
    pub fn delay_ms(&self, n: u32, random01: f64, retry_after_ms: Option<u64>) -> u64 {
        let cap = self.max_ms.max(0.0).round() as u64;
        self.jittered(n, random01).max(retry_after_ms.unwrap_or(0).min(cap))
    }

    /// Like `delay_ms`, but `Retry-After` lengthens the delay only up to this step's
    /// longest jittered delay (the access gate: failing closed still comes within the
    /// documented budget).
    pub fn step_capped_delay_ms(&self, n: u32, random01: f64, retry_after_ms: Option<u64>) -> u64 {
        let (base, jitter) = self.step(n);
        let cap = (base * (1.0 + jitter)).max(0.0).round() as u64;
        self.jittered(n, random01).max(retry_after_ms.unwrap_or(0).min(cap))
    }

    /// The longest delay of the schedule (`max`).
    pub fn max_delay_ms(&self) -> u64 {
        self.max_ms.max(0.0).round() as u64
    }
}

/// Parses an HTTP `Retry-After` value: delay-seconds (digits only, as HTTP defines
/// them) or an HTTP-date, for which the shell passes `now_ms`.
pub fn parse_retry_after_ms(value: &str, now_ms: u64) -> Option<u64> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return parse_u64(value).map(|seconds| seconds.saturating_mul(1000));
    }
    parse_http_date_ms(value).map(|at| at.saturating_sub(now_ms))
}

/// IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the only date form servers send today.
fn parse_http_date_ms(value: &str) -> Option<u64> {
    // Exactly six whitespace-separated parts, read without collecting them (no `Vec`).
    let mut parts = value.split_whitespace();
    let mut part = [""; 6];
    for slot in part.iter_mut() {
        *slot = parts.next()?;
    }
    if parts.next().is_some() || part[5] != "GMT" {
        return None;
    }
    let day = parse_u64(part[1]).filter(|d| (1..=31).contains(d))?;
    const MONTHS: [&str; 12] =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let month = MONTHS.iter().position(|m| *m == part[2])? as u64 + 1;
    let year = parse_u64(part[3])?;
    // `hh:mm:ss`: exactly three numbers.
    let mut fields = split_byte(part[4], b':');
    let mut hms = [0u64; 3];
    for slot in hms.iter_mut() {
        *slot = parse_u64(fields.next()?)?;
    }
    if fields.next().is_some() || !(1970..=9999).contains(&year) || hms[0] > 23 || hms[1] > 59 || hms[2] > 60
    {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let (y, m) = if month <= 2 { (year - 1, month + 9) } else { (year, month - 3) };
    let era = y / 400;
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 86_400) + hms[0] * 3600 + hms[1] * 60 + hms[2]) * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_exponentially_to_the_cap() {
        let b = Backoff { initial_ms: 2000.0, max_ms: 20_000.0, multiplier: 2.0, jitter: 0.0 };
        let delays: Vec<u64> = (0..9).map(|n| b.delay_ms(n, 0.5, None)).collect();
        assert_eq!(delays, vec![2000, 4000, 8000, 16000, 20000, 20000, 20000, 20000, 20000]);
    }

    #[test]
    fn jitter_stays_within_its_band() {
        let b = Backoff::for_uploads(1000, 60_000);
        assert_eq!(b.delay_ms(0, 0.0, None), 750);
        assert_eq!(b.delay_ms(0, 0.999_999, None), 1250);
        assert_eq!(b.delay_ms(10, 0.5, None), 60_000);
    }

    #[test]
    fn retry_after_only_lengthens() {
        let b = Backoff::for_uploads(1000, 60_000);
        assert_eq!(b.delay_ms(0, 0.5, Some(30_000)), 30_000);
        assert_eq!(b.delay_ms(0, 0.5, Some(10)), 1000);
    }

    #[test]
    fn retry_after_is_capped_at_the_schedule_max_and_never_overflows() {
        let b = Backoff::for_uploads(1000, 60_000);
        assert_eq!(b.delay_ms(0, 0.5, Some(u64::MAX)), 60_000);
        assert_eq!(parse_retry_after_ms("99999999999999999999999", 0), None, "not a u64: ignored");
        assert_eq!(b.delay_ms(0, 0.5, parse_retry_after_ms("18446744073709551615", 0)), 60_000);
        let now = u64::MAX - 10;
        assert_eq!(now.saturating_add(b.delay_ms(3, 0.5, Some(u64::MAX))), u64::MAX);
    }

    #[test]
    fn the_gate_caps_retry_after_at_the_steps_longest_delay() {
        let b = Backoff { initial_ms: 2000.0, max_ms: 20_000.0, multiplier: 2.0, jitter: 0.25 };
        assert_eq!(b.step_capped_delay_ms(0, 0.5, Some(3_600_000)), 2_500);
        assert_eq!(b.step_capped_delay_ms(8, 0.5, Some(u64::MAX)), 25_000);
        assert_eq!(b.step_capped_delay_ms(0, 0.5, Some(2_200)), 2_200);
    }

    #[test]
    fn malformed_dates_are_ignored_instead_of_underflowing() {
        for value in [
            "Sun, 00 Nov 1994 08:49:37 GMT",
            "Thu, 00 Jan 1970 00:00:00 GMT",
            "Sun, 32 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 99:49:37 GMT",
            "Sun, 06 Nov 99999999999999 08:49:37 GMT",
            "Sun, 06 Nov 1994 08:49 GMT",
            "Sun, 06 Nov 1994 08:49:37:00 GMT",
            "Sun, 06 Nov 1994 08:49:x GMT",
            "Sun, 06 Nov 1994 08:49:37 GMT later",
            "06 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 08:49:37 UTC",
        ] {
            assert_eq!(parse_retry_after_ms(value, 0), None, "{value}");
        }
        assert_eq!(parse_retry_after_ms("Thu, 01 Jan 1970 00:00:00 GMT", 0), Some(0));
    }

    #[test]
    fn parses_retry_after_seconds_and_dates() {
        assert_eq!(parse_retry_after_ms("120", 0), Some(120_000));
        assert_eq!(parse_retry_after_ms("-1", 0), None);
        assert_eq!(parse_retry_after_ms("soon", 0), None);
        // 784111777 s since the epoch is Sun, 06 Nov 1994 08:49:37 GMT.
        let at = 784_111_777_000;
        assert_eq!(parse_retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", at - 5000), Some(5000));
        assert_eq!(parse_retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", at + 5000), Some(0));
    }
}
