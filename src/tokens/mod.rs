//! Ownership of a child's provider tokens once they are handed over: refreshing them (one refresh per child at a time,
//! across instances), reporting the failures that make them unusable (docs/decisions.md#internal-error-codes), and
//! revoking them; and `ds-agent tokens reseal`, which seals every stored token under the current key.

mod connect_state;
mod failures;
mod refresh;
pub mod reseal;
mod revocations;

pub use connect_state::{BrowserSecret, InvalidState, StateSigner, STATE_LIFETIME_SECS};
pub use failures::FailureReporter;
pub use refresh::{RefreshError, TokenService, UsableTokens};
pub use revocations::{spawn_revocation_retries, Revocations};
