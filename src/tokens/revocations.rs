//! Revoking a child's grant at the provider. The local tokens are always removed when a user asks to disconnect
//! (docs/decisions.md#revoke); a remote revoke that failed for a reason that may pass is kept (tokens sealed) in the
//! `revocations` collection and retried in the background with a growing delay. An entry whose tokens no configured
//! key opens is kept, logged and counted, and looked at again every few hours, until an operator configures the key
//! that sealed it (docs/operations.md#security).

use std::time::Duration;

use chrono::{DateTime, Utc};
use mongodb::bson::{doc, Document};
use mongodb::options::ReturnDocument;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::backoff::Backoff;
use crate::domain::{ChildId, ProviderAuth, ProviderKind};
use crate::error_chain::Chain;
use crate::provider::{ProviderError, ProviderErrorKind, Providers};
use crate::shutdown::Periodic;
use crate::store::{bson_time, Aad, Store, StoreError, TokenCipher, REVOCATIONS};

const MAX_ATTEMPTS: i32 = 8;
/// The delay after the first failed revoke, doubled after each further one, at most 6 h.
const RETRIES: Backoff = Backoff::doubling(Duration::from_secs(60)).at_most(Duration::from_secs(6 * 3600));
const FIRST_DELAY: chrono::Duration = chrono::Duration::seconds(RETRIES.first.as_secs() as i64);
const MAX_DELAY: chrono::Duration = chrono::Duration::seconds(RETRIES.max.as_secs() as i64);
/// A claimed entry is invisible to other instances this long, then claimable again if its worker died.
const LEASE: chrono::Duration = chrono::Duration::minutes(10);
const POLL_EVERY: Duration = Duration::from_secs(30);
/// How long an entry whose tokens do not open waits before it is tried again (with the keys configured by then).
const UNDECRYPTABLE_DELAY: chrono::Duration = MAX_DELAY;

#[derive(Debug, PartialEq)]
pub enum RevokeOutcome {
    Revoked,
    /// The grant was already dead at the provider, or cannot be reached any more (legacy API retired).
    NothingToRevoke,
    /// Failed for now; kept for a later attempt.
    Deferred,
}

#[derive(Clone)]
pub struct Revocations {
    store: Store,
    cipher: TokenCipher,
    providers: Providers,
}

impl Revocations {
    pub fn new(store: Store, cipher: TokenCipher, providers: Providers) -> Self {
        Revocations { store, cipher, providers }
    }

    /// Revokes now; on a passing failure keeps the revocation for the background retries.
    pub async fn revoke(&self, child: ChildId, auth: &ProviderAuth) -> Result<RevokeOutcome, StoreError> {
        match self.attempt(auth.provider, &auth.access_token, &auth.refresh_token).await {
            Ok(outcome) => Ok(outcome),
            Err(e) => {
                tracing::warn!("Revoke at the provider failed for child {child}, retrying later: {e}");
                let document = doc! {
                    "user_id": child.object_id(),
                    "access_token": self.cipher.seal(&auth.access_token, &Aad::revocation(child, "access_token")),
                    "refresh_token": self.cipher.seal(&auth.refresh_token, &Aad::revocation(child, "refresh_token")),
                    "provider": auth.provider.as_str(),
                    "attempts": 1,
                    "next_attempt_at": bson_time(Utc::now() + FIRST_DELAY),
                    "created_at": bson_time(Utc::now()),
                };
                self.store.timed(self.store.collection(REVOCATIONS).insert_one(document)).await?;
                Ok(RevokeOutcome::Deferred)
            }
        }
    }

    /// Retries every revocation due at `now`; returns how many were settled (revoked or given up).
    pub async fn retry_due(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let mut settled = 0;
        while let Some(entry) = self.claim(now).await? {
            let id = entry.get_object_id("_id").map_err(StoreError::Malformed)?;
            let attempts = entry.get_i32("attempts").unwrap_or(1);
            let provider = entry.get_str("provider").ok().and_then(ProviderKind::parse).unwrap_or_default();
            let collection = self.store.collection(REVOCATIONS);
            let child = entry.get_object_id("user_id").ok().map(ChildId::from);
            let stored = |key: &str| entry.get_str(key).ok().filter(|value| !value.is_empty());
            let tokens = match (child, stored("access_token"), stored("refresh_token")) {
                (Some(child), Some(access), Some(refresh)) => {
                    let open = |value: &str, field: &str| self.cipher.open(value, &Aad::revocation(child, field));
                    match (open(access, "access_token"), open(refresh, "refresh_token")) {
                        (Ok(access), Ok(refresh)) => Some((access, refresh)),
                        (Err(e), _) | (_, Err(e)) => {
                            // Kept: deleting it would leave the grant alive at the provider, unrevoked.
                            tracing::error!(
                                "Revocation {id} of child {child} kept: its tokens cannot be decrypted ({e}); next \
                                 try in {} h",
                                UNDECRYPTABLE_DELAY.num_hours()
                            );
                            crate::metrics::get().revocations_undecryptable.inc();
                            let update = doc! {"$set": {"next_attempt_at": bson_time(now + UNDECRYPTABLE_DELAY)}};
                            self.store.timed(collection.update_one(doc! {"_id": id}, update)).await?;
                            continue;
                        }
                    }
                }
                _ => None,
            };
            let result = match tokens {
                Some((access, refresh)) => self.attempt(provider, &access, &refresh).await,
                None => Ok(RevokeOutcome::NothingToRevoke),
            };
            match result {
                Err(e) if attempts < MAX_ATTEMPTS => {
                    // `attempts` revokes have failed before this one: 1 min × 2^attempts, at most 6 h.
                    let delay = RETRIES.delay(attempts.max(0) as u32 + 1);
                    let delay = chrono::Duration::from_std(delay).unwrap_or(MAX_DELAY);
                    tracing::warn!("Revoke retry {attempts} failed, next in {} min: {e}", delay.num_minutes());
                    let update = doc! {"$set": {
                        "attempts": attempts + 1,
                        "next_attempt_at": bson_time(now + delay),
                    }};
                    self.store.timed(collection.update_one(doc! {"_id": id}, update)).await?;
                }
                other => {
                    if let Err(e) = other {
                        tracing::error!("Revoke at the provider given up after {attempts} attempts: {e}");
                    }
                    self.store.timed(collection.delete_one(doc! {"_id": id})).await?;
                    settled += 1;
                }
            }
        }
        Ok(settled)
    }

    /// Takes one due entry for this instance by pushing its next attempt a lease ahead.
    async fn claim(&self, now: DateTime<Utc>) -> Result<Option<Document>, StoreError> {
        let filter = doc! {"next_attempt_at": {"$lte": bson_time(now)}};
        let update = doc! {"$set": {"next_attempt_at": bson_time(now + LEASE)}};
        let collection = self.store.collection(REVOCATIONS);
        let call = collection
            .find_one_and_update(filter, update)
            .sort(doc! {"next_attempt_at": 1})
            .return_document(ReturnDocument::Before);
        self.store.timed(call).await
    }

    /// One revoke; errors are the failures worth retrying.
    async fn attempt(
        &self,
        provider: ProviderKind,
        access: &str,
        refresh: &str,
    ) -> Result<RevokeOutcome, ProviderError> {
        match self.providers.revoke(provider, access, refresh).await {
            Ok(()) => Ok(RevokeOutcome::Revoked),
            Err(e) => match e.kind {
                ProviderErrorKind::InvalidToken
                | ProviderErrorKind::InvalidGrant
                | ProviderErrorKind::ExpiredToken
                | ProviderErrorKind::LegacyRetired => Ok(RevokeOutcome::NothingToRevoke),
                _ => Err(e),
            },
        }
    }
}

pub fn spawn_revocation_retries(revocations: Revocations, shutdown: CancellationToken) -> JoinHandle<()> {
    tokio::spawn(async move {
        let periodic = Periodic::new(&shutdown, POLL_EVERY);
        while periodic.next().await {
            if let Err(e) = revocations.retry_due(Utc::now()).await {
                tracing::warn!("Revoke retries paused: {}", Chain(&e));
            }
        }
    })
}
