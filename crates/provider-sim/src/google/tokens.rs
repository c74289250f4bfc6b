//! Google's tokens (docs/google-health.md#tokens-and-identity), apart from Fitbit's: authorisation codes from the fake
//! consent page, opaque access tokens living an hour, and refresh tokens that do not rotate and work until revoked (or,
//! for a "Testing" app, until they expire). A grant is one consent; revoking any of its tokens revokes it whole, as
//! Google does.

use std::collections::HashMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::distributions::Alphanumeric;
use rand::Rng;
use sha2::{Digest, Sha256};

use crate::tokens::TokenPair;

/// Google's codes are good for a few minutes.
const CODE_TTL_SECS: i64 = 600;

struct Grant {
    user: String,
    scopes: String,
    revoked: bool,
    /// Consent with `access_type=offline`, which gives a refresh token.
    offline: bool,
    /// Expiry of the refresh token, epoch seconds, for time-limited grants.
    refresh_exp: Option<i64>,
    /// Data types whose permission the user took back after consenting: the Health API answers 403 for them.
    denied: Vec<String>,
}

struct AccessToken {
    grant: usize,
    exp: i64,
}

/// What the consent page promised to the app, redeemable once at `/token`.
pub(crate) struct Code {
    pub user: String,
    pub scopes: String,
    pub client_id: String,
    pub redirect_uri: String,
    /// `access_type=offline`: the exchange also returns a refresh token.
    pub offline: bool,
    /// PKCE `(code_challenge, code_challenge_method)`.
    pub challenge: Option<(String, String)>,
    pub exp: i64,
    pub used: bool,
}

/// Why a code exchange failed; all are `invalid_grant` on the wire.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum CodeProblem {
    Unknown,
    Used,
    Expired,
    ClientMismatch,
    RedirectMismatch,
    Verifier,
}

/// What the app presents at `/token` to redeem a code.
pub(crate) struct Redemption<'a> {
    pub code: &'a str,
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub verifier: Option<&'a str>,
}

/// What an access token is worth right now.
pub(crate) enum GoogleAccess<'a> {
    Unknown,
    Revoked { user: &'a str },
    Expired { user: &'a str },
    Active { user: &'a str, scopes: &'a str, exp: i64, offline: bool, denied: &'a [String] },
}

/// A token response: the new access token, the refresh token when one is returned, and the grant's details.
pub(crate) struct Issued {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub scopes: String,
    /// Seconds the refresh token has left, for time-limited grants.
    pub refresh_expires_in: Option<i64>,
}

#[derive(Default)]
pub(crate) struct GoogleTokenStore {
    grants: Vec<Grant>,
    access: HashMap<String, AccessToken>,
    refresh: HashMap<String, usize>,
    codes: HashMap<String, Code>,
}

impl GoogleTokenStore {
    /// A new grant with an access and a refresh token, as after consent and code exchange.
    pub(crate) fn issue(
        &mut self,
        user: &str,
        scopes: &str,
        expires_in: i64,
        refresh_ttl: Option<i64>,
        now: i64,
    ) -> TokenPair {
        let grant = self.grant(user, scopes, true, refresh_ttl, now);
        let access_token = self.mint(grant, expires_in, now);
        let refresh_token = self.refresh_token(grant);
        TokenPair { access_token, refresh_token, expires_at: now + expires_in }
    }

    fn grant(&mut self, user: &str, scopes: &str, offline: bool, refresh_ttl: Option<i64>, now: i64) -> usize {
        let refresh_exp = refresh_ttl.filter(|_| offline).map(|ttl| now + ttl);
        let (user, scopes) = (user.to_string(), scopes.to_string());
        self.grants.push(Grant { user, scopes, revoked: false, offline, refresh_exp, denied: Vec::new() });
        self.grants.len() - 1
    }

    fn mint(&mut self, grant: usize, expires_in: i64, now: i64) -> String {
        let token = format!("ya29.a0{}", random(150));
        self.access.insert(token.clone(), AccessToken { grant, exp: now + expires_in });
        token
    }

    fn refresh_token(&mut self, grant: usize) -> String {
        let token = format!("1//0{}", random(100));
        self.refresh.insert(token.clone(), grant);
        token
    }

    pub(crate) fn add_code(&mut self, code: Code) -> String {
        let value = format!("4/0{}", random(70));
        self.codes.insert(value.clone(), code);
        value
    }

    pub(crate) fn code_exp(now: i64) -> i64 {
        now + CODE_TTL_SECS
    }

    /// Redeems a code: a new grant, with a refresh token when the consent was offline. The code is spent even when the
    /// exchange fails on a mismatch, as a replayed code must never work.
    pub(crate) fn exchange(
        &mut self,
        redemption: &Redemption<'_>,
        ttl: i64,
        refresh_ttl: Option<i64>,
        now: i64,
    ) -> Result<Issued, CodeProblem> {
        let Redemption { code, client_id, redirect_uri, verifier } = *redemption;
        let found = self.codes.get_mut(code).ok_or(CodeProblem::Unknown)?;
        if found.used {
            return Err(CodeProblem::Used);
        }
        found.used = true;
        if found.exp <= now {
            return Err(CodeProblem::Expired);
        }
        if found.client_id != client_id {
            return Err(CodeProblem::ClientMismatch);
        }
        if found.redirect_uri != redirect_uri {
            return Err(CodeProblem::RedirectMismatch);
        }
        if let Some((challenge, method)) = &found.challenge {
            let verifier = verifier.ok_or(CodeProblem::Verifier)?;
            let computed = if method == "S256" {
                URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
            } else {
                verifier.to_string()
            };
            if &computed != challenge {
                return Err(CodeProblem::Verifier);
            }
        }
        let (user, scopes, offline) = (found.user.clone(), found.scopes.clone(), found.offline);
        let grant = self.grant(&user, &scopes, offline, refresh_ttl, now);
        let access_token = self.mint(grant, ttl, now);
        let refresh_token = offline.then(|| self.refresh_token(grant));
        let refresh_expires_in = refresh_token.as_ref().and(refresh_ttl);
        Ok(Issued { access_token, refresh_token, scopes, refresh_expires_in })
    }

    /// A new access token for a live refresh token, which stays valid: Google's refresh tokens do not rotate. `None`
    /// when the token is unknown, revoked or expired.
    pub(crate) fn refresh(&mut self, refresh_token: &str, ttl: i64, now: i64) -> Option<Issued> {
        let grant = *self.refresh.get(refresh_token)?;
        let g = &self.grants[grant];
        if g.revoked || g.refresh_exp.is_some_and(|exp| exp <= now) {
            return None;
        }
        let (scopes, refresh_expires_in) = (g.scopes.clone(), g.refresh_exp.map(|exp| exp - now));
        let access_token = self.mint(grant, ttl, now);
        Some(Issued { access_token, refresh_token: None, scopes, refresh_expires_in })
    }

    /// Revokes the grant of `token` (access or refresh). `false` when the token is unknown or already dead, which
    /// Google answers with 400.
    pub(crate) fn revoke(&mut self, token: &str, now: i64) -> bool {
        let Some(grant) = self.grant_of(token) else { return false };
        let alive = match self.access.get(token) {
            Some(access) => access.exp > now,
            None => self.grants[grant].refresh_exp.is_none_or(|exp| exp > now),
        };
        let g = &mut self.grants[grant];
        if g.revoked || !alive {
            return false;
        }
        g.revoked = true;
        true
    }

    /// The data types every consent `user` gave so far no longer grants (none: all granted again); a later consent
    /// grants everything it names. How many consents that touched.
    pub(crate) fn deny(&mut self, user: &str, data_types: &[String]) -> usize {
        let mut touched = 0;
        for grant in self.grants.iter_mut().filter(|grant| grant.user == user) {
            grant.denied = data_types.to_vec();
            touched += 1;
        }
        touched
    }

    /// The user a token (access or refresh, in any state) or code was issued to.
    pub(crate) fn user_of(&self, token: &str) -> Option<&str> {
        match self.grant_of(token) {
            Some(grant) => Some(&self.grants[grant].user),
            None => self.codes.get(token).map(|code| code.user.as_str()),
        }
    }

    fn grant_of(&self, token: &str) -> Option<usize> {
        self.access.get(token).map(|t| t.grant).or_else(|| self.refresh.get(token).copied())
    }

    pub(crate) fn access_state(&self, token: &str, now: i64) -> GoogleAccess<'_> {
        let Some(t) = self.access.get(token) else { return GoogleAccess::Unknown };
        let g = &self.grants[t.grant];
        if g.revoked {
            GoogleAccess::Revoked { user: &g.user }
        } else if t.exp <= now {
            GoogleAccess::Expired { user: &g.user }
        } else {
            GoogleAccess::Active { user: &g.user, scopes: &g.scopes, exp: t.exp, offline: g.offline, denied: &g.denied }
        }
    }

    pub(crate) fn is_refresh_valid(&self, token: &str, now: i64) -> bool {
        self.refresh.get(token).is_some_and(|grant| {
            let g = &self.grants[*grant];
            !g.revoked && g.refresh_exp.is_none_or(|exp| exp > now)
        })
    }
}

fn random(chars: usize) -> String {
    rand::thread_rng().sample_iter(&Alphanumeric).take(chars).map(char::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(store: &mut GoogleTokenStore, offline: bool, challenge: Option<(&str, &str)>) -> String {
        store.add_code(Code {
            user: "U".into(),
            scopes: "s".into(),
            client_id: "C".into(),
            redirect_uri: "http://r/cb".into(),
            offline,
            challenge: challenge.map(|(c, m)| (c.to_string(), m.to_string())),
            exp: 1_600,
            used: false,
        })
    }

    fn redeem<'a>(code: &'a str, verifier: Option<&'a str>) -> Redemption<'a> {
        Redemption { code, client_id: "C", redirect_uri: "http://r/cb", verifier }
    }

    #[test]
    fn codes_work_once_and_refresh_tokens_do_not_rotate() {
        let mut store = GoogleTokenStore::default();
        let value = code(&mut store, true, None);
        let issued = store.exchange(&redeem(&value, None), 3599, None, 1_000).unwrap();
        let refresh = issued.refresh_token.unwrap();
        assert_eq!(store.exchange(&redeem(&value, None), 3599, None, 1_000).err(), Some(CodeProblem::Used));
        let first = store.refresh(&refresh, 3599, 1_100).unwrap();
        let second = store.refresh(&refresh, 3599, 1_200).unwrap();
        assert!(first.refresh_token.is_none() && first.access_token != second.access_token);
        assert!(matches!(store.access_state(&first.access_token, 1_300), GoogleAccess::Active { .. }));
        assert!(store.revoke(&second.access_token, 1_300));
        assert!(!store.is_refresh_valid(&refresh, 1_300));
        assert!(!store.revoke(&refresh, 1_300), "already revoked");
        assert_eq!(store.user_of(&refresh), Some("U"));
    }

    #[test]
    fn online_codes_give_no_refresh_token_and_pkce_is_checked() {
        let mut store = GoogleTokenStore::default();
        let online = code(&mut store, false, None);
        assert!(store.exchange(&redeem(&online, None), 10, None, 1_000).unwrap().refresh_token.is_none());
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        let pkce = code(&mut store, true, Some((&challenge, "S256")));
        assert_eq!(store.exchange(&redeem(&pkce, Some("wrong")), 10, None, 1_000).err(), Some(CodeProblem::Verifier));
        let pkce = code(&mut store, true, Some((&challenge, "S256")));
        assert!(store.exchange(&redeem(&pkce, Some(verifier)), 10, None, 1_000).is_ok());
        let late = code(&mut store, true, None);
        assert_eq!(store.exchange(&redeem(&late, None), 10, None, 2_000).err(), Some(CodeProblem::Expired));
    }

    #[test]
    fn time_limited_refresh_tokens_expire() {
        let mut store = GoogleTokenStore::default();
        let pair = store.issue("U", "s", 3599, Some(100), 1_000);
        assert!(store.refresh(&pair.refresh_token, 3599, 1_050).unwrap().refresh_expires_in == Some(50));
        assert!(store.refresh(&pair.refresh_token, 3599, 1_100).is_none());
    }
}
