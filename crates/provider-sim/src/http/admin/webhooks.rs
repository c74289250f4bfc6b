//! Admin routes of the Google webhooks: the signing keys, the subscribers and deliveries as the simulator sees them,
//! an exercise added for a user (which notifies), and bare notifications for tests of other types and of floods.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;

use super::{bad_request, parse};
use crate::google::health_user_id;
use crate::google::notifications::Change;
use crate::google::subscribers::{Subscriber, WEBHOOK_DATA_TYPES};
use crate::notifier;
use crate::state::Shared;

pub(super) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/google/webhooks/rotate-key", post(rotate_key))
        .route("/google/webhooks/retired", put(set_retired))
        .route("/google/webhooks/subscribers", get(subscribers))
        .route("/google/deliveries", get(deliveries))
        .route("/google/users/{user}/exercises", post(add_exercise))
        .route("/google/notify", post(notify))
}

fn keys(shared: &Shared) -> Response {
    let state = shared.lock();
    let keys = &state.webhooks.keys;
    Json(json!({"primaryKeyId": keys.primary_id(), "keyIds": keys.ids(), "retired": keys.retired()})).into_response()
}

async fn rotate_key(State(shared): State<Arc<Shared>>) -> Response {
    shared.lock().webhooks.keys.rotate();
    keys(&shared)
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RetiredRequest {
    retired: Option<bool>,
}

async fn set_retired(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let retired = match parse::<RetiredRequest>(&body) {
        Ok(RetiredRequest { retired: Some(retired) }) => retired,
        Ok(_) => return bad_request("expected {\"retired\": true|false}"),
        Err(error) => return bad_request(error),
    };
    shared.lock().webhooks.keys.set_retired(retired);
    keys(&shared)
}

async fn subscribers(State(shared): State<Arc<Shared>>) -> Response {
    let state = shared.lock();
    let subscribers: Vec<_> = state.webhooks.subscribers.all().map(Subscriber::to_json).collect();
    Json(json!({"subscribers": subscribers})).into_response()
}

/// `at_ms`: when the attempt was sent, in milliseconds since the simulator started.
async fn deliveries(State(shared): State<Arc<Shared>>) -> Response {
    let state = shared.lock();
    let deliveries: Vec<_> = state
        .webhooks
        .deliveries
        .iter()
        .map(|d| {
            json!({
                "subscriber": d.subscriber,
                "attempt": d.attempt,
                "status": d.status,
                "body": d.body,
                "at_ms": d.at.saturating_duration_since(shared.started).as_millis() as u64,
            })
        })
        .collect();
    Json(json!({"deliveries": deliveries})).into_response()
}

/// An RFC 3339 instant, or what is wrong with it.
fn instant(field: &str, value: Option<&str>) -> Result<DateTime<Utc>, String> {
    let value = value.ok_or_else(|| format!("{field} is required (RFC 3339)"))?;
    DateTime::parse_from_rfc3339(value).map(|at| at.with_timezone(&Utc)).map_err(|error| format!("{field}: {error}"))
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ExerciseRequest {
    start: Option<String>,
    minutes: Option<u32>,
    steps: Option<u64>,
    exercise_type: Option<String>,
}

async fn add_exercise(State(shared): State<Arc<Shared>>, Path(user): Path<String>, body: Bytes) -> Response {
    let request: ExerciseRequest = match parse(&body) {
        Ok(request) => request,
        Err(error) => return bad_request(error),
    };
    let start = match instant("start", request.start.as_deref()) {
        Ok(start) => start,
        Err(problem) => return bad_request(problem),
    };
    let Some(minutes) = request.minutes.filter(|m| *m > 0) else {
        return bad_request("minutes is required and must be positive");
    };
    let exercise_type = request.exercise_type.unwrap_or_else(|| "WALKING".to_string());
    if exercise_type.is_empty() || !exercise_type.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') {
        return bad_request("exerciseType must be an enum value such as WALKING");
    }
    let name =
        notifier::add_google_exercise(&shared, &user, start, minutes, request.steps.unwrap_or(0), &exercise_type);
    Json(json!({"name": name, "user_id": user, "health_user_id": health_user_id(&user)})).into_response()
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct NotifyRequest {
    user: Option<String>,
    data_type: Option<String>,
    start: Option<String>,
    end: Option<String>,
    operation: Option<String>,
}

async fn notify(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let request: NotifyRequest = match parse(&body) {
        Ok(request) => request,
        Err(error) => return bad_request(error),
    };
    let Some(user) = request.user.filter(|u| !u.is_empty()) else { return bad_request("user is required") };
    let data_type = request.data_type.unwrap_or_default();
    if !WEBHOOK_DATA_TYPES.contains(&data_type.as_str()) {
        return bad_request(format!("dataType must be one of {}", WEBHOOK_DATA_TYPES.join(", ")));
    }
    let (start, end) = match (instant("start", request.start.as_deref()), instant("end", request.end.as_deref())) {
        (Ok(start), Ok(end)) if start <= end => (start, end),
        (Ok(_), Ok(_)) => return bad_request("end must not be before start"),
        (Err(problem), _) | (_, Err(problem)) => return bad_request(problem),
    };
    let operation = request.operation.filter(|o| !o.is_empty()).unwrap_or_else(|| "UPSERT".to_string());
    let notified = notifier::raise(&shared, &Change { user, data_type, start, end, operation });
    Json(json!({"notified": notified})).into_response()
}
