//! Turns a Fitbit HTTP answer or transport failure into a [`ProviderError`]: from the body's `errors[0].errorType`
//! first, as the original did, then from the HTTP status (docs/decisions.md#provider-errors-timeouts-and-retries).

use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde_json::Value;

use crate::provider::transport::retry_after;
use crate::provider::{ProviderError, ProviderErrorKind};

/// The error an answer carries, if any. A body with an `errors` array is an error whatever the status.
pub fn classify_answer(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Option<ProviderError> {
    if status == StatusCode::GONE {
        // The legacy API's 410 body is undocumented; it is never parsed (docs/google-health.md#gaps).
        return Some(ProviderError::new(ProviderErrorKind::LegacyRetired, "410 Gone"));
    }
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    if let Some(first) = parsed.as_ref().and_then(|v| v.get("errors")).and_then(|e| e.get(0)) {
        let error_type = first.get("errorType").and_then(Value::as_str).unwrap_or("");
        let message = first.get("message").and_then(Value::as_str).unwrap_or("").to_string();
        let kind = match error_type {
            "expired_token" => ProviderErrorKind::ExpiredToken,
            "invalid_token" => ProviderErrorKind::InvalidToken,
            "invalid_grant" => ProviderErrorKind::InvalidGrant,
            "invalid_client" => ProviderErrorKind::InvalidClient,
            "system" => ProviderErrorKind::RateLimited { retry_after_secs: retry_after(headers) },
            "internal_error" => ProviderErrorKind::Internal,
            "" => kind_from_status(status, headers).unwrap_or(ProviderErrorKind::Untyped),
            other => ProviderErrorKind::Other(other.to_string()),
        };
        return Some(ProviderError::new(kind, message));
    }
    let kind = kind_from_status(status, headers)?;
    Some(ProviderError::new(kind, status.canonical_reason().unwrap_or("HTTP error")))
}

fn kind_from_status(status: StatusCode, headers: &HeaderMap) -> Option<ProviderErrorKind> {
    match status.as_u16() {
        401 | 403 => Some(ProviderErrorKind::InvalidToken),
        429 => Some(ProviderErrorKind::RateLimited { retry_after_secs: retry_after(headers) }),
        500..=599 => Some(ProviderErrorKind::Unavailable),
        400..=499 => Some(ProviderErrorKind::Untyped),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(status: u16, body: &str, headers: &[(&str, &str)]) -> Option<ProviderError> {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.insert(reqwest::header::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
        }
        classify_answer(StatusCode::from_u16(status).unwrap(), &map, body.as_bytes())
    }

    fn errors(error_type: &str) -> String {
        format!(r#"{{"errors":[{{"errorType":"{error_type}","message":"m"}}],"success":false}}"#)
    }

    #[test]
    fn the_error_type_in_the_body_wins() {
        assert_eq!(classify(401, &errors("expired_token"), &[]).unwrap().kind, ProviderErrorKind::ExpiredToken);
        assert_eq!(classify(401, &errors("invalid_token"), &[]).unwrap().kind, ProviderErrorKind::InvalidToken);
        assert_eq!(classify(400, &errors("invalid_grant"), &[]).unwrap().kind, ProviderErrorKind::InvalidGrant);
        assert_eq!(classify(401, &errors("invalid_client"), &[]).unwrap().kind, ProviderErrorKind::InvalidClient);
        assert_eq!(
            classify(429, &errors("system"), &[("retry-after", "120")]).unwrap().kind,
            ProviderErrorKind::RateLimited { retry_after_secs: Some(120) }
        );
        assert_eq!(
            classify(200, &errors("validation"), &[]).unwrap().kind,
            ProviderErrorKind::Other("validation".into())
        );
        assert_eq!(classify(500, &errors("internal_error"), &[]).unwrap().kind, ProviderErrorKind::Internal);
    }

    #[test]
    fn otherwise_the_status_decides() {
        assert_eq!(classify(503, "<html>oops</html>", &[]).unwrap().kind, ProviderErrorKind::Unavailable);
        assert_eq!(classify(500, "", &[]).unwrap().kind, ProviderErrorKind::Unavailable);
        assert_eq!(classify(401, "", &[]).unwrap().kind, ProviderErrorKind::InvalidToken);
        assert_eq!(
            classify(429, "", &[("fitbit-rate-limit-reset", "42")]).unwrap().kind,
            ProviderErrorKind::RateLimited { retry_after_secs: Some(42) }
        );
        assert_eq!(classify(410, &errors("expired_token"), &[]).unwrap().kind, ProviderErrorKind::LegacyRetired);
        assert_eq!(classify(404, "", &[]).unwrap().kind, ProviderErrorKind::Untyped);
        assert!(classify(200, r#"{"weight":[]}"#, &[]).is_none());
    }
}
