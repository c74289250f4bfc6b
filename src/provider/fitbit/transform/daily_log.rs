//! Fitbit daily time series `{dateTime, value}` → OCARIoT `Log` entries (docs/decisions.md#published-payloads), the
//! payload of `LogSyncEvent`, and the merge of the fairly and very active series into one "active minutes" series.

use std::collections::{HashMap, VecDeque};

use serde_json::{Map, Value};

use crate::domain::ocariot::{Log, LogType, MalformedItem};
use crate::provider::json::js_parse_int;

/// One OCARIoT log per series entry, in series order; entries without a string `dateTime` and `value` are reported
/// and skipped.
///
/// `value` stays the string Fitbit sent (`"8423"`): downstream services were built against strings
/// (docs/decisions.md#published-payloads).
pub fn daily_logs(series: &[Value], log_type: LogType, child_id: &str) -> (Vec<Log>, Vec<MalformedItem>) {
    let mut logs = Vec::with_capacity(series.len());
    let mut malformed = Vec::new();
    for (i, entry) in series.iter().enumerate() {
        let date = entry.get("dateTime").and_then(Value::as_str);
        let value = entry.get("value").and_then(Value::as_str);
        match (date, value) {
            (Some(date), Some(value)) => {
                logs.push(Log {
                    child_id: child_id.to_owned(),
                    date: date.to_owned(),
                    value: value.to_owned(),
                    log_type,
                });
            }
            (None, _) => malformed.push(MalformedItem(format!("{} entry {i}: no string dateTime", log_type.name()))),
            (Some(date), None) => {
                malformed.push(MalformedItem(format!("{} entry {date}: no string value", log_type.name())))
            }
        }
    }
    (logs, malformed)
}

/// Fitbit has no "active minutes" series: it is fairly + very active minutes, per day, as a string
/// (`String(parseInt(fairly) + parseInt(very))`), in the order of the fairly series.
///
/// The original paired the two series by index, dropped days whose dates differed and crashed when the very series was
/// shorter. Here days are paired by `dateTime`; a day present in only one series, or whose values are not integers, is
/// reported and skipped (docs/decisions.md#one-malformed-item-is-skipped). As in the original, an empty series on
/// either side means there is nothing to merge, and yields nothing without complaint.
pub fn active_minutes(fairly: &[Value], very: &[Value]) -> (Vec<Value>, Vec<MalformedItem>) {
    let mut merged = Vec::with_capacity(fairly.len());
    let mut malformed = Vec::new();
    if fairly.is_empty() || very.is_empty() {
        return (merged, malformed);
    }

    // Queues rather than single slots, so that a date repeated in both series still pairs up one-to-one.
    let mut very_by_date: HashMap<&str, VecDeque<usize>> = HashMap::with_capacity(very.len());
    for (i, entry) in very.iter().enumerate() {
        match entry.get("dateTime").and_then(Value::as_str) {
            Some(date) => very_by_date.entry(date).or_default().push_back(i),
            None => malformed.push(MalformedItem(format!("minutesVeryActive entry {i}: no string dateTime"))),
        }
    }
    let mut paired = vec![false; very.len()];

    for (i, entry) in fairly.iter().enumerate() {
        let Some(date) = entry.get("dateTime").and_then(Value::as_str) else {
            malformed.push(MalformedItem(format!("minutesFairlyActive entry {i}: no string dateTime")));
            continue;
        };
        let Some(j) = very_by_date.get_mut(date).and_then(VecDeque::pop_front) else {
            malformed.push(MalformedItem(format!("active_minutes {date}: no minutesVeryActive entry")));
            continue;
        };
        paired[j] = true;
        let sum = entry
            .get("value")
            .and_then(js_parse_int)
            .zip(very[j].get("value").and_then(js_parse_int))
            .and_then(|(f, v)| f.checked_add(v));
        match sum {
            Some(sum) => {
                let mut out = Map::new();
                out.insert("dateTime".into(), Value::String(date.to_owned()));
                out.insert("value".into(), Value::String(sum.to_string()));
                merged.push(Value::Object(out));
            }
            None => malformed.push(MalformedItem(format!("active_minutes {date}: value is not an integer"))),
        }
    }

    for (j, entry) in very.iter().enumerate() {
        if let (false, Some(date)) = (paired[j], entry.get("dateTime").and_then(Value::as_str)) {
            malformed.push(MalformedItem(format!("active_minutes {date}: no minutesFairlyActive entry")));
        }
    }
    (merged, malformed)
}

#[cfg(test)]
mod tests;
