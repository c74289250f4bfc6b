//! The Health API data types the simulator knows, as Google's data-type catalogue describes them: the three spellings
//! of each name, what kind of record it is (which decides the filter fields), which methods it supports, its
//! `dailyRollUp` range cap and the scope area that guards it. Unknown types get a 400; known ones without synthetic
//! data answer empty.

use self::Area::{Activity, Metrics};
use self::Kind::{Daily, Interval, Sample, Session};

/// Which time a data type's records carry, and so which filter fields apply (docs/google-health.md#reconcile).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `exercise`: filtered on the start of its interval.
    Session,
    /// `sleep`: filtered on the end of its interval.
    Sleep,
    /// steps, active minutes…: filtered on the start of their interval.
    Interval,
    /// weight, body fat…: filtered on their sample time.
    Sample,
    /// daily-resting-heart-rate…: filtered on their date.
    Daily,
}

/// The scope areas of Google's Health scopes (docs/google-health.md#tokens-and-identity).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Area {
    Activity,
    Metrics,
    Sleep,
}

impl Area {
    /// The area's name in scope strings.
    pub(crate) fn scope_name(self) -> &'static str {
        match self {
            Area::Activity => "activity_and_fitness",
            Area::Metrics => "health_metrics_and_measurements",
            Area::Sleep => "sleep",
        }
    }
}

pub(crate) struct DataType {
    /// Kebab-case, as in URL paths.
    pub path: &'static str,
    /// camelCase, the payload key of points and rollup buckets.
    pub key: &'static str,
    pub kind: Kind,
    pub area: Area,
    pub list: bool,
    pub reconcile: bool,
    pub daily_roll_up: bool,
    /// The longest `dailyRollUp` range, in days: 14 for the calorie, heart-rate and active-minutes family, else 90.
    pub max_range_days: i64,
}

impl DataType {
    /// snake_case, the prefix of filter fields.
    pub(crate) fn filter_prefix(&self) -> String {
        self.path.replace('-', "_")
    }

    /// `list` and `reconcile` page sizes: 25 for sessions (exercise, sleep), else 1440 by default and 10000 at most.
    pub(crate) fn page_size(&self) -> (usize, usize) {
        match self.kind {
            Kind::Session | Kind::Sleep => (25, 25),
            _ => (1440, 10000),
        }
    }
}

const fn t(
    path: &'static str,
    key: &'static str,
    kind: Kind,
    area: Area,
    ops: (bool, bool, bool),
    max: i64,
) -> DataType {
    DataType { path, key, kind, area, list: ops.0, reconcile: ops.1, daily_roll_up: ops.2, max_range_days: max }
}

/// (list, reconcile, dailyRollUp), as documented, corrected where clients measured otherwise
/// (docs/google-health.md#daily-rollups).
const ALL: [DataType; 20] = [
    t("exercise", "exercise", Session, Activity, (true, true, false), 90),
    t("sleep", "sleep", Kind::Sleep, Area::Sleep, (true, true, false), 90),
    t("weight", "weight", Sample, Metrics, (true, true, true), 90),
    t("body-fat", "bodyFat", Sample, Metrics, (true, true, true), 90),
    t("height", "height", Sample, Metrics, (true, true, false), 90),
    t("heart-rate", "heartRate", Sample, Metrics, (true, true, true), 14),
    t("steps", "steps", Interval, Activity, (true, true, true), 90),
    t("distance", "distance", Interval, Activity, (true, true, true), 90),
    t("floors", "floors", Interval, Activity, (false, true, true), 90),
    t("total-calories", "totalCalories", Interval, Activity, (false, false, true), 14),
    t("active-energy-burned", "activeEnergyBurned", Interval, Activity, (true, true, true), 90),
    t("basal-energy-burned", "basalEnergyBurned", Interval, Activity, (true, true, false), 90),
    t("active-minutes", "activeMinutes", Interval, Activity, (true, true, true), 14),
    t("active-zone-minutes", "activeZoneMinutes", Interval, Activity, (true, true, true), 90),
    t("activity-level", "activityLevel", Interval, Activity, (true, true, false), 90),
    t("sedentary-period", "sedentaryPeriod", Interval, Activity, (true, true, true), 90),
    t("time-in-heart-rate-zone", "timeInHeartRateZone", Interval, Activity, (true, true, true), 90),
    t("calories-in-heart-rate-zone", "caloriesInHeartRateZone", Interval, Activity, (false, false, true), 14),
    t("daily-resting-heart-rate", "dailyRestingHeartRate", Daily, Metrics, (true, true, false), 90),
    t("daily-heart-rate-zones", "dailyHeartRateZones", Daily, Metrics, (true, true, false), 90),
];

/// Every data type the simulator serves: its name in paths and notifications, its camelCase key, and whether
/// `dailyRollUp` takes it. ds-agent's tests check that what its sync reads is among them.
pub fn served_data_types() -> impl Iterator<Item = (&'static str, &'static str, bool)> {
    ALL.iter().map(|data_type| (data_type.path, data_type.key, data_type.daily_roll_up))
}

pub(crate) fn find(path: &str) -> Option<&'static DataType> {
    ALL.iter().find(|data_type| data_type.path == path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_spellings() {
        let body_fat = find("body-fat").unwrap();
        assert_eq!((body_fat.key, body_fat.filter_prefix().as_str()), ("bodyFat", "body_fat"));
        assert_eq!(find("total-calories").unwrap().max_range_days, 14);
        assert_eq!(find("exercise").unwrap().page_size(), (25, 25));
        assert!(find("body_fat").is_none());
    }
}
