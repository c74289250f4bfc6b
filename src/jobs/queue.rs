//! The job queue's Redis layout. Every key carries a namespace (the MongoDB database name), so services that share a
//! Redis but not a database never take each other's jobs.
//!
//! - `<ns>:jobs`: the stream of due jobs, read through the consumer group `workers`; each entry's field `job` holds
//!   the [`JobPayload`] as JSON;
//! - `<ns>:delayed`: a sorted set of job payloads waiting for a retry or a provider's rate-limit reset, by due time;
//! - `<ns>:queued`: the children with a job queued, running or delayed, so a tick never enqueues one twice;
//! - `<ns>:retry_at`: child → due time (epoch ms) of its delayed job, for the status route;
//! - `<ns>:receipts:<child>`: ids of MongoDB records the child's current job settles when it ends (the notification
//!   journal's entries, see `notifications`).
//!
//! Nothing here is the only copy of anything: MongoDB says which children a tick still owes and which notifications
//! are still unsynced, so `recovery` can rebuild all of it after Redis loses its data.

use std::time::Duration;

use mongodb::bson::oid::ObjectId;
use redis::streams::{StreamAutoClaimReply, StreamId, StreamRangeReply, StreamReadReply};
use redis::Value as RedisValue;
use serde::{Deserialize, Serialize};

use crate::coordination::{Coordination, CoordinationError};
use crate::domain::ChildId;
use crate::store::{NotificationJournal, Store, Ticks};
use crate::sync::SyncTarget;

pub const GROUP: &str = "workers";

/// Moves due delayed jobs into the stream, atomically, so two instances never move one twice. A member written by
/// ds-agent before payloads were JSON (`child|attempt|tick|…`) is read as a full sync of that child.
const PROMOTE: &str = r#"
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 100)
for _, member in ipairs(due) do
  local job = member
  if string.sub(member, 1, 1) ~= '{' then
    local child, attempt, tick = string.match(member, '^([^|]*)|([^|]*)|([^|]*)')
    job = cjson.encode({child = child, attempt = tonumber(attempt) or 1, tick = tonumber(tick) or 0})
  end
  redis.call('XADD', KEYS[2], '*', 'job', job)
  redis.call('ZREM', KEYS[1], member)
  redis.call('HDEL', KEYS[3], cjson.decode(job).child)
end
return #due
"#;

/// Marks each child queued and adds its job in one step, so a child is never marked without a job (it would never
/// be enqueued again) nor given two jobs. ARGV: the tick, then the children.
const ENQUEUE: &str = r#"
local added = 0
local tick = tonumber(ARGV[1])
for i = 2, #ARGV do
  if redis.call('SADD', KEYS[1], ARGV[i]) == 1 then
    redis.call('XADD', KEYS[2], '*', 'job', cjson.encode({child = ARGV[i], attempt = 1, tick = tick}))
    added = added + 1
  end
end
return added
"#;

/// Ends a job, only if it is still this consumer group's pending entry (it is not after Redis lost its data, nor
/// once another worker took it over): acknowledged and removed, then either delayed (ARGV[4] is its due time) or
/// unmarked, with the receipts it settles returned. A job that is no longer pending returns nil and changes nothing.
/// KEYS: jobs, delayed, queued, receipts, retry_at; ARGV: group, stream id, child, due ms or '', delayed payload.
const FINISH: &str = r#"
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
"#;

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

/// What a job says, as stored in Redis: the child to sync, how often it was tried, the tick that enqueued it (0 for
/// none), and for a job made of Google notifications, what they named.
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

impl Job {
    fn payload(&self, attempt: u32) -> JobPayload {
        JobPayload { child: self.child.to_string(), attempt, tick: self.tick, target: self.target.clone() }
    }
}

#[derive(Clone)]
pub struct JobQueue {
    coordination: std::sync::Arc<Coordination>,
    namespace: String,
    ticks: Ticks,
    journal: NotificationJournal,
    pub settings: JobSettings,
}

impl JobQueue {
    /// The queue of the service whose database `store` is.
    pub fn new(coordination: std::sync::Arc<Coordination>, store: &Store, settings: JobSettings) -> Self {
        JobQueue {
            coordination,
            namespace: format!("ds-agent:{}", store.database().name()),
            ticks: Ticks::new(store.clone()),
            journal: NotificationJournal::new(store.clone()),
            settings,
        }
    }

    pub fn coordination(&self) -> &Coordination {
        &self.coordination
    }

    pub(super) fn ticks(&self) -> &Ticks {
        &self.ticks
    }

    pub fn key(&self, name: &str) -> String {
        format!("{}:{name}", self.namespace)
    }

    /// The set of record ids that `child`'s current job settles when it ends.
    pub fn receipts_key(&self, child: &str) -> String {
        self.key(&format!("receipts:{child}"))
    }

    /// The key whose presence says that Redis still holds what this service put there (see `coordination::epoch`).
    pub fn epoch_key(&self) -> String {
        self.key("epoch")
    }

    /// Creates the consumer group (and the stream) unless it exists.
    pub async fn ensure_group(&self) -> Result<(), CoordinationError> {
        let mut conn = self.coordination.connection().await?;
        let created: Result<(), redis::RedisError> = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(self.key("jobs"))
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
        let script = redis::Script::new(ENQUEUE);
        let mut invocation = script.key(self.key("queued"));
        invocation.key(self.key("jobs")).arg(tick);
        for child in children {
            invocation.arg(child.to_string());
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
            .arg(self.key("jobs"))
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
            .arg(self.key("jobs"))
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
                        .arg(self.key("jobs"))
                        .arg(GROUP)
                        .arg(&entry.id)
                        .ignore()
                        .cmd("XDEL")
                        .arg(self.key("jobs"))
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
            .arg(self.key("jobs"))
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
            Some((due_ms, attempt)) => {
                let payload = serde_json::to_string(&job.payload(attempt)).expect("a payload always serializes");
                (due_ms.to_string(), payload)
            }
            None => (String::new(), String::new()),
        };
        let mut conn = self.coordination.connection().await?;
        let receipts: Option<Vec<String>> = redis::Script::new(FINISH)
            .key(self.key("jobs"))
            .key(self.key("delayed"))
            .key(self.key("queued"))
            .key(self.receipts_key(&child))
            .key(self.key("retry_at"))
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
            tracing::warn!("{} notifications of child {child} synced but not settled: {e}", ids.len());
        }
        Ok(true)
    }

    /// Moves due delayed jobs into the stream.
    pub async fn promote_due(&self, now_ms: i64) -> Result<usize, CoordinationError> {
        let mut conn = self.coordination.connection().await?;
        let moved: usize = redis::Script::new(PROMOTE)
            .key(self.key("delayed"))
            .key(self.key("jobs"))
            .key(self.key("retry_at"))
            .arg(now_ms)
            .invoke_async(&mut conn)
            .await?;
        Ok(moved)
    }

    /// How long the oldest job in the stream has waited, from its id (the time it was added); zero when none waits.
    pub async fn oldest_age(&self) -> Result<Duration, CoordinationError> {
        let mut conn = self.coordination.connection().await?;
        let oldest: StreamRangeReply = redis::cmd("XRANGE")
            .arg(self.key("jobs"))
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
            .arg(self.key("queued"))
            .arg(&child)
            .cmd("HGET")
            .arg(self.key("retry_at"))
            .arg(&child)
            .cmd("HGET")
            .arg(self.key("notify:last"))
            .arg(&child)
            .query_async(&mut conn)
            .await?;
        Ok(ChildJobState { queued, retry_at_ms, notified_at_ms })
    }

    /// Jobs waiting, running or delayed.
    pub async fn depth(&self) -> Result<u64, CoordinationError> {
        let mut conn = self.coordination.connection().await?;
        let (queued,): (u64,) = redis::pipe().cmd("SCARD").arg(self.key("queued")).query_async(&mut conn).await?;
        Ok(queued)
    }
}

fn parse_job(entry: &StreamId) -> Option<Job> {
    let text = |field: &str| match entry.map.get(field)? {
        RedisValue::BulkString(bytes) => String::from_utf8(bytes.clone()).ok(),
        RedisValue::SimpleString(s) => Some(s.clone()),
        _ => None,
    };
    let payload: JobPayload = match text("job") {
        Some(json) => serde_json::from_str(&json).ok()?,
        // Written by ds-agent before payloads were JSON: a full sync of the child (a notified target is dropped, the
        // full sync covers it).
        None => JobPayload {
            child: text("child")?,
            attempt: text("attempt").and_then(|a| a.parse().ok()).unwrap_or(1),
            tick: text("tick").and_then(|t| t.parse().ok()).unwrap_or(0),
            target: None,
        },
    };
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

    #[test]
    fn a_payload_reads_as_the_queue_scripts_write_it() {
        // cjson writes keys in any order and integers without a fraction.
        let written = r#"{"tick":1764760000,"attempt":1,"child":"5a62be07de34500146d9c544"}"#;
        let payload: JobPayload = serde_json::from_str(written).unwrap();
        assert_eq!(payload.child, "5a62be07de34500146d9c544");
        assert_eq!((payload.attempt, payload.tick, payload.target), (1, 1_764_760_000, None));
        let mut map = std::collections::HashMap::new();
        map.insert("job".to_string(), RedisValue::BulkString(written.as_bytes().to_vec()));
        let job = parse_job(&StreamId { id: "1-0".into(), map }).unwrap();
        assert_eq!(job.child.to_string(), "5a62be07de34500146d9c544");
        assert_eq!(job.payload(2).attempt, 2);

        // An entry of the previous format still reads, as a full sync.
        let field = |value: &str| RedisValue::BulkString(value.as_bytes().to_vec());
        let legacy: std::collections::HashMap<String, RedisValue> = [
            ("child".to_string(), field("5a62be07de34500146d9c544")),
            ("attempt".to_string(), field("2")),
            ("tick".to_string(), field("1764760000")),
            ("target".to_string(), field("exercise;;;1764000000000")),
        ]
        .into();
        let job = parse_job(&StreamId { id: "2-0".into(), map: legacy }).unwrap();
        assert_eq!((job.attempt, job.tick, job.target), (2, 1_764_760_000, None));
    }
}
