//! Google's time encodings (docs/google-health.md#times): RFC 3339 UTC timestamps, `"<n>s"` durations and UTC offsets,
//! and the output-only `CivilDateTime` mirrors with zero fields left out. Fitbit gives local times, with an offset
//! (activity logs) or without one (sleep and weight logs, which are UTC for simulated users).

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, Timelike, Utc};
use serde_json::{json, Map, Value};

/// The UTC offset of the synthetic activity logs (`dataset/activity.rs` writes them at `-03:00`), so of every
/// `exercise`; sleep and weight logs have none and are UTC.
pub(crate) const ACTIVITY_UTC_OFFSET_SECS: i64 = -3 * 3600;

/// The UTC offset the simulated users' records of a data type are in: [`ACTIVITY_UTC_OFFSET_SECS`] for `exercise`,
/// else 0.
pub(crate) fn utc_offset_secs(data_type: &str) -> i64 {
    if data_type == "exercise" {
        ACTIVITY_UTC_OFFSET_SECS
    } else {
        0
    }
}

/// An instant as Google describes it: the user's civil time there and the UTC offset in force.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LocalTime {
    pub civil: NaiveDateTime,
    pub offset_secs: i64,
}

impl LocalTime {
    pub(crate) fn utc(civil: NaiveDateTime) -> LocalTime {
        LocalTime { civil, offset_secs: 0 }
    }

    /// An instant seen at a UTC offset.
    pub(crate) fn at(instant: DateTime<Utc>, offset_secs: i64) -> LocalTime {
        LocalTime { civil: instant.naive_utc() + Duration::seconds(offset_secs), offset_secs }
    }

    /// A Fitbit local timestamp, `2026-01-05T09:12:33.000-03:00` or, without offset, in UTC.
    pub(crate) fn parse_fitbit(value: &str) -> Option<LocalTime> {
        if let Ok(with_offset) = DateTime::parse_from_rfc3339(value) {
            let offset_secs = i64::from(with_offset.offset().local_minus_utc());
            return Some(LocalTime { civil: with_offset.naive_local(), offset_secs });
        }
        NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S%.f").ok().map(LocalTime::utc)
    }

    /// The instant, as a UTC wall clock.
    pub(crate) fn physical(self) -> NaiveDateTime {
        self.civil - Duration::seconds(self.offset_secs)
    }

    pub(crate) fn plus(self, seconds: i64) -> LocalTime {
        LocalTime { civil: self.civil + Duration::seconds(seconds), offset_secs: self.offset_secs }
    }

    /// Inserts the physical time and the UTC offset under the given keys (`startTime`/`startUtcOffset`…).
    pub(crate) fn insert(self, object: &mut Map<String, Value>, time_key: &str, offset_key: &str) {
        object.insert(time_key.into(), json!(timestamp(self.physical())));
        object.insert(offset_key.into(), json!(duration(self.offset_secs)));
    }
}

/// `2026-02-23T13:10:00Z` for a UTC wall clock.
pub(crate) fn timestamp(utc: NaiveDateTime) -> String {
    if utc.nanosecond() == 0 {
        utc.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    } else {
        utc.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
    }
}

/// `"900s"`, `"-10800s"`.
pub(crate) fn duration(seconds: i64) -> String {
    format!("{seconds}s")
}

/// `2026-11-19T17:29:00`: a civil time as an ISO 8601 string without zone.
pub(crate) fn civil_iso(at: NaiveDateTime) -> String {
    if at.nanosecond() == 0 {
        at.format("%Y-%m-%dT%H:%M:%S").to_string()
    } else {
        at.format("%Y-%m-%dT%H:%M:%S%.3f").to_string()
    }
}

/// `{"year","month","day"}`.
pub(crate) fn date(day: NaiveDate) -> Value {
    json!({"year": day.year(), "month": day.month(), "day": day.day()})
}

/// A `CivilDateTime`: `{"date":{…},"time":{…}}`, zero time fields left out (`"time": {}` at midnight).
pub(crate) fn civil(at: NaiveDateTime) -> Value {
    let mut time = Map::new();
    for (key, value) in [("hours", at.hour()), ("minutes", at.minute()), ("seconds", at.second())] {
        if value != 0 {
            time.insert(key.into(), json!(value));
        }
    }
    if at.nanosecond() != 0 {
        time.insert("nanos".into(), json!(at.nanosecond()));
    }
    json!({"date": date(at.date()), "time": time})
}

/// A `SessionTimeInterval` / `ObservationTimeInterval` with its civil mirrors.
pub(crate) fn interval(start: LocalTime, end: LocalTime) -> Value {
    let mut object = Map::new();
    start.insert(&mut object, "startTime", "startUtcOffset");
    end.insert(&mut object, "endTime", "endUtcOffset");
    object.insert("civilStartTime".into(), civil(start.civil));
    object.insert("civilEndTime".into(), civil(end.civil));
    Value::Object(object)
}

/// An `ObservationSampleTime` with its civil mirror.
pub(crate) fn sample_time(at: LocalTime) -> Value {
    let mut object = Map::new();
    at.insert(&mut object, "physicalTime", "utcOffset");
    object.insert("civilTime".into(), civil(at.civil));
    Value::Object(object)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fitbit_times_become_physical_time_and_offset() {
        let activity = LocalTime::parse_fitbit("2026-01-05T09:12:33.000-03:00").unwrap();
        assert_eq!(activity.offset_secs, -10800);
        assert_eq!(timestamp(activity.physical()), "2026-01-05T12:12:33Z");
        let sleep = LocalTime::parse_fitbit("2026-01-04T20:35:00.000").unwrap();
        assert_eq!(json!(duration(sleep.offset_secs)), json!("0s"));
        assert_eq!(timestamp(sleep.physical()), "2026-01-04T20:35:00Z");
    }

    #[test]
    fn civil_times_leave_out_zero_fields() {
        let at = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap().and_hms_opt(7, 30, 0).unwrap();
        assert_eq!(
            civil(at),
            json!({"date": {"year": 2026, "month": 11, "day": 20}, "time": {"hours": 7, "minutes": 30}})
        );
        let midnight = at.date().and_hms_opt(0, 0, 0).unwrap();
        assert_eq!(civil(midnight)["time"], json!({}));
    }
}
