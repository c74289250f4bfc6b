//! Turns provider (Fitbit) JSON into the OCARIoT JSON that other services consume
//! (docs/decisions.md#published-payloads).
//!
//! These payloads are a contract: the output, serialized with `serde_json::to_string`, must equal what the Node service
//! produced byte for byte (key order, JavaScript number formatting, local times relabelled as UTC). Unlike the
//! original, one malformed provider item never sinks a whole resource type: each transform reports it as a
//! [`MalformedItem`] and the caller skips just that item (docs/decisions.md#one-malformed-item-is-skipped).

pub mod activity;
pub mod daily_log;
pub mod google;
pub mod sleep;
pub mod weight;

use std::fmt::Display;

use chrono::{DateTime, NaiveDateTime};
use serde_json::Value;

pub use activity::physical_activity;
pub use daily_log::{active_minutes, daily_logs, LogType};
pub use sleep::sleep;
pub use weight::weight;

/// Why one provider item could not be transformed; the caller logs it and skips the item
/// (docs/decisions.md#one-malformed-item-is-skipped).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct MalformedItem(pub String);

impl MalformedItem {
    /// The metrics label of the skip: `missing_field` when a field the OCARIoT object needs is absent (the message
    /// [`missing`] words), `malformed` when something present is wrong.
    pub fn reason(&self) -> &'static str {
        if self.0.contains(MISSING_FIELD) {
            "missing_field"
        } else {
            "malformed"
        }
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
fn end_time(start_time: &str, duration: &Value) -> Result<String, MalformedItem> {
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

/// A field, with `null` treated like a missing one: the original read both as "absent".
fn get<'a>(parent: &'a Value, key: &str) -> Option<&'a Value> {
    parent.get(key).filter(|v| !v.is_null())
}

/// JavaScript truthiness, because the original decides optional parts (`distance`, `heart_rate`, the classic sleep
/// summary) with `if (x)`.
fn truthy(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|x| x != 0.0 && !x.is_nan()),
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(_) | Value::Object(_)) => true,
    }
}

fn missing(name: impl Display) -> MalformedItem {
    MalformedItem(format!("{MISSING_FIELD}{name}"))
}

/// A provider number passed through unchanged, except that an integral float prints as Node would print it.
fn number(v: Option<&Value>, name: impl Display) -> Result<Value, MalformedItem> {
    match v {
        None => Err(missing(name)),
        Some(Value::Number(n)) if n.is_f64() => Ok(js_number(n.as_f64().unwrap_or(f64::NAN))),
        Some(n @ Value::Number(_)) => Ok(n.clone()),
        Some(_) => Err(MalformedItem(format!("field {name} is not a number"))),
    }
}

fn string(v: Option<&Value>, name: impl Display) -> Result<&str, MalformedItem> {
    match v {
        None => Err(missing(name)),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(MalformedItem(format!("field {name} is not a string"))),
    }
}

/// Provider minutes as OCARIoT milliseconds; fractional minutes are legal (0.5 → 30000).
fn minutes_to_ms(v: Option<&Value>, name: impl Display) -> Result<Value, MalformedItem> {
    match v {
        None => Err(missing(name)),
        Some(Value::Number(n)) => Ok(js_number(n.as_f64().unwrap_or(f64::NAN) * 60_000.0)),
        Some(_) => Err(MalformedItem(format!("field {name} is not a number"))),
    }
}

/// `parseInt(v, 10)`: the provider sends counts as strings (`"37"`) or numbers, and the original accepted any leading
/// integer (`"12abc"` → 12). `None` where JavaScript would get `NaN`, or the result does not fit in an i64.
fn js_parse_int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => match n.as_i64() {
            Some(i) => Some(i),
            // Fitbit never sends the exponent forms (1e21, 1e-7) for which parseInt would read the mantissa only.
            None => n.as_f64().filter(|x| x.is_finite() && x.abs() < 9.2e18).map(|x| x.trunc() as i64),
        },
        Value::String(s) => {
            let s = s.trim_start_matches(|c: char| (c.is_whitespace() && c != '\u{85}') || c == '\u{feff}');
            let (negative, digits) = match s.as_bytes().first() {
                Some(b'-') => (true, &s[1..]),
                Some(b'+') => (false, &s[1..]),
                _ => (false, s),
            };
            let end = digits.bytes().position(|b| !b.is_ascii_digit()).unwrap_or(digits.len());
            if end == 0 {
                return None;
            }
            let magnitude: i64 = digits[..end].parse().ok()?;
            Some(if negative { -magnitude } else { magnitude })
        }
        _ => None,
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

    #[test]
    fn js_parse_int_reads_a_leading_integer() {
        assert_eq!(js_parse_int(&json!("37")), Some(37));
        assert_eq!(js_parse_int(&json!("  -12abc")), Some(-12));
        assert_eq!(js_parse_int(&json!("+5")), Some(5));
        assert_eq!(js_parse_int(&json!(30)), Some(30));
        assert_eq!(js_parse_int(&json!(30.9)), Some(30));
        assert_eq!(js_parse_int(&json!("0x1f")), Some(0));
        assert_eq!(js_parse_int(&json!("abc")), None);
        assert_eq!(js_parse_int(&json!("-")), None);
        assert_eq!(js_parse_int(&json!("")), None);
        assert_eq!(js_parse_int(&json!(null)), None);
        assert_eq!(js_parse_int(&json!("99999999999999999999")), None);
    }

    #[test]
    fn truthiness_follows_javascript() {
        assert!(!truthy(None));
        assert!(!truthy(Some(&json!(null))));
        assert!(!truthy(Some(&json!(0))));
        assert!(!truthy(Some(&json!(0.0))));
        assert!(!truthy(Some(&json!(""))));
        assert!(!truthy(Some(&json!(false))));
        assert!(truthy(Some(&json!(1.5))));
        assert!(truthy(Some(&json!("0"))));
        assert!(truthy(Some(&json!({}))));
        assert!(truthy(Some(&json!([]))));
    }

    #[test]
    fn passed_through_numbers_keep_their_value() {
        assert_eq!(number(Some(&json!(154)), "calories").unwrap(), json!(154));
        assert_eq!(serde_json::to_string(&number(Some(&json!(154.0)), "calories").unwrap()).unwrap(), "154");
        assert_eq!(number(Some(&json!(41.3)), "weight").unwrap(), json!(41.3));
        assert_eq!(number(None, "calories"), Err(MalformedItem("missing field calories".into())));
        assert_eq!(
            number(Some(&json!("154")), "calories"),
            Err(MalformedItem("field calories is not a number".into()))
        );
    }
}
