//! Google's per-project quota: every instance takes its Health API calls from one budget shared through Redis, a 429
//! that names the project pauses every child, and one that names a user pauses that child only. The simulator plays
//! Google's quotas (a per-project and a per-user token bucket, each answering 429 with its `QuotaFailure`).

use std::time::Duration;

use chrono::Utc;
use ds_agent::domain::ChildId;
use mongodb::bson::doc;
use reqwest::StatusCode;

use crate::helpers::{eventually, spawn_app_with, unique_name, TestApp};

/// A Google child whose last sync was an hour ago: its next sync is incremental (about 8 requests).
async fn synced_an_hour_ago(app: &TestApp) -> (ChildId, String, String) {
    let user = unique_name("QUOTA");
    let (child, _) = app.connect_google_user(&user, 3600).await;
    let last_sync = (Utc::now() - chrono::Duration::hours(1)).format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let update = doc! {"$set": {"fitbit.last_sync": &last_sync}};
    app.store.collection("userauths").update_one(doc! {"user_id": child.object_id()}, update).await.unwrap();
    (child, last_sync, user)
}

async fn last_sync(app: &TestApp, child: ChildId) -> Option<String> {
    let document = app.userauth_document(child).await?;
    document.get_document("fitbit").ok()?.get_str("last_sync").ok().map(str::to_string)
}

/// The Redis key of the project's pause, as every instance of this app reads it.
fn pause_key(app: &TestApp) -> String {
    let client = app.state.settings.google.client_id.clone().unwrap_or_default();
    format!("ds-agent:{}:google-project:{client}:pause", app.store.database().name())
}

async fn paused(app: &TestApp) -> bool {
    let mut redis =
        redis::Client::open("redis://127.0.0.1:6379").unwrap().get_multiplexed_async_connection().await.unwrap();
    redis::cmd("EXISTS").arg(pause_key(app)).query_async::<bool>(&mut redis).await.unwrap()
}

#[tokio::test]
async fn two_instances_share_the_project_budget_and_google_never_refuses_the_project() {
    // Google allows the project 5 requests a second; both instances together stay at 4.
    let first = spawn_app_with(&[("GOOGLE_PROJECT_REQUESTS_PER_MINUTE", "240")]).await;
    first.sim.set_google_project_requests_per_second(Some(5.0));
    let second = first.spawn_peer(&[]).await;
    let mut children = Vec::new();
    for _ in 0..6 {
        children.push(synced_an_hour_ago(&first).await);
    }
    let enqueued = first.state.jobs.tick(&first.state.userauths, Utc::now()).await.unwrap();
    assert_eq!(enqueued, Some(6));
    let all_synced = eventually(Duration::from_secs(180), || async {
        for (child, before, _) in &children {
            if last_sync(&first, *child).await.as_ref() == Some(before) {
                return false;
            }
        }
        true
    })
    .await;
    assert!(all_synced, "every child of the tick synced");
    let requests: usize = children.iter().map(|(_, _, user)| first.sim.google_data_requests(user).len()).sum();
    assert!(requests >= 6 * 6, "the syncs read Google ({requests} requests)");
    assert_eq!(first.sim.google_project_limited(), 0, "no 429 for the project's quota");
    drop(second);
}

#[tokio::test]
async fn a_429_for_the_project_pauses_every_child_and_one_for_a_user_only_that_child() {
    // No budget of our own to speak of: Google's project quota (2 a second) is what refuses.
    let app = spawn_app_with(&[]).await;
    app.sim.set_google_project_requests_per_second(Some(2.0));
    let (a, _, _) = synced_an_hour_ago(&app).await;
    let (b, _, _) = synced_an_hour_ago(&app).await;
    let (sync_a, sync_b) = (app.sync(a), app.sync(b));
    let watch = eventually(Duration::from_secs(60), || paused(&app));
    let (answer_a, answer_b, seen) = tokio::join!(sync_a, sync_b, watch);
    assert!(app.sim.google_project_limited() > 0, "Google refused the project");
    assert!(seen, "the refusal paused every child, through Redis");
    assert_eq!(answer_a.status(), StatusCode::OK, "the pauses were waited out");
    assert_eq!(answer_b.status(), StatusCode::OK);

    // A user's quota (2 a second each): that child waits, the project is not paused.
    let other = spawn_app_with(&[]).await;
    other.sim.set_google_requests_per_second(Some(2.0));
    let (c, _, user_c) = synced_an_hour_ago(&other).await;
    let sync_c = other.sync(c);
    let watch = async {
        let mut paused_seen = false;
        for _ in 0..50 {
            paused_seen |= paused(&other).await;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        paused_seen
    };
    let (answer_c, paused_seen) = tokio::join!(sync_c, watch);
    assert_eq!(answer_c.status(), StatusCode::OK);
    assert!(other.sim.google_counts(&user_c).rate_limited > 0, "Google refused the user");
    assert!(!paused_seen, "a user's 429 does not pause the project");
    assert_eq!(other.sim.google_project_limited(), 0);
}
