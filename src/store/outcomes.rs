//! The last sync outcome of each child (`syncoutcomes`, one document per child, keyed by the child's id): what an
//! operator reads in `GET …/fitbit/sync/status` when a school asks why a child's data is missing. Written once per
//! sync, read by `_id`.

use chrono::{DateTime, Utc};
use mongodb::bson::{doc, Bson, Document};

use super::{bson_time, Store, StoreError};
use crate::domain::ChildId;

pub const SYNC_OUTCOMES: &str = "syncoutcomes";

/// How a sync ended; stored, and shown by the status route, as its lower-case name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncResult {
    /// Published, confirmed and recorded: the route's 200.
    Success,
    /// A first sync the route answered 202 while it goes on.
    Accepted,
    Failed,
    /// Stopped at a safe point by a shutdown or a lost lease; it goes on next time.
    Interrupted,
    /// A stored name this version does not know (written by a newer one).
    Unknown,
}

impl SyncResult {
    pub fn name(self) -> &'static str {
        match self {
            SyncResult::Success => "success",
            SyncResult::Accepted => "accepted",
            SyncResult::Failed => "failed",
            SyncResult::Interrupted => "interrupted",
            SyncResult::Unknown => "unknown",
        }
    }

    fn parse(name: &str) -> Self {
        [SyncResult::Success, SyncResult::Accepted, SyncResult::Failed, SyncResult::Interrupted]
            .into_iter()
            .find(|result| result.name() == name)
            .unwrap_or(SyncResult::Unknown)
    }
}

/// How a sync ended, as the status route shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedOutcome {
    pub result: SyncResult,
    /// The internal error code of a provider failure (1011, 1012, 1021, 1401, 1410, 1429, 1500).
    pub code: Option<u16>,
    /// Why it failed, in the words of the error (tokens are never in them).
    pub message: Option<String>,
    pub at: DateTime<Utc>,
    /// When the sync started: a 202 never overwrites the outcome of the sync it announced.
    pub started_at: DateTime<Utc>,
    /// What it published (the sync route's 200 body), when it succeeded.
    pub counts: Option<Document>,
}

#[derive(Clone)]
pub struct SyncOutcomes {
    store: Store,
}

impl SyncOutcomes {
    pub fn new(store: Store) -> Self {
        SyncOutcomes { store }
    }

    /// Replaces the child's last outcome. An `accepted` one is written only while the sync it announces has not
    /// recorded its own end yet.
    pub async fn record(&self, child: ChildId, outcome: &RecordedOutcome) -> Result<(), StoreError> {
        let document = doc! {
            "result": outcome.result.name(),
            "code": outcome.code.map_or(Bson::Null, |code| Bson::Int32(code.into())),
            "message": outcome.message.as_deref().map_or(Bson::Null, Bson::from),
            "at": bson_time(outcome.at),
            "started_at": bson_time(outcome.started_at),
            "counts": outcome.counts.clone().map_or(Bson::Null, Bson::Document),
        };
        let collection = self.store.collection(SYNC_OUTCOMES);
        let mut filter = doc! {"_id": child.object_id()};
        if outcome.result == SyncResult::Accepted {
            filter.insert("started_at", doc! {"$ne": bson_time(outcome.started_at)});
        }
        match self.store.timed(collection.replace_one(filter, document).upsert(true)).await {
            // The sync's own end came first: it stays.
            Ok(_) | Err(StoreError::Duplicate) => Ok(()),
            Err(e) => Err(e),
        }
    }

    pub async fn find(&self, child: ChildId) -> Result<Option<RecordedOutcome>, StoreError> {
        let collection = self.store.collection(SYNC_OUTCOMES);
        let Some(document) = self.store.timed(collection.find_one(doc! {"_id": child.object_id()})).await? else {
            return Ok(None);
        };
        let time = |key: &str| document.get_datetime(key).ok().map(|t| DateTime::<Utc>::from(t.to_system_time()));
        Ok(Some(RecordedOutcome {
            result: SyncResult::parse(document.get_str("result").unwrap_or_default()),
            code: document.get_i32("code").ok().and_then(|c| u16::try_from(c).ok()),
            message: document.get_str("message").ok().map(str::to_string),
            at: time("at").unwrap_or_default(),
            started_at: time("started_at").unwrap_or_default(),
            counts: document.get_document("counts").ok().cloned(),
        }))
    }
}
