//! Tests of the Fitbit activity transform: the original's bytes, and what it refuses.

use super::*;
use serde_json::json;

/// The object as the consumers read it: its JSON, in the contract's key order.
fn physical_activity(raw: &Value, child_id: &str) -> Result<Value, MalformedItem> {
    super::physical_activity(raw, child_id).map(|object| serde_json::to_value(object).unwrap())
}

const CHILD: &str = "5a62be07de34500146d9c544";

/// The Fitbit activity of Appendix A.1.
fn a1() -> Value {
    serde_json::from_str(
        r#"{"logId":22150869470,"activityName":"Walk","startTime":"2019-03-28T15:03:11.000-03:00","duration":1800000,
            "calories":154,"steps":2056,"distance":1.5,"distanceUnit":"Kilometer","averageHeartRate":107,
            "activityLevel":[{"minutes":1,"name":"sedentary"},{"minutes":5,"name":"lightly"},{"minutes":10,"name":"fairly"},{"minutes":14,"name":"very"}],
            "heartRateZones":[{"name":"Out of Range","min":30,"max":94,"minutes":2},{"name":"Fat Burn","min":94,"max":131,"minutes":25},
                              {"name":"Cardio","min":131,"max":159,"minutes":3},{"name":"Peak","min":159,"max":220,"minutes":0}]}"#,
    )
    .unwrap()
}

fn to_string(v: &Value) -> String {
    serde_json::to_string(v).unwrap()
}

#[test]
fn appendix_a1_is_byte_identical() {
    let expected = concat!(
        r#"{"start_time":"2019-03-28T15:03:11Z","end_time":"2019-03-28T15:33:11Z","duration":1800000,"#,
        r#""child_id":"5a62be07de34500146d9c544","name":"Walk","calories":154,"steps":2056,"distance":1500,"#,
        r#""levels":[{"name":"sedentary","duration":60000},{"name":"lightly","duration":300000},"#,
        r#"{"name":"fairly","duration":600000},{"name":"very","duration":840000}],"#,
        r#""heart_rate":{"average":107,"out_of_range_zone":{"min":30,"max":94,"duration":120000},"#,
        r#""fat_burn_zone":{"min":94,"max":131,"duration":1500000},"#,
        r#""cardio_zone":{"min":131,"max":159,"duration":180000},"#,
        r#""peak_zone":{"min":159,"max":220,"duration":0}}}"#
    );
    assert_eq!(to_string(&physical_activity(&a1(), CHILD).unwrap()), expected);
}

#[test]
fn an_activity_of_fractional_seconds_ends_at_its_start_plus_its_duration() {
    let mut raw = a1();
    raw["duration"] = json!(2_712_345);
    let out = physical_activity(&raw, CHILD).unwrap();
    assert_eq!(out["start_time"], json!("2019-03-28T15:03:11Z"));
    assert_eq!(out["end_time"], json!("2019-03-28T15:48:23.345Z"));
    assert_eq!(out["duration"], json!(2_712_345));
    let ms = |key: &str| chrono::DateTime::parse_from_rfc3339(out[key].as_str().unwrap()).unwrap().timestamp_millis();
    assert_eq!(ms("end_time") - ms("start_time"), 2_712_345, "what the OCARIoT consumers check");
    // The rest of the object is the whole-second one's, byte for byte.
    let whole = to_string(&physical_activity(&a1(), CHILD).unwrap());
    let fractional = to_string(&out);
    assert_eq!(fractional.replace("15:48:23.345Z", "15:33:11Z").replace("2712345", "1800000"), whole);
}

#[test]
fn a_unit_other_than_kilometer_is_miles() {
    let mut raw = a1();
    raw["distance"] = json!(1);
    raw.as_object_mut().unwrap().remove("distanceUnit");
    assert_eq!(physical_activity(&raw, CHILD).unwrap()["distance"], json!(1609.344));
    raw["distanceUnit"] = json!("Mile");
    raw["distance"] = json!(1.5);
    assert_eq!(to_string(&physical_activity(&raw, CHILD).unwrap()["distance"]), "2414.016");
    raw["distance"] = json!(2);
    raw["distanceUnit"] = json!("Kilometer");
    assert_eq!(to_string(&physical_activity(&raw, CHILD).unwrap()["distance"]), "2000");
}

#[test]
fn zero_or_absent_distance_is_omitted() {
    let mut raw = a1();
    raw["distance"] = json!(0);
    assert!(physical_activity(&raw, CHILD).unwrap().get("distance").is_none());
    raw["distance"] = json!(0.0);
    assert!(physical_activity(&raw, CHILD).unwrap().get("distance").is_none());
    raw.as_object_mut().unwrap().remove("distance");
    assert!(physical_activity(&raw, CHILD).unwrap().get("distance").is_none());
}

#[test]
fn missing_steps_are_omitted_and_key_order_kept() {
    let mut raw = a1();
    raw.as_object_mut().unwrap().remove("steps");
    let out = physical_activity(&raw, CHILD).unwrap();
    let keys: Vec<_> = out.as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        keys,
        ["start_time", "end_time", "duration", "child_id", "name", "calories", "distance", "levels", "heart_rate"]
    );
}

#[test]
fn zero_steps_are_kept() {
    let mut raw = a1();
    raw["steps"] = json!(0);
    assert_eq!(physical_activity(&raw, CHILD).unwrap()["steps"], json!(0));
}

#[test]
fn heart_rate_needs_both_average_and_zones() {
    let mut raw = a1();
    raw.as_object_mut().unwrap().remove("averageHeartRate");
    assert!(physical_activity(&raw, CHILD).unwrap().get("heart_rate").is_none());
    let mut raw = a1();
    raw.as_object_mut().unwrap().remove("heartRateZones");
    assert!(physical_activity(&raw, CHILD).unwrap().get("heart_rate").is_none());
}

#[test]
fn missing_heart_rate_zone_is_malformed() {
    let mut raw = a1();
    raw["heartRateZones"].as_array_mut().unwrap().remove(2);
    assert_eq!(physical_activity(&raw, CHILD), Err(MalformedItem("missing heart rate zone Cardio".into())));
}

#[test]
fn missing_activity_level_is_malformed() {
    let mut raw = a1();
    raw.as_object_mut().unwrap().remove("activityLevel");
    assert_eq!(physical_activity(&raw, CHILD), Err(MalformedItem("missing field activityLevel".into())));
}

#[test]
fn bad_fields_are_malformed() {
    let mut raw = a1();
    raw["activityLevel"][1].as_object_mut().unwrap().remove("minutes");
    assert_eq!(physical_activity(&raw, CHILD), Err(MalformedItem("missing field activityLevel[1].minutes".into())));
    let mut raw = a1();
    raw["calories"] = json!("154");
    assert_eq!(physical_activity(&raw, CHILD), Err(MalformedItem("field calories is not a number".into())));
    let mut raw = a1();
    raw["startTime"] = json!("yesterday");
    assert!(physical_activity(&raw, CHILD).is_err());
    assert!(physical_activity(&json!([]), CHILD).is_err());
}

#[test]
fn fractional_minutes_become_whole_milliseconds() {
    let mut raw = a1();
    raw["activityLevel"] = json!([{"minutes": 0.5, "name": "sedentary"}]);
    let out = physical_activity(&raw, CHILD).unwrap();
    assert_eq!(to_string(&out["levels"]), r#"[{"name":"sedentary","duration":30000}]"#);
}

#[test]
fn end_time_crosses_midnight() {
    let mut raw = a1();
    raw["startTime"] = json!("2019-03-28T23:45:00.000-03:00");
    let out = physical_activity(&raw, CHILD).unwrap();
    assert_eq!(out["start_time"], json!("2019-03-28T23:45:00Z"));
    assert_eq!(out["end_time"], json!("2019-03-29T00:15:00Z"));
}
