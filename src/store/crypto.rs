//! Tokens at rest: AES-256-GCM under a keyring, the current key (`TOKEN_ENCRYPTION_KEY`) plus the keys it replaced
//! (`TOKEN_ENCRYPTION_KEYS_PREVIOUS`), so keys rotate without downtime (docs/operations.md#security).
//!
//! A sealed value is `enc:v2:<key id>:<base64(nonce ‖ ciphertext)>`. The key id is derived from the key (the first
//! 4 bytes of SHA-256 over a label and the key, in hex), so operators never name ids, and it says which key opens the
//! value without trying them all. The ciphertext is bound to where it is stored, its child and field (the associated
//! data, [`Aad`]): a value copied to another child or field does not open.
//!
//! Still read: `enc:v1:<base64(nonce ‖ ciphertext)>` (no key id, no associated data; every key is tried), and values
//! without a prefix, plaintext left by the original or written without a key. Both are sealed as `enc:v2:` on their
//! next write, or by `ds-agent tokens reseal`.

use std::fmt;
use std::sync::Arc;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::domain::ChildId;

const V1: &str = "enc:v1:";
const V2: &str = "enc:v2:";
/// What every sealed value starts with, whatever its version.
const SEALED: &str = "enc:";
/// Hashed before the key into its id, so the id is no other use of SHA-256 over the key.
const KEY_ID_LABEL: &[u8] = b"ds-agent token encryption key id\0";
const NONCE_LEN: usize = 12;

/// Why a stored value does not open. The texts name the variables, never a key or a token.
#[derive(Clone, Debug, thiserror::Error, PartialEq)]
pub enum DecryptError {
    #[error("a stored token is sealed but TOKEN_ENCRYPTION_KEY is not set")]
    NoKey,
    #[error(
        "a stored token is sealed with key id {0}, which is neither TOKEN_ENCRYPTION_KEY nor in \
         TOKEN_ENCRYPTION_KEYS_PREVIOUS"
    )]
    UnknownKey(String),
    #[error(
        "a stored token cannot be decrypted: the TOKEN_ENCRYPTION_KEY is wrong, or the value was moved from another \
         child or field"
    )]
    Failed,
    #[error("a stored token is malformed")]
    Malformed,
}

/// The associated data of a sealed value: where it is stored (`<collection>/<child id>/<field>`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Aad(String);

impl Aad {
    /// A token of a child's `userauths` record (`access_token`, `refresh_token`).
    pub fn userauths(child: ChildId, field: &str) -> Aad {
        Aad(format!("userauths/{child}/{field}"))
    }

    /// A token kept with a remote revocation to retry (`revocations`).
    pub fn revocation(child: ChildId, field: &str) -> Aad {
        Aad(format!("revocations/{child}/{field}"))
    }

    fn bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

/// A key of the ring and its id. No `Debug`: the ring shows ids only.
struct Key {
    id: String,
    /// To tell two keys apart should their ids collide.
    bytes: [u8; 32],
    cipher: Aes256Gcm,
}

impl Key {
    fn new(bytes: &[u8; 32]) -> Key {
        Key { id: key_id(bytes), bytes: *bytes, cipher: Aes256Gcm::new(bytes.into()) }
    }
}

/// The id written with every value sealed under `key`: 8 hex digits.
pub fn key_id(key: &[u8; 32]) -> String {
    let digest = Sha256::new().chain_update(KEY_ID_LABEL).chain_update(key).finalize();
    digest[..4].iter().map(|b| format!("{b:02x}")).collect()
}

/// The keyring; cheap to clone. Its `Debug` shows the key ids only.
#[derive(Clone)]
pub struct TokenCipher {
    ring: Arc<Ring>,
}

struct Ring {
    /// Seals every new value; `None`: values are written in clear, as the original wrote them.
    current: Option<Key>,
    /// Only open values (the current key first, then these in their order).
    previous: Vec<Key>,
}

impl fmt::Debug for TokenCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCipher")
            .field("current", &self.ring.current.as_ref().map(|k| k.id.as_str()))
            .field("previous", &self.ring.previous.iter().map(|k| k.id.as_str()).collect::<Vec<_>>())
            .finish()
    }
}

impl TokenCipher {
    /// `current` seals; `current` and `previous` open. A previous key equal to the current one is ignored.
    pub fn new(current: Option<[u8; 32]>, previous: &[[u8; 32]]) -> Self {
        let current = current.as_ref().map(Key::new);
        let mut keys: Vec<Key> = Vec::new();
        for bytes in previous {
            if !current.iter().chain(&keys).any(|k| k.bytes == *bytes) {
                keys.push(Key::new(bytes));
            }
        }
        TokenCipher { ring: Arc::new(Ring { current, previous: keys }) }
    }

    /// The keyring of `TOKEN_ENCRYPTION_KEY` and `TOKEN_ENCRYPTION_KEYS_PREVIOUS`.
    pub fn from_settings(settings: &crate::config::Settings) -> Self {
        let previous: Vec<[u8; 32]> = settings.token_encryption_keys_previous.iter().map(|key| *key.bytes()).collect();
        TokenCipher::new(settings.token_encryption_key.as_ref().map(|key| *key.bytes()), &previous)
    }

    /// Whether a current key is set (values are sealed when written).
    pub fn seals(&self) -> bool {
        self.ring.current.is_some()
    }

    /// The current key's id, if a key is set.
    pub fn current_key_id(&self) -> Option<&str> {
        self.ring.current.as_ref().map(|k| k.id.as_str())
    }

    /// Seals under the current key, bound to `aad`; without a key the token is stored as the original stored it.
    pub fn seal(&self, token: &str, aad: &Aad) -> String {
        let Some(key) = &self.ring.current else { return token.to_string() };
        let mut nonce = [0u8; NONCE_LEN];
        rand::thread_rng().fill_bytes(&mut nonce);
        let payload = Payload { msg: token.as_bytes(), aad: aad.bytes() };
        let sealed = key.cipher.encrypt(Nonce::from_slice(&nonce), payload).expect("AES-GCM encryption");
        let mut bytes = nonce.to_vec();
        bytes.extend(sealed);
        format!("{V2}{}:{}", key.id, base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    /// The token in clear: a v2 value under the key its id names, with `aad`; a v1 value under any key; a value
    /// without a prefix as it is.
    pub fn open(&self, stored: &str, aad: &Aad) -> Result<String, DecryptError> {
        if let Some(rest) = stored.strip_prefix(V2) {
            let (id, encoded) = rest.split_once(':').ok_or(DecryptError::Malformed)?;
            let (nonce, sealed) = split_sealed(encoded)?;
            let mut candidates = self.keys().filter(|k| k.id == id).peekable();
            if candidates.peek().is_none() {
                return Err(if self.has_keys() {
                    DecryptError::UnknownKey(id.to_string())
                } else {
                    DecryptError::NoKey
                });
            }
            let payload = || Payload { msg: sealed.as_slice(), aad: aad.bytes() };
            let plain = candidates
                .find_map(|key| key.cipher.decrypt(Nonce::from_slice(&nonce), payload()).ok())
                .ok_or(DecryptError::Failed)?;
            return String::from_utf8(plain).map_err(|_| DecryptError::Malformed);
        }
        if let Some(encoded) = stored.strip_prefix(V1) {
            if !self.has_keys() {
                return Err(DecryptError::NoKey);
            }
            let (nonce, sealed) = split_sealed(encoded)?;
            let plain = self
                .keys()
                .find_map(|key| key.cipher.decrypt(Nonce::from_slice(&nonce), sealed.as_slice()).ok())
                .ok_or(DecryptError::Failed)?;
            return String::from_utf8(plain).map_err(|_| DecryptError::Malformed);
        }
        if stored.starts_with(SEALED) {
            // A version this build does not know (written by a newer one).
            return Err(DecryptError::Malformed);
        }
        Ok(stored.to_string())
    }

    /// Whether `stored` is already what [`seal`](Self::seal) writes now: sealed as v2 under the current key (or, with
    /// no key set, left in clear). Anything else is for `ds-agent tokens reseal` (docs/operations.md#security).
    pub fn is_current(&self, stored: &str) -> bool {
        match &self.ring.current {
            Some(key) => {
                stored.strip_prefix(V2).and_then(|rest| rest.split_once(':')).is_some_and(|(id, _)| id == key.id)
            }
            None => !is_sealed(stored),
        }
    }

    fn keys(&self) -> impl Iterator<Item = &Key> {
        self.ring.current.iter().chain(&self.ring.previous)
    }

    fn has_keys(&self) -> bool {
        self.keys().next().is_some()
    }
}

/// Whether a stored value is sealed (any version), as opposed to plaintext.
pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with(SEALED)
}

fn split_sealed(encoded: &str) -> Result<([u8; NONCE_LEN], Vec<u8>), DecryptError> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(encoded).map_err(|_| DecryptError::Malformed)?;
    if bytes.len() < NONCE_LEN {
        return Err(DecryptError::Malformed);
    }
    let (nonce, sealed) = bytes.split_at(NONCE_LEN);
    Ok((nonce.try_into().expect("12 bytes"), sealed.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mongodb::bson::oid::ObjectId;

    const A: [u8; 32] = [1; 32];
    const B: [u8; 32] = [2; 32];

    fn child() -> ChildId {
        ChildId::from(ObjectId::new())
    }

    /// How the previous format sealed: no key id, no associated data.
    fn seal_v1(key: &[u8; 32], token: &str) -> String {
        let cipher = Aes256Gcm::new(key.into());
        let nonce = [7u8; NONCE_LEN];
        let mut bytes = nonce.to_vec();
        bytes.extend(cipher.encrypt(Nonce::from_slice(&nonce), token.as_bytes()).unwrap());
        format!("{V1}{}", base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    #[test]
    fn round_trips_with_a_key_and_hides_the_token() {
        let cipher = TokenCipher::new(Some(A), &[]);
        let aad = Aad::userauths(child(), "access_token");
        let sealed = cipher.seal("d6ccf77f84d342267f9f011d2e16fb9e", &aad);
        assert!(sealed.starts_with(&format!("enc:v2:{}:", key_id(&A))) && !sealed.contains("d6ccf77f"), "{sealed}");
        assert_ne!(sealed, cipher.seal("d6ccf77f84d342267f9f011d2e16fb9e", &aad), "a fresh nonce each time");
        assert_eq!(cipher.open(&sealed, &aad).unwrap(), "d6ccf77f84d342267f9f011d2e16fb9e");
        assert!(cipher.is_current(&sealed));
    }

    #[test]
    fn key_ids_are_derived_from_the_key_stable_and_distinct() {
        assert_eq!(key_id(&A), key_id(&A));
        assert_ne!(key_id(&A), key_id(&B));
        assert_eq!(key_id(&A).len(), 8);
        assert!(key_id(&A).bytes().all(|b| b.is_ascii_hexdigit()));
        // Not the plain hash of the key: the label separates it.
        let plain: String = Sha256::digest(A)[..4].iter().map(|b| format!("{b:02x}")).collect();
        assert_ne!(key_id(&A), plain);
    }

    #[test]
    fn a_previous_key_opens_what_it_sealed_and_new_values_go_under_the_current_one() {
        let aad = Aad::userauths(child(), "refresh_token");
        let under_a = TokenCipher::new(Some(A), &[]).seal("secret", &aad);
        let rotated = TokenCipher::new(Some(B), &[A]);
        assert_eq!(rotated.open(&under_a, &aad).unwrap(), "secret");
        assert!(!rotated.is_current(&under_a));
        let under_b = rotated.seal("secret", &aad);
        assert!(under_b.starts_with(&format!("enc:v2:{}:", key_id(&B))) && rotated.is_current(&under_b));
        assert_eq!(TokenCipher::new(Some(B), &[]).open(&under_a, &aad), Err(DecryptError::UnknownKey(key_id(&A))));
    }

    #[test]
    fn a_value_moved_to_another_child_or_field_does_not_open() {
        let cipher = TokenCipher::new(Some(A), &[]);
        let (one, two) = (child(), child());
        let sealed = cipher.seal("secret", &Aad::userauths(one, "access_token"));
        assert_eq!(cipher.open(&sealed, &Aad::userauths(two, "access_token")), Err(DecryptError::Failed));
        assert_eq!(cipher.open(&sealed, &Aad::userauths(one, "refresh_token")), Err(DecryptError::Failed));
        assert_eq!(cipher.open(&sealed, &Aad::revocation(one, "access_token")), Err(DecryptError::Failed));
        assert_eq!(cipher.open(&sealed, &Aad::userauths(one, "access_token")).unwrap(), "secret");
    }

    #[test]
    fn v1_values_open_under_any_key_of_the_ring_whatever_the_aad() {
        let v1 = seal_v1(&A, "legacy");
        let aad = Aad::userauths(child(), "access_token");
        assert_eq!(TokenCipher::new(Some(A), &[]).open(&v1, &aad).unwrap(), "legacy");
        assert_eq!(TokenCipher::new(Some(B), &[A]).open(&v1, &aad).unwrap(), "legacy");
        assert_eq!(TokenCipher::new(Some(B), &[]).open(&v1, &aad), Err(DecryptError::Failed));
        assert!(!TokenCipher::new(Some(A), &[]).is_current(&v1), "v1 is re-sealed");
    }

    #[test]
    fn plaintext_is_read_as_it_is_and_written_as_it_is_without_a_key() {
        let aad = Aad::userauths(child(), "access_token");
        assert_eq!(TokenCipher::new(Some(A), &[]).open("plain", &aad).unwrap(), "plain");
        assert!(!TokenCipher::new(Some(A), &[]).is_current("plain"), "plaintext is sealed by a reseal");
        assert_eq!(TokenCipher::new(None, &[]).seal("plain", &aad), "plain");
        assert!(TokenCipher::new(None, &[]).is_current("plain"));
    }

    #[test]
    fn a_wrong_or_missing_key_is_an_error_not_garbage() {
        let aad = Aad::userauths(child(), "access_token");
        let sealed = TokenCipher::new(Some(A), &[]).seal("secret", &aad);
        assert!(matches!(TokenCipher::new(Some(B), &[]).open(&sealed, &aad), Err(DecryptError::UnknownKey(_))));
        assert_eq!(TokenCipher::new(None, &[]).open(&sealed, &aad), Err(DecryptError::NoKey));
        assert_eq!(TokenCipher::new(None, &[]).open(&seal_v1(&A, "x"), &aad), Err(DecryptError::NoKey));
        // A value naming the right id but altered.
        let mut tampered = sealed.clone();
        tampered.replace_range(tampered.len() - 6..tampered.len() - 2, "AAAA");
        assert!(TokenCipher::new(Some(A), &[]).open(&tampered, &aad).is_err());
        assert_eq!(TokenCipher::new(Some(A), &[]).open("enc:v9:xx", &aad), Err(DecryptError::Malformed));
    }

    #[test]
    fn debug_shows_key_ids_never_keys() {
        let text = format!("{:?}", TokenCipher::new(Some(A), &[B, A]));
        assert!(text.contains(&key_id(&A)) && text.contains(&key_id(&B)), "{text}");
        assert!(!text.contains("1, 1") && !text.contains("[2"), "{text}");
        assert_eq!(TokenCipher::new(Some(A), &[B, A]).ring.previous.len(), 1, "the current key is not kept twice");
    }
}
