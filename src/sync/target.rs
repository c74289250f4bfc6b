//! A sync narrowed by Google notifications: only the notified data types, over the notified civil days. It carries
//! through the job queue as one text field, and publishes the same events as a full sync; it never moves
//! `last_sync`, which says that every type was read up to then.

use chrono::{Months, NaiveDate};

use super::part::Part;
use super::resource::ResourceKind;
use super::source::Source;
use super::window::SyncWindow;

#[derive(Clone, Debug, PartialEq)]
pub struct SyncTarget {
    /// Google data types, as notified (`exercise`, `sleep`, `steps`, …).
    pub data_types: Vec<String>,
    /// The first and last notified civil day; `None`: the usual window since the last sync.
    pub days: Option<(NaiveDate, NaiveDate)>,
    /// When the first of the coalesced notifications arrived (epoch ms).
    pub notified_at_ms: i64,
}

impl SyncTarget {
    /// `types;from;to;notified_at_ms`, with `types` comma-separated and the days empty when not notified.
    pub fn encode(&self) -> String {
        let (from, to) = match self.days {
            Some((from, to)) => (from.to_string(), to.to_string()),
            None => (String::new(), String::new()),
        };
        format!("{};{from};{to};{}", self.data_types.join(","), self.notified_at_ms)
    }

    pub fn decode(text: &str) -> Option<SyncTarget> {
        let mut fields = text.split(';');
        let data_types: Vec<String> = fields.next()?.split(',').filter(|t| !t.is_empty()).map(String::from).collect();
        let day = |text: Option<&str>| text.and_then(|t| NaiveDate::parse_from_str(t, "%Y-%m-%d").ok());
        let (from, to) = (day(fields.next()), day(fields.next()));
        let notified_at_ms = fields.next()?.parse().ok()?;
        let days = from.zip(to).map(|(from, to)| (from.min(to), from.max(to)));
        Some(SyncTarget { data_types, days, notified_at_ms }).filter(|t| !t.data_types.is_empty())
    }

    /// The parts that read the notified types; types the sync does not read have none.
    pub fn parts(&self, source: &Source<'_>) -> Vec<Part> {
        let mut parts = Vec::new();
        for data_type in &self.data_types {
            let part = match data_type.as_str() {
                "exercise" => Some(Part::Resource(ResourceKind::Activities)),
                "sleep" => Some(Part::Resource(ResourceKind::Sleep)),
                "weight" | "body-fat" => Some(Part::Resource(ResourceKind::Weights)),
                other => source.log_part_reading(other).map(Part::Logs),
            };
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

/// The Google data types a sync reads: those worth a notification.
pub const SYNCED_TYPES: [&str; 8] =
    ["exercise", "sleep", "weight", "body-fat", "steps", "total-calories", "active-minutes", "sedentary-period"];

/// Whether Google notifications of `data_type` lead to a sync.
pub fn is_synced_type(data_type: &str) -> bool {
    SYNCED_TYPES.contains(&data_type)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn a_target_survives_the_queue() {
        let target = SyncTarget {
            data_types: vec!["exercise".into(), "steps".into()],
            days: Some((day("2026-11-19"), day("2026-11-20"))),
            notified_at_ms: 1_764_000_000_000,
        };
        assert_eq!(SyncTarget::decode(&target.encode()), Some(target.clone()));
        let undated = SyncTarget { days: None, ..target };
        assert_eq!(SyncTarget::decode(&undated.encode()), Some(undated));
        assert_eq!(SyncTarget::decode(";;;1"), None);
        assert_eq!(SyncTarget::decode("garbage"), None);
    }

    #[test]
    fn the_notified_days_within_the_year_are_read() {
        let incremental = SyncWindow::new(Some("2026-11-20T10:00:00Z"), day("2026-11-27"));
        let target = SyncTarget {
            data_types: vec!["sleep".into()],
            days: Some((day("2024-01-01"), day("2026-11-22"))),
            notified_at_ms: 0,
        };
        let window = target.window(incremental);
        assert_eq!((window.logs_from, window.today), (day("2025-11-27"), day("2026-11-22")));
        assert!(!window.first_sync);
        assert_eq!(SyncTarget { days: None, ..target }.window(incremental), incremental);
    }
}
