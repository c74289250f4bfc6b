//! Google's HTTP face, served next to Fitbit's at the same base URL: OAuth (`/token`, `/revoke`, `/tokeninfo`), the
//! fake consent page (`/o/oauth2/v2/auth`), the Health API under `/v4/` (users' data, and the projects' webhook
//! subscribers) and the webhook signatures' public keyset.

pub(super) mod consent;
pub(super) mod health;
pub(super) mod keyset;
pub(super) mod oauth;
pub(super) mod subscribers;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// Google's OAuth error body, `{"error","error_description"}` (RFC 6749, as Google answers).
pub(super) fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (status, Json(json!({"error": error, "error_description": description}))).into_response()
}
