//! Tokens at rest: AES-256-GCM under `TOKEN_ENCRYPTION_KEY`, stored as `enc:v1:<base64(nonce ‖ ciphertext)>`.
//! Values without the prefix are plaintext left by the original (or written without a key) and are read as they are.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use rand::RngCore;

const PREFIX: &str = "enc:v1:";

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("a stored token cannot be decrypted: the TOKEN_ENCRYPTION_KEY is wrong or missing")]
pub struct DecryptError;

#[derive(Clone)]
pub struct TokenCipher {
    cipher: Option<Aes256Gcm>,
}

impl TokenCipher {
    pub fn new(key: Option<[u8; 32]>) -> Self {
        TokenCipher { cipher: key.map(|k| Aes256Gcm::new(&k.into())) }
    }

    /// Encrypts when a key is set; without one the token is stored as the original stored it.
    pub fn seal(&self, token: &str) -> String {
        let Some(cipher) = &self.cipher else { return token.to_string() };
        let mut nonce = [0u8; 12];
        rand::thread_rng().fill_bytes(&mut nonce);
        let sealed = cipher.encrypt(Nonce::from_slice(&nonce), token.as_bytes()).expect("AES-GCM encryption");
        let mut bytes = nonce.to_vec();
        bytes.extend(sealed);
        format!("{PREFIX}{}", base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    pub fn open(&self, stored: &str) -> Result<String, DecryptError> {
        let Some(encoded) = stored.strip_prefix(PREFIX) else { return Ok(stored.to_string()) };
        let cipher = self.cipher.as_ref().ok_or(DecryptError)?;
        let bytes = base64::engine::general_purpose::STANDARD.decode(encoded).map_err(|_| DecryptError)?;
        if bytes.len() < 12 {
            return Err(DecryptError);
        }
        let (nonce, sealed) = bytes.split_at(12);
        let plain = cipher.decrypt(Nonce::from_slice(nonce), sealed).map_err(|_| DecryptError)?;
        String::from_utf8(plain).map_err(|_| DecryptError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_with_a_key_and_hides_the_token() {
        let cipher = TokenCipher::new(Some([1; 32]));
        let sealed = cipher.seal("d6ccf77f84d342267f9f011d2e16fb9e");
        assert!(sealed.starts_with("enc:v1:") && !sealed.contains("d6ccf77f"));
        assert_ne!(sealed, cipher.seal("d6ccf77f84d342267f9f011d2e16fb9e"), "a fresh nonce each time");
        assert_eq!(cipher.open(&sealed).unwrap(), "d6ccf77f84d342267f9f011d2e16fb9e");
    }

    #[test]
    fn plaintext_is_read_as_it_is_and_written_as_it_is_without_a_key() {
        assert_eq!(TokenCipher::new(Some([1; 32])).open("plain").unwrap(), "plain");
        assert_eq!(TokenCipher::new(None).seal("plain"), "plain");
    }

    #[test]
    fn a_wrong_or_missing_key_is_an_error_not_garbage() {
        let sealed = TokenCipher::new(Some([1; 32])).seal("secret");
        assert_eq!(TokenCipher::new(Some([2; 32])).open(&sealed), Err(DecryptError));
        assert_eq!(TokenCipher::new(None).open(&sealed), Err(DecryptError));
    }
}
