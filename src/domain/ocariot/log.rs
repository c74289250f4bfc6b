//! OCARIoT `Log`: one daily value of one log type, the payload of `LogSyncEvent`; the consumers upsert logs by child,
//! type and date.

use serde::{Serialize, Serializer};

/// One day's value. `value` is a string (`"8423"`), as Fitbit's series carried it: downstream services were built
/// against strings (docs/decisions.md#published-payloads).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Log {
    pub child_id: String,
    /// `YYYY-MM-DD`.
    pub date: String,
    pub value: String,
    #[serde(rename = "type")]
    pub log_type: LogType,
}

/// The five daily log types, in the order their lists are concatenated into one `LogSyncEvent`, as the original did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogType {
    Steps,
    Calories,
    ActiveMinutes,
    LightlyActiveMinutes,
    SedentaryMinutes,
}

impl LogType {
    /// Every type, in publishing order.
    pub const ALL: [LogType; 5] = [
        LogType::Steps,
        LogType::Calories,
        LogType::ActiveMinutes,
        LogType::LightlyActiveMinutes,
        LogType::SedentaryMinutes,
    ];

    /// The `type` value on the wire, and the key in the sync result's `logs` object.
    pub fn name(&self) -> &'static str {
        match self {
            LogType::Steps => "steps",
            LogType::Calories => "calories",
            LogType::ActiveMinutes => "active_minutes",
            LogType::LightlyActiveMinutes => "lightly_active_minutes",
            LogType::SedentaryMinutes => "sedentary_minutes",
        }
    }
}

impl Serialize for LogType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}
