//! The Google Health data types a sync reads, in one table: what each is called on the wire (and in notifications),
//! which part of a sync reads it, and for the daily rollups, which log types it yields and the key of a bucket's
//! value. Adding a data type starts here (docs/ARCHITECTURE.md#adding-a-data-type).

use crate::domain::ocariot::LogType;
use crate::domain::{LogPart, Part, ResourceKind};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GoogleDataType {
    Exercise,
    Sleep,
    Weight,
    BodyFat,
    Steps,
    TotalCalories,
    ActiveMinutes,
    SedentaryPeriod,
}

use GoogleDataType::*;

impl GoogleDataType {
    /// Every type a sync reads: those worth a notification. The rollup types (those with `log_types`) are each one
    /// log part of a Google sync; active and lightly active minutes come from the same `active-minutes` buckets.
    pub const ALL: &[GoogleDataType] =
        &[Exercise, Sleep, Weight, BodyFat, Steps, TotalCalories, ActiveMinutes, SedentaryPeriod];

    /// The name in the Health API's paths and in notifications.
    pub const fn name(self) -> &'static str {
        match self {
            Exercise => "exercise",
            Sleep => "sleep",
            Weight => "weight",
            BodyFat => "body-fat",
            Steps => "steps",
            TotalCalories => "total-calories",
            ActiveMinutes => "active-minutes",
            SedentaryPeriod => "sedentary-period",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|data_type| data_type.name() == name)
    }

    /// The part of a sync that reads the type.
    pub const fn part(self) -> Part {
        match self {
            Exercise => Part::Resource(ResourceKind::Activities),
            Sleep => Part::Resource(ResourceKind::Sleep),
            // A weigh-in's body fat is its own data point, read with the weights.
            Weight | BodyFat => Part::Resource(ResourceKind::Weights),
            rollup => Part::Logs(LogPart(rollup.log_types())),
        }
    }

    /// The log types a rollup type's buckets yield (none for the other types).
    pub const fn log_types(self) -> &'static [LogType] {
        match self {
            Steps => &[LogType::Steps],
            TotalCalories => &[LogType::Calories],
            ActiveMinutes => &[LogType::ActiveMinutes, LogType::LightlyActiveMinutes],
            SedentaryPeriod => &[LogType::SedentaryMinutes],
            Exercise | Sleep | Weight | BodyFat => &[],
        }
    }

    /// The rollup type read for a log type.
    pub fn of_log_type(log_type: LogType) -> Self {
        Self::ALL.iter().copied().find(|data_type| data_type.log_types().contains(&log_type)).unwrap_or(Steps)
    }

    /// The key of a rollup bucket's value (camelCase, as Google names them).
    pub fn rollup_key(self) -> &'static str {
        match self {
            Steps => "steps",
            TotalCalories => "totalCalories",
            ActiveMinutes => "activeMinutes",
            SedentaryPeriod => "sedentaryPeriod",
            Exercise | Sleep | Weight | BodyFat => "",
        }
    }
}

/// The names of the Google data types a sync reads: those worth a notification.
pub const SYNCED_TYPES: [&str; GoogleDataType::ALL.len()] = {
    let mut names = [""; GoogleDataType::ALL.len()];
    let mut i = 0;
    while i < names.len() {
        names[i] = GoogleDataType::ALL[i].name();
        i += 1;
    }
    names
};

/// On the wire (a job's JSON) a data type is its name.
impl serde::Serialize for GoogleDataType {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for GoogleDataType {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        GoogleDataType::parse(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("not a data type the sync reads: {name}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_reads_every_type_once() {
        assert_eq!(
            SYNCED_TYPES,
            [
                "exercise",
                "sleep",
                "weight",
                "body-fat",
                "steps",
                "total-calories",
                "active-minutes",
                "sedentary-period"
            ]
        );
        for &data_type in GoogleDataType::ALL {
            assert_eq!(GoogleDataType::parse(data_type.name()), Some(data_type));
        }
        assert_eq!(GoogleDataType::parse("heart-rate"), None);
        assert_eq!(ActiveMinutes.part(), Part::Logs(LogPart(&[LogType::ActiveMinutes, LogType::LightlyActiveMinutes])));
        assert_eq!(BodyFat.part(), Part::Resource(ResourceKind::Weights));
        for log_type in LogType::ALL {
            assert!(GoogleDataType::of_log_type(log_type).log_types().contains(&log_type));
        }
    }
}
