//! The MongoDB connection life cycle: a first attempt before the API serves (so the indexes exist before the first
//! query), then a background task that retries every 2 s, as the original did, and logs losses and reconnections with
//! the original's texts.

use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::Store;
use crate::error_chain::Chain;
use crate::shutdown::Periodic;

const RETRY_EVERY: Duration = Duration::from_secs(2);
const WATCH_EVERY: Duration = Duration::from_secs(5);

/// Keeps trying to connect (unless `connected` says the first attempt, [`connect_once`], succeeded), then watches
/// the connection.
pub fn spawn_connector(store: Store, shutdown: CancellationToken, connected: bool) -> JoinHandle<()> {
    let mut connected = connected;
    tokio::spawn(async move {
        let retry = Periodic::new(&shutdown, RETRY_EVERY);
        while !connected {
            if !retry.next().await {
                return;
            }
            connected = connect_once(&store).await;
        }
        let watch = Periodic::new(&shutdown, WATCH_EVERY);
        while watch.next().await {
            let reachable = store.ping().await.is_ok();
            match (reachable, connected) {
                (false, true) => tracing::warn!("Connection to MongoDb was lost..."),
                (true, false) => {
                    tracing::warn!("Reconnection established with MongoDb...");
                    // A server that came back empty (a new container without its volume) gets its collections and
                    // indexes again before the next query relies on them.
                    if let Err(e) = store.ensure_indexes().await {
                        tracing::warn!("Indexes not re-created after the reconnection: {}", Chain(&e));
                    }
                }
                _ => {}
            }
            connected = reachable;
        }
    })
}

/// One attempt to connect and create the indexes, each call bounded by the MongoDB timeout.
pub async fn connect_once(store: &Store) -> bool {
    let attempt = async {
        store.ping().await?;
        store.ensure_indexes().await
    };
    match attempt.await {
        Ok(()) => {
            tracing::info!("Connection established with MongoDb...");
            true
        }
        Err(e) => {
            tracing::warn!("Error trying to connect for the first time with mongoDB: {}", Chain(&e));
            false
        }
    }
}
