//! Fitbit's error envelope, `{"errors":[{"errorType","fieldName","message"}],"success":false}`. ds-agent acts on the
//! type and message (docs/decisions.md#internal-error-codes), so both follow Fitbit's wording; tokens in messages are
//! shortened.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::redact::short;

/// One Fitbit error answer; small enough to travel in `Result`s until it becomes a response.
pub(crate) struct FitbitError {
    status: StatusCode,
    error_type: &'static str,
    field: &'static str,
    message: String,
}

impl IntoResponse for FitbitError {
    fn into_response(self) -> Response {
        let body = json!({
            "errors": [{"errorType": self.error_type, "fieldName": self.field, "message": self.message}],
            "success": false,
        });
        (self.status, Json(body)).into_response()
    }
}

pub(crate) fn error(
    status: StatusCode,
    error_type: &'static str,
    field: &'static str,
    message: impl Into<String>,
) -> FitbitError {
    FitbitError { status, error_type, field, message: message.into() }
}

pub(crate) fn invalid_token(token: Option<&str>) -> FitbitError {
    let message = match token {
        Some(token) => format!("Access token invalid: {}", short(token)),
        None => "Authorization header required.".to_string(),
    };
    error(StatusCode::UNAUTHORIZED, "invalid_token", "n/a", message)
}

pub(crate) fn expired_token(token: &str) -> FitbitError {
    error(StatusCode::UNAUTHORIZED, "expired_token", "n/a", format!("Access token expired: {}", short(token)))
}

pub(crate) fn invalid_client() -> FitbitError {
    error(
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        "n/a",
        "Invalid authorization header. Client id and client secret are missing or invalid.",
    )
}

pub(crate) fn invalid_grant(refresh_token: &str) -> FitbitError {
    error(StatusCode::BAD_REQUEST, "invalid_grant", "n/a", format!("Refresh token invalid: {}", short(refresh_token)))
}

pub(crate) fn invalid_request(message: impl Into<String>) -> FitbitError {
    error(StatusCode::BAD_REQUEST, "invalid_request", "n/a", message)
}

pub(crate) fn validation(field: &'static str, message: impl Into<String>) -> FitbitError {
    error(StatusCode::BAD_REQUEST, "validation", field, message)
}

pub(crate) fn insufficient_scope(data: &str) -> FitbitError {
    let message = format!("This application does not have permission to access {data} data.");
    error(StatusCode::FORBIDDEN, "insufficient_scope", "n/a", message)
}

pub(crate) fn not_found() -> FitbitError {
    error(StatusCode::NOT_FOUND, "not_found", "n/a", "The API you are requesting could not be found.")
}

pub(crate) fn too_many_requests() -> FitbitError {
    error(StatusCode::TOO_MANY_REQUESTS, "system", "n/a", "Too Many Requests")
}
