//! Data providers. Today the legacy Fitbit Web API; the Google Health API joins it behind the same types.

mod error;
pub mod fitbit;
mod retry;

pub use error::{AuthErrorBody, ProviderError, ProviderErrorKind};
