//! Fitbit access tokens are HS256 JWTs whose claims ds-agent decodes (`sub`, `scopes`, `exp`). The simulator signs them
//! with a key of its own so they are well-formed JWTs; it recognises its tokens by looking them up, not by checking
//! signatures.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::Serialize;
use sha2::Sha256;

/// The claims of a Fitbit access token, in Fitbit's order.
#[derive(Serialize)]
pub(crate) struct Claims<'a> {
    pub aud: &'a str,
    pub sub: &'a str,
    pub iss: &'static str,
    pub typ: &'static str,
    pub scopes: &'a str,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
}

pub(crate) struct Signer {
    key: [u8; 32],
}

impl Signer {
    pub(crate) fn random() -> Signer {
        let mut key = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut key);
        Signer { key }
    }

    pub(crate) fn sign(&self, claims: &Claims<'_>) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).expect("claims serialise"));
        let signing_input = format!("{header}.{payload}");
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(signing_input.as_bytes());
        let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{signing_input}.{signature}")
    }
}
