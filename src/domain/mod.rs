//! The service's own vocabulary: parsed ids, token records and the rules on them, what a sync reads (resource kinds,
//! windows, skips) and the OCARIoT contract it publishes, free of I/O.

mod auth_data;
mod child_id;
mod mask;
pub mod ocariot;
mod part;
mod provider_kind;
mod resource_kind;
mod scope;
mod skip;
mod sync_window;

pub use auth_data::{ProviderAuth, TokenStatus};
pub use child_id::{ChildId, InvalidId};
pub use mask::mask_token;
pub use part::{Feed, LogPart, Part};
pub use provider_kind::ProviderKind;
pub use resource_kind::ResourceKind;
pub use scope::{ScopeError, Scopes, GOOGLE_ACTIVITY, GOOGLE_METRICS, GOOGLE_SLEEP};
pub use skip::Skip;
pub use sync_window::SyncWindow;
