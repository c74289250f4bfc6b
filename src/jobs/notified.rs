//! Google Health notifications waiting in Redis for their coalescing window to close, and the job they become. Per
//! Google Health user: the data types named, the first and last civil day named (`all` when one named none), when the
//! first came, and the ids of their notification journal entries (`keys` names the keys). The first of a window puts
//! the user in `notify:due`, scored by the window's end; later ones only add to what waits, so a flood never queues a
//! child twice. `notifications::Inbox` keeps the journal in MongoDB and calls these.

use std::sync::LazyLock;
use std::time::Duration;

use chrono::{NaiveDate, Utc};

use super::{JobPayload, JobQueue};
use crate::coordination::CoordinationError;
use crate::domain::ChildId;
use crate::provider::google::GoogleDataType;
use crate::store::JournalEntry;
use crate::sync::SyncTarget;

/// What waits is dropped if nothing takes it (Google itself gives up after 7 days).
const WAITING_TTL_SECS: u64 = 7 * 24 * 3600;
/// The day of a notification that named none: the child's usual window.
const ALL_DAYS: &str = "all";
/// Reads of what waits that may find it changed before the enqueue is left to the next call.
const ENQUEUE_TRIES: usize = 3;

/// What [`JobQueue::enqueue_notified`] did with a Google user's waiting notifications.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Enqueued {
    /// They became a new job of the child.
    New,
    /// The child has a job already: they wait, and are asked for again after the given retry delay, so none is lost
    /// and a child is never queued twice.
    AlreadyQueued,
    /// Nothing was waiting (their journal ids, if any, became the child's receipts all the same).
    NothingWaiting,
    /// More notifications kept arriving while they were read: they still wait, and stay due.
    Changing,
}

/// Turns a Google user's coalesced notifications into the job `payload` (ARGV[5]) for `child` (ARGV[1]), if what
/// waits is still what the payload was made of (ARGV[6]: the `first` read, or ''; ARGV[7]: how many data types; then
/// the data types and the days read), unless the child has a job already: then the notifications wait (`retry` ms
/// more). The window's journal ids become the child's receipts.
/// KEYS: queued, jobs, due, types, days, first, ids, receipts; ARGV: child, health user id, now (ms), retry (ms),
/// payload, first, count of types, types…, days….
/// Returns 1 (enqueued), 0 (waits), -1 (nothing was waiting) or -2 (what waits changed since it was read).
static ENQUEUE_NOTIFIED: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r#"
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then
  redis.call('ZADD', KEYS[3], 'XX', tonumber(ARGV[3]) + tonumber(ARGV[4]), ARGV[2])
  return 0
end
local function holds(key, from, count)
  if redis.call('SCARD', key) ~= count then
    return false
  end
  for i = from, from + count - 1 do
    if redis.call('SISMEMBER', key, ARGV[i]) == 0 then
      return false
    end
  end
  return true
end
local types = tonumber(ARGV[7])
local days = #ARGV - 7 - types
if (redis.call('GET', KEYS[6]) or '') ~= ARGV[6] or not holds(KEYS[4], 8, types) or not holds(KEYS[5], 8 + types, days) then
  return -2
end
redis.call('SUNIONSTORE', KEYS[8], KEYS[8], KEYS[7])
redis.call('DEL', KEYS[4], KEYS[5], KEYS[6], KEYS[7])
redis.call('ZREM', KEYS[3], ARGV[2])
if types == 0 then
  return -1
end
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('XADD', KEYS[2], '*', 'job', ARGV[5])
return 1
"#,
    )
});

/// What waits for one Google user, as read.
struct Waiting {
    data_types: Vec<String>,
    days: Vec<String>,
    first: Option<String>,
}

impl Waiting {
    /// The narrowed sync the notifications ask for: the types named, the days from the first to the last named (none
    /// when one named no day: the usual window), since the first came (or `now_ms`).
    fn target(&self, now_ms: i64) -> SyncTarget {
        // Only what the service noted: types it reads. A name it does not know (noted by a newer version) is left out.
        let mut data_types: Vec<GoogleDataType> =
            self.data_types.iter().filter_map(|name| GoogleDataType::parse(name)).collect();
        data_types.sort_by_key(|data_type| data_type.name());
        data_types.dedup();
        let whole = self.days.iter().any(|day| day == ALL_DAYS);
        let mut dated: Vec<NaiveDate> = self.days.iter().filter_map(|day| day.parse().ok()).collect();
        dated.sort();
        let days = match (whole, dated.first(), dated.last()) {
            (false, Some(from), Some(to)) => Some((*from, *to)),
            _ => None,
        };
        let notified_at_ms = self.first.as_deref().and_then(|first| first.parse().ok()).unwrap_or(now_ms);
        SyncTarget { data_types, days, notified_at_ms }
    }
}

impl JobQueue {
    /// Notes `entries` in Redis in one round trip; a user's first waiting notification makes it due at `due_ms`.
    pub async fn note_notifications(&self, entries: &[JournalEntry], due_ms: i64) -> Result<(), CoordinationError> {
        let now = Utc::now().timestamp_millis();
        let mut pipe = redis::pipe();
        for entry in entries {
            let keys = self.keys().waiting(&entry.health_user_id);
            pipe.cmd("SADD").arg(&keys.types).arg(&entry.data_type).ignore();
            match entry.days {
                Some((from, to)) => pipe.cmd("SADD").arg(&keys.days).arg(from.to_string()).arg(to.to_string()).ignore(),
                None => pipe.cmd("SADD").arg(&keys.days).arg(ALL_DAYS).ignore(),
            };
            pipe.cmd("SADD").arg(&keys.ids).arg(entry.id.to_hex()).ignore();
            pipe.cmd("SET").arg(&keys.first).arg(now).arg("NX").arg("EX").arg(WAITING_TTL_SECS).ignore();
            for key in [&keys.types, &keys.days, &keys.ids] {
                pipe.cmd("EXPIRE").arg(key).arg(WAITING_TTL_SECS).ignore();
            }
            pipe.cmd("ZADD").arg(self.keys().notify_due()).arg("NX").arg(due_ms).arg(&entry.health_user_id).ignore();
        }
        let mut conn = self.coordination().connection().await?;
        pipe.query_async::<()>(&mut conn).await?;
        Ok(())
    }

    /// Up to `limit` Google users whose window has closed.
    pub async fn notifications_due(&self, limit: usize) -> Result<Vec<String>, CoordinationError> {
        let mut conn = self.coordination().connection().await?;
        let now = Utc::now().timestamp_millis();
        let due: Vec<String> = redis::cmd("ZRANGEBYSCORE")
            .arg(self.keys().notify_due())
            .arg("-inf")
            .arg(now)
            .arg("LIMIT")
            .arg(0)
            .arg(limit)
            .query_async(&mut conn)
            .await?;
        Ok(due)
    }

    /// Makes the waiting notifications of `health_user_id` one job for `child` (see `ENQUEUE_NOTIFIED`). What waits
    /// is read first and made a [`JobPayload`] here; the script writes it only if nothing was added meanwhile.
    pub async fn enqueue_notified(
        &self,
        child: ChildId,
        health_user_id: &str,
        retry: Duration,
    ) -> Result<Enqueued, CoordinationError> {
        let keys = self.keys().waiting(health_user_id);
        let mut conn = self.coordination().connection().await?;
        for _ in 0..ENQUEUE_TRIES {
            let (data_types, days, first): (Vec<String>, Vec<String>, Option<String>) = redis::pipe()
                .cmd("SMEMBERS")
                .arg(&keys.types)
                .cmd("SMEMBERS")
                .arg(&keys.days)
                .cmd("GET")
                .arg(&keys.first)
                .query_async(&mut conn)
                .await?;
            let waiting = Waiting { data_types, days, first };
            let now = Utc::now().timestamp_millis();
            let payload = match waiting.data_types.is_empty() {
                true => String::new(),
                false => JobPayload::new(child, 0, Some(waiting.target(now))).to_json(),
            };
            let child = child.to_string();
            let mut invocation = ENQUEUE_NOTIFIED.key(self.keys().queued());
            invocation
                .key(self.keys().stream())
                .key(self.keys().notify_due())
                .key(&keys.types)
                .key(&keys.days)
                .key(&keys.first)
                .key(&keys.ids)
                .key(self.keys().receipts(&child))
                .arg(&child)
                .arg(health_user_id)
                .arg(now)
                .arg(retry.as_millis() as i64)
                .arg(payload)
                .arg(waiting.first.as_deref().unwrap_or_default())
                .arg(waiting.data_types.len())
                .arg(&waiting.data_types)
                .arg(&waiting.days);
            let result: i64 = invocation.invoke_async(&mut conn).await?;
            match result {
                1 => return Ok(Enqueued::New),
                0 => return Ok(Enqueued::AlreadyQueued),
                -1 => return Ok(Enqueued::NothingWaiting),
                _ => {}
            }
        }
        Ok(Enqueued::Changing)
    }

    /// Forgets what waits for `health_user_id`; returns the journal ids it named.
    pub async fn drop_waiting(&self, health_user_id: &str) -> Result<Vec<String>, CoordinationError> {
        let keys = self.keys().waiting(health_user_id);
        let mut conn = self.coordination().connection().await?;
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
            .arg(self.keys().notify_due())
            .arg(health_user_id)
            .ignore()
            .query_async(&mut conn)
            .await?;
        Ok(ids)
    }

    /// Notes that `child` had a notification now, for the stale-children count of the ticks.
    pub async fn mark_notified(&self, child: ChildId) -> Result<(), CoordinationError> {
        let mut conn = self.coordination().connection().await?;
        redis::cmd("HSET")
            .arg(self.keys().notify_last())
            .arg(child.to_string())
            .arg(Utc::now().timestamp_millis())
            .query_async::<()>(&mut conn)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn waiting(types: &[&str], days: &[&str], first: Option<&str>) -> Waiting {
        Waiting {
            data_types: types.iter().map(|t| t.to_string()).collect(),
            days: days.iter().map(|d| d.to_string()).collect(),
            first: first.map(str::to_string),
        }
    }

    #[test]
    fn what_waits_becomes_one_narrowed_sync() {
        let target =
            waiting(&["sleep", "exercise"], &["2026-12-03", "2026-11-30", "2026-12-01"], Some("17")).target(99);
        assert_eq!(target.data_types, [GoogleDataType::Exercise, GoogleDataType::Sleep]);
        let day = |d: &str| d.parse::<NaiveDate>().unwrap();
        assert_eq!(target.days, Some((day("2026-11-30"), day("2026-12-03"))));
        assert_eq!(target.notified_at_ms, 17);

        let whole = waiting(&["steps"], &["2026-12-03", ALL_DAYS], None).target(99);
        assert_eq!((whole.days, whole.notified_at_ms), (None, 99), "a notification without days: the usual window");

        // As the job's payload says it.
        let child = ChildId::parse("5a62be07de34500146d9c544").unwrap();
        let payload = JobPayload::new(child, 0, Some(target)).to_json();
        assert_eq!(
            payload,
            r#"{"child":"5a62be07de34500146d9c544","attempt":1,"tick":0,"target":{"data_types":["exercise","sleep"],"days":["2026-11-30","2026-12-03"],"notified_at_ms":17}}"#
        );
    }
}
