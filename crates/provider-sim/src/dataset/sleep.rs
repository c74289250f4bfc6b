//! Sleep logs in Fitbit's v1.2 shape: one main sleep every night, from the evening before to the morning of the date it
//! is logged under. Most nights have sleep stages; about one in five is "classic" (asleep, restless, awake), as when
//! the tracker could not read stages, because ds-agent maps the two summaries differently.

use chrono::{Duration, NaiveDate, NaiveDateTime};
use serde_json::{json, Value};

use super::profile::Profile;
use crate::seed::Dice;

const LOG_ID_BASE: i64 = 20_000_000_000;
/// Fitbit scores sleep in 30-second epochs.
const EPOCH_SECS: i64 = 30;

pub(super) fn night(user: &str, profile: &Profile, day: NaiveDate) -> Value {
    let mut dice = Dice::new(&[user, "sleep", &day.to_string()]);
    let classic = dice.one_in(5);
    let evening = day.pred_opt().unwrap_or(day).and_hms_opt(20, 30, 0).unwrap_or_default();
    let start = evening + Duration::seconds(dice.between(0, 300) * EPOCH_SECS);
    let minutes_in_bed = dice.between(8 * 60, 10 * 60 + 30);
    let epochs = minutes_in_bed * 60 / EPOCH_SECS;
    let sleep = if classic { classic_night(&mut dice, start, epochs) } else { stages_night(&mut dice, start, epochs) };

    let efficiency = (sleep.minutes_asleep * 100 / minutes_in_bed).min(100);
    json!({
        "dateOfSleep": day.to_string(),
        "duration": minutes_in_bed * 60_000,
        "efficiency": efficiency,
        "endTime": timestamp(start + Duration::minutes(minutes_in_bed)),
        "infoCode": 0,
        "isMainSleep": true,
        "levels": sleep.levels,
        "logId": profile.log_id(LOG_ID_BASE, day, 0),
        "minutesAfterWakeup": sleep.minutes_after_wakeup,
        "minutesAsleep": sleep.minutes_asleep,
        "minutesAwake": sleep.minutes_awake,
        "minutesToFallAsleep": sleep.minutes_to_fall_asleep,
        "startTime": timestamp(start),
        "timeInBed": minutes_in_bed,
        "type": if classic { "classic" } else { "stages" },
    })
}

/// What differs between a stages night and a classic one.
struct Night {
    levels: Value,
    minutes_asleep: i64,
    minutes_awake: i64,
    minutes_to_fall_asleep: i64,
    minutes_after_wakeup: i64,
}

fn stages_night(dice: &mut Dice, start: NaiveDateTime, epochs: i64) -> Night {
    let final_wake = dice.between(2, 10);
    let mut night = Segments::with_room(epochs - final_wake);
    night.push("wake", dice.between(4, 20));
    while night.room > 0 {
        for (level, low, high) in [("light", 20, 80), ("deep", 20, 90), ("light", 10, 60), ("rem", 10, 60)] {
            night.push(level, dice.between(low, high));
        }
        if dice.one_in(3) {
            // Fitbit lists wakes of 3 minutes or more in `data`, shorter ones in `shortData`.
            night.push("wake", dice.between(6, 12));
        }
    }
    night.room += final_wake;
    night.push("wake", final_wake);

    let levels = ["deep", "light", "rem", "wake"];
    let mut seconds = levels.map(|level| night.seconds_of(level));
    let mut counts = levels.map(|level| night.count_of(level));
    let mut short_data = Vec::new();
    let mut at = start;
    for &(level, length) in &night.list {
        if level != "wake" && length >= 6 && dice.one_in(3) {
            let offset = dice.between(1, length - 3);
            let short = dice.between(1, (length - offset - 1).min(5)) * EPOCH_SECS;
            let begins = at + Duration::seconds(offset * EPOCH_SECS);
            short_data.push(json!({"dateTime": timestamp(begins), "level": "wake", "seconds": short}));
            // The short wake is taken out of the stage it interrupts.
            let stage = levels.iter().position(|l| *l == level).unwrap_or(0);
            seconds[stage] -= short;
            seconds[3] += short;
            counts[3] += 1;
        }
        at += Duration::seconds(length * EPOCH_SECS);
    }

    let summary: serde_json::Map<String, Value> = levels
        .iter()
        .enumerate()
        .map(|(i, level)| {
            let average = dice.between(seconds[i] / 60 * 8 / 10, seconds[i] / 60 * 12 / 10);
            let entry = json!({"count": counts[i], "minutes": seconds[i] / 60, "thirtyDayAvgMinutes": average});
            (level.to_string(), entry)
        })
        .collect();
    Night {
        levels: json!({"data": night.data(start), "shortData": short_data, "summary": summary}),
        minutes_asleep: (seconds[0] + seconds[1] + seconds[2]) / 60,
        minutes_awake: seconds[3] / 60,
        minutes_to_fall_asleep: 0,
        minutes_after_wakeup: 0,
    }
}

fn classic_night(dice: &mut Dice, start: NaiveDateTime, epochs: i64) -> Night {
    let final_awake = dice.between(2, 6);
    let mut night = Segments::with_room(epochs - final_awake);
    let falling_asleep = dice.between(2, 20);
    night.push("awake", falling_asleep);
    while night.room > 0 {
        night.push("asleep", dice.between(40, 180));
        if dice.one_in(2) {
            night.push("restless", dice.between(2, 10));
        } else {
            night.push("awake", dice.between(2, 6));
        }
    }
    night.room += final_awake;
    night.push("awake", final_awake);
    // The loop may have ended on an awake stretch that the final one extended.
    let after_wakeup = night.list.last().map_or(0, |&(_, length)| length);

    let summary: serde_json::Map<String, Value> = ["asleep", "awake", "restless"]
        .iter()
        .map(|level| {
            let entry = json!({"count": night.count_of(level), "minutes": night.seconds_of(level) / 60});
            (level.to_string(), entry)
        })
        .collect();
    Night {
        levels: json!({"data": night.data(start), "summary": summary}),
        minutes_asleep: night.seconds_of("asleep") / 60,
        minutes_awake: (night.seconds_of("awake") + night.seconds_of("restless")) / 60,
        minutes_to_fall_asleep: falling_asleep * EPOCH_SECS / 60,
        minutes_after_wakeup: after_wakeup * EPOCH_SECS / 60,
    }
}

/// A night as consecutive (level, epochs) stretches filling a fixed time in bed.
struct Segments {
    list: Vec<(&'static str, i64)>,
    room: i64,
}

impl Segments {
    fn with_room(room: i64) -> Segments {
        Segments { list: Vec::new(), room }
    }

    /// Appends a stretch, cut to the room left; a stretch of the same level as the last one extends it.
    fn push(&mut self, level: &'static str, epochs: i64) {
        let epochs = epochs.min(self.room);
        if epochs <= 0 {
            return;
        }
        self.room -= epochs;
        match self.list.last_mut() {
            Some((last, length)) if *last == level => *length += epochs,
            _ => self.list.push((level, epochs)),
        }
    }

    fn seconds_of(&self, level: &str) -> i64 {
        self.list.iter().filter(|(l, _)| *l == level).map(|(_, length)| length * EPOCH_SECS).sum()
    }

    fn count_of(&self, level: &str) -> usize {
        self.list.iter().filter(|(l, _)| *l == level).count()
    }

    fn data(&self, start: NaiveDateTime) -> Vec<Value> {
        let mut at = start;
        self.list
            .iter()
            .map(|&(level, length)| {
                let entry = json!({"dateTime": timestamp(at), "level": level, "seconds": length * EPOCH_SECS});
                at += Duration::seconds(length * EPOCH_SECS);
                entry
            })
            .collect()
    }
}

/// Fitbit's local timestamps in sleep logs: milliseconds, no offset.
fn timestamp(at: NaiveDateTime) -> String {
    at.format("%Y-%m-%dT%H:%M:%S.000").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stretches_fill_the_whole_night() {
        let profile = Profile::of("night");
        for offset in 0..60 {
            let day = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap() + Duration::days(offset);
            let log = night("night", &profile, day);
            let data = log["levels"]["data"].as_array().unwrap();
            let seconds: i64 = data.iter().map(|entry| entry["seconds"].as_i64().unwrap()).sum();
            assert_eq!(seconds * 1000, log["duration"].as_i64().unwrap());
            let levels = data.iter().map(|entry| entry["level"].as_str().unwrap());
            let allowed: &[&str] = if log["type"] == "classic" {
                &["asleep", "restless", "awake"]
            } else {
                &["wake", "light", "deep", "rem"]
            };
            assert!(levels.clone().all(|level| allowed.contains(&level)));
        }
    }
}
