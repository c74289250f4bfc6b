//! The manual sync of one child (docs/ARCHITECTURE.md#a-sync) against the simulator, read back from the real broker and
//! database. Children are on Google unless the test is about Fitbit's data: the original's shapes computed from the
//! simulator's Fitbit dataset.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{Datelike, Months, Utc};
use ds_agent::domain::ocariot::{js_number, LogType};
use ds_agent::domain::ChildId;
use ds_agent::provider::fitbit::transform;
use mongodb::bson::doc;
use provider_sim::{Fault, FaultKind, Route};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::bus_probe::{BusProbe, Received};
use crate::helpers::{spawn_app, unique_name, TestApp};

const SYNC_KEYS: [&str; 5] = ["physicalactivities.sync", "sleep.sync", "weights.sync", "logs.sync", "fitbit.lastsync"];

/// The messages about `child`, by routing key, until `count` arrived or `wait` passed.
pub async fn messages_for(
    probe: &mut BusProbe,
    child: ChildId,
    count: usize,
    wait: Duration,
) -> HashMap<String, Vec<Received>> {
    let mut by_key: HashMap<String, Vec<Received>> = HashMap::new();
    for _ in 0..count {
        let Some(message) = probe.next_for(&child.to_string(), wait).await else { break };
        by_key.entry(message.routing_key.clone()).or_default().push(message);
    }
    by_key
}

/// An OCARIoT object as the consumers receive it.
fn json(object: impl serde::Serialize) -> Value {
    serde_json::to_value(object).unwrap()
}

/// What the first sync must publish for the simulator's user: each list transformed as the original did
/// (docs/decisions.md#published-payloads).
fn expected_first_sync(user: &str, child: ChildId) -> (Vec<Value>, Vec<Value>, Vec<Value>, Vec<Value>) {
    let today = Utc::now().date_naive();
    let year = provider_sim::dataset(user, today.checked_sub_months(Months::new(12)).unwrap(), today);
    let months = provider_sim::dataset(user, today.checked_sub_months(Months::new(4)).unwrap(), today);
    let id = child.to_string();
    let activities = year.activities.iter().map(|a| json(transform::physical_activity(a, &id).unwrap())).collect();
    let sleep = year.sleep.iter().map(|s| json(transform::sleep(s, &id).unwrap())).collect();
    let weights = months.weight.iter().map(|w| json(transform::weight(w, &id).unwrap())).collect();
    let series = |name: &str| year.series[name].clone();
    let mut logs = Vec::new();
    for log_type in LogType::ALL {
        let entries = match log_type {
            LogType::Steps => series("steps"),
            LogType::Calories => series("calories"),
            LogType::ActiveMinutes => {
                transform::active_minutes(&series("minutesFairlyActive"), &series("minutesVeryActive")).0
            }
            LogType::LightlyActiveMinutes => series("minutesLightlyActive"),
            LogType::SedentaryMinutes => series("minutesSedentary"),
        };
        logs.extend(transform::daily_logs(&entries, log_type, &id).0.into_iter().map(json));
    }
    (activities, sleep, weights, logs)
}

/// The payloads of a kind's sync events (a sync publishes page by page), each checked byte for byte against its share
/// of the expected items, in order.
fn assert_payload(messages: &[Received], event_name: &str, key: &str, expected: &[Value]) {
    let mut at = 0;
    for message in messages {
        let raw = String::from_utf8(message.raw.clone()).unwrap();
        let prefix = format!(r#"{{"event_name":"{event_name}","timestamp":""#);
        assert!(raw.starts_with(&prefix), "{}", &raw[..80.min(raw.len())]);
        let count = message.body[key].as_array().unwrap().len();
        assert!(count > 0 && at + count <= expected.len(), "{event_name}: {count} more items after {at}");
        let suffix = format!(r#"Z","{key}":{}}}"#, serde_json::to_string(&expected[at..at + count]).unwrap());
        assert!(raw.ends_with(&suffix), "{event_name}: payload differs after item {at}");
        at += count;
    }
    assert_eq!(at, expected.len(), "{event_name}: every item, once");
}

async fn resource_count(app: &TestApp, child: ChildId, kind: &str) -> u64 {
    let filter = doc! {"user_id": child.to_string(), "type": kind};
    app.store.collection("resources").count_documents(filter).await.unwrap()
}

#[tokio::test]
async fn a_first_sync_publishes_the_simulators_data_in_the_original_shapes() {
    let app = spawn_app().await;
    let (child, _, user) = app.connect_fitbit_user("rwei ract rsle").await;
    let mut probe = BusProbe::bind(&SYNC_KEYS).await;
    let (activities, sleep, weights, logs) = expected_first_sync(&user, child);
    assert!(!activities.is_empty() && !sleep.is_empty() && !weights.is_empty(), "the simulator has data");

    let response = app.sync(child).await;
    assert_eq!(response.status(), StatusCode::OK);
    let days = logs.len() / 5;
    let body = response.text().await.unwrap();
    assert_eq!(
        body,
        json!({"activities": activities.len(), "sleep": sleep.len(), "weights": weights.len(),
               "logs": {"steps": days, "calories": days, "active_minutes": days,
                        "lightly_active_minutes": days, "sedentary_minutes": days}})
        .to_string()
    );

    let counts: Value = serde_json::from_str(&body).unwrap();
    let published = probe.published(&child.to_string(), &counts, Duration::from_secs(60)).await;
    let activity_messages = published.messages("physicalactivities.sync");
    assert!(activity_messages.len() > 1, "a year of activities goes out page by page");
    assert_payload(activity_messages, "PhysicalActivitySyncEvent", "physicalactivity", &activities);
    assert_payload(published.messages("sleep.sync"), "SleepSyncEvent", "sleep", &sleep);
    assert_payload(published.messages("weights.sync"), "WeightSyncEvent", "weight", &weights);
    // The log parts run concurrently: each type's entries are in order, the types interleave.
    let mut log_messages: Vec<&Received> = published.messages("logs.sync").iter().collect();
    let first_type = |m: &&Received| m.body["log"][0]["type"].as_str().unwrap().to_string();
    let order = ["steps", "calories", "active_minutes", "lightly_active_minutes", "sedentary_minutes"];
    log_messages.sort_by_key(|m| order.iter().position(|t| *t == first_type(m)));
    let log_messages: Vec<Received> = log_messages.into_iter().cloned().collect();
    assert_payload(&log_messages, "LogSyncEvent", "log", &logs);
    let last_sync = probe.next_for(&child.to_string(), Duration::from_secs(60)).await.expect("last sync");
    assert_eq!(last_sync.routing_key, "fitbit.lastsync");
    let last_sync = &last_sync.body["fitbit"];
    assert_eq!(last_sync["child_id"], child.to_string());
    assert_eq!(last_sync["last_sync"].as_str().unwrap().len(), "2020-09-08T19:09:23Z".len());

    // Independently of the transforms: one weight as the original spelled it (numbers printed as JavaScript does).
    let today = Utc::now().date_naive();
    let raw = &provider_sim::dataset(&user, today.checked_sub_months(Months::new(4)).unwrap(), today).weight[0];
    let mut weight = json!({"type": "weight", "timestamp": format!("{}T{}Z", raw["date"].as_str().unwrap(), raw["time"].as_str().unwrap()),
                            "value": js_number(raw["weight"].as_f64().unwrap()), "unit": "kg", "child_id": child.to_string()});
    if let Some(fat) = raw.get("fat") {
        weight["body_fat"] = js_number(fat.as_f64().unwrap());
    }
    assert_eq!(weights[0], weight);
    assert!(logs.iter().all(|log| log["value"].is_string()), "log values stay strings");

    assert_eq!(resource_count(&app, child, "activities").await, activities.len() as u64);
    assert_eq!(resource_count(&app, child, "sleep").await, sleep.len() as u64);
    assert_eq!(resource_count(&app, child, "body").await, weights.len() as u64);
    let stored = app.userauth_document(child).await.unwrap();
    assert_eq!(stored.get_document("fitbit").unwrap().get_str("last_sync").unwrap(), last_sync["last_sync"]);
}

#[tokio::test]
async fn a_second_sync_reads_the_recent_window_and_publishes_no_duplicates() {
    let app = spawn_app().await;
    let user = unique_name("G");
    let (child, _) = app.connect_google_user(&user, 8 * 3600).await;
    assert_eq!(app.sync(child).await.status(), StatusCode::OK);
    let first = app.sim.google_data_requests(&user).len();
    let mut probe = BusProbe::bind(&SYNC_KEYS).await;

    let response = app.sync(child).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        (body["activities"].as_u64(), body["sleep"].as_u64(), body["weights"].as_u64()),
        (Some(0), Some(0), Some(0))
    );
    // From last_sync minus 7 days to today: 8 days of each log type, less the days the tracker was not worn (Google
    // has no bucket for them).
    let today = Utc::now().date_naive();
    let days = 8 - provider_sim::unworn_days(&user, today - chrono::Duration::days(7), today).len();
    assert_eq!(
        body["logs"],
        json!({"steps": days, "calories": days, "active_minutes": days, "lightly_active_minutes": days,
               "sedentary_minutes": days})
    );

    // One read per data type: weight and body fat, sleep, exercise, and the four roll-ups, each from a week before
    // the last sync.
    let requests = app.sim.google_data_requests(&user);
    let second = &requests[first..];
    assert_eq!(second.len(), 8, "{second:?}");
    let week_ago = Utc::now().date_naive() - chrono::Duration::days(7);
    let filter_from = format!("%3E%3D+%22{week_ago}%22");
    let roll_up_from = json!({"date": {"year": week_ago.year(), "month": week_ago.month(), "day": week_ago.day()}});
    let roll_up_from = format!("{{\"range\":{{\"start\":{roll_up_from}");
    assert!(
        second.iter().all(|request| request.contains(&filter_from) || request.contains(&roll_up_from)),
        "{second:?}"
    );

    // One message per log part, then the last sync.
    let messages = messages_for(&mut probe, child, 5, Duration::from_secs(3)).await;
    let keys: Vec<&String> = messages.keys().collect();
    assert!(
        !messages.contains_key("physicalactivities.sync")
            && !messages.contains_key("sleep.sync")
            && !messages.contains_key("weights.sync"),
        "{keys:?}"
    );
    let log_messages = messages.get("logs.sync").map_or(&[][..], Vec::as_slice);
    let logs: usize = log_messages.iter().map(|m| m.body["log"].as_array().unwrap().len()).sum();
    let parts = if days > 0 { 4 } else { 0 };
    assert_eq!((log_messages.len(), logs), (parts, 5 * days));
    assert!(messages.contains_key("fitbit.lastsync"));
}

#[tokio::test]
async fn a_sync_without_tokens_or_with_a_bad_id_is_a_400() {
    let app = spawn_app().await;
    let response = app.client.post(app.url("/v1/users/123/fitbit/sync")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let child = ChildId::from(mongodb::bson::oid::ObjectId::new());
    let response = app.sync(child).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        response.text().await.unwrap(),
        r#"{"code":400,"message":"User does not have authentication data. Please, submit authentication data and try again."}"#
    );
}

#[tokio::test]
async fn a_rate_limited_sync_is_a_429_with_the_error_event() {
    let app = spawn_app().await;
    let (child, _) = app.connect_google_user(&unique_name("G"), 3600).await;
    let mut probe = BusProbe::bind(&["fitbit.auth.error"]).await;
    app.sim.set_google_rate_limit(0);
    let response = app.sync(child).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], 1429);
    let event = probe.next_for(&child.to_string(), Duration::from_secs(60)).await.expect("error event");
    assert_eq!(event.body["fitbit"]["error"], body);
    let stored = app.userauth_document(child).await.unwrap();
    assert!(stored.get_document("fitbit").unwrap().get("last_sync").is_none(), "nothing counts as synced");
}

#[tokio::test]
async fn a_revoked_token_is_1012_and_marks_the_child_invalid() {
    let app = spawn_app().await;
    let user = unique_name("G");
    let (child, _) = app.connect_google_user(&user, 3600).await;
    // Google refuses the access token on every read, and again after the one refresh it is worth.
    let refused =
        Fault { user: Some(user.clone()), route: Some(Route::GoogleData), kind: FaultKind::Status(401), times: 1000 };
    app.sim.add_fault(refused);
    let response = app.sync(child).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], 1012);
    let stored = app.userauth_document(child).await.unwrap();
    let fitbit = stored.get_document("fitbit").unwrap();
    assert_eq!(fitbit.get_str("status").unwrap(), "invalid_token");
    let access_token = fitbit.get_str("access_token").unwrap().to_string();
    // Sticky (docs/decisions.md#invalid-tokens-stay-invalid): the next sync fails with the original's texts without
    // calling the provider.
    let requests = app.sim.google_counts(&user).data;
    let response = app.sync(child).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["message"], format!("The access token is invalid: {}…", &access_token[..6]));
    assert_eq!(body["description"], "Please make a new Fitbit Auth data and try again.");
    assert_eq!(app.sim.google_counts(&user).data, requests);
}

#[tokio::test]
async fn one_failed_part_still_answers_200_with_that_part_at_zero() {
    let app = spawn_app().await;
    let user = unique_name("G");
    let (child, _) = app.connect_google_user(&user, 3600).await;
    app.sim.add_fault(Fault {
        user: Some(user.clone()),
        route: Some(Route::GoogleData),
        kind: FaultKind::Status(404),
        times: 1,
    });
    let response = app.sync(child).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let counts: Vec<u64> = ["activities", "sleep", "weights"]
        .iter()
        .map(|k| body[k].as_u64().unwrap())
        .chain(body["logs"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()))
        .collect();
    assert_eq!(counts.iter().filter(|c| **c == 0).count(), 1, "exactly one part failed: {body}");
    let stored = app.userauth_document(child).await.unwrap();
    assert!(stored.get_document("fitbit").unwrap().get_str("last_sync").is_ok(), "a partial sync is a sync");
}

#[tokio::test]
async fn a_second_concurrent_sync_of_the_same_child_gets_409() {
    let app = spawn_app().await;
    let (child, _) = app.connect_google_user(&unique_name("G"), 3600).await;
    app.sim.set_latency(Duration::from_millis(700));
    let (first, second) = tokio::join!(app.sync(child), async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        app.sync(child).await
    });
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(second.status(), StatusCode::CONFLICT);
    assert_eq!(
        second.text().await.unwrap(),
        r#"{"code":409,"message":"A synchronization of this child is already in progress.","description":"Please wait for it to finish and try again."}"#
    );
}

#[tokio::test]
async fn metrics_count_syncs_provider_calls_and_confirms() {
    let app = spawn_app().await;
    let (child, _) = app.connect_google_user(&unique_name("G"), 3600).await;
    assert_eq!(app.sync(child).await.status(), StatusCode::OK);
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/openmetrics-text; version=1.0.0"));
    let text = response.text().await.unwrap();
    for line in [
        "ds_agent_syncs_total{outcome=\"success\"}",
        "ds_agent_provider_requests_total{provider=\"google\",status=\"200\"}",
        "ds_agent_publish_confirms_total ",
        "ds_agent_job_queue_depth ",
    ] {
        assert!(text.contains(line), "{line} missing from\n{text}");
    }
}

#[tokio::test]
async fn a_dead_refresh_token_is_1021_and_the_tokens_are_removed() {
    let app = spawn_app().await;
    // Five minutes left: the sync must refresh first, and the consent was revoked at Google meanwhile.
    let (child, tokens) = app.connect_google_user(&unique_name("G"), 300).await;
    let revoke = app
        .client
        .post(format!("{}/revoke", app.sim.base_url()))
        .form(&[("token", tokens.refresh_token.as_str())])
        .send()
        .await
        .unwrap();
    assert!(revoke.status().is_success());
    let mut probe = BusProbe::bind(&["fitbit.auth.error"]).await;

    let response = app.sync(child).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], 1021);
    assert!(probe.next_for(&child.to_string(), Duration::from_secs(60)).await.is_some(), "1021 event");
    assert!(app.userauth_document(child).await.unwrap().get("fitbit").is_none(), "tokens removed");
}

#[tokio::test]
async fn rejected_client_credentials_are_1401() {
    let app = crate::helpers::spawn_app_with(&[("GOOGLE_CLIENT_SECRET", "wrong-secret")]).await;
    // Five minutes left: the sync must refresh first, with the wrong client secret.
    let (child, tokens) = app.connect_google_user(&unique_name("G"), 300).await;
    let response = app.sync(child).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], 1401);
    assert!(app.sim.is_google_refresh_token_valid(&tokens.refresh_token), "nothing spent");
}

#[tokio::test]
async fn a_provider_that_keeps_failing_is_1500_without_an_event_and_nothing_synced() {
    let app = spawn_app().await;
    let user = unique_name("G");
    let (child, _) = app.connect_google_user(&user, 3600).await;
    let mut probe = BusProbe::bind(&["fitbit.auth.error"]).await;
    let failing = FaultKind::Status(503);
    app.sim.add_fault(Fault { user: Some(user), route: Some(Route::GoogleData), kind: failing, times: 1000 });
    let response = app.sync(child).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        response.text().await.unwrap(),
        r#"{"code":1500,"message":"Could not connect with the Fitbit Server","description":"Please try again later."}"#
    );
    assert!(
        probe.next_for(&child.to_string(), Duration::from_secs(2)).await.is_none(),
        "client errors publish nothing"
    );
    let stored = app.userauth_document(child).await.unwrap();
    assert!(stored.get_document("fitbit").unwrap().get("last_sync").is_none());
}
