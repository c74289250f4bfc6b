//! Redis is a fast path, never the store of record: if it comes back without the service's data (a restart without
//! persistence, a failover, a `FLUSHALL`), this task notices within a second and rebuilds what was lost from MongoDB,
//! on whichever instance sees it first, without a restart:
//!
//! - the consumer group of the job stream;
//! - the jobs the latest cron tick still owes (children whose `last_sync` is older than the tick);
//! - the Google notifications accepted but not yet synced (the notification journal), noted again.
//!
//! Delayed retries need nothing of their own: a child retried after a tick is still owed by that tick, and a
//! notification job keeps its journal entries until it ends. Leases taken before the loss are ended at once (see
//! `coordination::epoch`), so a sync running when Redis lost its data stops at its next safe point instead of
//! running beside the one the rebuild starts.

use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::coordination::EpochCheck;
use crate::error_chain::Chain;
use crate::jobs::JobQueue;
use crate::metrics;
use crate::notifications::Inbox;
use crate::shutdown::Periodic;
use crate::store::UserAuths;

const CHECK_EVERY: Duration = Duration::from_secs(1);

/// What one rebuild put back.
#[derive(Debug, Default, PartialEq)]
pub struct Rebuilt {
    pub jobs: usize,
    pub notifications: usize,
}

pub fn spawn_recovery(
    jobs: JobQueue,
    userauths: UserAuths,
    inbox: Option<Inbox>,
    shutdown: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let periodic = Periodic::new(&shutdown, CHECK_EVERY);
        let mut first_look = true;
        loop {
            match jobs.check_epoch().await {
                Ok(EpochCheck::Unchanged) => first_look = false,
                Ok(EpochCheck::Replaced) => {
                    tracing::warn!("Redis lost its data; another instance has rebuilt the service's state");
                    if let Err(e) = jobs.ensure_group().await {
                        tracing::warn!("The sync job queue's consumer group not made again: {}", Chain(&e));
                    }
                }
                Ok(EpochCheck::Lost) => match rebuild(&jobs, &userauths, inbox.as_ref()).await {
                    Ok(rebuilt) => {
                        if first_look {
                            tracing::info!("Redis holds no state of this service yet: made from MongoDB ({rebuilt:?})");
                        } else {
                            tracing::warn!(
                                "Redis lost its data: the service's state was rebuilt from MongoDB ({rebuilt:?})"
                            );
                            metrics::get().redis_state_recovered.inc();
                        }
                        first_look = false;
                    }
                    Err(e) => {
                        tracing::warn!("Redis lost its data and the rebuild failed; it is tried again: {}", Chain(&*e))
                    }
                },
                // Unreachable: `/health/ready` says so, and the next round tries again.
                Err(_) => {}
            }
            if !periodic.next_or(jobs.loss_suspected()).await {
                return;
            }
        }
    })
}

/// Rebuilds the service's state in Redis from MongoDB, then marks it rebuilt. Safe to run on several instances at
/// once: enqueuing and noting are idempotent.
pub async fn rebuild(
    jobs: &JobQueue,
    userauths: &UserAuths,
    inbox: Option<&Inbox>,
) -> Result<Rebuilt, Box<dyn std::error::Error + Send + Sync>> {
    jobs.ensure_group().await?;
    let mut rebuilt = Rebuilt { jobs: jobs.catch_up(userauths).await?, notifications: 0 };
    if let Some(inbox) = inbox {
        rebuilt.notifications = inbox.replay().await?;
    }
    jobs.begin_epoch().await?;
    Ok(rebuilt)
}
