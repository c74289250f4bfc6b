//! One typed error for everything a provider call can go wrong with, and its mapping to the original's internal codes
//! and texts (docs/decisions.md#internal-error-codes). Tokens in the texts are masked
//! (docs/decisions.md#tokens-are-never-shown-in-full).

use axum::http::StatusCode;
use serde::Serialize;

use crate::domain::mask_token;

#[derive(Clone, Debug, PartialEq)]
pub enum ProviderErrorKind {
    ExpiredToken,
    InvalidToken,
    /// The stored tokens are marked `invalid_token`: 1012 without asking the provider
    /// (docs/decisions.md#invalid-tokens-stay-invalid).
    MarkedInvalid,
    InvalidGrant,
    InvalidClient,
    /// Fitbit's `system` error or HTTP 429; `retry_after_secs` from `Retry-After` or `Fitbit-Rate-Limit-Reset`.
    RateLimited {
        retry_after_secs: Option<u64>,
    },
    /// HTTP 410 from the legacy Fitbit Web API, shut down on 2 Nov 2026. Permanent: never retried.
    LegacyRetired,
    /// Network failure, timeout or 5xx: transient (the original's `client_error`).
    Unavailable,
    /// Fitbit's `internal_error`.
    Internal,
    /// An answer ds-agent does not take (docs/operations.md#provider-answers-and-links): larger than its cap, a
    /// redirect, or a page link to another origin. Not retried (the provider would answer the same), not announced
    /// (the tokens are not at fault); on the route, code 1500 with the texts of a provider that could not be used.
    RefusedAnswer,
    /// The provider no longer gives this data to the application (Google's 403 `PERMISSION_DENIED` for a user whose
    /// permission for a data type is gone), while the tokens stay good for the rest. Announced by the sync once per
    /// authorization (docs/consumer-and-google-facts.md), not on every failure.
    PermissionDenied,
    /// Any other provider error type, e.g. `insufficient_scope`.
    Other(String),
    /// An HTTP error without a provider error type.
    Untyped,
}

#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{kind:?}: {detail}")]
pub struct ProviderError {
    pub kind: ProviderErrorKind,
    /// The provider's own message (or the HTTP reason / transport error), for logs.
    pub detail: String,
    access_token: Option<String>,
    refresh_token: Option<String>,
}

/// `{code, message, description?}`: the sync route's error body and the `error` of `FitbitAuthErrorEvent`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AuthErrorBody {
    pub code: u16,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl ProviderError {
    pub fn new(kind: ProviderErrorKind, detail: impl Into<String>) -> Self {
        ProviderError { kind, detail: mask_tokens_in(&detail.into()), access_token: None, refresh_token: None }
    }

    /// Remembers (masked) the tokens of the failed call, for the original's error texts.
    pub fn with_tokens(mut self, access_token: Option<&str>, refresh_token: Option<&str>) -> Self {
        if let Some(token) = access_token {
            self.access_token = Some(mask_token(token));
        }
        if let Some(token) = refresh_token {
            self.refresh_token = Some(mask_token(token));
        }
        self
    }

    /// The internal code (docs/decisions.md#internal-error-codes); `None` for errors without a provider type.
    pub fn code(&self) -> Option<u16> {
        match self.kind {
            ProviderErrorKind::ExpiredToken => Some(1011),
            ProviderErrorKind::InvalidToken | ProviderErrorKind::MarkedInvalid => Some(1012),
            ProviderErrorKind::InvalidGrant => Some(1021),
            ProviderErrorKind::InvalidClient => Some(1401),
            ProviderErrorKind::RateLimited { .. } => Some(1429),
            ProviderErrorKind::LegacyRetired => Some(1410),
            ProviderErrorKind::Unavailable
            | ProviderErrorKind::Internal
            | ProviderErrorKind::RefusedAnswer
            | ProviderErrorKind::PermissionDenied
            | ProviderErrorKind::Other(_) => Some(1500),
            ProviderErrorKind::Untyped => None,
        }
    }

    /// The HTTP status on the sync route: 400, 401, 410, 429 or 500 by code; 503 without a code.
    pub fn http_status(&self) -> StatusCode {
        match self.code() {
            Some(1011 | 1012 | 1021) => StatusCode::BAD_REQUEST,
            Some(1401) => StatusCode::UNAUTHORIZED,
            Some(1429) => StatusCode::TOO_MANY_REQUESTS,
            Some(1410) => StatusCode::GONE,
            Some(_) => StatusCode::INTERNAL_SERVER_ERROR,
            None => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// Whether the failure is announced with `FitbitAuthErrorEvent` (not for `client_error`, `internal_error` or
    /// untyped errors, nor for a refused data type, which the sync announces once when it first meets it).
    pub fn publishes_event(&self) -> bool {
        !matches!(
            self.kind,
            ProviderErrorKind::Unavailable
                | ProviderErrorKind::Internal
                | ProviderErrorKind::RefusedAnswer
                | ProviderErrorKind::Untyped
                | ProviderErrorKind::PermissionDenied
        )
    }

    /// Worth trying again later: the provider was unreachable or failing.
    pub fn is_transient(&self) -> bool {
        self.kind == ProviderErrorKind::Unavailable
    }

    /// The original's texts for each error type, tokens masked.
    pub fn body(&self) -> AuthErrorBody {
        let at = self.access_token.as_deref().unwrap_or("undefined");
        let rt = self.refresh_token.as_deref().unwrap_or("undefined");
        let (message, description) = match &self.kind {
            ProviderErrorKind::Unavailable | ProviderErrorKind::RefusedAnswer => {
                ("Could not connect with the Fitbit Server".to_string(), Some("Please try again later.".to_string()))
            }
            ProviderErrorKind::ExpiredToken => (
                "Access token expired.".into(),
                Some(format!("The access token {at} has been expired and needs to be refreshed.")),
            ),
            ProviderErrorKind::InvalidToken => (
                "Access token invalid.".into(),
                Some(format!(
                    "The access token {at} is invalid. Please make a new Fitbit Auth Data request and try again."
                )),
            ),
            ProviderErrorKind::MarkedInvalid => (
                format!("The access token is invalid: {at}"),
                Some("Please make a new Fitbit Auth data and try again.".into()),
            ),
            ProviderErrorKind::InvalidGrant => (
                "Refresh token invalid.".into(),
                Some(format!(
                    "The refresh token {rt} is invalid. Please make a new Fitbit Auth Data request and try again."
                )),
            ),
            ProviderErrorKind::RateLimited { .. } => (
                format!("Data request limit for access token {at} has expired."),
                Some("Please wait a minimum of one hour and try make the operation again.".into()),
            ),
            ProviderErrorKind::InvalidClient => (
                "Invalid Fitbit Client data.".into(),
                Some("The Fitbit Client credentials are invalid. The operation cannot be performed.".into()),
            ),
            ProviderErrorKind::LegacyRetired => (
                "Fitbit Web API is no longer available.".into(),
                Some(
                    "The legacy Fitbit Web API was shut down on 2 November 2026. Please reconnect the account \
                     through Google Health and submit new authentication data."
                        .into(),
                ),
            ),
            ProviderErrorKind::Internal => ("internal_fitbit_error".into(), Some(self.detail.clone())),
            ProviderErrorKind::PermissionDenied | ProviderErrorKind::Other(_) | ProviderErrorKind::Untyped => {
                (self.detail.clone(), None)
            }
        };
        AuthErrorBody { code: self.code().unwrap_or(self.http_status().as_u16()), message, description }
    }
}

/// Provider messages sometimes quote the token (`Access token expired: eyJhbGci…`); JWT-looking words are masked.
fn mask_tokens_in(text: &str) -> String {
    text.split(' ')
        .map(|word| if word.len() > 40 && word.matches('.').count() >= 2 { mask_token(word) } else { word.to_string() })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const AT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJBQkMxMjMifQ.c2lnbmF0dXJl";
    const RT: &str = "d6ccf77f84d342267f9f011d2e16fb9e";

    fn body(kind: ProviderErrorKind) -> serde_json::Value {
        serde_json::to_value(ProviderError::new(kind, "raw").with_tokens(Some(AT), Some(RT)).body()).unwrap()
    }

    #[test]
    fn every_kind_has_the_code_status_and_texts_of_the_original() {
        assert_eq!(
            body(ProviderErrorKind::ExpiredToken),
            json!({"code": 1011, "message": "Access token expired.",
                   "description": "The access token eyJhbG… has been expired and needs to be refreshed."})
        );
        assert_eq!(
            body(ProviderErrorKind::InvalidToken)["description"],
            "The access token eyJhbG… is invalid. Please make a new Fitbit Auth Data request and try again."
        );
        assert_eq!(
            body(ProviderErrorKind::InvalidGrant),
            json!({"code": 1021, "message": "Refresh token invalid.",
                   "description": "The refresh token d6ccf7… is invalid. Please make a new Fitbit Auth Data request and try again."})
        );
        assert_eq!(
            body(ProviderErrorKind::RateLimited { retry_after_secs: Some(10) }),
            json!({"code": 1429, "message": "Data request limit for access token eyJhbG… has expired.",
                   "description": "Please wait a minimum of one hour and try make the operation again."})
        );
        assert_eq!(body(ProviderErrorKind::InvalidClient)["code"], 1401);
        assert_eq!(
            body(ProviderErrorKind::Internal),
            json!({"code": 1500, "message": "internal_fitbit_error", "description": "raw"})
        );
        assert_eq!(
            body(ProviderErrorKind::Other("insufficient_scope".into())),
            json!({"code": 1500, "message": "raw"})
        );
        assert_eq!(
            body(ProviderErrorKind::Unavailable),
            json!({"code": 1500, "message": "Could not connect with the Fitbit Server", "description": "Please try again later."})
        );
    }

    #[test]
    fn statuses_and_events_follow_the_handling_table() {
        let e = |kind| ProviderError::new(kind, "x");
        assert_eq!(e(ProviderErrorKind::ExpiredToken).http_status(), StatusCode::BAD_REQUEST);
        assert_eq!(e(ProviderErrorKind::InvalidClient).http_status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            e(ProviderErrorKind::RateLimited { retry_after_secs: None }).http_status(),
            StatusCode::TOO_MANY_REQUESTS
        );
        assert_eq!(e(ProviderErrorKind::Other("x".into())).http_status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(e(ProviderErrorKind::Untyped).http_status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(e(ProviderErrorKind::Other("x".into())).publishes_event());
        assert!(e(ProviderErrorKind::InvalidGrant).publishes_event());
        assert!(!e(ProviderErrorKind::Unavailable).publishes_event());
        assert!(!e(ProviderErrorKind::Internal).publishes_event());
        assert!(!e(ProviderErrorKind::Untyped).publishes_event());
        // An answer refused (too large, a redirect, a foreign link): a provider failure, neither retried nor announced.
        let refused = e(ProviderErrorKind::RefusedAnswer);
        assert_eq!((refused.code(), refused.http_status()), (Some(1500), StatusCode::INTERNAL_SERVER_ERROR));
        assert_eq!(
            serde_json::to_value(refused.body()).unwrap(),
            serde_json::json!({"code": 1500, "message": "Could not connect with the Fitbit Server",
                               "description": "Please try again later."})
        );
        assert!(!refused.publishes_event() && !refused.is_transient());
        // As any other provider error on the route, but announced by the sync, once.
        let denied = e(ProviderErrorKind::PermissionDenied);
        assert_eq!((denied.code(), denied.http_status()), (Some(1500), StatusCode::INTERNAL_SERVER_ERROR));
        assert_eq!(serde_json::to_value(denied.body()).unwrap(), serde_json::json!({"code": 1500, "message": "x"}));
        assert!(!denied.publishes_event());
    }

    #[test]
    fn tokens_are_never_in_the_texts() {
        let error = ProviderError::new(ProviderErrorKind::Other("x".into()), format!("Access token expired: {AT}"))
            .with_tokens(Some(AT), Some(RT));
        let text = serde_json::to_string(&error.body()).unwrap() + &error.to_string();
        assert!(!text.contains(AT) && !text.contains(RT), "{text}");
        assert!(body(ProviderErrorKind::InvalidToken).to_string().contains("eyJhbG…"));
    }
}
