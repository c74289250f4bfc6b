//! A sync narrowed by Google notifications: only the notified data types, over the notified civil days. It carries
//! through the job queue inside the job's JSON payload, and publishes the same events as a full sync; it never moves
//! `last_sync`, which says that every type was read up to then.

use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};

use super::source::Source;
use crate::domain::{Part, SyncWindow};
use crate::provider::google::GoogleDataType;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SyncTarget {
    /// The notified Google data types the sync reads (`exercise`, `sleep`, `steps`, … in the job's JSON).
    pub data_types: Vec<GoogleDataType>,
    /// The first and last notified civil day; `None`: the usual window since the last sync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<(NaiveDate, NaiveDate)>,
    /// When the first of the coalesced notifications arrived (epoch ms).
    pub notified_at_ms: i64,
}

impl SyncTarget {
    /// The parts that read the notified types; types the sync does not read have none.
    pub fn parts(&self, source: &Source<'_>) -> Vec<Part> {
        let mut parts = Vec::new();
        for data_type in &self.data_types {
            let part = source.provider.part_reading(*data_type);
            if let Some(part) = part.filter(|part| !parts.contains(part)) {
                parts.push(part);
            }
        }
        parts
    }

    /// The days to read: the notified ones (within the first sync's 12 months), else `incremental`.
    pub fn window(&self, incremental: SyncWindow) -> SyncWindow {
        let Some((from, to)) = self.days else { return incremental };
        let today = incremental.today;
        let floor = today.checked_sub_months(Months::new(12)).unwrap_or(today);
        let (from, to) = (from.max(floor).min(today), to.min(today));
        SyncWindow { today: to.max(from), weights_from: from, logs_from: from, first_sync: false }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn a_target_reads_as_the_queue_script_writes_it() {
        let target = SyncTarget {
            data_types: vec![GoogleDataType::Exercise, GoogleDataType::Steps],
            days: Some((day("2026-11-19"), day("2026-11-20"))),
            notified_at_ms: 1_764_000_000_000,
        };
        let written =
            r#"{"data_types":["exercise","steps"],"days":["2026-11-19","2026-11-20"],"notified_at_ms":1764000000000}"#;
        assert_eq!(serde_json::from_str::<SyncTarget>(written).unwrap(), target);
        let undated: SyncTarget = serde_json::from_str(r#"{"data_types":["sleep"],"notified_at_ms":1}"#).unwrap();
        assert_eq!(undated.days, None);
        assert_eq!(serde_json::to_string(&undated).unwrap(), r#"{"data_types":["sleep"],"notified_at_ms":1}"#);
    }

    #[test]
    fn the_notified_days_within_the_year_are_read() {
        let incremental = SyncWindow::new(Some("2026-11-20T10:00:00Z"), day("2026-11-27"));
        let target = SyncTarget {
            data_types: vec![GoogleDataType::Sleep],
            days: Some((day("2024-01-01"), day("2026-11-22"))),
            notified_at_ms: 0,
        };
        let window = target.window(incremental);
        assert_eq!((window.logs_from, window.today), (day("2025-11-27"), day("2026-11-22")));
        assert!(!window.first_sync);
        assert_eq!(SyncTarget { days: None, ..target }.window(incremental), incremental);
    }
}
