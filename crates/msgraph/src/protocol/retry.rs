//! When to try a request again: after `Retry-After` when Graph sends one (seconds, decimals
//! allowed, or an HTTP date), else exponential backoff with jitter; never past a total budget.
//! Pure: the caller passes the attempt number, the time spent so far and the random jitter.

use std::time::Duration;

/// How a retry loop is bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// First backoff when Graph gives no `Retry-After`.
    pub base: Duration,
    /// Largest single wait.
    pub max_wait: Duration,
    /// Total time a request may spend waiting before it is given up.
    pub budget: Duration,
    /// Most attempts in all.
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    /// Microsoft's guidance for throttling and replication lag: backoff from one second,
    /// bounded; a minute and a half at most per request.
    fn default() -> Self {
        RetryPolicy {
            base: Duration::from_secs(1),
            max_wait: Duration::from_secs(30),
            budget: Duration::from_secs(90),
            max_attempts: 8,
        }
    }
}

/// What to do after a transient failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryDecision {
    /// Wait this long, then send again.
    RetryAfter(Duration),
    /// The budget is spent: report the failure.
    GiveUp,
}

/// Parses a `Retry-After` header: whole or decimal seconds (Graph sends `0.249` inside
/// `$batch`), or an HTTP date relative to `now`.
pub fn parse_retry_after(value: &str, now: jiff::Timestamp) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0)
            .then(|| Duration::from_secs_f64(secs.min(3_600.0)));
    }
    let date = jiff::fmt::rfc2822::parse(v).ok()?.timestamp();
    let wait = date.duration_since(now);
    Some(Duration::try_from(wait).unwrap_or(Duration::ZERO))
}

impl RetryPolicy {
    /// The decision for the `attempt`-th failure (1-based), having waited `waited` so far.
    /// `jitter` in `[0, 1)` spreads clients apart; `retry_after` is the server's wish.
    pub fn decide(
        self,
        attempt: u32,
        waited: Duration,
        retry_after: Option<Duration>,
        jitter: f64,
    ) -> RetryDecision {
        if attempt >= self.max_attempts {
            return RetryDecision::GiveUp;
        }
        let wait = retry_after.unwrap_or_else(|| {
            let exp = self.base.saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
            exp.mul_f64(0.5 + jitter.clamp(0.0, 1.0) / 2.0)
        });
        let wait = wait.min(self.max_wait);
        if waited + wait > self.budget {
            RetryDecision::GiveUp
        } else {
            RetryDecision::RetryAfter(wait)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> jiff::Timestamp {
        "2026-11-27T12:00:00Z".parse().unwrap()
    }

    #[test]
    fn retry_after_in_seconds_decimals_and_dates() {
        assert_eq!(parse_retry_after("10", now()), Some(Duration::from_secs(10)));
        assert_eq!(parse_retry_after("0.249", now()), Some(Duration::from_millis(249)));
        assert_eq!(
            parse_retry_after("Fri, 27 Nov 2026 12:00:05 GMT", now()),
            Some(Duration::from_secs(5))
        );
        assert_eq!(parse_retry_after("soon", now()), None);
        assert_eq!(parse_retry_after("-3", now()), None);
    }

    #[test]
    fn backoff_doubles_honours_retry_after_and_stops_at_the_budget() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.decide(1, Duration::ZERO, None, 1.0),
            RetryDecision::RetryAfter(Duration::from_secs(1))
        );
        assert_eq!(
            p.decide(3, Duration::ZERO, None, 1.0),
            RetryDecision::RetryAfter(Duration::from_secs(4))
        );
        assert_eq!(
            p.decide(3, Duration::ZERO, None, 0.0),
            RetryDecision::RetryAfter(Duration::from_secs(2)),
            "jitter halves at most"
        );
        assert_eq!(
            p.decide(2, Duration::ZERO, Some(Duration::from_secs(7)), 0.3),
            RetryDecision::RetryAfter(Duration::from_secs(7))
        );
        assert_eq!(
            p.decide(2, Duration::from_secs(85), Some(Duration::from_secs(7)), 0.3),
            RetryDecision::GiveUp
        );
        assert_eq!(p.decide(8, Duration::ZERO, None, 0.5), RetryDecision::GiveUp);
        assert_eq!(
            p.decide(12, Duration::ZERO, Some(Duration::from_mins(10)), 0.5),
            RetryDecision::GiveUp
        );
        assert_eq!(
            p.decide(2, Duration::ZERO, Some(Duration::from_mins(10)), 0.5),
            RetryDecision::RetryAfter(Duration::from_secs(30))
        );
    }
}
