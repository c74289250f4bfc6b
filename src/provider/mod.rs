//! Data providers: the legacy Fitbit Web API and its successor, the Google Health API, behind one boundary
//! ([`Provider`]) and one error type. Everything provider-specific lives here: the clients, the reads of a sync, the
//! transforms of each provider's JSON into the OCARIoT contract (`domain::ocariot`), the token checks and quirks.

mod error;
pub mod fitbit;
pub mod google;
mod json;
pub mod onboarding;
pub mod page;
mod providers;
mod retry;
pub(crate) mod transport;

pub use error::{AuthErrorBody, ProviderError, ProviderErrorKind};
pub use providers::{Provider, Providers, Refreshed};
pub use transport::RETRY_AFTER_CAP_SECS;
