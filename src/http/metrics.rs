//! `GET /metrics`: the counters of [`crate::metrics`] and the job queue's depth, in Prometheus text format.

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
    let depth = state.jobs.depth().await.unwrap_or(0);
    let text = crate::metrics::render(&[(
        "ds_agent_job_queue_depth",
        "Sync jobs waiting, running or scheduled for a retry, across instances.",
        depth,
    )]);
    ([(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response()
}
