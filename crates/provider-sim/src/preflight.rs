//! What every request goes through before the provider's own logic, in this order: counting (failed requests count
//! too), the configured latency, the legacy-gone switch for legacy routes (before any auth check, like the real
//! retirement), then the first matching fault. A fault either replaces the answer here (a status, a drop, an oversized
//! or endless body, a redirect, a project quota 429) or is handed to the route, which shapes its own answer with it.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE, LOCATION, RETRY_AFTER};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::faults::{FaultKind, Route};
use crate::state::Shared;

/// `Ok` when the request goes on to the provider's logic, with the fault that shapes its answer if one matched
/// ([`FaultKind::NextLink`], [`FaultKind::Audience`]); otherwise the answer it gets instead. `detail` is what
/// [`crate::usage::Usage::record`] keeps of it.
pub(crate) async fn preflight(
    shared: &Shared,
    route: Route,
    user: Option<&str>,
    detail: &str,
) -> Result<Option<FaultKind>, Response> {
    let (latency, fault, retired) = {
        let mut state = shared.lock();
        if let Some(user) = user {
            state.usage.entry(user.to_string()).or_default().record(route, detail);
        }
        let retired = state.config.legacy_gone && route.is_legacy();
        // While gone, no fault can show, so none is spent.
        let fault = if retired { None } else { state.faults.take(user, route) };
        (state.config.latency, fault, retired)
    };
    tokio::time::sleep(latency).await;
    if retired {
        return Err(gone());
    }
    match fault {
        None => Ok(None),
        Some(FaultKind::Slow(delay)) => {
            tokio::time::sleep(delay).await;
            Ok(None)
        }
        Some(FaultKind::Status(status)) => Err(error_page(status)),
        Some(FaultKind::Drop) => Err(dropped_connection()),
        Some(FaultKind::Oversized { bytes, declared }) => Err(oversized(bytes, declared, shared.streamed.clone())),
        Some(FaultKind::Endless) => Err(endless(shared.streamed.clone())),
        Some(FaultKind::Redirect { status, url }) => Err(redirect(status, &url)),
        Some(FaultKind::ProjectQuota { retry_after }) => Err(project_quota(&retry_after)),
        Some(shaping @ (FaultKind::NextLink(_) | FaultKind::Audience(_))) => Ok(Some(shaping)),
    }
}

/// The chunk oversized and endless bodies repeat: one static buffer, so a body of any length costs no memory.
static FILLER: [u8; 64 * 1024] = [b' '; 64 * 1024];

/// Counts each chunk into `streamed` as the server takes it.
fn counted(streamed: Arc<AtomicU64>) -> impl FnMut(Bytes) -> Result<Bytes, io::Error> {
    move |chunk| {
        streamed.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        Ok(chunk)
    }
}

/// `bytes` of whitespace ending in `{}`: valid JSON, and far too large.
fn oversized(bytes: u64, declared: bool, streamed: Arc<AtomicU64>) -> Response {
    let chunk = FILLER.len() as u64;
    let filler = bytes.saturating_sub(2);
    let chunks = (0..filler / chunk)
        .map(|_| Bytes::from_static(&FILLER))
        .chain(std::iter::once(Bytes::from_static(&FILLER[..(filler % chunk) as usize])))
        .chain(std::iter::once(Bytes::from_static(b"{}")))
        .map(counted(streamed));
    let mut response = json_stream(Body::from_stream(futures_util::stream::iter(chunks)));
    if declared {
        response.headers_mut().insert(CONTENT_LENGTH, bytes.max(2).into());
    }
    response
}

fn endless(streamed: Arc<AtomicU64>) -> Response {
    let mut count = counted(streamed);
    let chunks = futures_util::stream::repeat_with(move || count(Bytes::from_static(&FILLER)));
    json_stream(Body::from_stream(chunks))
}

fn json_stream(body: Body) -> Response {
    let mut response = Response::new(body);
    response.headers_mut().insert(CONTENT_TYPE, "application/json".parse().expect("a valid header"));
    response
}

fn project_quota(retry_after: &str) -> Response {
    let mut response = crate::google::status::project_limited(1.0).into_response();
    if let Ok(value) = retry_after.parse() {
        response.headers_mut().insert(RETRY_AFTER, value);
    }
    response
}

fn redirect(status: u16, url: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::TEMPORARY_REDIRECT);
    match url.parse::<axum::http::HeaderValue>() {
        Ok(location) => (status, [(LOCATION, location)]).into_response(),
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "the redirect fault's URL is no header value").into_response(),
    }
}

pub(crate) fn gone() -> Response {
    (StatusCode::GONE, "Gone").into_response()
}

/// The HTML page a load balancer sends, with no Fitbit error envelope: ds-agent sees an untyped error.
fn error_page(status: u16) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, [(CONTENT_TYPE, "text/html")], "<html><body>Server Error</body></html>").into_response()
}

/// Marks a response whose connection will be dropped, so the request log does not show its nominal 200.
#[derive(Clone, Copy)]
pub(crate) struct Dropped;

/// A body that fails at once makes hyper abort the connection before the response head is flushed, so the client
/// gets no complete HTTP response at all.
fn dropped_connection() -> Response {
    let failing = futures_util::stream::once(async {
        Err::<Bytes, _>(io::Error::new(io::ErrorKind::ConnectionAborted, "fault injected: drop"))
    });
    let mut response = Response::new(Body::from_stream(failing));
    response.extensions_mut().insert(Dropped);
    response
}
