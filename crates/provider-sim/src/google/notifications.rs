//! The notifications Google POSTs to subscribers (docs/notifications.md#what-google-sends): which user, data type and
//! operation changed, and the changed time range in three forms (physical UTC, a civil object, a civil ISO string
//! without zone), civil being the user's local time as the rest of the Google side has it. They carry no data values:
//! the subscriber fetches those. `clientProvidedSubscriptionName` is a random UUID per notification, as for AUTOMATIC
//! subscriptions.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::mapping::health_user_id;
use super::operations::uuid;
use super::time::{self, LocalTime};

/// A change to announce.
#[derive(Clone, Debug)]
pub(crate) struct Change {
    pub user: String,
    pub data_type: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// `UPSERT` or `DELETE` (anything else goes out as given, since clients must accept unknown values).
    pub operation: String,
}

/// The notification object, `{"data": {…}}`.
pub(crate) fn notification(change: &Change) -> Value {
    let offset = time::utc_offset_secs(&change.data_type);
    let (start, end) = (LocalTime::at(change.start, offset), LocalTime::at(change.end, offset));
    json!({
        "data": {
            "version": "1",
            "clientProvidedSubscriptionName": uuid(),
            "healthUserId": health_user_id(&change.user),
            "operation": change.operation,
            "dataType": change.data_type,
            "intervals": [{
                "physicalTimeInterval": {
                    "startTime": time::timestamp(start.physical()),
                    "endTime": time::timestamp(end.physical()),
                },
                "civilDateTimeInterval": {
                    "startDateTime": time::civil(start.civil),
                    "endDateTime": time::civil(end.civil),
                },
                "civilIso8601TimeInterval": {
                    "startTime": time::civil_iso(start.civil),
                    "endTime": time::civil_iso(end.civil),
                },
            }],
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exercise_notification_has_the_three_interval_forms() {
        let change = Change {
            user: "U".into(),
            data_type: "exercise".into(),
            start: "2026-11-20T01:29:00Z".parse().unwrap(),
            end: "2026-11-20T01:34:00Z".parse().unwrap(),
            operation: "UPSERT".into(),
        };
        let data = &notification(&change)["data"];
        assert_eq!(data["healthUserId"], health_user_id("U"));
        assert_eq!(data["clientProvidedSubscriptionName"].as_str().unwrap().len(), 36);
        let interval = &data["intervals"][0];
        assert_eq!(interval["physicalTimeInterval"]["startTime"], "2026-11-20T01:29:00Z");
        assert_eq!(
            interval["civilDateTimeInterval"]["startDateTime"],
            json!({"date": {"year": 2026, "month": 11, "day": 19}, "time": {"hours": 22, "minutes": 29}})
        );
        assert_eq!(interval["civilIso8601TimeInterval"]["endTime"], "2026-11-19T22:34:00");
        let sleep = Change { data_type: "sleep".into(), ..change };
        assert_eq!(
            notification(&sleep)["data"]["intervals"][0]["civilIso8601TimeInterval"]["endTime"],
            "2026-11-20T01:34:00"
        );
    }
}
