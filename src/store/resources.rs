//! The `resources` collection (docs/decisions.md#stored-documents): the provider items already published, so that a
//! later sync sends only new ones. Unlike the original, only items whose message the broker confirmed are recorded, and
//! nothing is deleted and re-inserted: an incremental sync fetches a short window, and dropping older records would
//! make them look new.

use std::collections::HashSet;

use chrono::Utc;
use futures::TryStreamExt;
use mongodb::bson::{doc, Bson, Document};
use serde_json::Value;

use super::{bson_time, Store, StoreError, RESOURCES};
use crate::domain::ChildId;

/// The field of a record holding its natural key (see [`Resources::recorded`]).
pub const NATURAL_KEY: &str = "natural_key";

/// One confirmed item to record: the raw provider item, and its natural key if de-duplication uses one.
#[derive(Clone, Copy)]
pub struct NewRecord<'a> {
    pub resource: &'a Value,
    pub natural_key: Option<&'a str>,
}

/// What [`Resources::recorded`] found: the comparable ids ([`id_key`]) and the natural keys.
#[derive(Debug, Default)]
pub struct Recorded {
    pub ids: HashSet<String>,
    pub keys: HashSet<String>,
}

#[derive(Clone)]
pub struct Resources {
    store: Store,
}

impl Resources {
    pub fn new(store: Store) -> Self {
        Resources { store }
    }

    /// Which of `ids` (provider item ids, `resource.logId`) and of `keys` (natural keys: an activity's or a night's
    /// start, a weigh-in's time; only Google records carry one) are recorded for the child and type: one `$in` query
    /// on the `user_id_type_logId` index and one on `user_id_type_natural_key`, instead of the original's query per
    /// item. Not one `$or` of both: the MongoDB stand-in scans the whole collection for it (0.33 s against 2.4 ms at
    /// 20,000 records).
    pub async fn recorded(
        &self,
        child: ChildId,
        kind: &str,
        ids: &[Bson],
        keys: &[&str],
    ) -> Result<Recorded, StoreError> {
        let user_id = child.to_string();
        let mut recorded = Recorded::default();
        if !ids.is_empty() {
            let filter = doc! {"user_id": &user_id, "type": kind, "resource.logId": {"$in": ids}};
            for document in self.find(filter, doc! {"_id": 0, "resource.logId": 1}).await? {
                if let Some(id) = document.get_document("resource").ok().and_then(|r| r.get("logId")) {
                    recorded.ids.insert(id_key(id));
                }
            }
        }
        if !keys.is_empty() {
            let filter = doc! {"user_id": &user_id, "type": kind, NATURAL_KEY: {"$in": keys}};
            for document in self.find(filter, doc! {"_id": 0, NATURAL_KEY: 1}).await? {
                if let Ok(key) = document.get_str(NATURAL_KEY) {
                    recorded.keys.insert(key.to_string());
                }
            }
        }
        Ok(recorded)
    }

    async fn find(&self, filter: Document, projection: Document) -> Result<Vec<Document>, StoreError> {
        let collection = self.store.collection(RESOURCES);
        let cursor = self.store.timed(collection.find(filter).projection(projection)).await?;
        self.store.timed(cursor.try_collect()).await
    }

    /// Records items whose message was confirmed, in the original's document shape, plus the natural key where the
    /// item has one (Google items: their ids are not documented as stable).
    pub async fn record(
        &self,
        child: ChildId,
        kind: &str,
        provider: &str,
        items: &[NewRecord<'_>],
    ) -> Result<(), StoreError> {
        if items.is_empty() {
            return Ok(());
        }
        let now = Utc::now();
        let date_sync = now.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let documents = items
            .iter()
            .map(|item| {
                let resource = mongodb::bson::to_bson(item.resource).map_err(StoreError::Unencodable)?;
                let mut document = doc! {
                    "type": kind,
                    "resource": resource,
                    "date_sync": &date_sync,
                    "user_id": child.to_string(),
                    "provider": provider,
                    "created_at": bson_time(now),
                    "__v": 0,
                };
                if let Some(key) = item.natural_key {
                    document.insert(NATURAL_KEY, key);
                }
                Ok(document)
            })
            .collect::<Result<Vec<Document>, StoreError>>()?;
        // Unordered: one failed document does not hold back the others. A duplicate (a unique index refusing an item
        // recorded meanwhile) is already recorded, which is what this call wants.
        let collection = self.store.collection(RESOURCES);
        match self.store.timed(collection.insert_many(documents).ordered(false)).await {
            Err(StoreError::Duplicate) => Ok(()),
            other => other.map(|_| ()),
        }
    }

    /// User deletion: every record of the child.
    pub async fn remove_all(&self, child: ChildId) -> Result<u64, StoreError> {
        let collection = self.store.collection(RESOURCES);
        Ok(self.store.timed(collection.delete_many(doc! {"user_id": child.to_string()})).await?.deleted_count)
    }
}

/// A comparable form of an item id, whether it came from JSON (an integer) or BSON (int32, int64 or double).
pub fn id_key(id: &Bson) -> String {
    match id {
        Bson::Int32(n) => n.to_string(),
        Bson::Int64(n) => n.to_string(),
        Bson::Double(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => (*f as i64).to_string(),
        Bson::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_compare_across_number_representations() {
        assert_eq!(id_key(&Bson::Int64(22150869470)), id_key(&Bson::Double(22150869470.0)));
        assert_eq!(id_key(&Bson::Int32(7)), "7");
        assert_eq!(id_key(&Bson::String("abc".into())), "abc");
    }
}
