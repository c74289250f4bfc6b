//! Fitbit activity log → OCARIoT `PhysicalActivity` (docs/decisions.md#published-payloads), the payload of
//! `PhysicalActivitySyncEvent`.

use serde_json::Value;

use crate::domain::ocariot::{end_time, normalize_date, JsNumber, MalformedItem};
use crate::domain::ocariot::{ActivityLevel, HeartRate, HeartRateZone, PhysicalActivity};
use crate::provider::json::{get, minutes_to_ms, number, string, truthy};

/// Fitbit reports distance in the user's unit; anything not metric is taken as miles, as the original did
/// (docs/decisions.md#published-payloads).
const METRES_PER_MILE: f64 = 1609.344;

/// One Fitbit activity log as an OCARIoT physical activity.
pub fn physical_activity(raw: &Value, child_id: &str) -> Result<PhysicalActivity, MalformedItem> {
    if !raw.is_object() {
        return Err(MalformedItem("activity is not an object".into()));
    }
    let start_raw = string(get(raw, "startTime"), "startTime")?;
    let start_time =
        normalize_date(start_raw).ok_or_else(|| MalformedItem(format!("invalid startTime {start_raw}")))?;
    let duration = number(get(raw, "duration"), "duration")?;
    let end_time = end_time(&start_time, &duration)?;

    // Read in the order of the keys, so that an item with several faults names the first, as before.
    let name = string(get(raw, "activityName"), "activityName")?.to_owned();
    let calories = JsNumber(number(get(raw, "calories"), "calories")?);
    let steps = get(raw, "steps").map(|steps| number(Some(steps), "steps").map(JsNumber)).transpose()?;
    let distance = if truthy(get(raw, "distance")) { Some(distance(raw)?) } else { None };
    let levels = Some(levels(raw)?);
    let heart_rate = match truthy(get(raw, "averageHeartRate")) && truthy(get(raw, "heartRateZones")) {
        true => Some(heart_rate(raw)?),
        false => None,
    };
    Ok(PhysicalActivity {
        start_time,
        end_time,
        duration: JsNumber(duration),
        child_id: child_id.to_owned(),
        name,
        calories,
        steps,
        distance,
        levels,
        heart_rate,
    })
}

fn distance(raw: &Value) -> Result<JsNumber, MalformedItem> {
    let distance = get(raw, "distance")
        .and_then(Value::as_f64)
        .ok_or_else(|| MalformedItem("field distance is not a number".into()))?;
    let factor = match get(raw, "distanceUnit") {
        Some(Value::String(unit)) if unit == "Kilometer" => 1000.0,
        _ => METRES_PER_MILE,
    };
    Ok(JsNumber::of(distance * factor))
}

fn levels(raw: &Value) -> Result<Vec<ActivityLevel>, MalformedItem> {
    let Some(levels) = get(raw, "activityLevel") else {
        return Err(MalformedItem("missing field activityLevel".into()));
    };
    let levels = levels.as_array().ok_or_else(|| MalformedItem("field activityLevel is not an array".into()))?;
    levels
        .iter()
        .enumerate()
        .map(|(i, level)| {
            let name = string(get(level, "name"), format_args!("activityLevel[{i}].name"))?.to_owned();
            let duration = minutes_to_ms(get(level, "minutes"), format_args!("activityLevel[{i}].minutes"))?;
            Ok(ActivityLevel { name, duration: JsNumber(duration) })
        })
        .collect()
}

fn heart_rate(raw: &Value) -> Result<HeartRate, MalformedItem> {
    let average = JsNumber(number(get(raw, "averageHeartRate"), "averageHeartRate")?);
    let zones = get(raw, "heartRateZones")
        .and_then(Value::as_array)
        .ok_or_else(|| MalformedItem("field heartRateZones is not an array".into()))?;
    let zone = |fitbit_name: &str| -> Result<HeartRateZone, MalformedItem> {
        // The first zone with the exact name wins, like the original's `filter(...)[0]`.
        let zone = zones
            .iter()
            .find(|z| z.get("name").and_then(Value::as_str) == Some(fitbit_name))
            .ok_or_else(|| MalformedItem(format!("missing heart rate zone {fitbit_name}")))?;
        Ok(HeartRateZone {
            min: JsNumber(number(get(zone, "min"), format_args!("heartRateZones[{fitbit_name}].min"))?),
            max: JsNumber(number(get(zone, "max"), format_args!("heartRateZones[{fitbit_name}].max"))?),
            duration: JsNumber(minutes_to_ms(
                get(zone, "minutes"),
                format_args!("heartRateZones[{fitbit_name}].minutes"),
            )?),
        })
    };
    // Fitbit's zone names, in the order of their OCARIoT keys.
    Ok(HeartRate {
        average,
        out_of_range_zone: zone("Out of Range")?,
        fat_burn_zone: zone("Fat Burn")?,
        cardio_zone: zone("Cardio")?,
        peak_zone: zone("Peak")?,
    })
}

#[cfg(test)]
mod tests;
