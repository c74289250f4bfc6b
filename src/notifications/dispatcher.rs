//! Turns closed coalescing windows into sync jobs, on every instance (the enqueue is atomic, so two instances never
//! make two jobs of one window). The Google Health user is mapped to the child here, off the request path.

use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::Inbox;
use crate::error_chain::Chain;
use crate::jobs::Enqueued;
use crate::metrics::{self, NotificationOutcome};
use crate::shutdown::Periodic;
use crate::store::UserAuths;

const POLL_EVERY: Duration = Duration::from_millis(250);
/// Windows taken per poll.
const BATCH: usize = 100;
/// A child that already has a job gets its notifications in a job of their own after it: asked again this often.
const BUSY_RETRY: Duration = Duration::from_secs(1);

pub fn spawn_dispatcher(inbox: Inbox, userauths: UserAuths, shutdown: CancellationToken) -> JoinHandle<()> {
    tokio::spawn(async move {
        let periodic = Periodic::new(&shutdown, POLL_EVERY);
        while periodic.next().await {
            if let Err(e) = dispatch_due(&inbox, &userauths).await {
                tracing::warn!("Google notifications wait: {}", Chain(&*e));
            }
        }
    })
}

async fn dispatch_due(inbox: &Inbox, userauths: &UserAuths) -> Result<(), Box<dyn std::error::Error>> {
    for health_user in inbox.due(BATCH).await? {
        match userauths.find_by_health_user(&health_user).await? {
            None => {
                tracing::debug!("Google notified Health user {health_user}, who is no child's: dropped");
                metrics::get().notification(NotificationOutcome::UnknownUser, 1);
                inbox.drop_waiting(&health_user).await?;
            }
            Some((child, false)) => {
                tracing::debug!("Google notified child {child}, whose tokens are invalid: dropped");
                metrics::get().notification(NotificationOutcome::InvalidTokens, 1);
                inbox.drop_waiting(&health_user).await?;
            }
            Some((child, true)) => {
                if inbox.enqueue(child, &health_user, BUSY_RETRY).await? == Enqueued::New {
                    tracing::debug!("Google notifications of child {child} make a sync job");
                    metrics::get().notification_jobs.inc();
                    inbox.mark_notified(child).await?;
                }
            }
        }
    }
    Ok(())
}
