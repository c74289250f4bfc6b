//! docs/decisions.md#user-deletion: `UserDeleteEvent` removes the child's records, is acknowledged after the deletes,
//! and a malformed message is acknowledged rather than redelivered forever.

use std::time::Duration;

use lapin::options::QueueDeclareOptions;
use lapin::types::FieldTable;
use lapin::{Connection, ConnectionProperties};
use mongodb::bson::doc;
use reqwest::StatusCode;

use crate::bus_probe::{publish_user_delete, subscribed, user_delete_event, BROKER};
use crate::helpers::{eventually, spawn_app};

#[tokio::test]
async fn a_user_delete_event_removes_the_child_and_is_acknowledged() {
    let app = spawn_app().await;
    let (child, tokens) = app.connect_child().await;
    assert_eq!(app.sync(child).await.status(), StatusCode::OK);
    let resources = app.store.collection("resources");
    assert!(resources.count_documents(doc! {"user_id": child.to_string()}).await.unwrap() > 0);

    let connection = Connection::connect(BROKER, ConnectionProperties::default()).await.unwrap();
    let queue = app.state.settings.user_delete_queue.clone();
    assert!(subscribed(&connection, &queue).await, "the service subscribed");
    publish_user_delete(&connection, "this is not an event").await;
    publish_user_delete(&connection, &user_delete_event(&child.to_string())).await;

    let deleted = eventually(Duration::from_secs(60), || async { app.userauth_document(child).await.is_none() }).await;
    assert!(deleted, "the userauths record is gone");
    assert_eq!(resources.count_documents(doc! {"user_id": child.to_string()}).await.unwrap(), 0);
    assert!(
        eventually(Duration::from_secs(60), || async { !app.sim.is_google_refresh_token_valid(&tokens.refresh_token) })
            .await,
        "the grant was revoked at the provider"
    );
    let passive = QueueDeclareOptions { passive: true, ..Default::default() };
    let state =
        connection.create_channel().await.unwrap().queue_declare(&queue, passive, FieldTable::default()).await.unwrap();
    assert_eq!(state.message_count(), 0, "both messages were acknowledged, none requeued");
}
