//! OCARIoT `PhysicalActivity`, the payload of `PhysicalActivitySyncEvent`. Field order is key order on the wire.

use serde::Serialize;

use super::JsNumber;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PhysicalActivity {
    /// Local wall-clock time relabelled as UTC ([`super::normalize_date`]).
    pub start_time: String,
    /// `start_time + duration` ([`super::end_time`]).
    pub end_time: String,
    /// Milliseconds.
    pub duration: JsNumber,
    pub child_id: String,
    pub name: String,
    pub calories: JsNumber,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub steps: Option<JsNumber>,
    /// Metres; left out when the provider has none (or zero).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance: Option<JsNumber>,
    /// Minutes per activity level (Fitbit's only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub levels: Option<Vec<ActivityLevel>>,
    /// Fitbit's only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heart_rate: Option<HeartRate>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ActivityLevel {
    pub name: String,
    /// Milliseconds.
    pub duration: JsNumber,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HeartRate {
    pub average: JsNumber,
    pub out_of_range_zone: HeartRateZone,
    pub fat_burn_zone: HeartRateZone,
    pub cardio_zone: HeartRateZone,
    pub peak_zone: HeartRateZone,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HeartRateZone {
    pub min: JsNumber,
    pub max: JsNumber,
    /// Milliseconds.
    pub duration: JsNumber,
}
