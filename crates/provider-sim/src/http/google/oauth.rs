//! Google's token endpoints (docs/google-health.md#tokens-and-identity): `POST /token` for both user grants and for the
//! service account's JWT-bearer grant, `POST /revoke` and `/tokeninfo` (`GET` with the token in the query, or `POST`
//! with it in a form body, as Google takes both). Refresh tokens do not rotate; a revoke
//! kills the consent's tokens; tokeninfo describes users' access tokens only.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map};

use super::oauth_error;
use crate::faults::{FaultKind, Route};
use crate::google::mapping::google_account_id;
use crate::google::service_accounts::{self, JWT_BEARER};
use crate::google::tokens::{CodeProblem, GoogleAccess, Issued, Redemption};
use crate::oauth_form::{client_authenticated, parse_form, Form};
use crate::preflight::preflight;
use crate::state::{now, Shared};

/// The owner of a token or code, for counting and faults.
fn owner(shared: &Shared, token: Option<&String>) -> Option<String> {
    token.and_then(|token| shared.lock().google.tokens.user_of(token).map(str::to_string))
}

/// `POST /token`: `authorization_code` or `refresh_token`, or the JWT-bearer grant of a service account.
pub(crate) async fn token(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let form = parse_form(&body);
    let grant_type = form.get("grant_type").map(String::as_str).unwrap_or_default();
    let credential = match grant_type {
        "authorization_code" => form.get("code"),
        // A service account is no user: nothing is counted for anyone, and only user-less faults apply.
        JWT_BEARER => None,
        _ => form.get("refresh_token"),
    };
    let user = owner(&shared, credential);
    if let Err(response) = preflight(&shared, Route::GoogleToken, user.as_deref(), grant_type).await {
        return response;
    }
    if grant_type == JWT_BEARER {
        // The assertion is the credential, signed with the service account's key: no client id or secret.
        return jwt_bearer(&shared, &form);
    }
    let (client_id, client_secret) = shared.google_client();
    if form.get("client_id").is_some_and(|id| *id != client_id) {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "The OAuth client was not found.");
    }
    if !client_authenticated((&client_id, &client_secret), &headers, &form) {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "Unauthorized");
    }
    match grant_type {
        "authorization_code" => exchange(&shared, &form, &client_id),
        "refresh_token" => refresh(&shared, &form),
        "" => oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", "Missing required parameter: grant_type"),
        other => {
            oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", &format!("Invalid grant_type: {other}"))
        }
    }
}

/// The service account's grant: a token for the subscriber routes. Only the assertion's shape is checked, not its
/// signature (see [`crate::google::service_accounts`]).
fn jwt_bearer(shared: &Shared, form: &Form) -> Response {
    let Some(assertion) = form.get("assertion") else { return missing("assertion") };
    let account = match service_accounts::issuer(assertion) {
        Ok(account) => account,
        Err(description) => return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", description),
    };
    let access_token = shared.lock().google.service_tokens.issue(&account, now());
    Json(json!({"access_token": access_token, "expires_in": service_accounts::TTL_SECS, "token_type": "Bearer"}))
        .into_response()
}

fn missing(parameter: &str) -> Response {
    oauth_error(StatusCode::BAD_REQUEST, "invalid_request", &format!("Missing required parameter: {parameter}"))
}

fn exchange(shared: &Shared, form: &Form, client_id: &str) -> Response {
    let Some(code) = form.get("code") else { return missing("code") };
    let Some(redirect_uri) = form.get("redirect_uri") else { return missing("redirect_uri") };
    // The client id may come in the Basic header only; it was checked above.
    let redemption =
        Redemption { code, client_id, redirect_uri, verifier: form.get("code_verifier").map(String::as_str) };
    let (exchanged, ttl) = {
        let mut state = shared.lock();
        let (ttl, refresh_ttl) =
            (state.config.google_access_token_ttl_secs, state.config.google_refresh_token_ttl_secs);
        (state.google.tokens.exchange(&redemption, ttl, refresh_ttl, now()), ttl)
    };
    match exchanged {
        Ok(issued) => token_response(issued, ttl),
        Err(problem) => {
            let description = match problem {
                CodeProblem::Unknown => "Malformed auth code.",
                CodeProblem::Used => "The authorization code has already been redeemed.",
                CodeProblem::Expired => "The authorization code has expired.",
                CodeProblem::ClientMismatch => "The authorization code was issued to another client.",
                CodeProblem::RedirectMismatch => {
                    "The redirect_uri does not match the one of the authorization request."
                }
                CodeProblem::Verifier => "Invalid code verifier.",
            };
            oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", description)
        }
    }
}

fn refresh(shared: &Shared, form: &Form) -> Response {
    let Some(refresh_token) = form.get("refresh_token") else { return missing("refresh_token") };
    let (refreshed, ttl) = {
        let mut state = shared.lock();
        let ttl = state.config.google_access_token_ttl_secs;
        (state.google.tokens.refresh(refresh_token, ttl, now()), ttl)
    };
    match refreshed {
        Some(issued) => token_response(issued, ttl),
        None => oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "Token has been expired or revoked."),
    }
}

fn token_response(issued: Issued, ttl: i64) -> Response {
    let mut body = Map::new();
    body.insert("access_token".into(), json!(issued.access_token));
    body.insert("expires_in".into(), json!(ttl));
    if let Some(refresh_token) = issued.refresh_token {
        body.insert("refresh_token".into(), json!(refresh_token));
    }
    body.insert("scope".into(), json!(issued.scopes));
    body.insert("token_type".into(), json!("Bearer"));
    if let Some(left) = issued.refresh_expires_in {
        body.insert("refresh_token_expires_in".into(), json!(left));
    }
    Json(body).into_response()
}

/// `POST /revoke` with `token` in the form or the query: revokes the whole consent of an access or refresh token.
pub(crate) async fn revoke(State(shared): State<Arc<Shared>>, uri: Uri, body: Bytes) -> Response {
    let mut form = parse_form(&body);
    if !form.contains_key("token") {
        form.extend(parse_form(uri.query().unwrap_or_default().as_bytes()));
    }
    let token = form.get("token");
    if let Err(response) = preflight(&shared, Route::GoogleRevoke, owner(&shared, token).as_deref(), "").await {
        return response;
    }
    let Some(token) = token else { return missing("token") };
    if shared.lock().google.tokens.revoke(token, now()) {
        Json(json!({})).into_response()
    } else {
        oauth_error(StatusCode::BAD_REQUEST, "invalid_token", "Token expired or revoked")
    }
}

/// `GET /tokeninfo?access_token=` or `POST /tokeninfo` with `access_token=` in the form (the query too, as for
/// revoke): what Google knows of a live access token.
pub(crate) async fn tokeninfo(State(shared): State<Arc<Shared>>, uri: Uri, body: Bytes) -> Response {
    let mut form = parse_form(&body);
    if !form.contains_key("access_token") {
        form.extend(parse_form(uri.query().unwrap_or_default().as_bytes()));
    }
    let token = form.get("access_token");
    let audience = match preflight(&shared, Route::GoogleTokeninfo, owner(&shared, token).as_deref(), "").await {
        Ok(Some(FaultKind::Audience(client_id))) => Some(client_id),
        Ok(_) => None,
        Err(response) => return response,
    };
    let invalid = || oauth_error(StatusCode::BAD_REQUEST, "invalid_token", "Invalid Value");
    let Some(token) = token else { return invalid() };
    let now = now();
    let state = shared.lock();
    let GoogleAccess::Active { user, scopes, exp, offline, .. } = state.google.tokens.access_state(token, now) else {
        return invalid();
    };
    let client_id = audience.as_ref().unwrap_or(&state.config.google_client_id);
    Json(json!({
        "azp": client_id,
        "aud": client_id,
        "sub": google_account_id(user),
        "scope": scopes,
        "exp": exp.to_string(),
        "expires_in": (exp - now).to_string(),
        "access_type": if offline { "offline" } else { "online" },
    }))
    .into_response()
}
