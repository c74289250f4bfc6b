//! A second data source: the user's phone, which on some days also records the day's first tracker activity as a walk
//! (Health Connect). `list` is the per-source view, so it returns both points of that walk; `reconcile` merges sources
//! and returns the tracker's only (docs/google-health.md#reconcile). Clients that read `list` must not count the walk
//! twice.

use chrono::NaiveDate;
use serde_json::{json, Map, Value};

use super::encoding::Encoding;
use super::mapping::{self, Point};
use super::time::{self, LocalTime};
use crate::dataset::History;
use crate::seed::{fnv1a, Dice};

/// Whether the phone recorded the first of the day's tracker activities: about one active day in four.
pub(crate) fn recorded(user: &str, day: NaiveDate, activities: &[Value]) -> bool {
    !activities.is_empty() && Dice::new(&[user, "phone", &day.to_string()]).one_in(4)
}

/// The days from `from` to `to` on which the phone recorded a walk as well as the tracker, oldest first.
pub(crate) fn days(history: &History, from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
    from.iter_days()
        .take_while(|day| *day <= to)
        .filter(|day| recorded(history.user(), *day, history.activity_logs(*day)))
        .collect()
}

fn source() -> Value {
    json!({"recordingMethod": "PASSIVELY_MEASURED", "platform": "HEALTH_CONNECT",
           "device": {"formFactor": "PHONE", "manufacturer": "Google", "displayName": "Pixel 8"}})
}

/// The phone's walk on `day`, if it recorded one: a minute later and a minute shorter at each end than the tracker's
/// first activity, with somewhat fewer calories and steps (a phone in a pocket misses some), and a 19-digit id of its
/// own, fixed by the tracker's log.
pub(crate) fn walk(
    history: &History,
    health_user: &str,
    day: NaiveDate,
    activities: &[Value],
    encoding: Encoding,
) -> Option<Point> {
    if !recorded(history.user(), day, activities) {
        return None;
    }
    let log = activities.first()?;
    let log_id = log["logId"].as_i64()?.to_string();
    let tracker_start = LocalTime::parse_fitbit(log["startTime"].as_str()?)?;
    let seconds = log["duration"].as_i64()? / 1000;
    let (start, end) = (tracker_start.plus(60), tracker_start.plus(seconds - 60));

    let mut dice = Dice::new(&[health_user, "phone", &log_id]);
    let minutes = seconds / 60;
    let calories = (log["calories"].as_f64()? * dice.between(80, 95) as f64 / 100.0).round();
    let steps = log["steps"].as_i64().unwrap_or(minutes * 100) * dice.between(85, 95) / 100;
    let mut summary = Map::new();
    encoding.double(&mut summary, "caloriesKcal", calories);
    encoding.int64(&mut summary, "steps", steps);
    let mut details = Map::new();
    details.insert("activeDuration".into(), json!(time::duration(seconds - 120)));
    details.insert("metricsSummary".into(), Value::Object(summary));

    let id = 1_000_000_000_000_000_000 + fnv1a(&[health_user, "phone", &log_id]) % 8_000_000_000_000_000_000;
    let name = mapping::name(health_user, "exercise", &id.to_string());
    Some(mapping::session(name, source(), ("WALKING", "Walk"), start, end, details))
}
