//! The background task that makes the first MongoDB connection (retrying every 2 s, as the original did), creates the
//! indexes, and then logs losses and reconnections with the original's texts.

use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::Store;

const RETRY_EVERY: Duration = Duration::from_secs(2);
const WATCH_EVERY: Duration = Duration::from_secs(5);

pub fn spawn_connector(store: Store, shutdown: CancellationToken) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let attempt = async {
                store.ping().await?;
                store.ensure_indexes().await
            };
            match attempt.await {
                Ok(()) => {
                    tracing::info!("Connection established with MongoDb...");
                    break;
                }
                Err(e) => tracing::warn!("Error trying to connect for the first time with mongoDB: {e}"),
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(RETRY_EVERY) => {}
            }
        }
        let mut connected = true;
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(WATCH_EVERY) => {}
            }
            let reachable = store.ping().await.is_ok();
            match (reachable, connected) {
                (false, true) => tracing::warn!("Connection to MongoDb was lost..."),
                (true, false) => tracing::warn!("Reconnection established with MongoDb..."),
                _ => {}
            }
            connected = reachable;
        }
    })
}
