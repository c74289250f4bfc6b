//! What the webhooks side keeps while the simulator runs (the signing keys, the subscribers, the notifications
//! waiting for their batch to close, every delivery attempt) and the two ways a notification is raised: data added
//! for a user, or a bare announcement for tests of other types and of floods.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::added;
use super::delivery::{self, Delivery};
use super::mapping::health_user_id;
use super::notifications::Change;
use super::subscribers::Subscribers;
use super::webhook_keys::WebhookKeys;
use crate::state::Shared;

pub(crate) struct Webhooks {
    pub keys: WebhookKeys,
    pub subscribers: Subscribers,
    /// Per subscriber name, the notifications of the batch that has not gone out yet.
    pub batches: HashMap<String, Vec<Value>>,
    /// Every delivery attempt, in the order they finished.
    pub deliveries: Vec<Delivery>,
}

impl Webhooks {
    pub(crate) fn new() -> Webhooks {
        Webhooks {
            keys: WebhookKeys::new(),
            subscribers: Subscribers::default(),
            batches: HashMap::new(),
            deliveries: Vec::new(),
        }
    }
}

impl Shared {
    /// Adds an exercise of `user` and notifies its `UPSERT`; the new point's name.
    pub(crate) fn add_google_exercise(
        self: &Arc<Self>,
        user: &str,
        start: DateTime<Utc>,
        minutes: u32,
        steps: u64,
        exercise_type: &str,
    ) -> String {
        let exercise = self.lock().google_added.add_exercise(user, start, minutes, steps, exercise_type);
        let change = Change {
            user: user.to_string(),
            data_type: "exercise".to_string(),
            start,
            end: exercise.end(),
            operation: "UPSERT".to_string(),
        };
        delivery::raise(self, &change);
        added::name(&health_user_id(user), &exercise)
    }

    /// Announces a change without making it; how many subscribers it goes to.
    pub(crate) fn notify_google(self: &Arc<Self>, change: &Change) -> usize {
        delivery::raise(self, change)
    }
}
