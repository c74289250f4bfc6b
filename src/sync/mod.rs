//! The sync of one child (docs/ARCHITECTURE.md#a-sync): load the child's tokens (store) → fetch and transform (provider)
//! → publish (bus) → record (store). Used by `POST /v1/users/:user_id/fitbit/sync` and by the cron's jobs alike.

mod counts;
mod engine;
mod error;
mod part;
mod source;
mod target;

pub use counts::SyncCounts;
pub use engine::{RunningSync, SyncService};
pub use error::SyncError;
pub use target::SyncTarget;
