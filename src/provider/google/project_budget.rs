//! One Health API request budget for the whole Cloud project, shared by every instance through Redis: Google counts a
//! project's requests together (120,000 a minute), while each instance paces only its own children
//! (docs/google-health.md#pacing). A generic cell rate algorithm (GCRA) in one Lua script, on Redis's clock so that
//! instances with skewed clocks agree, allowing a burst of one second's worth. A 429 that names the project pauses
//! every child of every instance for a moment. If Redis cannot be reached the calls go on under the per-child budget
//! alone: still paced, never unbounded, and not slowed either: while Redis is away one call a second tries it, and the
//! others do not wait for that try.

use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::coordination::{Coordination, CoordinationError};
use crate::error_chain::Chain;
use crate::metrics::{self, QuotaLabels, QuotaScope};

/// Takes one request from the budget: 0 when it may go now, else the milliseconds to wait (a pause, or the time the
/// next request is due). KEYS: theoretical arrival time, pause; ARGV: interval ms, tolerance ms.
static TAKE: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r#"
local paused = redis.call('PTTL', KEYS[2])
if paused > 0 then return paused end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
if tat - tolerance > now then return math.ceil(tat - tolerance - now) end
local next_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%.3f', next_tat), 'PX', math.ceil(next_tat - now + tolerance) + 1000)
return 0
"#,
    )
});

/// How long every child waits after a 429 that names the project, when Google gives no `Retry-After`.
pub const PROJECT_PAUSE: Duration = Duration::from_secs(2);
/// While Redis is away, how often a call tries it again.
const RETRY_REDIS_EVERY: Duration = Duration::from_secs(1);
/// How long a call waits for Redis's answer before it goes on under its child's pace alone: Redis answers within a
/// millisecond when it is there, while a call to a dead one waits for a reconnection of a few seconds.
const REDIS_ANSWER_WITHIN: Duration = Duration::from_millis(500);

pub struct ProjectBudget {
    coordination: Arc<Coordination>,
    tat_key: String,
    pause_key: String,
    interval_ms: f64,
    tolerance_ms: f64,
    /// While Redis is away: when a call may try it again (the outage is logged once, not per request).
    redis_retry_at: Mutex<Option<Instant>>,
}

impl ProjectBudget {
    /// The budget of the project whose OAuth client is `client_id`, shared by every instance of the deployment whose
    /// MongoDB database is `namespace` (as the job queue is).
    pub fn new(coordination: Arc<Coordination>, namespace: &str, client_id: &str, per_minute: u32) -> Self {
        let interval_ms = 60_000.0 / f64::from(per_minute.max(1));
        let burst = (f64::from(per_minute) / 60.0).max(1.0);
        ProjectBudget {
            coordination,
            tat_key: format!("ds-agent:{namespace}:google-project:{client_id}:tat"),
            pause_key: format!("ds-agent:{namespace}:google-project:{client_id}:pause"),
            interval_ms,
            tolerance_ms: interval_ms * (burst - 1.0),
            redis_retry_at: Mutex::new(None),
        }
    }

    /// Waits until the project may send one more request, and takes it.
    pub async fn take(&self) {
        if !self.may_try_redis() {
            return;
        }
        loop {
            let answer = tokio::time::timeout(REDIS_ANSWER_WITHIN, self.try_take()).await;
            match answer.unwrap_or(Err(CoordinationError::TimedOut)) {
                Ok(0) => break,
                Ok(wait_ms) => tokio::time::sleep(Duration::from_millis(wait_ms)).await,
                Err(e) => {
                    let mut retry_at = self.retry_at();
                    if retry_at.is_none() {
                        tracing::warn!(
                            "The Google project's request budget is not shared while Redis is away: {}",
                            Chain(&e)
                        );
                    }
                    *retry_at = Some(Instant::now() + RETRY_REDIS_EVERY);
                    return;
                }
            }
        }
        if self.retry_at().take().is_some() {
            tracing::info!("The Google project's request budget is shared through Redis again");
        }
    }

    /// Whether this call asks Redis: always while it answers; while it is away, one call a second (this one, if its
    /// time has come), so that the others go on at once under their child's pace.
    fn may_try_redis(&self) -> bool {
        let mut retry_at = self.retry_at();
        match *retry_at {
            Some(at) if Instant::now() < at => false,
            Some(_) => {
                *retry_at = Some(Instant::now() + RETRY_REDIS_EVERY);
                true
            }
            None => true,
        }
    }

    fn retry_at(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        self.redis_retry_at.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    async fn try_take(&self) -> Result<u64, CoordinationError> {
        let mut conn = self.coordination.connection().await?;
        let wait: i64 = TAKE
            .key(&self.tat_key)
            .key(&self.pause_key)
            .arg(self.interval_ms)
            .arg(self.tolerance_ms)
            .invoke_async(&mut conn)
            .await?;
        Ok(wait.max(0) as u64)
    }

    /// Google refused a request for the project's quota: every child of every instance waits `pause`.
    pub async fn pause(&self, pause: Duration) {
        metrics::get().google_quota_refusals.get_or_create(&QuotaLabels { scope: QuotaScope::Project }).inc();
        tracing::warn!(
            "Google refused a request for the project's quota: every Google child waits {} ms",
            pause.as_millis()
        );
        let paused = async {
            let mut conn = self.coordination.connection().await?;
            redis::cmd("SET")
                .arg(&self.pause_key)
                .arg(1)
                .arg("PX")
                .arg(pause.as_millis() as u64)
                .query_async::<()>(&mut conn)
                .await?;
            Ok::<_, CoordinationError>(())
        };
        if let Err(e) = paused.await {
            // This instance still waits out its own retry; the others meet the 429 themselves.
            tracing::warn!("The project's pause is not shared while Redis is away: {}", Chain(&e));
        }
    }
}

/// Whether a 429's body is a `QuotaFailure` of the project (a violation whose subject names it), not of one user.
pub fn names_project(body: &[u8]) -> bool {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else { return false };
    let details = value.pointer("/error/details").and_then(serde_json::Value::as_array);
    details.into_iter().flatten().filter_map(|detail| detail.get("violations")?.as_array()).flatten().any(|violation| {
        violation
            .get("subject")
            .and_then(serde_json::Value::as_str)
            .is_some_and(|subject| subject.starts_with("project"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A budget on a Redis that does not answer (nothing listens on port 1).
    fn unreachable(per_minute: u32) -> ProjectBudget {
        let coordination = Coordination::new("redis://127.0.0.1:1", Duration::from_millis(300)).unwrap();
        ProjectBudget::new(Arc::new(coordination), "unit", "client", per_minute)
    }

    #[tokio::test]
    async fn without_redis_the_budget_lets_calls_go_on_under_the_per_child_pace() {
        let budget = unreachable(1);
        let started = std::time::Instant::now();
        for _ in 0..3 {
            budget.take().await;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "not blocked: {:?}", started.elapsed());
        assert!(budget.retry_at().is_some(), "the outage is noted, to be logged once");
        // The calls after it do not try Redis again within the second, and so do not wait for it.
        assert!(!budget.may_try_redis());
    }

    #[test]
    fn a_429_names_the_project_only_through_a_project_violation() {
        let project = br#"{"error":{"code":429,"status":"RESOURCE_EXHAUSTED","details":[
            {"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"RATE_LIMIT_EXCEEDED"},
            {"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"subject":"project:123456789"}]}]}}"#;
        let user = br#"{"error":{"code":429,"details":[
            {"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"subject":"user"}]}]}}"#;
        assert!(names_project(project));
        assert!(!names_project(user));
        assert!(!names_project(br#"{"error":{"code":429,"status":"RESOURCE_EXHAUSTED"}}"#));
        assert!(!names_project(b"<html>Too Many Requests</html>"));
    }
}
