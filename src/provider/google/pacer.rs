//! A request budget per child for the Google Health API. An app that Google has not verified yet gets about 2.5
//! requests per second per user (docs/google-health.md#pacing), and a sync fires its parts concurrently: without a
//! shared budget the parts would trip the limit together and fail the sync on a 429. Every Health API call of a child
//! waits for its turn here, whichever part or sync of this instance makes it.
//!
//! A turn comes before the read takes its place among the instance's pages in flight (`provider::page::PageSlot`), so
//! that waiting for it holds none. The place, or the project's budget, may then keep the request a moment longer, and
//! requests whose turns were spaced could leave together: so the same budget is counted a second time as the requests
//! leave ([`Pacer::wait_departure`]). Without such a wait the second count never holds anyone back.

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::time::{Duration, Instant};

/// Above this many children in a table, children whose budget is full again are forgotten.
const FORGET_ABOVE: usize = 4096;

/// Token buckets per key: `rate` requests a second on average, bursts of up to `burst`.
pub struct Pacer {
    rate: f64,
    burst: f64,
    /// Counted when a read's turn comes.
    turns: Buckets,
    /// Counted when the request leaves.
    departures: Buckets,
}

#[derive(Default)]
struct Buckets(Mutex<HashMap<String, Bucket>>);

struct Bucket {
    /// Requests that may start now.
    tokens: f64,
    at: Instant,
}

impl Pacer {
    /// `per_second` requests a second per key, with bursts of twice that (at least one request).
    pub fn new(per_second: f64) -> Self {
        Pacer {
            rate: per_second,
            burst: (2.0 * per_second).max(1.0),
            turns: Buckets::default(),
            departures: Buckets::default(),
        }
    }

    /// Waits until `key` may send its next request, and takes that request from its budget. A request is taken only
    /// when it goes out: callers that wake late (a busy machine) never go out together beyond the burst.
    pub async fn wait_turn(&self, key: &str) {
        let started = Instant::now();
        self.wait(&self.turns, key).await;
        crate::metrics::get().google_pacing_wait.observe(started.elapsed().as_secs_f64());
    }

    /// Waits, when `key`'s requests would otherwise leave closer together than its budget allows, as they leave.
    pub async fn wait_departure(&self, key: &str) {
        self.wait(&self.departures, key).await;
    }

    async fn wait(&self, buckets: &Buckets, key: &str) {
        while let Some(wait) = buckets.try_take(key, Instant::now(), self.rate, self.burst) {
            tokio::time::sleep(wait).await;
        }
    }

    /// Google refused `key` a request for the user's quota: its next request waits at least `pause`.
    pub fn hold(&self, key: &str, pause: Duration) {
        for buckets in [&self.turns, &self.departures] {
            buckets.hold(key, pause, self.rate, self.burst);
        }
    }

    #[cfg(test)]
    fn try_take(&self, key: &str, now: Instant) -> Option<Duration> {
        self.turns.try_take(key, now, self.rate, self.burst)
    }
}

impl Buckets {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Bucket>> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn hold(&self, key: &str, pause: Duration, rate: f64, burst: f64) {
        let mut buckets = self.lock();
        let now = Instant::now();
        let bucket = buckets.entry(key.to_string()).or_insert(Bucket { tokens: burst, at: now });
        bucket.tokens = bucket.tokens.min(0.0) - pause.as_secs_f64() * rate;
        bucket.at = now;
    }

    /// Takes one request from `key`'s budget at `now`; or, when there is none, says how long until there is one.
    fn try_take(&self, key: &str, now: Instant, rate: f64, burst: f64) -> Option<Duration> {
        let mut buckets = self.lock();
        if buckets.len() > FORGET_ABOVE && !buckets.contains_key(key) {
            buckets.retain(|_, b| b.tokens + (now - b.at).as_secs_f64() * rate < burst);
        }
        let bucket = buckets.entry(key.to_string()).or_insert(Bucket { tokens: burst, at: now });
        bucket.tokens = (bucket.tokens + (now - bucket.at).as_secs_f64() * rate).min(burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            None
        } else {
            Some(Duration::from_secs_f64((1.0 - bucket.tokens) / rate))
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
        let waits: Vec<Option<Duration>> = (0..5).map(|_| pacer.try_take("child", start)).collect();
        assert!(waits[..4].iter().all(Option::is_none), "{waits:?}");
        assert_eq!(waits[4], Some(Duration::from_millis(500)));
        // Another child has its own budget.
        assert!(pacer.try_take("other", start).is_none());
        // Half a second later one request may go, and the next waits again.
        let later = start + Duration::from_millis(500);
        assert!(pacer.try_take("child", later).is_none());
        assert_eq!(pacer.try_take("child", later), Some(Duration::from_millis(500)));
    }

    #[test]
    fn a_child_held_by_a_429_waits_the_pause_and_the_others_do_not() {
        let pacer = Pacer::new(2.0);
        pacer.hold("child", Duration::from_secs(3));
        let wait = pacer.try_take("child", Instant::now()).expect("the held child waits");
        assert!(wait >= Duration::from_secs(3), "{wait:?}");
        assert!(pacer.try_take("other", Instant::now()).is_none());
    }

    #[test]
    fn callers_that_wake_late_never_go_out_beyond_the_burst() {
        let pacer = Pacer::new(2.0);
        let start = Instant::now();
        while pacer.try_take("child", start).is_none() {}
        // Eight callers were waiting; the machine stalled for ten seconds before any of them woke.
        let late = start + Duration::from_secs(10);
        let gone = (0..8).filter(|_| pacer.try_take("child", late).is_none()).count();
        assert_eq!(gone, 4);
    }

    #[test]
    fn requests_whose_turns_were_spaced_still_leave_no_closer_than_the_budget() {
        let pacer = Pacer::new(2.0);
        let start = Instant::now();
        // Six turns over a second: the burst of four, then one each half second.
        let turns = [0, 0, 0, 0, 500, 1000]
            .iter()
            .filter(|ms| pacer.try_take("child", start + Duration::from_millis(**ms)).is_none());
        assert_eq!(turns.count(), 6);
        // All six waited for page places and leave together: the burst goes, the rest waits its turn again.
        let together = start + Duration::from_secs(2);
        let (rate, burst) = (pacer.rate, pacer.burst);
        let left = (0..6).filter(|_| pacer.departures.try_take("child", together, rate, burst).is_none()).count();
        assert_eq!(left, 4);
    }

    #[test]
    fn the_budget_never_grows_beyond_the_burst() {
        let pacer = Pacer::new(2.0);
        let start = Instant::now();
        pacer.try_take("child", start);
        let much_later = start + Duration::from_secs(3600);
        let free = (0..10).take_while(|_| pacer.try_take("child", much_later).is_none()).count();
        assert_eq!(free, 4);
    }

    #[test]
    fn children_with_a_full_budget_are_forgotten_when_the_table_grows() {
        let pacer = Pacer::new(2.0);
        let start = Instant::now();
        for i in 0..=FORGET_ABOVE {
            pacer.try_take(&format!("child-{i}"), start);
        }
        pacer.try_take("newcomer", start + Duration::from_secs(10));
        assert_eq!(pacer.turns.lock().len(), 1);
    }
}
