//! Decisions #19: while RabbitMQ is unreachable a sync records nothing as synced; once it is back, the next sync
//! publishes everything, once.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use crate::bus_probe::BusProbe;
use crate::helpers::{eventually, spawn_app_with};
use crate::proxy::Proxy;

#[tokio::test]
async fn nothing_counts_as_synced_while_the_broker_is_away() {
    let proxy = Proxy::start("127.0.0.1:5672").await;
    let uri = format!("amqp://guest:guest@127.0.0.1:{}", proxy.port);
    let app = spawn_app_with(&[("RABBITMQ_URI", &uri)]).await;
    assert!(eventually(Duration::from_secs(60), || app.state.bus.is_connected()).await);
    let (child, _) = app.connect_child("rwei ract rsle").await;

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
