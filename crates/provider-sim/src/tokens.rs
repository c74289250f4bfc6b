//! The pair of tokens both providers' token stores hand out.

/// A freshly issued access and refresh token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    /// Expiry of the access token, epoch seconds.
    pub expires_at: i64,
}
