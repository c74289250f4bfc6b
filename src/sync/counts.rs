//! What a sync counts: the 200 body of the sync route, as the original's (new items per resource, fetched entries
//! per log type). Shared by the engine, which fills it, and the parts' reports, which it is made from.

use serde::Serialize;

use crate::domain::ocariot::LogType;

/// The 200 body of the sync route, as the original's: new items per resource, fetched entries per log type.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SyncCounts {
    pub activities: usize,
    pub sleep: usize,
    pub weights: usize,
    pub logs: LogCounts,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LogCounts {
    pub steps: usize,
    pub calories: usize,
    pub active_minutes: usize,
    pub lightly_active_minutes: usize,
    pub sedentary_minutes: usize,
}

impl LogCounts {
    pub(super) fn add(&mut self, log_type: LogType, count: usize) {
        let counter = match log_type {
            LogType::Steps => &mut self.steps,
            LogType::Calories => &mut self.calories,
            LogType::ActiveMinutes => &mut self.active_minutes,
            LogType::LightlyActiveMinutes => &mut self.lightly_active_minutes,
            LogType::SedentaryMinutes => &mut self.sedentary_minutes,
        };
        *counter += count;
    }

    pub(super) fn get(&self, log_type: LogType) -> usize {
        match log_type {
            LogType::Steps => self.steps,
            LogType::Calories => self.calories,
            LogType::ActiveMinutes => self.active_minutes,
            LogType::LightlyActiveMinutes => self.lightly_active_minutes,
            LogType::SedentaryMinutes => self.sedentary_minutes,
        }
    }
}
