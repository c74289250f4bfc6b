//! Raising Google notifications (data added for a user, or a bare announcement for tests of other types and of
//! floods) and delivering them as Google does it (docs/notifications.md#what-google-sends): a POST to each ACTIVE subscriber
//! whose configs name the data type, with the secret as `Authorization` (unless switched off), a signature header and,
//! by default, a JSON array of the notifications raised for that subscriber within the batch window. Anything but 204
//! (200 included) or a transport error is retried with exponential backoff, up to the configured number of attempts;
//! every attempt is recorded. Deliveries run in background tasks that never hold the state lock across an await and
//! give up at once when the simulator stops, so a shutdown never waits for retries.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, USER_AGENT};
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::google::added;
use crate::google::mapping::health_user_id;
use crate::google::notifications::{notification, Change};
use crate::google::webhooks::Delivery;
use crate::state::Shared;

const AGENT: &str = "Google-Health-API-Webhooks";

/// Queues the notification of `change` for every subscriber that wants it; how many those are.
pub(crate) fn raise(shared: &Arc<Shared>, change: &Change) -> usize {
    let notification = notification(change);
    let mut tasks = Vec::new();
    let targets = {
        let mut state = shared.lock();
        let single = state.config.google_notifications_single;
        let webhooks = &mut state.webhooks;
        let targets: Vec<String> =
            webhooks.subscribers.all().filter(|s| s.wants(&change.data_type)).map(|s| s.name()).collect();
        for name in &targets {
            if single {
                tasks.push((name.clone(), Some(notification.to_string())));
            } else if let Some(batch) = webhooks.batches.get_mut(name) {
                batch.push(notification.clone());
            } else {
                // The first of a batch: its task sends whatever has gathered when the window closes.
                webhooks.batches.insert(name.clone(), vec![notification.clone()]);
                tasks.push((name.clone(), None));
            }
        }
        targets.len()
    };
    for (subscriber, body) in tasks {
        shared.spawn(deliver(shared.clone(), subscriber, body));
    }
    targets
}

/// `false` when the simulator stopped before `wait` was over.
async fn pause(shared: &Shared, wait: Duration) -> bool {
    tokio::select! {
        _ = shared.stopped() => false,
        _ = tokio::time::sleep(wait) => true,
    }
}

/// Delivers `body`, or the subscriber's batch once its window closes when `body` is `None`, until it is answered 204,
/// the attempts are used up, the subscriber is gone or the simulator stops.
async fn deliver(shared: Arc<Shared>, subscriber: String, body: Option<String>) {
    let body = match body {
        Some(body) => body,
        None => {
            let window = Duration::from_millis(shared.lock().config.google_notification_batch_ms);
            if !pause(&shared, window).await {
                return;
            }
            let batch = shared.lock().webhooks.batches.remove(&subscriber).unwrap_or_default();
            if batch.is_empty() {
                // The subscriber was deleted meanwhile.
                return;
            }
            Value::Array(batch).to_string()
        }
    };
    for attempt in 1.. {
        let Some(request) = request(&shared, &subscriber, &body) else { return };
        let at = Instant::now();
        let status = tokio::select! {
            _ = shared.stopped() => return,
            sent = request.send() => sent.ok().map(|response| response.status().as_u16()),
        };
        let (max_attempts, base) = {
            let mut state = shared.lock();
            let delivery = Delivery { subscriber: subscriber.clone(), attempt, status, body: body.clone(), at };
            state.webhooks.deliveries.push(delivery);
            let config = &state.config;
            (config.google_notification_max_attempts, Duration::from_millis(config.google_notification_retry_base_ms))
        };
        let outcome = status.map_or_else(|| "no answer".to_string(), |status| status.to_string());
        tracing::info!("notification to {subscriber}, attempt {attempt}: {outcome}");
        if status == Some(204) {
            return;
        }
        if attempt >= max_attempts {
            tracing::warn!("giving up on a notification to {subscriber} after {attempt} attempts");
            return;
        }
        let backoff = base.saturating_mul(1 << (attempt - 1).min(20));
        if !pause(&shared, backoff).await {
            return;
        }
    }
}

/// The POST of `body` to the subscriber as it is now (its endpoint and secret may have been patched since the
/// notification was raised), signed with the primary key; `None` when it is gone or not active.
fn request(shared: &Shared, subscriber: &str, body: &str) -> Option<reqwest::RequestBuilder> {
    let state = shared.lock();
    let target = state.webhooks.subscribers.get(subscriber).filter(|s| s.state == "ACTIVE")?;
    let config = &state.config;
    let signature = state.webhooks.keys.sign(body.as_bytes());
    let mut request = shared
        .outbound
        .post(&target.endpoint_uri)
        .header(CONTENT_TYPE, "application/json")
        .header(USER_AGENT, AGENT)
        .header(config.google_signature_header.as_str(), signature)
        .body(body.to_string());
    if !config.google_notification_omit_authorization {
        request = request.header(AUTHORIZATION, target.secret.as_str());
    }
    Some(request)
}

/// Adds an exercise of `user` and notifies its `UPSERT`; the new point's name.
pub(crate) fn add_google_exercise(
    shared: &Arc<Shared>,
    user: &str,
    start: DateTime<Utc>,
    minutes: u32,
    steps: u64,
    exercise_type: &str,
) -> String {
    let exercise = shared.lock().google.added.add_exercise(user, start, minutes, steps, exercise_type);
    let change = Change {
        user: user.to_string(),
        data_type: "exercise".to_string(),
        start,
        end: exercise.end(),
        operation: "UPSERT".to_string(),
    };
    raise(shared, &change);
    added::name(&health_user_id(user), &exercise)
}
