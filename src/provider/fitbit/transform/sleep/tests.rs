//! Tests of the Fitbit sleep transform: the original's bytes, and what it refuses.

use super::*;
use serde_json::json;

/// The object as the consumers read it: its JSON, in the contract's key order.
fn sleep(raw: &Value, child_id: &str) -> Result<Value, MalformedItem> {
    super::sleep(raw, child_id).map(|object| serde_json::to_value(object).unwrap())
}

const CHILD: &str = "5a62be07de34500146d9c544";

/// A stages sleep that yields the Appendix A.2 example.
fn stages() -> Value {
    json!({
        "dateOfSleep": "2020-09-08",
        "duration": 28800000,
        "efficiency": 93,
        "isMainSleep": true,
        "levels": {
            "data": [
                {"dateTime": "2020-09-07T22:10:00.000", "level": "wake", "seconds": 330},
                {"dateTime": "2020-09-07T22:15:30.000", "level": "light", "seconds": 1800}
            ],
            "shortData": [{"dateTime": "2020-09-07T23:00:00.000", "level": "wake", "seconds": 30}],
            "summary": {
                "deep": {"count": 4, "minutes": 80, "thirtyDayAvgMinutes": 75},
                "light": {"count": 25, "minutes": 250, "thirtyDayAvgMinutes": 240},
                "rem": {"count": 6, "minutes": 90, "thirtyDayAvgMinutes": 85},
                "wake": {"count": 24, "minutes": 60, "thirtyDayAvgMinutes": 55}
            }
        },
        "logId": 28923456789u64,
        "minutesAfterWakeup": 0,
        "minutesAsleep": 420,
        "startTime": "2020-09-07T22:10:00.000",
        "timeInBed": 480,
        "type": "stages"
    })
}

fn classic() -> Value {
    json!({
        "duration": 3600000,
        "levels": {
            "data": [
                {"dateTime": "2020-09-07T23:30:00.000", "level": "asleep", "seconds": "1800"},
                {"dateTime": "2020-09-08T00:00:00.000", "level": "restless", "seconds": 600},
                {"dateTime": "2020-09-08T00:10:00.000", "level": "awake", "seconds": 1200}
            ],
            "summary": {
                "asleep": {"count": 0, "minutes": 30},
                "awake": {"count": 1, "minutes": 20},
                "restless": {"count": 2, "minutes": 10}
            }
        },
        "startTime": "2020-09-07T23:30:00.000",
        "type": "classic"
    })
}

#[test]
fn appendix_a2_stages_is_byte_identical() {
    let expected = concat!(
        r#"{"start_time":"2020-09-07T22:10:00Z","end_time":"2020-09-08T06:10:00Z","duration":28800000,"#,
        r#""child_id":"5a62be07de34500146d9c544","#,
        r#""pattern":{"data_set":[{"start_time":"2020-09-07T22:10:00Z","name":"awake","duration":330000},"#,
        r#"{"start_time":"2020-09-07T22:15:30Z","name":"light","duration":1800000}],"#,
        r#""summary":{"deep":{"count":4,"duration":4800000},"light":{"count":25,"duration":15000000},"#,
        r#""rem":{"count":6,"duration":5400000},"awake":{"count":24,"duration":3600000}}},"#,
        r#""type":"stages"}"#
    );
    assert_eq!(serde_json::to_string(&sleep(&stages(), CHILD).unwrap()).unwrap(), expected);
}

#[test]
fn classic_sleep_is_byte_identical() {
    let expected = concat!(
        r#"{"start_time":"2020-09-07T23:30:00Z","end_time":"2020-09-08T00:30:00Z","duration":3600000,"#,
        r#""child_id":"5a62be07de34500146d9c544","#,
        r#""pattern":{"data_set":[{"start_time":"2020-09-07T23:30:00Z","name":"asleep","duration":1800000},"#,
        r#"{"start_time":"2020-09-08T00:00:00Z","name":"restless","duration":600000},"#,
        r#"{"start_time":"2020-09-08T00:10:00Z","name":"awake","duration":1200000}],"#,
        r#""summary":{"awake":{"count":1,"duration":1200000},"asleep":{"count":0,"duration":1800000},"#,
        r#""restless":{"count":2,"duration":600000}}},"#,
        r#""type":"classic"}"#
    );
    assert_eq!(serde_json::to_string(&sleep(&classic(), CHILD).unwrap()).unwrap(), expected);
}

/// What the OCARIoT consumers check: `Date(end_time) − Date(start_time) === duration`, in milliseconds.
fn times_match(object: &Value) -> bool {
    let ms =
        |key: &str| chrono::DateTime::parse_from_rfc3339(object[key].as_str().unwrap()).unwrap().timestamp_millis();
    ms("end_time") - ms("start_time") == object["duration"].as_i64().unwrap()
}

#[test]
fn a_night_of_fractional_seconds_ends_at_its_start_plus_its_duration() {
    let mut raw = stages();
    raw["startTime"] = json!("2020-09-07T22:10:00.500");
    raw["duration"] = json!(28_800_250);
    raw["levels"]["data"][0]["dateTime"] = json!("2020-09-07T22:10:00.500");
    raw["levels"]["data"][1]["dateTime"] = json!("2020-09-07T22:15:30.500");
    let out = sleep(&raw, CHILD).unwrap();
    // The start keeps the original's whole-second form (the consumers' de-duplication key); the end is the start
    // plus the duration, to the millisecond.
    assert_eq!(out["start_time"], json!("2020-09-07T22:10:00Z"));
    assert_eq!(out["end_time"], json!("2020-09-08T06:10:00.250Z"));
    assert!(times_match(&out));
    assert_eq!(out["pattern"]["data_set"][1]["start_time"], json!("2020-09-07T22:15:30Z"));
    assert!(times_match(&sleep(&stages(), CHILD).unwrap()));
    assert!(times_match(&sleep(&classic(), CHILD).unwrap()));
}

#[test]
fn missing_stage_is_malformed() {
    let mut raw = stages();
    raw["levels"]["summary"].as_object_mut().unwrap().remove("rem");
    assert_eq!(sleep(&raw, CHILD), Err(MalformedItem("missing sleep stage rem".into())));
}

#[test]
fn incomplete_classic_summary_is_read_as_stages() {
    let mut raw = classic();
    raw["levels"]["summary"].as_object_mut().unwrap().remove("restless");
    assert_eq!(sleep(&raw, CHILD), Err(MalformedItem("missing sleep stage deep".into())));
}

#[test]
fn seconds_are_parsed_like_parse_int() {
    let mut raw = stages();
    raw["levels"]["data"][0]["seconds"] = json!("30.9");
    assert_eq!(sleep(&raw, CHILD).unwrap()["pattern"]["data_set"][0]["duration"], json!(30000));
    raw["levels"]["data"][0]["seconds"] = json!("n/a");
    assert_eq!(sleep(&raw, CHILD), Err(MalformedItem("field levels.data[0].seconds is not an integer".into())));
}

#[test]
fn fractional_summary_minutes_become_whole_milliseconds() {
    let mut raw = stages();
    raw["levels"]["summary"]["deep"]["minutes"] = json!(0.5);
    let out = sleep(&raw, CHILD).unwrap();
    assert_eq!(serde_json::to_string(&out["pattern"]["summary"]["deep"]).unwrap(), r#"{"count":4,"duration":30000}"#);
}

#[test]
fn missing_levels_or_data_is_malformed() {
    let mut raw = stages();
    raw["levels"].as_object_mut().unwrap().remove("data");
    assert_eq!(sleep(&raw, CHILD), Err(MalformedItem("missing field levels.data".into())));
    let mut raw = stages();
    raw.as_object_mut().unwrap().remove("levels");
    assert_eq!(sleep(&raw, CHILD), Err(MalformedItem("missing field levels".into())));
}
