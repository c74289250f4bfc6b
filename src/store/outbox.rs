//! Events that could not be published when they happened (RabbitMQ down), kept in MongoDB until the relay delivers
//! them, so that an announced revoke or token error is never lost. Sync events do not go here: their items stay
//! unrecorded instead and the next sync sends them again.

use chrono::Utc;
use mongodb::bson::{doc, oid::ObjectId, Document};

use super::{bson_time, Store, StoreError};

pub const OUTBOX: &str = "outbox";

#[derive(Clone, Debug)]
pub struct PendingMessage {
    pub id: ObjectId,
    pub exchange: String,
    pub routing_key: String,
    pub body: Vec<u8>,
}

#[derive(Clone)]
pub struct Outbox {
    store: Store,
}

impl Outbox {
    pub fn new(store: Store) -> Self {
        Outbox { store }
    }

    pub fn database_name(&self) -> &str {
        self.store.database().name()
    }

    pub async fn keep(&self, exchange: &str, routing_key: &str, body: &[u8]) -> Result<(), StoreError> {
        let document = doc! {
            "exchange": exchange,
            "routing_key": routing_key,
            "body": String::from_utf8_lossy(body).into_owned(),
            "created_at": bson_time(Utc::now()),
        };
        self.store.timed(self.store.collection(OUTBOX).insert_one(document)).await.map(|_| ())
    }

    /// The oldest pending messages, in the order they were kept (the `_id` index).
    pub async fn oldest(&self, limit: i64) -> Result<Vec<PendingMessage>, StoreError> {
        use futures::TryStreamExt;
        let collection = self.store.collection(OUTBOX);
        let cursor = self.store.timed(collection.find(doc! {}).sort(doc! {"_id": 1}).limit(limit)).await?;
        let documents: Vec<Document> = self.store.timed(cursor.try_collect()).await?;
        Ok(documents
            .into_iter()
            .filter_map(|d| {
                Some(PendingMessage {
                    id: d.get_object_id("_id").ok()?,
                    exchange: d.get_str("exchange").ok()?.to_string(),
                    routing_key: d.get_str("routing_key").ok()?.to_string(),
                    body: d.get_str("body").ok()?.as_bytes().to_vec(),
                })
            })
            .collect())
    }

    pub async fn remove(&self, id: ObjectId) -> Result<(), StoreError> {
        self.store.timed(self.store.collection(OUTBOX).delete_one(doc! {"_id": id})).await.map(|_| ())
    }
}
