//! The same synthetic person on Google's side: each Fitbit weight, sleep and activity log becomes the Google data
//! point(s) a Fitbit device syncing to Google Health would produce (docs/google-health.md#mapping), with ids derived
//! from the Fitbit `logId` so they are stable. Metric base units: grams, millimetres, kcal, seconds. Zero metrics and
//! `false` flags are printed or left out as the [`Encoding`] says.

use serde_json::{json, Map, Value};

use super::encoding::Encoding;
use super::time::{self, LocalTime};
use crate::seed::fnv1a;

/// A Google data point with the times the filters look at.
#[derive(Clone, Debug)]
pub(crate) struct Point {
    pub value: Value,
    /// Interval start, or sample time.
    pub start: LocalTime,
    /// Interval end, or sample time.
    pub end: LocalTime,
}

/// The numeric Google Health user id of a simulated user: 19 digits, fixed by the user's Fitbit id.
pub fn health_user_id(user: &str) -> String {
    (1_000_000_000_000_000_000 + fnv1a(&[user, "healthUserId"]) % 8_000_000_000_000_000_000).to_string()
}

/// The Google account id (`sub` of tokeninfo) of a simulated user: 21 digits.
pub(crate) fn google_account_id(user: &str) -> String {
    format!("1{:020}", fnv1a(&[user, "googleAccountId"]))
}

pub(crate) fn name(health_user: &str, data_type: &str, id: &str) -> String {
    format!("users/{health_user}/dataTypes/{data_type}/dataPoints/{id}")
}

/// A UUID-shaped id, as Google's sleep examples use, ending in the Fitbit `logId` so that it can be traced back.
fn sleep_id(health_user: &str, log_id: i64) -> String {
    let hash = fnv1a(&[health_user, "sleep", &log_id.to_string()]);
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012}",
        hash >> 32,
        (hash >> 16) & 0xffff,
        (hash >> 4) & 0xfff,
        hash & 0xfff,
        log_id % 1_000_000_000_000
    )
}

pub(crate) fn tracker() -> Value {
    json!({"recordingMethod": "PASSIVELY_MEASURED", "platform": "FITBIT",
           "device": {"displayName": "Charge 6", "formFactor": "FITNESS_BAND", "manufacturer": "Fitbit"}})
}

fn point(name: String, data_source: Value, key: &str, payload: Value, start: LocalTime, end: LocalTime) -> Point {
    let mut value = Map::new();
    value.insert("name".into(), json!(name));
    value.insert("dataSource".into(), data_source);
    value.insert(key.into(), payload);
    Point { value: Value::Object(value), start, end }
}

/// Fitbit's activity names, as `exerciseType` values. `SOCCER`, `AEROBIC_WORKOUT` and `SWIMMING_POOL` (a tracker's
/// swims are pool lengths) are among the values v4's enum gained on 14 Aug 2026 (13 before, 182 since).
fn exercise_type(activity_name: &str) -> &'static str {
    match activity_name {
        "Walk" => "WALKING",
        "Run" => "RUNNING",
        "Bike" => "BIKING",
        "Swim" => "SWIMMING_POOL",
        "Soccer" => "SOCCER",
        "Aerobic Workout" => "AEROBIC_WORKOUT",
        _ => "OTHER",
    }
}

/// An `exercise` point of any source. `details` are the fields between `displayName` and `exerciseEvents`
/// (`activeDuration`, `metricsSummary`, `exerciseMetadata`); the events are the session's start and stop.
pub(crate) fn session(
    name: String,
    data_source: Value,
    (exercise_type, display_name): (&str, &str),
    start: LocalTime,
    end: LocalTime,
    details: Map<String, Value>,
) -> Point {
    let event = |at: LocalTime, kind: &str| {
        let mut event = Map::new();
        at.insert(&mut event, "eventTime", "eventUtcOffset");
        event.insert("exerciseEventType".into(), json!(kind));
        Value::Object(event)
    };
    let mut payload = Map::new();
    payload.insert("interval".into(), time::interval(start, end));
    payload.insert("exerciseType".into(), json!(exercise_type));
    payload.insert("displayName".into(), json!(display_name));
    payload.extend(details);
    payload.insert("exerciseEvents".into(), json!([event(start, "START"), event(end, "STOP")]));
    payload.insert("updateTime".into(), json!(time::timestamp(end.physical())));
    point(name, data_source, "exercise", Value::Object(payload), start, end)
}

/// An activity log as an `exercise` point, id = `logId`. Fitbit's heart-rate zones (Out of Range, Fat Burn, Cardio,
/// Peak) become the light, moderate, vigorous and peak durations, and Active Zone Minutes count fat burn once and
/// cardio and peak twice; Google documents no such mapping (docs/google-health.md#gaps), so this is the simulator's
/// choice. The zone durations are `Duration` messages, which proto3 prints even at `"0s"`.
pub(crate) fn exercise(health_user: &str, log: &Value, encoding: Encoding) -> Option<Point> {
    let log_id = log["logId"].as_i64()?;
    let start = LocalTime::parse_fitbit(log["startTime"].as_str()?)?;
    let end = start.plus(log["duration"].as_i64()? / 1000);

    let mut summary = Map::new();
    encoding.double(&mut summary, "caloriesKcal", log["calories"].as_f64()?);
    if let Some(km) = log["distance"].as_f64() {
        encoding.double(&mut summary, "distanceMillimeters", (km * 1_000_000.0).round());
    }
    if let Some(steps) = log["steps"].as_i64() {
        encoding.int64(&mut summary, "steps", steps);
    }
    if let Some(average) = log["averageHeartRate"].as_i64() {
        encoding.int64(&mut summary, "averageHeartRateBeatsPerMinute", average);
    }
    if let Some(zones) = log["heartRateZones"].as_array() {
        let minutes =
            |zone: &str| zones.iter().find(|z| z["name"] == zone).and_then(|z| z["minutes"].as_i64()).unwrap_or(0);
        let (out_of_range, fat_burn, cardio, peak) =
            (minutes("Out of Range"), minutes("Fat Burn"), minutes("Cardio"), minutes("Peak"));
        encoding.int64(&mut summary, "activeZoneMinutes", fat_burn + 2 * (cardio + peak));
        summary.insert(
            "heartRateZoneDurations".into(),
            json!({
                "lightTime": time::duration(out_of_range * 60),
                "moderateTime": time::duration(fat_burn * 60),
                "vigorousTime": time::duration(cardio * 60),
                "peakTime": time::duration(peak * 60),
            }),
        );
    }
    let mut exercise_metadata = Map::new();
    encoding.boolean(&mut exercise_metadata, "hasGps", false);
    let mut details = Map::new();
    details.insert("activeDuration".into(), json!(time::duration(log["activeDuration"].as_i64()? / 1000)));
    details.insert("metricsSummary".into(), Value::Object(summary));
    details.insert("exerciseMetadata".into(), Value::Object(exercise_metadata));
    let activity_name = log["activityName"].as_str()?;
    let name = name(health_user, "exercise", &log_id.to_string());
    Some(session(name, tracker(), (exercise_type(activity_name), activity_name), start, end, details))
}

/// Fitbit's sleep levels as Google's stage types.
fn stage_type(level: &str) -> &'static str {
    match level {
        "wake" | "awake" => "AWAKE",
        "light" => "LIGHT",
        "deep" => "DEEP",
        "rem" => "REM",
        "asleep" => "ASLEEP",
        "restless" => "RESTLESS",
        _ => "SLEEP_STAGE_TYPE_UNSPECIFIED",
    }
}

fn stage(entry: &Value) -> Option<Value> {
    let start = LocalTime::parse_fitbit(entry["dateTime"].as_str()?)?;
    let end = start.plus(entry["seconds"].as_i64()?);
    let mut stage = Map::new();
    start.insert(&mut stage, "startTime", "startUtcOffset");
    end.insert(&mut stage, "endTime", "endUtcOffset");
    stage.insert("type".into(), json!(stage_type(entry["level"].as_str()?)));
    Some(Value::Object(stage))
}

/// A sleep log as a `sleep` point: its `levels.data` as `stages`, its `shortData` as `shortAwakenings` and its
/// `isMainSleep` as `metadata.mainSleep` (both in v4 since 14 Aug 2026), its summary minutes as `summary`. Stages
/// nights succeed; classic ones carry `REJECTED_COVERAGE`, as when stages could not be computed. Google has no efficiency or time in bed. A night not yet `processed` has no stages status
/// (`STAGES_STATE_UNSPECIFIED`), though its stages and summary are already there.
pub(crate) fn sleep(health_user: &str, log: &Value, encoding: Encoding, processed: bool) -> Option<Point> {
    let log_id = log["logId"].as_i64()?;
    let start = LocalTime::parse_fitbit(log["startTime"].as_str()?)?;
    let end = LocalTime::parse_fitbit(log["endTime"].as_str()?)?;
    let stages_night = log["type"] == "stages";
    let levels = &log["levels"];
    let stages: Vec<Value> = levels["data"].as_array()?.iter().filter_map(stage).collect();
    let order: &[&str] =
        if stages_night { &["deep", "light", "rem", "wake"] } else { &["asleep", "restless", "awake"] };
    let stages_summary: Vec<Value> = order
        .iter()
        .filter_map(|level| {
            let entry = &levels["summary"][level];
            let mut stage = Map::new();
            stage.insert("type".into(), json!(stage_type(level)));
            encoding.int64(&mut stage, "minutes", entry["minutes"].as_i64()?);
            encoding.int64(&mut stage, "count", entry["count"].as_i64()?);
            Some(Value::Object(stage))
        })
        .collect();

    let mut payload = Map::new();
    payload.insert("interval".into(), time::interval(start, end));
    payload.insert("type".into(), json!(if stages_night { "STAGES" } else { "CLASSIC" }));
    payload.insert("stages".into(), json!(stages));
    if let Some(short) = levels["shortData"].as_array().filter(|short| !short.is_empty()) {
        payload.insert("shortAwakenings".into(), json!(short.iter().filter_map(stage).collect::<Vec<_>>()));
    }
    let mut summary = Map::new();
    for (key, fitbit_key) in [
        ("minutesAsleep", "minutesAsleep"),
        ("minutesAwake", "minutesAwake"),
        ("minutesInSleepPeriod", "timeInBed"),
        ("minutesToFallAsleep", "minutesToFallAsleep"),
        ("minutesAfterWakeUp", "minutesAfterWakeup"),
    ] {
        encoding.int64(&mut summary, key, log[fitbit_key].as_i64().unwrap_or(0));
    }
    summary.insert("stagesSummary".into(), json!(stages_summary));
    payload.insert("summary".into(), Value::Object(summary));
    let stages_status = match (processed, stages_night) {
        (false, _) => "STAGES_STATE_UNSPECIFIED",
        (true, true) => "SUCCEEDED",
        (true, false) => "REJECTED_COVERAGE",
    };
    let mut metadata = Map::new();
    encoding.boolean(&mut metadata, "processed", processed);
    encoding.boolean(&mut metadata, "nap", false);
    encoding.boolean(&mut metadata, "manuallyEdited", false);
    encoding.enumeration(&mut metadata, "stagesStatus", stages_status);
    encoding.boolean(&mut metadata, "mainSleep", log["isMainSleep"].as_bool().unwrap_or(true));
    payload.insert("metadata".into(), Value::Object(metadata));
    payload.insert("updateTime".into(), json!(time::timestamp(end.physical())));
    let name = name(health_user, "sleep", &sleep_id(health_user, log_id));
    Some(point(name, tracker(), "sleep", Value::Object(payload), start, end))
}

fn scale(log: &Value) -> Value {
    let source = log["source"].as_str().unwrap_or("Aria");
    json!({"recordingMethod": "ACTIVELY_MEASURED", "platform": "FITBIT",
           "device": {"displayName": source, "formFactor": "SCALE", "manufacturer": "Fitbit"}})
}

fn weigh_in(log: &Value) -> Option<(i64, LocalTime)> {
    let at = format!("{}T{}", log["date"].as_str()?, log["time"].as_str()?);
    Some((log["logId"].as_i64()?, LocalTime::parse_fitbit(&at)?))
}

/// A weight log as a `weight` point, id = `logId` (the weigh-in time in epoch milliseconds, as Google's examples).
pub(crate) fn weight(health_user: &str, log: &Value) -> Option<Point> {
    let (log_id, at) = weigh_in(log)?;
    let grams = (log["weight"].as_f64()? * 10_000.0).round() / 10.0;
    let payload = json!({"sampleTime": time::sample_time(at), "weightGrams": grams});
    Some(point(name(health_user, "weight", &log_id.to_string()), scale(log), "weight", payload, at, at))
}

/// The body fat of a weight log, when it has one, as a `body-fat` point with the same id and time.
pub(crate) fn body_fat(health_user: &str, log: &Value) -> Option<Point> {
    let (log_id, at) = weigh_in(log)?;
    let payload = json!({"sampleTime": time::sample_time(at), "percentage": log["fat"].as_f64()?});
    Some(point(name(health_user, "body-fat", &log_id.to_string()), scale(log), "bodyFat", payload, at, at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_well_formed() {
        let id = health_user_id("ABC123");
        assert_eq!(id.len(), 19);
        assert_eq!(id, health_user_id("ABC123"));
        assert_ne!(id, health_user_id("XYZ789"));
        assert_eq!(google_account_id("ABC123").len(), 21);
        let uuid = sleep_id(&id, 201_234_567_890);
        assert_eq!(uuid.len(), 36);
        assert!(uuid.ends_with("201234567890"), "{uuid}");
        assert!(uuid.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));
    }

    #[test]
    fn a_weight_log_gives_grams_and_body_fat() {
        let log = json!({"bmi": 16.1, "date": "2026-01-05", "fat": 18.4, "logId": 1_767_598_200_000_i64,
                         "source": "Aria", "time": "07:30:00", "weight": 32.7});
        let weight = weight("1", &log).unwrap().value;
        assert_eq!(weight["name"], "users/1/dataTypes/weight/dataPoints/1767598200000");
        assert_eq!(weight["weight"]["weightGrams"], 32700.0);
        assert_eq!(weight["weight"]["sampleTime"]["physicalTime"], "2026-01-05T07:30:00Z");
        assert_eq!(weight["weight"]["sampleTime"]["utcOffset"], "0s");
        assert_eq!(body_fat("1", &log).unwrap().value["bodyFat"]["percentage"], 18.4);
        let no_fat = json!({"date": "2026-01-05", "time": "07:30:00", "logId": 1, "weight": 30.0});
        assert!(body_fat("1", &no_fat).is_none());
    }
}
