//! Redis keeps no data of record and may come back empty at any time: a restart without persistence, a failover to a
//! replica that had not caught up, an operator's `FLUSHALL`. A marker key, written only once the service's state in
//! Redis has been (re)built, tells such a loss apart from an ordinary day: when it is missing, everything the service
//! kept in Redis is gone and the caller rebuilds it (see `recovery`). Each instance remembers the marker it last saw;
//! a different one means another instance found the loss first. Either way the leases this instance took before the
//! loss lock nothing any more, so their holders are told to stop.

use rand::RngCore;

use super::{Coordination, CoordinationError};

/// What the marker says about Redis's state since the last look.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EpochCheck {
    /// The state this instance knows is still there.
    Unchanged,
    /// No marker: Redis lost the service's state (or never had it). The caller rebuilds it, then calls
    /// [`Coordination::begin_epoch`].
    Lost,
    /// Another instance rebuilt the state after a loss this instance did not see.
    Replaced,
}

impl Coordination {
    /// Asks for an epoch check now: a caller saw a sign of lost data (a missing consumer group).
    pub fn suspect_loss(&self) {
        self.loss_suspected.notify_one();
    }

    /// Resolves when [`Coordination::suspect_loss`] was called since the last time.
    pub async fn loss_suspected(&self) {
        self.loss_suspected.notified().await;
    }

    /// Reads the marker. On a loss the leases taken before it are ended at once, before anything is rebuilt.
    pub async fn check_epoch(&self, marker: &str) -> Result<EpochCheck, CoordinationError> {
        let mut conn = self.connection().await?;
        let current: Option<String> = redis::cmd("GET").arg(marker).query_async(&mut conn).await?;
        let mut epoch = self.epoch.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let check = match (current, epoch.seen.as_deref()) {
            (None, _) => EpochCheck::Lost,
            (Some(current), Some(seen)) if current == seen => EpochCheck::Unchanged,
            // The first look since this instance started: whatever is there is what it knows.
            (Some(current), None) => {
                epoch.seen = Some(current);
                EpochCheck::Unchanged
            }
            (Some(current), Some(_)) => {
                epoch.seen = Some(current);
                EpochCheck::Replaced
            }
        };
        if check != EpochCheck::Unchanged {
            epoch.end_leases();
        }
        Ok(check)
    }

    /// Marks the state rebuilt: writes a new marker unless another instance already has, and adopts the one there is.
    pub async fn begin_epoch(&self, marker: &str) -> Result<(), CoordinationError> {
        let mut bytes = [0u8; 8];
        rand::thread_rng().fill_bytes(&mut bytes);
        let mine: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let mut conn = self.connection().await?;
        let (_, current): ((), Option<String>) = redis::pipe()
            .cmd("SET")
            .arg(marker)
            .arg(&mine)
            .arg("NX")
            .ignore()
            .cmd("GET")
            .arg(marker)
            .query_async(&mut conn)
            .await
            .map(|(current,): (Option<String>,)| ((), current))?;
        self.epoch.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).seen = current;
        Ok(())
    }
}

impl super::Epoch {
    /// Cancels every lease taken so far; later leases watch a new token.
    fn end_leases(&mut self) {
        let ended = std::mem::take(&mut self.leases);
        ended.cancel();
    }
}
