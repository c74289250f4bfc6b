//! Weight logs as an Aria scale records them: a morning weigh-in about every third day.

use chrono::{NaiveDate, NaiveTime};
use serde_json::{json, Map, Value};

use super::profile::{days_since_epoch, Profile};
use super::round;
use crate::seed::Dice;

pub(super) fn on(user: &str, profile: &Profile, day: NaiveDate) -> Option<Value> {
    let date = day.to_string();
    let mut dice = Dice::new(&[user, "weight", &date]);
    if !dice.one_in(3) {
        return None;
    }
    let seconds = dice.between(6 * 3600 + 30 * 60, 8 * 3600 + 30 * 60) as u32;
    let time = NaiveTime::from_num_seconds_from_midnight_opt(seconds, 0)?;
    // A slow seasonal swing plus scale noise, around the child's usual weight.
    let seasonal = 1.2 * (days_since_epoch(day) as f64 / 45.0).sin();
    let weight = round(profile.weight_kg + seasonal + 0.6 * dice.unit() - 0.3, 1);
    let bmi = round(weight / (profile.height_m * profile.height_m), 2);
    let fat = (!dice.one_in(4)).then(|| round(profile.body_fat + 2.0 * dice.unit() - 1.0, 1));

    let mut log = Map::new();
    log.insert("bmi".into(), json!(bmi));
    log.insert("date".into(), json!(date));
    if let Some(fat) = fat {
        log.insert("fat".into(), json!(fat));
    }
    // Fitbit's weight log ids are the measurement time in epoch milliseconds.
    log.insert("logId".into(), json!(day.and_time(time).and_utc().timestamp_millis()));
    log.insert("source".into(), json!("Aria"));
    log.insert("time".into(), json!(time.format("%H:%M:%S").to_string()));
    log.insert("weight".into(), json!(weight));
    Some(Value::Object(log))
}
