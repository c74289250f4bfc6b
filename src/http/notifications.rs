//! `POST /v1/google/notifications`: Google Health's webhook (docs/notifications.md). Mounted only while
//! `GOOGLE_NOTIFICATION_SECRET` is set (the JSON 404 otherwise). Answers 201 to the endpoint check, 204 once the
//! notifications are noted (never after a sync: Google counts anything else as a failed delivery), 401 without the
//! secret or a valid signature, 400 for a body that is not JSON, 413 beyond 1 MiB, and 503 while MongoDB, Redis or
//! Google's keyset cannot be reached (Google delivers again).

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use http_body_util::{BodyExt, LengthLimitError, Limited};

use super::error::{ApiError, Dependency};
use super::AppState;
use crate::metrics::NotificationOutcome;
use crate::notifications::{InboxError, NotificationError, Notifications, Receipt, SIGNATURE_HEADERS};

pub const PATH: &str = "/v1/google/notifications";
/// Google sends batches: far more than the API's 100 kB JSON bodies.
pub const BODY_LIMIT: usize = 1024 * 1024;

pub fn router(notifications: Option<Notifications>) -> Router<AppState> {
    match notifications {
        Some(notifications) => {
            Router::new().route(PATH, post(move |headers, body| receive(notifications, headers, body)))
        }
        None => Router::new(),
    }
}

async fn receive(notifications: Notifications, headers: HeaderMap, body: Body) -> Result<Response, ApiError> {
    let body = match Limited::new(body, BODY_LIMIT).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
            crate::metrics::get().notification(NotificationOutcome::TooLarge, 1);
            return Err(ApiError::BodyTooLarge);
        }
        Err(_) => return Err(ApiError::MalformedBody),
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let signature = SIGNATURE_HEADERS.iter().find_map(|name| header(name));
    match notifications.receive(header("authorization"), signature, &body).await {
        Ok(Receipt::Verification) => Ok(StatusCode::CREATED.into_response()),
        Ok(Receipt::Accepted) => Ok(StatusCode::NO_CONTENT.into_response()),
        Err(e @ (NotificationError::Unauthorized | NotificationError::BadSignature(_))) => {
            Err(ApiError::Unauthorized(e.to_string()))
        }
        Err(NotificationError::Malformed(_)) => Err(ApiError::MalformedBody),
        Err(NotificationError::Unavailable(InboxError::Store(_))) => Err(ApiError::DependencyDown(Dependency::MongoDb)),
        Err(NotificationError::Unavailable(InboxError::Coordination(_))) => {
            Err(ApiError::DependencyDown(Dependency::Redis))
        }
        Err(NotificationError::KeysetUnavailable(_)) => Err(ApiError::ProviderUnavailable {
            message: "Google's signing keys could not be read.".into(),
            description: Some("Please try again later.".into()),
        }),
    }
}

/// Whether a request goes to this route: the body middleware leaves its body alone, for the signature is over the
/// raw bytes and the limit is larger.
pub fn is_notification(path: &str) -> bool {
    path == PATH
}
