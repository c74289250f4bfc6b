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
mod tests;
