//! Liveness and readiness, beyond the original: ready is 200 only while MongoDB, Redis and RabbitMQ all answer.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::json;

use super::response::json;
use super::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/health/live", get(live)).route("/health/ready", get(ready))
}

async fn live() -> Response {
    json(StatusCode::OK, &json!({"status": "ok"}))
}

async fn ready(State(state): State<AppState>) -> Response {
    let (mongodb, redis, rabbitmq) =
        tokio::join!(state.store.ping(), state.coordination.ping(), state.bus.is_connected());
    let up = |ok: bool| if ok { "up" } else { "down" };
    let checks = json!({"mongodb": up(mongodb.is_ok()), "redis": up(redis.is_ok()), "rabbitmq": up(rabbitmq)});
    if mongodb.is_ok() && redis.is_ok() && rabbitmq {
        json(StatusCode::OK, &json!({"status": "ok", "checks": checks}))
    } else {
        json(StatusCode::SERVICE_UNAVAILABLE, &json!({"status": "unavailable", "checks": checks}))
    }
}
