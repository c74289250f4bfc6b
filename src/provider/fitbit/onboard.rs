//! Fitbit's checks of handed-over tokens, in the original's order: the JWT is decoded first, then (once the route has
//! checked the child id and the fields) the scope in its claims, then introspection.

use super::jwt::{decode_claims, Claims};
use super::FitbitClient;
use crate::domain::{ProviderAuth, ProviderKind, ScopeError, Scopes, TokenStatus};
use crate::provider::onboarding::{OnboardingError, TokenFacts, Unreadable};
use crate::provider::ProviderErrorKind;

/// What POST auth reads off a Fitbit access token first: its JWT claims (none when no token came).
#[derive(Clone, Debug, Default)]
pub struct FitbitTokenFacts {
    claims: Option<Claims>,
}

impl FitbitClient {
    /// The access token's claims, before any other check of POST auth.
    pub fn read_token(access_token: Option<&str>) -> Result<TokenFacts, Unreadable> {
        let claims = access_token.map(decode_claims).transpose().map_err(|_| Unreadable)?;
        Ok(TokenFacts::Fitbit(FitbitTokenFacts { claims }))
    }

    /// The authorization to store for tokens whose claims allow a synced feature and that Fitbit says are active.
    pub async fn authorization(
        &self,
        access_token: &str,
        refresh_token: &str,
        facts: FitbitTokenFacts,
    ) -> Result<ProviderAuth, OnboardingError> {
        let claims = facts.claims.unwrap_or_default();
        Scopes::check_synced(claims.scopes.as_ref())
            .map_err(|_| OnboardingError::Scope { description: ScopeError::DESCRIPTION })?;
        match self.introspect(access_token).await {
            Ok(true) => {}
            Ok(false) => return Err(OnboardingError::Inactive),
            Err(e) if e.kind == ProviderErrorKind::LegacyRetired => return Err(OnboardingError::Refused(e)),
            Err(e) => return Err(OnboardingError::Unreachable(e)),
        }
        Ok(ProviderAuth {
            access_token: access_token.to_string(),
            refresh_token: refresh_token.to_string(),
            expires_in: claims.exp,
            scope: claims.scopes,
            token_type: "Bearer".into(),
            user_id: claims.sub,
            status: Some(TokenStatus::ValidToken),
            last_sync: None,
            provider: ProviderKind::Fitbit,
        })
    }
}
