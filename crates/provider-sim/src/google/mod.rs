//! The Google side of the simulator: Google OAuth and the Google Health API v4 that replace the retired Fitbit Web
//! API. The data is the same synthetic person's ([`crate::dataset`]), converted to Google's data points and rollups,
//! so a client syncing one user from both providers gets equivalent records.

pub(crate) mod data_types;
pub(crate) mod filter;
pub(crate) mod mapping;
pub(crate) mod paging;
pub(crate) mod rollup;
pub(crate) mod scopes;
pub(crate) mod status;
pub(crate) mod time;
pub(crate) mod tokens;

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde_json::Value;

use crate::dataset::{today, History};
use data_types::DataType;
use mapping::Point;

pub use mapping::health_user_id;
pub use scopes::GOOGLE_HEALTH_SCOPES;

/// The types the simulator has data for: `list` types, then `dailyRollUp` types.
const LIST_TYPES: [&str; 4] = ["exercise", "sleep", "weight", "body-fat"];
const ROLLUP_TYPES: [&str; 7] =
    ["steps", "total-calories", "active-minutes", "sedentary-period", "active-zone-minutes", "weight", "body-fat"];

/// A user's Google data between two dates (both included), exactly what the Health API serves for them today.
#[derive(Clone, Debug, PartialEq)]
pub struct GoogleDataset {
    /// `list` points per data type (`exercise`, `sleep`, `weight`, `body-fat`), oldest first.
    pub points: BTreeMap<String, Vec<Value>>,
    /// `dailyRollUp` buckets per data type (`steps`, `total-calories`, `active-minutes`, `sedentary-period`,
    /// `active-zone-minutes`, `weight`, `body-fat`), one per day with data, oldest first.
    pub daily_rollups: BTreeMap<String, Vec<Value>>,
}

/// The Google data of `user` dated from `from` to `to` (civil dates: exercise by start, sleep by end, samples by time).
pub fn google_dataset(user: &str, from: NaiveDate, to: NaiveDate) -> GoogleDataset {
    let history = History::new(user, today());
    let health_user = health_user_id(user);
    let find = |path: &str| data_types::find(path).expect("a known data type");
    let points = LIST_TYPES
        .iter()
        .map(|path| {
            let mut points = points(&history, &health_user, find(path), from, to);
            points.sort_by_key(|p| p.start.physical());
            (path.to_string(), points.into_iter().map(|p| p.value).collect())
        })
        .collect();
    let end = to.succ_opt().unwrap_or(to);
    let daily_rollups = ROLLUP_TYPES
        .iter()
        .map(|path| (path.to_string(), rollup::buckets(&history, find(path), from, end, 1)))
        .collect();
    GoogleDataset { points, daily_rollups }
}

/// The points of a data type for the Fitbit items dated `from` to `to`, in no particular order.
pub(crate) fn points(
    history: &History,
    health_user: &str,
    data_type: &DataType,
    from: NaiveDate,
    to: NaiveDate,
) -> Vec<Point> {
    let days = from.iter_days().take_while(|day| *day <= to);
    match data_type.path {
        "exercise" => days
            .flat_map(|day| history.activities_on(day))
            .filter_map(|log| mapping::exercise(health_user, &log))
            .collect(),
        "sleep" => {
            days.filter_map(|day| history.sleep_on(day)).filter_map(|log| mapping::sleep(health_user, &log)).collect()
        }
        "weight" => {
            days.filter_map(|day| history.weight_on(day)).filter_map(|log| mapping::weight(health_user, &log)).collect()
        }
        "body-fat" => days
            .filter_map(|day| history.weight_on(day))
            .filter_map(|log| mapping::body_fat(health_user, &log))
            .collect(),
        _ => Vec::new(),
    }
}
