//! The parts of a sync (each resource kind, each log part) and what their reports add up to. The parts run concurrently
//! and fail independently (docs/decisions.md#partial-failures): a failed part still answers 200 with what it published,
//! unless every resource part or every log part failed, which fails the sync with the provider's error.

use super::counts::{LogCounts, SyncCounts};
use super::SyncError;
use crate::domain::ocariot::LogType;
use crate::domain::{ChildId, Part, ProviderKind, ResourceKind};
use crate::metrics::{self, SyncOutcome};
use crate::provider::{Provider, ProviderError, ProviderErrorKind};

/// What one part did: the items it published (resources), the entries it fetched (logs), and how it ended.
pub struct PartReport {
    pub part: Part,
    /// The log types of a log part (none for a resource part).
    pub log_types: &'static [LogType],
    pub published: usize,
    pub logs: LogCounts,
    pub result: Result<(), SyncError>,
}

impl PartReport {
    pub fn new(part: Part) -> Self {
        PartReport { part, log_types: part.log_types(), published: 0, logs: LogCounts::default(), result: Ok(()) }
    }

    /// Whether a refresh may cure the part's failure, as the provider tells ([`Provider::refresh_may_cure`]).
    pub fn refresh_may_cure(&self, provider: Provider<'_>) -> bool {
        self.provider_error().is_some_and(|error| provider.refresh_may_cure(error))
    }

    /// Whether the provider refused the part's data while the tokens are good ([`ProviderErrorKind::PermissionDenied`]).
    pub fn permission_denied(&self) -> bool {
        self.provider_error().is_some_and(|error| error.kind == ProviderErrorKind::PermissionDenied)
    }

    /// The OCARIoT kinds of the part (see [`Part::names`]).
    pub fn names(&self) -> Vec<&'static str> {
        self.part.names()
    }

    /// The part run again after a refresh: its items published before add up (the second run skips them), its log
    /// entries are the second run's (it fetched them all again).
    pub fn retried(&mut self, again: PartReport) {
        self.published += again.published;
        self.logs = again.logs;
        self.result = again.result;
    }

    fn provider_error(&self) -> Option<&ProviderError> {
        match &self.result {
            Err(SyncError::Provider(e)) => Some(e),
            _ => None,
        }
    }
}

/// The sync's answer from its parts' reports. A failure that is not the provider's (the broker, MongoDB, the
/// shutdown) fails the sync: what was not confirmed and recorded goes out with the next one.
pub fn outcome(child: ChildId, provider: ProviderKind, reports: Vec<PartReport>) -> Result<SyncCounts, SyncError> {
    let mut reports = reports;
    if let Some(position) = reports.iter().position(|r| matches!(r.result, Err(SyncError::Interrupted))) {
        return Err(reports.swap_remove(position).result.unwrap_err());
    }
    if let Some(position) = reports.iter().position(|r| r.result.is_err() && r.provider_error().is_none()) {
        return Err(reports.swap_remove(position).result.unwrap_err());
    }
    let (resources, logs): (Vec<&PartReport>, Vec<&PartReport>) =
        reports.iter().partition(|r| matches!(r.part, Part::Resource(_)));
    for group in [&resources, &logs] {
        if group.iter().all(|r| r.result.is_err()) {
            if let Some(first) = group.iter().find_map(|r| r.provider_error()) {
                return Err(first.clone().into());
            }
        }
    }

    let label = provider.label();
    let mut counts = SyncCounts::default();
    for report in &reports {
        match report.part {
            Part::Resource(ResourceKind::Weights) => counts.weights = report.published,
            Part::Resource(ResourceKind::Sleep) => counts.sleep = report.published,
            Part::Resource(ResourceKind::Activities) => counts.activities = report.published,
            Part::Logs(_) => {
                for log_type in report.log_types {
                    counts.logs.add(*log_type, report.logs.get(*log_type));
                }
            }
        }
        if let Some(error) = report.provider_error() {
            for name in report.names() {
                part_failed(child, label, name, error);
            }
        }
    }
    let partial = reports.iter().any(|r| r.result.is_err());
    metrics::get().sync(if partial { SyncOutcome::Partial } else { SyncOutcome::Success });
    Ok(counts)
}

/// Partial failures answer 200 as in the original, but are no longer silent (docs/decisions.md#partial-failures).
fn part_failed(child: ChildId, provider: &str, part: &'static str, error: &ProviderError) {
    metrics::get().sync_parts_failed.get_or_create(&metrics::PartLabels { part }).inc();
    tracing::warn!("{provider} sync of child {child}: the {part} part failed and counts what it sent before: {error}");
}
