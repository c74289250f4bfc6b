//! The events ds-agent publishes on exchange `data.sync`, with the original's names, keys and envelope
//! (docs/decisions.md#events-on-the-bus): `{"event_name": …, "timestamp": <ISO-ms>, <payload key>: <payload>}`.

use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::domain::{ChildId, ResourceKind};

pub const DATA_SYNC_EXCHANGE: &str = "data.sync";

#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub name: &'static str,
    pub routing_key: &'static str,
    payload_key: &'static str,
    payload: Value,
}

impl Event {
    pub fn revoke(child: ChildId) -> Self {
        Event {
            name: "FitbitRevokeEvent",
            routing_key: "fitbit.revoke",
            payload_key: "fitbit",
            payload: json!({"child_id": child.to_string()}),
        }
    }

    /// `error` is the provider failure's `{"code", "message", "description"?}` body.
    pub fn auth_error(child: ChildId, error: &impl Serialize) -> Self {
        Event {
            name: "FitbitAuthErrorEvent",
            routing_key: "fitbit.auth.error",
            payload_key: "fitbit",
            payload: json!({"child_id": child.to_string(), "error": error}),
        }
    }

    pub fn last_sync(child: ChildId, last_sync: &str) -> Self {
        Event {
            name: "FitbitLastSyncEvent",
            routing_key: "fitbit.lastsync",
            payload_key: "fitbit",
            payload: json!({"child_id": child.to_string(), "last_sync": last_sync}),
        }
    }

    /// A sync event whose payload is the array of items (`PhysicalActivitySyncEvent` and the others).
    pub fn items<T: Serialize>(
        name: &'static str,
        routing_key: &'static str,
        payload_key: &'static str,
        items: &[T],
    ) -> Self {
        Event { name, routing_key, payload_key, payload: serde_json::to_value(items).unwrap_or(Value::Array(vec![])) }
    }

    /// One event carrying a resource kind's `items` (docs/decisions.md#events-on-the-bus).
    pub fn resources<T: Serialize>(kind: ResourceKind, items: &[T]) -> Self {
        match kind {
            ResourceKind::Weights => Event::items("WeightSyncEvent", "weights.sync", "weight", items),
            ResourceKind::Sleep => Event::items("SleepSyncEvent", "sleep.sync", "sleep", items),
            ResourceKind::Activities => {
                Event::items("PhysicalActivitySyncEvent", "physicalactivities.sync", "physicalactivity", items)
            }
        }
    }

    /// One event carrying daily log entries of one or more log types (docs/decisions.md#events-on-the-bus).
    pub fn logs<T: Serialize>(entries: &[T]) -> Self {
        Event::items("LogSyncEvent", "logs.sync", "log", entries)
    }

    /// The message body, stamped with the time of publishing.
    pub fn body(&self) -> Vec<u8> {
        let timestamp = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let mut envelope = Map::new();
        envelope.insert("event_name".into(), Value::String(self.name.into()));
        envelope.insert("timestamp".into(), Value::String(timestamp));
        envelope.insert(self.payload_key.into(), self.payload.clone());
        serde_json::to_vec(&Value::Object(envelope)).expect("JSON values serialize")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::AuthErrorBody;

    fn child() -> ChildId {
        ChildId::parse("5a62be07de34500146d9c544").unwrap()
    }

    #[test]
    fn envelopes_keep_the_original_key_order_and_names() {
        let body = String::from_utf8(Event::revoke(child()).body()).unwrap();
        assert!(body.starts_with(r#"{"event_name":"FitbitRevokeEvent","timestamp":""#), "{body}");
        assert!(body.ends_with(r#"Z","fitbit":{"child_id":"5a62be07de34500146d9c544"}}"#), "{body}");

        let error = AuthErrorBody { code: 1429, message: "m".into(), description: None };
        let event = Event::auth_error(child(), &error);
        assert_eq!(event.routing_key, "fitbit.auth.error");
        let value: Value = serde_json::from_slice(&event.body()).unwrap();
        assert_eq!(
            value["fitbit"],
            json!({"child_id": "5a62be07de34500146d9c544", "error": {"code": 1429, "message": "m"}})
        );
        let timestamp = value["timestamp"].as_str().unwrap();
        assert_eq!(timestamp.len(), "2020-09-08T19:09:23.123Z".len());
    }
}
