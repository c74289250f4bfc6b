//! A child's provider authorization (§5.3 to §5.5): hand tokens over, read them back, revoke them.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde_json::{json, Map, Value};

use super::error::ApiError;
use super::response::json;
use super::{AppState, ParsedBody};
use crate::bus::Event;
use crate::domain::{has_synced_scope, mask_token, ChildId, ProviderAuth, TokenStatus};
use crate::provider::fitbit::jwt::decode_claims;
use crate::provider::ProviderErrorKind;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/users/{user_id}/fitbit/auth", post(save_authorization).get(read_authorization))
        .route("/v1/users/{user_id}/fitbit/auth/revoke", post(revoke_authorization))
}

/// §5.3, in the original's order: decode the JWT, validate id, fields and scope, introspect, save.
async fn save_authorization(
    State(state): State<AppState>,
    Path(user_id): Path<String>,
    ParsedBody(body): ParsedBody,
) -> Result<Response, ApiError> {
    let access_token = token_field(&body, "access_token");
    let refresh_token = token_field(&body, "refresh_token");
    let claims = match access_token {
        Some(token) => Some(decode_claims(token).map_err(|_| ApiError::Validation {
            message: "Could not complete get token information. Please try again later.".into(),
            description: None,
        })?),
        None => None,
    };
    let child = ChildId::parse(&user_id)?;
    let (Some(access_token), Some(refresh_token)) = (access_token, refresh_token) else {
        let missing: Vec<&str> = [("access_token", access_token), ("refresh_token", refresh_token)]
            .into_iter()
            .filter_map(|(name, value)| value.is_none().then_some(name))
            .collect();
        return Err(ApiError::validation(
            "Required fields were not provided...",
            format!("Fitbit Auth Data Validation: {} required!", missing.join(", ")),
        ));
    };
    let claims = claims.unwrap_or_default();
    has_synced_scope(claims.scopes.as_deref())?;

    match state.fitbit.introspect(access_token).await {
        Ok(true) => {}
        Ok(false) => {
            return Err(ApiError::ProviderUnavailable {
                message: format!(
                    "Access token invalid: {}. Please submit a new access token and try again.",
                    mask_token(access_token)
                ),
                description: None,
            })
        }
        Err(e) if e.kind == ProviderErrorKind::LegacyRetired => return Err(ApiError::Provider(e)),
        Err(e) => {
            tracing::warn!("Token introspection failed for child {child}: {e}");
            return Err(ApiError::ProviderUnavailable {
                message: "Could not connect with the Fitbit Server".into(),
                description: Some("Please try again later.".into()),
            });
        }
    }

    let auth = ProviderAuth {
        access_token: access_token.to_string(),
        refresh_token: refresh_token.to_string(),
        expires_in: claims.exp,
        scope: claims.scopes,
        token_type: "Bearer".into(),
        user_id: claims.sub,
        status: Some(TokenStatus::ValidToken),
        last_sync: None,
    };
    state.userauths.save_authorization(child, &auth).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// §5.4; a revoked child answers 404 (decisions #28).
async fn read_authorization(State(state): State<AppState>, Path(user_id): Path<String>) -> Result<Response, ApiError> {
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

/// §5.5 with decisions #29: the local tokens always go; a remote revoke that failed is retried in the background;
/// the revoke event is published now or, if RabbitMQ is down, from the outbox once it is back.
async fn revoke_authorization(
    State(state): State<AppState>,
    Path(user_id): Path<String>,
) -> Result<Response, ApiError> {
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

/// A token field as the original accepted it: present and truthy. A non-string counts as missing (decisions #34).
fn token_field<'a>(body: &'a Value, name: &str) -> Option<&'a str> {
    body.get(name).and_then(Value::as_str).filter(|s| !s.is_empty())
}
