//! Requests to the Google Health API as ds-agent sends them, and readers of its answers.

use chrono::{Datelike, NaiveDate};
use provider_sim::Simulator;
use serde_json::{json, Value};

use super::{client, json};

/// A Google Health read scope.
pub fn scope(area: &str) -> String {
    format!("https://www.googleapis.com/auth/googlehealth.{area}.readonly")
}

pub async fn health_get(sim: &Simulator, token: &str, path: &str, query: &[(&str, &str)]) -> reqwest::Response {
    client().get(format!("{}/v4/users/me/{path}", sim.base_url())).bearer_auth(token).query(query).send().await.unwrap()
}

pub async fn list(sim: &Simulator, token: &str, data_type: &str, query: &[(&str, &str)]) -> reqwest::Response {
    health_get(sim, token, &format!("dataTypes/{data_type}/dataPoints"), query).await
}

pub fn civil_date(day: NaiveDate) -> Value {
    json!({"date": {"year": day.year(), "month": day.month(), "day": day.day()}})
}

pub async fn daily_roll_up(
    sim: &Simulator,
    token: &str,
    data_type: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> reqwest::Response {
    client()
        .post(format!("{}/v4/users/me/dataTypes/{data_type}/dataPoints:dailyRollUp", sim.base_url()))
        .bearer_auth(token)
        .json(&json!({"range": {"start": civil_date(from), "end": civil_date(to)}, "windowSizeDays": 1}))
        .send()
        .await
        .unwrap()
}

/// `(code, status, first ErrorInfo reason)` of a `google.rpc.Status` answer.
pub async fn status(response: reqwest::Response) -> (u16, String, String) {
    let code = response.status().as_u16();
    let body = json(response).await;
    let error = &body["error"];
    assert_eq!(error["code"], code, "{body}");
    assert!(error["message"].is_string(), "{body}");
    let reason = error["details"][0]["reason"].as_str().unwrap_or_default().to_string();
    (code, error["status"].as_str().unwrap().to_string(), reason)
}

/// Every point of a list, following `nextPageToken`; also the number of pages.
pub async fn walk(sim: &Simulator, token: &str, data_type: &str, query: &[(&str, &str)]) -> (Vec<Value>, usize) {
    let (mut points, mut pages, mut page_token) = (Vec::new(), 0, String::new());
    loop {
        let mut query = query.to_vec();
        if !page_token.is_empty() {
            query.push(("pageToken", &page_token));
        }
        let response = list(sim, token, data_type, &query).await;
        assert_eq!(response.status(), 200);
        let body = json(response).await;
        pages += 1;
        points.extend(body["dataPoints"].as_array().into_iter().flatten().cloned());
        match body["nextPageToken"].as_str().filter(|t| !t.is_empty()) {
            Some(next) => page_token = next.to_string(),
            None => return (points, pages),
        }
    }
}

pub fn id_of(point: &Value) -> &str {
    point["name"].as_str().unwrap().rsplit('/').next().unwrap()
}

pub fn between(field: &str, from: NaiveDate, to: NaiveDate) -> String {
    format!("{field} >= \"{from}\" AND {field} < \"{to}\"")
}

pub async fn reconcile(sim: &Simulator, token: &str, data_type: &str, query: &[(&str, &str)]) -> reqwest::Response {
    health_get(sim, token, &format!("dataTypes/{data_type}/dataPoints:reconcile"), query).await
}
