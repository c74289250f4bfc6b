//! The Google side of the simulator: Google OAuth and the Google Health API v4 that replace the retired Fitbit Web
//! API. The data is the same synthetic person's ([`crate::dataset`]), converted to Google's data points and rollups,
//! so a client syncing one user from both providers gets equivalent records. Webhooks too: subscribers of a Cloud
//! project, their verification, and signed notifications of added data.

pub(crate) mod added;
pub(crate) mod data_types;
pub(crate) mod days;
pub(crate) mod defects;
pub(crate) mod encoding;
pub(crate) mod filter;
pub(crate) mod mapping;
pub(crate) mod notifications;
pub(crate) mod operations;
pub(crate) mod paging;
pub(crate) mod phone;
pub(crate) mod rollup;
pub(crate) mod scopes;
pub(crate) mod service_accounts;
pub(crate) mod status;
pub(crate) mod subscribers;
pub(crate) mod time;
pub(crate) mod tokens;
pub(crate) mod verification;
pub(crate) mod webhook_keys;
pub(crate) mod webhooks;

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde_json::Value;

use crate::dataset::{today, History};
use encoding::Encoding;

pub use data_types::served_data_types;
pub(crate) use days::GoogleDays;
pub use mapping::health_user_id;
pub use scopes::GOOGLE_HEALTH_SCOPES;
pub use webhooks::Delivery;

/// The types the simulator has data for: `list` types, then `dailyRollUp` types.
const LIST_TYPES: [&str; 4] = ["exercise", "sleep", "weight", "body-fat"];
const ROLLUP_TYPES: [&str; 7] =
    ["steps", "total-calories", "active-minutes", "sedentary-period", "active-zone-minutes", "weight", "body-fat"];

/// A user's Google data between two dates (both included), as the Health API serves it for the Fitbit tracker and
/// scale: see [`google_dataset`].
#[derive(Clone, Debug, PartialEq)]
pub struct GoogleDataset {
    /// `list` points per data type (`exercise`, `sleep`, `weight`, `body-fat`), oldest first.
    pub points: BTreeMap<String, Vec<Value>>,
    /// `dailyRollUp` buckets per data type (`steps`, `total-calories`, `active-minutes`, `sedentary-period`,
    /// `active-zone-minutes`, `weight`, `body-fat`), one per day with data, oldest first.
    pub daily_rollups: BTreeMap<String, Vec<Value>>,
}

/// The Google data of `user` dated from `from` to `to` (civil dates: exercise by start, sleep by end, samples by time),
/// exactly as a simulator with the default configuration serves the Fitbit devices' points and the daily rollups
/// today: proto3 JSON (zero sums, zero metrics and `false` flags left out) and every night processed. The phone's
/// walks, a second source that `list` also returns, are not in it: [`phone_exercise_days`] tells their days.
pub fn google_dataset(user: &str, from: NaiveDate, to: NaiveDate) -> GoogleDataset {
    dataset_as(user, from, to, Encoding::Proto3)
}

/// [`google_dataset`] as a simulator with `google_verbose` on serves it: every field printed, zeros and `false`
/// included.
pub fn google_dataset_verbose(user: &str, from: NaiveDate, to: NaiveDate) -> GoogleDataset {
    dataset_as(user, from, to, Encoding::Verbose)
}

/// The days from `from` to `to` (both included) on which the phone of `user` recorded the day's first activity too:
/// `list` of `exercise` then has a second point for it (a `WALKING` from `HEALTH_CONNECT`, one minute inside the
/// tracker's interval at each end), which `reconcile` merges away. About one day in four of those with an activity.
pub fn phone_exercise_days(user: &str, from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
    phone::days(&History::new(user, today()), from, to)
}

fn dataset_as(user: &str, from: NaiveDate, to: NaiveDate, encoding: Encoding) -> GoogleDataset {
    let history = History::new(user, today());
    let google = GoogleDays::new(&history);
    let find = |path: &str| data_types::find(path).expect("a known data type");
    let serving = Serving { encoding, phone: false, sleep_processing: false };
    let points = LIST_TYPES
        .iter()
        .map(|path| {
            let mut points = google.points(&history, find(path), from, to, serving);
            points.sort_by_key(|p| p.start.physical());
            (path.to_string(), points.into_iter().map(|p| p.json().into_owned()).collect())
        })
        .collect();
    let end = to.succ_opt().unwrap_or(to);
    let daily_rollups = ROLLUP_TYPES
        .iter()
        .map(|path| (path.to_string(), rollup::buckets(&history, find(path), from, end, 1, encoding)))
        .collect();
    GoogleDataset { points, daily_rollups }
}

/// What shapes the points of an answer besides the request: the run-time switches in force.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Serving {
    pub encoding: Encoding,
    /// The phone's walks are served besides the tracker's points.
    pub phone: bool,
    /// The newest night (the one that ended today) is still being processed.
    pub sleep_processing: bool,
}
