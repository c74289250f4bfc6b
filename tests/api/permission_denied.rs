//! Google answers 403 `PERMISSION_DENIED` for a data type whose permission the user took back: the platform is told
//! once (code 1500), the other kinds are published, the tokens stay, and that type is not asked for again until new
//! tokens come. Through the simulator, whose switch refuses a type to the user's consents so far.

use std::time::Duration;

use chrono::Utc;
use ds_agent::domain::ChildId;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::bus_probe::BusProbe;
use crate::helpers::{spawn_app, unique_name, TestApp};

const SYNC_KEYS: [&str; 4] = ["physicalactivities.sync", "sleep.sync", "weights.sync", "logs.sync"];

/// How many Health API reads of `data_type` the simulator got from `user`.
fn reads_of(app: &TestApp, user: &str, data_type: &str) -> usize {
    let path = format!("/dataTypes/{data_type}/");
    app.sim.google_data_requests(user).iter().filter(|request| request.contains(&path)).count()
}

async fn stored_fitbit(app: &TestApp, child: ChildId) -> mongodb::bson::Document {
    app.userauth_document(child).await.unwrap().get_document("fitbit").unwrap().clone()
}

#[tokio::test]
async fn a_refused_type_is_told_once_the_rest_syncs_and_it_is_not_asked_again_until_new_tokens() {
    let app = spawn_app().await;
    let user = unique_name("DENY");
    let (child, tokens) = app.connect_google_user(&user, 3600).await;
    assert_eq!(app.sim.set_google_permission_denied(&user, &["sleep"]), 1);
    let mut errors = BusProbe::bind(&["fitbit.auth.error"]).await;
    let mut synced = BusProbe::bind(&SYNC_KEYS).await;

    let response = app.sync(child).await;
    assert_eq!(response.status(), StatusCode::OK, "the other parts make the sync");
    let counts: Value = response.json().await.unwrap();
    assert_eq!(counts["sleep"], 0);
    assert!(counts["activities"].as_u64().unwrap() > 0 && counts["weights"].as_u64().unwrap() > 0, "{counts}");
    assert!(counts["logs"]["steps"].as_u64().unwrap() > 0, "{counts}");
    let published = synced.published(&child.to_string(), &counts, Duration::from_secs(60)).await;
    for (key, name) in [("physicalactivities.sync", "activities"), ("weights.sync", "weights")] {
        assert_eq!(published.of(key).len() as u64, counts[name].as_u64().unwrap(), "{key}");
    }
    assert!(published.of("sleep.sync").is_empty());

    let event = errors.next_for(&child.to_string(), Duration::from_secs(30)).await.expect("the refusal is told");
    assert_eq!(event.body["event_name"], "FitbitAuthErrorEvent");
    assert_eq!(
        event.body["fitbit"]["error"],
        json!({"code": 1500, "message": "Permission denied for sleep data.",
               "description": "The account no longer allows the application to read these data; the other data keep \
                               syncing. Please reconnect the account granting every permission and submit the new \
                               authentication data."})
    );
    let raw = String::from_utf8(event.raw.clone()).unwrap();
    assert!(!raw.contains(&tokens.access_token) && !raw.contains(&tokens.refresh_token), "no token in {raw}");
    let fitbit = stored_fitbit(&app, child).await;
    assert_eq!(fitbit.get_str("status").unwrap(), "valid_token", "the tokens stay");
    assert_eq!(fitbit.get_array("permission_denied").unwrap(), &vec![mongodb::bson::Bson::from("sleep")]);
    let sleep_reads = reads_of(&app, &user, "sleep");
    assert_eq!(sleep_reads, 1, "a refusal is not retried");

    // The next tick: everything but sleep is read again, sleep is not asked for, and nothing more is told.
    let (exercise_reads, step_reads) = (reads_of(&app, &user, "exercise"), reads_of(&app, &user, "steps"));
    let mut last_sync = BusProbe::bind(&["fitbit.lastsync"]).await;
    assert_eq!(app.state.jobs.tick(&app.state.userauths, Utc::now()).await.unwrap(), Some(1));
    last_sync.next_for(&child.to_string(), Duration::from_secs(60)).await.expect("the tick's sync finished");
    assert!(reads_of(&app, &user, "exercise") > exercise_reads && reads_of(&app, &user, "steps") > step_reads);
    assert_eq!(reads_of(&app, &user, "sleep"), sleep_reads, "the refused type is not called");
    assert!(errors.next_for(&child.to_string(), Duration::from_secs(2)).await.is_none(), "told once");

    // The family reconnects: new tokens, a new consent that grants sleep again, which the next sync reads.
    let fresh = app.sim.issue_google_tokens(&user, provider_sim::GOOGLE_HEALTH_SCOPES, 3600);
    let body = json!({"access_token": fresh.access_token, "refresh_token": fresh.refresh_token, "provider": "google"});
    let auth = app.client.post(app.url(&format!("/v1/users/{child}/fitbit/auth"))).json(&body).send().await.unwrap();
    assert_eq!(auth.status(), StatusCode::NO_CONTENT);
    assert!(stored_fitbit(&app, child).await.get("permission_denied").is_none(), "new tokens forget the refusal");
    let response = app.sync(child).await;
    assert_eq!(response.status(), StatusCode::OK);
    let counts: Value = response.json().await.unwrap();
    assert!(counts["sleep"].as_u64().unwrap() > 0, "{counts}");
    assert!(reads_of(&app, &user, "sleep") > sleep_reads);
    assert!(errors.next_for(&child.to_string(), Duration::from_secs(2)).await.is_none());
}

#[tokio::test]
async fn a_refused_log_type_leaves_the_resources_and_the_other_logs_alone() {
    let app = spawn_app().await;
    let user = unique_name("DENYLOG");
    let (child, _) = app.connect_google_user(&user, 3600).await;
    app.sim.set_google_permission_denied(&user, &["active-minutes"]);
    let mut errors = BusProbe::bind(&["fitbit.auth.error"]).await;

    let response = app.sync(child).await;
    assert_eq!(response.status(), StatusCode::OK);
    let counts: Value = response.json().await.unwrap();
    assert_eq!(
        (counts["logs"]["active_minutes"].as_u64(), counts["logs"]["lightly_active_minutes"].as_u64()),
        (Some(0), Some(0))
    );
    assert!(counts["logs"]["steps"].as_u64().unwrap() > 0 && counts["sleep"].as_u64().unwrap() > 0, "{counts}");
    let event = errors.next_for(&child.to_string(), Duration::from_secs(30)).await.expect("told");
    assert_eq!(
        event.body["fitbit"]["error"]["message"],
        "Permission denied for active_minutes, lightly_active_minutes data."
    );
    let refused = stored_fitbit(&app, child).await.get_array("permission_denied").unwrap().clone();
    assert_eq!(
        refused,
        vec![mongodb::bson::Bson::from("active_minutes"), mongodb::bson::Bson::from("lightly_active_minutes")]
    );

    let reads = reads_of(&app, &user, "active-minutes");
    assert_eq!(app.sync(child).await.status(), StatusCode::OK);
    assert_eq!(reads_of(&app, &user, "active-minutes"), reads);
    assert!(errors.next_for(&child.to_string(), Duration::from_secs(2)).await.is_none());
}
