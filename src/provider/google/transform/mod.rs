//! Google Health API data points → the same OCARIoT objects the Fitbit transforms produce.
//!
//! The legacy Fitbit Web API is retired; the Google Health API v4 serves the same person's data in another shape
//! (docs/google-health.md#proto3-json, docs/google-health.md#times): UTC timestamps with a UTC offset per timestamp,
//! metric base units, int64 values as JSON strings, durations as `"900s"` strings, enums in UPPER_SNAKE. This module
//! turns those points into OCARIoT objects with exactly the keys, key order, units and number formatting of
//! [`crate::provider::fitbit::transform::activity`], [`crate::provider::fitbit::transform::sleep()`], [`crate::provider::fitbit::transform::weight()`] and [`crate::provider::fitbit::transform::daily_log`]
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
//! | **`sleep` point** | **Sleep** ([`crate::provider::fitbit::transform::sleep()`]) | |
//! | `interval` | `start_time`, `end_time`, `duration` | as for exercise |
//! | — | `child_id` | |
//! | `stages[]` | `pattern.data_set[]` | `{start_time: local start, name, duration: endTime − startTime in ms}`; `AWAKE`/`LIGHT`/`DEEP`/`REM`/`ASLEEP`/`RESTLESS` → `awake`/`light`/`deep`/`rem`/`asleep`/`restless`; any other stage type is malformed |
//! | `summary.stagesSummary[]` | `pattern.summary` | STAGES → `{deep, light, rem, awake}`, CLASSIC → `{awake, asleep, restless}`, each `{count, duration: minutes × 60000}`; a type with no summary entry is `{count: 0, duration: 0}` only if no stage (nor short awakening) of that type exists, otherwise the point is malformed (summary still incomplete) |
//! | `type` | `type` | `STAGES` → `stages`, `CLASSIC` → `classic`; when absent (it is optional), the stages tell: LIGHT/DEEP/REM → `stages`, ASLEEP/RESTLESS → `classic`; anything else is malformed |
//! | `metadata.processed` not `true`, or a pending `stagesStatus` | — | the night is still being processed: not published nor recorded while it ended less than [`SLEEP_PROCESSING_GRACE`] ago ([`sleep_unfinished`]); a later sync publishes it once final |
//! | `shortAwakenings`, `outOfBedSegments`, `summary.minutes*`, `metadata` | — | dropped, as Fitbit's `shortData`, `efficiency`, `minutesAsleep`… were |
//! | **`weight` point (+ `body-fat` point)** | **Weight** ([`crate::provider::fitbit::transform::weight()`]) | |
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

mod daily_log;
mod exercise;
mod sleep;
mod weight;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Utc};
use serde_json::Value;

use crate::domain::ocariot::{end_time, normalize_date, MalformedItem};
use crate::provider::json::{get, missing, string};

pub use daily_log::daily_logs;
pub use exercise::exercise;
pub use sleep::{sleep, sleep_unfinished, SLEEP_PROCESSING_GRACE};
pub use weight::{pair_body_fat, weight};

/// The id of a data point: the last segment of its `name` (`users/…/dataTypes/…/dataPoints/{id}`), or of
/// `dataPointName` for a reconciled point (docs/google-health.md#reconcile).
pub fn point_id(point: &Value) -> Option<String> {
    let name = point.get("dataPointName").or_else(|| point.get("name"))?.as_str()?;
    let (_, id) = name.rsplit_once("/dataPoints/")?;
    (!id.is_empty() && !id.contains('/')).then(|| id.to_owned())
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

#[cfg(test)]
mod tests;
