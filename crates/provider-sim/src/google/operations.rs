//! Long-running `Operation`s (docs/google-health.md#gaps). The discovery document says subscriber create, patch and
//! delete answer one, here always already `done`, whose `response` is the resource (or `Empty`); the guide shows the
//! resource itself. The simulator answers the discovery way unless `google_subscriber_direct_answer` is on, so that
//! ds-agent is tested with both. Also the UUIDs that name operations and automatic notifications.

use rand::Rng;
use serde_json::{json, Map, Value};

pub(crate) const SUBSCRIBER_TYPE: &str = "type.googleapis.com/google.devicesandservices.health.v4.Subscriber";
pub(crate) const EMPTY_TYPE: &str = "type.googleapis.com/google.protobuf.Empty";

/// A random (version 4) UUID.
pub(crate) fn uuid() -> String {
    let bytes: [u8; 16] = rand::thread_rng().gen();
    let hex: String = bytes
        .iter()
        .enumerate()
        .map(|(index, byte)| match index {
            6 => 0x40 | (byte & 0x0f),
            8 => 0x80 | (byte & 0x3f),
            _ => *byte,
        })
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

/// An operation of `project` that is not done yet, with its (empty) metadata typed as `metadata_type` (the message name,
/// e.g. `CreateSubscriberMetadata`): proto3 JSON leaves `done: false` out, and there is no `response` yet.
pub(crate) fn pending(project: &str, metadata_type: &str) -> Value {
    json!({
        "name": format!("projects/{project}/operations/{}", uuid()),
        "metadata": {"@type": format!("type.googleapis.com/google.devicesandservices.health.v4.{metadata_type}")},
    })
}

/// A finished operation of `project` whose `response` is `resource` (an object) typed as `type_url`.
pub(crate) fn done(project: &str, type_url: &str, resource: Value) -> Value {
    let mut response = Map::new();
    response.insert("@type".into(), json!(type_url));
    if let Value::Object(fields) = resource {
        response.extend(fields);
    }
    json!({
        "name": format!("projects/{project}/operations/{}", uuid()),
        "done": true,
        "response": response,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_version_4() {
        let id = uuid();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!("89ab".contains(&id[19..20]), "{id}");
        assert_ne!(id, uuid());
    }

    #[test]
    fn operations_wrap_the_resource() {
        let operation = done("42", SUBSCRIBER_TYPE, json!({"name": "projects/42/subscribers/abcd"}));
        assert!(operation["name"].as_str().unwrap().starts_with("projects/42/operations/"));
        assert_eq!(operation["response"]["@type"], SUBSCRIBER_TYPE);
        assert_eq!(operation["response"]["name"], "projects/42/subscribers/abcd");
        assert_eq!(done("42", EMPTY_TYPE, json!({}))["response"], json!({"@type": EMPTY_TYPE}));
    }
}
