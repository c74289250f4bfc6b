//! Which dates a sync asks for. The original asked for the same 12 months on every sync; ds-agent asks for them once,
//! and afterwards only for the days since the last sync, with a week of overlap for data that reached the provider late
//! (docs/decisions.md#sync-windows).

use chrono::{Duration, Months, NaiveDate};

/// Provider data that may reach the provider after the sync that covered its day: a tracker synced a few days late.
const OVERLAP_DAYS: i64 = 7;
/// Fitbit's weight log limit is 31 days between the two dates.
const WEIGHT_WINDOW_DAYS: i64 = 31;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyncWindow {
    pub today: NaiveDate,
    /// First day of the weights to read.
    pub weights_from: NaiveDate,
    /// First day of the sleep and activity logs and of the daily series to read.
    pub logs_from: NaiveDate,
    pub first_sync: bool,
}

impl SyncWindow {
    /// `last_sync` is the stored `fitbit.last_sync` (ISO-s-Z); a missing or unreadable one means a first sync.
    pub fn new(last_sync: Option<&str>, today: NaiveDate) -> Self {
        let weights_floor = today.checked_sub_months(Months::new(4)).unwrap_or(today);
        let logs_floor = today.checked_sub_months(Months::new(12)).unwrap_or(today);
        let last = last_sync.and_then(|text| NaiveDate::parse_from_str(text.get(..10)?, "%Y-%m-%d").ok());
        match last {
            Some(last) => {
                let from = (last - Duration::days(OVERLAP_DAYS)).min(today);
                SyncWindow {
                    today,
                    weights_from: from.max(weights_floor),
                    logs_from: from.max(logs_floor),
                    first_sync: false,
                }
            }
            None => SyncWindow { today, weights_from: weights_floor, logs_from: logs_floor, first_sync: true },
        }
    }

    /// Consecutive, non-overlapping ranges (both ends included) that cover the weight window within Fitbit's range
    /// limit; the original's overlapping month windows published boundary days twice (docs/decisions.md#sync-windows).
    pub fn weight_ranges(&self) -> Vec<(NaiveDate, NaiveDate)> {
        let mut ranges = Vec::new();
        let mut start = self.weights_from;
        while start <= self.today {
            let end = (start + Duration::days(WEIGHT_WINDOW_DAYS - 1)).min(self.today);
            ranges.push((start, end));
            start = end + Duration::days(1);
        }
        ranges
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn a_first_sync_covers_the_original_windows() {
        let window = SyncWindow::new(None, day("2026-03-31"));
        assert!(window.first_sync);
        assert_eq!(window.weights_from, day("2025-11-30"));
        assert_eq!(window.logs_from, day("2025-03-31"));
    }

    #[test]
    fn a_later_sync_starts_a_week_before_the_last_one() {
        let window = SyncWindow::new(Some("2026-11-20T10:00:00Z"), day("2026-11-27"));
        assert!(!window.first_sync);
        assert_eq!(window.logs_from, day("2026-11-13"));
        assert_eq!(window.weight_ranges(), vec![(day("2026-11-13"), day("2026-11-27"))]);
    }

    #[test]
    fn a_long_absence_is_capped_at_the_first_sync_windows() {
        let window = SyncWindow::new(Some("2020-01-01T00:00:00Z"), day("2026-11-27"));
        assert_eq!(window.logs_from, day("2025-11-27"));
        assert_eq!(window.weights_from, day("2026-07-27"));
        let garbage = SyncWindow::new(Some("yesterday"), day("2026-11-27"));
        assert!(garbage.first_sync);
    }

    #[test]
    fn weight_ranges_do_not_overlap_and_cover_every_day() {
        let window = SyncWindow::new(None, day("2026-11-27"));
        let ranges = window.weight_ranges();
        assert_eq!(ranges.first().unwrap().0, window.weights_from);
        assert_eq!(ranges.last().unwrap().1, window.today);
        for pair in ranges.windows(2) {
            assert_eq!(pair[0].1 + Duration::days(1), pair[1].0);
        }
        assert!(ranges.iter().all(|(a, b)| (*b - *a).num_days() < WEIGHT_WINDOW_DAYS));
    }
}
