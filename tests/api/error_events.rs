//! docs/decisions.md#internal-error-codes: every typed provider failure becomes the original's error object and a
//! `FitbitAuthErrorEvent`, with the database side effects of its table. The failures are real answers of the simulator:
//! Google's where Google gives them, Fitbit's for what only Fitbit's `errorType`s and hourly quota say (an expired
//! token told apart, the reset time, an error type of no other code).

use std::time::Duration;

use ds_agent::domain::ChildId;
use ds_agent::provider::ProviderError;
use mongodb::bson::oid::ObjectId;
use serde_json::{json, Value};

use crate::bus_probe::BusProbe;
use crate::helpers::{spawn_app, spawn_app_with, unique_name, TestApp};

const WEIGHTS: &str = "/body/log/weight/date/2026-11-01/2026-11-20.json";

/// Reports `error` and reads the event back; `secrets` must not appear in it.
async fn report_and_read(app: &TestApp, child: ChildId, error: &ProviderError, secrets: &[&str]) -> Value {
    let mut probe = BusProbe::bind(&["fitbit.auth.error"]).await;
    app.state.failures.report(child, error).await;
    let message = probe.next_for(&child.to_string(), Duration::from_secs(60)).await.expect("error event");
    assert_eq!(message.routing_key, "fitbit.auth.error");
    assert_eq!(message.body["event_name"], "FitbitAuthErrorEvent");
    let raw = String::from_utf8(message.raw).unwrap();
    for secret in secrets {
        assert!(!raw.contains(secret), "a token in {raw}");
    }
    message.body["fitbit"]["error"].clone()
}

fn masked(token: &str) -> String {
    format!("{}…", &token[..6])
}

#[tokio::test]
async fn expired_token_is_1011() {
    let app = spawn_app().await;
    let (child, _) = app.connect_fitbit_child("rwei").await;
    let expired = app.sim.issue_fitbit_tokens(&unique_name("FB"), "rwei", -10);
    let error = app.state.providers.fitbit.get(WEIGHTS, &expired.access_token).await.unwrap_err();
    assert_eq!(
        report_and_read(&app, child, &error, &[&expired.access_token]).await,
        json!({"code": 1011, "message": "Access token expired.",
               "description": format!("The access token {} has been expired and needs to be refreshed.", masked(&expired.access_token))})
    );
    assert_eq!(error.http_status(), 400);
}

/// Revokes the consent of `refresh_token` at Google.
async fn revoke_at_google(app: &TestApp, refresh_token: &str) {
    let url = format!("{}/revoke", app.sim.base_url());
    let response = reqwest::Client::new().post(url).form(&[("token", refresh_token)]).send().await.unwrap();
    assert!(response.status().is_success());
}

#[tokio::test]
async fn invalid_token_is_1012_and_marks_the_tokens_invalid() {
    let app = spawn_app().await;
    let (child, tokens) = app.connect_google_user(&unique_name("G"), 3600).await;
    revoke_at_google(&app, &tokens.refresh_token).await;
    let error = app.state.providers.google.identity(&tokens.access_token).await.unwrap_err();
    let body = report_and_read(&app, child, &error, &[&tokens.access_token, &tokens.refresh_token]).await;
    assert_eq!(body["code"], 1012);
    assert_eq!(body["message"], "Access token invalid.");
    let fitbit = app.userauth_document(child).await.unwrap().get_document("fitbit").unwrap().clone();
    assert_eq!(fitbit.get_str("status").unwrap(), "invalid_token");
}

#[tokio::test]
async fn invalid_grant_is_1021_and_removes_the_tokens() {
    let app = spawn_app().await;
    let (child, tokens) = app.connect_google_user(&unique_name("G"), 3600).await;
    app.state.providers.google.refresh(&tokens.refresh_token).await.unwrap();
    revoke_at_google(&app, &tokens.refresh_token).await;
    let error = app.state.providers.google.refresh(&tokens.refresh_token).await.unwrap_err();
    assert_eq!(
        report_and_read(&app, child, &error, &[&tokens.access_token, &tokens.refresh_token]).await,
        json!({"code": 1021, "message": "Refresh token invalid.",
               "description": format!("The refresh token {} is invalid. Please make a new Fitbit Auth Data request and try again.", masked(&tokens.refresh_token))})
    );
    assert!(app.userauth_document(child).await.unwrap().get("fitbit").is_none());
}

#[tokio::test]
async fn invalid_client_is_1401() {
    let app = spawn_app_with(&[("GOOGLE_CLIENT_SECRET", "wrong")]).await;
    let tokens = app.sim.issue_google_tokens(&unique_name("G"), provider_sim::GOOGLE_HEALTH_SCOPES, 3600);
    let child = ChildId::from(ObjectId::new());
    let error = app.state.providers.google.refresh(&tokens.refresh_token).await.unwrap_err();
    assert_eq!(
        report_and_read(&app, child, &error, &[&tokens.access_token, &tokens.refresh_token]).await,
        json!({"code": 1401, "message": "Invalid Fitbit Client data.",
               "description": "The Fitbit Client credentials are invalid. The operation cannot be performed."})
    );
    assert_eq!(error.http_status(), 401);
    assert!(app.sim.is_google_refresh_token_valid(&tokens.refresh_token), "not spent");
}

#[tokio::test]
async fn rate_limit_is_1429_with_the_reset_time() {
    let app = spawn_app().await;
    app.sim.set_rate_limit(1);
    let (child, tokens) = app.connect_fitbit_child("rwei").await;
    let first = app.state.providers.fitbit.get(WEIGHTS, &tokens.access_token).await;
    let error = match first {
        Err(e) => e,
        Ok(_) => app.state.providers.fitbit.get(WEIGHTS, &tokens.access_token).await.unwrap_err(),
    };
    assert!(matches!(
        error.kind,
        ds_agent::provider::ProviderErrorKind::RateLimited { retry_after_secs: Some(s) } if s <= 3600
    ));
    assert_eq!(
        report_and_read(&app, child, &error, &[&tokens.access_token, &tokens.refresh_token]).await,
        json!({"code": 1429, "message": format!("Data request limit for access token {} has expired.", masked(&tokens.access_token)),
               "description": "Please wait a minimum of one hour and try make the operation again."})
    );
}

#[tokio::test]
async fn another_provider_error_type_is_1500_with_its_own_message() {
    let app = spawn_app().await;
    let (child, tokens) = app.connect_fitbit_child("rsle").await;
    let error = app.state.providers.fitbit.get(WEIGHTS, &tokens.access_token).await.unwrap_err();
    let body = report_and_read(&app, child, &error, &[&tokens.access_token, &tokens.refresh_token]).await;
    assert_eq!(body["code"], 1500);
    assert!(body.get("description").is_none());
    assert_eq!(error.http_status(), 500);
}

#[tokio::test]
async fn unreachable_provider_is_1500_without_an_event() {
    let app = spawn_app().await;
    let (child, tokens) = app.connect_google_user(&unique_name("G"), 3600).await;
    app.sim.add_fault(provider_sim::Fault {
        user: None,
        route: Some(provider_sim::Route::GoogleData),
        kind: provider_sim::FaultKind::Status(502),
        times: 10,
    });
    let mut probe = BusProbe::bind(&["fitbit.auth.error"]).await;
    let error = app.state.providers.google.identity(&tokens.access_token).await.unwrap_err();
    assert!(error.is_transient());
    assert_eq!(error.body().code, 1500);
    app.state.failures.report(child, &error).await;
    assert!(probe.next_for(&child.to_string(), Duration::from_millis(800)).await.is_none(), "client_error: no event");
}
