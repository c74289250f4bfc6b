//! Why a sync did not run or did not finish.

use crate::bus::BusError;
use crate::coordination::CoordinationError;
use crate::domain::ScopeError;
use crate::provider::ProviderError;
use crate::store::StoreError;
use crate::tokens::RefreshError;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("User does not have authentication data. Please, submit authentication data and try again.")]
    NoAuthorization,
    #[error(transparent)]
    Scope(#[from] ScopeError),
    /// A token or provider failure; it has an internal code and may be announced
    /// (docs/decisions.md#internal-error-codes).
    #[error(transparent)]
    Provider(#[from] ProviderError),
    /// Another sync of the same child runs, here or on another instance.
    #[error("a sync of this child is already running")]
    Busy,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Coordination(#[from] CoordinationError),
    /// Some items were fetched but the broker did not confirm them; they were not recorded and go out next time.
    #[error(transparent)]
    Bus(#[from] BusError),
    /// The service is shutting down: the sync stopped at a safe point; what was confirmed is recorded.
    #[error("the service is shutting down")]
    Interrupted,
}

impl SyncError {
    /// Worth another try later: a dependency or the provider was unavailable, or the child was busy.
    pub fn is_transient(&self) -> bool {
        match self {
            SyncError::Provider(e) => e.is_transient(),
            // Only an operator adding the key that sealed them helps.
            SyncError::Store(StoreError::Undecryptable(_)) => false,
            SyncError::Busy
            | SyncError::Store(_)
            | SyncError::Coordination(_)
            | SyncError::Bus(_)
            | SyncError::Interrupted => true,
            SyncError::NoAuthorization | SyncError::Scope(_) => false,
        }
    }
}

impl From<RefreshError> for SyncError {
    fn from(e: RefreshError) -> Self {
        match e {
            RefreshError::NoAuthorization => SyncError::NoAuthorization,
            RefreshError::Provider(e) => SyncError::Provider(e),
            RefreshError::Store(e) => SyncError::Store(e),
            RefreshError::Coordination(e) => SyncError::Coordination(e),
            RefreshError::Busy => SyncError::Busy,
            RefreshError::Scope(e) => SyncError::Scope(e),
        }
    }
}
