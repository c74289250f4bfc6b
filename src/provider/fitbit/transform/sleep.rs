//! Fitbit sleep log (API v1.2) → OCARIoT `Sleep` (docs/decisions.md#published-payloads), the payload of
//! `SleepSyncEvent`.

use serde_json::Value;

use crate::domain::ocariot::{end_time, normalize_date, JsNumber, MalformedItem};
use crate::domain::ocariot::{Sleep, SleepPattern, SleepStage, SleepSummary, StageSummary};
use crate::provider::json::{get, js_parse_int, minutes_to_ms, number, string, truthy};

/// One Fitbit sleep log as an OCARIoT sleep.
pub fn sleep(raw: &Value, child_id: &str) -> Result<Sleep, MalformedItem> {
    if !raw.is_object() {
        return Err(MalformedItem("sleep is not an object".into()));
    }
    let start_raw = string(get(raw, "startTime"), "startTime")?;
    let start_time =
        normalize_date(start_raw).ok_or_else(|| MalformedItem(format!("invalid startTime {start_raw}")))?;
    let duration = number(get(raw, "duration"), "duration")?;
    let end_time = end_time(&start_time, &duration)?;
    let levels = get(raw, "levels").ok_or_else(|| MalformedItem("missing field levels".into()))?;

    let pattern = SleepPattern { data_set: data_set(levels)?, summary: summary(levels)? };
    Ok(Sleep {
        start_time,
        end_time,
        duration: JsNumber(duration),
        child_id: child_id.to_owned(),
        pattern,
        sleep_type: string(get(raw, "type"), "type")?.to_owned(),
    })
}

/// OCARIoT calls the stages-sleep "wake" level `awake`, the same word classic sleep uses.
fn level_name(fitbit: &str) -> &str {
    if fitbit == "wake" {
        "awake"
    } else {
        fitbit
    }
}

/// From `levels.data` only: `shortData` (brief wakes inside stages) was never part of the OCARIoT pattern.
fn data_set(levels: &Value) -> Result<Vec<SleepStage>, MalformedItem> {
    let data = get(levels, "data")
        .ok_or_else(|| MalformedItem("missing field levels.data".into()))?
        .as_array()
        .ok_or_else(|| MalformedItem("field levels.data is not an array".into()))?;
    data.iter()
        .enumerate()
        .map(|(i, entry)| {
            let date_time = string(get(entry, "dateTime"), format_args!("levels.data[{i}].dateTime"))?;
            let start_time = normalize_date(date_time)
                .ok_or_else(|| MalformedItem(format!("invalid levels.data[{i}].dateTime {date_time}")))?;
            let level = string(get(entry, "level"), format_args!("levels.data[{i}].level"))?;
            let seconds = get(entry, "seconds")
                .ok_or_else(|| MalformedItem(format!("missing field levels.data[{i}].seconds")))?;
            let ms = js_parse_int(seconds)
                .and_then(|s| s.checked_mul(1000))
                .ok_or_else(|| MalformedItem(format!("field levels.data[{i}].seconds is not an integer")))?;
            Ok(SleepStage { start_time, name: level_name(level).to_owned(), duration: JsNumber::from(ms) })
        })
        .collect()
}

/// Classic when all three classic parts are there; anything else is read as stages, as the original decided.
fn summary(levels: &Value) -> Result<SleepSummary, MalformedItem> {
    let summary = get(levels, "summary").ok_or_else(|| MalformedItem("missing field levels.summary".into()))?;
    let classic = ["asleep", "awake", "restless"].iter().all(|k| truthy(get(summary, k)));
    let part = |fitbit: &str| -> Result<StageSummary, MalformedItem> {
        let part = get(summary, fitbit)
            .filter(|p| p.is_object())
            .ok_or_else(|| MalformedItem(format!("missing sleep stage {fitbit}")))?;
        Ok(StageSummary {
            count: JsNumber(number(get(part, "count"), format_args!("levels.summary.{fitbit}.count"))?),
            duration: JsNumber(minutes_to_ms(get(part, "minutes"), format_args!("levels.summary.{fitbit}.minutes"))?),
        })
    };
    // Fitbit's stage keys, in output order; the stages-sleep `wake` is OCARIoT's `awake`.
    Ok(match classic {
        true => SleepSummary::Classic { awake: part("awake")?, asleep: part("asleep")?, restless: part("restless")? },
        false => {
            SleepSummary::Stages { deep: part("deep")?, light: part("light")?, rem: part("rem")?, awake: part("wake")? }
        }
    })
}

#[cfg(test)]
mod tests {
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
        assert_eq!(
            serde_json::to_string(&out["pattern"]["summary"]["deep"]).unwrap(),
            r#"{"count":4,"duration":30000}"#
        );
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
}
