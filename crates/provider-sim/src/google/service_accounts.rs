//! Service-account access tokens: subscribers belong to a Cloud project and are managed with a service account (or
//! ADC), never with a user's token. ds-agent gets one with the JWT-bearer grant at `POST /token`. The simulator checks
//! the assertion's shape only (three base64url parts, a JSON payload naming `iss`), not its signature: it has no copy
//! of the service account's public key, and what is tested is ds-agent's flow, not its RSA.

use std::collections::HashMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::distributions::Alphanumeric;
use rand::Rng;
use serde_json::Value;

/// `grant_type` of the JWT-bearer grant (RFC 7523).
pub(crate) const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// Google's service-account tokens live an hour, announced as 3599 s.
pub(crate) const TTL_SECS: i64 = 3599;

struct ServiceToken {
    /// The `iss` of the assertion: the service account's e-mail address.
    account: String,
    exp: i64,
}

pub(crate) enum ServiceAccess<'a> {
    Unknown,
    Expired,
    Active { account: &'a str },
}

#[derive(Default)]
pub(crate) struct ServiceTokens {
    tokens: HashMap<String, ServiceToken>,
}

impl ServiceTokens {
    pub(crate) fn issue(&mut self, account: &str, now: i64) -> String {
        let token = format!("ya29.c.c0{}", random(150));
        self.tokens.insert(token.clone(), ServiceToken { account: account.to_string(), exp: now + TTL_SECS });
        token
    }

    pub(crate) fn access(&self, token: &str, now: i64) -> ServiceAccess<'_> {
        match self.tokens.get(token) {
            None => ServiceAccess::Unknown,
            Some(t) if t.exp <= now => ServiceAccess::Expired,
            Some(t) => ServiceAccess::Active { account: &t.account },
        }
    }
}

/// The `iss` of a JWT assertion whose shape is right, or what is wrong with it.
pub(crate) fn issuer(assertion: &str) -> Result<String, &'static str> {
    let parts: Vec<&str> = assertion.trim().split('.').collect();
    let decode = |part: &str| URL_SAFE_NO_PAD.decode(part.trim_end_matches('='));
    if parts.len() != 3 || parts.iter().any(|part| part.is_empty() || decode(part).is_err()) {
        return Err("Invalid JWT: the assertion must be three base64url parts separated by dots.");
    }
    let payload: Value = decode(parts[1])
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or("Invalid JWT: the payload is not a JSON object.")?;
    match payload.get("iss").and_then(Value::as_str) {
        Some(iss) if !iss.is_empty() => Ok(iss.to_string()),
        _ => Err("Invalid JWT: no iss claim."),
    }
}

fn random(chars: usize) -> String {
    rand::thread_rng().sample_iter(&Alphanumeric).take(chars).map(char::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(payload: &str) -> String {
        let part = |text: &str| URL_SAFE_NO_PAD.encode(text);
        format!("{}.{}.{}", part(r#"{"alg":"RS256","typ":"JWT"}"#), part(payload), part("not checked"))
    }

    #[test]
    fn assertions_need_three_parts_and_an_issuer() {
        let account = "sync@project.iam.gserviceaccount.com";
        assert_eq!(issuer(&jwt(&format!(r#"{{"iss":"{account}","aud":"x"}}"#))).unwrap(), account);
        assert!(issuer(&jwt(r#"{"aud":"x"}"#)).is_err());
        assert!(issuer(&jwt("not json")).is_err());
        assert!(issuer("a.b").is_err());
        assert!(issuer("a.b!.c").is_err());
    }

    #[test]
    fn tokens_expire() {
        let mut tokens = ServiceTokens::default();
        let token = tokens.issue("sa@p.iam.gserviceaccount.com", 1_000);
        let active = tokens.access(&token, 1_000 + TTL_SECS - 1);
        assert!(matches!(active, ServiceAccess::Active { account: "sa@p.iam.gserviceaccount.com" }));
        assert!(matches!(tokens.access(&token, 1_000 + TTL_SECS), ServiceAccess::Expired));
        assert!(matches!(tokens.access("other", 1_000), ServiceAccess::Unknown));
    }
}
