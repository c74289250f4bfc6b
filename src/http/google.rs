//! The server-side Google connect flow (docs/decisions.md#which-provider-a-child-is-on): the app sends the family's
//! browser to `…/google/authorize`, which redirects to Google's consent page; Google sends it back to
//! `/v1/google/callback`, where the code is exchanged and the tokens stored as POST auth would. The client secret never
//! leaves the service.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::header::{HOST, LOCATION};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use secrecy::ExposeSecret;

use super::auth::refused;
use super::error::ApiError;
use super::user_id::UserId;
use super::AppState;
use crate::domain::ChildId;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/users/{user_id}/google/authorize", get(authorize))
        .route("/v1/google/callback", get(callback))
}

async fn authorize(
    State(state): State<AppState>,
    UserId(user_id): UserId,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let child = ChildId::parse(&user_id)?;
    let redirect_uri = query.get("redirect_uri").map(String::as_str).unwrap_or_default();
    if !is_web_url(redirect_uri) {
        return Err(ApiError::validation(
            "Required fields were not provided...",
            "Google Authorization: redirect_uri required, as an absolute http(s) URL!",
        ));
    }
    let Some(client_id) = state.providers.google.credentials().client_id.clone() else {
        return Err(ApiError::NotFound {
            message: "Google client credentials are not configured.".into(),
            description: Some("Set GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET.".into()),
        });
    };
    let callback = callback_url(&state, &headers);
    let signed = state.state_signer.issue(child, redirect_uri, &callback, chrono::Utc::now().timestamp());
    let login_hint = query.get("login_hint").map(String::as_str);
    let consent = state
        .providers
        .google
        .consent_url(&client_id, &callback, &signed, login_hint)
        .map_err(|e| ApiError::Internal(format!("invalid consent URL: {e}")))?;
    Ok(found(consent.as_str()))
}

/// A bad or expired `state` is a 400 and stores nothing; every other outcome goes back to the app's redirect URI as
/// `status=success` or `status=error&error=<reason>`.
async fn callback(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let signed = query.get("state").map(String::as_str).unwrap_or_default();
    let (child, connect) = state
        .state_signer
        .verify(signed, chrono::Utc::now().timestamp())
        .map_err(|e| ApiError::validation(e.to_string(), "Please start the Google authorization again."))?;
    let back = |outcome: &[(&str, &str)]| {
        let mut url = reqwest::Url::parse(&connect.redirect_uri).expect("checked when the state was issued");
        url.query_pairs_mut().append_pair("user_id", &connect.child).extend_pairs(outcome);
        found(url.as_str())
    };
    if let Some(error) = query.get("error") {
        return Ok(back(&[("status", "error"), ("error", error)]));
    }
    let Some(code) = query.get("code") else {
        return Ok(back(&[("status", "error"), ("error", "missing_code")]));
    };
    let grant = match state.providers.google.exchange_code(code, &connect.callback).await {
        Ok(grant) => grant,
        Err(e) => {
            tracing::warn!("Google code exchange failed for child {child}: {e}");
            return Ok(back(&[("status", "error"), ("error", "code_exchange_failed")]));
        }
    };
    let Some(refresh_token) = grant.refresh_token.as_ref().map(ExposeSecret::expose_secret) else {
        return Ok(back(&[("status", "error"), ("error", "no_refresh_token")]));
    };
    let authorization = state.providers.google.authorization(
        grant.access_token.expose_secret(),
        refresh_token,
        grant.scope.clone(),
        grant.expires_at(),
    );
    let stored = match authorization.await {
        Ok(auth) => state.userauths.save_authorization(child, &auth).await.map_err(ApiError::from),
        Err(e) => Err(refused(&state, child, grant.access_token.expose_secret(), e).await),
    };
    match stored {
        Ok(()) => Ok(back(&[("status", "success")])),
        Err(e) => {
            let reason = match &e {
                ApiError::Validation { .. } => "insufficient_scope",
                ApiError::DependencyDown(_) | ApiError::Database => "storage_unavailable",
                _ => "provider_error",
            };
            tracing::warn!("Google tokens of child {child} not stored: {e}");
            Ok(back(&[("status", "error"), ("error", reason)]))
        }
    }
}

/// `GOOGLE_CALLBACK_URL` when set (behind a gateway); else this service's own address as the request names it.
fn callback_url(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = &state.settings.google_callback_url {
        return url.clone();
    }
    let host = headers.get(HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    format!("https://{host}/v1/google/callback")
}

fn is_web_url(text: &str) -> bool {
    reqwest::Url::parse(text).is_ok_and(|url| matches!(url.scheme(), "http" | "https") && url.has_host())
}

fn found(location: &str) -> Response {
    (StatusCode::FOUND, [(LOCATION, location.to_string())]).into_response()
}
