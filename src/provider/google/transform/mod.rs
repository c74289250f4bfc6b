//! Google Health API data points → the same OCARIoT objects the Fitbit transforms produce.
//!
//! The legacy Fitbit Web API is retired; the Google Health API v4 serves the same person's data in another shape
//! (docs/google-health.md#proto3-json, docs/google-health.md#times): UTC timestamps with a UTC offset per timestamp,
//! metric base units, int64 values as JSON strings, durations as `"900s"` strings, enums in UPPER_SNAKE. This module
//! turns those points into OCARIoT objects with exactly the keys, key order, units and number formatting of
//! [`crate::provider::fitbit::transform::activity`], [`crate::provider::fitbit::transform::sleep`], [`crate::provider::fitbit::transform::weight`] and [`crate::provider::fitbit::transform::daily_log`]
//! (docs/decisions.md#published-payloads), so that consumers cannot tell which provider a child uses. Where Google has
//! no equivalent of a Fitbit field, the key is left out rather than filled with made-up values. As with Fitbit, one
//! malformed point is a [`MalformedItem`] naming the field, and the caller skips just that point.
//!
//! **Times.** Fitbit gave local wall-clock times, and OCARIoT receives them relabelled as UTC (`normalizeDate`). Here
//! the local time is the physical time plus its UTC offset (`startTime` + `startUtcOffset`), printed as
//! `YYYY-MM-DDTHH:MM:SSZ` with the fraction dropped: the very string `normalize_date` yields for the same moment. If
//! the offset is missing, the output-only civil mirror (`civilStartTime`, `civilTime`) is used instead; a sleep stage
//! without an offset takes its session's start offset. A time with neither is malformed: a missing offset is never
//! taken as UTC. `end_time` is `start_time + duration`, as for Fitbit, even across a DST change, with the duration's
//! milliseconds when it has any: the consumers check `end_time − start_time = duration` to the millisecond
//! (docs/consumer-and-google-facts.md).
//!
//! **Numbers.** int64 fields are read from strings or numbers; doubles print as JavaScript would (`212.0` → `212`).
//!
//! | Google | OCARIoT | Notes |
//! |---|---|---|
//! | **`exercise` point** | **PhysicalActivity** ([`crate::provider::fitbit::transform::activity`]) | |
//! | `interval.startTime` + `startUtcOffset` (else `civilStartTime`) | `start_time` | local time, literal `Z` |
//! | `start_time` + `duration` | `end_time` | |
//! | `interval.endTime` − `interval.startTime` | `duration` | ms, pauses included (Fitbit's `duration`) |
//! | — | `child_id` | |
//! | `displayName` | `name` | when absent or blank: `exerciseType` in title case (`TRAIL_RUN` → `Trail Run`; `EXERCISE_TYPE_UNSPECIFIED` or absent → `Other`) |
//! | `metricsSummary.caloriesKcal` | `calories` | required, as Fitbit's `calories` (the OCARIoT consumer requires it); a point without it is skipped as `missing_field` |
//! | `metricsSummary.steps` | `steps` | number; left out when absent |
//! | `metricsSummary.distanceMillimeters` ÷ 1000 | `distance` | metres; left out when 0 or absent; the codelab's misspelt `distanceMillimiters` is accepted too |
//! | — | `levels` | **left out**: Google has no minutes per activity level (sedentary/lightly/fairly/very) per exercise |
//! | — | `heart_rate` | **left out**: Google's per-exercise zones (`heartRateZoneDurations` light/moderate/vigorous/peak, AZM fat-burn/cardio/peak) have no official mapping to Fitbit's Out of Range/Fat Burn/Cardio/Peak and carry no min/max (docs/google-health.md#gaps); an `average` alone would not be a valid `heart_rate` |
//! | `activeDuration`, `exerciseEvents`, `splits`, `averageHeartRateBeatsPerMinute`, `activeZoneMinutes`, pace, speed, elevation… | — | dropped, as Fitbit's `activeDuration`, `pace`, `speed`… were |
//! | **`sleep` point** | **Sleep** ([`crate::provider::fitbit::transform::sleep`]) | |
//! | `interval` | `start_time`, `end_time`, `duration` | as for exercise |
//! | — | `child_id` | |
//! | `stages[]` | `pattern.data_set[]` | `{start_time: local start, name, duration: endTime − startTime in ms}`; `AWAKE`/`LIGHT`/`DEEP`/`REM`/`ASLEEP`/`RESTLESS` → `awake`/`light`/`deep`/`rem`/`asleep`/`restless`; any other stage type is malformed |
//! | `summary.stagesSummary[]` | `pattern.summary` | STAGES → `{deep, light, rem, awake}`, CLASSIC → `{awake, asleep, restless}`, each `{count, duration: minutes × 60000}`; a type with no summary entry is `{count: 0, duration: 0}` only if no stage (nor short awakening) of that type exists, otherwise the point is malformed (summary still incomplete) |
//! | `type` | `type` | `STAGES` → `stages`, `CLASSIC` → `classic`; when absent (it is optional), the stages tell: LIGHT/DEEP/REM → `stages`, ASLEEP/RESTLESS → `classic`; anything else is malformed |
//! | `metadata.processed` not `true`, or a pending `stagesStatus` | — | the night is still being processed: not published nor recorded while it ended less than [`SLEEP_PROCESSING_GRACE`] ago ([`sleep_unfinished`]); a later sync publishes it once final |
//! | `shortAwakenings`, `outOfBedSegments`, `summary.minutes*`, `metadata` | — | dropped, as Fitbit's `shortData`, `efficiency`, `minutesAsleep`… were |
//! | **`weight` point (+ `body-fat` point)** | **Weight** ([`crate::provider::fitbit::transform::weight`]) | |
//! | — | `type` | `"weight"` |
//! | `sampleTime.physicalTime` + `utcOffset` (else `civilTime`) | `timestamp` | local time, literal `Z` |
//! | `weightGrams` ÷ 1000 | `value` | kg |
//! | — | `unit` | `"kg"` |
//! | — | `child_id` | |
//! | `bodyFat.percentage` of the body-fat point with the same `physicalTime` | `body_fat` | left out without such a point ([`pair_body_fat`]) |
//! | — | (BMI) | Google reports none; OCARIoT's weight never carried it either |
//! | **`dailyRollUp` buckets** | **Log** ([`crate::provider::fitbit::transform::daily_log`]) | one per bucket, oldest first |
//! | `civilStartTime.date` | `date` | `YYYY-MM-DD` |
//! | `steps.countSum` | `value` of `steps` | integer string (`"8423"`); in a bucket, an absent sum or value object is `"0"` (proto3 JSON leaves zeros out; a bucket means the tracker was worn) |
//! | `total-calories`: `totalCalories.kcalSum` | `value` of `calories` | JavaScript `String(number)` (`"1804"`, `"1804.5"`) |
//! | `active-minutes`: MODERATE + VIGOROUS `activeMinutesSum` | `value` of `active_minutes` | Fitbit's fairly + very; a level missing from the list, a level without a sum, or a bucket without the list counts 0 |
//! | `active-minutes`: LIGHT `activeMinutesSum` | `value` of `lightly_active_minutes` | |
//! | `sedentary-period`: `sedentaryPeriod.durationSum` | `value` of `sedentary_minutes` | whole minutes (seconds ÷ 60, truncated); absent → `"0"` |
//! | day without a bucket | — | no log: Google leaves out days the tracker was not worn, where Fitbit sent zeros (docs/google-health.md#true-zeros); zeros are never filled in |

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Utc};
use serde_json::{Map, Value};

use crate::domain::ocariot::{end_time, js_number, normalize_date, JsNumber, Log, LogType, MalformedItem};
use crate::domain::ocariot::{PhysicalActivity, Sleep, SleepPattern, SleepStage, SleepSummary, StageSummary, Weight};
use crate::provider::google::data_type::GoogleDataType;
use crate::provider::json::{get, missing, string};

/// The id of a data point: the last segment of its `name` (`users/…/dataTypes/…/dataPoints/{id}`), or of
/// `dataPointName` for a reconciled point (docs/google-health.md#reconcile).
pub fn point_id(point: &Value) -> Option<String> {
    let name = point.get("dataPointName").or_else(|| point.get("name"))?.as_str()?;
    let (_, id) = name.rsplit_once("/dataPoints/")?;
    (!id.is_empty() && !id.contains('/')).then(|| id.to_owned())
}

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

/// Google `sleep` data point → Sleep.
pub fn sleep(point: &Value, child_id: &str) -> Result<Sleep, MalformedItem> {
    let sleep = payload(point, "sleep")?;
    let interval = object(get(sleep, "interval"), "sleep.interval")?;
    let session = Session::read(interval, "sleep.interval")?;
    // (Google stage type, OCARIoT summary key), in Fitbit's output order. Stages cover the whole session; a session
    // without them has no pattern to report.
    let stages = array(get(sleep, "stages"), "sleep.stages")?;
    if stages.is_empty() {
        return Err(missing("sleep.stages"));
    }
    let sleep_type = match sleep_type(sleep, stages)? {
        "STAGES" => "stages",
        "CLASSIC" => "classic",
        other => return Err(MalformedItem(format!("field sleep.type has an unsupported value {other}"))),
    };
    let data_set = stages
        .iter()
        .enumerate()
        .map(|(i, stage)| stage_entry(stage, i, session.offset))
        .collect::<Result<Vec<_>, _>>()?;

    let summary = sleep_summary(sleep, stages, sleep_type == "classic")?;
    Ok(Sleep {
        start_time: session.start_time,
        end_time: session.end_time,
        duration: JsNumber::from(session.duration),
        child_id: child_id.to_owned(),
        pattern: SleepPattern { data_set, summary },
        sleep_type: sleep_type.into(),
    })
}

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

/// dailyRollUp buckets (`rollupDataPoints`) of the data type behind `log_type` → Log objects `{child_id, date, value,
/// type}`, oldest first; each malformed bucket is reported and skipped.
///
/// Steps ← `steps` buckets (`steps.countSum`); Calories ← `total-calories` (`totalCalories.kcalSum`); ActiveMinutes ←
/// `active-minutes` MODERATE + VIGOROUS `activeMinutesSum`; LightlyActiveMinutes ← `active-minutes` LIGHT;
/// SedentaryMinutes ← `sedentary-period` `sedentaryPeriod.durationSum` (`"86400s"`) in minutes. A day without a bucket
/// has no log.
pub fn daily_logs(buckets: &[Value], log_type: LogType, child_id: &str) -> (Vec<Log>, Vec<MalformedItem>) {
    let mut dated = Vec::with_capacity(buckets.len());
    let mut malformed = Vec::new();
    for (i, bucket) in buckets.iter().enumerate() {
        let date = match bucket_date(bucket) {
            Ok(date) => date,
            Err(e) => {
                malformed.push(MalformedItem(format!("{} bucket {i}: {e}", log_type.name())));
                continue;
            }
        };
        match bucket_value(bucket, log_type) {
            Ok(value) => dated.push((date, value)),
            Err(e) => malformed.push(MalformedItem(format!("{} bucket {date}: {e}", log_type.name()))),
        }
    }
    dated.sort_by_key(|(date, _)| *date);
    let logs = dated
        .into_iter()
        .map(|(date, value)| Log {
            child_id: child_id.to_owned(),
            date: date.format("%Y-%m-%d").to_string(),
            value,
            log_type,
        })
        .collect();
    (logs, malformed)
}

fn bucket_date(bucket: &Value) -> Result<NaiveDate, MalformedItem> {
    let start = object(get(bucket, "civilStartTime"), "civilStartTime")?;
    civil_date(object(get(start, "date"), "civilStartTime.date")?, "civilStartTime.date")
}

/// A bucket's value as the string Fitbit's series carried.
///
/// A bucket exists only for a day the tracker was worn, and proto3 JSON leaves zeros out
/// (docs/google-health.md#true-zeros): inside a bucket, an absent or empty value object, an absent sum and an absent
/// level all mean 0.
fn bucket_value(bucket: &Value, log_type: LogType) -> Result<String, MalformedItem> {
    let key = GoogleDataType::of_log_type(log_type).rollup_key();
    let empty = Value::Object(Map::new());
    let value = match get(bucket, key) {
        None => &empty,
        Some(v) => object(Some(v), key)?,
    };
    match log_type {
        LogType::Steps => int64_or_zero(get(value, "countSum"), "steps.countSum").map(|n| n.to_string()),
        // Fitbit's calories were integers; `String(x)` of an integral double prints no fraction either.
        LogType::Calories => {
            double_or_zero(get(value, "kcalSum"), "totalCalories.kcalSum").map(|x| js_number(x).to_string())
        }
        LogType::ActiveMinutes => level_minutes(value, &["MODERATE", "VIGOROUS"]),
        LogType::LightlyActiveMinutes => level_minutes(value, &["LIGHT"]),
        LogType::SedentaryMinutes => {
            let total = match get(value, "durationSum") {
                None => TimeDelta::zero(),
                Some(sum) => duration(Some(sum), "sedentaryPeriod.durationSum")?,
            };
            if total < TimeDelta::zero() {
                return Err(MalformedItem("field sedentaryPeriod.durationSum is negative".into()));
            }
            // Google stores one-minute intervals, so the sum is whole minutes; a stray remainder is cut off.
            Ok((total.num_seconds() / 60).to_string())
        }
    }
}

/// The sum of `activeMinutesSum` over the given activity levels; an absent list, a level absent from it, or a level
/// without a sum had no minutes.
fn level_minutes(value: &Value, levels: &[&str]) -> Result<String, MalformedItem> {
    const FIELD: &str = "activeMinutes.activeMinutesRollupByActivityLevel";
    let entries = match get(value, "activeMinutesRollupByActivityLevel") {
        None => &[][..],
        Some(list) => array(Some(list), FIELD)?,
    };
    let mut total = 0i64;
    for (i, entry) in entries.iter().enumerate() {
        if get(entry, "activityLevel").and_then(Value::as_str).is_some_and(|level| levels.contains(&level)) {
            let minutes = int64_or_zero(get(entry, "activeMinutesSum"), &format!("{FIELD}[{i}].activeMinutesSum"))?;
            total = total.checked_add(minutes).ok_or_else(|| MalformedItem(format!("field {FIELD} overflows")))?;
        }
    }
    Ok(total.to_string())
}

/// `sleep.type`, or when it is absent (it is optional, and `SLEEP_TYPE_UNSPECIFIED` is left out), the type the stages
/// show: LIGHT, DEEP or REM only occur in STAGES sleep, ASLEEP and RESTLESS only in CLASSIC sleep.
fn sleep_type<'a>(sleep: &'a Value, stages: &[Value]) -> Result<&'a str, MalformedItem> {
    if let Some(declared) = get(sleep, "type") {
        return string(Some(declared), "sleep.type");
    }
    let has = |types: &[&str]| {
        stages.iter().any(|s| get(s, "type").and_then(Value::as_str).is_some_and(|t| types.contains(&t)))
    };
    match (has(&["LIGHT", "DEEP", "REM"]), has(&["ASLEEP", "RESTLESS"])) {
        (true, false) => Ok("STAGES"),
        (false, true) => Ok("CLASSIC"),
        _ => Err(missing("sleep.type")),
    }
}

/// How long after its end a night that Google still marks as processing is held back. Past it the night is taken as
/// final: a source that never sets `processed` must not lose its nights once they leave the sync's 7-day overlap.
pub const SLEEP_PROCESSING_GRACE: TimeDelta = TimeDelta::hours(72);

/// Whether Google is still processing a sleep point (docs/google-health.md#unfinished-sleep): `metadata.processed` is
/// not `true` (proto3 JSON leaves a `false` out, so an absent flag means false), or `stagesStatus` names a pending
/// state, and the night ended less than [`SLEEP_PROCESSING_GRACE`] before `now`. Such a night is published by a later
/// sync, once final.
pub fn sleep_unfinished(point: &Value, now: DateTime<Utc>) -> bool {
    let Some(sleep) = point.get("sleep") else { return false };
    let metadata = sleep.get("metadata");
    let processed = metadata.and_then(|m| m.get("processed")).and_then(Value::as_bool) == Some(true);
    let status = metadata.and_then(|m| m.get("stagesStatus")).and_then(Value::as_str).unwrap_or_default();
    // The enum may grow (docs/google-health.md#tolerance): a value that says processing is under way counts as pending.
    let pending = (status.contains("PENDING") || status.contains("PROCESSING") || status.contains("IN_PROGRESS"))
        && status != "PROCESSING_INTERNAL_ERROR";
    if processed && !pending {
        return false;
    }
    let ended = sleep.get("interval").and_then(|i| i.get("endTime")).and_then(Value::as_str);
    match ended.and_then(|t| DateTime::parse_from_rfc3339(t).ok()) {
        Some(end) => now - end.with_timezone(&Utc) < SLEEP_PROCESSING_GRACE,
        // Without an end the transform rejects the point anyway.
        None => false,
    }
}

/// The payload of a data point (`exercise`, `sleep`, `weight`, `bodyFat`): one object under its camelCase key.
fn payload<'a>(point: &'a Value, key: &str) -> Result<&'a Value, MalformedItem> {
    if !point.is_object() {
        return Err(MalformedItem(format!("{key} data point is not an object")));
    }
    object(get(point, key), key)
}

fn object<'a>(v: Option<&'a Value>, name: &str) -> Result<&'a Value, MalformedItem> {
    match v {
        None => Err(missing(name)),
        Some(o @ Value::Object(_)) => Ok(o),
        Some(_) => Err(MalformedItem(format!("field {name} is not an object"))),
    }
}

fn array<'a>(v: Option<&'a Value>, name: &str) -> Result<&'a [Value], MalformedItem> {
    match v {
        None => Err(missing(name)),
        Some(Value::Array(a)) => Ok(a),
        Some(_) => Err(MalformedItem(format!("field {name} is not an array"))),
    }
}

/// An int64 field: a JSON string (`"5870"`, proto3 JSON) or, leniently, an integral number.
fn int64(v: Option<&Value>, name: &str) -> Result<i64, MalformedItem> {
    let parsed = match v {
        None => return Err(missing(name)),
        Some(Value::String(s)) => s.parse::<i64>().ok(),
        Some(Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|x| x.is_finite() && x.fract() == 0.0 && x.abs() < 9.2e18).map(|x| x as i64)),
        Some(_) => None,
    };
    parsed.ok_or_else(|| MalformedItem(format!("field {name} is not an integer")))
}

/// An optional int64 field, where proto3 JSON leaves a 0 out.
fn int64_or_zero(v: Option<&Value>, name: &str) -> Result<i64, MalformedItem> {
    v.map_or(Ok(0), |v| int64(Some(v), name))
}

/// An optional double field, where proto3 JSON leaves a 0 out.
fn double_or_zero(v: Option<&Value>, name: &str) -> Result<f64, MalformedItem> {
    v.map_or(Ok(0.0), |v| double(Some(v), name))
}

/// A double field: a JSON number or, as proto3 JSON also allows, a numeric string; never NaN or infinite.
fn double(v: Option<&Value>, name: &str) -> Result<f64, MalformedItem> {
    let parsed = match v {
        None => return Err(missing(name)),
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => s.parse::<f64>().ok(),
        Some(_) => None,
    };
    parsed.filter(|x| x.is_finite()).ok_or_else(|| MalformedItem(format!("field {name} is not a number")))
}

/// A proto3 `Duration` string: decimal seconds with an `s` suffix (`"900s"`, `"-10800s"`, `"1576.800s"`).
fn parse_duration(s: &str) -> Option<TimeDelta> {
    let body = s.strip_suffix('s')?;
    let (negative, body) = match body.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, body),
    };
    let (whole, fraction) = body.split_once('.').unwrap_or((body, ""));
    let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(fraction) || fraction.len() > 9 {
        return None;
    }
    let nanos: i64 = if fraction.is_empty() { 0 } else { format!("{fraction:0<9}").parse().ok()? };
    let delta = TimeDelta::try_seconds(whole.parse().ok()?)?.checked_add(&TimeDelta::nanoseconds(nanos))?;
    Some(if negative { -delta } else { delta })
}

fn duration(v: Option<&Value>, name: &str) -> Result<TimeDelta, MalformedItem> {
    let s = string(v, name)?;
    parse_duration(s).ok_or_else(|| MalformedItem(format!("field {name} is not a duration: {s}")))
}

/// An RFC 3339 timestamp (`2026-11-20T15:10:00Z`, fraction optional).
fn timestamp(v: Option<&Value>, name: &str) -> Result<DateTime<Utc>, MalformedItem> {
    let s = string(v, name)?;
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| MalformedItem(format!("field {name} is not an RFC 3339 timestamp: {s}")))
}

/// A `Date` `{year, month, day}` (a full date: no zero year, month or day).
fn civil_date(v: &Value, name: &str) -> Result<NaiveDate, MalformedItem> {
    let part = |key: &str| int64(get(v, key), &format!("{name}.{key}"));
    let (year, month, day) = (part("year")?, part("month")?, part("day")?);
    i32::try_from(year)
        .ok()
        .filter(|y| *y >= 1)
        .zip(u32::try_from(month).ok().zip(u32::try_from(day).ok()))
        .and_then(|(y, (m, d))| NaiveDate::from_ymd_opt(y, m, d))
        .ok_or_else(|| MalformedItem(format!("field {name} is not a valid date")))
}

/// A `CivilDateTime` `{date, time?}`; a missing time, or time field, is zero (proto3 leaves zeros out).
fn civil_date_time(v: &Value, name: &str) -> Result<NaiveDateTime, MalformedItem> {
    let date_name = format!("{name}.date");
    let date = civil_date(object(get(v, "date"), &date_name)?, &date_name)?;
    let time = match get(v, "time") {
        None => None,
        Some(t) => Some(object(Some(t), &format!("{name}.time"))?),
    };
    let field = |key: &str| -> Result<u32, MalformedItem> {
        match time.and_then(|t| get(t, key)) {
            None => Ok(0),
            Some(x) => {
                let field = format!("{name}.time.{key}");
                u32::try_from(int64(Some(x), &field)?).map_err(|_| MalformedItem(format!("field {field} is invalid")))
            }
        }
    };
    let (hours, minutes, seconds, nanos) = (field("hours")?, field("minutes")?, field("seconds")?, field("nanos")?);
    let time = NaiveTime::from_hms_nano_opt(hours, minutes, seconds, nanos)
        .ok_or_else(|| MalformedItem(format!("field {name}.time is not a valid time")))?;
    Ok(date.and_time(time))
}

/// The keys of one time of a data point: physical time, its UTC offset and its civil mirror (if the schema has one).
struct TimeKeys {
    time: &'static str,
    offset: &'static str,
    civil: Option<&'static str>,
}

const SESSION_START: TimeKeys = TimeKeys { time: "startTime", offset: "startUtcOffset", civil: Some("civilStartTime") };
const STAGE_START: TimeKeys = TimeKeys { time: "startTime", offset: "startUtcOffset", civil: None };
const SAMPLE: TimeKeys = TimeKeys { time: "physicalTime", offset: "utcOffset", civil: Some("civilTime") };

/// Google's bounds for a UTC offset (±18 hours).
const MAX_OFFSET_SECS: i64 = 18 * 3600;

/// One moment of a data point: the instant, and the user's wall clock at that instant.
struct Instant {
    physical: DateTime<Utc>,
    local: NaiveDateTime,
}

impl Instant {
    /// The time under `keys` in `parent`: local = physical + offset; without an offset, the civil mirror; without
    /// either, `fallback_offset` (a stage's session offset); without any of them, malformed.
    fn read(
        parent: &Value,
        prefix: &str,
        keys: TimeKeys,
        fallback_offset: Option<TimeDelta>,
    ) -> Result<Instant, MalformedItem> {
        let physical = timestamp(get(parent, keys.time), &format!("{prefix}.{}", keys.time))?;
        let offset_name = format!("{prefix}.{}", keys.offset);
        let offset = match get(parent, keys.offset) {
            Some(offset) => Some(duration(Some(offset), &offset_name)?),
            None => None,
        };
        let civil = keys.civil.and_then(|key| get(parent, key).map(|v| (key, v)));
        let local = match (offset, civil, fallback_offset) {
            (Some(offset), _, _) => {
                if offset.num_seconds().abs() > MAX_OFFSET_SECS {
                    return Err(MalformedItem(format!("field {offset_name} is out of range")));
                }
                shift(physical, offset, &offset_name)?
            }
            (None, Some((key, civil)), _) => civil_date_time(civil, &format!("{prefix}.{key}"))?,
            (None, None, Some(offset)) => shift(physical, offset, &offset_name)?,
            (None, None, None) => return Err(missing(offset_name)),
        };
        Ok(Instant { physical, local })
    }

    /// The UTC offset in force: local − physical.
    fn offset(&self) -> TimeDelta {
        self.local - self.physical.naive_utc()
    }
}

fn shift(physical: DateTime<Utc>, offset: TimeDelta, name: &str) -> Result<NaiveDateTime, MalformedItem> {
    physical
        .naive_utc()
        .checked_add_signed(offset)
        .ok_or_else(|| MalformedItem(format!("field {name} puts the time out of range")))
}

/// The local wall clock relabelled as UTC, exactly as Fitbit's `normalize_date` prints it.
fn wall_clock(local: NaiveDateTime, name: &str) -> Result<String, MalformedItem> {
    normalize_date(&local.format("%Y-%m-%dT%H:%M:%S").to_string())
        .ok_or_else(|| MalformedItem(format!("field {name} is out of range")))
}

/// Milliseconds from `start` to `end` (sub-millisecond remainders cut off), never negative.
fn span_ms(start: DateTime<Utc>, end: DateTime<Utc>, name: &str) -> Result<i64, MalformedItem> {
    let ms = (end - start).num_milliseconds();
    if ms < 0 {
        return Err(MalformedItem(format!("{name} ends before it starts")));
    }
    Ok(ms)
}

/// The times of an exercise or sleep session, as OCARIoT carries them.
struct Session {
    start_time: String,
    end_time: String,
    duration: i64,
    /// The UTC offset at the start, for stages that do not carry their own.
    offset: TimeDelta,
}

impl Session {
    fn read(interval: &Value, prefix: &str) -> Result<Session, MalformedItem> {
        let start = Instant::read(interval, prefix, SESSION_START, None)?;
        let end = timestamp(get(interval, "endTime"), &format!("{prefix}.endTime"))?;
        let duration = span_ms(start.physical, end, prefix)?;
        let start_time = wall_clock(start.local, &format!("{prefix}.startTime"))?;
        // Fitbit's rule: the end is the local start plus the duration, whatever the offset at the end.
        let end_time = end_time(&start_time, &Value::from(duration))?;
        Ok(Session { start_time, end_time, duration, offset: start.offset() })
    }
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

/// Google's sleep stage types as OCARIoT pattern names (Fitbit's `wake` was already output as `awake`).
fn stage_name(stage_type: &str) -> Option<&'static str> {
    Some(match stage_type {
        "AWAKE" => "awake",
        "LIGHT" => "light",
        "DEEP" => "deep",
        "REM" => "rem",
        "ASLEEP" => "asleep",
        "RESTLESS" => "restless",
        _ => return None,
    })
}

fn stage_entry(stage: &Value, i: usize, session_offset: TimeDelta) -> Result<SleepStage, MalformedItem> {
    let prefix = format!("sleep.stages[{i}]");
    let start = Instant::read(stage, &prefix, STAGE_START, Some(session_offset))?;
    let end = timestamp(get(stage, "endTime"), &format!("{prefix}.endTime"))?;
    let stage_type = string(get(stage, "type"), format!("{prefix}.type"))?;
    let name = stage_name(stage_type)
        .ok_or_else(|| MalformedItem(format!("field {prefix}.type has an unsupported value {stage_type}")))?;
    Ok(SleepStage {
        start_time: wall_clock(start.local, &format!("{prefix}.startTime"))?,
        name: name.into(),
        duration: JsNumber::from(span_ms(start.physical, end, &prefix)?),
    })
}

/// `pattern.summary` from `summary.stagesSummary`, one `{count, duration}` per stage type of the sleep type.
fn sleep_summary(sleep: &Value, stages: &[Value], classic: bool) -> Result<SleepSummary, MalformedItem> {
    let entries = match get(sleep, "summary") {
        None => &[][..],
        Some(summary) => match get(object(Some(summary), "sleep.summary")?, "stagesSummary") {
            None => &[][..],
            Some(entries) => array(Some(entries), "sleep.summary.stagesSummary")?,
        },
    };
    let short_awakenings = match get(sleep, "shortAwakenings") {
        None => &[][..],
        Some(short) => array(Some(short), "sleep.shortAwakenings")?,
    };
    let is_type = |v: &Value, wanted: &str| get(v, "type").and_then(Value::as_str) == Some(wanted);

    let part = |google: &str| -> Result<StageSummary, MalformedItem> {
        let (count, minutes) = match entries.iter().position(|e| is_type(e, google)) {
            Some(i) => {
                let entry = &entries[i];
                // proto3 JSON leaves zero fields out.
                let field = |key: &str| match get(entry, key) {
                    None => Ok(0),
                    Some(v) => int64(Some(v), &format!("sleep.summary.stagesSummary[{i}].{key}")),
                };
                (field("count")?, field("minutes")?)
            }
            // No entry: a true zero only if the night has no stretch of that type; else the summary is incomplete.
            None if stages.iter().chain(short_awakenings).any(|s| is_type(s, google)) => {
                return Err(missing(format!("sleep.summary.stagesSummary[type={google}]")));
            }
            None => (0, 0),
        };
        let duration = minutes
            .checked_mul(60_000)
            .ok_or_else(|| MalformedItem(format!("sleep stage {google} minutes out of range")))?;
        Ok(StageSummary { count: JsNumber::from(count), duration: JsNumber::from(duration) })
    };
    // Google's stage types, in the order of their OCARIoT keys.
    Ok(match classic {
        true => SleepSummary::Classic { awake: part("AWAKE")?, asleep: part("ASLEEP")?, restless: part("RESTLESS")? },
        false => SleepSummary::Stages {
            deep: part("DEEP")?,
            light: part("LIGHT")?,
            rem: part("REM")?,
            awake: part("AWAKE")?,
        },
    })
}

/// `<key>.sampleTime.physicalTime` of a weight or body-fat point, as an instant.
fn physical_time(point: &Value, key: &str) -> Option<DateTime<Utc>> {
    let s = point.get(key)?.get("sampleTime")?.get("physicalTime")?.as_str()?;
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests;
