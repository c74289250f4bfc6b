//! The cron: `EXPRESSION_AUTO_SYNC` in the server's local time, 5 fields or 6 with seconds, run by
//! tokio-cron-scheduler. Every instance runs it; [`JobQueue::tick`] lets only one of them enqueue per tick.

use chrono::{DateTime, Local, Utc};
use tokio::task::JoinHandle;
use tokio_cron_scheduler::{Job as CronJob, JobScheduler};
use tokio_util::sync::CancellationToken;

use super::JobQueue;
use crate::store::UserAuths;

/// tokio-cron-scheduler wants the seconds field; a 5-field expression fires at second 0, as node-cron's did.
pub fn with_seconds(expression: &str) -> String {
    let expression = expression.trim();
    if expression.split_whitespace().count() == 5 {
        format!("0 {expression}")
    } else {
        expression.to_string()
    }
}

pub fn spawn_scheduler(
    queue: JobQueue,
    userauths: UserAuths,
    expression: String,
    shutdown: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let schedule = crate::config::parse_cron(&expression).expect("the expression was checked at startup");
        let run = move |_, _| {
            let (queue, userauths, schedule) = (queue.clone(), userauths.clone(), schedule.clone());
            Box::pin(async move {
                // Instances fire a few milliseconds apart: the scheduled time, not the clock, names the tick.
                let scheduled = scheduled_time(&schedule, Utc::now());
                if let Err(e) = queue.tick(&userauths, scheduled).await {
                    tracing::error!("An error occurred while trying to retrieve data for Fitbit sync. {e}");
                }
            }) as std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>
        };
        let started = async {
            let scheduler = JobScheduler::new().await?;
            scheduler.add(CronJob::new_async_tz(with_seconds(&expression), Local, run)?).await?;
            scheduler.start().await?;
            Ok::<_, tokio_cron_scheduler::JobSchedulerError>(scheduler)
        };
        let mut scheduler = match started.await {
            Ok(scheduler) => scheduler,
            Err(e) => {
                tracing::error!("An error occurred initializing the Fitbit data sync task. {e}");
                return;
            }
        };
        shutdown.cancelled().await;
        let _ = scheduler.shutdown().await;
    })
}

/// The latest time the expression names at or before `now` (within the last minute), in UTC.
fn scheduled_time(schedule: &croner::Cron, now: DateTime<Utc>) -> DateTime<Utc> {
    let local = now.with_timezone(&Local);
    let from = local - chrono::Duration::seconds(61);
    let mut latest = None;
    let mut cursor = from;
    while let Ok(next) = schedule.find_next_occurrence(&cursor, false) {
        if next > local {
            break;
        }
        latest = Some(next);
        cursor = next;
    }
    latest.map_or(now, |t| t.with_timezone(&Utc)).with_timezone(&Utc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_fields_get_a_zero_seconds_field() {
        assert_eq!(with_seconds("0 0 * * 0"), "0 0 0 * * 0");
        assert_eq!(with_seconds("*/5 * * * * *"), "*/5 * * * * *");
    }

    #[test]
    fn the_tick_is_named_by_its_scheduled_time() {
        let schedule = crate::config::parse_cron("*/10 * * * * *").unwrap();
        let now = DateTime::parse_from_rfc3339("2026-11-27T10:00:23.870Z").unwrap().with_timezone(&Utc);
        assert_eq!(scheduled_time(&schedule, now).to_rfc3339(), "2026-11-27T10:00:20+00:00");
    }
}
