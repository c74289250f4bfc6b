//! Google's checks of handed-over tokens (POST auth and the connect flow), in the same steps as Fitbit's: token check
//! (`/tokeninfo`), scope (the Google Health read scopes), then the `users/me/identity` call that proves the token
//! reaches the Health API. Also the consent page the connect flow sends a family to.

use super::GoogleClient;
use crate::domain::{ProviderAuth, ProviderKind, ScopeError, Scopes, TokenStatus};
use crate::domain::{GOOGLE_ACTIVITY, GOOGLE_METRICS, GOOGLE_SLEEP};
use crate::provider::onboarding::OnboardingError;

impl GoogleClient {
    /// POST auth's checks: `/tokeninfo` says whether the token lives, whom it was issued to and what it allows, then
    /// [`Self::authorization`]. A token issued to another OAuth client is not valid for this service: refused as a token
    /// that is not active (docs/decisions.md#post-auth-with-an-inactive-token), and logged as what it is.
    pub async fn check_tokens(&self, access_token: &str, refresh_token: &str) -> Result<ProviderAuth, OnboardingError> {
        let info = match self.tokeninfo(access_token).await {
            Ok(Some(info)) => info,
            Ok(None) => return Err(OnboardingError::Inactive),
            Err(e) => return Err(OnboardingError::Unreachable(e)),
        };
        if !info.issued_to(self.credentials.client_id.as_deref()) {
            tracing::warn!(
                "Google access token refused: issued to another OAuth client (aud {}), not to GOOGLE_CLIENT_ID",
                info.aud.as_deref().unwrap_or("none")
            );
            return Err(OnboardingError::Inactive);
        }
        self.authorization(access_token, refresh_token, info.scope, info.exp).await
    }

    /// The authorization to store for tokens whose scope allows a synced feature and that reach the Health API.
    /// Shared by POST auth and the connect flow's callback.
    pub async fn authorization(
        &self,
        access_token: &str,
        refresh_token: &str,
        scope: Option<Scopes>,
        expires_at: Option<i64>,
    ) -> Result<ProviderAuth, OnboardingError> {
        Scopes::check_synced(scope.as_ref())
            .map_err(|_| OnboardingError::Scope { description: ScopeError::GOOGLE_DESCRIPTION })?;
        let health_user_id = match self.identity(access_token).await {
            Ok(id) => id,
            Err(e) if e.code().is_some() && !e.is_transient() => return Err(OnboardingError::Refused(e)),
            Err(e) => return Err(OnboardingError::Unreachable(e)),
        };
        Ok(ProviderAuth {
            access_token: access_token.to_string(),
            refresh_token: refresh_token.to_string(),
            expires_in: expires_at,
            scope,
            token_type: "Bearer".into(),
            user_id: Some(health_user_id).filter(|id| !id.is_empty()),
            status: Some(TokenStatus::ValidToken),
            last_sync: None,
            provider: ProviderKind::Google,
        })
    }

    /// Google's consent page for the connect flow, asking for the read scopes of the synced features with offline
    /// access (a refresh token).
    pub fn consent_url(
        &self,
        client_id: &str,
        callback: &str,
        state: &str,
        code_challenge: &str,
        login_hint: Option<&str>,
    ) -> reqwest::Url {
        let mut consent = self.consent_page();
        consent
            .query_pairs_mut()
            .append_pair("client_id", client_id)
            .append_pair("redirect_uri", callback)
            .append_pair("response_type", "code")
            .append_pair("scope", &[GOOGLE_ACTIVITY, GOOGLE_METRICS, GOOGLE_SLEEP].join(" "))
            .append_pair("access_type", "offline")
            .append_pair("prompt", "consent")
            .append_pair("include_granted_scopes", "true")
            .append_pair("state", state)
            .append_pair("code_challenge", code_challenge)
            .append_pair("code_challenge_method", "S256");
        if let Some(hint) = login_hint {
            consent.query_pairs_mut().append_pair("login_hint", hint);
        }
        consent
    }
}
