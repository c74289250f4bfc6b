//! Google `weight` data points, each with the `body-fat` point of the same weigh-in → OCARIoT `Weight` (the table in
//! this module's parent).

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{double, object, payload, wall_clock, Instant, SAMPLE};
use crate::domain::ocariot::{JsNumber, MalformedItem, Weight};
use crate::provider::json::get;

/// Google `weight` data point, with the `body-fat` point of the same weigh-in if any → Weight.
///
/// A body-fat point without a usable `percentage` makes the pair malformed, as a non-numeric Fitbit `fat` did.
pub fn weight(point: &Value, body_fat: Option<&Value>, child_id: &str) -> Result<Weight, MalformedItem> {
    let weight = payload(point, "weight")?;
    let sample = object(get(weight, "sampleTime"), "weight.sampleTime")?;
    let at = Instant::read(sample, "weight.sampleTime", SAMPLE, None)?;
    let grams = double(get(weight, "weightGrams"), "weight.weightGrams")?;

    let timestamp = wall_clock(at.local, "weight.sampleTime.physicalTime")?;
    let body_fat = match body_fat {
        Some(body_fat) => {
            let percentage = double(get(payload(body_fat, "bodyFat")?, "percentage"), "bodyFat.percentage")?;
            Some(JsNumber::of(percentage))
        }
        None => None,
    };
    Ok(Weight::new(timestamp, JsNumber::of(grams / 1000.0), child_id, body_fat))
}

/// Pairs each weight point with the body-fat point taken at the same `sampleTime.physicalTime` (returns, per weight
/// point index, the matching body-fat point).
///
/// Times are compared as instants (`…:00Z` and `…:00.000Z` match). Pairs are one-to-one: of two weight points at the
/// same instant, the first gets the first body-fat point, the second the next one if any.
pub fn pair_body_fat<'a>(weights: &[Value], body_fat: &'a [Value]) -> Vec<Option<&'a Value>> {
    let mut by_time: HashMap<DateTime<Utc>, VecDeque<&'a Value>> = HashMap::new();
    for point in body_fat {
        if let Some(at) = physical_time(point, "bodyFat") {
            by_time.entry(at).or_default().push_back(point);
        }
    }
    weights.iter().map(|w| physical_time(w, "weight").and_then(|at| by_time.get_mut(&at)?.pop_front())).collect()
}

/// `<key>.sampleTime.physicalTime` of a weight or body-fat point, as an instant.
fn physical_time(point: &Value, key: &str) -> Option<DateTime<Utc>> {
    let s = point.get(key)?.get("sampleTime")?.get("physicalTime")?.as_str()?;
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc))
}
