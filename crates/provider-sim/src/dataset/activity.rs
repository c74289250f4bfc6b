//! Activity logs: something on about one day in three, occasionally two things that day. The kinds differ in which
//! optional fields they carry (no steps for a swim, no distance for a match), and about one log in four has no heart
//! rate, because ds-agent must handle every one of those absences.

use chrono::NaiveDate;
use serde_json::{json, Map, Value};

use super::profile::Profile;
use super::round;
use crate::seed::Dice;

const LOG_ID_BASE: i64 = 30_000_000_000;

struct Kind {
    name: &'static str,
    steps_per_minute: Option<i64>,
    km_per_hour: Option<f64>,
    calories_per_minute: f64,
}

const KINDS: [Kind; 6] = [
    Kind { name: "Walk", steps_per_minute: Some(100), km_per_hour: Some(4.5), calories_per_minute: 4.0 },
    Kind { name: "Run", steps_per_minute: Some(150), km_per_hour: Some(8.5), calories_per_minute: 9.0 },
    Kind { name: "Bike", steps_per_minute: None, km_per_hour: Some(12.0), calories_per_minute: 6.0 },
    Kind { name: "Swim", steps_per_minute: None, km_per_hour: None, calories_per_minute: 8.0 },
    Kind { name: "Soccer", steps_per_minute: Some(110), km_per_hour: None, calories_per_minute: 7.0 },
    Kind { name: "Aerobic Workout", steps_per_minute: Some(60), km_per_hour: None, calories_per_minute: 6.0 },
];

pub(super) fn on(user: &str, profile: &Profile, day: NaiveDate) -> Vec<Value> {
    let date = day.to_string();
    let mut dice = Dice::new(&[user, "activity", &date]);
    if !dice.one_in(3) {
        return Vec::new();
    }
    let count = if dice.one_in(5) { 2 } else { 1 };
    // Minutes after midnight; the latest possible end (13:00 + 75 + 240 + 75) stays well before midnight.
    let mut start = dice.between(7 * 60, 13 * 60);
    (0..count)
        .map(|index| {
            let minutes = dice.between(15, 75);
            let log = one(&mut dice, profile, day, index, start, minutes);
            start += minutes + dice.between(60, 240);
            log
        })
        .collect()
}

fn one(dice: &mut Dice, profile: &Profile, day: NaiveDate, index: i64, start: i64, minutes: i64) -> Value {
    let kind = &KINDS[dice.between(0, KINDS.len() as i64 - 1) as usize];
    let duration_ms = minutes * 60_000;

    let sedentary = dice.between(0, minutes / 8);
    let very = dice.between(0, (minutes - sedentary) / 2);
    let fairly = dice.between(0, minutes - sedentary - very);
    let lightly = minutes - sedentary - very - fairly;
    let levels = [("sedentary", sedentary), ("lightly", lightly), ("fairly", fairly), ("very", very)]
        .map(|(name, minutes)| json!({"minutes": minutes, "name": name}));

    let heart_rate = (!dice.one_in(4)).then(|| {
        let peak = dice.between(0, minutes / 10);
        let cardio = dice.between(0, (minutes - peak) / 3);
        let fat_burn = dice.between(0, minutes - peak - cardio);
        let out_of_range = minutes - peak - cardio - fat_burn;
        let max = profile.max_heart_rate;
        let (fat_burn_min, cardio_min, peak_min) = (max / 2, max * 69 / 100, max * 84 / 100);
        let zones = [
            ("Out of Range", 30, fat_burn_min, out_of_range),
            ("Fat Burn", fat_burn_min, cardio_min, fat_burn),
            ("Cardio", cardio_min, peak_min, cardio),
            ("Peak", peak_min, 220, peak),
        ]
        .map(|(name, min, max, minutes)| json!({"max": max, "min": min, "minutes": minutes, "name": name}));
        (dice.between(95, 150), zones)
    });
    let calories = ((kind.calories_per_minute * minutes as f64) as i64 + dice.between(-10, 10)).max(1);
    let steps = kind.steps_per_minute.map(|per_minute| (per_minute * minutes + dice.between(-50, 50)).max(0));
    let distance = kind.km_per_hour.map(|speed| round(speed * minutes as f64 / 60.0 * (0.9 + 0.2 * dice.unit()), 2));
    let start_time = format!("{day}T{:02}:{:02}:{:02}.000-03:00", start / 60, start % 60, dice.between(0, 59));

    // Keys in Fitbit's (alphabetical) order; optional ones are left out, not null, as Fitbit does.
    let mut log = Map::new();
    log.insert("activeDuration".into(), json!(duration_ms));
    log.insert("activityLevel".into(), json!(levels));
    log.insert("activityName".into(), json!(kind.name));
    if let Some((average, _)) = &heart_rate {
        log.insert("averageHeartRate".into(), json!(average));
    }
    log.insert("calories".into(), json!(calories));
    if let Some(distance) = distance {
        log.insert("distance".into(), json!(distance));
    }
    log.insert("distanceUnit".into(), json!("Kilometer"));
    log.insert("duration".into(), json!(duration_ms));
    if let Some((_, zones)) = heart_rate {
        log.insert("heartRateZones".into(), json!(zones));
    }
    log.insert("logId".into(), json!(profile.log_id(LOG_ID_BASE, day, index)));
    log.insert("startTime".into(), json!(start_time));
    if let Some(steps) = steps {
        log.insert("steps".into(), json!(steps));
    }
    Value::Object(log)
}
