//! docs/decisions.md#user-deletion: `UserDeleteEvent` removes the child's records, is acknowledged after the deletes,
//! and a malformed message is acknowledged rather than redelivered forever.

use std::time::Duration;

use lapin::options::{BasicPublishOptions, ExchangeDeclareOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Connection, ConnectionProperties, ExchangeKind};
use mongodb::bson::doc;
use reqwest::StatusCode;

use crate::bus_probe::BROKER;
use crate::helpers::{eventually, spawn_app};

#[tokio::test]
async fn a_user_delete_event_removes_the_child_and_is_acknowledged() {
    let app = spawn_app().await;
    let (child, tokens) = app.connect_child("rwei ract rsle").await;
    assert_eq!(app.sync(child).await.status(), StatusCode::OK);
    let resources = app.store.collection("resources");
    assert!(resources.count_documents(doc! {"user_id": child.to_string()}).await.unwrap() > 0);

    let connection = Connection::connect(BROKER, ConnectionProperties::default()).await.unwrap();
    let queue = app.state.settings.user_delete_queue.clone();
    let subscribed = eventually(Duration::from_secs(60), || async {
        let channel = connection.create_channel().await.unwrap();
        let passive = QueueDeclareOptions { passive: true, ..Default::default() };
        channel.queue_declare(&queue, passive, FieldTable::default()).await.is_ok_and(|q| q.consumer_count() == 1)
    })
    .await;
    assert!(subscribed, "the service subscribed");

    let channel = connection.create_channel().await.unwrap();
    let durable = ExchangeDeclareOptions { durable: true, ..Default::default() };
    channel.exchange_declare("account", ExchangeKind::Direct, durable, FieldTable::default()).await.unwrap();
    let publish = |body: String| {
        let channel = channel.clone();
        async move {
            let properties = BasicProperties::default().with_content_type("application/json".into());
            channel
                .basic_publish("account", "users.delete", BasicPublishOptions::default(), body.as_bytes(), properties)
                .await
                .unwrap();
        }
    };
    publish("this is not an event".into()).await;
    publish(format!(
        r#"{{"event_name":"UserDeleteEvent","timestamp":"2019-09-08T23:31:11.627Z","user":{{"id":"{child}","type":"child","username":"BR9999"}}}}"#
    ))
    .await;

    let deleted = eventually(Duration::from_secs(60), || async { app.userauth_document(child).await.is_none() }).await;
    assert!(deleted, "the userauths record is gone");
    assert_eq!(resources.count_documents(doc! {"user_id": child.to_string()}).await.unwrap(), 0);
    assert!(
        eventually(Duration::from_secs(60), || async { !app.sim.is_refresh_token_valid(&tokens.refresh_token) }).await,
        "the grant was revoked at the provider"
    );
    let passive = QueueDeclareOptions { passive: true, ..Default::default() };
    let state =
        connection.create_channel().await.unwrap().queue_declare(&queue, passive, FieldTable::default()).await.unwrap();
    assert_eq!(state.message_count(), 0, "both messages were acknowledged, none requeued");
}
