//! `GET /metrics`: the service's metrics ([`crate::metrics`]) with the job queue's depth read at scrape time, in the
//! OpenMetrics text format.

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

async fn metrics(State(state): State<AppState>) -> Response {
    let metrics = crate::metrics::get();
    if let Ok(depth) = state.jobs.depth().await {
        metrics.job_queue_depth.set(depth as i64);
    }
    ([(CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], metrics.render()).into_response()
}
