//! What a provider failure does to a child (docs/decisions.md#internal-error-codes): `invalid_token` marks the tokens
//! invalid, `invalid_grant` removes them, and typed failures are announced with `FitbitAuthErrorEvent`.

use serde_json::json;

use crate::bus::{Event, Publisher};
use crate::domain::{ChildId, TokenStatus};
use crate::provider::{ProviderError, ProviderErrorKind};
use crate::store::UserAuths;

#[derive(Clone)]
pub struct FailureReporter {
    userauths: UserAuths,
    publisher: Publisher,
}

impl FailureReporter {
    pub fn new(userauths: UserAuths, publisher: Publisher) -> Self {
        FailureReporter { userauths, publisher }
    }

    pub async fn report(&self, child: ChildId, error: &ProviderError) {
        match error.kind {
            // A retired API never answers again: the cron must stop calling it until new tokens come.
            ProviderErrorKind::InvalidToken | ProviderErrorKind::LegacyRetired => {
                if let Err(e) = self.userauths.set_status(child, TokenStatus::InvalidToken).await {
                    tracing::error!("Error at update token status from {child}: {e}");
                }
            }
            ProviderErrorKind::InvalidGrant => {
                if let Err(e) = self.userauths.remove_authorization(child).await {
                    tracing::error!("Error at remove the tokens of {child}: {e}");
                }
            }
            _ => {}
        }
        if !error.publishes_event() {
            return;
        }
        let body = error.body();
        tracing::error!("Fitbit error: {}", json!({"child_id": child.to_string(), "error": &body}));
        if let Err(lost) = self.publisher.announce(&Event::auth_error(child, &body), &child.to_string()).await {
            tracing::error!("Error at publish error message from {child}: {lost}");
        }
    }
}
