//! A lock shared by every instance: `SET key token NX PX ttl`, released only by the holder of `token` (a
//! compare-and-delete script), and expiring by itself if the holder dies.

use std::sync::LazyLock;
use std::time::Duration;

use rand::RngCore;

use super::{Coordination, CoordinationError};

/// Proof of holding a lock. Release it with [`Coordination::unlock`]; if dropped, the TTL frees it.
#[derive(Debug)]
pub struct LockGuard {
    pub(super) key: String,
    pub(super) token: String,
}

static UNLOCK: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r#"if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) else return 0 end"#,
    )
});
const POLL_EVERY: Duration = Duration::from_millis(50);

impl Coordination {
    pub async fn try_lock(&self, key: &str, ttl: Duration) -> Result<Option<LockGuard>, CoordinationError> {
        let mut bytes = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut bytes);
        let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let mut conn = self.connection().await?;
        let acquired: Option<String> = redis::cmd("SET")
            .arg(key)
            .arg(&token)
            .arg("NX")
            .arg("PX")
            .arg(ttl.as_millis() as u64)
            .query_async(&mut conn)
            .await?;
        Ok(acquired.map(|_| LockGuard { key: key.to_string(), token }))
    }

    /// Tries until `wait` has passed; `None` if the lock stayed taken.
    pub async fn lock_waiting(
        &self,
        key: &str,
        ttl: Duration,
        wait: Duration,
    ) -> Result<Option<LockGuard>, CoordinationError> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(guard) = self.try_lock(key, ttl).await? {
                return Ok(Some(guard));
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok(None);
            }
            tokio::time::sleep(POLL_EVERY).await;
        }
    }

    /// Releases the lock if it is still ours; false when it had expired and someone else holds it now.
    pub async fn unlock(&self, guard: LockGuard) -> Result<bool, CoordinationError> {
        let mut conn = self.connection().await?;
        let deleted: i64 = UNLOCK.key(&guard.key).arg(&guard.token).invoke_async(&mut conn).await?;
        Ok(deleted == 1)
    }
}
