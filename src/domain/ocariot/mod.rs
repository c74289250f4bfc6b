//! The OCARIoT contract: what the platform's consumers receive, whichever provider the data came from
//! (docs/decisions.md#published-payloads).
//!
//! These payloads are a contract: the output, serialized with `serde_json::to_string`, must equal what the Node service
//! produced byte for byte (key order, JavaScript number formatting, local times relabelled as UTC). Unlike the
//! original, one malformed provider item never sinks a whole resource type: each transform reports it as a
//! [`MalformedItem`] and the caller skips just that item (docs/decisions.md#one-malformed-item-is-skipped). The
//! transforms themselves live with their providers (`provider::fitbit::transform`, `provider::google::transform`) and
//! return the types below, whose field order is the key order on the wire.

mod activity;
mod log;
mod sleep;
mod weight;

use chrono::{DateTime, NaiveDateTime};
use serde::Serialize;
use serde_json::Value;

pub use activity::{ActivityLevel, HeartRate, HeartRateZone, PhysicalActivity};
pub use log::{Log, LogType};
pub use sleep::{Sleep, SleepPattern, SleepStage, SleepSummary, StageSummary};
pub use weight::Weight;

/// One published resource, as the sync handles them after the transforms: its event, its natural key.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Resource {
    PhysicalActivity(Box<PhysicalActivity>),
    Sleep(Box<Sleep>),
    Weight(Box<Weight>),
}

impl From<PhysicalActivity> for Resource {
    fn from(activity: PhysicalActivity) -> Self {
        Resource::PhysicalActivity(Box::new(activity))
    }
}

impl From<Sleep> for Resource {
    fn from(sleep: Sleep) -> Self {
        Resource::Sleep(Box::new(sleep))
    }
}

impl From<Weight> for Resource {
    fn from(weight: Weight) -> Self {
        Resource::Weight(Box::new(weight))
    }
}

impl Resource {
    /// The key the OCARIoT consumers de-duplicate an object by, besides the child: the start of an activity or a
    /// night, the time of a weigh-in.
    pub fn natural_key(&self) -> &str {
        match self {
            Resource::PhysicalActivity(activity) => &activity.start_time,
            Resource::Sleep(sleep) => &sleep.start_time,
            Resource::Weight(weight) => &weight.timestamp,
        }
    }
}

/// A number as the Node service printed it: a provider's number passed through unchanged, or a computed one printed
/// as `JSON.stringify` would ([`js_number`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(transparent)]
pub struct JsNumber(pub Value);

impl JsNumber {
    /// A computed number, printed without a fraction when it is integral.
    pub fn of(x: f64) -> Self {
        JsNumber(js_number(x))
    }
}

impl From<i64> for JsNumber {
    fn from(n: i64) -> Self {
        JsNumber(Value::from(n))
    }
}

/// Why one provider item could not be transformed; the caller logs it and skips the item
/// (docs/decisions.md#one-malformed-item-is-skipped).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct MalformedItem(pub String);

impl MalformedItem {
    /// The metrics label of the skip: `missing_field` when a field the OCARIoT object needs is absent (the message
    /// [`MalformedItem::missing`] words), `malformed` when something present is wrong.
    pub fn reason(&self) -> &'static str {
        if self.0.contains(MISSING_FIELD) {
            "missing_field"
        } else {
            "malformed"
        }
    }
}

impl MalformedItem {
    /// A field the OCARIoT object needs is absent.
    pub fn missing(name: impl std::fmt::Display) -> Self {
        MalformedItem(format!("{MISSING_FIELD}{name}"))
    }
}

const MISSING_FIELD: &str = "missing field ";

/// A number as `JSON.stringify` would print it: Node has no integer type, so `1500.0` must come out as `1500`.
pub fn js_number(x: f64) -> Value {
    const MAX_SAFE: f64 = 9_007_199_254_740_992.0; // 2^53
    if x.is_finite() && x.fract() == 0.0 && x.abs() < MAX_SAFE {
        // `as` is exact here: the value is integral and well inside i64. It also turns -0 into 0, as Node prints it.
        Value::from(x as i64)
    } else {
        Value::from(x)
    }
}

/// The original's `normalizeDate`: the provider's local wall-clock time relabelled as UTC, offset and milliseconds
/// dropped.
///
/// Downstream de-duplication depends on this exact relabelling (docs/decisions.md#published-payloads), so it is
/// reproduced rather than converted to real UTC. `None` when `s` does not start with a `YYYY-MM-DDTHH:mm:ss` date-time.
pub fn normalize_date(s: &str) -> Option<String> {
    let head = s.get(..19)?;
    let shape_ok = head.bytes().enumerate().all(|(i, b)| match i {
        4 | 7 => b == b'-',
        10 => b == b'T',
        13 | 16 => b == b':',
        _ => b.is_ascii_digit(),
    });
    // The shape check keeps chrono from accepting looser forms (signed or short years, one-digit fields).
    if !shape_ok || NaiveDateTime::parse_from_str(head, "%Y-%m-%dT%H:%M:%S").is_err() {
        return None;
    }
    Some(format!("{head}Z"))
}

/// `start_time + duration`: `start_time` is an already normalized `…Z` string (whole seconds), `duration`
/// milliseconds. The OCARIoT consumers refuse an activity or a sleep unless `end_time − start_time` equals `duration`
/// to the millisecond, so the end keeps the duration's milliseconds (`.SSSZ`) when it has any; a whole-second end
/// keeps the original's `…:SSZ` bytes (docs/consumer-and-google-facts.md).
pub fn end_time(start_time: &str, duration: &Value) -> Result<String, MalformedItem> {
    let start = start_time
        .get(..19)
        .and_then(|head| NaiveDateTime::parse_from_str(head, "%Y-%m-%dT%H:%M:%S").ok())
        .ok_or_else(|| MalformedItem(format!("invalid start time {start_time}")))?;
    let ms = duration.as_f64().filter(|d| d.is_finite()).ok_or_else(|| MalformedItem("invalid duration".into()))?;
    let end_ms = start.and_utc().timestamp_millis() as f64 + ms;
    // Outside ±2^53 ms the f64 sum is no longer exact, and chrono's range ends well before that anyway.
    let end = (end_ms.abs() < 9_007_199_254_740_992.0)
        .then(|| DateTime::from_timestamp_millis(end_ms.floor() as i64))
        .flatten()
        .ok_or_else(|| MalformedItem(format!("duration {ms} out of range")))?;
    if end.timestamp_subsec_millis() == 0 {
        Ok(end.format("%Y-%m-%dT%H:%M:%SZ").to_string())
    } else {
        Ok(end.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn js_number_prints_integral_values_without_fraction() {
        assert_eq!(serde_json::to_string(&js_number(1500.0)).unwrap(), "1500");
        assert_eq!(serde_json::to_string(&js_number(-0.0)).unwrap(), "0");
        assert_eq!(serde_json::to_string(&js_number(1609.344)).unwrap(), "1609.344");
        assert_eq!(serde_json::to_string(&js_number(2.0f64.powi(53))).unwrap(), "9007199254740992.0");
        assert_eq!(js_number(f64::NAN), Value::Null);
    }

    #[test]
    fn normalize_date_relabels_local_time_as_utc() {
        assert_eq!(normalize_date("2019-03-28T15:03:11.000-03:00").as_deref(), Some("2019-03-28T15:03:11Z"));
        assert_eq!(normalize_date("2019-03-28T15:03:11.123+05:30").as_deref(), Some("2019-03-28T15:03:11Z"));
        assert_eq!(normalize_date("2019-03-28T15:03:11").as_deref(), Some("2019-03-28T15:03:11Z"));
        assert_eq!(normalize_date("2019-03-28T15:03:11Z").as_deref(), Some("2019-03-28T15:03:11Z"));
    }

    #[test]
    fn normalize_date_rejects_what_is_not_a_date_time() {
        assert_eq!(normalize_date("2019-03-28"), None);
        assert_eq!(normalize_date("2019-03-28T15:03:1"), None);
        assert_eq!(normalize_date("2019-03-28 15:03:11"), None);
        assert_eq!(normalize_date("2019-13-28T15:03:11"), None);
        assert_eq!(normalize_date("2019-02-30T15:03:11"), None);
        assert_eq!(normalize_date("2019-03-28T25:03:11"), None);
        assert_eq!(normalize_date("+201-03-28T15:03:11"), None);
        assert_eq!(normalize_date("2019-03-28T15:03:1é"), None);
        assert_eq!(normalize_date(""), None);
    }

    #[test]
    fn end_time_adds_milliseconds_and_keeps_them() {
        assert_eq!(end_time("2019-03-28T15:03:11Z", &json!(1800000)).unwrap(), "2019-03-28T15:33:11Z");
        assert_eq!(end_time("2019-03-28T15:03:11Z", &json!(1999)).unwrap(), "2019-03-28T15:03:12.999Z");
        assert_eq!(end_time("2019-03-28T15:03:11Z", &json!(2712345)).unwrap(), "2019-03-28T15:48:23.345Z");
        assert_eq!(end_time("2019-03-28T15:03:11Z", &json!(1)).unwrap(), "2019-03-28T15:03:11.001Z");
        assert_eq!(end_time("2019-03-28T15:03:11Z", &json!(0)).unwrap(), "2019-03-28T15:03:11Z");
    }

    /// What the OCARIoT consumers check: `Date(end_time) − Date(start_time) === duration`, in milliseconds.
    fn consumer_accepts(start_time: &str, end_time: &str, duration: i64) -> bool {
        let ms = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis();
        ms(end_time) - ms(start_time) == duration
    }

    #[test]
    fn every_duration_gives_an_end_the_consumers_accept() {
        for duration in [0, 1, 999, 1000, 1001, 59_999, 2_712_345, 28_800_000, 36_300_250, 86_400_001] {
            let end = end_time("2019-12-31T23:30:00Z", &json!(duration)).unwrap();
            assert!(consumer_accepts("2019-12-31T23:30:00Z", &end, duration), "{duration} ms → {end}");
            assert_eq!(end.len(), if duration % 1000 == 0 { 20 } else { 24 }, "{end}");
        }
    }

    #[test]
    fn end_time_crosses_midnight_and_year_end() {
        assert_eq!(end_time("2020-09-07T22:10:00Z", &json!(28800000)).unwrap(), "2020-09-08T06:10:00Z");
        assert_eq!(end_time("2019-12-31T23:30:00Z", &json!(3600000)).unwrap(), "2020-01-01T00:30:00Z");
        assert_eq!(end_time("2020-02-28T23:00:00Z", &json!(7200000.0)).unwrap(), "2020-02-29T01:00:00Z");
    }

    #[test]
    fn end_time_rejects_unusable_durations() {
        assert!(end_time("2019-03-28T15:03:11Z", &json!("1800000")).is_err());
        assert!(end_time("2019-03-28T15:03:11Z", &json!(1e300)).is_err());
    }
}
