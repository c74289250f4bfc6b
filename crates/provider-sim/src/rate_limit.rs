//! Fitbit's quota: a number of requests per user per clock hour (150 in real life), reported on every counted response
//! so that clients can pace themselves.

use std::collections::HashMap;

#[derive(Default)]
pub(crate) struct RateLimiter {
    /// Per user: the hour (epoch seconds / 3600) being counted and the requests seen in it.
    windows: HashMap<String, (i64, u32)>,
}

/// The state of a user's quota after one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Quota {
    pub limit: u32,
    pub remaining: u32,
    /// Seconds to the top of the hour, when the quota refills.
    pub reset_secs: i64,
    pub exceeded: bool,
}

impl RateLimiter {
    /// Counts one request of `user` at `now` (epoch seconds).
    pub(crate) fn consume(&mut self, user: &str, limit: u32, now: i64) -> Quota {
        let hour = now.div_euclid(3600);
        let window = self.windows.entry(user.to_string()).or_insert((hour, 0));
        if window.0 != hour {
            *window = (hour, 0);
        }
        window.1 = window.1.saturating_add(1);
        Quota {
            limit,
            remaining: limit.saturating_sub(window.1),
            reset_secs: 3600 - now.rem_euclid(3600),
            exceeded: window.1 > limit,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quota_is_per_user_and_refills_at_the_top_of_the_hour() {
        let mut limiter = RateLimiter::default();
        let at = 7200 + 3000;
        assert_eq!(limiter.consume("A", 2, at), Quota { limit: 2, remaining: 1, reset_secs: 600, exceeded: false });
        assert!(!limiter.consume("A", 2, at).exceeded);
        assert!(!limiter.consume("B", 2, at).exceeded);
        assert!(limiter.consume("A", 2, at + 599).exceeded);
        assert_eq!(limiter.consume("A", 2, at + 600).remaining, 1);
    }
}
