//! Notifications waiting in Redis for their coalescing window to close, per Google Health user: the data types
//! named, the first and last civil day named (`all` when one named none), and when the first came. The first of a
//! window puts the user in `notify:due`, scored by the window's end; later ones only add to what waits, so a flood
//! never queues a child twice.

use std::time::Duration;

use chrono::Utc;

use super::Notification;
use crate::coordination::CoordinationError;
use crate::jobs::JobQueue;

/// What waits is dropped if nothing takes it (Google itself gives up after 7 days).
const WAITING_TTL_SECS: u64 = 7 * 24 * 3600;

/// Notes `notifications` in one round trip.
pub async fn note(jobs: &JobQueue, notifications: &[Notification], window: Duration) -> Result<(), CoordinationError> {
    if notifications.is_empty() {
        return Ok(());
    }
    let now = Utc::now().timestamp_millis();
    let due = now + window.as_millis() as i64;
    let mut pipe = redis::pipe();
    for notification in notifications {
        let keys = jobs.waiting_keys(&notification.health_user_id);
        pipe.cmd("SADD").arg(&keys.types).arg(&notification.data_type).ignore();
        match notification.days {
            Some((from, to)) => pipe.cmd("SADD").arg(&keys.days).arg(from.to_string()).arg(to.to_string()).ignore(),
            None => pipe.cmd("SADD").arg(&keys.days).arg("all").ignore(),
        };
        pipe.cmd("SET").arg(&keys.first).arg(now).arg("NX").arg("EX").arg(WAITING_TTL_SECS).ignore();
        pipe.cmd("EXPIRE").arg(&keys.types).arg(WAITING_TTL_SECS).ignore();
        pipe.cmd("EXPIRE").arg(&keys.days).arg(WAITING_TTL_SECS).ignore();
        pipe.cmd("ZADD").arg(jobs.key("notify:due")).arg("NX").arg(due).arg(&notification.health_user_id).ignore();
    }
    let mut conn = jobs.coordination().connection().await?;
    pipe.query_async::<()>(&mut conn).await?;
    Ok(())
}

/// Up to `limit` users whose window has closed.
pub async fn due(jobs: &JobQueue, limit: usize) -> Result<Vec<String>, CoordinationError> {
    let mut conn = jobs.coordination().connection().await?;
    let now = Utc::now().timestamp_millis();
    let due: Vec<String> = redis::cmd("ZRANGEBYSCORE")
        .arg(jobs.key("notify:due"))
        .arg("-inf")
        .arg(now)
        .arg("LIMIT")
        .arg(0)
        .arg(limit)
        .query_async(&mut conn)
        .await?;
    Ok(due)
}

/// Drops what waits for `health_user_id` (no child, or its tokens are invalid).
pub async fn drop_waiting(jobs: &JobQueue, health_user_id: &str) -> Result<(), CoordinationError> {
    let keys = jobs.waiting_keys(health_user_id);
    let mut conn = jobs.coordination().connection().await?;
    redis::pipe()
        .atomic()
        .cmd("DEL")
        .arg(&keys.types)
        .arg(&keys.days)
        .arg(&keys.first)
        .ignore()
        .cmd("ZREM")
        .arg(jobs.key("notify:due"))
        .arg(health_user_id)
        .ignore()
        .query_async::<()>(&mut conn)
        .await?;
    Ok(())
}

/// Notes that `child` had a notification now, for the stale-children count of the ticks.
pub async fn mark_notified(jobs: &JobQueue, child: &str) -> Result<(), CoordinationError> {
    let mut conn = jobs.coordination().connection().await?;
    redis::cmd("HSET")
        .arg(jobs.key("notify:last"))
        .arg(child)
        .arg(Utc::now().timestamp_millis())
        .query_async::<()>(&mut conn)
        .await?;
    Ok(())
}
