//! Exponential backoff, the one policy every retry of the service uses: per-request retries of provider calls
//! (`provider::retry`), a 429 without `Retry-After` (`provider::google`), the record of confirmed items
//! (`sync::engine`), the job queue's pauses while Redis fails and a job's retries (`jobs::worker`), the cron tick's
//! retries (`jobs::scheduler`) and the revocation retries (`tokens::revocations`). Cross-cutting, like `shutdown`:
//! any layer may use it. How the retries stack is in docs/decisions.md#how-retries-stack.

use std::time::Duration;

/// Delays that grow by `factor` from `first`, at most `max`, each plus a random `jitter` in `[0, jitter)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    pub first: Duration,
    pub factor: u32,
    pub max: Duration,
    pub jitter: Duration,
}

impl Backoff {
    /// Doubling from `first`, without bound nor jitter.
    pub const fn doubling(first: Duration) -> Self {
        Backoff { first, factor: 2, max: Duration::MAX, jitter: Duration::ZERO }
    }

    /// The same, never longer than `max` (before the jitter).
    pub const fn at_most(self, max: Duration) -> Self {
        Backoff { max, ..self }
    }

    /// The same, plus a random part below `jitter`, so that those who failed together do not come back together.
    pub const fn with_jitter(self, jitter: Duration) -> Self {
        Backoff { jitter, ..self }
    }

    /// The delay after failed attempt `attempt` (1 for the first): `first × factor^(attempt − 1)`, at most `max`,
    /// plus the jitter. Never overflows.
    pub fn delay(&self, attempt: u32) -> Duration {
        let growth = self.factor.checked_pow(attempt.saturating_sub(1));
        let delay = growth.and_then(|growth| self.first.checked_mul(growth)).unwrap_or(Duration::MAX).min(self.max);
        delay.saturating_add(self.random_jitter())
    }

    fn random_jitter(&self) -> Duration {
        match u64::try_from(self.jitter.as_nanos()).unwrap_or(u64::MAX) {
            0 => Duration::ZERO,
            nanos => Duration::from_nanos(rand::random::<u64>() % nanos),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn delays_grow_by_the_factor_up_to_the_bound() {
        let backoff = Backoff::doubling(SECOND).at_most(SECOND * 5);
        let delays: Vec<u64> = (1..=5).map(|attempt| backoff.delay(attempt).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 5, 5]);
        assert_eq!(backoff.delay(0), SECOND, "attempt 0 reads as the first");
        let tripling = Backoff { factor: 3, ..Backoff::doubling(SECOND) };
        assert_eq!(tripling.delay(3), SECOND * 9);
    }

    #[test]
    fn huge_attempts_saturate_at_the_bound() {
        assert_eq!(Backoff::doubling(SECOND).at_most(SECOND * 60).delay(u32::MAX), SECOND * 60);
        assert_eq!(Backoff::doubling(SECOND).delay(200), Duration::MAX);
        assert_eq!(Backoff::doubling(SECOND).with_jitter(SECOND).delay(200), Duration::MAX, "no overflow");
    }

    #[test]
    fn the_jitter_adds_less_than_itself() {
        let backoff = Backoff::doubling(SECOND).at_most(SECOND * 2).with_jitter(Duration::from_millis(250));
        for attempt in 1..50 {
            let delay = backoff.delay(attempt);
            let base = SECOND * 2u32.pow(attempt.min(2) - 1);
            assert!(delay >= base && delay < base + Duration::from_millis(250), "{attempt}: {delay:?}");
        }
        assert_ne!((0..20).map(|_| backoff.delay(1)).collect::<std::collections::HashSet<_>>().len(), 1);
    }
}
