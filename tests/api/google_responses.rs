//! Google Health answers as they really come (proto3 JSON leaves zeros out, nights are still processed,
//! several sources overlap, unverified apps are paced), and the legacy path's early token expiry. Everything goes
//! through the simulator in its default, realistic mode, over HTTP.

use std::time::Duration;

use chrono::{Months, NaiveDate, Utc};
use ds_agent::domain::ChildId;
use mongodb::bson::doc;
use provider_sim::{Fault, FaultKind, Route};
use reqwest::StatusCode;
use serde_json::Value;

use crate::bus_probe::BusProbe;
use crate::helpers::{metric, spawn_app, spawn_app_with, unique_name, TestApp};

const SYNC_KEYS: [&str; 4] = ["physicalactivities.sync", "sleep.sync", "weights.sync", "logs.sync"];

fn year_ago() -> NaiveDate {
    Utc::now().date_naive().checked_sub_months(Months::new(12)).unwrap()
}

async fn sync_ok(app: &TestApp, child: ChildId) -> Value {
    let response = app.sync(child).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

#[tokio::test]
async fn a_worn_day_without_steps_is_a_zero_log_and_a_day_without_wear_has_none() {
    let app = spawn_app().await;
    let user = unique_name("ZERO");
    let today = Utc::now().date_naive();
    let still = provider_sim::still_days(&user, year_ago(), today);
    let unworn = provider_sim::unworn_days(&user, year_ago(), today);
    assert!(!still.is_empty() && !unworn.is_empty(), "the simulator's year has both kinds of day");
    let mut probe = BusProbe::bind(&SYNC_KEYS).await;
    let (child, _) = app.connect_google_user(&user, 3600).await;

    let body = sync_ok(&app, child).await;
    let logs = probe.published(&child.to_string(), &body, Duration::from_secs(60)).await.of("logs.sync");
    let value = |log_type: &str, day: NaiveDate| {
        logs.iter()
            .find(|log| log["type"] == log_type && log["date"] == day.to_string())
            .map(|log| log["value"].as_str().unwrap().to_string())
    };
    for day in &still {
        // The simulator left the zero sums out of these buckets, as Google does.
        assert_eq!(value("steps", *day).as_deref(), Some("0"), "steps on {day}");
        assert_eq!(value("active_minutes", *day).as_deref(), Some("0"), "active minutes on {day}");
        assert_eq!(value("lightly_active_minutes", *day).as_deref(), Some("0"), "lightly active minutes on {day}");
    }
    for day in &unworn {
        assert_eq!(value("steps", *day), None, "no log for {day}: the tracker was not worn");
    }
    assert_eq!(body["logs"]["steps"].as_u64().unwrap() as usize, logs.iter().filter(|l| l["type"] == "steps").count());
}

#[tokio::test]
async fn a_night_still_being_processed_waits_for_a_later_sync_and_goes_out_once() {
    let app = spawn_app().await;
    let user = unique_name("NIGHT");
    let mut probe = BusProbe::bind(&["sleep.sync"]).await;
    let (child, _) = app.connect_google_user(&user, 3600).await;
    let held_back = r#"ds_agent_sync_items_skipped_total{provider="google",kind="sleep",reason="unfinished"}"#;
    let before = metric(&app, held_back).await;

    app.sim.set_google_sleep_processing_until(Some(Utc::now().timestamp() + 3600));
    let first = sync_ok(&app, child).await;
    let nights = probe.published(&child.to_string(), &first, Duration::from_secs(60)).await.of("sleep.sync");
    assert_eq!(first["sleep"].as_u64().unwrap() as usize, nights.len());
    assert!(metric(&app, held_back).await > before, "the held-back night is counted");
    let newest_published = nights.iter().map(|n| n["start_time"].as_str().unwrap().to_string()).max().unwrap();

    // Still processing at the next sync: still nothing.
    assert_eq!(sync_ok(&app, child).await["sleep"], 0);
    // Final now: the next sync (its window reaches back a week) publishes it, once.
    app.sim.set_google_sleep_processing_until(None);
    let third = sync_ok(&app, child).await;
    assert_eq!(third["sleep"], 1);
    let late = probe.published(&child.to_string(), &third, Duration::from_secs(60)).await.of("sleep.sync");
    assert_eq!(late.len(), 1);
    assert!(late[0]["start_time"].as_str().unwrap() > newest_published.as_str(), "the newest night came late");
    assert_eq!(sync_ok(&app, child).await["sleep"], 0, "and only once");
}

#[tokio::test]
async fn a_walk_recorded_by_tracker_and_phone_is_published_once_even_under_new_ids() {
    let app = spawn_app().await;
    let user = unique_name("TWO");
    let today = Utc::now().date_naive();
    let phone_days = provider_sim::phone_exercise_days(&user, year_ago(), today);
    assert!(!phone_days.is_empty(), "the simulator's phone recorded some walks");
    let tracker = provider_sim::dataset(&user, year_ago(), today).activities.len();
    let mut probe = BusProbe::bind(&["physicalactivities.sync"]).await;
    let (child, _) = app.connect_google_user(&user, 3600).await;

    let first = sync_ok(&app, child).await;
    assert_eq!(first["activities"].as_u64().unwrap() as usize, tracker, "one activity per real activity");
    let activities =
        probe.published(&child.to_string(), &first, Duration::from_secs(60)).await.of("physicalactivities.sync");
    assert_eq!(activities.len(), tracker);
    for day in &phone_days {
        let mut starts: Vec<chrono::NaiveDateTime> = activities
            .iter()
            .filter_map(|a| a["start_time"].as_str())
            .filter(|start| start.starts_with(&day.to_string()))
            .map(|start| chrono::NaiveDateTime::parse_from_str(start, "%Y-%m-%dT%H:%M:%SZ").unwrap())
            .collect();
        assert!(!starts.is_empty(), "the tracker's walk on {day} is there");
        starts.sort();
        // The phone's copy starts a minute after the tracker's: it must not be there.
        assert!(starts.windows(2).all(|w| (w[1] - w[0]).num_seconds() > 120), "{day}: {starts:?}");
    }

    // Google does not promise that a reconciled point keeps its name: with new names every call, the natural key
    // (child + start time) still recognises what was published.
    app.sim.set_google_unstable_reconcile_names(true);
    let second = sync_ok(&app, child).await;
    assert_eq!(second["activities"], 0, "{second}");
    assert_eq!(second["sleep"], 0, "{second}");
    assert_eq!(second["weights"], 0, "{second}");
    assert!(probe.next_for(&child.to_string(), Duration::from_secs(2)).await.is_none(), "nothing published again");
}

#[tokio::test]
async fn an_app_paced_at_two_and_a_half_requests_a_second_completes_a_first_sync_without_1429() {
    let app = spawn_app_with(&[("GOOGLE_REQUESTS_PER_SECOND", "2")]).await;
    let user = unique_name("PACE");
    app.sim.set_google_requests_per_second(Some(2.5));
    let (child, _) = app.connect_google_user(&user, 3600).await;

    let response = app.client.post(app.url(&format!("/v1/users/{child}/fitbit/sync"))).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{:?}", response.text().await);
    // Unpaced, the parts would send their ~95 requests at once and most would be refused beyond the 3 tries; a
    // stray 429 on a busy machine is waited out.
    let counts = app.sim.google_counts(&user);
    assert!(counts.data > 50, "a first sync is many requests ({})", counts.data);
    assert!(counts.rate_limited * 10 < counts.data, "{} of {} refused", counts.rate_limited, counts.data);
}

#[tokio::test]
async fn a_429_without_retry_after_is_waited_out_before_it_becomes_1429() {
    let app = spawn_app().await;
    let user = unique_name("BUSY");
    let (child, _) = app.connect_google_user(&user, 3600).await;
    let fault =
        Fault { user: Some(user.clone()), route: Some(Route::GoogleData), kind: FaultKind::Status(429), times: 2 };
    app.sim.add_fault(fault);

    let body = sync_ok(&app, child).await;
    // A part that failed would count 0.
    for count in ["/activities", "/sleep", "/weights", "/logs/steps", "/logs/calories", "/logs/active_minutes"] {
        assert!(body.pointer(count).unwrap().as_u64().unwrap() > 0, "{count}: {body}");
    }
}

/// A Fitbit child whose stored expiry says "8 hours left" but whose access token Fitbit already expired.
async fn fitbit_child_with_an_early_expiry(app: &TestApp) -> (ChildId, String, provider_sim::TokenPair) {
    let (child, _, user) = app.connect_fitbit_user("rwei ract rsle").await;
    let expired = app.sim.issue_fitbit_tokens(&user, "rwei ract rsle", -60);
    let set =
        doc! {"$set": {"fitbit.access_token": &expired.access_token, "fitbit.refresh_token": &expired.refresh_token}};
    app.store.collection("userauths").update_one(doc! {"user_id": child.object_id()}, set).await.unwrap();
    (child, user, expired)
}

#[tokio::test]
async fn fitbit_refreshes_once_when_it_expires_a_token_early() {
    let app = spawn_app().await;
    let (child, user, expired) = fitbit_child_with_an_early_expiry(&app).await;

    let body = sync_ok(&app, child).await;
    assert!(body["activities"].as_u64().unwrap() > 0 && body["logs"]["steps"].as_u64().unwrap() > 0, "{body}");
    assert_eq!(app.sim.counts(&user).refresh, 1, "exactly one refresh");
    let stored = app.userauth_document(child).await.unwrap();
    let stored = stored.get_document("fitbit").unwrap();
    assert_ne!(stored.get_str("access_token").unwrap(), expired.access_token);
    assert_eq!(stored.get_str("status").unwrap(), "valid_token");
}

#[tokio::test]
async fn fitbit_early_expiry_with_a_spent_refresh_token_is_1021_and_disconnects() {
    let app = spawn_app().await;
    let (child, user, expired) = fitbit_child_with_an_early_expiry(&app).await;
    let mut probe = BusProbe::bind(&["fitbit.auth.error"]).await;
    // Someone else spends the refresh token.
    let spent = reqwest::Client::new()
        .post(format!("{}/oauth2/token", app.sim.base_url()))
        .basic_auth("1A2B3C", Some("f1tb1ts3cr3t"))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", expired.refresh_token.as_str())])
        .send()
        .await
        .unwrap();
    assert!(spent.status().is_success());

    let response = app.sync(child).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], 1021, "{body}");
    let event = probe.next_for(&child.to_string(), Duration::from_secs(60)).await.expect("1021 event");
    assert_eq!(event.body["fitbit"]["error"]["code"], 1021);
    assert_eq!(app.get(&format!("/v1/users/{child}/fitbit/auth")).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.sim.counts(&user).refresh, 2, "ours was the only one after the other party's");
}

#[tokio::test]
async fn every_item_left_out_is_counted_by_provider_kind_and_reason() {
    let app = spawn_app().await;
    let user = unique_name("DEFECT");
    app.sim.set_google_defects(&user, true);
    let (child, _) = app.connect_google_user(&user, 3600).await;
    let reasons =
        [("activities", "missing_field"), ("sleep", "malformed"), ("weights", "no_id"), ("steps", "malformed")];
    let line = |kind: &str, reason: &str| {
        format!(r#"ds_agent_sync_items_skipped_total{{provider="google",kind="{kind}",reason="{reason}"}}"#)
    };
    let mut before = Vec::new();
    for (kind, reason) in reasons {
        before.push(metric(&app, &line(kind, reason)).await);
    }

    let body = sync_ok(&app, child).await;
    let today = Utc::now().date_naive();
    let year = provider_sim::dataset(&user, year_ago(), today);
    assert_eq!(body["activities"].as_u64().unwrap() as usize, year.activities.len() - 1, "one exercise left out");
    for ((kind, reason), before) in reasons.into_iter().zip(before) {
        assert!(metric(&app, &line(kind, reason)).await > before, "{kind} {reason} counted");
    }
    // What was left out is not recorded: fixed, it would go out with a later sync.
    let resources = app.store.collection("resources");
    let recorded = resources.count_documents(doc! {"user_id": child.to_string(), "type": "activities"}).await.unwrap();
    assert_eq!(recorded as usize, year.activities.len() - 1);
}
