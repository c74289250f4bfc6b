//! Shared helpers of the simulator's HTTP tests: a running simulator, a client, and Fitbit-shaped requests (Google's
//! are in [`google`]).
#![allow(dead_code)] // each test binary uses its own subset

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use chrono::{Months, NaiveDate, Utc};
use provider_sim::{SimConfig, Simulator};
use serde_json::Value;

pub mod google;

pub const USER: &str = "ABC123";
pub const ALL_SCOPES: &str = "rwei ract rsle";

pub async fn start() -> Simulator {
    start_with(SimConfig::default()).await
}

pub async fn start_with(config: SimConfig) -> Simulator {
    Simulator::start(config, "127.0.0.1:0").await.expect("simulator starts")
}

pub fn client() -> reqwest::Client {
    reqwest::Client::new()
}

pub fn today() -> NaiveDate {
    Utc::now().date_naive()
}

/// The first day of every user's history.
pub fn first_day() -> NaiveDate {
    today().checked_sub_months(Months::new(24)).unwrap()
}

/// `Basic base64(id:secret)` for the default client.
pub fn basic_auth() -> String {
    let config = SimConfig::default();
    format!("Basic {}", STANDARD.encode(format!("{}:{}", config.fitbit_client_id, config.fitbit_client_secret)))
}

/// A data GET as ds-agent sends it; `path` starts after `/1.2/user/-`.
pub async fn get_data(sim: &Simulator, token: &str, path: &str) -> reqwest::Response {
    client()
        .get(format!("{}/1.2/user/-{path}", sim.base_url()))
        .bearer_auth(token)
        .header("accept", "application/json")
        .send()
        .await
        .expect("request completes")
}

/// A refresh as simple-oauth2 sends it: credentials in the Basic header and in the form.
pub async fn refresh(sim: &Simulator, refresh_token: &str) -> reqwest::Response {
    let config = SimConfig::default();
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
        ("client_id", config.fitbit_client_id.as_str()),
        ("client_secret", config.fitbit_client_secret.as_str()),
    ];
    client()
        .post(format!("{}/oauth2/token", sim.base_url()))
        .header("authorization", basic_auth())
        .form(&form)
        .send()
        .await
        .expect("request completes")
}

pub async fn introspect(sim: &Simulator, bearer: &str, token: &str) -> reqwest::Response {
    client()
        .post(format!("{}/1.1/oauth2/introspect", sim.base_url()))
        .bearer_auth(bearer)
        .form(&[("token", token)])
        .send()
        .await
        .expect("request completes")
}

pub async fn revoke(sim: &Simulator, token: &str) -> reqwest::Response {
    client()
        .post(format!("{}/oauth2/revoke", sim.base_url()))
        .header("authorization", basic_auth())
        .form(&[("token", token), ("token_type_hint", "access_token")])
        .send()
        .await
        .expect("request completes")
}

pub async fn json(response: reqwest::Response) -> Value {
    response.json().await.expect("a JSON body")
}

/// `(status, errorType, message)` of a Fitbit error answer.
pub async fn fitbit_error(response: reqwest::Response) -> (u16, String, String) {
    let status = response.status().as_u16();
    let body = json(response).await;
    assert_eq!(body["success"], false, "{body}");
    let error = &body["errors"][0];
    (status, error["errorType"].as_str().unwrap().to_string(), error["message"].as_str().unwrap().to_string())
}

pub fn jwt_part(token: &str, index: usize) -> Value {
    let part = token.split('.').nth(index).expect("a JWT part");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("JSON")
}
