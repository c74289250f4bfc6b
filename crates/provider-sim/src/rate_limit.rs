//! Fixed-window quotas per user: Fitbit's requests per clock hour (150 in real life), reported on every counted
//! response so that clients can pace themselves, and Google's Health API requests per clock minute (300).

use std::collections::HashMap;

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

#[cfg(test)]
mod tests {
    use super::*;

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
