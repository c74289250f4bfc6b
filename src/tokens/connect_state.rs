//! The `state` of the Google connect flow: which child and which app redirect a consent belongs to, signed
//! (HMAC-SHA256) and expiring, so a callback cannot be forged or replayed late, and nothing has to be kept
//! server-side between the two requests (any instance can take the callback).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::ChildId;

/// Long enough to read a consent page, short enough that a leaked link soon stops working.
pub const STATE_LIFETIME_SECS: i64 = 10 * 60;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConnectState {
    #[serde(rename = "c")]
    pub child: String,
    /// Where the app wants the outcome.
    #[serde(rename = "r")]
    pub redirect_uri: String,
    /// This service's callback URL, which the code exchange must repeat.
    #[serde(rename = "cb")]
    pub callback: String,
    #[serde(rename = "e")]
    pub expires_at: i64,
    #[serde(rename = "n")]
    pub nonce: String,
}

#[derive(Debug, PartialEq, thiserror::Error)]
#[error("Invalid or expired state.")]
pub struct InvalidState;

#[derive(Clone)]
pub struct StateSigner {
    key: [u8; 32],
}

impl StateSigner {
    /// The key is derived from a secret every instance shares (`TOKEN_ENCRYPTION_KEY`, else
    /// `GOOGLE_CLIENT_SECRET`, which the code exchange needs anyway).
    pub fn new(secret: &[u8]) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(b"ds-agent google connect state v1");
        hasher.update(secret);
        StateSigner { key: hasher.finalize().into() }
    }

    pub fn issue(&self, child: ChildId, redirect_uri: &str, callback: &str, now: i64) -> String {
        let state = ConnectState {
            child: child.to_string(),
            redirect_uri: redirect_uri.to_string(),
            callback: callback.to_string(),
            expires_at: now + STATE_LIFETIME_SECS,
            nonce: format!("{:016x}", rand::random::<u64>()),
        };
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&state).expect("the state serializes"));
        let signature = URL_SAFE_NO_PAD.encode(self.mac(payload.as_bytes()).finalize().into_bytes());
        format!("{payload}.{signature}")
    }

    pub fn verify(&self, token: &str, now: i64) -> Result<(ChildId, ConnectState), InvalidState> {
        let (payload, signature) = token.split_once('.').ok_or(InvalidState)?;
        let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| InvalidState)?;
        self.mac(payload.as_bytes()).verify_slice(&signature).map_err(|_| InvalidState)?;
        let bytes = URL_SAFE_NO_PAD.decode(payload).map_err(|_| InvalidState)?;
        let state: ConnectState = serde_json::from_slice(&bytes).map_err(|_| InvalidState)?;
        if state.expires_at < now {
            return Err(InvalidState);
        }
        let child = ChildId::parse(&state.child).map_err(|_| InvalidState)?;
        Ok((child, state))
    }

    fn mac(&self, payload: &[u8]) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(payload);
        mac
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn child() -> ChildId {
        ChildId::parse("5a62be07de34500146d9c544").unwrap()
    }

    #[test]
    fn a_state_verifies_until_it_expires() {
        let signer = StateSigner::new(b"secret");
        let token = signer.issue(child(), "https://app/done", "https://ds/v1/google/callback", 1_000);
        let (verified, state) = signer.verify(&token, 1_000 + STATE_LIFETIME_SECS).unwrap();
        assert_eq!((verified, state.redirect_uri.as_str()), (child(), "https://app/done"));
        assert_eq!(signer.verify(&token, 1_001 + STATE_LIFETIME_SECS), Err(InvalidState));
    }

    #[test]
    fn a_forged_or_foreign_state_is_refused() {
        let signer = StateSigner::new(b"secret");
        let token = signer.issue(child(), "https://app/done", "https://ds/cb", 1_000);
        assert_eq!(StateSigner::new(b"other").verify(&token, 1_000), Err(InvalidState));
        let (payload, signature) = token.split_once('.').unwrap();
        let mut tampered = URL_SAFE_NO_PAD.decode(payload).unwrap();
        tampered[5] ^= 1;
        let forged = format!("{}.{signature}", URL_SAFE_NO_PAD.encode(tampered));
        assert_eq!(signer.verify(&forged, 1_000), Err(InvalidState));
        assert_eq!(signer.verify("garbage", 1_000), Err(InvalidState));
    }
}
