//! The workers of one instance: up to `SYNC_CONCURRENCY` child syncs at a time, from new jobs and from jobs whose
//! worker died. On shutdown no new job is taken; running ones finish, and any left unacknowledged is reclaimed by
//! another instance. While Redis is away the loop backs off; when Redis answers that the consumer group is gone, the
//! group is made again at once and the epoch check (`recovery`) is asked to look.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::Semaphore;
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;
use tokio_util::task::AbortOnDropHandle;
use tracing::Instrument;

use super::{Job, JobQueue};
use crate::backoff::Backoff;
use crate::coordination::CoordinationError;
use crate::error_chain::Chain;
use crate::metrics::{self, JobOutcome};
use crate::provider::{ProviderErrorKind, RETRY_AFTER_CAP_SECS};
use crate::shutdown::Periodic;
use crate::sync::{SyncError, SyncService};

const IDLE_POLL: Duration = Duration::from_millis(250);
const PROMOTE_EVERY: Duration = Duration::from_secs(1);
/// The pauses between two tries while Redis does not answer: doubling from the idle poll, at most 10 s.
const REDIS_BACKOFF: Backoff = Backoff::doubling(IDLE_POLL).at_most(Duration::from_secs(10));
/// When the provider gives no reset time with its 429: Fitbit's window is an hour.
const DEFAULT_RATE_LIMIT_WAIT_SECS: u64 = 3600;

pub fn spawn_workers(queue: JobQueue, sync: SyncService, shutdown: CancellationToken) -> JoinHandle<()> {
    tokio::spawn(async move {
        let consumer = format!("{}-{}", std::process::id(), rand::random::<u32>());
        let periodic = Periodic::new(&shutdown, IDLE_POLL);
        let mut backoff = RedisFailures::default();
        while let Err(e) = queue.ensure_group().await {
            backoff.failed("Waiting for Redis to start the Fitbit data sync task", &e);
            if !periodic.next_after(backoff.pause()).await {
                return;
            }
        }
        backoff.succeeded();
        tracing::debug!("Fitbit data sync task started successfully!");
        let permits = Arc::new(Semaphore::new(queue.settings.concurrency));
        let mut running = JoinSet::new();
        let mut next_promote = tokio::time::Instant::now();
        let mut next_reclaim = tokio::time::Instant::now();
        while !shutdown.is_cancelled() {
            while running.try_join_next().is_some() {}
            let now = tokio::time::Instant::now();
            let polled = async {
                if now >= next_promote {
                    next_promote = now + PROMOTE_EVERY;
                    queue.promote_due(Utc::now().timestamp_millis()).await?;
                }
                let free = permits.available_permits();
                let mut jobs = Vec::new();
                if free > 0 && now >= next_reclaim {
                    next_reclaim = now + (queue.settings.reclaim_after / 2).max(Duration::from_millis(500));
                    jobs.extend(queue.reclaim(&consumer, free).await?.into_iter().map(|job| (job, true)));
                }
                let free = free - jobs.len();
                if free > 0 {
                    jobs.extend(queue.read(&consumer, free).await?.into_iter().map(|job| (job, false)));
                }
                Ok::<_, CoordinationError>(jobs)
            };
            let jobs = match polled.await {
                Ok(jobs) => {
                    backoff.succeeded();
                    jobs
                }
                Err(e) => {
                    if matches!(e, CoordinationError::StateLost(_)) {
                        queue.coordination().suspect_loss();
                        // The group again at once: the stream may already hold the recovery's new jobs.
                        if queue.ensure_group().await.is_ok() {
                            tracing::warn!("The sync job queue's consumer group was gone from Redis; made again");
                            continue;
                        }
                    }
                    backoff.failed("An error occurred processing queue for Fitbit sync", &e);
                    if periodic.next_after(backoff.pause()).await {
                        continue;
                    }
                    break;
                }
            };
            if jobs.is_empty() {
                if periodic.next().await {
                    continue;
                }
                break;
            }
            for (job, reclaimed) in jobs {
                let permit = permits.clone().acquire_owned().await.expect("the semaphore is never closed");
                let (queue, sync, consumer) = (queue.clone(), sync.clone(), consumer.clone());
                // At error level, so that the span exists whatever level the logs are kept at.
                let span = tracing::error_span!("job", child_id = %job.child, attempt = job.attempt, tick = job.tick);
                running.spawn(
                    async move {
                        run_job(&queue, &sync, &consumer, job, reclaimed).await;
                        drop(permit);
                    }
                    .instrument(span),
                );
            }
        }
        // Running syncs finish; their jobs are acknowledged as usual.
        while running.join_next().await.is_some() {}
    })
}

/// Pauses that double while Redis fails, and a log line when it starts failing, every tenth failure, and when it
/// answers again: an outage is reported, not repeated four times a second.
#[derive(Default)]
struct RedisFailures {
    failures: u32,
}

impl RedisFailures {
    fn failed(&mut self, what: &str, error: &CoordinationError) {
        self.failures += 1;
        if self.failures == 1 || self.failures.is_multiple_of(10) {
            tracing::warn!(
                "{what}. {} (failure {}; next try in {} ms)",
                Chain(error),
                self.failures,
                self.pause().as_millis()
            );
        }
    }

    fn succeeded(&mut self) {
        if self.failures > 0 {
            tracing::info!("Redis answers again after {} failed tries", self.failures);
        }
        self.failures = 0;
    }

    fn pause(&self) -> Duration {
        REDIS_BACKOFF.delay(self.failures)
    }
}

async fn run_job(queue: &JobQueue, sync: &SyncService, consumer: &str, mut job: Job, reclaimed: bool) {
    if reclaimed {
        tracing::warn!("Fitbit data sync job for child {} taken over from a worker that stopped", job.child);
        job.attempt += 1;
    }
    let result = if job.attempt > queue.settings.max_attempts {
        Err(None)
    } else {
        // A task of its own, so that a sync busy transforming a large page (it shares the job's task) never delays
        // the heartbeat past `reclaim_after` and gets its own job taken over while it runs. Dropped with the job.
        let _heartbeat = AbortOnDropHandle::new(tokio::spawn({
            let (queue, consumer, job) = (queue.clone(), consumer.to_string(), job.clone());
            async move {
                loop {
                    tokio::time::sleep(queue.settings.reclaim_after / 3).await;
                    if let Err(e) = queue.touch(&consumer, &job).await {
                        tracing::warn!("Heartbeat of the sync job of child {} failed: {}", job.child, Chain(&e));
                    }
                }
            }
            .in_current_span()
        }));
        match &job.target {
            Some(target) => sync.sync_notified(job.child, target).await,
            None => sync.sync(job.child).await,
        }
        .map_err(Some)
    };
    if let Err(Some(SyncError::Interrupted)) = result {
        // Stopped by the shutdown at a safe point: left pending, another worker (or this one after a restart)
        // reclaims it.
        tracing::info!("Fitbit data sync job for child {} interrupted by the shutdown; it stays queued", job.child);
        return;
    }
    let now_ms = Utc::now().timestamp_millis();
    let (again, outcome) = match &result {
        Ok(_) => {
            tracing::debug!("Fitbit data sync job for child {} has been executed!", job.child);
            if let Some(target) = &job.target {
                let seconds = (now_ms - target.notified_at_ms).max(0) as f64 / 1000.0;
                metrics::get().notification_to_published.observe(seconds);
            }
            (None, JobOutcome::Done)
        }
        Err(Some(SyncError::Provider(e))) if matches!(e.kind, ProviderErrorKind::RateLimited { .. }) => {
            let ProviderErrorKind::RateLimited { retry_after_secs } = e.kind else { unreachable!() };
            let wait = retry_after_secs.unwrap_or(DEFAULT_RATE_LIMIT_WAIT_SECS).clamp(1, RETRY_AFTER_CAP_SECS);
            tracing::warn!("Fitbit rate limit for child {}: the sync is rescheduled in {wait} s", job.child);
            let due_ms = now_ms.saturating_add(i64::try_from(wait).unwrap_or(i64::MAX).saturating_mul(1000));
            (Some((due_ms, job.attempt)), JobOutcome::Rescheduled)
        }
        Err(Some(e)) if e.is_transient() && job.attempt < queue.settings.max_attempts => {
            let delay = queue.settings.retry_backoff().delay(job.attempt);
            tracing::warn!(
                "An error occurred while syncing Fitbit data from child {}. {} (attempt {} of {}, next in {} s)",
                job.child,
                Chain(e),
                job.attempt,
                queue.settings.max_attempts,
                delay.as_secs()
            );
            (Some((now_ms + delay.as_millis() as i64, job.attempt + 1)), JobOutcome::Retried)
        }
        Err(e) => {
            let reason = e.as_ref().map_or_else(|| "too many attempts".to_string(), |e| Chain(e).to_string());
            tracing::error!("An error occurred while syncing Fitbit data from child {}. {reason}", job.child);
            (None, JobOutcome::Failed)
        }
    };
    metrics::get().job(outcome);
    match queue.finish(&job, again).await {
        Ok(true) => {}
        Ok(false) => {
            // Taken over by another worker, or gone with Redis's data (the recovery enqueues what is owed).
            tracing::warn!("The sync job of child {} was no longer this worker's to finish", job.child);
            return;
        }
        Err(e) => {
            // Left pending: another worker reclaims it.
            tracing::warn!("The sync job of child {} could not be acknowledged: {}", job.child, Chain(&e));
            return;
        }
    }
    if matches!(outcome, JobOutcome::Done | JobOutcome::Failed) {
        if let Err(e) = queue.count_finished(job.tick, outcome).await {
            tracing::warn!("Progress of sync tick {} not counted: {}", job.tick, Chain(&e));
        }
    }
}
