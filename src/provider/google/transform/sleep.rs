//! Google `sleep` data points → OCARIoT `Sleep` (the table in this module's parent), and whether a night is still
//! being processed.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;

use super::{array, int64, object, payload, span_ms, timestamp, wall_clock, Instant, Session, STAGE_START};
use crate::domain::ocariot::{JsNumber, MalformedItem, Sleep, SleepPattern, SleepStage, SleepSummary, StageSummary};
use crate::provider::json::{get, missing, string};

/// Google `sleep` data point → Sleep.
pub fn sleep(point: &Value, child_id: &str) -> Result<Sleep, MalformedItem> {
    let sleep = payload(point, "sleep")?;
    let interval = object(get(sleep, "interval"), "sleep.interval")?;
    let session = Session::read(interval, "sleep.interval")?;
    // (Google stage type, OCARIoT summary key), in Fitbit's output order. Stages cover the whole session; a session
    // without them has no pattern to report.
    let stages = array(get(sleep, "stages"), "sleep.stages")?;
    if stages.is_empty() {
        return Err(missing("sleep.stages"));
    }
    let sleep_type = match sleep_type(sleep, stages)? {
        "STAGES" => "stages",
        "CLASSIC" => "classic",
        other => return Err(MalformedItem(format!("field sleep.type has an unsupported value {other}"))),
    };
    let data_set = stages
        .iter()
        .enumerate()
        .map(|(i, stage)| stage_entry(stage, i, session.offset))
        .collect::<Result<Vec<_>, _>>()?;

    let summary = sleep_summary(sleep, stages, sleep_type == "classic")?;
    Ok(Sleep {
        start_time: session.start_time,
        end_time: session.end_time,
        duration: JsNumber::from(session.duration),
        child_id: child_id.to_owned(),
        pattern: SleepPattern { data_set, summary },
        sleep_type: sleep_type.into(),
    })
}

/// `sleep.type`, or when it is absent (it is optional, and `SLEEP_TYPE_UNSPECIFIED` is left out), the type the stages
/// show: LIGHT, DEEP or REM only occur in STAGES sleep, ASLEEP and RESTLESS only in CLASSIC sleep.
fn sleep_type<'a>(sleep: &'a Value, stages: &[Value]) -> Result<&'a str, MalformedItem> {
    if let Some(declared) = get(sleep, "type") {
        return string(Some(declared), "sleep.type");
    }
    let has = |types: &[&str]| {
        stages.iter().any(|s| get(s, "type").and_then(Value::as_str).is_some_and(|t| types.contains(&t)))
    };
    match (has(&["LIGHT", "DEEP", "REM"]), has(&["ASLEEP", "RESTLESS"])) {
        (true, false) => Ok("STAGES"),
        (false, true) => Ok("CLASSIC"),
        _ => Err(missing("sleep.type")),
    }
}

/// How long after its end a night that Google still marks as processing is held back. Past it the night is taken as
/// final: a source that never sets `processed` must not lose its nights once they leave the sync's 7-day overlap.
pub const SLEEP_PROCESSING_GRACE: TimeDelta = TimeDelta::hours(72);

/// Whether Google is still processing a sleep point (docs/google-health.md#unfinished-sleep): `metadata.processed` is
/// not `true` (proto3 JSON leaves a `false` out, so an absent flag means false), or `stagesStatus` names a pending
/// state, and the night ended less than [`SLEEP_PROCESSING_GRACE`] before `now`. Such a night is published by a later
/// sync, once final.
pub fn sleep_unfinished(point: &Value, now: DateTime<Utc>) -> bool {
    let Some(sleep) = point.get("sleep") else { return false };
    let metadata = sleep.get("metadata");
    let processed = metadata.and_then(|m| m.get("processed")).and_then(Value::as_bool) == Some(true);
    let status = metadata.and_then(|m| m.get("stagesStatus")).and_then(Value::as_str).unwrap_or_default();
    // The enum may grow (docs/google-health.md#tolerance): a value that says processing is under way counts as pending.
    let pending = (status.contains("PENDING") || status.contains("PROCESSING") || status.contains("IN_PROGRESS"))
        && status != "PROCESSING_INTERNAL_ERROR";
    if processed && !pending {
        return false;
    }
    let ended = sleep.get("interval").and_then(|i| i.get("endTime")).and_then(Value::as_str);
    match ended.and_then(|t| DateTime::parse_from_rfc3339(t).ok()) {
        Some(end) => now - end.with_timezone(&Utc) < SLEEP_PROCESSING_GRACE,
        // Without an end the transform rejects the point anyway.
        None => false,
    }
}

/// Google's sleep stage types as OCARIoT pattern names (Fitbit's `wake` was already output as `awake`).
fn stage_name(stage_type: &str) -> Option<&'static str> {
    Some(match stage_type {
        "AWAKE" => "awake",
        "LIGHT" => "light",
        "DEEP" => "deep",
        "REM" => "rem",
        "ASLEEP" => "asleep",
        "RESTLESS" => "restless",
        _ => return None,
    })
}

fn stage_entry(stage: &Value, i: usize, session_offset: TimeDelta) -> Result<SleepStage, MalformedItem> {
    let prefix = format!("sleep.stages[{i}]");
    let start = Instant::read(stage, &prefix, STAGE_START, Some(session_offset))?;
    let end = timestamp(get(stage, "endTime"), &format!("{prefix}.endTime"))?;
    let stage_type = string(get(stage, "type"), format!("{prefix}.type"))?;
    let name = stage_name(stage_type)
        .ok_or_else(|| MalformedItem(format!("field {prefix}.type has an unsupported value {stage_type}")))?;
    Ok(SleepStage {
        start_time: wall_clock(start.local, &format!("{prefix}.startTime"))?,
        name: name.into(),
        duration: JsNumber::from(span_ms(start.physical, end, &prefix)?),
    })
}

/// `pattern.summary` from `summary.stagesSummary`, one `{count, duration}` per stage type of the sleep type.
fn sleep_summary(sleep: &Value, stages: &[Value], classic: bool) -> Result<SleepSummary, MalformedItem> {
    let entries = match get(sleep, "summary") {
        None => &[][..],
        Some(summary) => match get(object(Some(summary), "sleep.summary")?, "stagesSummary") {
            None => &[][..],
            Some(entries) => array(Some(entries), "sleep.summary.stagesSummary")?,
        },
    };
    let short_awakenings = match get(sleep, "shortAwakenings") {
        None => &[][..],
        Some(short) => array(Some(short), "sleep.shortAwakenings")?,
    };
    let is_type = |v: &Value, wanted: &str| get(v, "type").and_then(Value::as_str) == Some(wanted);

    let part = |google: &str| -> Result<StageSummary, MalformedItem> {
        let (count, minutes) = match entries.iter().position(|e| is_type(e, google)) {
            Some(i) => {
                let entry = &entries[i];
                // proto3 JSON leaves zero fields out.
                let field = |key: &str| match get(entry, key) {
                    None => Ok(0),
                    Some(v) => int64(Some(v), &format!("sleep.summary.stagesSummary[{i}].{key}")),
                };
                (field("count")?, field("minutes")?)
            }
            // No entry: a true zero only if the night has no stretch of that type; else the summary is incomplete.
            None if stages.iter().chain(short_awakenings).any(|s| is_type(s, google)) => {
                return Err(missing(format!("sleep.summary.stagesSummary[type={google}]")));
            }
            None => (0, 0),
        };
        let duration = minutes
            .checked_mul(60_000)
            .ok_or_else(|| MalformedItem(format!("sleep stage {google} minutes out of range")))?;
        Ok(StageSummary { count: JsNumber::from(count), duration: JsNumber::from(duration) })
    };
    // Google's stage types, in the order of their OCARIoT keys.
    Ok(match classic {
        true => SleepSummary::Classic { awake: part("AWAKE")?, asleep: part("ASLEEP")?, restless: part("RESTLESS")? },
        false => SleepSummary::Stages {
            deep: part("DEEP")?,
            light: part("LIGHT")?,
            rem: part("REM")?,
            awake: part("AWAKE")?,
        },
    })
}
