//! The notification journal: every Google notification the endpoint accepted, kept in MongoDB from before its 204
//! until the sync it caused has ended. Redis holds the fast path (coalescing windows and jobs); if Redis loses them,
//! the journal is replayed into it, so an accepted notification always reaches the bus (docs/operations.md,
//! "What each dependency holds").

use chrono::{DateTime, NaiveDate, Utc};
use futures::TryStreamExt;
use mongodb::bson::{doc, oid::ObjectId, Bson, Document};

use super::{bson_time, Store, StoreError};

pub const NOTIFICATIONS: &str = "notifications";

/// One accepted notification: whose data changed, which type, and over which civil days (`None`: unnamed).
#[derive(Clone, Debug, PartialEq)]
pub struct JournalEntry {
    pub id: ObjectId,
    pub health_user_id: String,
    pub data_type: String,
    pub days: Option<(NaiveDate, NaiveDate)>,
}

#[derive(Clone)]
pub struct NotificationJournal {
    store: Store,
}

impl NotificationJournal {
    pub fn new(store: Store) -> Self {
        NotificationJournal { store }
    }

    /// Keeps `entries` (their ids chosen by the caller) in one unordered insert.
    pub async fn record(&self, entries: &[JournalEntry]) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let now = bson_time(Utc::now());
        let documents = entries.iter().map(|entry| {
            let days = match entry.days {
                Some((from, to)) => Bson::Array(vec![from.to_string().into(), to.to_string().into()]),
                None => Bson::Null,
            };
            doc! {"_id": entry.id, "health_user_id": &entry.health_user_id, "data_type": &entry.data_type,
            "days": days, "received_at": now.clone()}
        });
        let collection = self.store.collection(NOTIFICATIONS);
        self.store.timed(collection.insert_many(documents).ordered(false)).await.map(|_| ())
    }

    /// Drops the entries whose sync has ended (or that were refused after all).
    pub async fn settle(&self, ids: &[ObjectId]) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let filter = doc! {"_id": {"$in": ids.iter().map(|id| Bson::ObjectId(*id)).collect::<Vec<_>>()}};
        self.store.timed(self.store.collection(NOTIFICATIONS).delete_many(filter)).await.map(|_| ())
    }

    /// Up to `limit` entries after `after`, oldest first (the `_id` index).
    pub async fn page(&self, after: Option<ObjectId>, limit: i64) -> Result<Vec<JournalEntry>, StoreError> {
        let filter = after.map_or_else(Document::new, |after| doc! {"_id": {"$gt": after}});
        let collection = self.store.collection(NOTIFICATIONS);
        let cursor = self.store.timed(collection.find(filter).sort(doc! {"_id": 1}).limit(limit)).await?;
        let documents: Vec<Document> = self.store.timed(cursor.try_collect()).await?;
        Ok(documents.iter().filter_map(read_entry).collect())
    }

    /// Drops entries received before `before` (Google itself gives up on a notification after 7 days, and the cron
    /// syncs what such an old one named).
    pub async fn expire(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let filter = doc! {"received_at": {"$lt": bson_time(before)}};
        let deleted = self.store.timed(self.store.collection(NOTIFICATIONS).delete_many(filter)).await?;
        Ok(deleted.deleted_count)
    }
}

fn read_entry(document: &Document) -> Option<JournalEntry> {
    let day = |value: Option<&Bson>| NaiveDate::parse_from_str(value?.as_str()?, "%Y-%m-%d").ok();
    let days = document.get_array("days").ok().and_then(|days| day(days.first()).zip(day(days.get(1))));
    Some(JournalEntry {
        id: document.get_object_id("_id").ok()?,
        health_user_id: document.get_str("health_user_id").ok()?.to_string(),
        data_type: document.get_str("data_type").ok()?.to_string(),
        days,
    })
}
