//! Tests of the Fitbit daily log transform: the original's bytes, and what it refuses.

use super::*;
use serde_json::json;

/// The logs as the consumers read them: their JSON, in the contract's key order.
fn daily_logs(series: &[Value], log_type: LogType, child_id: &str) -> (Vec<Value>, Vec<MalformedItem>) {
    let (logs, malformed) = super::daily_logs(series, log_type, child_id);
    (logs.iter().map(|log| serde_json::to_value(log).unwrap()).collect(), malformed)
}

const CHILD: &str = "5a62be07de34500146d9c544";

fn series(entries: &[(&str, &str)]) -> Vec<Value> {
    entries.iter().map(|(d, v)| json!({"dateTime": d, "value": v})).collect()
}

fn log_string(date: &str, value: &str, log_type: LogType) -> String {
    let (logs, malformed) = daily_logs(&series(&[(date, value)]), log_type, CHILD);
    assert!(malformed.is_empty());
    serde_json::to_string(&logs[0]).unwrap()
}

#[test]
fn log_type_names_and_order() {
    let names: Vec<_> = LogType::ALL.iter().map(LogType::name).collect();
    assert_eq!(names, ["steps", "calories", "active_minutes", "lightly_active_minutes", "sedentary_minutes"]);
}

#[test]
fn appendix_a4_logs_are_byte_identical() {
    let cases = [
        ("8423", LogType::Steps, "steps"),
        ("1804", LogType::Calories, "calories"),
        ("37", LogType::ActiveMinutes, "active_minutes"),
        ("212", LogType::LightlyActiveMinutes, "lightly_active_minutes"),
        ("655", LogType::SedentaryMinutes, "sedentary_minutes"),
    ];
    for (value, log_type, name) in cases {
        assert_eq!(
            log_string("2019-09-08", value, log_type),
            format!(r#"{{"child_id":"{CHILD}","date":"2019-09-08","value":"{value}","type":"{name}"}}"#)
        );
    }
}

#[test]
fn logs_keep_order_and_zero_days() {
    let (logs, malformed) = daily_logs(&series(&[("2019-09-08", "0"), ("2019-09-09", "12")]), LogType::Steps, CHILD);
    assert!(malformed.is_empty());
    assert_eq!(logs.len(), 2);
    assert_eq!(logs[0]["value"], json!("0"));
    assert_eq!(logs[1]["date"], json!("2019-09-09"));
}

#[test]
fn logs_without_string_date_or_value_are_skipped() {
    let input = vec![
        json!({"dateTime": "2019-09-08", "value": "1"}),
        json!({"value": "2"}),
        json!({"dateTime": "2019-09-10", "value": 3}),
        json!({"dateTime": "2019-09-11"}),
        json!("junk"),
        json!({"dateTime": "2019-09-13", "value": "6"}),
    ];
    let (logs, malformed) = daily_logs(&input, LogType::Calories, CHILD);
    assert_eq!(logs.len(), 2);
    assert_eq!(logs[1]["value"], json!("6"));
    assert_eq!(
        malformed,
        [
            MalformedItem("calories entry 1: no string dateTime".into()),
            MalformedItem("calories entry 2019-09-10: no string value".into()),
            MalformedItem("calories entry 2019-09-11: no string value".into()),
            MalformedItem("calories entry 4: no string dateTime".into()),
        ]
    );
}

#[test]
fn active_minutes_sums_as_strings() {
    let fairly = series(&[("2019-09-08", "10"), ("2019-09-09", "0")]);
    let very = series(&[("2019-09-08", "27"), ("2019-09-09", "0")]);
    let (merged, malformed) = active_minutes(&fairly, &very);
    assert!(malformed.is_empty());
    assert_eq!(
        serde_json::to_string(&merged).unwrap(),
        r#"[{"dateTime":"2019-09-08","value":"37"},{"dateTime":"2019-09-09","value":"0"}]"#
    );
    let (logs, _) = daily_logs(&merged, LogType::ActiveMinutes, CHILD);
    assert_eq!(
        serde_json::to_string(&logs[0]).unwrap(),
        format!(r#"{{"child_id":"{CHILD}","date":"2019-09-08","value":"37","type":"active_minutes"}}"#)
    );
}

#[test]
fn active_minutes_pairs_by_date_not_index() {
    let fairly = series(&[("2019-09-08", "1"), ("2019-09-09", "2"), ("2019-09-10", "3")]);
    let very = series(&[("2019-09-10", "30"), ("2019-09-08", "10"), ("2019-09-09", "20")]);
    let (merged, malformed) = active_minutes(&fairly, &very);
    assert!(malformed.is_empty());
    let values: Vec<_> = merged.iter().map(|m| m["value"].as_str().unwrap()).collect();
    assert_eq!(values, ["11", "22", "33"]);
    assert_eq!(merged[2]["dateTime"], json!("2019-09-10"));
}

#[test]
fn active_minutes_with_a_shorter_very_series_skips_the_unpaired_day() {
    let fairly = series(&[("2019-09-08", "1"), ("2019-09-09", "2")]);
    let very = series(&[("2019-09-08", "10")]);
    let (merged, malformed) = active_minutes(&fairly, &very);
    assert_eq!(merged, [json!({"dateTime": "2019-09-08", "value": "11"})]);
    assert_eq!(malformed, [MalformedItem("active_minutes 2019-09-09: no minutesVeryActive entry".into())]);
}

#[test]
fn active_minutes_with_a_longer_very_series_skips_the_unpaired_day() {
    let fairly = series(&[("2019-09-09", "2")]);
    let very = series(&[("2019-09-08", "10"), ("2019-09-09", "20")]);
    let (merged, malformed) = active_minutes(&fairly, &very);
    assert_eq!(merged, [json!({"dateTime": "2019-09-09", "value": "22"})]);
    assert_eq!(malformed, [MalformedItem("active_minutes 2019-09-08: no minutesFairlyActive entry".into())]);
}

#[test]
fn active_minutes_with_mismatched_dates_skips_both_sides() {
    let fairly = series(&[("2019-09-08", "1")]);
    let very = series(&[("2019-09-09", "2")]);
    let (merged, malformed) = active_minutes(&fairly, &very);
    assert!(merged.is_empty());
    assert_eq!(malformed.len(), 2);
}

#[test]
fn active_minutes_with_an_empty_side_yields_nothing() {
    let fairly = series(&[("2019-09-08", "1")]);
    assert_eq!(active_minutes(&fairly, &[]), (vec![], vec![]));
    assert_eq!(active_minutes(&[], &fairly), (vec![], vec![]));
}

#[test]
fn active_minutes_reports_values_that_are_not_integers() {
    let fairly = vec![json!({"dateTime": "2019-09-08", "value": "x"}), json!({"dateTime": "2019-09-09", "value": 4})];
    let very = vec![json!({"dateTime": "2019-09-08", "value": "1"}), json!({"dateTime": "2019-09-09", "value": "5"})];
    let (merged, malformed) = active_minutes(&fairly, &very);
    assert_eq!(merged, [json!({"dateTime": "2019-09-09", "value": "9"})]);
    assert_eq!(malformed, [MalformedItem("active_minutes 2019-09-08: value is not an integer".into())]);
}

#[test]
fn active_minutes_pairs_repeated_dates_one_to_one() {
    let fairly = series(&[("2019-09-08", "1"), ("2019-09-08", "2")]);
    let very = series(&[("2019-09-08", "10")]);
    let (merged, malformed) = active_minutes(&fairly, &very);
    assert_eq!(merged, [json!({"dateTime": "2019-09-08", "value": "11"})]);
    assert_eq!(malformed.len(), 1);
}
