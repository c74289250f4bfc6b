//! `POST /v1/google/notifications`: Google Health's webhook (docs/notifications.md). Mounted only while
//! `GOOGLE_NOTIFICATION_SECRET` is set (the JSON 404 otherwise). Answers 201 to the endpoint check, 204 once the
//! notifications are noted (never after a sync: Google counts anything else as a failed delivery), 401 without the
//! secret or a valid signature, 400 for a body that is not JSON, 413 beyond 1 MiB, and 503 while MongoDB, Redis or
//! Google's keyset cannot be reached (Google delivers again).
//!
//! The route is public, so an unauthenticated request must cost nothing: `Authorization` and `Content-Length` are
//! checked from the head, before any body byte is read, and the answer goes at once. Where
//! `GOOGLE_NOTIFICATION_REQUIRE_AUTHORIZATION=false` lets the signature alone protect it, a body without the secret
//! may hold [`UNAUTHENTICATED_BODY_LIMIT`] for [`UNAUTHENTICATED_BODY_TIMEOUT`] at most (docs/operations.md#security).

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;

use super::body_read::{declared_length, read_body, BODY_READ_TIMEOUT};
use super::error::{ApiError, Dependency};
use super::AppState;
use crate::metrics::NotificationOutcome;
use crate::notifications::{Authorization, InboxError, NotificationError, Notifications, Receipt, SIGNATURE_HEADERS};

pub const PATH: &str = "/v1/google/notifications";
/// Google sends batches: far more than the API's 100 kB JSON bodies.
pub const BODY_LIMIT: usize = 1024 * 1024;
/// A body without the secret: a notification is a few hundred bytes, a batch a few kilobytes.
pub const UNAUTHENTICATED_BODY_LIMIT: usize = 64 * 1024;
/// A body without the secret arrives whole within this, or the connection is cut.
pub const UNAUTHENTICATED_BODY_TIMEOUT: Duration = Duration::from_secs(2);

pub fn router(notifications: Option<Notifications>) -> Router<AppState> {
    match notifications {
        Some(notifications) => {
            Router::new().route(PATH, post(move |headers, body| receive(notifications, headers, body)))
        }
        None => Router::new(),
    }
}

async fn receive(notifications: Notifications, headers: HeaderMap, body: Body) -> Result<Response, ApiError> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let authorization = notifications.authorize(header("authorization")).map_err(answer)?;
    let (limit, deadline) = match authorization {
        Authorization::Secret => (BODY_LIMIT, BODY_READ_TIMEOUT),
        Authorization::Absent => (UNAUTHENTICATED_BODY_LIMIT, UNAUTHENTICATED_BODY_TIMEOUT),
    };
    if declared_length(&headers).is_some_and(|n| n > limit) {
        crate::metrics::get().notification(NotificationOutcome::TooLarge, 1);
        return Err(ApiError::BodyTooLarge);
    }
    let body = read_body(body, limit, deadline).await.inspect_err(|e| {
        if let ApiError::BodyTooLarge = e {
            crate::metrics::get().notification(NotificationOutcome::TooLarge, 1);
        }
    })?;
    let signature = SIGNATURE_HEADERS.iter().find_map(|name| header(name));
    notifications.receive(authorization, signature, &body).await.map_err(answer).map(|receipt| match receipt {
        Receipt::Verification => StatusCode::CREATED.into_response(),
        Receipt::Accepted => StatusCode::NO_CONTENT.into_response(),
    })
}

/// The answer to a refused or failed notification request.
fn answer(error: NotificationError) -> ApiError {
    match error {
        e @ (NotificationError::Unauthorized | NotificationError::BadSignature(_)) => {
            ApiError::Unauthorized(e.to_string())
        }
        NotificationError::Malformed(_) => ApiError::MalformedBody,
        NotificationError::Unavailable(InboxError::Store(_)) => ApiError::DependencyDown(Dependency::MongoDb),
        NotificationError::Unavailable(InboxError::Coordination(_)) => ApiError::DependencyDown(Dependency::Redis),
        NotificationError::KeysetUnavailable(_) => ApiError::ProviderUnavailable {
            message: "Google's signing keys could not be read.".into(),
            description: Some("Please try again later.".into()),
        },
    }
}

/// Whether a request goes to this route: the body middleware leaves its body alone, for the signature is over the
/// raw bytes and the limit is larger.
pub fn is_notification(path: &str) -> bool {
    path == PATH
}
