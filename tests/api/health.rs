//! `/health/live` and `/health/ready`, and the API answering while a dependency is down.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{eventually, spawn_app, spawn_app_with};

#[tokio::test]
async fn live_is_200_while_the_process_runs() {
    let app = spawn_app().await;
    let response = app.get("/health/live").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.json::<Value>().await.unwrap(), json!({"status": "ok"}));
}

#[tokio::test]
async fn ready_is_200_once_mongodb_redis_and_rabbitmq_answer() {
    let app = spawn_app().await;
    let ready =
        eventually(Duration::from_secs(60), || async { app.get("/health/ready").await.status() == StatusCode::OK })
            .await;
    assert!(ready, "never ready");
    let body: Value = app.get("/health/ready").await.json().await.unwrap();
    assert_eq!(body, json!({"status": "ok", "checks": {"mongodb": "up", "redis": "up", "rabbitmq": "up"}}));
}

#[tokio::test]
async fn ready_is_503_naming_mongodb_when_it_is_unreachable_and_the_api_still_answers() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let uri = format!("mongodb://127.0.0.1:{closed}/unreachable");
    let app = spawn_app_with(&[("MONGODB_URI_TEST", &uri), ("MONGODB_TIMEOUT_MS", "500")]).await;

    let started = Instant::now();
    let response = app.get("/health/ready").await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(started.elapsed() < Duration::from_secs(20), "readiness must not hang on a dead dependency");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "unavailable");
    assert_eq!(body["checks"]["mongodb"], "down");
    assert_eq!(body["checks"]["redis"], "up");

    assert_eq!(app.get("/v1/fitbit").await.status(), StatusCode::OK);
    assert_eq!(app.get("/health/live").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn ready_is_503_naming_redis_and_rabbitmq_when_they_are_unreachable() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let redis = format!("redis://127.0.0.1:{closed}");
    let rabbit = format!("amqp://guest:guest@127.0.0.1:{closed}");
    let app = spawn_app_with(&[("REDIS_URI", &redis), ("RABBITMQ_URI", &rabbit), ("MONGODB_TIMEOUT_MS", "500")]).await;
    let response = app.get("/health/ready").await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["checks"], json!({"mongodb": "up", "redis": "down", "rabbitmq": "down"}));
}

#[tokio::test]
async fn indexes_are_created_at_startup() {
    let app = spawn_app().await;
    let index_names = |collection: &'static str| {
        let store = app.store.clone();
        async move { store.collection(collection).list_index_names().await.unwrap_or_default() }
    };
    let created = eventually(Duration::from_secs(60), || async {
        index_names("userauths").await.iter().any(|n| n == "user_id_unique")
            && index_names("resources").await.iter().any(|n| n == "user_id_type_logId")
            && index_names("resources").await.iter().any(|n| n == "user_id_type_natural_key")
    })
    .await;
    assert!(
        created,
        "indexes missing: userauths {:?}, resources {:?}",
        index_names("userauths").await,
        index_names("resources").await
    );
}
