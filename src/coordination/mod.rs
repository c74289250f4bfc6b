//! Redis, used to coordinate instances: per-child locks and the shared job queue. The full `REDIS_URI` is honoured
//! (password, db, `rediss://`). The connection is made on first use, so the API answers while Redis is down
//! (docs/decisions.md#redis).

mod epoch;
mod lease;
mod lock;

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

pub use epoch::EpochCheck;
pub use lease::Lease;
pub use lock::LockGuard;

/// The longest wait for one connection attempt: Redis answers a connect within milliseconds when it is up.
const CONNECT_WITHIN: Duration = Duration::from_secs(2);

/// A failed Redis call. The client's error is kept as the source; the messages do not repeat it, so logs show the whole
/// error with `error_chain::Chain`.
#[derive(Debug, thiserror::Error)]
pub enum CoordinationError {
    #[error("Redis is not reachable")]
    Unreachable(#[source] redis::RedisError),
    /// No answer within `REDIS_TIMEOUT_MS` (or a caller's shorter bound): Redis is treated as down.
    #[error("Redis did not answer in time")]
    TimedOut,
    /// Redis answers but a stream or consumer group the service made is gone: Redis lost its data.
    #[error("Redis lost the service's state")]
    StateLost(#[source] redis::RedisError),
    /// The key behind a lease vanished (Redis lost its data, or the lease expired during an outage): another sync of
    /// the same child may start, so this one stops at its next safe point.
    #[error("Redis lost the sync lock; the sync stopped at a safe point")]
    LeaseLost,
}

impl From<redis::RedisError> for CoordinationError {
    fn from(e: redis::RedisError) -> Self {
        if e.code() == Some("NOGROUP") {
            CoordinationError::StateLost(e)
        } else {
            CoordinationError::Unreachable(e)
        }
    }
}

pub struct Coordination {
    client: redis::Client,
    timeout: Duration,
    connection: Mutex<Option<ConnectionManager>>,
    /// Woken when a caller finds a sign that Redis lost its data, so the epoch is checked at once.
    loss_suspected: tokio::sync::Notify,
    /// The Redis state this instance last saw (see `epoch`), and the token every lease taken under it watches.
    epoch: std::sync::Mutex<Epoch>,
}

struct Epoch {
    seen: Option<String>,
    leases: CancellationToken,
}

impl Coordination {
    pub fn new(uri: &str, timeout: Duration) -> Result<Self, CoordinationError> {
        let client = redis::Client::open(uri)?;
        Ok(Coordination {
            client,
            timeout,
            connection: Mutex::new(None),
            loss_suspected: tokio::sync::Notify::new(),
            epoch: std::sync::Mutex::new(Epoch { seen: None, leases: CancellationToken::new() }),
        })
    }

    /// A multiplexed connection that reconnects by itself once it has been made.
    pub async fn connection(&self) -> Result<ConnectionManager, CoordinationError> {
        let mut slot = self.connection.lock().await;
        if let Some(conn) = slot.as_ref() {
            return Ok(conn.clone());
        }
        // While the client reconnects, every call waits for it. The crate's default pauses (its `factor` of 100 is
        // used as the multiplier of a 1 s first pause, capped at a minute) made a call wait up to two minutes for a
        // Redis that is down, far beyond the gateway's 10 s. Here a reconnection is two tries, 1 to 2 s apart, each
        // bounded by `CONNECT_WITHIN`; the next call starts another if it fails (docs/decisions.md#redis).
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(self.timeout.min(CONNECT_WITHIN))
            .set_response_timeout(self.timeout)
            .set_number_of_retries(1)
            .set_factor(2)
            .set_max_delay(1000);
        let conn = tokio::time::timeout(self.timeout, ConnectionManager::new_with_config(self.client.clone(), config))
            .await
            .map_err(|_| CoordinationError::TimedOut)??;
        *slot = Some(conn.clone());
        Ok(conn)
    }

    /// Whether `key` exists (a lock is held, for example).
    pub async fn exists(&self, key: &str) -> Result<bool, CoordinationError> {
        let mut conn = self.connection().await?;
        Ok(redis::cmd("EXISTS").arg(key).query_async(&mut conn).await?)
    }

    /// Marks `key` as used for `ttl`: `true` the first time, `false` while the mark lasts (a one-time value seen
    /// again, by any instance).
    pub async fn claim_once(&self, key: &str, ttl: Duration) -> Result<bool, CoordinationError> {
        let mut conn = self.connection().await?;
        let set: Option<String> = redis::cmd("SET")
            .arg(key)
            .arg(1)
            .arg("NX")
            .arg("PX")
            .arg(ttl.as_millis() as u64)
            .query_async(&mut conn)
            .await?;
        Ok(set.is_some())
    }

    pub async fn ping(&self) -> Result<(), CoordinationError> {
        let mut conn = self.connection().await?;
        let answer: Result<String, _> = tokio::time::timeout(self.timeout, redis::cmd("PING").query_async(&mut conn))
            .await
            .map_err(|_| CoordinationError::TimedOut)?;
        answer.map(|_| ()).map_err(CoordinationError::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error_chain::Chain;

    #[test]
    fn the_chain_shows_the_client_error_once() {
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused");
        let error = CoordinationError::from(redis::RedisError::from(refused));
        assert!(matches!(error, CoordinationError::Unreachable(_)));
        assert_eq!(Chain(&error).to_string(), "Redis is not reachable: connection refused");
    }
}
