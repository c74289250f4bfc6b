//! Synthetic Fitbit data. Every user has a made-up but plausible child's history (weights, nights, activities and
//! daily totals) from two years ago to today (UTC). Each day's items come from a hash of the user and the date alone,
//! so the same user and day give the same items whenever and however often they are asked for (which is why a
//! [`History`] may generate them once and keep them for the memo, `src/memo.rs`). Some days the tracker was not worn
//! ([`unworn_days`]), a few it was worn but the child did not move ([`still_days`]): no activity then.

mod activity;
mod profile;
mod series;
mod sleep;
mod weight;

use std::collections::BTreeMap;

use chrono::{Months, NaiveDate, Utc};
use serde_json::{json, Value};

use crate::column::Column;
use profile::Profile;

pub(crate) use series::worn;
pub use series::SERIES_RESOURCES;

/// A user's raw Fitbit JSON between two dates (both included), each list in chronological order: exactly the items the
/// simulator serves for those dates today.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    /// Weight logs, by `date`.
    pub weight: Vec<Value>,
    /// Sleep logs (v1.2), by `dateOfSleep`.
    pub sleep: Vec<Value>,
    /// Activity logs, by the date of `startTime`.
    pub activities: Vec<Value>,
    /// Per resource of [`SERIES_RESOURCES`], one `{"dateTime","value"}` per day of the range, the value a string;
    /// `"0"` outside the history, as Fitbit reports days before a user had a tracker. Unworn days have 0 steps and 1440
    /// sedentary minutes, still days 0 steps and 0 active minutes of each level.
    pub series: BTreeMap<String, Vec<Value>>,
}

/// The data of `user` dated from `from` to `to`, both included, limited to the history (two years ago to today).
pub fn dataset(user: &str, from: NaiveDate, to: NaiveDate) -> Dataset {
    let history = History::new(user, today());
    let days = || from.iter_days().take_while(move |day| *day <= to);
    Dataset {
        weight: days().filter_map(|day| history.weight_on(day)).cloned().collect(),
        sleep: days().filter_map(|day| history.sleep_on(day)).collect(),
        activities: days().flat_map(|day| history.activities_on(day)).collect(),
        series: SERIES_RESOURCES
            .iter()
            .enumerate()
            .map(|(index, resource)| (resource.to_string(), history.series(index, from, to)))
            .collect(),
    }
}

/// The days from `from` to `to` (both included, within the history) the tracker of `user` was not worn: Fitbit's
/// series report 0 steps and 1440 sedentary minutes, Google's `dailyRollUp` has no bucket. About one day in 25.
pub fn unworn_days(user: &str, from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
    History::new(user, today()).days_where(from, to, |totals| !series::worn(totals))
}

/// The days from `from` to `to` (both included, within the history) the tracker of `user` was worn but counted no
/// step: 0 steps, 0 lightly, fairly and very active minutes, basal calories and 600 to 900 sedentary minutes, and no
/// activity log. Google has buckets for them whose zero sums proto3 leaves out (`"steps": {}`). About one day in 30.
pub fn still_days(user: &str, from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
    History::new(user, today()).days_where(from, to, series::still)
}

/// The simulator's today. Fitbit resolves dates in the user's time zone; all simulated users live in UTC.
pub(crate) fn today() -> NaiveDate {
    Utc::now().date_naive()
}

/// One user's history as of a given today. Each day's items are generated on first use and kept (see
/// `src/memo.rs`): nights, the bulk of a history, as their JSON text, which holds only strings and integers and so
/// parses back to the same JSON.
pub(crate) struct History {
    user: String,
    profile: Profile,
    first: NaiveDate,
    last: NaiveDate,
    totals: Column<[i64; 6]>,
    weights: Column<Option<Value>>,
    nights: Column<Box<str>>,
    activities: Column<Vec<Value>>,
}

impl History {
    pub(crate) fn new(user: &str, today: NaiveDate) -> History {
        let first = today.checked_sub_months(Months::new(24)).unwrap_or(NaiveDate::MIN);
        let days = (today - first).num_days().max(0) as usize + 1;
        History {
            user: user.to_string(),
            profile: Profile::of(user),
            first,
            last: today,
            totals: Column::new(days),
            weights: Column::new(days),
            nights: Column::new(days),
            activities: Column::new(days),
        }
    }

    pub(crate) fn user(&self) -> &str {
        &self.user
    }

    pub(crate) fn first(&self) -> NaiveDate {
        self.first
    }

    pub(crate) fn last(&self) -> NaiveDate {
        self.last
    }

    /// How many days the history has, the first and the last included.
    pub(crate) fn day_count(&self) -> usize {
        self.nights.len()
    }

    /// The position of `day` in the history, `None` outside it.
    pub(crate) fn index(&self, day: NaiveDate) -> Option<usize> {
        (self.first..=self.last).contains(&day).then(|| (day - self.first).num_days() as usize)
    }

    pub(crate) fn weight_on(&self, day: NaiveDate) -> Option<&Value> {
        let index = self.index(day)?;
        self.weights.get(index, || weight::on(&self.user, &self.profile, day))?.as_ref()
    }

    /// The night that ended on the morning of `day`.
    pub(crate) fn sleep_on(&self, day: NaiveDate) -> Option<Value> {
        self.sleep_text(day).map(|text| serde_json::from_str(text).expect("a kept night parses"))
    }

    /// [`History::sleep_on`] as compact JSON text.
    pub(crate) fn sleep_text(&self, day: NaiveDate) -> Option<&str> {
        let make = || sleep::night(&self.user, &self.profile, day).to_string().into_boxed_str();
        self.nights.get(self.index(day)?, make).map(|text| &**text)
    }

    /// None on a still day: the child did not move.
    pub(crate) fn activities_on(&self, day: NaiveDate) -> Vec<Value> {
        self.activity_logs(day).to_vec()
    }

    /// The day's activity logs, lent.
    pub(crate) fn activity_logs(&self, day: NaiveDate) -> &[Value] {
        let Some(index) = self.index(day) else { return &[] };
        let make = || {
            if self.day_totals(day).is_some_and(|totals| !series::still(&totals)) {
                activity::on(&self.user, &self.profile, day)
            } else {
                Vec::new()
            }
        };
        self.activities.get(index, make).map_or(&[], Vec::as_slice)
    }

    /// The day's tracker totals in the order of [`SERIES_RESOURCES`]; `None` outside the history.
    pub(crate) fn day_totals(&self, day: NaiveDate) -> Option<[i64; 6]> {
        self.totals.get(self.index(day)?, || series::day(&self.user, &self.profile, day)).copied()
    }

    /// The days from `from` to `to` within the history whose totals pass `test`, oldest first.
    fn days_where(&self, from: NaiveDate, to: NaiveDate, test: impl Fn(&[i64; 6]) -> bool) -> Vec<NaiveDate> {
        from.iter_days()
            .take_while(|day| *day <= to)
            .filter(|day| self.day_totals(*day).is_some_and(|totals| test(&totals)))
            .collect()
    }

    /// `{"dateTime","value"}` per day for the resource at `index` in [`SERIES_RESOURCES`].
    pub(crate) fn series(&self, index: usize, from: NaiveDate, to: NaiveDate) -> Vec<Value> {
        from.iter_days()
            .take_while(|day| *day <= to)
            .map(|day| {
                let value = self.day_totals(day).map_or(0, |totals| totals[index]);
                json!({"dateTime": day.to_string(), "value": value.to_string()})
            })
            .collect()
    }
}

/// Rounds to `decimals` places, for values Fitbit reports with few decimals.
fn round(value: f64, decimals: i32) -> f64 {
    let factor = 10f64.powi(decimals);
    (value * factor).round() / factor
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn the_history_spans_two_years_and_stops_today() {
        let history = History::new("U", day("2026-03-31"));
        assert_eq!(history.first(), day("2024-03-31"));
        assert!(history.sleep_on(day("2024-03-31")).is_some());
        assert!(history.sleep_on(day("2024-03-30")).is_none());
        assert!(history.sleep_on(day("2026-04-01")).is_none());
        let series = history.series(0, day("2026-03-31"), day("2026-04-01"));
        assert_eq!(series[1], json!({"dateTime": "2026-04-01", "value": "0"}));
    }

    #[test]
    fn frequencies_are_roughly_as_documented() {
        let history = History::new("freq", day("2026-01-01"));
        let days: Vec<_> = history.first().iter_days().take(730).collect();
        let weights = days.iter().filter(|d| history.weight_on(**d).is_some()).count();
        let active_days = days.iter().filter(|d| !history.activities_on(**d).is_empty()).count();
        let classic = days.iter().filter(|d| history.sleep_on(**d).unwrap()["type"] == "classic").count();
        assert!((200..290).contains(&weights), "{weights} weights");
        assert!((200..290).contains(&active_days), "{active_days} active days");
        assert!((110..190).contains(&classic), "{classic} classic nights");
    }

    #[test]
    fn still_days_are_worn_without_a_step_or_an_activity() {
        let history = History::new("still", day("2026-01-01"));
        let days: Vec<_> = history.first().iter_days().take(730).collect();
        let totals = |d: NaiveDate| history.day_totals(d).unwrap();
        let still: Vec<_> = days.iter().copied().filter(|d| series::still(&totals(*d))).collect();
        let unworn = days.iter().filter(|d| !series::worn(&totals(**d))).count();
        assert!((10..45).contains(&still.len()), "{} still days", still.len());
        assert!((12..50).contains(&unworn), "{unworn} unworn days");
        for d in still {
            let [steps, calories, sedentary, lightly, fairly, very] = totals(d);
            assert_eq!((steps, lightly, fairly, very), (0, 0, 0, 0), "{d}");
            assert!(calories > 1000 && (600..=900).contains(&sedentary), "{d}");
            assert!(history.activities_on(d).is_empty(), "{d}");
        }
    }

    #[test]
    fn log_ids_are_unique_per_user_and_kind() {
        let history = History::new("ids", day("2026-01-01"));
        let days: Vec<_> = history.first().iter_days().take(731).collect();
        let mut ids: Vec<i64> = days
            .iter()
            .flat_map(|d| history.activities_on(*d))
            .chain(days.iter().filter_map(|d| history.sleep_on(*d)))
            .map(|log| log["logId"].as_i64().unwrap())
            .collect();
        let total = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), total);
    }
}
