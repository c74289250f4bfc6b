//! docs/decisions.md#http-layer: the redirect listener, helmet's headers, the 404 and body-parser errors.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_with};

const HELMET: [(&str, &str); 6] = [
    ("x-dns-prefetch-control", "off"),
    ("x-frame-options", "SAMEORIGIN"),
    ("strict-transport-security", "max-age=15552000; includeSubDomains"),
    ("x-download-options", "noopen"),
    ("x-content-type-options", "nosniff"),
    ("x-xss-protection", "1; mode=block"),
];

#[tokio::test]
async fn http_port_redirects_every_request_to_https_keeping_path_and_query() {
    let app = spawn_app().await;
    let url = format!("http://127.0.0.1:{}/v1/fitbit?x=1&y=2", app.http_port);
    for method in [reqwest::Method::GET, reqwest::Method::POST, reqwest::Method::DELETE] {
        let response = app
            .client
            .request(method.clone(), &url)
            .header("Host", format!("localhost:{}", app.http_port))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::MOVED_PERMANENTLY, "{method}");
        assert_eq!(
            response.headers()["location"],
            format!("https://localhost:{}/v1/fitbit?x=1&y=2", app.https_port).as_str()
        );
        assert!(response.headers().get("x-frame-options").is_none(), "the redirect runs no middleware");
        assert!(response.text().await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn redirect_ignores_the_host_header() {
    // The certificate's name by default: a `Host` from the sender never reaches the Location.
    let app = spawn_app().await;
    let url = format!("http://127.0.0.1:{}/a?b=1", app.http_port);
    for host in ["evil.example", "api.example.org:8080", "localhost\r\nX: y"] {
        let response = app.client.get(&url).header("Host", host).send().await;
        let Ok(response) = response else { continue };
        assert_eq!(response.headers()["location"], format!("https://localhost:{}/a?b=1", app.https_port).as_str());
    }
    // The configured public host, as operators set it behind a load balancer.
    let app = spawn_app_with(&[("HTTPS_PUBLIC_HOST", "ds.example.org")]).await;
    let url = format!("http://127.0.0.1:{}/a", app.http_port);
    let response = app.client.get(&url).header("Host", "evil.example").send().await.unwrap();
    assert_eq!(response.headers()["location"], "https://ds.example.org/a");
}

#[tokio::test]
async fn helmet_headers_are_on_success_and_error_responses() {
    let app = spawn_app().await;
    for path in ["/v1/fitbit", "/nowhere", "/v1/reference/"] {
        let response = app.get(path).await;
        for (name, value) in HELMET {
            assert_eq!(response.headers().get(name).map(|v| v.to_str().unwrap()), Some(value), "{path} {name}");
        }
        assert!(response.headers().get("x-powered-by").is_none());
    }
}

#[tokio::test]
async fn unknown_routes_answer_404_with_the_original_url() {
    let app = spawn_app().await;
    let response = app.get("/v1/test/5a62be07d6f33400146c9b61/").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(response.headers()["content-type"], "application/json; charset=utf-8");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({"code": 404, "message": "Endpoint /v1/test/5a62be07d6f33400146c9b61/ does not found!"}));

    let body: Value = app.get("/v1/nothing?a=b").await.json().await.unwrap();
    assert_eq!(body["message"], "Endpoint /v1/nothing?a=b does not found!");
}

#[tokio::test]
async fn a_known_path_with_another_method_is_404_and_paths_match_like_express() {
    let app = spawn_app().await;
    let response = app.client.delete(app.url("/v1/fitbit")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({"code": 404, "message": "Endpoint /v1/fitbit does not found!"}));
    // Case-insensitive, optional trailing slash.
    assert_eq!(app.get("/V1/Fitbit/").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn malformed_json_gets_the_body_parser_400_even_on_unknown_routes() {
    let app = spawn_app().await;
    for body in ["wrong body", "\"a string\"", "{\"a\":"] {
        let response =
            app.client.post(app.url("/")).header("content-type", "application/json").body(body).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
        let json: Value = response.json().await.unwrap();
        assert_eq!(
            json,
            json!({
                "code": 400,
                "message": "Unable to process request body!",
                "description": "Please verify that the JSON provided in the request body has a valid format and try again."
            })
        );
    }
}

#[tokio::test]
async fn a_body_over_100_kb_is_413_and_a_bad_charset_is_415() {
    let app = spawn_app().await;
    let big = format!("{{\"a\":\"{}\"}}", "x".repeat(101 * 1024));
    let response = app
        .client
        .post(app.url("/v1/fitbit"))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let json: Value = response.json().await.unwrap();
    assert_eq!(json, json!({"code": 413, "message": "request entity too large"}));

    let form = format!("access_token={}", "x".repeat(101 * 1024));
    let response = app
        .client
        .post(app.url("/v1/fitbit"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);

    let response = app
        .client
        .post(app.url("/v1/fitbit"))
        .header("content-type", "application/json; charset=latin1")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let json: Value = response.json().await.unwrap();
    assert_eq!(json, json!({"code": 415, "message": "unsupported charset \"LATIN1\""}));
}

#[tokio::test]
async fn a_body_just_under_the_limit_is_accepted() {
    let app = spawn_app().await;
    let body = format!("{{\"a\":\"{}\"}}", "x".repeat(100 * 1024 - 16));
    let response = app
        .client
        .post(app.url("/nowhere"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    // Parsed fine, then routed: the unknown route answers 404, not 413.
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}
