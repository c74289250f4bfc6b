//! The keys Google signs webhook notifications with (docs/notifications.md#what-google-sends): ECDSA P-256 over SHA-256
//! of the exact body bytes, published as a Tink JSON keyset. A header value is base64 of Tink's output, `0x01` (the
//! TINK prefix), the 4-byte big-endian key id, then the DER signature. The simulator makes a fresh key on start, so no
//! test can come to depend on a fixed one. A rotation adds a key and makes it primary; the old ones stay listed, as
//! Google keeps them while clients' caches catch up, `ENABLED` until they are retired.
//!
//! The `EcdsaPublicKey` proto is encoded by hand, it is four fields: no protobuf crate for that.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use rand::rngs::OsRng;
use rand::Rng;
use serde_json::{json, Value};

/// Tink's output prefix byte for `OutputPrefixType.TINK`.
const TINK_PREFIX: u8 = 0x01;

struct Key {
    id: u32,
    signing: SigningKey,
}

impl Key {
    fn random(taken: &[Key]) -> Key {
        let mut id: u32 = OsRng.gen();
        // Tink ids are unique in a keyset; 0 is legal but looks like a missing field in proto3 JSON.
        while id == 0 || taken.iter().any(|key| key.id == id) {
            id = OsRng.gen();
        }
        Key { id, signing: SigningKey::random(&mut OsRng) }
    }
}

pub(crate) struct WebhookKeys {
    /// Oldest first; the last one is the primary, which signs.
    keys: Vec<Key>,
    /// The keys before the primary are listed `DISABLED`.
    retired: bool,
}

impl WebhookKeys {
    pub(crate) fn new() -> WebhookKeys {
        WebhookKeys { keys: vec![Key::random(&[])], retired: false }
    }

    fn primary(&self) -> &Key {
        self.keys.last().expect("a keyset always has a key")
    }

    pub(crate) fn primary_id(&self) -> u32 {
        self.primary().id
    }

    /// The ids of every key listed, oldest first.
    pub(crate) fn ids(&self) -> Vec<u32> {
        self.keys.iter().map(|key| key.id).collect()
    }

    /// A new key with a new id becomes primary; the others stay listed.
    pub(crate) fn rotate(&mut self) -> u32 {
        let key = Key::random(&self.keys);
        let id = key.id;
        self.keys.push(key);
        id
    }

    pub(crate) fn set_retired(&mut self, retired: bool) {
        self.retired = retired;
    }

    pub(crate) fn retired(&self) -> bool {
        self.retired
    }

    /// The signature header's value for `body`, by the primary key.
    pub(crate) fn sign(&self, body: &[u8]) -> String {
        let key = self.primary();
        let signature: Signature = key.signing.sign(body);
        let mut output = vec![TINK_PREFIX];
        output.extend_from_slice(&key.id.to_be_bytes());
        output.extend_from_slice(signature.to_der().as_bytes());
        STANDARD.encode(output)
    }

    /// The public keyset, Tink's JSON format, as Google serves it.
    pub(crate) fn keyset(&self) -> Value {
        let primary = self.primary_id();
        let keys: Vec<Value> = self
            .keys
            .iter()
            .map(|key| {
                let status = if self.retired && key.id != primary { "DISABLED" } else { "ENABLED" };
                json!({
                    "keyData": {
                        "typeUrl": "type.googleapis.com/google.crypto.tink.EcdsaPublicKey",
                        "value": STANDARD.encode(public_key_proto(&key.signing)),
                        "keyMaterialType": "ASYMMETRIC_PUBLIC",
                    },
                    "status": status,
                    "keyId": key.id,
                    "outputPrefixType": "TINK",
                })
            })
            .collect();
        json!({"primaryKeyId": primary, "key": keys})
    }
}

/// `EcdsaPublicKey { version = 1 (0, left out as proto3 does); params = 2 { hash_type = 1: SHA256 (3); curve = 2:
/// NIST_P256 (2); encoding = 3: DER (2) }; x = 3; y = 4 }`, the coordinates big-endian with a leading zero byte, as
/// Tink's Java writes them (a reader must tolerate it).
fn public_key_proto(key: &SigningKey) -> Vec<u8> {
    let point = key.verifying_key().to_encoded_point(false);
    let (x, y) = (point.x().expect("an uncompressed point"), point.y().expect("an uncompressed point"));
    let params = [varint_field(1, 3), varint_field(2, 2), varint_field(3, 2)].concat();
    let mut out = Vec::new();
    bytes_field(&mut out, 2, &params);
    bytes_field(&mut out, 3, &[&[0u8][..], x.as_slice()].concat());
    bytes_field(&mut out, 4, &[&[0u8][..], y.as_slice()].concat());
    out
}

fn varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Wire type 0.
fn varint_field(field: u64, value: u64) -> Vec<u8> {
    let mut out = Vec::new();
    varint(&mut out, field << 3);
    varint(&mut out, value);
    out
}

/// Wire type 2, length-delimited.
fn bytes_field(out: &mut Vec<u8>, field: u64, bytes: &[u8]) {
    varint(out, (field << 3) | 2);
    varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Verifier;
    use p256::ecdsa::VerifyingKey;

    #[test]
    fn the_proto_has_the_params_and_padded_coordinates() {
        let keys = WebhookKeys::new();
        let proto = public_key_proto(&keys.primary().signing);
        assert_eq!(proto.len(), 8 + 35 + 35);
        assert_eq!(&proto[..8], &[0x12, 0x06, 0x08, 0x03, 0x10, 0x02, 0x18, 0x02]);
        assert_eq!(&proto[8..11], &[0x1a, 0x21, 0x00]);
        assert_eq!(&proto[43..46], &[0x22, 0x21, 0x00]);
        let sec1 = [&[0x04][..], &proto[11..43], &proto[46..78]].concat();
        assert_eq!(VerifyingKey::from_sec1_bytes(&sec1).unwrap(), *keys.primary().signing.verifying_key());
    }

    #[test]
    fn signatures_carry_the_prefix_and_key_id_and_verify() {
        let mut keys = WebhookKeys::new();
        let old = keys.primary_id();
        let new = keys.rotate();
        assert_ne!(old, new);
        let header = STANDARD.decode(keys.sign(b"[]")).unwrap();
        assert_eq!(header[0], TINK_PREFIX);
        assert_eq!(u32::from_be_bytes(header[1..5].try_into().unwrap()), new);
        let signature = Signature::from_der(&header[5..]).unwrap();
        keys.primary().signing.verifying_key().verify(b"[]", &signature).unwrap();
        let keyset = keys.keyset();
        assert_eq!(keyset["primaryKeyId"], new);
        assert_eq!(keyset["key"][0]["status"], "ENABLED");
        keys.set_retired(true);
        assert_eq!(keys.keyset()["key"][0]["status"], "DISABLED");
        assert_eq!(keys.keyset()["key"][1]["status"], "ENABLED");
    }
}
