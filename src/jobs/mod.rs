//! Background syncs, shared by every instance through Redis: the cron's tick lists every child with a valid token and
//! enqueues one job per child (child id only: no token in Redis); workers on every instance take jobs from a Redis
//! Stream consumer group, so each job runs once, survives restarts, and is reclaimed when its worker dies
//! (docs/decisions.md#the-cron-syncs-every-child, docs/decisions.md#shared-jobs). All of the service's Redis state is
//! kept here: every key (`keys`), the job's one format ([`JobPayload`]), and the Google notifications waiting for their
//! window (`notified`), which `notifications` notes and enqueues through [`JobQueue`].

mod keys;
mod notified;
mod queue;
mod scheduler;
mod tick;
mod worker;

pub use crate::metrics::JobOutcome;
pub use keys::JobKeys;
pub use notified::Enqueued;
pub use queue::{ChildJobState, Job, JobPayload, JobQueue, JobSettings};
pub use scheduler::spawn_scheduler;
pub use worker::spawn_workers;
