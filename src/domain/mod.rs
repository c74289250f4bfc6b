//! The service's own vocabulary: parsed ids, token records and the rules on them, free of I/O.

mod auth_data;
mod child_id;
mod mask;
mod provider_kind;
mod scope;

pub use auth_data::{ProviderAuth, TokenStatus};
pub use child_id::{ChildId, InvalidId};
pub use mask::mask_token;
pub use provider_kind::ProviderKind;
pub use scope::{has_synced_scope, ScopeError, GOOGLE_ACTIVITY, GOOGLE_METRICS, GOOGLE_SLEEP};
