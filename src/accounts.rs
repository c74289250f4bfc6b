//! `UserDeleteEvent` (docs/decisions.md#user-deletion): when the platform deletes a user, the child's authorization and
//! synced-item records go too, and the provider grant is revoked best-effort.

use serde_json::Value;

use crate::bus::{Handled, UserDeleteHandler};
use crate::domain::ChildId;
use crate::error_chain::Chain;
use crate::store::{Resources, StoreError, UserAuths};
use crate::tokens::Revocations;

#[derive(Clone)]
pub struct UserDeletion {
    userauths: UserAuths,
    resources: Resources,
    revocations: Revocations,
}

impl UserDeletion {
    pub fn new(userauths: UserAuths, resources: Resources, revocations: Revocations) -> Self {
        UserDeletion { userauths, resources, revocations }
    }

    async fn handle_event(&self, body: &[u8]) -> Handled {
        let event: Option<Value> = serde_json::from_slice(body).ok();
        let event_name = event.as_ref().and_then(|e| e.get("event_name")).and_then(Value::as_str).unwrap_or("");
        let id = event.as_ref().and_then(|e| e.pointer("/user/id")).and_then(Value::as_str);
        let Some(child) = id.and_then(|id| ChildId::parse(id).ok()) else {
            tracing::warn!(
                "An error occurred while attempting perform the operation with the {event_name} name event. \
                 Event received but could not be handled due to an error in the event format."
            );
            return Handled::Acknowledge;
        };
        match self.delete(child).await {
            Ok(true) => {
                tracing::info!("Action for event {event_name} successfully held!");
                Handled::Acknowledge
            }
            Ok(false) => Handled::Acknowledge,
            Err(e) => {
                tracing::warn!(
                    "An error occurred while attempting perform the operation with the {event_name} name event. {}",
                    Chain(&e)
                );
                Handled::Retry
            }
        }
    }

    /// False when the user had no record (not a child of ours, or already deleted). The grant is revoked (or its
    /// revocation kept for the background retries) before anything is deleted, so a failure midway never loses the
    /// tokens a revoke needs; a redelivery repeats only what is left.
    async fn delete(&self, child: ChildId) -> Result<bool, StoreError> {
        if let Some(stored) = self.userauths.find(child).await? {
            self.revocations.revoke(child, &stored.auth).await?;
        }
        self.resources.remove_all(child).await?;
        Ok(self.userauths.delete(child).await?.is_some())
    }
}

impl UserDeleteHandler for UserDeletion {
    async fn handle(&self, body: &[u8]) -> Handled {
        self.handle_event(body).await
    }
}
