//! What an operator needs to answer "why is this child's data missing?" in one read: the child's provider and token
//! status, its `last_sync`, whether a sync runs now, the last sync's outcome, the last Google notification, and
//! whether a job waits (and until when). Served by `GET /v1/users/:user_id/fitbit/sync/status`. It costs two indexed
//! MongoDB reads (`userauths` by `user_id`, `syncoutcomes` by `_id`) and two Redis round trips. Nothing secret is in it.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::coordination::CoordinationError;
use crate::domain::{ChildId, ProviderKind, TokenStatus};
use crate::jobs::JobQueue;
use crate::store::{RecordedOutcome, StoreError, SyncOutcomes, SyncResult, UserAuths};
use crate::sync::SyncService;

#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Coordination(#[from] CoordinationError),
}

#[derive(Debug, Serialize)]
pub struct ChildStatus {
    pub child_id: String,
    pub provider: ProviderKind,
    pub token_status: Option<TokenStatus>,
    pub last_sync: Option<String>,
    /// A sync of the child runs now, on some instance.
    pub running: bool,
    pub last_outcome: Option<LastOutcome>,
    /// When Google notifications last made a sync job for the child.
    pub last_notification_at: Option<String>,
    pub job: JobState,
}

#[derive(Debug, Serialize)]
pub struct LastOutcome {
    /// `success`, `accepted` (the route answered 202; the sync went on), `failed` or `interrupted`.
    pub result: SyncResult,
    /// The internal code of a provider failure.
    pub code: Option<u16>,
    pub message: Option<String>,
    pub started_at: String,
    pub at: String,
    /// What the sync published (the sync route's 200 body), when it succeeded.
    pub counts: Option<serde_json::Value>,
}

#[derive(Debug, Serialize)]
pub struct JobState {
    /// A job is queued, running or waiting for a retry.
    pub queued: bool,
    /// When the waiting retry is due.
    pub retry_at: Option<String>,
}

#[derive(Clone)]
pub struct StatusReader {
    userauths: UserAuths,
    outcomes: SyncOutcomes,
    jobs: JobQueue,
    sync: SyncService,
}

impl StatusReader {
    pub fn new(userauths: UserAuths, outcomes: SyncOutcomes, jobs: JobQueue, sync: SyncService) -> Self {
        StatusReader { userauths, outcomes, jobs, sync }
    }

    /// The child's status; `None` when the child has no authorization.
    pub async fn read(&self, child: ChildId) -> Result<Option<ChildStatus>, StatusError> {
        let (stored, outcome) = tokio::join!(self.userauths.find(child), self.outcomes.find(child));
        let Some(stored) = stored? else { return Ok(None) };
        let (running, queue) = tokio::join!(self.sync.is_running(child), self.jobs.child_state(child));
        let queue = queue?;
        Ok(Some(ChildStatus {
            child_id: child.to_string(),
            provider: stored.auth.provider,
            token_status: stored.auth.status,
            last_sync: stored.auth.last_sync,
            running: running?,
            last_outcome: outcome?.map(LastOutcome::from),
            last_notification_at: queue.notified_at_ms.and_then(iso_ms),
            job: JobState { queued: queue.queued, retry_at: queue.retry_at_ms.and_then(iso_ms) },
        }))
    }
}

impl From<RecordedOutcome> for LastOutcome {
    fn from(outcome: RecordedOutcome) -> Self {
        LastOutcome {
            result: outcome.result,
            code: outcome.code,
            message: outcome.message,
            started_at: iso(outcome.started_at),
            at: iso(outcome.at),
            counts: outcome.counts.and_then(|counts| serde_json::to_value(counts).ok()),
        }
    }
}

/// ISO 8601 with milliseconds, as the service's events write times.
fn iso(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn iso_ms(epoch_ms: i64) -> Option<String> {
    DateTime::from_timestamp_millis(epoch_ms).map(iso)
}
