//! The cron ticks that ran, by scheduled time. Redis holds a tick's jobs; if Redis loses them, the latest tick tells
//! which children are still owed a sync (a `last_sync` older than the tick).

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mongodb::bson::{doc, Document};

use super::{bson_time, Store, StoreError};

pub const TICKS: &str = "ticks";

#[derive(Clone)]
pub struct Ticks {
    store: Store,
}

impl Ticks {
    pub fn new(store: Store) -> Self {
        Ticks { store }
    }

    /// Notes the tick scheduled at `scheduled`; every instance may, the first one wins.
    pub async fn record(&self, scheduled: DateTime<Utc>) -> Result<(), StoreError> {
        let document = doc! {"_id": scheduled.timestamp(), "scheduled_at": bson_time(scheduled)};
        match self.store.timed(self.store.collection(TICKS).insert_one(document)).await {
            Ok(_) | Err(StoreError::Duplicate) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The scheduled time of the latest tick (the `_id` index), in epoch seconds.
    pub async fn latest(&self) -> Result<Option<i64>, StoreError> {
        let collection = self.store.collection(TICKS);
        let cursor = self.store.timed(collection.find(doc! {}).sort(doc! {"_id": -1}).limit(1)).await?;
        let documents: Vec<Document> = self.store.timed(cursor.try_collect()).await?;
        Ok(documents.first().and_then(|d| d.get_i64("_id").ok()))
    }
}
