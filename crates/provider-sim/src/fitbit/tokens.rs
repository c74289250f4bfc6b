//! Every token the simulator has issued, grouped in grants: one user's authorisation of the app with its scopes, and
//! all the tokens refreshed from it. Grants are what make refresh tokens single use and let a revoke kill an
//! authorisation as a whole, as on Fitbit.

use std::collections::HashMap;

use rand::Rng;

use super::jwt::{Claims, Signer};
use crate::tokens::TokenPair;

struct Grant {
    user: String,
    scopes: String,
    revoked: bool,
}

struct AccessToken {
    grant: usize,
    exp: i64,
    iat: i64,
}

struct RefreshToken {
    grant: usize,
    used: bool,
}

/// What an access token is worth right now.
pub(crate) enum AccessState<'a> {
    Unknown,
    Revoked { user: &'a str },
    Expired { user: &'a str },
    Active { user: &'a str, scopes: &'a str, exp: i64, iat: i64 },
}

/// A successful refresh: the new pair and the grant it continues.
pub(crate) struct Refreshed {
    pub pair: TokenPair,
    pub user: String,
    pub scopes: String,
}

pub(crate) struct TokenStore {
    signer: Signer,
    client_id: String,
    grants: Vec<Grant>,
    access: HashMap<String, AccessToken>,
    refresh: HashMap<String, RefreshToken>,
}

impl TokenStore {
    pub(crate) fn new(client_id: String) -> TokenStore {
        TokenStore {
            signer: Signer::random(),
            client_id,
            grants: Vec::new(),
            access: HashMap::new(),
            refresh: HashMap::new(),
        }
    }

    /// A new grant, as if the user had just authorised the app on fitbit.com.
    /// The client named in the claims of the tokens issued from now on.
    pub(crate) fn set_client_id(&mut self, client_id: String) {
        self.client_id = client_id;
    }

    pub(crate) fn issue(&mut self, user: &str, scopes: &str, expires_in: i64, now: i64) -> TokenPair {
        self.grants.push(Grant { user: user.to_string(), scopes: scopes.to_string(), revoked: false });
        self.mint(self.grants.len() - 1, expires_in, now)
    }

    fn mint(&mut self, grant: usize, expires_in: i64, now: i64) -> TokenPair {
        let exp = now + expires_in;
        let access_token = {
            let g = &self.grants[grant];
            let claims = Claims {
                aud: &self.client_id,
                sub: &g.user,
                iss: "Fitbit",
                typ: "access_token",
                scopes: &g.scopes,
                exp,
                iat: now,
                jti: random_hex(16),
            };
            self.signer.sign(&claims)
        };
        let refresh_token = random_hex(32);
        self.access.insert(access_token.clone(), AccessToken { grant, exp, iat: now });
        self.refresh.insert(refresh_token.clone(), RefreshToken { grant, used: false });
        TokenPair { access_token, refresh_token, expires_at: exp }
    }

    /// Trades a refresh token for a new pair. The old refresh token is spent; the old access token lives on until it
    /// expires. `None` when the token is unknown, spent or revoked.
    pub(crate) fn refresh(&mut self, refresh_token: &str, ttl: i64, now: i64) -> Option<Refreshed> {
        let grant = {
            let token = self.refresh.get_mut(refresh_token)?;
            if token.used || self.grants[token.grant].revoked {
                return None;
            }
            token.used = true;
            token.grant
        };
        let pair = self.mint(grant, ttl, now);
        let g = &self.grants[grant];
        Some(Refreshed { pair, user: g.user.clone(), scopes: g.scopes.clone() })
    }

    /// Revokes the grant `token` (access or refresh) belongs to. Unknown tokens are ignored, as RFC 7009 wants.
    pub(crate) fn revoke(&mut self, token: &str) {
        if let Some(grant) = self.grant_of(token) {
            self.grants[grant].revoked = true;
        }
    }

    /// The user a token (access or refresh, in any state) was issued to.
    pub(crate) fn user_of(&self, token: &str) -> Option<&str> {
        self.grant_of(token).map(|g| self.grants[g].user.as_str())
    }

    fn grant_of(&self, token: &str) -> Option<usize> {
        self.access.get(token).map(|t| t.grant).or_else(|| self.refresh.get(token).map(|t| t.grant))
    }

    pub(crate) fn access_state(&self, token: &str, now: i64) -> AccessState<'_> {
        let Some(t) = self.access.get(token) else { return AccessState::Unknown };
        let g = &self.grants[t.grant];
        if g.revoked {
            AccessState::Revoked { user: &g.user }
        } else if t.exp <= now {
            AccessState::Expired { user: &g.user }
        } else {
            AccessState::Active { user: &g.user, scopes: &g.scopes, exp: t.exp, iat: t.iat }
        }
    }

    pub(crate) fn is_refresh_valid(&self, token: &str) -> bool {
        self.refresh.get(token).is_some_and(|t| !t.used && !self.grants[t.grant].revoked)
    }
}

fn random_hex(bytes: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..bytes).map(|_| format!("{:02x}", rng.gen::<u8>())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_tokens_are_single_use_and_keep_the_grant() {
        let mut store = TokenStore::new("C".into());
        let first = store.issue("U", "rwei", 100, 1_000);
        let second = store.refresh(&first.refresh_token, 50, 1_010).expect("first use succeeds");
        assert_eq!((second.user.as_str(), second.scopes.as_str()), ("U", "rwei"));
        assert!(store.refresh(&first.refresh_token, 50, 1_020).is_none());
        assert!(matches!(store.access_state(&first.access_token, 1_020), AccessState::Active { .. }));
        store.revoke(&second.pair.refresh_token);
        assert!(matches!(store.access_state(&first.access_token, 1_020), AccessState::Revoked { .. }));
        assert!(!store.is_refresh_valid(&second.pair.refresh_token));
    }

    #[test]
    fn refresh_tokens_are_64_hex_chars() {
        let pair = TokenStore::new("C".into()).issue("U", "rwei", 100, 0);
        assert_eq!(pair.refresh_token.len(), 64);
        assert!(pair.refresh_token.chars().all(|c| c.is_ascii_hexdigit()));
    }
}
