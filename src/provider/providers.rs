//! One interface over both providers for what the token life cycle needs (refresh, revoke), so the refresh service,
//! the revocations and the routes do not care which provider a child is on.

use super::fitbit::jwt::decode_claims;
use super::fitbit::FitbitClient;
use super::google::GoogleClient;
use super::{ProviderError, ProviderErrorKind};
use crate::domain::{ProviderAuth, ProviderKind};

#[derive(Clone)]
pub struct Providers {
    pub fitbit: FitbitClient,
    pub google: GoogleClient,
}

/// New tokens from a refresh, in the stored record's terms.
#[derive(Clone)]
pub struct Refreshed {
    pub access_token: String,
    pub refresh_token: String,
    /// Absolute expiry in epoch seconds.
    pub expires_in: Option<i64>,
    pub scope: Option<String>,
    pub user_id: Option<String>,
}

impl Providers {
    pub async fn refresh(&self, auth: &ProviderAuth) -> Result<Refreshed, ProviderError> {
        match auth.provider {
            ProviderKind::Fitbit => {
                let grant = self.fitbit.refresh(&auth.access_token, &auth.refresh_token).await?;
                // Only the tokens are taken from the answer; the rest comes from the new JWT's claims.
                let claims = decode_claims(&grant.access_token).unwrap_or_default();
                Ok(Refreshed {
                    access_token: grant.access_token,
                    refresh_token: grant.refresh_token,
                    expires_in: claims.exp,
                    scope: claims.scopes,
                    user_id: claims.sub,
                })
            }
            ProviderKind::Google => {
                let grant = self.google.refresh(&auth.refresh_token).await?;
                Ok(Refreshed {
                    expires_in: grant.expires_at(),
                    // Google's refresh tokens do not rotate: keep the stored one unless a new one came.
                    refresh_token: grant.refresh_token.clone().unwrap_or_else(|| auth.refresh_token.clone()),
                    scope: grant.scope.clone().or_else(|| auth.scope.clone()),
                    user_id: auth.user_id.clone(),
                    access_token: grant.access_token,
                })
            }
        }
    }

    /// Revokes the grant: with the access token, or with the refresh token when the access token has expired.
    pub async fn revoke(&self, provider: ProviderKind, access: &str, refresh: &str) -> Result<(), ProviderError> {
        match provider {
            ProviderKind::Fitbit => match self.fitbit.revoke(access).await {
                Err(e) if e.kind == ProviderErrorKind::ExpiredToken => self.fitbit.revoke(refresh).await,
                other => other,
            },
            // Revoking the refresh token ends the whole grant, access tokens included.
            ProviderKind::Google => self.google.revoke(refresh).await,
        }
    }
}
