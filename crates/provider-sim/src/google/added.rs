//! Points added while the simulator runs, served by `list` and `reconcile` beside the generated ones and within the
//! same filters; rollups do not change, and the defects switch never breaks them. Each comes from the tracker and has
//! a 19-digit id of its own.
//!
//! - Exercises (`POST /__admin/google/users/{user}/exercises`, [`crate::Simulator::add_google_exercise`]), for tests
//!   of the webhook path end to end: a point appears, a notification goes out, the client fetches the point. They are
//!   at the activity logs' UTC offset, in the answer's encoding.
//! - Points given whole ([`crate::Simulator::add_google_point`]): any payload a test writes, served as written, for
//!   what generated data never has (a duration of fractional seconds, an exercise type no proto has yet).

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{json, Map, Value};

use super::encoding::Encoding;
use super::mapping::{self, Point};
use super::time::{self, LocalTime, ACTIVITY_UTC_OFFSET_SECS};
use crate::seed::fnv1a;

#[derive(Clone, Debug)]
pub(crate) struct AddedExercise {
    pub id: String,
    pub start: DateTime<Utc>,
    pub minutes: u32,
    pub steps: u64,
    /// An `exerciseType` value, `WALKING` by default.
    pub exercise_type: String,
}

impl AddedExercise {
    pub(crate) fn end(&self) -> DateTime<Utc> {
        self.start + chrono::Duration::minutes(i64::from(self.minutes))
    }
}

#[derive(Default)]
pub(crate) struct AddedPoints {
    by_user: HashMap<String, Vec<AddedExercise>>,
    /// Points given whole, per user: the data type and the point.
    given: HashMap<String, Vec<(String, Point)>>,
    /// Exercises added so far, which seeds the ids so that two alike exercises still differ.
    count: u64,
}

impl AddedPoints {
    pub(crate) fn add_exercise(
        &mut self,
        user: &str,
        start: DateTime<Utc>,
        minutes: u32,
        steps: u64,
        exercise_type: &str,
    ) -> AddedExercise {
        self.count += 1;
        let seed = fnv1a(&[user, "added exercise", &self.count.to_string(), &start.to_rfc3339()]);
        let id = (1_000_000_000_000_000_000 + seed % 8_000_000_000_000_000_000).to_string();
        let exercise = AddedExercise { id, start, minutes, steps, exercise_type: exercise_type.to_string() };
        self.by_user.entry(user.to_string()).or_default().push(exercise.clone());
        exercise
    }

    /// Adds a point of `data_type` (`exercise`, `sleep`…) whose payload (the object under the type's camelCase key)
    /// is `payload`, with an `interval` (`startTime`, `startUtcOffset`, `endTime`, `endUtcOffset`) or a `sampleTime`
    /// (`physicalTime`, `utcOffset`); its name, or `None` when those times do not read.
    pub(crate) fn add_point(
        &mut self,
        user: &str,
        health_user: &str,
        data_type: &str,
        payload: Value,
    ) -> Option<String> {
        let (start, end) = match payload.get("interval") {
            Some(interval) => {
                (given_time(interval, "startTime", "startUtcOffset")?, given_time(interval, "endTime", "endUtcOffset")?)
            }
            None => {
                let at = given_time(payload.get("sampleTime")?, "physicalTime", "utcOffset")?;
                (at, at)
            }
        };
        self.count += 1;
        let seed = fnv1a(&[user, "added point", data_type, &self.count.to_string()]);
        let id = (1_000_000_000_000_000_000 + seed % 8_000_000_000_000_000_000).to_string();
        let name = mapping::name(health_user, data_type, &id);
        let mut value = Map::new();
        value.insert("name".into(), json!(name));
        value.insert("dataSource".into(), mapping::tracker());
        value.insert(camel_case(data_type), payload);
        let value = Value::Object(value);
        self.given.entry(user.to_string()).or_default().push((data_type.to_string(), Point { value, start, end }));
        Some(name)
    }

    /// The user's added points of `data_type` whose civil start or end is dated `from` to `to`; the filters then
    /// decide, as for the generated ones.
    pub(crate) fn points(
        &self,
        user: &str,
        health_user: &str,
        data_type: &str,
        (from, to): (NaiveDate, NaiveDate),
        encoding: Encoding,
    ) -> Vec<Point> {
        let exercises = self
            .by_user
            .get(user)
            .into_iter()
            .flatten()
            .filter(|_| data_type == "exercise")
            .map(|exercise| point(health_user, exercise, encoding));
        let given = self
            .given
            .get(user)
            .into_iter()
            .flatten()
            .filter(|(of_type, _)| of_type == data_type)
            .map(|(_, point)| point.clone());
        exercises
            .chain(given)
            .filter(|point| [point.start, point.end].iter().any(|at| (from..=to).contains(&at.civil.date())))
            .collect()
    }
}

/// `exercise` → `exercise`, `body-fat` → `bodyFat`: the key of a data type's payload in a point.
fn camel_case(data_type: &str) -> String {
    let mut words = data_type.split('-');
    let first = words.next().unwrap_or_default().to_string();
    words.fold(first, |mut key, word| {
        let mut chars = word.chars();
        if let Some(initial) = chars.next() {
            key.extend(initial.to_uppercase());
            key.push_str(chars.as_str());
        }
        key
    })
}

/// A time of a given payload: its RFC 3339 instant under `time_key` seen at the `"<seconds>s"` offset under
/// `offset_key`.
fn given_time(parent: &Value, time_key: &str, offset_key: &str) -> Option<LocalTime> {
    let instant = DateTime::parse_from_rfc3339(parent.get(time_key)?.as_str()?).ok()?.with_timezone(&Utc);
    let offset: i64 = parent.get(offset_key)?.as_str()?.strip_suffix('s')?.parse().ok()?;
    Some(LocalTime::at(instant, offset))
}

pub(crate) fn name(health_user: &str, exercise: &AddedExercise) -> String {
    mapping::name(health_user, "exercise", &exercise.id)
}

/// `WALKING` → `Walk` as Fitbit names its activities; other types → `Strength training`.
fn display_name(exercise_type: &str) -> String {
    match exercise_type {
        "WALKING" => "Walk".to_string(),
        "RUNNING" => "Run".to_string(),
        "BIKING" => "Bike".to_string(),
        "SWIMMING" => "Swim".to_string(),
        other => {
            let words = other.to_lowercase().replace('_', " ");
            let mut chars = words.chars();
            chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
        }
    }
}

/// The tracker's point of an added exercise, about 4 kcal a minute (a walk's, as the synthetic logs count).
fn point(health_user: &str, exercise: &AddedExercise, encoding: Encoding) -> Point {
    let start = LocalTime::at(exercise.start, ACTIVITY_UTC_OFFSET_SECS);
    let end = LocalTime::at(exercise.end(), ACTIVITY_UTC_OFFSET_SECS);
    let seconds = i64::from(exercise.minutes) * 60;
    let mut summary = Map::new();
    encoding.double(&mut summary, "caloriesKcal", f64::from(exercise.minutes) * 4.0);
    encoding.int64(&mut summary, "steps", exercise.steps as i64);
    let mut metadata = Map::new();
    encoding.boolean(&mut metadata, "hasGps", false);
    let mut details = Map::new();
    details.insert("activeDuration".into(), json!(time::duration(seconds)));
    details.insert("metricsSummary".into(), summary.into());
    details.insert("exerciseMetadata".into(), metadata.into());
    let display = display_name(&exercise.exercise_type);
    let kind = (exercise.exercise_type.as_str(), display.as_str());
    mapping::session(name(health_user, exercise), mapping::tracker(), kind, start, end, details)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_points_keep_their_payload_and_milliseconds() {
        let mut added = AddedPoints::default();
        let payload = json!({"interval": {"startTime": "2026-03-02T01:30:00.250Z", "startUtcOffset": "-10800s",
                                          "endTime": "2026-03-02T09:00:00.500Z", "endUtcOffset": "-10800s"},
                             "type": "STAGES"});
        let name = added.add_point("U", "7", "sleep", payload.clone()).unwrap();
        assert!(name.starts_with("users/7/dataTypes/sleep/dataPoints/"), "{name}");
        let day = |s: &str| s.parse::<NaiveDate>().unwrap();
        // Civil start 2026-03-01 22:30:00.250, civil end 2026-03-02 06:00:00.500.
        for (from, to) in [("2026-03-01", "2026-03-01"), ("2026-03-02", "2026-03-02")] {
            let points = added.points("U", "7", "sleep", (day(from), day(to)), Encoding::Proto3);
            assert_eq!(points.len(), 1, "{from}");
            assert_eq!(points[0].value["sleep"], payload);
            assert_eq!(points[0].value["name"], json!(name));
        }
        let points = added.points("U", "7", "sleep", (day("2026-03-01"), day("2026-03-01")), Encoding::Proto3);
        assert_eq!(points[0].start.civil.to_string(), "2026-03-01 22:30:00.250");
        assert!(added
            .points("U", "7", "exercise", (day("2026-03-01"), day("2026-03-02")), Encoding::Proto3)
            .is_empty());
        assert!(added.add_point("U", "7", "sleep", json!({"interval": {"startTime": "soon"}})).is_none());
        assert_eq!(camel_case("body-fat"), "bodyFat");
        assert_eq!(camel_case("exercise"), "exercise");
    }

    #[test]
    fn added_exercises_are_served_on_their_civil_day() {
        let mut added = AddedPoints::default();
        // 01:30Z is 22:30 the day before at -03:00.
        let start = "2026-03-02T01:30:00Z".parse().unwrap();
        let first = added.add_exercise("U", start, 30, 3000, "WALKING");
        let second = added.add_exercise("U", start, 30, 3000, "STRENGTH_TRAINING");
        assert_ne!(first.id, second.id);
        assert_eq!(first.id.len(), 19);
        let day = |s: &str| s.parse::<NaiveDate>().unwrap();
        let points = added.points("U", "7", "exercise", (day("2026-03-01"), day("2026-03-01")), Encoding::Proto3);
        assert_eq!(points.len(), 2);
        let exercise = &points[0].value["exercise"];
        assert_eq!(exercise["interval"]["startTime"], "2026-03-02T01:30:00Z");
        assert_eq!(exercise["interval"]["startUtcOffset"], "-10800s");
        assert_eq!(exercise["metricsSummary"]["steps"], "3000");
        assert_eq!(points[1].value["exercise"]["displayName"], "Strength training");
        assert!(added
            .points("U", "7", "exercise", (day("2026-03-02"), day("2026-03-03")), Encoding::Proto3)
            .is_empty());
        assert!(added
            .points("V", "8", "exercise", (day("2026-03-01"), day("2026-03-01")), Encoding::Proto3)
            .is_empty());
    }
}
