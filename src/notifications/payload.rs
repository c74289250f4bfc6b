//! What a Google Health notification says (docs/notifications.md#what-google-sends), read leniently: one object or an
//! array of them (Google's guide shows one, production sends arrays), each with or without its `data` wrapper, an
//! `intervals` list that may come as one object, and each interval in whichever of its three forms is there. The
//! notified intervals become whole civil days.

use chrono::{DateTime, Duration, NaiveDate};
use serde_json::Value;

/// One notification: whose data changed, which type, how, and on which civil days (if it said).
#[derive(Clone, Debug, PartialEq)]
pub struct Notification {
    pub health_user_id: String,
    pub data_type: String,
    pub operation: Operation,
    /// The first and last civil day the intervals touch.
    pub days: Option<(NaiveDate, NaiveDate)>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Operation {
    Upsert,
    Delete,
    /// A value Google may add later (the field is an open enum): treated as an upsert, which only reads.
    Other(String),
}

/// A body: the endpoint check, or notifications (and how many entries could not be read as one).
#[derive(Debug, PartialEq)]
pub enum Body {
    Verification,
    Notifications { notifications: Vec<Notification>, unreadable: usize },
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{0}")]
pub struct PayloadError(pub String);

pub fn parse(body: &[u8]) -> Result<Body, PayloadError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| PayloadError(format!("not JSON: {e}")))?;
    if value.get("type").and_then(Value::as_str) == Some("verification") {
        return Ok(Body::Verification);
    }
    let entries = match value {
        Value::Array(entries) => entries,
        object @ Value::Object(_) => vec![object],
        _ => return Err(PayloadError("expected a notification object or an array of them".into())),
    };
    let mut notifications = Vec::with_capacity(entries.len());
    let mut unreadable = 0;
    for entry in &entries {
        match notification(entry.get("data").unwrap_or(entry)) {
            Some(notification) => notifications.push(notification),
            None => unreadable += 1,
        }
    }
    Ok(Body::Notifications { notifications, unreadable })
}

fn notification(data: &Value) -> Option<Notification> {
    let text = |key: &str| data.get(key).and_then(Value::as_str).filter(|s| !s.is_empty());
    let operation = match text("operation").unwrap_or("UPSERT") {
        "UPSERT" => Operation::Upsert,
        "DELETE" => Operation::Delete,
        other => Operation::Other(other.to_string()),
    };
    let intervals = match data.get("intervals") {
        Some(Value::Array(list)) => list.iter().collect(),
        Some(one @ Value::Object(_)) => vec![one],
        _ => Vec::new(),
    };
    let days = intervals.into_iter().filter_map(interval_days).reduce(|(a, b), (c, d)| (a.min(c), b.max(d)));
    Some(Notification {
        health_user_id: text("healthUserId")?.to_string(),
        data_type: text("dataType")?.to_string(),
        operation,
        days,
    })
}

/// An interval's civil days: from its civil ISO form, else its civil object form, else its physical (UTC) form
/// widened by a day on each side, since the user's zone is unknown there.
fn interval_days(interval: &Value) -> Option<(NaiveDate, NaiveDate)> {
    let iso = |key: &str| {
        let text = interval.pointer(&format!("/civilIso8601TimeInterval/{key}"))?.as_str()?;
        NaiveDate::parse_from_str(text.get(..10)?, "%Y-%m-%d").ok()
    };
    if let (Some(start), Some(end)) = (iso("startTime"), iso("endTime")) {
        return Some((start.min(end), start.max(end)));
    }
    let civil = |key: &str| {
        let date = interval.pointer(&format!("/civilDateTimeInterval/{key}/date"))?;
        let part = |name: &str| date.get(name)?.as_u64();
        NaiveDate::from_ymd_opt(part("year")? as i32, part("month")? as u32, part("day")? as u32)
    };
    if let (Some(start), Some(end)) = (civil("startDateTime"), civil("endDateTime")) {
        return Some((start.min(end), start.max(end)));
    }
    let physical = |key: &str| {
        let text = interval.pointer(&format!("/physicalTimeInterval/{key}"))?.as_str()?;
        Some(DateTime::parse_from_rfc3339(text).ok()?.naive_utc().date())
    };
    let (start, end) = (physical("startTime")?, physical("endTime").or(physical("startTime"))?);
    Some((start.min(end) - Duration::days(1), start.max(end) + Duration::days(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    const DOCUMENTED: &str = r#"{"data": {"version": "1", "clientProvidedSubscriptionName": "0d9c8f5e",
        "healthUserId": "2515055256096816351", "operation": "UPSERT", "dataType": "steps", "intervals": [{
        "physicalTimeInterval": {"startTime": "2026-11-20T01:29:00Z", "endTime": "2026-11-20T01:34:00Z"},
        "civilDateTimeInterval": {"startDateTime": {"date": {"year": 2026, "month": 11, "day": 19}, "time": {"hours": 17}},
                                  "endDateTime": {"date": {"year": 2026, "month": 11, "day": 19}}},
        "civilIso8601TimeInterval": {"startTime": "2026-11-19T17:29:00", "endTime": "2026-11-19T17:34:00"}}]}}"#;

    #[test]
    fn the_documented_object_and_a_batch_array_both_read() {
        let Body::Notifications { notifications, unreadable } = parse(DOCUMENTED.as_bytes()).unwrap() else {
            panic!("notifications")
        };
        assert_eq!(unreadable, 0);
        assert_eq!(
            notifications,
            [Notification {
                health_user_id: "2515055256096816351".into(),
                data_type: "steps".into(),
                operation: Operation::Upsert,
                days: Some((day("2026-11-19"), day("2026-11-19"))),
            }]
        );
        let batch =
            format!(r#"[{DOCUMENTED}, {{"healthUserId": "7", "dataType": "sleep", "operation": "DELETE"}}, 3]"#);
        let Body::Notifications { notifications, unreadable } = parse(batch.as_bytes()).unwrap() else { panic!() };
        assert_eq!((notifications.len(), unreadable), (2, 1));
        assert_eq!(notifications[1].operation, Operation::Delete);
        assert_eq!(notifications[1].days, None);
    }

    #[test]
    fn intervals_in_any_form_become_whole_days() {
        let civil = r#"{"healthUserId": "1", "dataType": "sleep", "operation": "SOMETHING_NEW", "intervals": {
            "civilDateTimeInterval": {"startDateTime": {"date": {"year": 2026, "month": 11, "day": 18}},
                                      "endDateTime": {"date": {"year": 2026, "month": 11, "day": 19}}}}}"#;
        let Body::Notifications { notifications, .. } = parse(civil.as_bytes()).unwrap() else { panic!() };
        assert_eq!(notifications[0].days, Some((day("2026-11-18"), day("2026-11-19"))));
        assert_eq!(notifications[0].operation, Operation::Other("SOMETHING_NEW".into()));
        let physical = r#"{"healthUserId": "1", "dataType": "weight", "intervals": [
            {"physicalTimeInterval": {"startTime": "2026-11-20T01:29:00Z", "endTime": "2026-11-20T01:34:00Z"}},
            {"physicalTimeInterval": {"startTime": "2026-11-22T08:00:00Z"}}]}"#;
        let Body::Notifications { notifications, .. } = parse(physical.as_bytes()).unwrap() else { panic!() };
        assert_eq!(notifications[0].days, Some((day("2026-11-19"), day("2026-11-23"))));
    }

    #[test]
    fn the_endpoint_check_and_bad_bodies() {
        assert_eq!(parse(br#"{"type": "verification"}"#).unwrap(), Body::Verification);
        assert!(parse(b"{not json").is_err());
        assert!(parse(b"42").is_err());
    }
}
