//! Which provider holds a child's data. Stored as `fitbit.provider` in `userauths`, an additive field: records
//! written by the original have none and read as Fitbit.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// The legacy Fitbit Web API, shut down on 2 Nov 2026.
    #[default]
    Fitbit,
    /// The Google Health API, its successor.
    Google,
}

impl ProviderKind {
    /// Every provider, for what is counted per provider.
    pub const ALL: [ProviderKind; 2] = [ProviderKind::Fitbit, ProviderKind::Google];

    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Fitbit => "fitbit",
            ProviderKind::Google => "google",
        }
    }

    /// The `fitbit.provider` value to store: none for Fitbit, which is what a record without one means.
    pub fn stored(self) -> Option<&'static str> {
        (self != ProviderKind::default()).then(|| self.as_str())
    }

    /// The provider's name in logs and in `resources.provider`.
    pub fn label(self) -> &'static str {
        match self {
            ProviderKind::Fitbit => "Fitbit",
            ProviderKind::Google => "Google",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "fitbit" => Some(ProviderKind::Fitbit),
            "google" => Some(ProviderKind::Google),
            _ => None,
        }
    }

    /// Without a `provider` field, POST auth decides by the token's shape: Fitbit access tokens are JWTs (three
    /// base64url parts), Google's are opaque (`ya29.…`).
    pub fn guess(access_token: &str) -> Self {
        let parts: Vec<&str> = access_token.split('.').collect();
        let base64url = |part: &&str| {
            !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'=')
        };
        if parts.len() == 3 && parts.iter().all(base64url) && access_token.starts_with("eyJ") {
            ProviderKind::Fitbit
        } else {
            ProviderKind::Google
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwt_shaped_tokens_are_fitbit_and_the_rest_google() {
        assert_eq!(ProviderKind::guess("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJBIn0.c2ln"), ProviderKind::Fitbit);
        assert_eq!(ProviderKind::guess("ya29.a0AfH6SMB-x_y"), ProviderKind::Google);
        assert_eq!(ProviderKind::guess("not a token"), ProviderKind::Google);
        assert_eq!(ProviderKind::parse("google"), Some(ProviderKind::Google));
        assert_eq!(ProviderKind::parse("Fitbit"), None);
    }
}
