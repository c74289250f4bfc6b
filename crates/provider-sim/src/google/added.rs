//! Exercises added while the simulator runs (`POST /__admin/google/users/{user}/exercises`,
//! [`crate::Simulator::add_google_exercise`]), for tests of the webhook path end to end: a point appears, a
//! notification goes out, the client fetches the point. `list` and `reconcile` serve them beside the generated ones,
//! in the same encoding and within the same filters; rollups do not change. They come from the tracker, at the
//! activity logs' UTC offset, and each has a 19-digit id of its own. The defects switch never breaks them.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{json, Map};

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

    /// The user's added points of `data_type` whose civil start is dated `from` to `to`, as the generated ones are.
    pub(crate) fn points(
        &self,
        user: &str,
        health_user: &str,
        data_type: &str,
        (from, to): (NaiveDate, NaiveDate),
        encoding: Encoding,
    ) -> Vec<Point> {
        if data_type != "exercise" {
            return Vec::new();
        }
        self.by_user
            .get(user)
            .into_iter()
            .flatten()
            .map(|exercise| point(health_user, exercise, encoding))
            .filter(|point| (from..=to).contains(&point.start.civil.date()))
            .collect()
    }
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
