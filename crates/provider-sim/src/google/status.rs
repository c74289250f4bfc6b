//! Google's error envelope, `google.rpc.Status` in JSON (docs/google-health.md#errors):
//! `{"error":{"code","message","status","details"}}` with an `ErrorInfo` detail naming the reason. ds-agent classifies
//! errors by `code`, `status` and `reason`.

use axum::http::header::WWW_AUTHENTICATE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

const SERVICE: &str = "health.googleapis.com";
/// The Cloud project the simulated app belongs to, as quota errors name it.
const PROJECT_NUMBER: &str = "123456789";

/// One Google error answer; small enough to travel in `Result`s until it becomes a response.
#[derive(Debug)]
pub(crate) struct GoogleError {
    code: StatusCode,
    status: &'static str,
    message: String,
    details: Vec<Value>,
}

impl GoogleError {
    pub(crate) fn new(code: StatusCode, status: &'static str, message: impl Into<String>) -> GoogleError {
        GoogleError { code, status, message: message.into(), details: Vec::new() }
    }

    /// Adds an `ErrorInfo` detail; `method` is the RPC the request maps to, when known.
    pub(crate) fn reason(mut self, reason: &str, method: Option<&str>) -> GoogleError {
        let mut metadata = json!({"service": SERVICE});
        if let Some(method) = method {
            metadata["method"] = json!(format!("google.devicesandservices.health.v4.{method}"));
        }
        self.details.push(json!({
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": reason,
            "domain": "googleapis.com",
            "metadata": metadata,
        }));
        self
    }

    fn detail(mut self, detail: Value) -> GoogleError {
        self.details.push(detail);
        self
    }

    #[cfg(test)]
    pub(crate) fn code(&self) -> u16 {
        self.code.as_u16()
    }
}

impl IntoResponse for GoogleError {
    fn into_response(self) -> Response {
        let mut error = json!({"code": self.code.as_u16(), "message": self.message, "status": self.status});
        if !self.details.is_empty() {
            error["details"] = Value::Array(self.details);
        }
        let unauthenticated = self.code == StatusCode::UNAUTHORIZED;
        let mut response = (self.code, Json(json!({ "error": error }))).into_response();
        if unauthenticated {
            let challenge =
                HeaderValue::from_static("Bearer realm=\"https://accounts.google.com/\", error=\"invalid_token\"");
            response.headers_mut().insert(WWW_AUTHENTICATE, challenge);
        }
        response
    }
}

/// 400 `INVALID_ARGUMENT`, with an `ErrorInfo` reason when the catalogue has one.
pub(crate) fn invalid_argument(message: impl Into<String>, reason: Option<&str>) -> GoogleError {
    let error = GoogleError::new(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", message);
    match reason {
        Some(reason) => error.reason(reason, None),
        None => error,
    }
}

/// 401 `UNAUTHENTICATED`: `CREDENTIALS_MISSING` without a token, else `ACCESS_TOKEN_EXPIRED` or `ACCESS_TOKEN_INVALID`.
pub(crate) fn unauthenticated(reason: &'static str) -> GoogleError {
    let message = if reason == "CREDENTIALS_MISSING" {
        "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other \
         valid authentication credential."
    } else {
        "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid \
         authentication credential."
    };
    GoogleError::new(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", message).reason(reason, None)
}

/// 403 `PERMISSION_DENIED` / `ACCESS_TOKEN_SCOPE_INSUFFICIENT`, exactly as Google's error documentation shows it.
pub(crate) fn scope_insufficient(method: &str) -> GoogleError {
    GoogleError::new(StatusCode::FORBIDDEN, "PERMISSION_DENIED", "Request had insufficient authentication scopes.")
        .reason("ACCESS_TOKEN_SCOPE_INSUFFICIENT", Some(method))
}

pub(crate) fn permission_denied(message: impl Into<String>) -> GoogleError {
    GoogleError::new(StatusCode::FORBIDDEN, "PERMISSION_DENIED", message)
}

/// 400 `FAILED_PRECONDITION` / `ACCOUNT_NOT_LINKED`: the Google account has no Google Health profile.
pub(crate) fn account_not_linked() -> GoogleError {
    GoogleError::new(
        StatusCode::BAD_REQUEST,
        "FAILED_PRECONDITION",
        "The Google account is not linked to a Google Health profile.",
    )
    .reason("ACCOUNT_NOT_LINKED", None)
}

/// 404 `NOT_FOUND` for a URL or method the API does not have.
pub(crate) fn not_found(path: &str) -> GoogleError {
    GoogleError::new(StatusCode::NOT_FOUND, "NOT_FOUND", format!("The requested URL {path} was not found."))
}

/// 404 `NOT_FOUND` for a resource the URL names but that does not exist (a subscriber).
pub(crate) fn resource_not_found(message: impl Into<String>) -> GoogleError {
    GoogleError::new(StatusCode::NOT_FOUND, "NOT_FOUND", message)
}

/// 409 `ALREADY_EXISTS`, for a create with an id in use.
pub(crate) fn already_exists(message: impl Into<String>) -> GoogleError {
    GoogleError::new(StatusCode::CONFLICT, "ALREADY_EXISTS", message)
}

/// 400 `FAILED_PRECONDITION` without a reason: what a subscriber create or patch gets when the endpoint fails the
/// verification handshake (docs/notifications.md#what-google-sends).
pub(crate) fn failed_precondition(message: impl Into<String>) -> GoogleError {
    GoogleError::new(StatusCode::BAD_REQUEST, "FAILED_PRECONDITION", message)
}

/// 429 `RESOURCE_EXHAUSTED` / `RATE_LIMIT_EXCEEDED`, as every Health API quota answers it: the `ErrorInfo` names the
/// quota metric, the limit and its value. The caller adds a `QuotaFailure` where Google names who ran out.
fn quota_exceeded(limit_text: &str, limit_name: &str, limit_value: String, consumer: Option<&str>) -> GoogleError {
    let for_consumer = consumer.map(|c| format!(" for consumer '{c}'")).unwrap_or_default();
    let message = format!(
        "Quota exceeded for quota metric 'Requests' and limit '{limit_text}' of service '{SERVICE}'{for_consumer} \
         (limit {limit_value})."
    );
    let mut error = GoogleError::new(StatusCode::TOO_MANY_REQUESTS, "RESOURCE_EXHAUSTED", message)
        .reason("RATE_LIMIT_EXCEEDED", None);
    if let Some(metadata) = error.details[0].get_mut("metadata") {
        metadata["quota_metric"] = json!("health.googleapis.com/default_requests");
        metadata["quota_limit"] = json!(limit_name);
        metadata["quota_limit_value"] = json!(limit_value);
        if consumer.is_some() {
            metadata["consumer"] = json!(format!("projects/{PROJECT_NUMBER}"));
        }
    }
    error
}

/// 429 with a `QuotaFailure` naming the user, for the per-user per-minute quota.
pub(crate) fn rate_limited(limit: u32) -> GoogleError {
    quota_exceeded("Requests per minute per user", "DefaultRequestsPerMinutePerUser", limit.to_string(), None).detail(
        json!({
            "@type": "type.googleapis.com/google.rpc.QuotaFailure",
            "violations": [{"subject": "user", "description": format!("Limit of {limit} requests per minute per user.")}],
        }),
    )
}

/// 429 with a `QuotaFailure` naming the project: the Cloud project sent more Health API requests than its per-project
/// quota allows, all users together.
pub(crate) fn project_limited(per_second: f64) -> GoogleError {
    let per_minute = (per_second * 60.0).round();
    let consumer = format!("project_number:{PROJECT_NUMBER}");
    let limit_name = "DefaultRequestsPerMinutePerProject";
    quota_exceeded("Requests per minute", limit_name, per_minute.to_string(), Some(&consumer)).detail(json!({
        "@type": "type.googleapis.com/google.rpc.QuotaFailure",
        "violations": [{"subject": format!("project:{PROJECT_NUMBER}"),
                        "description": format!("Limit of {per_minute} requests per minute per project.")}],
    }))
}

/// 429 for a user sending faster than `per_second` allows, as an unverified app meets it. Google documents no
/// `Retry-After`, so there is none.
pub(crate) fn paced(per_second: f64) -> GoogleError {
    quota_exceeded("Requests per second per user", "DefaultRequestsPerSecondPerUser", per_second.to_string(), None)
}
