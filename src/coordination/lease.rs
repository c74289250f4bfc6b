//! A lock held for as long as its holder lives: a short TTL, renewed in the background while the work runs, and
//! released when the lease ends, however it ends (returned, failed, panicked, cancelled). A crashed instance's
//! leases expire within one TTL instead of holding a child for the length of the longest job.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::lock::LockGuard;
use super::{Coordination, CoordinationError};
use crate::error_chain::Chain;

static RENEW: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r#"if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("PEXPIRE", KEYS[1], ARGV[2]) else return 0 end"#,
    )
});

/// Proof of holding a renewed lock. Dropping it releases the lock (from a task of its own); [`Lease::release`] does
/// it in place.
pub struct Lease {
    coordination: Arc<Coordination>,
    guard: Option<LockGuard>,
    renewer: JoinHandle<()>,
    lost: CancellationToken,
}

impl Coordination {
    /// Takes `key` for `ttl` and keeps it while the returned lease lives, renewing every third of `ttl`; `None` when
    /// someone else holds it.
    pub async fn try_lease(self: &Arc<Self>, key: &str, ttl: Duration) -> Result<Option<Lease>, CoordinationError> {
        let lost = self.epoch.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).leases.child_token();
        let Some(guard) = self.try_lock(key, ttl).await? else { return Ok(None) };
        let renewer = tokio::spawn(renew(self.clone(), guard.key.clone(), guard.token.clone(), ttl, lost.clone()));
        Ok(Some(Lease { coordination: self.clone(), guard: Some(guard), renewer, lost }))
    }
}

impl Lease {
    /// Cancelled once the lock is no longer held: its key vanished (Redis lost its data) or expired before a renewal.
    /// The holder stops at its next safe point: a second holder may already be at work.
    pub fn lost(&self) -> &CancellationToken {
        &self.lost
    }

    /// Releases the lock now; false when it had expired and someone else holds it.
    pub async fn release(mut self) -> Result<bool, CoordinationError> {
        self.renewer.abort();
        let guard = self.guard.take().expect("a lease holds its guard until released");
        self.coordination.unlock(guard).await
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.renewer.abort();
        let Some(guard) = self.guard.take() else { return };
        // Dropped without `release` (a panic, a cancelled future): release it from a task, if a runtime is left to
        // run one; otherwise the TTL frees it.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let coordination = self.coordination.clone();
            runtime.spawn(async move {
                if let Err(e) = coordination.unlock(guard).await {
                    tracing::warn!("A lock was not released, it expires by itself: {}", Chain(&e));
                }
            });
        }
    }
}

async fn renew(coordination: Arc<Coordination>, key: String, token: String, ttl: Duration, lost: CancellationToken) {
    let every = ttl / 3;
    loop {
        tokio::time::sleep(every).await;
        let renewed = async {
            let mut conn = coordination.connection().await?;
            let kept: i64 = RENEW.key(&key).arg(&token).arg(ttl.as_millis() as u64).invoke_async(&mut conn).await?;
            Ok::<_, CoordinationError>(kept == 1)
        };
        match renewed.await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!("Lock {key} vanished before it was renewed; another holder may have it now");
                lost.cancel();
                return;
            }
            // Redis is down: the next round tries again, the TTL still covers a third of the way.
            Err(e) => tracing::warn!("Lock {key} not renewed: {}", Chain(&e)),
        }
    }
}
