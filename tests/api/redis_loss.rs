//! Redis lost with everything in it (killed and started again empty, as a container without a volume comes back):
//! the service notices without a restart, rebuilds the job queue from MongoDB, and loses nothing it accepted. Each
//! test runs its own `redis-server`, so the Redis every other test uses is never touched.

use std::collections::HashMap;
use std::time::Duration;

use chrono::Utc;
use ds_agent::domain::ChildId;
use reqwest::StatusCode;
use serde_json::Value;

use crate::bus_probe::BusProbe;
use crate::helpers::{eventually, metric, spawn_app_with, unique_name};
use crate::notifications::{notification, notification_app, post_signed, synced_google_child};
use crate::own_redis::OwnRedis;

const RECOVERED: &str = "ds_agent_redis_state_recovered_total ";

/// Every item a message carried, as its JSON text, with how often it was seen.
fn count_items(counts: &mut HashMap<String, usize>, message: &Value) {
    for items in message.as_object().into_iter().flat_map(|o| o.values()).filter_map(Value::as_array) {
        for item in items {
            *counts.entry(item.to_string()).or_default() += 1;
        }
    }
}

#[tokio::test]
async fn a_notification_accepted_before_redis_lost_its_data_is_published_once_and_later_ones_too() {
    let mut redis = OwnRedis::start().await;
    let uri = redis.uri();
    let app = notification_app(&[("REDIS_URI", &uri), ("GOOGLE_NOTIFICATION_COALESCE_SECS", "10")]).await;
    let user = unique_name("LOST");
    let child = synced_google_child(&app, &user).await;
    // Google names the user by the Health user id it gave at connection, kept as `fitbit.user_id`.
    let stored = app.userauth_document(child).await.unwrap();
    let health_user = stored.get_document("fitbit").unwrap().get_str("user_id").unwrap().to_string();
    let mut probe = BusProbe::bind(&["physicalactivities.sync"]).await;
    let recovered_before = metric(&app, RECOVERED).await;

    app.sim.add_google_exercise(&user, Utc::now() - chrono::Duration::hours(2), 30, 2400);
    let accepted = post_signed(&app, &notification(&health_user, "exercise", Utc::now(), "UPSERT")).await;
    assert_eq!(accepted.status(), StatusCode::NO_CONTENT, "{:?}", accepted.text().await);
    // Inside the 10 s window: the notification exists only in Redis and in the journal.
    redis.restart_empty(Duration::from_secs(1)).await;

    let published = probe.next_for(&child.to_string(), Duration::from_secs(120)).await.expect("the first walk");
    let walks = published.body["physicalactivity"].as_array().unwrap();
    assert_eq!(walks.len(), 1, "{walks:?}");
    assert_eq!(walks[0]["steps"], 2400);
    assert!(metric(&app, RECOVERED).await > recovered_before, "the rebuild is counted");

    // Notified after the restart: the queue works again without a restart of the service.
    app.sim.add_google_exercise(&user, Utc::now() - chrono::Duration::hours(1), 20, 1700);
    let accepted = post_signed(&app, &notification(&health_user, "exercise", Utc::now(), "UPSERT")).await;
    assert_eq!(accepted.status(), StatusCode::NO_CONTENT);
    let published = probe.next_for(&child.to_string(), Duration::from_secs(120)).await.expect("the second walk");
    let walks = published.body["physicalactivity"].as_array().unwrap();
    assert_eq!(walks.len(), 1, "only the new walk: {walks:?}");
    assert_eq!(walks[0]["steps"], 1700);
    assert!(probe.next_for(&child.to_string(), Duration::from_secs(15)).await.is_none(), "each walk went out once");

    let settled = eventually(Duration::from_secs(30), || async {
        app.store.collection("notifications").count_documents(mongodb::bson::doc! {}).await.unwrap() == 0
    })
    .await;
    assert!(settled, "the journal is empty once the syncs ended");
}

#[tokio::test]
async fn the_jobs_of_a_tick_lost_with_redis_still_sync_every_child_once() {
    let mut redis = OwnRedis::start().await;
    let uri = redis.uri();
    // One sync at a time, each paced over a few seconds: most of the tick's jobs still wait when Redis goes.
    let app =
        spawn_app_with(&[("REDIS_URI", &uri), ("SYNC_CONCURRENCY", "1"), ("GOOGLE_REQUESTS_PER_SECOND", "25")]).await;
    let mut children: Vec<ChildId> = Vec::new();
    for _ in 0..4 {
        children.push(app.connect_google_user(&unique_name("TICK"), 3600).await.0);
    }
    let mut probe = BusProbe::bind(&["fitbit.lastsync", "physicalactivities.sync", "sleep.sync", "weights.sync"]).await;

    let enqueued = app.state.jobs.tick(&app.state.userauths, Utc::now()).await.unwrap();
    assert_eq!(enqueued, Some(4));
    let recovered_before = metric(&app, RECOVERED).await;
    redis.restart_empty(Duration::from_millis(500)).await;
    assert!(eventually(Duration::from_secs(60), || async { metric(&app, RECOVERED).await > recovered_before }).await);

    let mut last_syncs: HashMap<String, usize> = HashMap::new();
    let mut items: HashMap<String, usize> = HashMap::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(240);
    while last_syncs.len() < children.len() && tokio::time::Instant::now() < deadline {
        let Some(message) = probe.next(Duration::from_secs(5)).await else { continue };
        if message.routing_key == "fitbit.lastsync" {
            let child = message.body["fitbit"]["child_id"].as_str().unwrap_or_default().to_string();
            *last_syncs.entry(child).or_default() += 1;
        } else {
            count_items(&mut items, &message.body);
        }
    }
    // Anything a second sync would still send comes now.
    while let Some(message) = probe.next(Duration::from_secs(5)).await {
        if message.routing_key == "fitbit.lastsync" {
            let child = message.body["fitbit"]["child_id"].as_str().unwrap_or_default().to_string();
            *last_syncs.entry(child).or_default() += 1;
        } else {
            count_items(&mut items, &message.body);
        }
    }
    for child in &children {
        assert_eq!(last_syncs.get(&child.to_string()), Some(&1), "child {child} synced once: {last_syncs:?}");
    }
    let twice: Vec<&String> = items.iter().filter(|(_, n)| **n > 1).map(|(item, _)| item).collect();
    assert!(twice.is_empty(), "published twice: {twice:?}");
    assert!(!items.is_empty());
}

#[tokio::test]
async fn a_sync_running_when_redis_lost_its_data_stops_safely_and_the_next_sends_nothing_twice() {
    let mut redis = OwnRedis::start().await;
    let uri = redis.uri();
    // A paced first sync of a year: long enough to lose Redis in the middle of it.
    let app = spawn_app_with(&[("REDIS_URI", &uri), ("GOOGLE_REQUESTS_PER_SECOND", "8")]).await;
    let (child, _) = app.connect_google_user(&unique_name("MIDWAY"), 3600).await;
    // Resources only: logs are sent again by every sync on purpose (the consumers upsert them by day).
    let mut probe = BusProbe::bind(&["physicalactivities.sync", "sleep.sync", "weights.sync"]).await;

    let sync = tokio::spawn({
        let (client, url) = (app.client.clone(), app.url(&format!("/v1/users/{child}/fitbit/sync")));
        async move { client.post(url).send().await.unwrap() }
    });
    let mut items: HashMap<String, usize> = HashMap::new();
    let first = probe.next_for(&child.to_string(), Duration::from_secs(120)).await.expect("a first page");
    count_items(&mut items, &first.body);
    redis.restart_empty(Duration::from_millis(500)).await;

    let answer = sync.await.unwrap();
    let status = answer.status();
    assert!(status == StatusCode::OK || status == StatusCode::SERVICE_UNAVAILABLE, "{status}");
    while let Some(message) = probe.next_for(&child.to_string(), Duration::from_secs(3)).await {
        count_items(&mut items, &message.body);
    }
    let again = app.sync(child).await;
    assert_eq!(again.status(), StatusCode::OK, "{:?}", again.text().await);
    while let Some(message) = probe.next_for(&child.to_string(), Duration::from_secs(5)).await {
        count_items(&mut items, &message.body);
    }
    let twice: Vec<&String> = items.iter().filter(|(_, n)| **n > 1).map(|(item, _)| item).collect();
    assert!(twice.is_empty(), "published twice: {twice:?}");
    let recorded = app.store.collection("resources").count_documents(mongodb::bson::doc! {}).await.unwrap();
    assert!(recorded > 0);
}

#[tokio::test]
async fn with_redis_gone_a_running_sync_goes_on_within_its_childs_pace() {
    let mut redis = OwnRedis::start().await;
    // A first sync of a year at 8 requests a second: long enough to stop Redis in the middle of it. Without Redis the
    // project's budget cannot be taken; only the child's own pace holds the requests back.
    let pace = 8.0;
    let app = spawn_app_with(&[("REDIS_URI", &redis.uri()), ("GOOGLE_REQUESTS_PER_SECOND", "8")]).await;
    let user = unique_name("NOREDIS");
    let (child, _) = app.connect_google_user(&user, 3600).await;
    let mut probe = BusProbe::bind(&["physicalactivities.sync", "sleep.sync", "weights.sync"]).await;
    let sync = tokio::spawn({
        let (client, url) = (app.client.clone(), app.url(&format!("/v1/users/{child}/fitbit/sync")));
        async move { client.post(url).send().await.map(|answer| answer.status()) }
    });
    probe.next_for(&child.to_string(), Duration::from_secs(120)).await.expect("a first page");

    redis.stop();
    let (stopped, before) = (std::time::Instant::now(), app.sim.google_counts(&user).data);
    let finished = eventually(Duration::from_secs(180), || async {
        let document = app.userauth_document(child).await;
        document.and_then(|d| d.get_document("fitbit").ok()?.get_str("last_sync").ok().map(str::to_string)).is_some()
    })
    .await;
    let elapsed = stopped.elapsed().as_secs_f64();
    assert!(finished, "the sync went on to its end without Redis");
    let after = f64::from(app.sim.google_counts(&user).data - before);
    assert!(after >= 20.0, "most of the year was read with Redis gone ({after} requests)");
    // The child's budget: a burst of twice the pace, then the pace. A slower machine only lowers the rate.
    assert!(after <= 2.0 * pace + pace * elapsed, "{after} requests in {elapsed:.1} s: not within the child's pace");
    let answer = sync.await.unwrap().expect("the route answered");
    assert!(answer == StatusCode::OK || answer == StatusCode::ACCEPTED, "{answer}");
}

#[tokio::test]
async fn with_redis_gone_the_routes_that_need_it_answer_503_within_the_gateways_timeout_and_recover() {
    // The API gateway gives up on a route after 10 s. A reconnecting Redis client used to hold every call for up to
    // two minutes, so the gateway answered for us.
    const GATEWAY_TIMEOUT: Duration = Duration::from_secs(10);
    let mut redis = OwnRedis::start().await;
    let app = spawn_app_with(&[("REDIS_URI", &redis.uri())]).await;
    let (child, _) = app.connect_google_user(&unique_name("DOWN"), 3600).await;
    let status = format!("/v1/users/{child}/fitbit/sync/status");
    assert_eq!(app.get(&status).await.status(), StatusCode::OK, "Redis is up: the status is read");

    redis.stop();
    // The first call finds the connection broken; the next ones meet the client's reconnection.
    for call in 1..=4 {
        let asked = std::time::Instant::now();
        let answer = app.get(&status).await;
        let waited = asked.elapsed();
        assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE, "call {call}");
        let body: Value = answer.json().await.unwrap();
        assert_eq!(body["message"], "The service is temporarily unavailable: Redis is not reachable.", "call {call}");
        assert!(waited < GATEWAY_TIMEOUT, "call {call} waited {waited:?} for a Redis that is down");
    }
    let asked = std::time::Instant::now();
    let answer = app.sync(child).await;
    assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE, "no sync without its lock");
    assert!(asked.elapsed() < GATEWAY_TIMEOUT, "the sync route waited {:?}", asked.elapsed());

    redis.restart_empty(Duration::ZERO).await;
    let back =
        eventually(Duration::from_secs(60), || async { app.get(&status).await.status() == StatusCode::OK }).await;
    assert!(back, "Redis is back: the status is read again without a restart of the service");
}
