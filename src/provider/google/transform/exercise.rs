//! Google `exercise` data points → OCARIoT `PhysicalActivity` (the table in this module's parent).

use serde_json::Value;

use super::{double, int64, object, payload, Session};
use crate::domain::ocariot::{JsNumber, MalformedItem, PhysicalActivity};
use crate::provider::json::{get, string};

/// Google `exercise` data point → the same PhysicalActivity object as the Fitbit transform produces, without `levels`
/// and `heart_rate` (see the module documentation).
pub fn exercise(point: &Value, child_id: &str) -> Result<PhysicalActivity, MalformedItem> {
    let exercise = payload(point, "exercise")?;
    let interval = object(get(exercise, "interval"), "exercise.interval")?;
    let session = Session::read(interval, "exercise.interval")?;
    let metrics = get(exercise, "metricsSummary");
    let metric = |key: &str| metrics.and_then(|m| get(m, key));

    let name = exercise_name(exercise)?;
    let calories = double(metric("caloriesKcal"), "exercise.metricsSummary.caloriesKcal")?;
    let steps = match metric("steps") {
        Some(steps) => Some(JsNumber::from(int64(Some(steps), "exercise.metricsSummary.steps")?)),
        None => None,
    };
    let mut distance = None;
    let field = ["distanceMillimeters", "distanceMillimiters"].into_iter().find_map(|k| metric(k).map(|v| (k, v)));
    if let Some((key, millimetres)) = field {
        let millimetres = double(Some(millimetres), &format!("exercise.metricsSummary.{key}"))?;
        // Fitbit's transform leaves out a zero distance (`if (distance)`), so this one does too.
        if millimetres != 0.0 {
            distance = Some(JsNumber::of(millimetres / 1000.0));
        }
    }
    Ok(PhysicalActivity {
        start_time: session.start_time,
        end_time: session.end_time,
        duration: JsNumber::from(session.duration),
        child_id: child_id.to_owned(),
        name,
        calories: JsNumber::of(calories),
        steps,
        distance,
        levels: None,
        heart_rate: None,
    })
}

/// `displayName`, or when it is absent or blank, the exercise type in title case (`TRAIL_RUN` → `Trail Run`).
fn exercise_name(exercise: &Value) -> Result<String, MalformedItem> {
    if let Some(name) = get(exercise, "displayName") {
        let name = string(Some(name), "exercise.displayName")?;
        if !name.trim().is_empty() {
            return Ok(name.to_owned());
        }
    }
    // `EXERCISE_TYPE_UNSPECIFIED` is the enum's zero value, which proto3 JSON leaves out.
    let exercise_type = match get(exercise, "exerciseType") {
        None => return Ok("Other".into()),
        Some(v) => string(Some(v), "exercise.exerciseType")?,
    };
    let words: Vec<String> = exercise_type
        .split('_')
        .filter(|word| !word.is_empty())
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_uppercase().chain(chars.flat_map(char::to_lowercase)).collect()
            })
        })
        .collect();
    if words.is_empty() || exercise_type == "EXERCISE_TYPE_UNSPECIFIED" {
        return Ok("Other".into());
    }
    Ok(words.join(" "))
}
