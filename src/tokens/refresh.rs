//! Token refresh, for either provider. A Fitbit refresh token works once, so two concurrent refreshes of one child would lose it: a Redis
//! lock per child makes the refresh exclusive across instances, and whoever waited re-reads the stored tokens
//! instead of refreshing again.

use std::sync::Arc;
use std::time::Duration;

use crate::coordination::{Coordination, CoordinationError};
use crate::domain::{ChildId, ProviderAuth, ScopeError, Scopes, TokenStatus};
use crate::error_chain::Chain;
use crate::metrics::{RefreshLabels, RefreshOutcome};
use crate::provider::{ProviderError, ProviderErrorKind, Providers};
use crate::store::{StoreError, StoredAuth, UserAuths};

/// Longer than a refresh call can take (timeout × retries), so the lock never expires under a live holder.
const LOCK_TTL: Duration = Duration::from_secs(60);
const LOCK_WAIT: Duration = Duration::from_secs(65);

#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    #[error("the child has no authorization")]
    NoAuthorization,
    #[error(transparent)]
    Provider(#[from] ProviderError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Coordination(#[from] CoordinationError),
    #[error("another refresh of this child did not finish in time")]
    Busy,
    /// The stored tokens allow reading none of the synced data.
    #[error(transparent)]
    Scope(#[from] ScopeError),
}

/// Tokens a sync can use: the record as read (a later refresh must still find it in place), the tokens to send, and
/// whether they were refreshed just now.
pub struct UsableTokens {
    pub stored: StoredAuth,
    pub auth: ProviderAuth,
    pub refreshed: bool,
}

#[derive(Clone)]
pub struct TokenService {
    userauths: UserAuths,
    providers: Providers,
    coordination: Arc<Coordination>,
}

impl TokenService {
    pub fn new(userauths: UserAuths, providers: Providers, coordination: Arc<Coordination>) -> Self {
        TokenService { userauths, providers, coordination }
    }

    /// The child's tokens for a sync: they must allow reading some synced data (checked before anything is
    /// refreshed), are refreshed first when less than 10 minutes remain (docs/decisions.md#token-expiry-and-refresh),
    /// and are refused while marked `invalid_token`, until a refresh or new tokens
    /// (docs/decisions.md#invalid-tokens-stay-invalid).
    pub async fn usable_tokens(&self, child: ChildId) -> Result<UsableTokens, RefreshError> {
        let stored = self.userauths.find(child).await?.ok_or(RefreshError::NoAuthorization)?;
        Scopes::check_synced(stored.auth.scope.as_ref())?;
        let refreshed = stored.auth.needs_refresh(chrono::Utc::now().timestamp());
        let auth = if refreshed { self.refresh(child, &stored).await? } else { stored.auth.clone() };
        if auth.status == Some(TokenStatus::InvalidToken) {
            let error = ProviderError::new(ProviderErrorKind::MarkedInvalid, "the stored tokens are marked invalid");
            return Err(error.with_tokens(Some(&auth.access_token), None).into());
        }
        Ok(UsableTokens { stored, auth, refreshed })
    }

    /// Refreshes the tokens read as `seen`, unless another refresh replaced them meanwhile; then those are returned.
    pub async fn refresh(&self, child: ChildId, seen: &StoredAuth) -> Result<ProviderAuth, RefreshError> {
        let key = format!("ds-agent:lock:refresh:{child}");
        let guard = self.coordination.lock_waiting(&key, LOCK_TTL, LOCK_WAIT).await?.ok_or(RefreshError::Busy)?;
        let result = self.refresh_locked(child, seen).await;
        let outcome = if result.is_ok() { RefreshOutcome::Success } else { RefreshOutcome::Failed };
        crate::metrics::get().token_refreshes.get_or_create(&RefreshLabels { outcome }).inc();
        if let Err(e) = self.coordination.unlock(guard).await {
            tracing::warn!("Refresh lock of child {child} not released, it expires by itself: {}", Chain(&e));
        }
        result
    }

    async fn refresh_locked(&self, child: ChildId, seen: &StoredAuth) -> Result<ProviderAuth, RefreshError> {
        let latest = self.userauths.find(child).await?.ok_or(RefreshError::NoAuthorization)?;
        // Compared in clear: the same token sealed again by a re-seal is not a refresh by someone else.
        if latest.auth.refresh_token != seen.auth.refresh_token {
            return Ok(latest.auth);
        }
        let grant = match self.providers.refresh(&latest.auth).await {
            Ok(grant) => grant,
            Err(e) if e.kind == ProviderErrorKind::InvalidGrant => {
                // Another writer may have refreshed after our read: only the stored tokens can tell.
                match self.userauths.find(child).await? {
                    Some(again) if again.auth.refresh_token != latest.auth.refresh_token => return Ok(again.auth),
                    _ => return Err(e.into()),
                }
            }
            Err(e) => return Err(e.into()),
        };
        let fresh = ProviderAuth {
            access_token: grant.access_token,
            refresh_token: grant.refresh_token,
            expires_in: grant.expires_in,
            scope: grant.scope,
            token_type: "Bearer".into(),
            user_id: grant.user_id,
            status: Some(TokenStatus::ValidToken),
            last_sync: latest.auth.last_sync.clone(),
            provider: latest.auth.provider,
        };
        if self.userauths.replace_tokens(child, &latest, &fresh).await? {
            tracing::debug!("Tokens of child {child} refreshed");
            return Ok(fresh);
        }
        // New tokens were POSTed while we refreshed: that newer authorization wins.
        tracing::warn!("Tokens of child {child} were replaced during a refresh; keeping the newer authorization");
        self.userauths.find(child).await?.map(|s| s.auth).ok_or(RefreshError::NoAuthorization)
    }
}
