//! The simulator's HTTP face: Fitbit's legacy routes, Google's OAuth, Health API and webhook routes, the `/__admin`
//! control routes for tests and developers, and one log line per request (credentials in it shortened).

mod admin;
mod fitbit;
mod google;

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::{StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use serde_json::json;

use crate::fitbit::error as fitbit_error;
use crate::preflight;
use crate::redact::{redact_query, short};
use crate::state::Shared;

pub(crate) use google::keyset::PATH as KEYSET_PATH;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/oauth2/token", post(fitbit::oauth::token))
        .route("/oauth2/revoke", post(fitbit::oauth::revoke))
        .route("/1.1/oauth2/introspect", post(fitbit::oauth::introspect))
        .route("/1/user/-/{*resource}", get(fitbit::data::get))
        .route("/1.2/user/-/{*resource}", get(fitbit::data::get))
        .route("/token", post(google::oauth::token))
        .route("/revoke", post(google::oauth::revoke))
        .route("/tokeninfo", get(google::oauth::tokeninfo).post(google::oauth::tokeninfo))
        .route("/o/oauth2/v2/auth", get(google::consent::authorize))
        .route("/v4/projects/{*rest}", any(google::subscribers::serve))
        .route("/v4/{*rest}", any(google::health::serve))
        .route(google::keyset::PATH, get(google::keyset::serve))
        .nest("/__admin", admin::router())
        .fallback(fallback)
        .layer(middleware::from_fn(log_request))
        .with_state(shared)
}

/// Paths of the retired API: they all answer 410 once it is gone, known routes or not.
fn is_legacy(path: &str) -> bool {
    ["/oauth2/", "/1.1/", "/1/", "/1.2/"].iter().any(|prefix| path.starts_with(prefix))
}

async fn fallback(State(shared): State<Arc<Shared>>, uri: Uri) -> Response {
    if uri.path() == "/__admin" || uri.path().starts_with("/__admin/") {
        return (StatusCode::NOT_FOUND, Json(json!({"error": "no such admin route"}))).into_response();
    }
    let (latency, legacy_gone) = {
        let state = shared.lock();
        (state.config.latency, state.config.legacy_gone)
    };
    tokio::time::sleep(latency).await;
    if legacy_gone && is_legacy(uri.path()) {
        return preflight::gone();
    }
    fitbit_error::not_found().into_response()
}

async fn log_request(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let uri = redact_query(request.uri());
    let credentials = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        .map(|(scheme, token)| format!(" ({scheme} {})", short(token)))
        .unwrap_or_default();
    let started = Instant::now();
    let response = next.run(request).await;
    let elapsed = started.elapsed().as_millis();
    let outcome = match response.extensions().get::<preflight::Dropped>() {
        Some(_) => "connection dropped".to_string(),
        None => response.status().as_u16().to_string(),
    };
    tracing::info!("{method} {uri}{credentials} -> {outcome} in {elapsed} ms");
    response
}
