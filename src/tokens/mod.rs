//! Ownership of a child's provider tokens once they are handed over: refreshing them (one refresh per child at a
//! time, across instances), reporting the failures that make them unusable (§8.6), and revoking them.

mod failures;
mod refresh;
mod revocations;

pub use failures::FailureReporter;
pub use refresh::{RefreshError, TokenService};
pub use revocations::{spawn_revocation_retries, Revocations};
