//! One cron tick: exactly one instance lists every child with a valid token, a page at a time, and enqueues them
//! (docs/decisions.md#the-cron-syncs-every-child). The tick's progress (enqueued, done, failed) is kept in Redis, so
//! whichever instance finishes the last job of a tick logs its summary. The tick itself is noted in MongoDB first, so
//! that if Redis loses the tick's jobs, [`JobQueue::catch_up`] knows which children are still owed a sync.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::JobQueue;
use crate::coordination::CoordinationError;
use crate::domain::{ChildId, ProviderKind};
use crate::metrics::JobOutcome;
use crate::store::{StoreError, UserAuths};

const PAGE: i64 = 500;
/// Long enough to cover a tick's jobs, short enough to keep Redis tidy.
const PROGRESS_TTL_SECS: u64 = 7 * 24 * 3600;

#[derive(Debug, thiserror::Error)]
pub enum TickError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Coordination(#[from] CoordinationError),
}

impl JobQueue {
    /// Runs the tick scheduled at `scheduled` unless another instance has; returns the children enqueued, `None`
    /// when another instance had the tick.
    pub async fn tick(&self, userauths: &UserAuths, scheduled: DateTime<Utc>) -> Result<Option<usize>, TickError> {
        self.ticks().record(scheduled).await?;
        let tick = scheduled.timestamp();
        let claim = self.keys().tick_claim(tick);
        let mut conn = self.coordination().connection().await?;
        let claimed: Option<String> = redis::cmd("SET")
            .arg(&claim)
            .arg(1)
            .arg("NX")
            .arg("EX")
            .arg(PROGRESS_TTL_SECS)
            .query_async(&mut conn)
            .await
            .map_err(CoordinationError::from)?;
        if claimed.is_none() {
            return Ok(None);
        }
        match self.run_tick(userauths, scheduled).await {
            Ok(enqueued) => Ok(Some(enqueued)),
            Err(e) => {
                // Unclaimed again, so that the retry (here or on another instance) runs it: enqueuing is idempotent.
                let released: Result<(), _> = redis::cmd("DEL").arg(&claim).query_async(&mut conn).await;
                if let Err(release) = released {
                    tracing::warn!("Sync tick {tick} stays claimed until its claim expires: {release}");
                }
                Err(e)
            }
        }
    }

    /// After Redis lost its state: enqueues every child that the latest tick still owes a sync (no `last_sync`, or
    /// one older than the tick), as part of that tick. Returns how many were enqueued.
    pub async fn catch_up(&self, userauths: &UserAuths) -> Result<usize, TickError> {
        let Some(tick) = self.ticks().latest().await? else { return Ok(0) };
        let Some(at) = DateTime::from_timestamp(tick, 0) else { return Ok(0) };
        let at = at.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let (mut enqueued, mut after) = (0, None);
        loop {
            let page = userauths.valid_children_page(after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.id);
            let owed: Vec<ChildId> = page
                .iter()
                .filter(|valid| valid.last_sync.as_deref().is_none_or(|last_sync| last_sync < at.as_str()))
                .map(|valid| valid.child)
                .collect();
            enqueued += self.enqueue(&owed, tick).await?;
            if page.len() < PAGE as usize {
                break;
            }
        }
        Ok(enqueued)
    }

    async fn run_tick(&self, userauths: &UserAuths, scheduled: DateTime<Utc>) -> Result<usize, TickError> {
        let tick = scheduled.timestamp();
        let mut conn = self.coordination().connection().await?;
        let started = Instant::now();
        let progress = self.keys().tick(tick);
        redis::pipe()
            .cmd("HSET")
            .arg(&progress)
            .arg("started_ms")
            .arg(Utc::now().timestamp_millis())
            .ignore()
            .cmd("EXPIRE")
            .arg(&progress)
            .arg(PROGRESS_TTL_SECS)
            .ignore()
            .query_async::<()>(&mut conn)
            .await
            .map_err(CoordinationError::from)?;

        let (mut enqueued, mut listed, mut after) = (0usize, 0usize, None);
        let mut stale = 0;
        let mut by_provider: std::collections::HashMap<ProviderKind, i64> = Default::default();
        loop {
            let page = userauths.valid_children_page(after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.id);
            listed += page.len();
            for valid in &page {
                *by_provider.entry(valid.provider).or_default() += 1;
            }
            let children: Vec<_> = page.iter().map(|valid| valid.child).collect();
            if let Some(stale_after) = self.settings.stale_after {
                let google: Vec<_> = page
                    .iter()
                    .filter(|valid| valid.provider == ProviderKind::Google)
                    .map(|valid| valid.child)
                    .collect();
                stale += self.without_notifications(&google, stale_after).await?;
            }
            // Counted before the jobs exist, so a fast worker never sees more done than enqueued.
            redis::cmd("HINCRBY")
                .arg(&progress)
                .arg("enqueued")
                .arg(children.len())
                .query_async::<i64>(&mut conn)
                .await
                .map_err(CoordinationError::from)?;
            let added = self.enqueue(&children, tick).await?;
            if added < children.len() {
                let already = (children.len() - added) as i64;
                redis::cmd("HINCRBY")
                    .arg(&progress)
                    .arg("enqueued")
                    .arg(-already)
                    .query_async::<i64>(&mut conn)
                    .await
                    .map_err(CoordinationError::from)?;
            }
            enqueued += added;
            if page.len() < PAGE as usize {
                break;
            }
        }
        for provider in ProviderKind::ALL {
            let labels = crate::metrics::ProviderLabels { provider };
            crate::metrics::get().children.get_or_create(&labels).set(by_provider.get(&provider).copied().unwrap_or(0));
        }
        if listed == 0 {
            tracing::warn!("There are no users with Fitbit access to perform synchronization...");
        }
        if let Some(stale_after) = self.settings.stale_after {
            crate::metrics::get().google_children_without_notifications.set(stale as i64);
            if stale > 0 {
                tracing::info!(
                    "{stale} Google children had no notification for {} h; the cron syncs them",
                    stale_after.as_secs() / 3600
                );
            }
        }
        tracing::info!(
            "Fitbit sync tick {}: {enqueued} children enqueued ({} already queued) in {} ms",
            scheduled.to_rfc3339(),
            listed - enqueued,
            started.elapsed().as_millis()
        );
        redis::cmd("HSET")
            .arg(&progress)
            .arg("listed")
            .arg(1)
            .query_async::<i64>(&mut conn)
            .await
            .map_err(CoordinationError::from)?;
        self.report_if_finished(tick).await?;
        Ok(enqueued)
    }

    /// How many of the Google `children` had no notification for `stale_after` (or none on record).
    async fn without_notifications(&self, children: &[ChildId], stale_after: Duration) -> Result<usize, TickError> {
        if children.is_empty() {
            return Ok(0);
        }
        let mut conn = self.coordination().connection().await?;
        let mut command = redis::cmd("HMGET");
        command.arg(self.keys().notify_last());
        for child in children {
            command.arg(child.to_string());
        }
        let last: Vec<Option<i64>> = command.query_async(&mut conn).await.map_err(CoordinationError::from)?;
        let since = Utc::now().timestamp_millis() - stale_after.as_millis() as i64;
        Ok(last.iter().filter(|at| at.is_none_or(|at| at < since)).count())
    }

    /// Counts a finished job of `tick` (`done` or `failed`), and logs the tick's summary once all are finished.
    pub async fn count_finished(&self, tick: i64, outcome: JobOutcome) -> Result<(), CoordinationError> {
        let field = outcome.as_str();
        if tick == 0 {
            return Ok(());
        }
        let mut conn = self.coordination().connection().await?;
        let progress = self.keys().tick(tick);
        // The expiry again: after a loss of Redis's state this may be the hash's first field.
        redis::pipe()
            .cmd("HINCRBY")
            .arg(&progress)
            .arg(field)
            .arg(1)
            .ignore()
            .cmd("EXPIRE")
            .arg(&progress)
            .arg(PROGRESS_TTL_SECS)
            .ignore()
            .query_async::<()>(&mut conn)
            .await?;
        self.report_if_finished(tick).await
    }

    async fn report_if_finished(&self, tick: i64) -> Result<(), CoordinationError> {
        let progress = self.keys().tick(tick);
        let mut conn = self.coordination().connection().await?;
        let fields: std::collections::HashMap<String, i64> =
            redis::cmd("HGETALL").arg(&progress).query_async(&mut conn).await?;
        let get = |name: &str| fields.get(name).copied().unwrap_or(0);
        let (enqueued, done, failed) = (get("enqueued"), get("done"), get("failed"));
        if get("listed") != 1 || done + failed < enqueued {
            return Ok(());
        }
        let first: i64 = redis::cmd("HSETNX").arg(&progress).arg("reported").arg(1).query_async(&mut conn).await?;
        if first == 1 {
            let seconds = (Utc::now().timestamp_millis() - get("started_ms")) as f64 / 1000.0;
            tracing::info!(
                "Fitbit sync tick {tick} finished: {enqueued} children enqueued, {done} done, {failed} failed, in {seconds:.1} s"
            );
            tracing::debug!("All jobs in the Fitbit data sync queue have been executed!");
        }
        Ok(())
    }
}
