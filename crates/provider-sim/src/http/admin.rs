//! Control routes under `/__admin`, JSON in and out, for developers steering a running simulator with curl. Tests
//! in-process use the same operations through [`crate::Simulator`]. Bodies are read as JSON whatever their declared
//! content type, since `curl -d` sends a form type. The webhook routes are in [`webhooks`].

mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::json;

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
        .route("/config", put(set_config))
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
    let pair = shared.issue_tokens(&user, &scopes, request.expires_in.unwrap_or(shared.access_token_ttl_secs));
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
    let expires_in = request.expires_in.unwrap_or(shared.google.access_token_ttl_secs);
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
        state.google_unlinked.remove(&user);
    } else {
        state.google_unlinked.insert(user.clone());
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
    let consents = shared.lock().google_tokens.deny(&user, &data_types);
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
        state.google_defects.insert(user.clone());
    } else {
        state.google_defects.remove(&user);
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
    shared.lock().settings.legacy_gone = gone;
    settings(&shared)
}

/// A key that may be a number or `null`: `None` when absent, `Some(None)` for `null`.
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(deserializer: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigRequest {
    rate_limit_per_hour: Option<u32>,
    latency_ms: Option<u64>,
    google_rate_limit_per_minute: Option<u32>,
    google_empty_first_page: Option<bool>,
    google_verbose: Option<bool>,
    google_phone_source: Option<bool>,
    google_unstable_reconcile_names: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    google_sleep_processing_until: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable")]
    google_requests_per_second: Option<Option<f64>>,
    #[serde(default, deserialize_with = "nullable")]
    google_project_requests_per_second: Option<Option<f64>>,
    google_subscriber_direct_answer: Option<bool>,
    google_operations_pending: Option<bool>,
    google_notification_omit_authorization: Option<bool>,
    google_signature_header: Option<String>,
    google_notifications_single: Option<bool>,
    google_notification_batch_ms: Option<u64>,
    google_notification_retry_base_ms: Option<u64>,
    google_notification_max_attempts: Option<u32>,
}

async fn set_config(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let request: ConfigRequest = match parse(&body) {
        Ok(request) => request,
        Err(error) => return bad_request(error),
    };
    if request.google_requests_per_second.flatten().is_some_and(|rate| !(rate.is_finite() && rate > 0.0)) {
        return bad_request("google_requests_per_second must be a positive number or null");
    }
    if request.google_project_requests_per_second.flatten().is_some_and(|rate| !(rate.is_finite() && rate > 0.0)) {
        return bad_request("google_project_requests_per_second must be a positive number or null");
    }
    if request.google_signature_header.as_deref().is_some_and(|name| HeaderName::from_bytes(name.as_bytes()).is_err()) {
        return bad_request("google_signature_header must be a header name");
    }
    {
        let mut state = shared.lock();
        if let Some(limit) = request.rate_limit_per_hour {
            state.settings.rate_limit_per_hour = limit;
        }
        if let Some(latency) = request.latency_ms {
            state.settings.latency = Duration::from_millis(latency);
        }
        if let Some(limit) = request.google_rate_limit_per_minute {
            state.settings.google_rate_limit_per_minute = limit;
        }
        if let Some(empty) = request.google_empty_first_page {
            state.settings.google_empty_first_page = empty;
        }
        if let Some(verbose) = request.google_verbose {
            state.settings.google_verbose = verbose;
        }
        if let Some(phone) = request.google_phone_source {
            state.settings.google_phone_source = phone;
        }
        if let Some(unstable) = request.google_unstable_reconcile_names {
            state.settings.google_unstable_reconcile_names = unstable;
        }
        if let Some(until) = request.google_sleep_processing_until {
            state.settings.google_sleep_processing_until = until;
        }
        if let Some(rate) = request.google_requests_per_second {
            state.settings.google_requests_per_second = rate;
            state.google_pacing.clear();
        }
        if let Some(rate) = request.google_project_requests_per_second {
            state.settings.google_project_requests_per_second = rate;
            state.google_pacing.clear();
        }
        let webhooks = &mut state.webhook_settings;
        if let Some(direct) = request.google_subscriber_direct_answer {
            webhooks.subscriber_direct_answer = direct;
        }
        if let Some(pending) = request.google_operations_pending {
            webhooks.operations_pending = pending;
        }
        if let Some(omit) = request.google_notification_omit_authorization {
            webhooks.omit_authorization = omit;
        }
        if let Some(name) = request.google_signature_header {
            webhooks.signature_header = name;
        }
        if let Some(single) = request.google_notifications_single {
            webhooks.single = single;
        }
        if let Some(ms) = request.google_notification_batch_ms {
            webhooks.batch = Duration::from_millis(ms);
        }
        if let Some(ms) = request.google_notification_retry_base_ms {
            webhooks.retry_base = Duration::from_millis(ms);
        }
        if let Some(attempts) = request.google_notification_max_attempts {
            webhooks.max_attempts = attempts;
        }
    }
    settings(&shared)
}

/// The run-time switches after a change, so the caller sees what is in effect.
fn settings(shared: &Shared) -> Response {
    let (settings, webhooks, project_limited) = {
        let state = shared.lock();
        (state.settings, state.webhook_settings.clone(), state.google_project_limited)
    };
    Json(json!({
        "rate_limit_per_hour": settings.rate_limit_per_hour,
        "latency_ms": settings.latency.as_millis() as u64,
        "legacy_gone": settings.legacy_gone,
        "google_rate_limit_per_minute": settings.google_rate_limit_per_minute,
        "google_empty_first_page": settings.google_empty_first_page,
        "google_verbose": settings.google_verbose,
        "google_phone_source": settings.google_phone_source,
        "google_unstable_reconcile_names": settings.google_unstable_reconcile_names,
        "google_sleep_processing_until": settings.google_sleep_processing_until,
        "google_requests_per_second": settings.google_requests_per_second,
        "google_project_requests_per_second": settings.google_project_requests_per_second,
        "google_project_limited": project_limited,
        "google_subscriber_direct_answer": webhooks.subscriber_direct_answer,
        "google_operations_pending": webhooks.operations_pending,
        "google_notification_omit_authorization": webhooks.omit_authorization,
        "google_signature_header": webhooks.signature_header,
        "google_notifications_single": webhooks.single,
        "google_notification_batch_ms": webhooks.batch.as_millis() as u64,
        "google_notification_retry_base_ms": webhooks.retry_base.as_millis() as u64,
        "google_notification_max_attempts": webhooks.max_attempts,
    }))
    .into_response()
}
