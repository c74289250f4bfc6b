//! The REST API: one router per resource file, merged here, wrapped in the original's middleware chain
//! (docs/decisions.md#http-layer).

mod auth;
mod body;
mod body_read;
mod error;
mod fitbit;
mod google;
mod health;
mod metrics;
mod middleware;
mod notifications;
pub mod redirect;
mod reference;
mod response;
pub mod shedding;
mod sync;
mod user_id;

use std::sync::Arc;

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

pub use body::{ParsedBody, BODY_LIMIT};
pub use error::{ApiError, Dependency, ErrorBody};
pub use middleware::OriginalUrl;
use response::moved_permanently;

use crate::bus::{Bus, Publisher};
use crate::config::Settings;
use crate::coordination::Coordination;
use crate::jobs::JobQueue;
use crate::notifications::Notifications;
use crate::provider::Providers;
use crate::status::StatusReader;
use crate::store::{Store, UserAuths};
use crate::sync::SyncService;
use crate::tokens::{FailureReporter, Revocations, StateSigner, TokenService};

/// What every handler may use; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub store: Store,
    pub coordination: Arc<Coordination>,
    pub bus: Bus,
    pub userauths: UserAuths,
    pub providers: Providers,
    pub publisher: Publisher,
    pub tokens: TokenService,
    pub failures: FailureReporter,
    pub revocations: Revocations,
    pub sync: SyncService,
    pub state_signer: StateSigner,
    pub jobs: JobQueue,
    /// Google Health notifications; `None` while they are off.
    pub notifications: Option<Notifications>,
    /// Each child's sync status, for operators.
    pub status: StatusReader,
}

/// The HTTPS application: routes wrapped in the middleware chain. Path normalisation and body parsing must run
/// before routing, so the routes sit inside an outer router whose layers see every request first.
pub fn app(state: AppState) -> Router {
    let routes = Router::new()
        .route("/", get(|| async { moved_permanently("/v1/reference") }))
        .merge(reference::router())
        .merge(fitbit::router())
        .merge(auth::router())
        .merge(google::router())
        .merge(health::router())
        .merge(sync::router())
        .merge(metrics::router())
        .merge(notifications::router(state.notifications.clone()))
        .fallback(endpoint_not_found)
        .method_not_allowed_fallback(endpoint_not_found)
        .with_state(state);
    Router::new()
        .fallback_service(routes)
        .layer(axum::middleware::from_fn(body::parse_body))
        .layer(axum::middleware::from_fn(middleware::normalize_path))
        .layer(axum::middleware::from_fn(middleware::security_headers))
        .layer(axum::middleware::from_fn(middleware::access_log))
}

/// Unknown routes and known routes with another method alike: 404, as in the original.
async fn endpoint_not_found(request: Request) -> Response {
    let url = match request.extensions().get::<OriginalUrl>() {
        Some(OriginalUrl(url)) => url.clone(),
        None => request.uri().path().to_string(),
    };
    ApiError::EndpointNotFound(url).into_response()
}
