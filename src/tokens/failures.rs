//! What a provider failure does to a child (docs/decisions.md#internal-error-codes): `invalid_token` marks the tokens invalid, `invalid_grant`
//! removes them, and typed failures are announced with `FitbitAuthErrorEvent`. A data type the provider no longer
//! gives is announced once, by [`FailureReporter::report_permission_denied`], with code 1500 (see
//! docs/consumer-and-google-facts.md); the tokens stay.

use serde_json::json;

use crate::bus::{Event, Publisher};
use crate::domain::{ChildId, TokenStatus};
use crate::error_chain::Chain;
use crate::provider::{AuthErrorBody, ProviderError, ProviderErrorKind};
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
                    tracing::error!("Error at update token status from {child}: {}", Chain(&e));
                }
            }
            ProviderErrorKind::InvalidGrant => {
                if let Err(e) = self.userauths.remove_authorization(child).await {
                    tracing::error!("Error at remove the tokens of {child}: {}", Chain(&e));
                }
            }
            _ => {}
        }
        if !error.publishes_event() {
            return;
        }
        self.announce(child, &error.body()).await;
    }

    /// The provider refused `kinds` (OCARIoT kinds: `sleep`, `steps`…) and the sync will not ask for them again until
    /// new tokens come: told once, with the code the original gave Fitbit's `insufficient_scope` (1500), which the
    /// platform already knows; the tokens stay and the other kinds keep syncing.
    pub async fn report_permission_denied(&self, child: ChildId, kinds: &[String]) {
        self.announce(child, &permission_denied_body(kinds)).await;
    }

    async fn announce(&self, child: ChildId, body: &AuthErrorBody) {
        tracing::error!("Fitbit error: {}", json!({"child_id": child.to_string(), "error": body}));
        let code = crate::metrics::CodeLabels { code: body.code };
        crate::metrics::get().error_events.get_or_create(&code).inc();
        if let Err(lost) = self.publisher.announce(&Event::auth_error(child, body), &child.to_string()).await {
            tracing::error!("Error at publish error message from {child}: {lost}");
        }
    }
}

/// The error of [`FailureReporter::report_permission_denied`].
pub fn permission_denied_body(kinds: &[String]) -> AuthErrorBody {
    AuthErrorBody {
        code: 1500,
        message: format!("Permission denied for {} data.", kinds.join(", ")),
        description: Some(
            "The account no longer allows the application to read these data; the other data keep syncing. Please \
             reconnect the account granting every permission and submit the new authentication data."
                .into(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_kind_is_told_with_code_1500_and_names_the_kinds() {
        let body = permission_denied_body(&["sleep".into(), "steps".into()]);
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!(json["code"], 1500);
        assert_eq!(json["message"], "Permission denied for sleep, steps data.");
        assert!(json["description"].as_str().unwrap().contains("the other data keep syncing"));
    }
}
