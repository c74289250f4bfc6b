//! Control routes under `/__admin`, JSON in and out, for developers steering a running simulator with curl. Tests
//! in-process use the same operations through [`crate::Simulator`]. Bodies are read as JSON whatever their declared
//! content type, since `curl -d` sends a form type. The webhook routes are in [`webhooks`].

mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::faults::{Fault, FaultKind, Route};
use crate::google::{health_user_id, GOOGLE_HEALTH_SCOPES};
use crate::state::Shared;

pub(super) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/fitbit/users/{user}/tokens", post(issue_tokens))
        .route("/fitbit/users/{user}/requests", get(requests))
        .route("/google/users/{user}/tokens", post(issue_google_tokens))
        .route("/google/users/{user}/requests", get(google_requests))
        .route("/google/users/{user}/linked", put(set_linked))
        .route("/google/users/{user}/defects", put(set_defects))
        .route("/google/users/{user}/permission-denied", put(set_permission_denied))
        .route("/faults", post(add_fault).delete(clear_faults))
        .route("/legacy", put(set_legacy))
        .route("/config", get(get_config).put(set_config))
        .merge(webhooks::router())
}

fn bad_request(message: impl std::fmt::Display) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({"error": message.to_string()}))).into_response()
}

/// The JSON body, or `T::default()` when there is none.
fn parse<T: DeserializeOwned + Default>(body: &[u8]) -> Result<T, serde_json::Error> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body)
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenRequest {
    scopes: Option<String>,
    expires_in: Option<i64>,
}

async fn issue_tokens(State(shared): State<Arc<Shared>>, Path(user): Path<String>, body: Bytes) -> Response {
    let request: TokenRequest = match parse(&body) {
        Ok(request) => request,
        Err(error) => return bad_request(error),
    };
    let scopes = request.scopes.unwrap_or_else(|| "rwei ract rsle".to_string());
    let expires_in = request.expires_in.unwrap_or_else(|| shared.lock().config.access_token_ttl_secs);
    let pair = shared.issue_tokens(&user, &scopes, expires_in);
    Json(json!({
        "access_token": pair.access_token,
        "refresh_token": pair.refresh_token,
        "expires_at": pair.expires_at,
        "user_id": user,
    }))
    .into_response()
}

async fn requests(State(shared): State<Arc<Shared>>, Path(user): Path<String>) -> Response {
    let usage = shared.usage(&user);
    Json(json!({
        "refresh": usage.counts.refresh,
        "revoke": usage.counts.revoke,
        "introspect": usage.counts.introspect,
        "data": usage.counts.data,
        "paths": usage.data_paths,
    }))
    .into_response()
}

async fn issue_google_tokens(State(shared): State<Arc<Shared>>, Path(user): Path<String>, body: Bytes) -> Response {
    let request: TokenRequest = match parse(&body) {
        Ok(request) => request,
        Err(error) => return bad_request(error),
    };
    let scopes = request.scopes.unwrap_or_else(|| GOOGLE_HEALTH_SCOPES.to_string());
    let expires_in = request.expires_in.unwrap_or_else(|| shared.lock().config.google_access_token_ttl_secs);
    let pair = shared.issue_google_tokens(&user, &scopes, expires_in);
    Json(json!({
        "access_token": pair.access_token,
        "refresh_token": pair.refresh_token,
        "expires_at": pair.expires_at,
        "user_id": user,
        "health_user_id": health_user_id(&user),
    }))
    .into_response()
}

async fn google_requests(State(shared): State<Arc<Shared>>, Path(user): Path<String>) -> Response {
    let usage = shared.usage(&user);
    let counts = usage.google;
    Json(json!({
        "refresh": counts.refresh,
        "code_exchange": counts.code_exchange,
        "revoke": counts.revoke,
        "tokeninfo": counts.tokeninfo,
        "consent": counts.consent,
        "data": counts.data,
        "rate_limited": counts.rate_limited,
        "requests": usage.google_requests,
    }))
    .into_response()
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LinkedRequest {
    linked: Option<bool>,
}

async fn set_linked(State(shared): State<Arc<Shared>>, Path(user): Path<String>, body: Bytes) -> Response {
    let linked = match parse::<LinkedRequest>(&body) {
        Ok(LinkedRequest { linked: Some(linked) }) => linked,
        Ok(_) => return bad_request("expected {\"linked\": true|false}"),
        Err(error) => return bad_request(error),
    };
    let mut state = shared.lock();
    if linked {
        state.google.unlinked.remove(&user);
    } else {
        state.google.unlinked.insert(user.clone());
    }
    Json(json!({"user_id": user, "linked": linked})).into_response()
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct DeniedRequest {
    data_types: Option<Vec<String>>,
}

async fn set_permission_denied(State(shared): State<Arc<Shared>>, Path(user): Path<String>, body: Bytes) -> Response {
    let data_types = match parse::<DeniedRequest>(&body) {
        Ok(DeniedRequest { data_types: Some(data_types) }) => data_types,
        Ok(_) => return bad_request("expected {\"dataTypes\": [\"sleep\", …]}"),
        Err(error) => return bad_request(error),
    };
    let consents = shared.lock().google.tokens.deny(&user, &data_types);
    Json(json!({"user_id": user, "dataTypes": data_types, "consents": consents})).into_response()
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DefectsRequest {
    defects: Option<bool>,
}

async fn set_defects(State(shared): State<Arc<Shared>>, Path(user): Path<String>, body: Bytes) -> Response {
    let defects = match parse::<DefectsRequest>(&body) {
        Ok(DefectsRequest { defects: Some(defects) }) => defects,
        Ok(_) => return bad_request("expected {\"defects\": true|false}"),
        Err(error) => return bad_request(error),
    };
    let mut state = shared.lock();
    if defects {
        state.google.defects.insert(user.clone());
    } else {
        state.google.defects.remove(&user);
    }
    Json(json!({"user_id": user, "defects": defects})).into_response()
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultRequest {
    user: Option<String>,
    route: Option<Route>,
    kind: Option<String>,
    status: Option<u16>,
    delay_ms: Option<u64>,
    times: Option<u32>,
    bytes: Option<u64>,
    declared: Option<bool>,
    url: Option<String>,
    client_id: Option<String>,
    retry_after: Option<String>,
}

async fn add_fault(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let request: FaultRequest = match parse(&body) {
        Ok(request) => request,
        Err(error) => return bad_request(error),
    };
    let kind = match (request.kind.as_deref(), request.status, request.delay_ms) {
        (Some("status"), Some(status), _) if (100..=599).contains(&status) => FaultKind::Status(status),
        (Some("slow"), _, Some(delay)) => FaultKind::Slow(Duration::from_millis(delay)),
        (Some("drop"), _, _) => FaultKind::Drop,
        (Some("oversized"), _, _) if request.bytes.is_some() => FaultKind::Oversized {
            bytes: request.bytes.unwrap_or_default(),
            declared: request.declared.unwrap_or(false),
        },
        (Some("endless"), _, _) => FaultKind::Endless,
        (Some("redirect"), status, _) if request.url.is_some() && status.is_none_or(|s| (300..=399).contains(&s)) => {
            FaultKind::Redirect { status: status.unwrap_or(307), url: request.url.clone().unwrap_or_default() }
        }
        (Some("next_link"), _, _) if request.url.is_some() => {
            FaultKind::NextLink(request.url.clone().unwrap_or_default())
        }
        (Some("audience"), _, _) if request.client_id.is_some() => {
            FaultKind::Audience(request.client_id.clone().unwrap_or_default())
        }
        (Some("project_quota"), _, _) if request.retry_after.is_some() => {
            FaultKind::ProjectQuota { retry_after: request.retry_after.clone().unwrap_or_default() }
        }
        _ => {
            return bad_request(
                "kind must be \"status\" (with status 100-599), \"slow\" (with delay_ms), \"drop\", \"oversized\" \
                 (with bytes, declared?), \"endless\", \"redirect\" (with url, status? 300-399, default 307), \
                 \"next_link\" (with url), \"audience\" (with client_id) or \"project_quota\" (with retry_after)",
            )
        }
    };
    shared.lock().faults.add(Fault {
        user: request.user,
        route: request.route,
        kind,
        times: request.times.unwrap_or(1),
    });
    StatusCode::NO_CONTENT.into_response()
}

async fn clear_faults(State(shared): State<Arc<Shared>>) -> Response {
    shared.lock().faults.clear();
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LegacyRequest {
    gone: Option<bool>,
}

async fn set_legacy(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let gone = match parse::<LegacyRequest>(&body) {
        Ok(LegacyRequest { gone: Some(gone) }) => gone,
        Ok(_) => return bad_request("expected {\"gone\": true|false}"),
        Err(error) => return bad_request(error),
    };
    shared.lock().config.legacy_gone = gone;
    settings(&shared)
}

async fn get_config(State(shared): State<Arc<Shared>>) -> Response {
    settings(&shared)
}

/// Changes the settings named in the body ([`crate::SimConfig::SETTINGS`]); all of them or, on a bad one, none.
async fn set_config(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let request: Map<String, Value> = match parse(&body) {
        Ok(request) => request,
        Err(error) => return bad_request(error),
    };
    {
        let mut state = shared.lock();
        let mut check = state.config.clone();
        if let Some(error) = request.iter().find_map(|(name, value)| check.set(name, value).err()) {
            return bad_request(error);
        }
        for (name, value) in &request {
            state.configure(name, value).expect("checked above");
        }
    }
    settings(&shared)
}

/// Every setting in force, and the requests refused so far for the project's quota.
fn settings(shared: &Shared) -> Response {
    let state = shared.lock();
    let mut body = state.config.to_json();
    body["google_project_limited"] = json!(state.google.quota.project_limited);
    Json(body).into_response()
}
