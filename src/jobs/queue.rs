//! The job queue: jobs in a Redis Stream read by one consumer group, delayed jobs in a sorted set, and which children
//! are queued (the keys are in `keys`). A job's format is [`JobPayload`], serialised by serde only: the scripts here
//! and in `notified` take payloads already serialised and never build or read one.
//!
//! Nothing here is the only copy of anything: MongoDB says which children a tick still owes and which notifications
//! are still unsynced, so `recovery` can rebuild all of it after Redis loses its data.

use std::sync::LazyLock;
use std::time::Duration;

use mongodb::bson::oid::ObjectId;
use redis::streams::{StreamAutoClaimReply, StreamId, StreamRangeReply, StreamReadReply};
use redis::Value as RedisValue;
use serde::{Deserialize, Serialize};

use super::keys::JobKeys;
use crate::backoff::Backoff;
use crate::coordination::{Coordination, CoordinationError, EpochCheck};
use crate::domain::ChildId;
use crate::error_chain::Chain;
use crate::store::{NotificationJournal, Store, Ticks};
use crate::sync::SyncTarget;

pub const GROUP: &str = "workers";

/// Moves the given due delayed jobs into the stream, each only if it is still delayed (so two instances never move
/// one twice), and forgets their retry time. KEYS: delayed, jobs, retry_at; ARGV: pairs of payload and child.
static PROMOTE: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r#"
local moved = 0
for i = 1, #ARGV, 2 do
  if redis.call('ZREM', KEYS[1], ARGV[i]) == 1 then
    redis.call('XADD', KEYS[2], '*', 'job', ARGV[i])
    redis.call('HDEL', KEYS[3], ARGV[i + 1])
    moved = moved + 1
  end
end
return moved
"#,
    )
});

/// Delayed jobs moved per round trip, at most.
const PROMOTE_BATCH: isize = 100;

/// Marks each child queued and adds its job in one step, so a child is never marked without a job (it would never
/// be enqueued again) nor given two jobs. KEYS: queued, jobs; ARGV: pairs of child and payload.
static ENQUEUE: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r#"
local added = 0
for i = 1, #ARGV, 2 do
  if redis.call('SADD', KEYS[1], ARGV[i]) == 1 then
    redis.call('XADD', KEYS[2], '*', 'job', ARGV[i + 1])
    added = added + 1
  end
end
return added
"#,
    )
});

/// Ends a job, only if it is still this consumer group's pending entry (it is not after Redis lost its data, nor
/// once another worker took it over): acknowledged and removed, then either delayed (ARGV[4] is its due time) or
/// unmarked, with the receipts it settles returned. A job that is no longer pending returns nil and changes nothing.
/// KEYS: jobs, delayed, queued, receipts, retry_at; ARGV: group, stream id, child, due ms or '', delayed payload.
static FINISH: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r#"
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then
  return false
end
redis.call('XDEL', KEYS[1], ARGV[2])
if ARGV[4] ~= '' then
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[5])
  redis.call('HSET', KEYS[5], ARGV[3], ARGV[4])
  return {}
end
redis.call('SREM', KEYS[3], ARGV[3])
redis.call('HDEL', KEYS[5], ARGV[3])
local receipts = redis.call('SMEMBERS', KEYS[4])
redis.call('DEL', KEYS[4])
return receipts
"#,
    )
});

/// How jobs are retried and reclaimed.
#[derive(Clone, Copy, Debug)]
pub struct JobSettings {
    /// Concurrent child syncs per instance (`SYNC_CONCURRENCY`).
    pub concurrency: usize,
    /// A job whose worker has not reported for this long is taken over by another worker.
    pub reclaim_after: Duration,
    /// First retry delay of a transient failure; doubled on each further attempt.
    pub retry_base: Duration,
    /// Attempts of a job, the first included.
    pub max_attempts: u32,
    /// With Google notifications on: a Google child without one for this long is counted at each tick.
    pub stale_after: Option<Duration>,
}

impl JobSettings {
    /// The delays between a failing job's attempts: doubling from `retry_base`.
    pub fn retry_backoff(&self) -> Backoff {
        Backoff::doubling(self.retry_base)
    }
}

/// What a job says, as stored in Redis (a stream entry's field `job`, a member of the delayed set): the child to sync,
/// how often it was tried, the tick that enqueued it (0 for none), and for a job made of Google notifications, what
/// they named. The only definition of a job's format: every job is written by [`JobPayload::to_json`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobPayload {
    pub child: String,
    pub attempt: u32,
    pub tick: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<SyncTarget>,
}

/// What the queue knows of one child.
#[derive(Clone, Debug, PartialEq)]
pub struct ChildJobState {
    /// A job is queued, running or waiting for a retry.
    pub queued: bool,
    /// When the waiting retry is due (epoch ms).
    pub retry_at_ms: Option<i64>,
    /// When Google notifications last made a job for the child (epoch ms).
    pub notified_at_ms: Option<i64>,
}

/// One job taken from the stream.
#[derive(Clone, Debug, PartialEq)]
pub struct Job {
    pub stream_id: String,
    pub child: ChildId,
    pub attempt: u32,
    pub tick: i64,
    pub target: Option<SyncTarget>,
}

impl JobPayload {
    /// A first attempt.
    pub fn new(child: ChildId, tick: i64, target: Option<SyncTarget>) -> Self {
        JobPayload { child: child.to_string(), attempt: 1, tick, target }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a payload always serializes")
    }
}

impl Job {
    fn payload(&self, attempt: u32) -> JobPayload {
        JobPayload { child: self.child.to_string(), attempt, tick: self.tick, target: self.target.clone() }
    }
}

#[derive(Clone)]
pub struct JobQueue {
    coordination: std::sync::Arc<Coordination>,
    keys: JobKeys,
    ticks: Ticks,
    journal: NotificationJournal,
    pub settings: JobSettings,
}

impl JobQueue {
    /// The queue of the service whose database `store` is.
    pub fn new(coordination: std::sync::Arc<Coordination>, store: &Store, settings: JobSettings) -> Self {
        JobQueue {
            coordination,
            keys: JobKeys::new(store.database().name()),
            ticks: Ticks::new(store.clone()),
            journal: NotificationJournal::new(store.clone()),
            settings,
        }
    }

    pub(super) fn coordination(&self) -> &Coordination {
        &self.coordination
    }

    pub(super) fn ticks(&self) -> &Ticks {
        &self.ticks
    }

    /// The service's Redis keys.
    pub fn keys(&self) -> &JobKeys {
        &self.keys
    }

    /// Whether Redis still holds what this service put there (the epoch marker, see `coordination::epoch`).
    pub async fn check_epoch(&self) -> Result<EpochCheck, CoordinationError> {
        self.coordination.check_epoch(&self.keys.epoch()).await
    }

    /// Marks Redis as holding the service's state again, after a rebuild.
    pub async fn begin_epoch(&self) -> Result<(), CoordinationError> {
        self.coordination.begin_epoch(&self.keys.epoch()).await
    }

    /// Completes when some task suspects Redis lost its data (the epoch check then looks at once).
    pub async fn loss_suspected(&self) {
        self.coordination.loss_suspected().await
    }

    /// Creates the consumer group (and the stream) unless it exists.
    pub async fn ensure_group(&self) -> Result<(), CoordinationError> {
        let mut conn = self.coordination.connection().await?;
        let created: Result<(), redis::RedisError> = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(self.keys.stream())
            .arg(GROUP)
            .arg("0")
            .arg("MKSTREAM")
            .query_async(&mut conn)
            .await;
        match created {
            Err(e) if e.code() != Some("BUSYGROUP") => Err(e.into()),
            _ => Ok(()),
        }
    }

    /// Enqueues the children that have no job yet; returns how many were enqueued.
    pub async fn enqueue(&self, children: &[ChildId], tick: i64) -> Result<usize, CoordinationError> {
        if children.is_empty() {
            return Ok(0);
        }
        let mut conn = self.coordination.connection().await?;
        let mut invocation = ENQUEUE.key(self.keys.queued());
        invocation.key(self.keys.stream());
        for child in children {
            invocation.arg(child.to_string()).arg(JobPayload::new(*child, tick, None).to_json());
        }
        Ok(invocation.invoke_async(&mut conn).await?)
    }

    /// Up to `count` new jobs for `consumer`. Never blocks: the Redis connection is shared with everything else.
    pub async fn read(&self, consumer: &str, count: usize) -> Result<Vec<Job>, CoordinationError> {
        let mut conn = self.coordination.connection().await?;
        let reply: Option<StreamReadReply> = redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg(GROUP)
            .arg(consumer)
            .arg("COUNT")
            .arg(count)
            .arg("STREAMS")
            .arg(self.keys.stream())
            .arg(">")
            .query_async(&mut conn)
            .await?;
        let entries = reply.map(|r| r.keys.into_iter().flat_map(|k| k.ids).collect()).unwrap_or_default();
        self.readable(entries).await
    }

    /// Takes over jobs whose worker has been silent for `reclaim_after`.
    pub async fn reclaim(&self, consumer: &str, count: usize) -> Result<Vec<Job>, CoordinationError> {
        let mut conn = self.coordination.connection().await?;
        let reply: StreamAutoClaimReply = redis::cmd("XAUTOCLAIM")
            .arg(self.keys.stream())
            .arg(GROUP)
            .arg(consumer)
            .arg(self.settings.reclaim_after.as_millis() as u64)
            .arg("0-0")
            .arg("COUNT")
            .arg(count)
            .query_async(&mut conn)
            .await?;
        self.readable(reply.claimed).await
    }

    /// The jobs among `entries`; an entry that is not a job is logged and removed, so it is not read forever.
    async fn readable(&self, entries: Vec<StreamId>) -> Result<Vec<Job>, CoordinationError> {
        let mut jobs = Vec::with_capacity(entries.len());
        for entry in entries {
            match parse_job(&entry) {
                Some(job) => jobs.push(job),
                None => {
                    tracing::error!("Sync job {} is unreadable and was removed: {:?}", entry.id, entry.map);
                    let mut conn = self.coordination.connection().await?;
                    redis::pipe()
                        .cmd("XACK")
                        .arg(self.keys.stream())
                        .arg(GROUP)
                        .arg(&entry.id)
                        .ignore()
                        .cmd("XDEL")
                        .arg(self.keys.stream())
                        .arg(&entry.id)
                        .ignore()
                        .query_async::<()>(&mut conn)
                        .await?;
                }
            }
        }
        Ok(jobs)
    }

    /// A running job's heartbeat: resets its idle time so nobody reclaims it.
    pub async fn touch(&self, consumer: &str, job: &Job) -> Result<(), CoordinationError> {
        let mut conn = self.coordination.connection().await?;
        redis::cmd("XCLAIM")
            .arg(self.keys.stream())
            .arg(GROUP)
            .arg(consumer)
            .arg(0)
            .arg(&job.stream_id)
            .arg("JUSTID")
            .query_async::<RedisValue>(&mut conn)
            .await?;
        Ok(())
    }

    /// The job is over: acknowledged and removed; if `again_at_ms` is set (due time, attempt), the child comes back
    /// then. Otherwise the records its receipts name are settled. False when the job was no longer this group's to
    /// end (taken over, or lost with Redis's data): nothing was changed.
    pub async fn finish(&self, job: &Job, again_at_ms: Option<(i64, u32)>) -> Result<bool, CoordinationError> {
        let child = job.child.to_string();
        let (due, delayed) = match again_at_ms {
            Some((due_ms, attempt)) => (due_ms.to_string(), job.payload(attempt).to_json()),
            None => (String::new(), String::new()),
        };
        let mut conn = self.coordination.connection().await?;
        let receipts: Option<Vec<String>> = FINISH
            .key(self.keys.stream())
            .key(self.keys.delayed())
            .key(self.keys.queued())
            .key(self.keys.receipts(&child))
            .key(self.keys.retry_at())
            .arg(GROUP)
            .arg(&job.stream_id)
            .arg(&child)
            .arg(due)
            .arg(delayed)
            .invoke_async(&mut conn)
            .await?;
        let Some(receipts) = receipts else { return Ok(false) };
        let ids: Vec<ObjectId> = receipts.iter().filter_map(|id| ObjectId::parse_str(id).ok()).collect();
        if let Err(e) = self.journal.settle(&ids).await {
            // They stay in the journal: replayed only if Redis loses its data, dropped after 7 days.
            tracing::warn!("{} notifications of child {child} synced but not settled: {}", ids.len(), Chain(&e));
        }
        Ok(true)
    }

    /// Moves due delayed jobs into the stream (at most a hundred per call).
    pub async fn promote_due(&self, now_ms: i64) -> Result<usize, CoordinationError> {
        let mut conn = self.coordination.connection().await?;
        let due: Vec<String> = redis::cmd("ZRANGEBYSCORE")
            .arg(self.keys.delayed())
            .arg("-inf")
            .arg(now_ms)
            .arg("LIMIT")
            .arg(0)
            .arg(PROMOTE_BATCH)
            .query_async(&mut conn)
            .await?;
        if due.is_empty() {
            return Ok(0);
        }
        let mut invocation = PROMOTE.key(self.keys.delayed());
        invocation.key(self.keys.stream()).key(self.keys.retry_at());
        for payload in &due {
            // One that does not read goes into the stream all the same, where it is logged and removed.
            let child = serde_json::from_str::<JobPayload>(payload).map(|job| job.child).unwrap_or_default();
            invocation.arg(payload).arg(child);
        }
        Ok(invocation.invoke_async(&mut conn).await?)
    }

    /// How long the oldest job in the stream has waited, from its id (the time it was added); zero when none waits.
    pub async fn oldest_age(&self) -> Result<Duration, CoordinationError> {
        let mut conn = self.coordination.connection().await?;
        let oldest: StreamRangeReply = redis::cmd("XRANGE")
            .arg(self.keys.stream())
            .arg("-")
            .arg("+")
            .arg("COUNT")
            .arg(1)
            .query_async(&mut conn)
            .await?;
        let added_ms = oldest.ids.first().and_then(|entry| entry.id.split('-').next()?.parse::<i64>().ok());
        let now_ms = chrono::Utc::now().timestamp_millis();
        Ok(added_ms.map_or(Duration::ZERO, |added| Duration::from_millis((now_ms - added).max(0) as u64)))
    }

    /// What the queue knows of `child`, in one round trip.
    pub async fn child_state(&self, child: ChildId) -> Result<ChildJobState, CoordinationError> {
        let mut conn = self.coordination.connection().await?;
        let child = child.to_string();
        let (queued, retry_at_ms, notified_at_ms) = redis::pipe()
            .cmd("SISMEMBER")
            .arg(self.keys.queued())
            .arg(&child)
            .cmd("HGET")
            .arg(self.keys.retry_at())
            .arg(&child)
            .cmd("HGET")
            .arg(self.keys.notify_last())
            .arg(&child)
            .query_async(&mut conn)
            .await?;
        Ok(ChildJobState { queued, retry_at_ms, notified_at_ms })
    }

    /// Jobs waiting, running or delayed.
    pub async fn depth(&self) -> Result<u64, CoordinationError> {
        let mut conn = self.coordination.connection().await?;
        let (queued,): (u64,) = redis::pipe().cmd("SCARD").arg(self.keys.queued()).query_async(&mut conn).await?;
        Ok(queued)
    }
}

fn parse_job(entry: &StreamId) -> Option<Job> {
    let json = match entry.map.get("job")? {
        RedisValue::BulkString(bytes) => std::str::from_utf8(bytes).ok()?,
        RedisValue::SimpleString(s) => s.as_str(),
        _ => return None,
    };
    let payload: JobPayload = serde_json::from_str(json).ok()?;
    Some(Job {
        child: ChildId::parse(&payload.child).ok()?,
        attempt: payload.attempt.max(1),
        tick: payload.tick,
        target: payload.target,
        stream_id: entry.id.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(fields: &[(&str, &str)]) -> StreamId {
        let map = fields.iter().map(|(k, v)| (k.to_string(), RedisValue::BulkString(v.as_bytes().to_vec()))).collect();
        StreamId { id: "1-0".into(), map }
    }

    #[test]
    fn a_payload_reads_as_it_is_written() {
        let child = ChildId::parse("5a62be07de34500146d9c544").unwrap();
        let written = JobPayload::new(child, 1_764_760_000, None).to_json();
        assert_eq!(written, r#"{"child":"5a62be07de34500146d9c544","attempt":1,"tick":1764760000}"#);
        let job = parse_job(&entry(&[("job", &written)])).unwrap();
        assert_eq!((job.child, job.attempt, job.tick, job.target.clone()), (child, 1, 1_764_760_000, None));
        assert_eq!(job.payload(2).attempt, 2);

        // Jobs written by the scripts of earlier releases (cjson: keys in any order, integers without a fraction).
        let earlier = r#"{"tick":1764760000,"attempt":1,"child":"5a62be07de34500146d9c544"}"#;
        assert_eq!(parse_job(&entry(&[("job", earlier)])).unwrap().tick, 1_764_760_000);
        let notified = r#"{"child":"5a62be07de34500146d9c544","attempt":1,"tick":0,"target":{"data_types":["exercise"],"notified_at_ms":1764760000000,"days":["2026-12-01","2026-12-03"]}}"#;
        let target = parse_job(&entry(&[("job", notified)])).unwrap().target.unwrap();
        assert_eq!(target.data_types, [crate::provider::google::GoogleDataType::Exercise]);
        assert_eq!(target.days.map(|(from, to)| (from.to_string(), to.to_string())).unwrap().1, "2026-12-03");
    }

    #[test]
    fn an_entry_without_a_json_job_is_unreadable() {
        let fields = [("child", "5a62be07de34500146d9c544"), ("attempt", "2"), ("tick", "1764760000")];
        assert_eq!(parse_job(&entry(&fields)), None);
        assert_eq!(parse_job(&entry(&[("job", "5a62be07de34500146d9c544|1|0")])), None);
    }
}
