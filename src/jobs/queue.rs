//! The job queue's Redis layout. Every key carries a namespace (the MongoDB database name), so services that share a
//! Redis but not a database never take each other's jobs.
//!
//! - `<ns>:jobs`: the stream of due jobs, read through the consumer group `workers`;
//! - `<ns>:delayed`: a sorted set of jobs waiting for a retry or a provider's rate-limit reset, by due time;
//! - `<ns>:queued`: the children with a job queued, running or delayed, so a tick never enqueues one twice;
//! - `<ns>:notify:*`: Google notifications waiting for their coalescing window to close (see `notifications`).

use std::time::Duration;

use redis::streams::{StreamAutoClaimReply, StreamId, StreamReadReply};
use redis::Value as RedisValue;

use crate::coordination::{Coordination, CoordinationError};
use crate::domain::ChildId;
use crate::sync::SyncTarget;

pub const GROUP: &str = "workers";

/// Moves due delayed jobs into the stream, atomically, so two instances never move one twice.
const PROMOTE: &str = r#"
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 100)
for _, member in ipairs(due) do
  local child, attempt, tick, target = string.match(member, '^([^|]*)|([^|]*)|([^|]*)|?(.*)$')
  if target == '' then
    redis.call('XADD', KEYS[2], '*', 'child', child, 'attempt', attempt, 'tick', tick)
  else
    redis.call('XADD', KEYS[2], '*', 'child', child, 'attempt', attempt, 'tick', tick, 'target', target)
  end
  redis.call('ZREM', KEYS[1], member)
end
return #due
"#;

/// Marks each child queued and adds its job in one step, so a child is never marked without a job (it would never
/// be enqueued again) nor given two jobs.
const ENQUEUE: &str = r#"
local added = 0
for i = 2, #ARGV do
  if redis.call('SADD', KEYS[1], ARGV[i]) == 1 then
    redis.call('XADD', KEYS[2], '*', 'child', ARGV[i], 'attempt', 1, 'tick', ARGV[1])
    added = added + 1
  end
end
return added
"#;

/// Turns a Google user's coalesced notifications into one targeted job for `child` (ARGV[1]), unless the child has
/// a job already: then the notifications wait (`retry_ms` more) and go into a job of their own once it is over, so
/// none is lost and a child is never queued twice. KEYS: queued, jobs, due, types, days, first; ARGV: child, health
/// user id, now (ms), retry (ms). Returns 1 (enqueued), 0 (waits) or -1 (nothing was waiting).
const ENQUEUE_NOTIFIED: &str = r#"
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then
  redis.call('ZADD', KEYS[3], 'XX', tonumber(ARGV[3]) + tonumber(ARGV[4]), ARGV[2])
  return 0
end
local types = redis.call('SMEMBERS', KEYS[4])
local days = redis.call('SMEMBERS', KEYS[5])
local first = redis.call('GET', KEYS[6]) or ARGV[3]
redis.call('DEL', KEYS[4], KEYS[5], KEYS[6])
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
local from, to = '', ''
if not whole and #dated > 0 then
  from, to = dated[1], dated[#dated]
end
redis.call('SADD', KEYS[1], ARGV[1])
local target = table.concat(types, ',') .. ';' .. from .. ';' .. to .. ';' .. first
redis.call('XADD', KEYS[2], '*', 'child', ARGV[1], 'attempt', 1, 'tick', 0, 'target', target)
return 1
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

/// One job: a child to sync, how often it was tried, the tick that enqueued it (0 for none), and for a job made of
/// Google notifications, what they named.
#[derive(Clone, Debug, PartialEq)]
pub struct Job {
    pub stream_id: String,
    pub child: ChildId,
    pub attempt: u32,
    pub tick: i64,
    pub target: Option<SyncTarget>,
}

/// The Redis keys of one Google user's notifications waiting for their window to close.
pub struct WaitingKeys {
    pub types: String,
    pub days: String,
    pub first: String,
}

#[derive(Clone)]
pub struct JobQueue {
    coordination: std::sync::Arc<Coordination>,
    namespace: String,
    pub settings: JobSettings,
}

impl JobQueue {
    pub fn new(coordination: std::sync::Arc<Coordination>, namespace: &str, settings: JobSettings) -> Self {
        JobQueue { coordination, namespace: format!("ds-agent:{namespace}"), settings }
    }

    pub fn coordination(&self) -> &Coordination {
        &self.coordination
    }

    pub fn key(&self, name: &str) -> String {
        format!("{}:{name}", self.namespace)
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
        Ok(reply.map(|r| r.keys.into_iter().flat_map(|k| k.ids).filter_map(parse_job).collect()).unwrap_or_default())
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
        Ok(reply.claimed.into_iter().filter_map(parse_job).collect())
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

    /// The job is over: acknowledged and removed; if `again_at_ms` is set, the child comes back then.
    pub async fn finish(&self, job: &Job, again_at_ms: Option<(i64, u32)>) -> Result<(), CoordinationError> {
        let mut conn = self.coordination.connection().await?;
        let mut pipe = redis::pipe();
        pipe.atomic();
        pipe.cmd("XACK").arg(self.key("jobs")).arg(GROUP).arg(&job.stream_id).ignore();
        pipe.cmd("XDEL").arg(self.key("jobs")).arg(&job.stream_id).ignore();
        match again_at_ms {
            Some((due_ms, attempt)) => {
                let target = job.target.as_ref().map(|t| format!("|{}", t.encode())).unwrap_or_default();
                let member = format!("{}|{attempt}|{}{target}", job.child, job.tick);
                pipe.cmd("ZADD").arg(self.key("delayed")).arg(due_ms).arg(member).ignore();
            }
            None => {
                pipe.cmd("SREM").arg(self.key("queued")).arg(job.child.to_string()).ignore();
            }
        }
        pipe.query_async::<()>(&mut conn).await?;
        Ok(())
    }

    /// Moves due delayed jobs into the stream.
    pub async fn promote_due(&self, now_ms: i64) -> Result<usize, CoordinationError> {
        let mut conn = self.coordination.connection().await?;
        let moved: usize = redis::Script::new(PROMOTE)
            .key(self.key("delayed"))
            .key(self.key("jobs"))
            .arg(now_ms)
            .invoke_async(&mut conn)
            .await?;
        Ok(moved)
    }

    /// The keys of the notifications of Google user `health_user_id` waiting to become a job.
    pub fn waiting_keys(&self, health_user_id: &str) -> WaitingKeys {
        WaitingKeys {
            types: self.key(&format!("notify:types:{health_user_id}")),
            days: self.key(&format!("notify:days:{health_user_id}")),
            first: self.key(&format!("notify:first:{health_user_id}")),
        }
    }

    /// Makes the waiting notifications of `health_user_id` one job for `child` (see [`ENQUEUE_NOTIFIED`]): `Some(true)`
    /// when enqueued, `Some(false)` when they wait for the child's current job, `None` when nothing was waiting.
    pub async fn enqueue_notified(
        &self,
        child: ChildId,
        health_user_id: &str,
        now_ms: i64,
        retry: Duration,
    ) -> Result<Option<bool>, CoordinationError> {
        let mut conn = self.coordination.connection().await?;
        let keys = self.waiting_keys(health_user_id);
        let result: i64 = redis::Script::new(ENQUEUE_NOTIFIED)
            .key(self.key("queued"))
            .key(self.key("jobs"))
            .key(self.key("notify:due"))
            .key(keys.types)
            .key(keys.days)
            .key(keys.first)
            .arg(child.to_string())
            .arg(health_user_id)
            .arg(now_ms)
            .arg(retry.as_millis() as i64)
            .invoke_async(&mut conn)
            .await?;
        Ok(match result {
            1 => Some(true),
            0 => Some(false),
            _ => None,
        })
    }

    /// Jobs waiting, running or delayed.
    pub async fn depth(&self) -> Result<u64, CoordinationError> {
        let mut conn = self.coordination.connection().await?;
        let (queued,): (u64,) = redis::pipe().cmd("SCARD").arg(self.key("queued")).query_async(&mut conn).await?;
        Ok(queued)
    }
}

fn parse_job(entry: StreamId) -> Option<Job> {
    let text = |field: &str| match entry.map.get(field)? {
        RedisValue::BulkString(bytes) => String::from_utf8(bytes.clone()).ok(),
        RedisValue::SimpleString(s) => Some(s.clone()),
        _ => None,
    };
    let child = ChildId::parse(&text("child")?).ok()?;
    Some(Job {
        child,
        attempt: text("attempt").and_then(|a| a.parse().ok()).unwrap_or(1),
        tick: text("tick").and_then(|t| t.parse().ok()).unwrap_or(0),
        target: text("target").and_then(|t| SyncTarget::decode(&t)),
        stream_id: entry.id,
    })
}
