//! What every request goes through before the provider's own logic, in this order: counting (failed requests count
//! too), the configured latency, the legacy-gone switch for legacy routes (before any auth check, like the real
//! retirement), then the first matching fault.

use std::io;

use axum::body::{Body, Bytes};
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::faults::{FaultKind, Route};
use crate::state::Shared;

/// `Ok` when the request goes on to the provider's logic; otherwise the answer it gets instead. `detail` is what
/// [`crate::usage::Usage::record`] keeps of it.
pub(super) async fn preflight(shared: &Shared, route: Route, user: Option<&str>, detail: &str) -> Result<(), Response> {
    let (settings, fault, retired) = {
        let mut state = shared.lock();
        if let Some(user) = user {
            state.usage.entry(user.to_string()).or_default().record(route, detail);
        }
        let settings = state.settings;
        let retired = settings.legacy_gone && route.is_legacy();
        // While gone, no fault can show, so none is spent.
        let fault = if retired { None } else { state.faults.take(user, route) };
        (settings, fault, retired)
    };
    tokio::time::sleep(settings.latency).await;
    if retired {
        return Err(gone());
    }
    match fault {
        None => Ok(()),
        Some(FaultKind::Slow(delay)) => {
            tokio::time::sleep(delay).await;
            Ok(())
        }
        Some(FaultKind::Status(status)) => Err(error_page(status)),
        Some(FaultKind::Drop) => Err(dropped_connection()),
    }
}

pub(super) fn gone() -> Response {
    (StatusCode::GONE, "Gone").into_response()
}

/// The HTML page a load balancer sends, with no Fitbit error envelope: ds-agent sees an untyped error.
fn error_page(status: u16) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, [(CONTENT_TYPE, "text/html")], "<html><body>Server Error</body></html>").into_response()
}

/// Marks a response whose connection will be dropped, so the request log does not show its nominal 200.
#[derive(Clone, Copy)]
pub(super) struct Dropped;

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
