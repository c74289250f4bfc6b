//! Daily totals from the tracker, one value per resource per day. A few days the tracker was not worn: zero steps, a
//! whole sedentary day and basal calories only, as Fitbit reports them. A few others it was worn but the child did not
//! move (a sick day): zero steps and active minutes, basal calories, 10 to 15 sedentary hours. Google tells the two
//! apart (no bucket for the first, zero sums for the second, docs/google-health.md#true-zeros); Fitbit's zeros do not.

use chrono::NaiveDate;

use super::profile::Profile;
use crate::seed::Dice;

/// The resources of `/activities/tracker/<resource>/date/…`, in the order of `day`'s values.
pub const SERIES_RESOURCES: [&str; 6] =
    ["steps", "calories", "minutesSedentary", "minutesLightlyActive", "minutesFairlyActive", "minutesVeryActive"];

/// Whether the tracker was worn on a day with these totals: an unworn day is all sedentary without a step.
pub(crate) fn worn(totals: &[i64; 6]) -> bool {
    !(totals[0] == 0 && totals[2] == 1440)
}

/// Whether the tracker was worn on a day with these totals but counted no step.
pub(super) fn still(totals: &[i64; 6]) -> bool {
    worn(totals) && totals[0] == 0
}

pub(super) fn day(user: &str, profile: &Profile, day: NaiveDate) -> [i64; 6] {
    let date = day.to_string();
    let mut dice = Dice::new(&[user, "series", &date]);
    if dice.one_in(25) {
        return [0, profile.basal_calories, 1440, 0, 0, 0];
    }
    // A dice of its own, so that the other days keep the totals they had before still days existed.
    let mut still = Dice::new(&[user, "still", &date]);
    if still.one_in(30) {
        return [0, profile.basal_calories, still.between(600, 900), 0, 0, 0];
    }
    let very = dice.between(0, 60);
    let fairly = dice.between(0, 45);
    let lightly = dice.between(120, 330);
    let sedentary = dice.between(420, 780);
    let steps = lightly * 20 + fairly * 90 + very * 130 + dice.between(0, 1500);
    let calories = profile.basal_calories + lightly * 2 + fairly * 5 + very * 8 + dice.between(0, 150);
    [steps, calories, sedentary, lightly, fairly, very]
}
