//! A child's provider authorization: hand tokens over, read them back, revoke them.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde_json::{json, Map, Value};

use super::error::ApiError;
use super::response::json;
use super::user_id::UserId;
use super::{AppState, ParsedBody};
use crate::bus::Event;
use crate::domain::{mask_token, ChildId, ProviderKind, ScopeError};
use crate::provider::onboarding::OnboardingError;
use crate::provider::ProviderErrorKind;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/users/{user_id}/fitbit/auth", post(save_authorization).get(read_authorization))
        .route("/v1/users/{user_id}/fitbit/auth/revoke", post(revoke_authorization))
}

/// POST auth. The `provider` field (`fitbit` or `google`) picks the provider; without it, a JWT-shaped access token is
/// Fitbit's and anything else Google's. Then the original's order: the provider reads the token, the child id and the
/// fields are validated, the provider checks the tokens (scope, and introspection or tokeninfo and identity), save.
async fn save_authorization(
    State(state): State<AppState>,
    UserId(user_id): UserId,
    ParsedBody(body): ParsedBody,
) -> Result<Response, ApiError> {
    let access_token = token_field(&body, "access_token");
    let provider = match body.get("provider") {
        None | Some(Value::Null) => access_token.map(ProviderKind::guess).unwrap_or_default(),
        Some(value) => value.as_str().and_then(ProviderKind::parse).ok_or_else(|| {
            ApiError::validation(
                format!("Invalid provider: {value}."),
                "Fitbit Auth Data Validation: provider must be fitbit or google.",
            )
        })?,
    };
    // The provider's own reading of the token comes first: Fitbit decodes its JWT before anything else.
    let provider = state.providers.of(provider);
    let facts = provider.read_token(access_token).map_err(|_| ApiError::Validation {
        message: "Could not complete get token information. Please try again later.".into(),
        description: None,
    })?;
    let child = ChildId::parse(&user_id)?;
    let (access_token, refresh_token) = required_tokens(access_token, token_field(&body, "refresh_token"))?;
    let auth = match provider.check_tokens(access_token, refresh_token, facts).await {
        Ok(auth) => auth,
        Err(e) => return Err(refused(&state, child, access_token, e).await),
    };
    state.userauths.save_authorization(child, &auth).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The original's answer to tokens the provider's checks refused (docs/decisions.md#post-auth-with-an-inactive-token);
/// a retired provider is also announced. Shared by POST auth and the connect flow's callback.
pub(super) async fn refused(state: &AppState, child: ChildId, access_token: &str, error: OnboardingError) -> ApiError {
    match error {
        OnboardingError::Scope { description } => ApiError::validation(ScopeError.to_string(), description),
        OnboardingError::Inactive => inactive_token(access_token),
        OnboardingError::Refused(e) => {
            if e.kind == ProviderErrorKind::LegacyRetired {
                state.failures.report(child, &e).await;
            }
            ApiError::Provider(e)
        }
        OnboardingError::Unreachable(e) => provider_unreachable(child, &e),
    }
}

fn required_tokens<'a>(
    access_token: Option<&'a str>,
    refresh_token: Option<&'a str>,
) -> Result<(&'a str, &'a str), ApiError> {
    match (access_token, refresh_token) {
        (Some(access), Some(refresh)) => Ok((access, refresh)),
        _ => {
            let missing: Vec<&str> = [("access_token", access_token), ("refresh_token", refresh_token)]
                .into_iter()
                .filter_map(|(name, value)| value.is_none().then_some(name))
                .collect();
            Err(ApiError::validation(
                "Required fields were not provided...",
                format!("Fitbit Auth Data Validation: {} required!", missing.join(", ")),
            ))
        }
    }
}

/// POST auth's answer to a token the provider says is not active: 503, as in the original
/// (docs/decisions.md#post-auth-with-an-inactive-token).
fn inactive_token(access_token: &str) -> ApiError {
    ApiError::ProviderUnavailable {
        message: format!(
            "Access token invalid: {}. Please submit a new access token and try again.",
            mask_token(access_token)
        ),
        description: None,
    }
}

fn provider_unreachable(child: ChildId, error: &crate::provider::ProviderError) -> ApiError {
    tracing::warn!("Token check failed for child {child}: {error}");
    ApiError::ProviderUnavailable {
        message: "Could not connect with the Fitbit Server".into(),
        description: Some("Please try again later.".into()),
    }
}

/// GET auth; a revoked child answers 404 (docs/decisions.md#get-auth-after-a-revoke).
async fn read_authorization(State(state): State<AppState>, UserId(user_id): UserId) -> Result<Response, ApiError> {
    let child = ChildId::parse(&user_id)?;
    let Some(stored) = state.userauths.find(child).await? else {
        return Err(ApiError::NotFound {
            message: "Unable to find Fitbit authentication data!".into(),
            description: Some("You must enter new data before you can refer to it.".into()),
        });
    };
    let mut body = Map::new();
    body.insert("access_token".into(), json!(stored.auth.access_token));
    body.insert("refresh_token".into(), json!(stored.auth.refresh_token));
    if let Some(status) = stored.auth.status {
        body.insert("status".into(), json!(status));
    }
    Ok(json(StatusCode::OK, &Value::Object(body)))
}

/// Revoke (docs/decisions.md#revoke): the local tokens always go; a remote revoke that failed is retried in the
/// background; the revoke event is published now or, if RabbitMQ is down, from the outbox once it is back.
async fn revoke_authorization(State(state): State<AppState>, UserId(user_id): UserId) -> Result<Response, ApiError> {
    let child = ChildId::parse(&user_id)?;
    let Some(stored) = state.userauths.find(child).await? else {
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    state.revocations.revoke(child, &stored.auth).await?;
    state.userauths.remove_authorization(child).await?;
    if let Err(lost) = state.publisher.announce(&Event::revoke(child), &child.to_string()).await {
        tracing::error!("There was an error publishing Fitbit revoke event for child {child}. {lost}");
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A token field as the original accepted it: present and truthy. A non-string counts as missing
/// (docs/decisions.md#request-bodies).
fn token_field<'a>(body: &'a Value, name: &str) -> Option<&'a str> {
    body.get(name).and_then(Value::as_str).filter(|s| !s.is_empty())
}
