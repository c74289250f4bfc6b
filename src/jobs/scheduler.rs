//! The cron: `EXPRESSION_AUTO_SYNC` in the server's local time, 5 fields or 6 with seconds (croner). Every instance
//! runs it; [`JobQueue::tick`] lets only one of them enqueue per tick. A tick that fails (MongoDB or Redis away) is
//! tried again with a growing pause until it runs or the next tick is due, so an outage at the scheduled moment does
//! not cost a week.

use std::time::Duration;

use chrono::{DateTime, Local, Utc};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::JobQueue;
use crate::backoff::Backoff;
use crate::config::AutoSync;
use crate::error_chain::Chain;
use crate::shutdown::Periodic;
use crate::store::UserAuths;

/// The pauses between the tries of a failing tick.
const RETRIES: Backoff = Backoff::doubling(Duration::from_secs(1)).at_most(Duration::from_secs(60));

pub fn spawn_scheduler(
    queue: JobQueue,
    userauths: UserAuths,
    auto_sync: AutoSync,
    shutdown: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let AutoSync { expression, schedule } = auto_sync;
        // Every pause is given: the time to the next tick, or the retry backoff.
        let periodic = Periodic::new(&shutdown, Duration::ZERO);
        let mut last: Option<DateTime<Local>> = None;
        loop {
            // Never the same tick twice, even if the wall clock steps back.
            let from = last.map_or_else(Local::now, |last| last.max(Local::now()));
            let Some(next) = next_after(&schedule, from) else {
                tracing::error!("An error occurred initializing the Fitbit data sync task. {expression} never fires");
                return;
            };
            let wait = (next - Local::now()).to_std().unwrap_or_default();
            if !periodic.next_after(wait).await {
                return;
            }
            last = Some(next);
            // The scheduled time, not the clock, names the tick: instances fire a few milliseconds apart.
            let scheduled = next.with_timezone(&Utc);
            let following = next_after(&schedule, next);
            let mut failures = 0;
            loop {
                let Err(e) = queue.tick(&userauths, scheduled).await else { break };
                tracing::error!("An error occurred while trying to retrieve data for Fitbit sync. {}", Chain(&e));
                failures += 1;
                let pause = RETRIES.delay(failures);
                if following.is_some_and(|following| Local::now() + pause >= following) {
                    break;
                }
                if !periodic.next_after(pause).await {
                    return;
                }
            }
        }
    })
}

/// The first time the expression names strictly after `from`.
fn next_after(schedule: &croner::Cron, from: DateTime<Local>) -> Option<DateTime<Local>> {
    schedule.find_next_occurrence(&from, false).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_tick_is_strictly_later_and_reads_five_or_six_fields() {
        let every_ten = crate::config::parse_cron("*/10 * * * * *").unwrap();
        let at = DateTime::parse_from_rfc3339("2026-11-27T10:00:20Z").unwrap().with_timezone(&Local);
        let next = next_after(&every_ten, at).unwrap();
        assert_eq!((next - at).num_seconds(), 10);
        let weekly = crate::config::parse_cron("0 0 * * 0").unwrap();
        let next = next_after(&weekly, at).unwrap();
        assert_eq!(chrono::Timelike::second(&next), 0, "a 5-field expression fires at second 0");
        assert!(next > at);
    }
}
