//! Data providers: the legacy Fitbit Web API and its successor, the Google Health API, behind the same error type
//! and the same operations.

mod error;
pub mod fitbit;
pub mod google;
mod providers;
mod retry;
pub(crate) mod transport;

pub use error::{AuthErrorBody, ProviderError, ProviderErrorKind};
pub use providers::{Providers, Refreshed};
