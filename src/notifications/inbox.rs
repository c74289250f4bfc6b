//! Notifications waiting for their coalescing window to close, per Google Health user. Each accepted notification
//! is first kept in MongoDB's notification journal (the promise behind the 204), then noted in Redis (the fast
//! path, kept by `jobs::notified`): the data types named, the first and last civil day named (`all` when one named none), when the first came,
//! and the journal ids. The first of a window puts the user in `notify:due`, scored by the window's end; later ones
//! only add to what waits, so a flood never queues a child twice. When the window becomes a job, its journal ids go
//! with it (the job's receipts) and are settled once the job ends. If Redis loses all this, [`Inbox::replay`] notes
//! the journal again.

use std::time::Duration;

use chrono::Utc;
use mongodb::bson::oid::ObjectId;
use tokio::sync::{mpsc, oneshot};

use crate::coordination::CoordinationError;
use crate::domain::ChildId;
use crate::error_chain::Chain;
use crate::jobs::{Enqueued, JobQueue};
use crate::store::{JournalEntry, NotificationJournal, StoreError};

/// Journal entries read per round trip when replaying.
const REPLAY_PAGE: i64 = 500;
/// Requests whose journal entries go to MongoDB in one insert, at most.
const GROUP_COMMIT: usize = 64;

/// One request's journal entries, and where to say whether they were kept.
type JournalWrite = (Vec<JournalEntry>, oneshot::Sender<Result<(), StoreError>>);

#[derive(Debug, thiserror::Error)]
pub enum InboxError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Coordination(#[from] CoordinationError),
}

#[derive(Clone)]
pub struct Inbox {
    jobs: JobQueue,
    journal: NotificationJournal,
    window: Duration,
    journal_writes: mpsc::Sender<JournalWrite>,
}

impl Inbox {
    /// Starts the journal's writer task: must be called inside the runtime.
    pub fn new(jobs: JobQueue, journal: NotificationJournal, window: Duration) -> Self {
        let (journal_writes, writes) = mpsc::channel(4 * GROUP_COMMIT);
        tokio::spawn(write_journal(journal.clone(), writes));
        Inbox { jobs, journal, window, journal_writes }
    }

    pub fn jobs(&self) -> &JobQueue {
        &self.jobs
    }

    /// Keeps `entries` in the journal, then notes them in Redis. If Redis fails, the journal entries are taken back
    /// (the caller answers 503 and Google delivers again); if that fails too, they are only replayed later.
    pub async fn accept(&self, entries: &[JournalEntry]) -> Result<(), InboxError> {
        if entries.is_empty() {
            return Ok(());
        }
        let (kept, answer) = oneshot::channel();
        self.journal_writes.send((entries.to_vec(), kept)).await.map_err(|_| StoreError::JournalWriterStopped)?;
        answer.await.map_err(|_| StoreError::JournalWriterStopped)??;
        if let Err(e) = self.note(entries).await {
            let ids: Vec<ObjectId> = entries.iter().map(|entry| entry.id).collect();
            if let Err(undo) = self.journal.settle(&ids).await {
                tracing::warn!("Refused Google notifications stay in the journal: {}", Chain(&undo));
            }
            return Err(e.into());
        }
        Ok(())
    }

    /// Notes `entries` in Redis, due when the window that starts now closes.
    async fn note(&self, entries: &[JournalEntry]) -> Result<(), CoordinationError> {
        let due = Utc::now().timestamp_millis() + self.window.as_millis() as i64;
        self.jobs.note_notifications(entries, due).await
    }

    /// After Redis lost its data: notes every journal entry again (those older than 7 days are dropped first).
    /// Returns how many were noted.
    pub async fn replay(&self) -> Result<usize, InboxError> {
        let expired = self.journal.expire(Utc::now() - chrono::Duration::days(7)).await?;
        if expired > 0 {
            tracing::info!("{expired} Google notifications older than 7 days dropped from the journal");
        }
        let (mut noted, mut after) = (0, None);
        loop {
            let page = self.journal.page(after, REPLAY_PAGE).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.id);
            self.note(&page).await?;
            noted += page.len();
            if page.len() < REPLAY_PAGE as usize {
                break;
            }
        }
        Ok(noted)
    }

    /// Up to `limit` users whose window has closed.
    pub async fn due(&self, limit: usize) -> Result<Vec<String>, CoordinationError> {
        self.jobs.notifications_due(limit).await
    }

    /// Makes the waiting notifications of `health_user_id` one job for `child`, unless the child has one already
    /// (then they wait `retry` more; see [`JobQueue::enqueue_notified`]).
    pub async fn enqueue(
        &self,
        child: ChildId,
        health_user_id: &str,
        retry: Duration,
    ) -> Result<Enqueued, CoordinationError> {
        self.jobs.enqueue_notified(child, health_user_id, retry).await
    }

    /// Drops what waits for `health_user_id` (no child, or its tokens are invalid), the journal's entries too.
    pub async fn drop_waiting(&self, health_user_id: &str) -> Result<(), InboxError> {
        let ids = self.jobs.drop_waiting(health_user_id).await?;
        let ids: Vec<ObjectId> = ids.iter().filter_map(|id| ObjectId::parse_str(id).ok()).collect();
        self.journal.settle(&ids).await?;
        Ok(())
    }

    /// Notes that `child` had a notification now, for the stale-children count of the ticks.
    pub async fn mark_notified(&self, child: ChildId) -> Result<(), CoordinationError> {
        self.jobs.mark_notified(child).await
    }
}

/// Writes the journal entries of concurrent requests together: whatever is waiting when a write starts goes in one
/// insert (a group commit), so a flood of notifications costs MongoDB one round trip per batch, not per request, and
/// a lone request waits for nothing. Ends when every [`Inbox`] is gone.
async fn write_journal(journal: NotificationJournal, mut writes: mpsc::Receiver<JournalWrite>) {
    while let Some(first) = writes.recv().await {
        let mut batch = vec![first];
        while batch.len() < GROUP_COMMIT {
            match writes.try_recv() {
                Ok(write) => batch.push(write),
                Err(_) => break,
            }
        }
        let entries: Vec<JournalEntry> = batch.iter().flat_map(|(entries, _)| entries.iter().cloned()).collect();
        let kept = journal.record(&entries).await;
        for (_, answer) in batch {
            // A request that went away (its client hung up) needs no answer.
            let _ = answer.send(kept.clone());
        }
    }
}
