//! `dailyRollUp` (docs/google-health.md#daily-rollups): the request body, and the buckets computed from the same daily
//! tracker totals Fitbit's series report. Steps → `steps.countSum`, calories → `totalCalories.kcalSum`, lightly /
//! fairly / very active minutes → `activeMinutes` LIGHT / MODERATE / VIGOROUS, sedentary minutes →
//! `sedentaryPeriod.durationSum`; weigh-ins → `weight.weightGramsAvg` and `bodyFat.bodyFatPercentageAvg`. Days the
//! tracker was not worn, and days outside the history, have no bucket. A worn day without movement has buckets whose
//! zero sums proto3 leaves out (`"steps": {}`, docs/google-health.md#true-zeros), unless the encoding is verbose.

use chrono::{Duration, NaiveDate};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::data_types::DataType;
use super::encoding::Encoding;
use super::mapping;
use super::status::{self, GoogleError};
use super::time;
use crate::dataset::{worn, History};

/// `DailyRollUpDataPointsRequest`. Unknown fields are refused, as Google's JSON parser does.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct DailyRollUpRequest {
    pub range: Option<CivilRange>,
    pub window_size_days: Option<i64>,
    pub data_source_family: Option<String>,
    pub page_size: Option<i64>,
    /// Accepted and ignored: v4 rollups have no pages.
    #[allow(dead_code)]
    pub page_token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CivilRange {
    pub start: Option<CivilDateTime>,
    pub end: Option<CivilDateTime>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CivilDateTime {
    pub date: Option<Date>,
    #[serde(default)]
    pub time: TimeOfDay,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct Date {
    pub year: i32,
    pub month: u32,
    pub day: u32,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct TimeOfDay {
    pub hours: u32,
    pub minutes: u32,
    pub seconds: u32,
    pub nanos: u32,
}

impl TimeOfDay {
    fn is_midnight(&self) -> bool {
        self.hours == 0 && self.minutes == 0 && self.seconds == 0 && self.nanos == 0
    }
}

/// The days `[start, end)` of a valid request and its window size, or Google's 400.
pub(crate) fn days(
    request: &DailyRollUpRequest,
    data_type: &DataType,
) -> Result<(NaiveDate, NaiveDate, i64), GoogleError> {
    let range = request.range.as_ref().ok_or_else(|| status::invalid_argument("range is required.", None))?;
    let date = |bound: &Option<CivilDateTime>, field: &str| -> Result<(NaiveDate, bool), GoogleError> {
        let bound = bound.as_ref().and_then(|b| b.date.as_ref().map(|d| (d, b.time.is_midnight())));
        let (d, midnight) =
            bound.ok_or_else(|| status::invalid_argument(format!("range.{field}.date is required."), None))?;
        let day = NaiveDate::from_ymd_opt(d.year, d.month, d.day)
            .ok_or_else(|| status::invalid_argument(format!("range.{field}.date is not a valid date."), None))?;
        Ok((day, midnight))
    };
    let (start, start_midnight) = date(&range.start, "start")?;
    let (end, end_midnight) = date(&range.end, "end")?;
    if !start_midnight {
        return Err(status::invalid_argument("The range start must be aligned with the window (midnight).", None));
    }
    // A time into the last day includes that day.
    let end = if end_midnight { end } else { end + Duration::days(1) };
    if end <= start {
        return Err(status::invalid_argument("Invalid range: INVALID_TIME_RANGE", Some("INVALID_TIME_RANGE")));
    }
    if (end - start).num_days() > data_type.max_range_days {
        let message = format!(
            "The requested range exceeds the maximum of {} days for data type {}.",
            data_type.max_range_days, data_type.path
        );
        return Err(status::invalid_argument(message, Some("INVALID_RANGE")));
    }
    let window = request.window_size_days.unwrap_or(1);
    if window < 1 {
        return Err(status::invalid_argument("windowSizeDays must be positive.", None));
    }
    if request.page_size.is_some() && data_type.path == "total-calories" {
        // Seen live (docs/google-health.md#daily-rollups): pageSize on total-calories is refused.
        return Err(status::invalid_argument("pageSize is not supported for data type total-calories.", None));
    }
    Ok((start, end, window))
}

/// The buckets of `[start, end)` in windows of `window` days, the last one cut at `end`, oldest first.
pub(crate) fn buckets(
    history: &History,
    data_type: &DataType,
    start: NaiveDate,
    end: NaiveDate,
    window: i64,
    encoding: Encoding,
) -> Vec<Value> {
    let mut buckets = Vec::new();
    let mut from = start;
    while from < end {
        let to = (from + Duration::days(window)).min(end);
        let days: Vec<NaiveDate> = from.iter_days().take_while(|day| *day < to).collect();
        if let Some(value) = value(history, data_type, &days, encoding) {
            let mut bucket = Map::new();
            bucket.insert("civilStartTime".into(), time::civil(from.and_time(Default::default())));
            bucket.insert("civilEndTime".into(), time::civil(to.and_time(Default::default())));
            bucket.insert(data_type.key.into(), value);
            buckets.push(Value::Object(bucket));
        }
        from = to;
    }
    buckets
}

/// The rollup value of a window, `None` when nothing was recorded in it.
fn value(history: &History, data_type: &DataType, days: &[NaiveDate], encoding: Encoding) -> Option<Value> {
    match data_type.path {
        "weight" | "body-fat" => weigh_ins(history, data_type.path, days),
        _ => {
            let worn: Vec<[i64; 6]> = days.iter().filter_map(|day| history.day_totals(*day)).filter(worn).collect();
            if worn.is_empty() {
                return None;
            }
            let sum = |index: usize| worn.iter().map(|totals| totals[index]).sum::<i64>();
            activity(data_type.path, sum, encoding)
        }
    }
}

/// Rollups of the tracker totals; `sum(i)` adds resource `i` of [`crate::SERIES_RESOURCES`] over the worn days. A level
/// of active minutes without minutes keeps its `activityLevel`; with none at all the list is left out too.
fn activity(path: &str, sum: impl Fn(usize) -> i64, encoding: Encoding) -> Option<Value> {
    let (steps, calories, sedentary, lightly, fairly, very) = (sum(0), sum(1), sum(2), sum(3), sum(4), sum(5));
    let mut value = Map::new();
    match path {
        "steps" => encoding.int64(&mut value, "countSum", steps),
        "total-calories" => encoding.double(&mut value, "kcalSum", calories as f64),
        "active-minutes" => {
            let level = |level: &str, minutes: i64| {
                let mut entry = Map::new();
                entry.insert("activityLevel".into(), json!(level));
                encoding.int64(&mut entry, "activeMinutesSum", minutes);
                Value::Object(entry)
            };
            if encoding == Encoding::Verbose || lightly + fairly + very > 0 {
                let levels = [level("LIGHT", lightly), level("MODERATE", fairly), level("VIGOROUS", very)];
                value.insert("activeMinutesRollupByActivityLevel".into(), json!(levels));
            }
        }
        "sedentary-period" => encoding.duration(&mut value, "durationSum", sedentary * 60),
        "active-zone-minutes" => {
            // Fairly active minutes in fat burn; very active ones split 3:1 between cardio and peak, which count
            // double.
            let peak = very / 4;
            encoding.int64(&mut value, "sumInFatBurnHeartZone", fairly);
            encoding.int64(&mut value, "sumInCardioHeartZone", 2 * (very - peak));
            encoding.int64(&mut value, "sumInPeakHeartZone", 2 * peak);
        }
        _ => return None,
    }
    Some(Value::Object(value))
}

fn weigh_ins(history: &History, path: &str, days: &[NaiveDate]) -> Option<Value> {
    let logs = days.iter().filter_map(|day| history.weight_on(*day));
    let values: Vec<f64> = if path == "weight" {
        logs.filter_map(|log| mapping::weight("", log))
            .filter_map(|p| p.value["weight"]["weightGrams"].as_f64())
            .collect()
    } else {
        logs.filter_map(|log| log["fat"].as_f64()).collect()
    };
    if values.is_empty() {
        return None;
    }
    let average = values.iter().sum::<f64>() / values.len() as f64;
    Some(if path == "weight" { json!({"weightGramsAvg": average}) } else { json!({"bodyFatPercentageAvg": average}) })
}
