//! A child's provider authorization: the `fitbit` sub-document of `userauths` (docs/decisions.md#stored-documents).

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenStatus {
    ValidToken,
    InvalidToken,
    InvalidGrant,
}

/// Tokens in clear, as the service uses them. Storage encrypts them; see `store::userauths`.
#[derive(Clone, PartialEq)]
pub struct ProviderAuth {
    pub access_token: String,
    pub refresh_token: String,
    /// Absolute expiry in epoch seconds (the JWT `exp`), despite the name (docs/decisions.md#token-expiry-and-refresh).
    pub expires_in: Option<i64>,
    pub scope: Option<super::Scopes>,
    pub token_type: String,
    /// The provider's own id of the account (JWT `sub`).
    pub user_id: Option<String>,
    pub status: Option<TokenStatus>,
    pub last_sync: Option<String>,
    pub provider: super::ProviderKind,
}

impl std::fmt::Debug for ProviderAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderAuth")
            .field("access_token", &super::mask_token(&self.access_token))
            .field("refresh_token", &super::mask_token(&self.refresh_token))
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .field("user_id", &self.user_id)
            .field("status", &self.status)
            .field("last_sync", &self.last_sync)
            .field("provider", &self.provider)
            .finish()
    }
}

/// Refresh when less than this is left (docs/decisions.md#token-expiry-and-refresh).
pub const REFRESH_MARGIN_SECS: i64 = 600;

impl ProviderAuth {
    /// True when the access token expires within the refresh margin (or its expiry is unknown).
    pub fn needs_refresh(&self, now_secs: i64) -> bool {
        match self.expires_in {
            Some(exp) => exp - now_secs < REFRESH_MARGIN_SECS,
            None => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(exp: Option<i64>) -> ProviderAuth {
        ProviderAuth {
            access_token: "eyJhbGciOiJIUzI1NiJ9.x.y".into(),
            refresh_token: "d6ccf77f84d342267f9f011d2e16fb9e".into(),
            expires_in: exp,
            scope: None,
            token_type: "Bearer".into(),
            user_id: None,
            status: None,
            last_sync: None,
            provider: Default::default(),
        }
    }

    #[test]
    fn refreshes_inside_the_ten_minute_margin() {
        assert!(!auth(Some(1_000 + 601)).needs_refresh(1_000));
        assert!(auth(Some(1_000 + 599)).needs_refresh(1_000));
        assert!(auth(Some(500)).needs_refresh(1_000));
        assert!(auth(None).needs_refresh(1_000));
    }

    #[test]
    fn debug_masks_tokens() {
        let text = format!("{:?}", auth(None));
        assert!(!text.contains("d6ccf77f84d342267f9f011d2e16fb9e") && text.contains("d6ccf7…"), "{text}");
    }
}
