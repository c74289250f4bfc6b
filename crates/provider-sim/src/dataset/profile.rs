//! The traits of a synthetic child that do not change from day to day, so that daily values vary around them instead
//! of jumping between unrelated children.

use chrono::{DateTime, NaiveDate};

use crate::seed::{fnv1a, Dice};

pub(super) struct Profile {
    pub height_m: f64,
    pub weight_kg: f64,
    pub body_fat: f64,
    pub basal_calories: i64,
    pub max_heart_rate: i64,
    /// Spreads log ids of different users apart, so that a mix-up between children shows in tests.
    id_block: i64,
}

impl Profile {
    pub(super) fn of(user: &str) -> Profile {
        let mut dice = Dice::new(&[user, "profile"]);
        let height_m = 1.25 + 0.30 * dice.unit();
        let bmi = 15.0 + 6.0 * dice.unit();
        Profile {
            height_m,
            weight_kg: bmi * height_m * height_m,
            body_fat: 15.0 + 8.0 * dice.unit(),
            basal_calories: dice.between(1050, 1350),
            max_heart_rate: dice.between(200, 212),
            id_block: (fnv1a(&[user]) % 1000) as i64,
        }
    }

    /// A log id unique for this user among logs of the same `base` (one per kind), stable for a day and index.
    pub(super) fn log_id(&self, base: i64, day: NaiveDate, index: i64) -> i64 {
        base + self.id_block * 1_000_000 + days_since_epoch(day) * 10 + index
    }
}

pub(super) fn days_since_epoch(day: NaiveDate) -> i64 {
    (day - DateTime::UNIX_EPOCH.date_naive()).num_days()
}
