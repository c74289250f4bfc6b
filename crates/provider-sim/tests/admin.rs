//! The `/__admin` routes developers drive a running simulator with.

mod common;

use common::*;
use serde_json::{json, Value};

async fn admin(
    sim: &provider_sim::Simulator,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request = client().request(method, format!("{}/__admin{path}", sim.base_url()));
    if let Some(body) = body {
        // As `curl -d` sends it: JSON under a form content type.
        request = request.header("content-type", "application/x-www-form-urlencoded").body(body.to_string());
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn tokens_are_issued_with_defaults_or_as_asked() {
    let sim = start().await;
    let response = admin(&sim, reqwest::Method::POST, "/fitbit/users/U1/tokens", None).await;
    assert_eq!(response.status(), 200);
    let body = json(response).await;
    assert_eq!(body["user_id"], "U1");
    let access = body["access_token"].as_str().unwrap();
    assert_eq!(jwt_part(access, 1)["scopes"], "rwei ract rsle");
    assert!((body["expires_at"].as_i64().unwrap() - chrono::Utc::now().timestamp() - 28800).abs() <= 2);
    assert!(sim.is_refresh_token_valid(body["refresh_token"].as_str().unwrap()));

    let body = json(
        admin(
            &sim,
            reqwest::Method::POST,
            "/fitbit/users/U2/tokens",
            Some(json!({"scopes": "rsle", "expires_in": -60})),
        )
        .await,
    )
    .await;
    let access = body["access_token"].as_str().unwrap();
    assert_eq!(jwt_part(access, 1)["scopes"], "rsle");
    assert!(!sim.is_access_token_active(access));

    let typo = admin(&sim, reqwest::Method::POST, "/fitbit/users/U3/tokens", Some(json!({"scope": "rsle"}))).await;
    assert_eq!(typo.status(), 400);
}

#[tokio::test]
async fn requests_are_reported_per_user() {
    let sim = start().await;
    let pair = sim.issue_fitbit_tokens(USER, ALL_SCOPES, 3600);
    let path = format!("/activities/tracker/steps/date/{}/today.json", today());
    get_data(&sim, &pair.access_token, &path).await;
    introspect(&sim, &pair.access_token, &pair.access_token).await;
    refresh(&sim, &pair.refresh_token).await;

    let body = json(admin(&sim, reqwest::Method::GET, &format!("/fitbit/users/{USER}/requests"), None).await).await;
    assert_eq!(
        body,
        json!({"refresh": 1, "revoke": 0, "introspect": 1, "data": 1, "paths": [format!("/1.2/user/-{path}")]})
    );
    let nobody = json(admin(&sim, reqwest::Method::GET, "/fitbit/users/NOBODY/requests", None).await).await;
    assert_eq!(nobody["data"], 0);
}

#[tokio::test]
async fn faults_are_added_and_cleared() {
    let sim = start().await;
    let token = sim.issue_fitbit_tokens(USER, ALL_SCOPES, 3600).access_token;
    let path = format!("/body/log/weight/date/{0}/{0}.json", today());

    let fault = json!({"user": USER, "route": "data", "kind": "status", "status": 502, "times": 3});
    assert_eq!(admin(&sim, reqwest::Method::POST, "/faults", Some(fault)).await.status(), 204);
    assert_eq!(get_data(&sim, &token, &path).await.status(), 502);
    assert_eq!(admin(&sim, reqwest::Method::DELETE, "/faults", None).await.status(), 204);
    assert_eq!(get_data(&sim, &token, &path).await.status(), 200);

    let drop = json!({"user": null, "route": null, "kind": "drop"});
    assert_eq!(admin(&sim, reqwest::Method::POST, "/faults", Some(drop)).await.status(), 204);
    assert!(client().get(format!("{}/1.2/user/-{path}", sim.base_url())).bearer_auth(&token).send().await.is_err());

    // The hostile provider's faults.
    for hostile in [
        json!({"route": "data", "kind": "oversized", "bytes": 52428800}),
        json!({"route": "google_token", "kind": "oversized", "bytes": 10485760, "declared": true}),
        json!({"route": "google_keyset", "kind": "endless"}),
        json!({"route": "google_token", "kind": "redirect", "url": "http://127.0.0.1:9/token"}),
        json!({"route": "google_token", "kind": "redirect", "status": 308, "url": "http://127.0.0.1:9/token"}),
        json!({"route": "data", "kind": "next_link", "url": "http://127.0.0.1:9/1.2/user/-/sleep/list.json"}),
        json!({"route": "google_tokeninfo", "kind": "audience", "client_id": "other.apps.googleusercontent.com"}),
        json!({"route": "google_data", "kind": "project_quota", "retry_after": "99999999999"}),
    ] {
        assert_eq!(
            admin(&sim, reqwest::Method::POST, "/faults", Some(hostile.clone())).await.status(),
            204,
            "{hostile}"
        );
    }
    assert_eq!(admin(&sim, reqwest::Method::DELETE, "/faults", None).await.status(), 204);
    let pointed = json!({"route": "data", "kind": "next_link", "url": "http://127.0.0.1:9/elsewhere"});
    admin(&sim, reqwest::Method::POST, "/faults", Some(pointed)).await;
    let list = format!("/sleep/list.json?afterDate={}&sort=asc&offset=0&limit=2", today() - chrono::Duration::days(30));
    assert_eq!(json(get_data(&sim, &token, &list).await).await["pagination"]["next"], "http://127.0.0.1:9/elsewhere");

    for invalid in [
        json!({"kind": "status"}),
        json!({"kind": "slow"}),
        json!({"kind": "explode"}),
        json!({"kind": "drop", "route": "x"}),
        json!({"kind": "oversized"}),
        json!({"kind": "redirect"}),
        json!({"kind": "redirect", "status": 200, "url": "http://127.0.0.1:9/"}),
        json!({"kind": "next_link"}),
        json!({"kind": "audience"}),
        json!({"kind": "project_quota"}),
    ] {
        assert_eq!(
            admin(&sim, reqwest::Method::POST, "/faults", Some(invalid.clone())).await.status(),
            400,
            "{invalid}"
        );
    }
}

#[tokio::test]
async fn legacy_and_config_switches_take_effect() {
    let sim = start().await;
    let token = sim.issue_fitbit_tokens(USER, ALL_SCOPES, 3600).access_token;
    let path = format!("/body/log/weight/date/{0}/{0}.json", today());

    let body = json(admin(&sim, reqwest::Method::PUT, "/legacy", Some(json!({"gone": true}))).await).await;
    assert_eq!(body["legacy_gone"], true);
    assert_eq!(get_data(&sim, &token, &path).await.status(), 410);
    admin(&sim, reqwest::Method::PUT, "/legacy", Some(json!({"gone": false}))).await;
    assert_eq!(get_data(&sim, &token, &path).await.status(), 200);
    assert_eq!(admin(&sim, reqwest::Method::PUT, "/legacy", Some(json!({}))).await.status(), 400);

    let body = json(
        admin(&sim, reqwest::Method::PUT, "/config", Some(json!({"rate_limit_per_hour": 1, "latency_ms": 5}))).await,
    )
    .await;
    assert_eq!(
        body,
        json!({
            "fitbit_client_id": "1A2B3C",
            "fitbit_client_secret": "f1tb1ts3cr3t",
            "rate_limit_per_hour": 1,
            "latency_ms": 5,
            "legacy_gone": false,
            "access_token_ttl_secs": 28800,
            "google_client_id": "sim-google-client.apps.googleusercontent.com",
            "google_client_secret": "sim-google-secret",
            "google_rate_limit_per_minute": 300,
            "google_access_token_ttl_secs": 3599,
            "google_refresh_token_ttl_secs": null,
            "google_default_user": "SIMUSR",
            "google_empty_first_page": false,
            "google_verbose": false,
            "google_phone_source": true,
            "google_unstable_reconcile_names": false,
            "google_sleep_processing_until": null,
            "google_requests_per_second": null,
            "google_project_requests_per_second": null,
            "google_project_limited": 0,
            "memo_users": 32,
            "google_subscriber_direct_answer": false,
            "google_operations_pending": false,
            "google_notification_omit_authorization": false,
            "google_signature_header": "GOOGLE-HEALTH-API-SIGNATURE",
            "google_notifications_single": false,
            "google_notification_batch_ms": 50,
            "google_notification_retry_base_ms": 1000,
            "google_notification_max_attempts": 6,
        })
    );
    assert_eq!(json(admin(&sim, reqwest::Method::GET, "/config", None).await).await, body, "GET shows the same");
    assert_eq!(get_data(&sim, &token, &path).await.status(), 429, "the earlier GET used the hour's only request");
    let body = json(admin(&sim, reqwest::Method::PUT, "/config", Some(json!({"memo_users": 2}))).await).await;
    assert_eq!(body["memo_users"], 2);
    for invalid in [
        json!({"google_verbose": "yes"}),
        json!({"google_sleep_processing_until": "soon"}),
        json!({"google_requests_per_second": 0}),
        json!({"google_signature_header": "no spaces in header names"}),
        json!({"no_such_setting": 1}),
        json!({"memo_users": 3, "google_verbose": "yes"}),
    ] {
        let response = admin(&sim, reqwest::Method::PUT, "/config", Some(invalid.clone())).await;
        assert_eq!(response.status(), 400, "{invalid}");
    }
    let body = json(admin(&sim, reqwest::Method::GET, "/config", None).await).await;
    assert_eq!(body["memo_users"], 2, "a refused update changes nothing");

    assert_eq!(admin(&sim, reqwest::Method::GET, "/nothing", None).await.status(), 404);
}
