//! `/`, `/v1/fitbit` and the API reference, as the original answered them.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_with};

#[tokio::test]
async fn root_redirects_to_the_reference() {
    let app = spawn_app().await;
    let response = app.get("/").await;
    assert_eq!(response.status(), StatusCode::MOVED_PERMANENTLY);
    assert_eq!(response.headers()["location"], "/v1/reference");
}

#[tokio::test]
async fn fitbit_credentials_are_served_when_configured() {
    let app = spawn_app().await;
    let response = app.get("/v1/fitbit").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json; charset=utf-8");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({"client_id": "1A2B3C", "client_secret": "f1tb1ts3cr3t"}));
}

#[tokio::test]
async fn fitbit_credentials_missing_give_404() {
    let app = spawn_app_with(&[("FITBIT_CLIENT_SECRET", "")]).await;
    let response = app.get("/v1/fitbit").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({"code": 404, "message": "Fitbit client id and secret key not found!"}));
}

#[tokio::test]
async fn reference_serves_swagger_ui_with_local_assets_only() {
    let app = spawn_app().await;
    let response = app.get("/v1/reference").await;
    assert_eq!(response.status(), StatusCode::MOVED_PERMANENTLY);
    assert_eq!(response.headers()["location"], "/v1/reference/");

    let response = app.get("/v1/reference/").await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(html.contains("<title>API Reference | Data Sync Agent Service</title>"));
    assert!(html.contains(".swagger-ui .topbar { display: none }"));
    assert!(!html.contains("src=\"http") && !html.contains("href=\"http"), "no asset may come from elsewhere");

    for (path, needle) in [
        ("/v1/reference/swagger-ui-bundle.js", "SwaggerUIBundle"),
        ("/v1/reference/swagger-ui.css", ".swagger-ui"),
        ("/v1/reference/openapi.yaml", "/v1/users/{user_id}/fitbit/auth"),
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert!(response.text().await.unwrap().contains(needle), "{path}");
    }
}
