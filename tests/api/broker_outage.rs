//! Decisions #19: while RabbitMQ is unreachable a sync records nothing as synced; once it is back, the next sync
//! publishes everything, once.

use std::time::Duration;

use lapin::options::QueueDeclareOptions;
use lapin::types::FieldTable;
use lapin::{Connection, ConnectionProperties};
use reqwest::StatusCode;
use serde_json::Value;

use crate::bus_probe::{BusProbe, BROKER};
use crate::helpers::{eventually, spawn_app_with};
use crate::proxy::Proxy;

#[tokio::test]
async fn nothing_counts_as_synced_while_the_broker_is_away() {
    let proxy = Proxy::start("127.0.0.1:5672").await;
    let uri = format!("amqp://guest:guest@127.0.0.1:{}", proxy.port);
    let app = spawn_app_with(&[("RABBITMQ_URI", &uri)]).await;
    assert!(eventually(Duration::from_secs(60), || app.state.bus.is_connected()).await);
    let (child, _) = app.connect_child().await;

    proxy.cut();
    assert!(eventually(Duration::from_secs(60), || async { !app.state.bus.is_connected().await }).await);
    let response = app.sync(child).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        response.text().await.unwrap(),
        r#"{"code":503,"message":"The service is temporarily unavailable: RabbitMQ is not reachable.","description":"Please try again later..."}"#
    );
    let resources = app.store.collection("resources");
    assert_eq!(resources.count_documents(mongodb::bson::doc! {"user_id": child.to_string()}).await.unwrap(), 0);
    let stored = app.userauth_document(child).await.unwrap();
    assert!(stored.get_document("fitbit").unwrap().get("last_sync").is_none());

    proxy.restore();
    assert!(eventually(Duration::from_secs(60), || app.state.bus.is_connected()).await, "reconnected");
    let mut probe = BusProbe::bind(&["physicalactivities.sync", "sleep.sync", "weights.sync"]).await;
    let response = app.sync(child).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let published =
        body["activities"].as_u64().unwrap() + body["sleep"].as_u64().unwrap() + body["weights"].as_u64().unwrap();
    assert!(published > 0);
    let sent = probe.published(&child.to_string(), &body, Duration::from_secs(60)).await;
    let items: usize = sent.items.values().map(Vec::len).sum();
    assert_eq!(items as u64, published);
    let recorded = resources.count_documents(mongodb::bson::doc! {"user_id": child.to_string()}).await.unwrap();
    assert_eq!(recorded, published, "recorded once confirmed");

    let again: Value = app.sync(child).await.json().await.unwrap();
    assert_eq!(
        (again["activities"].as_u64(), again["sleep"].as_u64(), again["weights"].as_u64()),
        (Some(0), Some(0), Some(0))
    );
    assert!(probe.next_for(&child.to_string(), Duration::from_secs(2)).await.is_none(), "nothing sent twice");
}

/// The broker and MongoDB both go away and come back (through TCP proxies, as a restart looks to a client): the
/// subscription, publishing, the routes and the jobs all work again without restarting the service.
#[tokio::test]
async fn after_rabbitmq_and_mongodb_come_back_everything_works_again_without_a_restart() {
    let broker = Proxy::start("127.0.0.1:5672").await;
    let mongodb = Proxy::start("127.0.0.1:27017").await;
    let database = crate::helpers::test_database_name();
    let rabbitmq_uri = format!("amqp://guest:guest@127.0.0.1:{}/ocariot", broker.port);
    // A direct connection, so the driver never goes around the proxy.
    let mongodb_uri = format!("mongodb://127.0.0.1:{}/{database}?directConnection=true", mongodb.port);
    let app = spawn_app_with(&[
        ("RABBITMQ_URI", &rabbitmq_uri),
        ("MONGODB_URI_TEST", &mongodb_uri),
        ("MONGODB_TIMEOUT_MS", "2000"),
    ])
    .await;
    let connection = Connection::connect(BROKER, ConnectionProperties::default()).await.unwrap();
    let queue = app.state.settings.user_delete_queue.clone();
    let subscribers = || async {
        let channel = connection.create_channel().await.unwrap();
        let passive = QueueDeclareOptions { passive: true, ..Default::default() };
        channel.queue_declare(&queue, passive, FieldTable::default()).await.map_or(0, |q| q.consumer_count())
    };
    assert!(eventually(Duration::from_secs(60), || async { subscribers().await == 1 }).await, "subscribed");
    let (deleted_child, _) = app.connect_child().await;

    broker.cut();
    mongodb.cut();
    let ready = || async { app.get("/health/ready").await.status() == StatusCode::OK };
    assert!(eventually(Duration::from_secs(60), || async { !ready().await }).await, "not ready while they are away");
    assert!(eventually(Duration::from_secs(60), || async { subscribers().await == 0 }).await);
    broker.restore();
    mongodb.restore();
    assert!(eventually(Duration::from_secs(90), ready).await, "ready again");
    assert!(eventually(Duration::from_secs(60), || async { subscribers().await == 1 }).await, "subscribed again");

    // A route that writes, a sync that publishes, a job of a tick: all as before.
    let (child, _) = app.connect_child().await;
    let mut probe = BusProbe::bind(&["physicalactivities.sync", "fitbit.lastsync"]).await;
    let response = app.sync(child).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert!(body["activities"].as_u64().unwrap() > 0);
    let sent = probe.published(&child.to_string(), &body, Duration::from_secs(60)).await;
    assert_eq!(sent.of("physicalactivities.sync").len() as u64, body["activities"].as_u64().unwrap());
    let enqueued = app.state.jobs.tick(&app.state.userauths, chrono::Utc::now()).await.unwrap();
    assert_eq!(enqueued, Some(2), "both children have valid tokens");
    let synced = eventually(Duration::from_secs(90), || async {
        let stored = app.userauth_document(deleted_child).await;
        stored.is_some_and(|d| d.get_document("fitbit").is_ok_and(|f| f.get_str("last_sync").is_ok()))
    })
    .await;
    assert!(synced, "the tick's job ran");

    // The renewed subscription handles a UserDeleteEvent published after the outage.
    crate::bus_probe::publish_user_delete(
        &connection,
        &crate::bus_probe::user_delete_event(&deleted_child.to_string()),
    )
    .await;
    let deleted =
        eventually(Duration::from_secs(60), || async { app.userauth_document(deleted_child).await.is_none() }).await;
    assert!(deleted, "the child's record is gone");
}
