//! Turns a Google answer into a [`ProviderError`] with the same internal codes as Fitbit's
//! (docs/decisions.md#internal-error-codes): OAuth errors (`{"error": "invalid_grant"}`) from the token endpoints and
//! `google.rpc.Status` from the Health API.

use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde_json::Value;

use crate::provider::transport::retry_after;
use crate::provider::{ProviderError, ProviderErrorKind};

pub fn classify_answer(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Option<ProviderError> {
    if status.is_success() {
        return None;
    }
    let parsed: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let error = parsed.get("error");
    // OAuth endpoints: {"error": "invalid_grant", "error_description": "…"}.
    if let Some(code) = error.and_then(Value::as_str) {
        let description = parsed.get("error_description").and_then(Value::as_str).unwrap_or(code).to_string();
        let kind = match code {
            "invalid_grant" => ProviderErrorKind::InvalidGrant,
            "invalid_client" | "unauthorized_client" => ProviderErrorKind::InvalidClient,
            "invalid_token" => ProviderErrorKind::InvalidToken,
            _ => kind_from_status(status, headers, "").unwrap_or(ProviderErrorKind::Other(code.to_string())),
        };
        return Some(ProviderError::new(kind, description));
    }
    // Health API: {"error": {"code", "message", "status", "details": [{"reason"}]}}.
    let message = error.and_then(|e| e.get("message")).and_then(Value::as_str).unwrap_or("").to_string();
    let reason = error
        .and_then(|e| e.get("details"))
        .and_then(Value::as_array)
        .and_then(|details| details.iter().find_map(|d| d.get("reason").and_then(Value::as_str)))
        .unwrap_or("");
    let kind = kind_from_status(status, headers, &format!("{reason} {message}"))?;
    let detail =
        if message.is_empty() { status.canonical_reason().unwrap_or("HTTP error").to_string() } else { message };
    Some(ProviderError::new(kind, detail))
}

/// 403 reasons that concern the Cloud project, not the user's permissions: every user gets them until an operator acts.
const PROJECT_REASONS: [&str; 3] = ["SERVICE_DISABLED", "BILLING_DISABLED", "CONSUMER_INVALID"];

fn kind_from_status(status: StatusCode, headers: &HeaderMap, hint: &str) -> Option<ProviderErrorKind> {
    let reason = hint.split_whitespace().next().unwrap_or_default();
    Some(match status.as_u16() {
        401 if hint.to_ascii_lowercase().contains("expired") => ProviderErrorKind::ExpiredToken,
        401 => ProviderErrorKind::InvalidToken,
        // A user's permission for the data is gone (whatever the reason says, or none): the tokens still read the rest.
        403 if !PROJECT_REASONS.contains(&reason) => ProviderErrorKind::PermissionDenied,
        429 => ProviderErrorKind::RateLimited { retry_after_secs: retry_after(headers) },
        500..=599 => ProviderErrorKind::Unavailable,
        400..=499 => ProviderErrorKind::Other(hint.split_whitespace().next().unwrap_or("google_error").to_string()),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(status: u16, body: &str) -> ProviderErrorKind {
        classify_answer(StatusCode::from_u16(status).unwrap(), &HeaderMap::new(), body.as_bytes()).unwrap().kind
    }

    #[test]
    fn oauth_errors_keep_their_internal_codes() {
        assert_eq!(
            classify(400, r#"{"error":"invalid_grant","error_description":"Token has been expired or revoked."}"#),
            ProviderErrorKind::InvalidGrant
        );
        assert_eq!(classify(401, r#"{"error":"invalid_client"}"#), ProviderErrorKind::InvalidClient);
    }

    #[test]
    fn rpc_status_errors_map_by_status_and_reason() {
        let expired = r#"{"error":{"code":401,"message":"Request had invalid authentication credentials.","status":"UNAUTHENTICATED","details":[{"reason":"ACCESS_TOKEN_EXPIRED"}]}}"#;
        assert_eq!(classify(401, expired), ProviderErrorKind::ExpiredToken);
        assert_eq!(
            classify(401, r#"{"error":{"code":401,"status":"UNAUTHENTICATED"}}"#),
            ProviderErrorKind::InvalidToken
        );
        assert_eq!(
            classify(429, r#"{"error":{"code":429,"status":"RESOURCE_EXHAUSTED"}}"#),
            ProviderErrorKind::RateLimited { retry_after_secs: None }
        );
        assert_eq!(classify(503, "<html>"), ProviderErrorKind::Unavailable);
        let scope = r#"{"error":{"code":403,"status":"PERMISSION_DENIED","details":[{"reason":"ACCESS_TOKEN_SCOPE_INSUFFICIENT"}]}}"#;
        assert_eq!(classify(403, scope), ProviderErrorKind::PermissionDenied);
        let bare =
            r#"{"error":{"code":403,"message":"The caller does not have permission","status":"PERMISSION_DENIED"}}"#;
        assert_eq!(classify(403, bare), ProviderErrorKind::PermissionDenied);
        // The project's API switched off is no user's permission: every child gets it until an operator acts.
        let disabled =
            r#"{"error":{"code":403,"status":"PERMISSION_DENIED","details":[{"reason":"SERVICE_DISABLED"}]}}"#;
        assert_eq!(classify(403, disabled), ProviderErrorKind::Other("SERVICE_DISABLED".into()));
        assert!(classify_answer(StatusCode::OK, &HeaderMap::new(), b"{}").is_none());
    }
}
