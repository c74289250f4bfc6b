//! What the webhooks side keeps while the simulator runs: the signing keys, the subscribers, the notifications
//! waiting for their batch to close, every delivery attempt and every request to the subscriber routes. Raising and
//! delivering notifications is `crate::notifier`'s.

use std::collections::HashMap;
use std::time::Instant;

use serde_json::Value;

use super::subscribers::Subscribers;
use super::webhook_keys::WebhookKeys;

pub(crate) struct Webhooks {
    pub keys: WebhookKeys,
    pub subscribers: Subscribers,
    /// Per subscriber name, the notifications of the batch that has not gone out yet.
    pub batches: HashMap<String, Vec<Value>>,
    /// Every delivery attempt, in the order they finished.
    pub deliveries: Vec<Delivery>,
    /// `"<METHOD> <path and query>"` of every request to the project routes (`/v4/projects/…`), in arrival order.
    pub requests: Vec<String>,
}

impl Webhooks {
    pub(crate) fn new() -> Webhooks {
        Webhooks {
            keys: WebhookKeys::new(),
            subscribers: Subscribers::default(),
            batches: HashMap::new(),
            deliveries: Vec::new(),
            requests: Vec::new(),
        }
    }
}

/// One attempt to deliver a notification body to a subscriber.
#[derive(Clone, Debug)]
pub struct Delivery {
    /// The subscriber's name, `projects/{number}/subscribers/{id}`.
    pub subscriber: String,
    /// 1 for the first attempt, 2 for the first retry…
    pub attempt: u32,
    /// The answer's status; `None` when the connection failed or timed out (5 s).
    pub status: Option<u16>,
    /// The exact body sent (and signed): a JSON array of notifications, or one object when they go out single.
    pub body: String,
    /// When the attempt was sent.
    pub at: Instant,
}
