//! `GET /metrics`: the service's metrics ([`crate::metrics`]) in the OpenMetrics text format, with what is read at
//! scrape time: the job queue's depth and oldest job, whether each dependency answers, and the resident memory.

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::AppState;
use crate::metrics::{Dependency, DependencyLabels};

pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

async fn metrics(State(state): State<AppState>) -> Response {
    let metrics = crate::metrics::get();
    let (depth, oldest, mongodb, redis, rabbitmq) = tokio::join!(
        state.jobs.depth(),
        state.jobs.oldest_age(),
        state.store.ping(),
        state.coordination.ping(),
        state.bus.is_connected()
    );
    if let Ok(depth) = depth {
        metrics.job_queue_depth.set(depth as i64);
    }
    if let Ok(oldest) = oldest {
        metrics.job_oldest_seconds.set(oldest.as_secs() as i64);
    }
    for (dependency, up) in
        [(Dependency::MongoDb, mongodb.is_ok()), (Dependency::Redis, redis.is_ok()), (Dependency::RabbitMq, rabbitmq)]
    {
        metrics.dependency_up.get_or_create(&DependencyLabels { dependency }).set(i64::from(up));
    }
    if let Some(bytes) = resident_memory() {
        metrics.resident_memory.set(bytes);
    }
    ([(CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], metrics.render()).into_response()
}

/// The process's resident set, from `/proc/self/statm` (in pages of 4 KiB, as on the x86-64 and arm64 Linux the
/// service runs on). `None` elsewhere.
fn resident_memory() -> Option<i64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: i64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}
