//! Fixed-window quotas per user: Fitbit's requests per clock hour (150 in real life), reported on every counted
//! response so that clients can pace themselves, and Google's Health API requests per clock minute (300). Besides,
//! token buckets per user for Google's per-second pacing of unverified apps (2.5 requests per second), which a client
//! that bursts meets long before the per-minute quota.

use std::collections::HashMap;
use std::time::Instant;

pub(crate) struct RateLimiter {
    /// Length of a window in seconds; windows start at multiples of it since the epoch.
    window_secs: i64,
    /// Per user: the window (epoch seconds / `window_secs`) being counted and the requests seen in it.
    windows: HashMap<String, (i64, u32)>,
}

/// The state of a user's quota after one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Quota {
    pub limit: u32,
    pub remaining: u32,
    /// Seconds to the end of the window, when the quota refills.
    pub reset_secs: i64,
    pub exceeded: bool,
}

impl RateLimiter {
    pub(crate) fn hourly() -> RateLimiter {
        RateLimiter { window_secs: 3600, windows: HashMap::new() }
    }

    pub(crate) fn per_minute() -> RateLimiter {
        RateLimiter { window_secs: 60, windows: HashMap::new() }
    }

    /// Counts one request of `user` at `now` (epoch seconds).
    pub(crate) fn consume(&mut self, user: &str, limit: u32, now: i64) -> Quota {
        let current = now.div_euclid(self.window_secs);
        let window = self.windows.entry(user.to_string()).or_insert((current, 0));
        if window.0 != current {
            *window = (current, 0);
        }
        window.1 = window.1.saturating_add(1);
        Quota {
            limit,
            remaining: limit.saturating_sub(window.1),
            reset_secs: self.window_secs - now.rem_euclid(self.window_secs),
            exceeded: window.1 > limit,
        }
    }
}

/// Per user: the tokens left and when they were counted.
#[derive(Default)]
pub(crate) struct TokenBuckets {
    buckets: HashMap<String, (f64, Instant)>,
}

impl TokenBuckets {
    /// Takes one of `user`'s tokens at `now`, false when there is none. A bucket holds `2 * rate` tokens (at least
    /// one), starts full and refills at `rate` per second.
    pub(crate) fn take(&mut self, user: &str, rate: f64, now: Instant) -> bool {
        let capacity = (2.0 * rate).max(1.0);
        let (tokens, at) = self.buckets.entry(user.to_string()).or_insert((capacity, now));
        let elapsed = now.saturating_duration_since(*at).as_secs_f64();
        *tokens = (*tokens + elapsed * rate.max(0.0)).min(capacity);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Forgets every bucket, for a new rate: buckets start full again.
    pub(crate) fn clear(&mut self) {
        self.buckets.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_bucket_allows_a_burst_of_twice_the_rate_then_the_rate() {
        let mut buckets = TokenBuckets::default();
        let start = Instant::now();
        assert_eq!((0..6).filter(|_| buckets.take("A", 2.5, start)).count(), 5, "a burst of 5");
        assert!(buckets.take("B", 2.5, start), "per user");
        assert!(!buckets.take("A", 2.5, start + Duration::from_millis(300)), "0.75 of a token");
        assert!(buckets.take("A", 2.5, start + Duration::from_millis(500)), "a token once 0.4 s have passed");
        let later = start + Duration::from_secs(60);
        assert_eq!((0..9).filter(|_| buckets.take("A", 2.5, later)).count(), 5, "never more than the capacity");
        assert!(buckets.take("C", 0.1, start) && !buckets.take("C", 0.1, start), "a bucket holds one token at least");
        buckets.clear();
        assert!(buckets.take("A", 2.5, later), "full again");
    }

    #[test]
    fn the_quota_is_per_user_and_refills_at_the_top_of_the_hour() {
        let mut limiter = RateLimiter::hourly();
        let at = 7200 + 3000;
        assert_eq!(limiter.consume("A", 2, at), Quota { limit: 2, remaining: 1, reset_secs: 600, exceeded: false });
        assert!(!limiter.consume("A", 2, at).exceeded);
        assert!(!limiter.consume("B", 2, at).exceeded);
        assert!(limiter.consume("A", 2, at + 599).exceeded);
        assert_eq!(limiter.consume("A", 2, at + 600).remaining, 1);
    }

    #[test]
    fn a_per_minute_quota_refills_every_minute() {
        let mut limiter = RateLimiter::per_minute();
        assert_eq!(limiter.consume("A", 1, 125).reset_secs, 55);
        assert!(limiter.consume("A", 1, 179).exceeded);
        assert!(!limiter.consume("A", 1, 180).exceeded);
    }
}
