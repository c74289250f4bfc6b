//! The lifetime of a sync: it belongs to the service, not to the request. A client that goes away, a SIGTERM or a MongoDB
//! that fails right after a broker confirm never leaves a child locked, never loses what was confirmed and never
//! answers 200 for items it did not record.

use std::time::Duration;

use mongodb::bson::doc;
use reqwest::StatusCode;
use serde_json::Value;

use crate::bus_probe::BusProbe;
use crate::helpers::{eventually, metric, spawn_app, spawn_app_with, test_database_name, TestApp};
use crate::proxy::Proxy;
use ds_agent::domain::ChildId;

/// Read straight from MongoDB, so it works once the application has stopped too.
async fn last_sync(app: &TestApp, child: ChildId) -> Option<String> {
    let userauths = app.direct_database().await.collection::<mongodb::bson::Document>("userauths");
    let stored = userauths.find_one(doc! {"user_id": child.object_id()}).await.unwrap()?;
    stored.get_document("fitbit").ok()?.get_str("last_sync").ok().map(str::to_string)
}

async fn lock_exists(child: ChildId) -> bool {
    let client = redis::Client::open("redis://127.0.0.1:6379").unwrap();
    let mut redis = client.get_multiplexed_async_connection().await.unwrap();
    redis::AsyncCommands::exists(&mut redis, format!("ds-agent:lock:sync:{child}")).await.unwrap()
}

#[tokio::test]
async fn a_client_that_goes_away_does_not_cut_the_sync_short_nor_leave_the_child_locked() {
    let app = spawn_app().await;
    let (child, _) = app.connect_child().await;
    let mut probe = BusProbe::bind(&["physicalactivities.sync"]).await;
    app.sim.set_latency(Duration::from_millis(400));

    let impatient =
        reqwest::Client::builder().danger_accept_invalid_certs(true).timeout(Duration::from_secs(1)).build().unwrap();
    let cut = impatient.post(app.url(&format!("/v1/users/{child}/fitbit/sync"))).send().await;
    assert!(cut.is_err_and(|e| e.is_timeout()), "the client gave up after 1 s");

    assert!(eventually(Duration::from_secs(60), || async { last_sync(&app, child).await.is_some() }).await);
    assert!(eventually(Duration::from_secs(60), || async { !lock_exists(child).await }).await, "lock released");
    app.sim.set_latency(Duration::ZERO);
    let again = app.sync(child).await;
    assert_eq!(again.status(), StatusCode::OK, "not 409: the child is free again");
    assert_eq!(again.json::<Value>().await.unwrap()["activities"], 0);

    // Page by page, every recorded activity went out once, and nothing after.
    let recorded = resources(&app, child, "activities").await;
    let mut published = Vec::new();
    while let Some(message) = probe.next_for(&child.to_string(), Duration::from_secs(5)).await {
        published.extend(message.body["physicalactivity"].as_array().unwrap().clone());
    }
    assert!(!published.is_empty());
    assert_eq!(published.len() as u64, recorded, "published once");
    let starts: std::collections::HashSet<&str> = published.iter().map(|a| a["start_time"].as_str().unwrap()).collect();
    assert_eq!(starts.len(), published.len(), "no activity twice");
}

async fn resources(app: &TestApp, child: ChildId, kind: &str) -> u64 {
    let filter = doc! {"user_id": child.to_string(), "type": kind};
    app.store.collection("resources").count_documents(filter).await.unwrap()
}

#[tokio::test]
async fn sigterm_during_a_slow_sync_stops_at_a_safe_point_and_frees_the_child() {
    let mut app = spawn_app().await;
    let (child, _) = app.connect_child().await;
    let mut probe = BusProbe::bind(&["physicalactivities.sync", "sleep.sync", "weights.sync"]).await;
    app.sim.set_latency(Duration::from_millis(1000));
    let request = tokio::spawn(app.client.post(app.url(&format!("/v1/users/{child}/fitbit/sync"))).send());
    assert!(eventually(Duration::from_secs(60), || lock_exists(child)).await, "the sync started");

    let stopped = tokio::time::timeout(Duration::from_secs(60), app.stop_and_wait()).await;
    assert!(matches!(stopped, Ok(Ok(()))), "stopped cleanly within the drain bound: {stopped:?}");
    assert!(!lock_exists(child).await, "the lock is gone with the sync");
    if let Ok(answer) = request.await.unwrap() {
        assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body: Value = answer.json().await.unwrap();
        assert_eq!(body["message"], "The service is shutting down.");
    }
    assert!(last_sync(&app, child).await.is_none());

    // Another instance on the same database takes over: everything goes out, nothing twice.
    app.sim.set_latency(Duration::ZERO);
    let next = app.spawn_peer(&[]).await;
    let response = next.sync(child).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let mut items = 0;
    while let Some(message) = probe.next_for(&child.to_string(), Duration::from_secs(5)).await {
        items += message.body.as_object().unwrap().values().find_map(Value::as_array).unwrap().len() as u64;
    }
    let counted: u64 = ["activities", "sleep", "weights"].iter().map(|k| body[k].as_u64().unwrap()).sum();
    assert_eq!(items, counted, "every item published exactly once over both instances");
}

/// The start of an OP_MSG `insert` command into `collection`, as the driver writes it.
fn insert_into(collection: &str) -> Vec<u8> {
    let mut bytes = b"\x02insert\x00".to_vec();
    bytes.extend_from_slice(&((collection.len() + 1) as i32).to_le_bytes());
    bytes.extend_from_slice(collection.as_bytes());
    bytes.push(0);
    bytes
}

#[tokio::test]
async fn mongodb_failing_right_after_a_confirm_is_503_and_the_next_sync_records_everything() {
    let proxy = Proxy::start("127.0.0.1:27017").await;
    let database = test_database_name();
    // A direct connection: the stand-in may describe itself as a replica set member at 27017, and the driver would
    // then go around the proxy.
    let uri = format!("mongodb://127.0.0.1:{}/{database}?directConnection=true", proxy.port);
    // MongoDB stays away for the rest of this sync: each retry waits one timeout for it.
    let app = spawn_app_with(&[("MONGODB_URI_TEST", &uri), ("MONGODB_TIMEOUT_MS", "2000")]).await;
    let direct = mongodb::Client::with_uri_str("mongodb://127.0.0.1:27017").await.unwrap().database(&database);
    let resources = direct.collection::<mongodb::bson::Document>("resources");
    let (child, _) = app.connect_child().await;
    let mut probe = BusProbe::bind(&["physicalactivities.sync", "sleep.sync", "weights.sync"]).await;
    let unrecorded = |kind: &str| format!(r#"ds_agent_sync_items_unrecorded_total{{kind="{kind}"}}"#);
    let all_unrecorded = || async {
        let mut total = 0;
        for kind in ["activities", "sleep", "body"] {
            total += metric(&app, &unrecorded(kind)).await;
        }
        total
    };
    let before = all_unrecorded().await;

    // The first record of confirmed items cuts MongoDB off.
    proxy.trip_on(&insert_into("resources"));
    let response = app.sync(child).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["message"], "The service is temporarily unavailable: MongoDB is not reachable.");
    // The parts ran on concurrently: each stopped at its first failed record (or lookup). Everything they sent was
    // confirmed before the answer.
    let mut sent = 0;
    while let Some(message) = probe.next_for(&child.to_string(), Duration::from_secs(5)).await {
        sent += message.body.as_object().unwrap().values().find_map(Value::as_array).unwrap().len() as u64;
    }
    assert!(sent > 0, "a confirm came before the cut");
    assert_eq!(resources.count_documents(doc! {"user_id": child.to_string()}).await.unwrap(), 0);
    let stored = direct.collection::<mongodb::bson::Document>("userauths");
    let stored = stored.find_one(doc! {"user_id": child.object_id()}).await.unwrap().unwrap();
    assert!(stored.get_document("fitbit").unwrap().get("last_sync").is_none(), "last_sync did not move");

    proxy.restore();
    assert!(all_unrecorded().await >= before + sent, "the unrecorded are counted");
    let ready =
        eventually(Duration::from_secs(60), || async { app.get("/health/ready").await.status() == StatusCode::OK });
    assert!(ready.await);
    let response = app.sync(child).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let counted: u64 = ["activities", "sleep", "weights"].iter().map(|k| body[k].as_u64().unwrap()).sum();
    assert!(counted >= sent, "sent again: at least once ({counted} of {sent})");
    assert_eq!(resources.count_documents(doc! {"user_id": child.to_string()}).await.unwrap(), counted);
    let stored = direct.collection::<mongodb::bson::Document>("userauths");
    let stored = stored.find_one(doc! {"user_id": child.object_id()}).await.unwrap().unwrap();
    assert!(stored.get_document("fitbit").unwrap().get("last_sync").is_some());
}

#[tokio::test]
async fn a_first_sync_longer_than_the_route_waits_is_202_and_goes_on() {
    let app = spawn_app_with(&[("SYNC_ROUTE_WAIT_SECS", "1")]).await;
    let (child, _) = app.connect_child().await;
    let mut probe = BusProbe::bind(&["physicalactivities.sync"]).await;
    app.sim.set_latency(Duration::from_millis(500));

    let response = app.sync(child).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert_eq!(response.text().await.unwrap(), r#"{"message":"Synchronization in progress."}"#);
    let busy = app.sync(child).await;
    assert_eq!(busy.status(), StatusCode::CONFLICT, "still running");

    let published = probe.next_for(&child.to_string(), Duration::from_secs(60)).await.expect("its events follow");
    assert!(!published.body["physicalactivity"].as_array().unwrap().is_empty());
    assert!(eventually(Duration::from_secs(60), || async { last_sync(&app, child).await.is_some() }).await);
    // A later sync is no first sync: it is waited for, whatever its length. The first one stores `last_sync` just
    // before it lets go of the child's lock: until then a sync is 409.
    let mut later = app.sync(child).await.status();
    for _ in 0..50 {
        if later != StatusCode::CONFLICT {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        later = app.sync(child).await.status();
    }
    assert_eq!(later, StatusCode::OK);
}
