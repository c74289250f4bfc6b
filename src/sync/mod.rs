//! The sync of one child (docs/ARCHITECTURE.md#a-sync): load the child's tokens (store) → fetch (provider) → transform
//! → publish (bus) → record (store). Used by `POST /v1/users/:user_id/fitbit/sync` and by the cron's jobs alike.

mod counts;
mod engine;
mod error;
mod part;
mod resource;
mod skip;
mod source;
mod target;
pub mod transform;
mod window;

pub use counts::SyncCounts;
pub use engine::{RunningSync, SyncService};
pub use error::SyncError;
pub use resource::ResourceKind;
pub use target::{is_synced_type, SyncTarget, SYNCED_TYPES};
pub use window::SyncWindow;
