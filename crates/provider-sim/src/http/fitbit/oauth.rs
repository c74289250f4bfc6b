//! Fitbit's OAuth endpoints as ds-agent (and the original) call them: refresh, revoke and introspection.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::bearer::Bearer;
use super::quota::metered;
use crate::faults::Route;
use crate::fitbit::error::{self as fitbit_error, FitbitError};
use crate::fitbit::scopes;
use crate::fitbit::tokens::AccessState;
use crate::oauth_form::{client_authenticated, parse_form, Form};
use crate::preflight::preflight;
use crate::state::{now, Shared};

/// The owner of a token given in the form, for counting and faults.
fn owner(shared: &Shared, token: Option<&String>) -> Option<String> {
    token.and_then(|token| shared.lock().fitbit.tokens.user_of(token).map(str::to_string))
}

/// `POST /oauth2/token`: only the refresh grant, which is all ds-agent uses.
pub(crate) async fn token(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let form = parse_form(&body);
    let refresh_token = form.get("refresh_token");
    if let Err(response) =
        preflight(&shared, Route::Token, owner(&shared, refresh_token).as_deref(), "/oauth2/token").await
    {
        return response;
    }
    refresh_grant(&shared, &headers, &form).unwrap_or_else(IntoResponse::into_response)
}

fn refresh_grant(shared: &Shared, headers: &HeaderMap, form: &Form) -> Result<Response, FitbitError> {
    let (client_id, client_secret) = shared.fitbit_client();
    if !client_authenticated((&client_id, &client_secret), headers, form) {
        return Err(fitbit_error::invalid_client());
    }
    match form.get("grant_type").map(String::as_str) {
        Some("refresh_token") => {}
        Some(other) => {
            let message = format!("Unsupported grant_type: {other}");
            return Err(fitbit_error::error(StatusCode::BAD_REQUEST, "unsupported_grant_type", "grant_type", message));
        }
        None => return Err(fitbit_error::invalid_request("Missing parameters: grant_type")),
    }
    let refresh_token =
        form.get("refresh_token").ok_or_else(|| fitbit_error::invalid_request("Missing parameters: refresh_token"))?;
    let refreshed = {
        let mut state = shared.lock();
        let ttl = state.config.access_token_ttl_secs;
        state.fitbit.tokens.refresh(refresh_token, ttl, now()).map(|refreshed| (refreshed, ttl))
    };
    let (refreshed, ttl) = refreshed.ok_or_else(|| fitbit_error::invalid_grant(refresh_token))?;
    Ok(Json(json!({
        "access_token": refreshed.pair.access_token,
        "expires_in": ttl,
        "refresh_token": refreshed.pair.refresh_token,
        "scope": scopes::words(&refreshed.scopes),
        "token_type": "Bearer",
        "user_id": refreshed.user,
    }))
    .into_response())
}

/// `POST /oauth2/revoke`: revokes the whole grant of the token, access or refresh. Unknown tokens succeed too.
pub(crate) async fn revoke(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let form = parse_form(&body);
    let token = form.get("token");
    if let Err(response) = preflight(&shared, Route::Revoke, owner(&shared, token).as_deref(), "/oauth2/revoke").await {
        return response;
    }
    let (client_id, client_secret) = shared.fitbit_client();
    if !client_authenticated((&client_id, &client_secret), &headers, &form) {
        return fitbit_error::invalid_client().into_response();
    }
    let Some(token) = token else {
        return fitbit_error::invalid_request("Missing parameters: token").into_response();
    };
    shared.lock().fitbit.tokens.revoke(token);
    Json(json!({})).into_response()
}

/// `POST /1.1/oauth2/introspect`: the bearer authenticates, the form's `token` is the one described.
pub(crate) async fn introspect(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let bearer = Bearer::of(&shared, &headers);
    let path = "/1.1/oauth2/introspect";
    if let Err(response) = preflight(&shared, Route::Introspect, bearer.user(), path).await {
        return response;
    }
    let caller = match bearer.authorize() {
        Ok(caller) => caller,
        Err(error) => return error.into_response(),
    };
    metered(&shared, &caller.user, || {
        let form = parse_form(&body);
        let Some(token) = form.get("token") else {
            return fitbit_error::invalid_request("Missing parameters: token").into_response();
        };
        let state = shared.lock();
        let description = match state.fitbit.tokens.access_state(token, now()) {
            AccessState::Active { user, scopes, exp, iat } => json!({
                "active": true,
                "scope": scopes::introspection(scopes),
                "client_id": state.config.fitbit_client_id,
                "user_id": user,
                "token_type": "access_token",
                "exp": exp * 1000,
                "iat": iat * 1000,
            }),
            _ => json!({"active": false}),
        };
        Json(description).into_response()
    })
}
