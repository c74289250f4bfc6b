//! The signature of a Google Health notification (docs/notifications.md#what-google-sends): ECDSA P-256 with SHA-256
//! over the raw body, as Tink writes it (`0x01`, a 4-byte key id, then the DER signature, in base64), checked against
//! Google's published Tink keyset. The keyset is fetched on first use, kept about an hour, and fetched again once when
//! a signature names a key it does not hold (keys rotate).

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use base64::Engine;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use serde_json::Value;
use tokio::sync::Mutex;

use crate::provider::transport::{read_capped, BodyError, KEYSET_CAP};

/// How long a fetched keyset is trusted before it is fetched again.
const KEYSET_LIFETIME: Duration = Duration::from_secs(3600);
/// Unknown key ids that make a fetch before the cached keyset is old: each once per fetch, so that a sender naming
/// made-up ids (it got past the secret) cannot turn the endpoint into a keyset downloader.
const MISSES_PER_FETCH: usize = 8;
/// Tink's output prefix for keys of type TINK.
const TINK_PREFIX: u8 = 0x01;

#[derive(Debug, thiserror::Error)]
pub enum SignatureError {
    #[error("no signature header")]
    Missing,
    #[error("the signature is not a Tink ECDSA signature")]
    Malformed,
    #[error("no enabled key {0} in Google's keyset")]
    UnknownKey(u32),
    #[error("the signature does not match the body")]
    Mismatch,
    #[error("Google's keyset could not be read")]
    Keyset(#[source] KeysetError),
}

/// Why Google's keyset could not be read.
#[derive(Debug, thiserror::Error)]
pub enum KeysetError {
    /// Without the URL: it is the configured keyset address, known already.
    #[error(transparent)]
    Request(reqwest::Error),
    #[error("status {0}")]
    Status(reqwest::StatusCode),
    #[error(transparent)]
    Body(BodyError),
    #[error("not JSON")]
    NotJson(#[source] serde_json::Error),
    /// The keyset was read but holds no key the service can use; the text says what was missing.
    #[error("{0}")]
    Unusable(String),
}

/// The enabled public keys of a keyset, by key id.
#[derive(Debug, Default)]
struct Keys(HashMap<u32, VerifyingKey>);

struct Cached {
    keys: Keys,
    fetched: Instant,
    /// Key ids asked for since the fetch and not in the keyset.
    missed: HashSet<u32>,
}

pub struct SignatureVerifier {
    http: reqwest::Client,
    url: String,
    cached: Mutex<Option<Cached>>,
}

impl SignatureVerifier {
    pub fn new(url: &str, timeout: Duration) -> Self {
        // The providers' client: no redirect followed, no Referer.
        let http = crate::provider::transport::http_client(timeout);
        SignatureVerifier { http, url: url.to_string(), cached: Mutex::new(None) }
    }

    /// Checks `header` (the signature header's value) against `body`.
    pub async fn verify(&self, body: &[u8], header: Option<&str>) -> Result<(), SignatureError> {
        let (key_id, signature) = parse_signature(header.ok_or(SignatureError::Missing)?)?;
        let key = self.key(key_id).await?;
        key.verify(body, &signature).map_err(|_| SignatureError::Mismatch)
    }

    /// The key `key_id`, from the cached keyset, or a fresh one when the cache is old or lacks it.
    async fn key(&self, key_id: u32) -> Result<VerifyingKey, SignatureError> {
        let mut cached = self.cached.lock().await;
        let fresh = cached.as_ref().is_some_and(|c| c.fetched.elapsed() < KEYSET_LIFETIME);
        if let Some(key) = cached.as_ref().filter(|_| fresh).and_then(|c| c.keys.0.get(&key_id)) {
            return Ok(*key);
        }
        let new_miss = |c: &Cached| !c.missed.contains(&key_id) && c.missed.len() < MISSES_PER_FETCH;
        if !fresh || cached.as_ref().is_some_and(new_miss) {
            let keys = self.fetch().await?;
            tracing::debug!("Google's webhook keyset fetched: {} enabled keys", keys.0.len());
            let missed = cached.take().filter(|_| fresh).map(|c| c.missed).unwrap_or_default();
            *cached = Some(Cached { keys, fetched: Instant::now(), missed });
        }
        let cached = cached.as_mut().expect("fetched above");
        match cached.keys.0.get(&key_id) {
            Some(key) => Ok(*key),
            None => {
                cached.missed.insert(key_id);
                Err(SignatureError::UnknownKey(key_id))
            }
        }
    }

    async fn fetch(&self) -> Result<Keys, SignatureError> {
        let failed = SignatureError::Keyset;
        let response =
            self.http.get(&self.url).send().await.map_err(|e| failed(KeysetError::Request(e.without_url())))?;
        if !response.status().is_success() {
            return Err(failed(KeysetError::Status(response.status())));
        }
        // Read up to a cap, so a keyset host that never stops sending cannot fill the memory.
        let body = read_capped(response, KEYSET_CAP).await.map_err(|e| failed(KeysetError::Body(e)))?;
        let keyset: Value = serde_json::from_slice(&body).map_err(|e| failed(KeysetError::NotJson(e)))?;
        parse_keyset(&keyset).map_err(|e| failed(KeysetError::Unusable(e)))
    }
}

/// `base64(0x01 || key id || DER signature)` → the key id and the signature.
fn parse_signature(header: &str) -> Result<(u32, Signature), SignatureError> {
    let engine = base64::engine::general_purpose::STANDARD;
    let url_safe = base64::engine::general_purpose::URL_SAFE;
    let raw = engine
        .decode(header.trim())
        .or_else(|_| url_safe.decode(header.trim()))
        .map_err(|_| SignatureError::Malformed)?;
    if raw.len() < 6 || raw[0] != TINK_PREFIX {
        return Err(SignatureError::Malformed);
    }
    let key_id = u32::from_be_bytes([raw[1], raw[2], raw[3], raw[4]]);
    let signature = Signature::from_der(&raw[5..]).map_err(|_| SignatureError::Malformed)?;
    Ok((key_id, signature))
}

/// The enabled ECDSA P-256 keys of a Tink JSON keyset; keys of other types or parameters are left out.
fn parse_keyset(keyset: &Value) -> Result<Keys, String> {
    let entries = keyset.get("key").and_then(Value::as_array).ok_or("no key list")?;
    let mut keys = Keys::default();
    for entry in entries {
        let enabled = entry.get("status").and_then(Value::as_str) == Some("ENABLED");
        let ecdsa = entry.pointer("/keyData/typeUrl").and_then(Value::as_str)
            == Some("type.googleapis.com/google.crypto.tink.EcdsaPublicKey");
        let (Some(id), Some(value)) =
            (entry.get("keyId").and_then(Value::as_u64), entry.pointer("/keyData/value").and_then(Value::as_str))
        else {
            continue;
        };
        if !enabled || !ecdsa {
            continue;
        }
        let Ok(proto) = base64::engine::general_purpose::STANDARD.decode(value) else { continue };
        match ecdsa_public_key(&proto) {
            Ok(key) => {
                keys.0.insert(id as u32, key);
            }
            Err(reason) => tracing::warn!("Key {id} of Google's webhook keyset left out: {reason}"),
        }
    }
    match keys.0.is_empty() {
        true => Err("no enabled ECDSA P-256 key".into()),
        false => Ok(keys),
    }
}

/// Decodes Tink's `EcdsaPublicKey` proto: `params` (2) must say SHA-256 (hash 1 = 3), NIST P-256 (curve 2 = 2) and DER
/// (encoding 3 = 2); `x` (3) and `y` (4) are big-endian, possibly with a leading zero byte.
fn ecdsa_public_key(proto: &[u8]) -> Result<VerifyingKey, String> {
    let fields = proto_fields(proto)?;
    let params = fields.iter().find(|(n, _)| *n == 2).map(|(_, f)| f).ok_or("no params")?;
    let FieldValue::Bytes(params) = params else { return Err("params is not a message".into()) };
    let params = proto_fields(params)?;
    let number = |n: u64| params.iter().find(|(f, _)| *f == n).and_then(|(_, v)| v.varint()).unwrap_or(0);
    if (number(1), number(2), number(3)) != (3, 2, 2) {
        return Err(format!("not ECDSA P-256 SHA-256 DER ({}, {}, {})", number(1), number(2), number(3)));
    }
    let coordinate = |n: u64| -> Result<[u8; 32], String> {
        let bytes =
            fields.iter().find(|(f, _)| *f == n).and_then(|(_, v)| v.bytes()).ok_or("a coordinate is missing")?;
        let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
        let trimmed = &bytes[start..];
        if trimmed.len() > 32 {
            return Err("a coordinate is longer than 32 bytes".into());
        }
        let mut padded = [0u8; 32];
        padded[32 - trimmed.len()..].copy_from_slice(trimmed);
        Ok(padded)
    };
    let (x, y) = (coordinate(3)?, coordinate(4)?);
    let point = p256::EncodedPoint::from_affine_coordinates(&x.into(), &y.into(), false);
    VerifyingKey::from_encoded_point(&point).map_err(|_| "not a point on P-256".to_string())
}

enum FieldValue<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
}

impl FieldValue<'_> {
    fn varint(&self) -> Option<u64> {
        match self {
            FieldValue::Varint(n) => Some(*n),
            FieldValue::Bytes(_) => None,
        }
    }

    fn bytes(&self) -> Option<&[u8]> {
        match self {
            FieldValue::Bytes(b) => Some(b),
            FieldValue::Varint(_) => None,
        }
    }
}

/// The fields of a protobuf message that uses varints and length-delimited values only (Tink's key protos).
fn proto_fields(mut data: &[u8]) -> Result<Vec<(u64, FieldValue<'_>)>, String> {
    fn varint(data: &mut &[u8]) -> Result<u64, String> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = data.split_first().ok_or("truncated varint")?;
            *data = rest;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("varint too long".into())
    }
    let mut fields = Vec::new();
    while !data.is_empty() {
        let tag = varint(&mut data)?;
        let value = match tag & 7 {
            0 => FieldValue::Varint(varint(&mut data)?),
            2 => {
                let len = varint(&mut data)? as usize;
                if len > data.len() {
                    return Err("truncated field".into());
                }
                let (value, rest) = data.split_at(len);
                data = rest;
                FieldValue::Bytes(value)
            }
            wire => return Err(format!("unexpected wire type {wire}")),
        };
        fields.push((tag >> 3, value));
    }
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Signer;
    use p256::ecdsa::SigningKey;

    /// A Tink keyset with one key, encoded as Tink's Java writes it (coordinates with a leading zero byte).
    fn keyset(key: &SigningKey, id: u32, status: &str) -> Value {
        let point = key.verifying_key().to_encoded_point(false);
        let mut params = vec![0x08, 3, 0x10, 2, 0x18, 2];
        let mut proto = vec![0x12, params.len() as u8];
        proto.append(&mut params);
        for (tag, coordinate) in [(0x1a, point.x().unwrap()), (0x22, point.y().unwrap())] {
            proto.extend([tag, 33, 0]);
            proto.extend_from_slice(coordinate);
        }
        let value = base64::engine::general_purpose::STANDARD.encode(proto);
        serde_json::json!({"primaryKeyId": id, "key": [{"keyData": {"typeUrl":
            "type.googleapis.com/google.crypto.tink.EcdsaPublicKey", "value": value, "keyMaterialType":
            "ASYMMETRIC_PUBLIC"}, "status": status, "keyId": id, "outputPrefixType": "TINK"}]})
    }

    fn sign(key: &SigningKey, id: u32, body: &[u8]) -> String {
        let signature: Signature = key.sign(body);
        let mut raw = vec![TINK_PREFIX];
        raw.extend(id.to_be_bytes());
        raw.extend(signature.to_der().as_bytes());
        base64::engine::general_purpose::STANDARD.encode(raw)
    }

    #[test]
    fn a_tink_signature_verifies_against_its_keyset_and_nothing_else_does() {
        let key = SigningKey::random(&mut rand::rngs::OsRng);
        let keys = parse_keyset(&keyset(&key, 1083906037, "ENABLED")).unwrap();
        let body = br#"[{"data":{"healthUserId":"1"}}]"#;
        let (id, signature) = parse_signature(&sign(&key, 1083906037, body)).unwrap();
        assert_eq!(id, 1083906037);
        assert!(keys.0[&id].verify(body, &signature).is_ok());
        let mut changed = body.to_vec();
        changed[5] ^= 1;
        assert!(keys.0[&id].verify(&changed, &signature).is_err());
        assert!(matches!(parse_signature("not base64!"), Err(SignatureError::Malformed)));
        assert!(matches!(parse_signature("AAAAAAAAAA=="), Err(SignatureError::Malformed)));
    }

    #[test]
    fn disabled_keys_and_other_key_types_are_left_out() {
        let key = SigningKey::random(&mut rand::rngs::OsRng);
        assert!(parse_keyset(&keyset(&key, 7, "DISABLED")).is_err());
        let mut other = keyset(&key, 7, "ENABLED");
        other["key"][0]["keyData"]["typeUrl"] = "type.googleapis.com/google.crypto.tink.Ed25519PublicKey".into();
        assert!(parse_keyset(&other).is_err());
        assert!(parse_keyset(&serde_json::json!({"primaryKeyId": 1})).is_err());
    }

    #[tokio::test]
    async fn a_keyset_that_cannot_be_fetched_shows_why() {
        // Nothing listens on port 1: the connection is refused at once.
        let verifier = SignatureVerifier::new("http://127.0.0.1:1/keyset", Duration::from_secs(2));
        let key = SigningKey::random(&mut rand::rngs::OsRng);
        let header = sign(&key, 7, b"[]");
        let error = verifier.verify(b"[]", Some(&header)).await.unwrap_err();
        assert!(matches!(error, SignatureError::Keyset(KeysetError::Request(_))), "{error:?}");
        let chain = crate::error_chain::Chain(&error).to_string();
        assert!(chain.starts_with("Google's keyset could not be read: error sending request"), "{chain}");
        assert!(chain.len() > "Google's keyset could not be read: error sending request".len(), "{chain}");
        assert!(!chain.contains("127.0.0.1:1/keyset"), "the configured address is known already: {chain}");
    }
}
