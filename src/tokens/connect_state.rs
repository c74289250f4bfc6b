//! The `state` of the Google connect flow: which child and which app redirect a consent belongs to, signed
//! (HMAC-SHA256 under a key of its own) and expiring, so a callback cannot be forged or replayed late, and nothing has
//! to be kept server-side between the two requests (any instance can take the callback).
//!
//! A state is also bound to the browser that started the flow: that browser holds a [`BrowserSecret`] in a cookie,
//! the state carries a hash of it, and the same secret is the PKCE verifier of the code exchange (RFC 7636, S256). A
//! state or a code that leaks (a log, a referrer, a shared link) is worthless without the cookie. Each state is good
//! for one callback: the route marks its nonce as used, for every instance, through Redis
//! (docs/operations.md#the-google-connect-flow).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

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
    /// The hash of the browser's [`BrowserSecret`].
    #[serde(rename = "b")]
    pub browser: String,
}

impl ConnectState {
    /// The Redis key that marks this state as used.
    pub fn used_key(&self) -> String {
        format!("ds-agent:connect-state:{}", self.nonce)
    }
}

/// The secret the browser that starts a connect flow keeps in a cookie: 32 random bytes, base64url, which is also a
/// valid PKCE `code_verifier` (43 unreserved characters).
#[derive(Clone, PartialEq)]
pub struct BrowserSecret(String);

impl BrowserSecret {
    pub fn generate() -> Self {
        BrowserSecret(URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>()))
    }

    /// The cookie's value, as the browser sent it back; `None` when it cannot be one.
    pub fn from_cookie(value: &str) -> Option<Self> {
        let valid = value.len() == 43 && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        valid.then(|| BrowserSecret(value.to_string()))
    }

    /// The cookie's value and the PKCE `code_verifier`.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The PKCE `code_challenge` for `code_challenge_method=S256`.
    pub fn challenge(&self) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(self.0.as_bytes()))
    }

    /// What the state carries to bind itself to this browser (not the challenge: Google sees that one).
    fn binding(&self) -> String {
        let mut hasher = Sha256::new();
        hasher.update(b"ds-agent google connect browser v1");
        hasher.update(self.0.as_bytes());
        URL_SAFE_NO_PAD.encode(hasher.finalize())
    }
}

impl std::fmt::Debug for BrowserSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BrowserSecret(***)")
    }
}

#[derive(Debug, PartialEq, thiserror::Error)]
#[error("Invalid or expired state.")]
pub struct InvalidState;

#[derive(Clone)]
pub struct StateSigner {
    key: [u8; 32],
}

impl StateSigner {
    /// The key is derived from a secret every instance shares (`GOOGLE_CONNECT_STATE_KEY`, else
    /// `GOOGLE_CLIENT_SECRET`, which the code exchange needs anyway); never from the token encryption keys, so that
    /// either rotates alone.
    pub fn new(secret: &[u8]) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(b"ds-agent google connect state v1");
        hasher.update(secret);
        StateSigner { key: hasher.finalize().into() }
    }

    pub fn issue(
        &self,
        child: ChildId,
        redirect_uri: &str,
        callback: &str,
        browser: &BrowserSecret,
        now: i64,
    ) -> String {
        let state = ConnectState {
            child: child.to_string(),
            redirect_uri: redirect_uri.to_string(),
            callback: callback.to_string(),
            expires_at: now + STATE_LIFETIME_SECS,
            nonce: URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>()),
            browser: browser.binding(),
        };
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&state).expect("the state serializes"));
        let signature = URL_SAFE_NO_PAD.encode(self.mac(payload.as_bytes()).finalize().into_bytes());
        format!("{payload}.{signature}")
    }

    /// The state, when it is this service's, unexpired, and bound to `browser` (the cookie the callback came with).
    pub fn verify(
        &self,
        token: &str,
        browser: Option<&BrowserSecret>,
        now: i64,
    ) -> Result<(ChildId, ConnectState), InvalidState> {
        let (payload, signature) = token.split_once('.').ok_or(InvalidState)?;
        let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| InvalidState)?;
        self.mac(payload.as_bytes()).verify_slice(&signature).map_err(|_| InvalidState)?;
        let bytes = URL_SAFE_NO_PAD.decode(payload).map_err(|_| InvalidState)?;
        let state: ConnectState = serde_json::from_slice(&bytes).map_err(|_| InvalidState)?;
        if state.expires_at < now {
            return Err(InvalidState);
        }
        let bound =
            browser.is_some_and(|browser| bool::from(browser.binding().as_bytes().ct_eq(state.browser.as_bytes())));
        if !bound {
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
        let (signer, browser) = (StateSigner::new(b"secret"), BrowserSecret::generate());
        let token = signer.issue(child(), "https://app/done", "https://ds/v1/google/callback", &browser, 1_000);
        let (verified, state) = signer.verify(&token, Some(&browser), 1_000 + STATE_LIFETIME_SECS).unwrap();
        assert_eq!((verified, state.redirect_uri.as_str()), (child(), "https://app/done"));
        assert_eq!(signer.verify(&token, Some(&browser), 1_001 + STATE_LIFETIME_SECS), Err(InvalidState));
    }

    #[test]
    fn a_forged_or_foreign_state_is_refused() {
        let (signer, browser) = (StateSigner::new(b"secret"), BrowserSecret::generate());
        let token = signer.issue(child(), "https://app/done", "https://ds/cb", &browser, 1_000);
        assert_eq!(StateSigner::new(b"other").verify(&token, Some(&browser), 1_000), Err(InvalidState));
        let (payload, signature) = token.split_once('.').unwrap();
        let mut tampered = URL_SAFE_NO_PAD.decode(payload).unwrap();
        tampered[5] ^= 1;
        let forged = format!("{}.{signature}", URL_SAFE_NO_PAD.encode(tampered));
        assert_eq!(signer.verify(&forged, Some(&browser), 1_000), Err(InvalidState));
        assert_eq!(signer.verify("garbage", Some(&browser), 1_000), Err(InvalidState));
    }

    #[test]
    fn a_state_is_good_only_with_the_browser_that_started_it() {
        let (signer, browser) = (StateSigner::new(b"secret"), BrowserSecret::generate());
        let token = signer.issue(child(), "https://app/done", "https://ds/cb", &browser, 1_000);
        assert_eq!(signer.verify(&token, None, 1_000), Err(InvalidState));
        assert_eq!(signer.verify(&token, Some(&BrowserSecret::generate()), 1_000), Err(InvalidState));
        assert!(signer.verify(&token, Some(&browser), 1_000).is_ok());
    }

    #[test]
    fn the_browser_secret_is_a_pkce_verifier() {
        // RFC 7636, appendix B.
        let secret = BrowserSecret::from_cookie("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk").unwrap();
        assert_eq!(secret.challenge(), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        assert!(BrowserSecret::from_cookie("short").is_none());
        assert!(BrowserSecret::from_cookie(&"a;".repeat(22)[..43]).is_none());
        assert_eq!(BrowserSecret::generate().expose().len(), 43);
    }
}
