//! Google `dailyRollUp` buckets → OCARIoT `Log` entries (the table in this module's parent).

use chrono::{NaiveDate, TimeDelta};
use serde_json::{Map, Value};

use super::{array, civil_date, double_or_zero, duration, int64_or_zero, object};
use crate::domain::ocariot::{js_number, Log, LogType, MalformedItem};
use crate::provider::google::data_type::GoogleDataType;
use crate::provider::json::get;

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
