//! Notifications waiting for their coalescing window to close, per Google Health user. Each accepted notification
//! is first kept in MongoDB's notification journal (the promise behind the 204), then noted in Redis (the fast
//! path): the data types named, the first and last civil day named (`all` when one named none), when the first came,
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
use crate::jobs::JobQueue;
use crate::store::{JournalEntry, NotificationJournal, StoreError};

/// What waits is dropped if nothing takes it (Google itself gives up after 7 days).
const WAITING_TTL_SECS: u64 = 7 * 24 * 3600;
/// Journal entries read per round trip when replaying.
const REPLAY_PAGE: i64 = 500;
/// Requests whose journal entries go to MongoDB in one insert, at most.
const GROUP_COMMIT: usize = 64;

/// One request's journal entries, and where to say whether they were kept.
type JournalWrite = (Vec<JournalEntry>, oneshot::Sender<Result<(), StoreError>>);

/// Turns a Google user's coalesced notifications into one targeted job for `child` (ARGV[1]), unless the child has
/// a job already: then the notifications wait (`retry_ms` more) and go into a job of their own once it is over, so
/// none is lost and a child is never queued twice. The window's journal ids become the job's receipts.
/// KEYS: queued, jobs, due, types, days, first, ids, receipts; ARGV: child, health user id, now (ms), retry (ms).
/// Returns 1 (enqueued), 0 (waits) or -1 (nothing was waiting).
const ENQUEUE_NOTIFIED: &str = r#"
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then
  redis.call('ZADD', KEYS[3], 'XX', tonumber(ARGV[3]) + tonumber(ARGV[4]), ARGV[2])
  return 0
end
local types = redis.call('SMEMBERS', KEYS[4])
local days = redis.call('SMEMBERS', KEYS[5])
local first = redis.call('GET', KEYS[6]) or ARGV[3]
redis.call('SUNIONSTORE', KEYS[8], KEYS[8], KEYS[7])
redis.call('DEL', KEYS[4], KEYS[5], KEYS[6], KEYS[7])
redis.call('ZREM', KEYS[3], ARGV[2])
if #types == 0 then
  return -1
end
local dated, whole = {}, false
for _, day in ipairs(days) do
  if day == 'all' then whole = true else table.insert(dated, day) end
end
table.sort(dated)
table.sort(types)
local target = {data_types = types, notified_at_ms = tonumber(first)}
if not whole and #dated > 0 then
  target.days = {dated[1], dated[#dated]}
end
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('XADD', KEYS[2], '*', 'job', cjson.encode({child = ARGV[1], attempt = 1, tick = 0, target = target}))
return 1
"#;

#[derive(Debug, thiserror::Error)]
pub enum InboxError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Coordination(#[from] CoordinationError),
}

/// The Redis keys of one Google user's notifications waiting for their window to close.
struct WaitingKeys {
    types: String,
    days: String,
    first: String,
    ids: String,
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

    fn waiting_keys(&self, health_user_id: &str) -> WaitingKeys {
        let key = |part: &str| self.jobs.key(&format!("notify:{part}:{health_user_id}"));
        WaitingKeys { types: key("types"), days: key("days"), first: key("first"), ids: key("ids") }
    }

    /// Keeps `entries` in the journal, then notes them in Redis. If Redis fails, the journal entries are taken back
    /// (the caller answers 503 and Google delivers again); if that fails too, they are only replayed later.
    pub async fn accept(&self, entries: &[JournalEntry]) -> Result<(), InboxError> {
        if entries.is_empty() {
            return Ok(());
        }
        let (kept, answer) = oneshot::channel();
        let closed = || StoreError::Other("the notification journal's writer stopped".into());
        self.journal_writes.send((entries.to_vec(), kept)).await.map_err(|_| closed())?;
        answer.await.map_err(|_| closed())??;
        if let Err(e) = self.note(entries).await {
            let ids: Vec<ObjectId> = entries.iter().map(|entry| entry.id).collect();
            if let Err(undo) = self.journal.settle(&ids).await {
                tracing::warn!("Refused Google notifications stay in the journal: {undo}");
            }
            return Err(e.into());
        }
        Ok(())
    }

    /// Notes `entries` in Redis in one round trip.
    async fn note(&self, entries: &[JournalEntry]) -> Result<(), CoordinationError> {
        let now = Utc::now().timestamp_millis();
        let due = now + self.window.as_millis() as i64;
        let mut pipe = redis::pipe();
        for entry in entries {
            let keys = self.waiting_keys(&entry.health_user_id);
            pipe.cmd("SADD").arg(&keys.types).arg(&entry.data_type).ignore();
            match entry.days {
                Some((from, to)) => pipe.cmd("SADD").arg(&keys.days).arg(from.to_string()).arg(to.to_string()).ignore(),
                None => pipe.cmd("SADD").arg(&keys.days).arg("all").ignore(),
            };
            pipe.cmd("SADD").arg(&keys.ids).arg(entry.id.to_hex()).ignore();
            pipe.cmd("SET").arg(&keys.first).arg(now).arg("NX").arg("EX").arg(WAITING_TTL_SECS).ignore();
            for key in [&keys.types, &keys.days, &keys.ids] {
                pipe.cmd("EXPIRE").arg(key).arg(WAITING_TTL_SECS).ignore();
            }
            pipe.cmd("ZADD").arg(self.jobs.key("notify:due")).arg("NX").arg(due).arg(&entry.health_user_id).ignore();
        }
        let mut conn = self.jobs.coordination().connection().await?;
        pipe.query_async::<()>(&mut conn).await?;
        Ok(())
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
        let mut conn = self.jobs.coordination().connection().await?;
        let now = Utc::now().timestamp_millis();
        let due: Vec<String> = redis::cmd("ZRANGEBYSCORE")
            .arg(self.jobs.key("notify:due"))
            .arg("-inf")
            .arg(now)
            .arg("LIMIT")
            .arg(0)
            .arg(limit)
            .query_async(&mut conn)
            .await?;
        Ok(due)
    }

    /// Makes the waiting notifications of `health_user_id` one job for `child` (see [`ENQUEUE_NOTIFIED`]):
    /// `Some(true)` when enqueued, `Some(false)` when they wait for the child's current job, `None` when nothing was
    /// waiting.
    pub async fn enqueue(
        &self,
        child: ChildId,
        health_user_id: &str,
        retry: Duration,
    ) -> Result<Option<bool>, CoordinationError> {
        let child = child.to_string();
        let keys = self.waiting_keys(health_user_id);
        let mut conn = self.jobs.coordination().connection().await?;
        let result: i64 = redis::Script::new(ENQUEUE_NOTIFIED)
            .key(self.jobs.key("queued"))
            .key(self.jobs.key("jobs"))
            .key(self.jobs.key("notify:due"))
            .key(keys.types)
            .key(keys.days)
            .key(keys.first)
            .key(keys.ids)
            .key(self.jobs.receipts_key(&child))
            .arg(&child)
            .arg(health_user_id)
            .arg(Utc::now().timestamp_millis())
            .arg(retry.as_millis() as i64)
            .invoke_async(&mut conn)
            .await?;
        Ok(match result {
            1 => Some(true),
            0 => Some(false),
            _ => None,
        })
    }

    /// Drops what waits for `health_user_id` (no child, or its tokens are invalid), the journal's entries too.
    pub async fn drop_waiting(&self, health_user_id: &str) -> Result<(), InboxError> {
        let keys = self.waiting_keys(health_user_id);
        let mut conn = self.jobs.coordination().connection().await?;
        let (ids,): (Vec<String>,) = redis::pipe()
            .atomic()
            .cmd("SMEMBERS")
            .arg(&keys.ids)
            .cmd("DEL")
            .arg(&keys.types)
            .arg(&keys.days)
            .arg(&keys.first)
            .arg(&keys.ids)
            .ignore()
            .cmd("ZREM")
            .arg(self.jobs.key("notify:due"))
            .arg(health_user_id)
            .ignore()
            .query_async(&mut conn)
            .await
            .map_err(CoordinationError::from)?;
        let ids: Vec<ObjectId> = ids.iter().filter_map(|id| ObjectId::parse_str(id).ok()).collect();
        self.journal.settle(&ids).await?;
        Ok(())
    }

    /// Notes that `child` had a notification now, for the stale-children count of the ticks.
    pub async fn mark_notified(&self, child: ChildId) -> Result<(), CoordinationError> {
        let mut conn = self.jobs.coordination().connection().await?;
        redis::cmd("HSET")
            .arg(self.jobs.key("notify:last"))
            .arg(child.to_string())
            .arg(Utc::now().timestamp_millis())
            .query_async::<()>(&mut conn)
            .await?;
        Ok(())
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
