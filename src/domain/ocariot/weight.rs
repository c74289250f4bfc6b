//! OCARIoT `Weight` measurement, the payload of `WeightSyncEvent`. Field order is key order on the wire.

use serde::Serialize;

use super::JsNumber;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Weight {
    /// Always `weight`.
    #[serde(rename = "type")]
    pub measurement: &'static str,
    /// Local wall-clock time relabelled as UTC.
    pub timestamp: String,
    pub value: JsNumber,
    /// Always `kg`.
    pub unit: &'static str,
    pub child_id: String,
    /// Percent; left out when the weigh-in has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_fat: Option<JsNumber>,
}

impl Weight {
    pub fn new(timestamp: String, kilograms: JsNumber, child_id: &str, body_fat: Option<JsNumber>) -> Self {
        Weight {
            measurement: "weight",
            timestamp,
            value: kilograms,
            unit: "kg",
            child_id: child_id.to_owned(),
            body_fat,
        }
    }
}
