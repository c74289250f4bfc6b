//! A request budget per child for the Google Health API. An app that Google has not verified yet gets about 2.5
//! requests per second per user (google-health-api.md §5.1), and a sync fires its parts concurrently: without a
//! shared budget the parts would trip the limit together and fail the sync on a 429. Every Health API call of a
//! child waits for its turn here, whichever part or sync of this instance makes it.

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::time::{Duration, Instant};

/// Above this many children in the table, children whose budget is full again are forgotten.
const FORGET_ABOVE: usize = 4096;

/// A token bucket per key: `rate` requests a second on average, bursts of up to `burst`.
pub struct Pacer {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

struct Bucket {
    /// Requests that may start now; negative when callers are already waiting for their turn.
    tokens: f64,
    at: Instant,
}

impl Pacer {
    /// `per_second` requests a second per key, with bursts of twice that (at least one request).
    pub fn new(per_second: f64) -> Self {
        Pacer { rate: per_second, burst: (2.0 * per_second).max(1.0), buckets: Mutex::new(HashMap::new()) }
    }

    /// Waits until `key` may send its next request, and takes that request from its budget.
    pub async fn wait_turn(&self, key: &str) {
        let wait = self.reserve(key, Instant::now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    /// Takes one request from `key`'s budget at `now` and says how long the caller must wait before sending it.
    fn reserve(&self, key: &str, now: Instant) -> Duration {
        let mut buckets = self.buckets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if buckets.len() > FORGET_ABOVE && !buckets.contains_key(key) {
            let (rate, burst) = (self.rate, self.burst);
            buckets.retain(|_, b| b.tokens + (now - b.at).as_secs_f64() * rate < burst);
        }
        let bucket = buckets.entry(key.to_string()).or_insert(Bucket { tokens: self.burst, at: now });
        bucket.tokens = (bucket.tokens + (now - bucket.at).as_secs_f64() * self.rate).min(self.burst);
        bucket.at = now;
        bucket.tokens -= 1.0;
        if bucket.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-bucket.tokens / self.rate)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_goes_at_once_then_requests_are_spaced_by_the_rate() {
        let pacer = Pacer::new(2.0);
        let start = Instant::now();
        let waits: Vec<Duration> = (0..7).map(|_| pacer.reserve("child", start)).collect();
        assert!(waits[..4].iter().all(Duration::is_zero), "{waits:?}");
        assert_eq!(waits[4..], [Duration::from_millis(500), Duration::from_millis(1000), Duration::from_millis(1500)]);
        // Another child has its own budget.
        assert!(pacer.reserve("other", start).is_zero());
        // After the queue drained and one more second, two requests are free again.
        let later = start + Duration::from_millis(1500 + 1000);
        assert!(pacer.reserve("child", later).is_zero());
        assert!(pacer.reserve("child", later).is_zero());
        assert!(!pacer.reserve("child", later).is_zero());
    }

    #[test]
    fn the_budget_never_grows_beyond_the_burst() {
        let pacer = Pacer::new(2.0);
        let start = Instant::now();
        pacer.reserve("child", start);
        let much_later = start + Duration::from_secs(3600);
        let free = (0..10).take_while(|_| pacer.reserve("child", much_later).is_zero()).count();
        assert_eq!(free, 4);
    }

    #[test]
    fn children_with_a_full_budget_are_forgotten_when_the_table_grows() {
        let pacer = Pacer::new(2.0);
        let start = Instant::now();
        for i in 0..=FORGET_ABOVE {
            pacer.reserve(&format!("child-{i}"), start);
        }
        pacer.reserve("newcomer", start + Duration::from_secs(10));
        assert_eq!(pacer.buckets.lock().unwrap().len(), 1);
    }
}
