//! MongoDB access. The client connects lazily and in the background, so the API answers while MongoDB is down; every
//! call is bounded by `MONGODB_TIMEOUT_MS` and fails with a clear error instead of hanging
//! (docs/decisions.md#shutdown-exit-codes-and-timeouts).

mod connector;
pub mod crypto;
mod journal;
mod outbox;
mod outcomes;
mod resources;
mod sealing;
mod ticks;
mod userauths;

use std::future::IntoFuture;
use std::time::Duration;

use mongodb::bson::{doc, Document};
use mongodb::event::command::CommandEvent;
use mongodb::event::EventHandler;
use mongodb::options::{ClientOptions, IndexOptions};
use mongodb::{Client, Collection, Database, IndexModel};

pub use connector::{connect_once, spawn_connector};
pub use crypto::{Aad, DecryptError, TokenCipher};
pub use journal::{JournalEntry, NotificationJournal, NOTIFICATIONS};
pub use outbox::{Outbox, PendingMessage, OUTBOX};
pub use outcomes::{RecordedOutcome, SyncOutcomes, SyncResult, SYNC_OUTCOMES};
pub use resources::{id_key, NewRecord, Recorded, Resources, NATURAL_KEY};
pub use sealing::{check_token_keys, reseal_tokens, KeyCheck, ResealReport};
pub use ticks::{Ticks, TICKS};
pub use userauths::{StoredAuth, UserAuths, ValidChild};

pub const USERAUTHS: &str = "userauths";
pub const RESOURCES: &str = "resources";
/// Remote revokes to retry (see `tokens::revocations`).
pub const REVOCATIONS: &str = "revocations";

/// A failed MongoDB call. Each variant keeps its cause as its source; its own message does not repeat it, so logs show
/// the whole error with `error_chain::Chain`.
#[derive(Clone, Debug, thiserror::Error)]
pub enum StoreError {
    #[error("MongoDB is not reachable")]
    Unreachable(#[source] mongodb::error::Error),
    /// The call was given up after `MONGODB_TIMEOUT_MS`; like `Unreachable`, MongoDB is treated as down.
    #[error("MongoDB did not answer within {} ms", .0.as_millis())]
    TimedOut(Duration),
    #[error("a registration with the same unique data already exists")]
    Duplicate,
    #[error("database error")]
    Other(#[source] mongodb::error::Error),
    /// A stored document lacks a field the service reads, or holds it with another type.
    #[error("a stored document is not in the expected shape")]
    Malformed(#[source] mongodb::bson::document::ValueAccessError),
    #[error("a document cannot be converted to BSON")]
    Unencodable(#[source] mongodb::bson::ser::Error),
    #[error("TOKEN_ENCRYPTION_KEY is not set: there is no key to seal with")]
    NoSealingKey,
    /// The task that writes the notification journal ended (the service is stopping, or it panicked).
    #[error("the notification journal's writer stopped")]
    JournalWriterStopped,
    /// A stored token no configured key opens (docs/operations.md#security); the text names no key and no token.
    #[error("{0}")]
    Undecryptable(crypto::DecryptError),
}

impl From<mongodb::error::Error> for StoreError {
    fn from(e: mongodb::error::Error) -> Self {
        use mongodb::error::{ErrorKind, WriteFailure};
        match *e.kind {
            ErrorKind::ServerSelection { .. } | ErrorKind::Io(_) | ErrorKind::ConnectionPoolCleared { .. } => {
                StoreError::Unreachable(e)
            }
            ErrorKind::Write(WriteFailure::WriteError(ref w)) if w.code == 11000 => StoreError::Duplicate,
            ErrorKind::Command(ref c) if c.code == 11000 => StoreError::Duplicate,
            // An unordered insert whose every refused document was a duplicate.
            ErrorKind::InsertMany(ref m)
                if m.write_concern_error.is_none()
                    && m.write_errors.as_ref().is_some_and(|w| !w.is_empty() && w.iter().all(|w| w.code == 11000)) =>
            {
                StoreError::Duplicate
            }
            _ => StoreError::Other(e),
        }
    }
}

/// A BSON date from a chrono time (the bson crate's chrono conversion is behind a feature the driver leaves off).
pub fn bson_time(time: chrono::DateTime<chrono::Utc>) -> mongodb::bson::Bson {
    mongodb::bson::Bson::DateTime(mongodb::bson::DateTime::from_millis(time.timestamp_millis()))
}

/// A handle to the service's database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    client: Client,
    db: Database,
    timeout: Duration,
}

impl Store {
    /// Parses the URI and builds the client. No connection is made here.
    pub async fn new(uri: &str, timeout: Duration) -> Result<Self, StoreError> {
        let mut options = ClientOptions::parse(uri).await.map_err(StoreError::Other)?;
        options.app_name = Some("ds-agent".into());
        options.server_selection_timeout = Some(timeout);
        options.connect_timeout = Some(timeout);
        // Round trips, for the metrics and the bench (handshakes and heartbeats are not commands).
        options.command_event_handler = Some(EventHandler::callback(|event: CommandEvent| {
            if matches!(event, CommandEvent::Started(_)) {
                crate::metrics::get().mongodb_commands.inc();
            }
        }));
        let db_name = options.default_database.clone().unwrap_or_else(|| "ocariot-ds-agent".into());
        let client = Client::with_options(options).map_err(StoreError::Other)?;
        let db = client.database(&db_name);
        Ok(Store { client, db, timeout })
    }

    pub fn database(&self) -> &Database {
        &self.db
    }

    pub fn collection(&self, name: &str) -> Collection<Document> {
        self.db.collection(name)
    }

    /// Runs one database call under the configured timeout.
    pub async fn timed<T>(
        &self,
        call: impl IntoFuture<Output = Result<T, mongodb::error::Error>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.timeout, call.into_future()).await {
            Ok(result) => result.map_err(StoreError::from),
            Err(_) => Err(StoreError::TimedOut(self.timeout)),
        }
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        self.timed(self.db.run_command(doc! {"ping": 1})).await.map(|_| ())
    }

    /// Creates the indexes every query of the service relies on, and every collection it writes, so that no write
    /// creates a collection implicitly. (The MongoDB stand-in, SecantusDB 0.7.0b3, can livelock when an implicit
    /// creation races a `createIndexes` elsewhere.) Idempotent.
    pub async fn ensure_indexes(&self) -> Result<(), StoreError> {
        for collection in [OUTBOX, NOTIFICATIONS, TICKS, SYNC_OUTCOMES] {
            match self.timed(self.db.create_collection(collection)).await {
                Err(StoreError::Other(e)) if namespace_exists(&e) => {}
                other => other?,
            }
        }
        let unique = IndexOptions::builder().unique(true).name("user_id_unique".to_string()).build();
        self.timed(
            self.collection(USERAUTHS)
                .create_index(IndexModel::builder().keys(doc! {"user_id": 1}).options(unique).build()),
        )
        .await?;
        let resource_key = IndexOptions::builder().name("user_id_type_logId".to_string()).build();
        self.timed(
            self.collection(RESOURCES).create_index(
                IndexModel::builder()
                    .keys(doc! {"user_id": 1, "type": 1, "resource.logId": 1})
                    .options(resource_key)
                    .build(),
            ),
        )
        .await?;
        let natural_key = IndexOptions::builder().name("user_id_type_natural_key".to_string()).build();
        self.timed(self.collection(RESOURCES).create_index(
            IndexModel::builder().keys(doc! {"user_id": 1, "type": 1, NATURAL_KEY: 1}).options(natural_key).build(),
        ))
        .await?;
        // Google notifications name the Google Health user: `fitbit.user_id` of Google children.
        let health_user = IndexOptions::builder().name("fitbit_user_id".to_string()).build();
        self.timed(
            self.collection(USERAUTHS)
                .create_index(IndexModel::builder().keys(doc! {"fitbit.user_id": 1}).options(health_user).build()),
        )
        .await?;
        let status = IndexOptions::builder().name("fitbit_status".to_string()).build();
        self.timed(
            self.collection(USERAUTHS)
                .create_index(IndexModel::builder().keys(doc! {"fitbit.status": 1, "_id": 1}).options(status).build()),
        )
        .await?;
        let received = IndexOptions::builder().name("received_at".to_string()).build();
        self.timed(
            self.collection(NOTIFICATIONS)
                .create_index(IndexModel::builder().keys(doc! {"received_at": 1}).options(received).build()),
        )
        .await?;
        let due = IndexOptions::builder().name("next_attempt_at".to_string()).build();
        self.timed(
            self.collection(REVOCATIONS)
                .create_index(IndexModel::builder().keys(doc! {"next_attempt_at": 1}).options(due).build()),
        )
        .await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.client.clone().shutdown().await;
    }
}

/// Whether a `create` failed because the collection already exists (code 48, NamespaceExists), read from the driver's
/// text whichever error kind carries it.
fn namespace_exists(e: &mongodb::error::Error) -> bool {
    let text = e.to_string();
    text.contains("already exists") || text.contains("48")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error_chain::Chain;

    #[test]
    fn an_io_failure_is_unreachable_and_the_chain_shows_the_cause() {
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused by mongo:27017");
        let error = StoreError::from(mongodb::error::Error::from(refused));
        assert!(matches!(error, StoreError::Unreachable(_)));
        assert_eq!(error.to_string(), "MongoDB is not reachable");
        let chain = Chain(&error).to_string();
        assert!(chain.starts_with("MongoDB is not reachable: "), "{chain}");
        assert!(chain.contains("connection refused by mongo:27017"), "{chain}");
    }

    #[test]
    fn a_timeout_says_how_long_was_waited() {
        let error = StoreError::TimedOut(Duration::from_millis(1500));
        assert_eq!(Chain(&error).to_string(), "MongoDB did not answer within 1500 ms");
    }
}
