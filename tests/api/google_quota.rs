//! Google's quotas and the service's bounds: every instance takes its Health API calls from one budget shared through
//! Redis, a 429 that names the project pauses every child, and one that names a user pauses that child only; a read
//! waiting for its child's turn holds none of the instance's pages in flight. The simulator plays
//! Google's quotas (a per-project and a per-user token bucket, each answering 429 with its `QuotaFailure`).

use std::cell::Cell;
use std::time::Duration;

use chrono::Utc;
use ds_agent::config::{BaseUrl, ClientCredentials};
use ds_agent::domain::ChildId;
use ds_agent::provider::google::{GoogleClient, PacedRead};
use ds_agent::provider::page::PageBudget;
use futures::StreamExt;
use mongodb::bson::doc;
use provider_sim::{SimConfig, Simulator, GOOGLE_HEALTH_SCOPES};
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

#[tokio::test]
async fn a_read_waiting_for_its_childs_turn_holds_no_page() {
    let sim = Simulator::start(SimConfig::default(), "127.0.0.1:0").await.expect("simulator");
    let (slow_user, fast_user) = (unique_name("SLOW"), unique_name("FAST"));
    let slow_token = sim.issue_google_tokens(&slow_user, GOOGLE_HEALTH_SCOPES, 3600).access_token;
    let fast_token = sim.issue_google_tokens(&fast_user, GOOGLE_HEALTH_SCOPES, 3600).access_token;
    // One request every 20 s per child, and one page in flight for every read together.
    let base = BaseUrl::parse("GOOGLE_HEALTH_API_URL", &sim.base_url()).expect("the simulator's URL");
    let client = GoogleClient::new(
        base.clone(),
        base,
        ClientCredentials { client_id: None, client_secret: None },
        Duration::from_secs(10),
        0.05,
    );
    let budget = PageBudget::new(1);
    let (slow_slot, fast_slot) = (budget.slot(), budget.slot());
    let slow = PacedRead { child: "slow", slot: &slow_slot };
    let fast = PacedRead { child: "fast", slot: &fast_slot };
    let from = Utc::now().date_naive() - chrono::Duration::days(7);

    // The slow child's only turn, and its page done with.
    let first = client.reconcile(&slow_token, slow, "exercise", from, None).boxed().next().await;
    assert!(matches!(first, Some(Ok(_))), "the first read went out at once");
    slow_slot.empty();
    // Its next read waits about 20 s for its turn, while the other child's read takes the one place and goes out.
    let mut waiting = client.reconcile(&slow_token, slow, "exercise", from, None).boxed();
    let mut going = client.reconcile(&fast_token, fast, "exercise", from, None).boxed();
    let raced = tokio::time::timeout(Duration::from_secs(15), async {
        tokio::select! {
            _ = waiting.next() => panic!("the slow child's read went out before its turn"),
            page = going.next() => page,
        }
    })
    .await;
    let page = raced.expect("the other child's read did not wait for the slow child's turn");
    assert!(matches!(page, Some(Ok(_))), "the other child's page came");
    assert_eq!(sim.google_data_requests(&slow_user).len(), 1, "the slow child waited for its turn");
}

#[tokio::test]
async fn many_syncs_run_together_and_all_finish_on_a_budget_of_one_page() {
    // One page in flight for the whole instance: the syncs still run together, and none waits for ever (a weight range
    // and its body fat are read under one place, never waiting for a second while holding the first).
    let app = spawn_app_with(&[("SYNC_PAGES_IN_FLIGHT", "1")]).await;
    let mut children = Vec::new();
    for _ in 0..4 {
        children.push(synced_an_hour_ago(&app).await);
    }
    let enqueued = app.state.jobs.tick(&app.state.userauths, Utc::now()).await.unwrap();
    assert_eq!(enqueued, Some(4));
    let most_at_once = Cell::new(0);
    let all_synced = eventually(Duration::from_secs(180), || async {
        let mut running = 0;
        let mut done = true;
        for (child, before, _) in &children {
            running += usize::from(app.state.sync.is_running(*child).await.unwrap_or(false));
            done &= last_sync(&app, *child).await.as_ref() != Some(before);
        }
        most_at_once.set(most_at_once.get().max(running));
        done
    })
    .await;
    assert!(all_synced, "every child of the tick synced");
    assert_eq!(most_at_once.get(), 4, "the four syncs ran together on one page in flight");
}
