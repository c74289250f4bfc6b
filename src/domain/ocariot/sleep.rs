//! OCARIoT `Sleep`, the payload of `SleepSyncEvent`. Field order is key order on the wire.

use serde::Serialize;

use super::JsNumber;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Sleep {
    pub start_time: String,
    pub end_time: String,
    /// Milliseconds.
    pub duration: JsNumber,
    pub child_id: String,
    pub pattern: SleepPattern,
    /// `stages` or `classic`.
    #[serde(rename = "type")]
    pub sleep_type: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SleepPattern {
    pub data_set: Vec<SleepStage>,
    pub summary: SleepSummary,
}

/// One stretch of one stage.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SleepStage {
    pub start_time: String,
    /// `awake`, `light`, `deep`, `rem`, `asleep`, `restless`.
    pub name: String,
    /// Milliseconds.
    pub duration: JsNumber,
}

/// The night's totals per stage: the stages of a `stages` night or those of a `classic` one.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum SleepSummary {
    Stages { deep: StageSummary, light: StageSummary, rem: StageSummary, awake: StageSummary },
    Classic { awake: StageSummary, asleep: StageSummary, restless: StageSummary },
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StageSummary {
    pub count: JsNumber,
    /// Milliseconds.
    pub duration: JsNumber,
}
