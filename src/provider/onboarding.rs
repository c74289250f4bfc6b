//! What a provider's checks of handed-over tokens can say besides "store them" (POST auth, the Google connect flow):
//! the HTTP layer turns each answer into the original's response without knowing which provider spoke.

use super::fitbit::FitbitTokenFacts;
use super::ProviderError;

/// What a provider reads off an access token before anything else, in its own terms: Fitbit's JWT claims
/// ([`FitbitTokenFacts`], in the Fitbit folder); nothing for Google, whose tokens are opaque.
#[derive(Clone, Debug)]
pub enum TokenFacts {
    Fitbit(FitbitTokenFacts),
    Google,
}

/// The access token cannot be read (a Fitbit access token that is not a JWT).
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("the access token cannot be read")]
pub struct Unreadable;

#[derive(Debug)]
pub enum OnboardingError {
    /// The tokens allow none of the synced features; `description` names them in the provider's terms.
    Scope { description: &'static str },
    /// The provider says the access token is not active.
    Inactive,
    /// The provider refused the tokens for good, with an error of its own code.
    Refused(ProviderError),
    /// The provider could not answer: an outage is never mistaken for a dead token
    /// (docs/decisions.md#an-outage-is-not-a-dead-token).
    Unreachable(ProviderError),
}
