//! Fitbit's OAuth endpoints as ds-agent (and the original) call them: refresh, revoke and introspection.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use percent_encoding::percent_decode_str;
use serde_json::json;

use super::bearer::Bearer;
use super::preflight::preflight;
use super::quota::metered;
use crate::faults::Route;
use crate::fitbit_error::{self, FitbitError};
use crate::scopes;
use crate::state::{now, Shared};
use crate::tokens::AccessState;

pub(super) type Form = HashMap<String, String>;

pub(super) fn parse_form(body: &[u8]) -> Form {
    form_urlencoded::parse(body).into_owned().collect()
}

/// The owner of a token given in the form, for counting and faults.
fn owner(shared: &Shared, token: Option<&String>) -> Option<String> {
    token.and_then(|token| shared.lock().tokens.user_of(token).map(str::to_string))
}

/// `POST /oauth2/token`: only the refresh grant, which is all ds-agent uses.
pub(super) async fn token(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
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
    if !client_authenticated((&shared.client_id, &shared.client_secret), headers, form) {
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
    let refreshed = shared.lock().tokens.refresh(refresh_token, shared.access_token_ttl_secs, now());
    let refreshed = refreshed.ok_or_else(|| fitbit_error::invalid_grant(refresh_token))?;
    Ok(Json(json!({
        "access_token": refreshed.pair.access_token,
        "expires_in": shared.access_token_ttl_secs,
        "refresh_token": refreshed.pair.refresh_token,
        "scope": scopes::words(&refreshed.scopes),
        "token_type": "Bearer",
        "user_id": refreshed.user,
    }))
    .into_response())
}

/// `POST /oauth2/revoke`: revokes the whole grant of the token, access or refresh. Unknown tokens succeed too.
pub(super) async fn revoke(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let form = parse_form(&body);
    let token = form.get("token");
    if let Err(response) = preflight(&shared, Route::Revoke, owner(&shared, token).as_deref(), "/oauth2/revoke").await {
        return response;
    }
    if !client_authenticated((&shared.client_id, &shared.client_secret), &headers, &form) {
        return fitbit_error::invalid_client().into_response();
    }
    let Some(token) = token else {
        return fitbit_error::invalid_request("Missing parameters: token").into_response();
    };
    shared.lock().tokens.revoke(token);
    Json(json!({})).into_response()
}

/// `POST /1.1/oauth2/introspect`: the bearer authenticates, the form's `token` is the one described.
pub(super) async fn introspect(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
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
        let description = match state.tokens.access_state(token, now()) {
            AccessState::Active { user, scopes, exp, iat } => json!({
                "active": true,
                "scope": scopes::introspection(scopes),
                "client_id": shared.client_id,
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

/// Fitbit and Google take the app's credentials in a Basic header, in the form, or both (simple-oauth2, the original's
/// OAuth library, sends both). Every credential sent must be right, and at least one complete pair must be sent.
pub(super) fn client_authenticated(expected: (&str, &str), headers: &HeaderMap, form: &Form) -> bool {
    let basic = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Basic "))
        .map(|encoded| decode_basic(encoded).is_some_and(|(id, secret)| (id.as_str(), secret.as_str()) == expected));
    let form_id = form.get("client_id").map(|id| id == expected.0);
    let form_secret = form.get("client_secret").map(|secret| secret == expected.1);
    let anything_wrong = [basic, form_id, form_secret].contains(&Some(false));
    let complete_pair = basic == Some(true) || (form_id == Some(true) && form_secret == Some(true));
    complete_pair && !anything_wrong
}

/// `base64(id:secret)`, each part form-URL-encoded first, as simple-oauth2 sends it.
fn decode_basic(encoded: &str) -> Option<(String, String)> {
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |part: &str| percent_decode_str(&part.replace('+', " ")).decode_utf8().ok().map(|s| s.into_owned());
    Some((unescape(id)?, unescape(secret)?))
}
