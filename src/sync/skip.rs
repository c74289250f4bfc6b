//! Items a sync leaves out, and why: none is dropped silently. Each is counted in `/metrics` by provider, kind and
//! reason, and logged with the child and the field at fault (never a token).

use super::transform::MalformedItem;
use crate::domain::{ChildId, ProviderKind};
use crate::metrics;

/// Why one provider item is not published.
#[derive(Debug, Clone, PartialEq)]
pub enum Skip {
    /// A required field is absent, or a field is wrong ([`MalformedItem::reason`] tells which).
    Malformed(MalformedItem),
    /// Google still processes the night (`metadata.processed` not true): a later sync publishes it once final.
    Unfinished,
    /// The item has no id to de-duplicate it by.
    NoId,
}

impl From<MalformedItem> for Skip {
    fn from(item: MalformedItem) -> Self {
        Skip::Malformed(item)
    }
}

impl Skip {
    /// The `reason` label: `missing_field`, `malformed`, `unfinished` or `no_id`.
    pub fn reason(&self) -> &'static str {
        match self {
            Skip::Malformed(item) => item.reason(),
            Skip::Unfinished => "unfinished",
            Skip::NoId => "no_id",
        }
    }
}

impl std::fmt::Display for Skip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Skip::Malformed(item) => item.fmt(f),
            Skip::Unfinished => f.write_str("still being processed by the provider; a later sync sends it"),
            Skip::NoId => f.write_str("no id"),
        }
    }
}

/// Counts and logs one skipped item: `kind` a resource kind or log type name, `item` the item's id or the log entry's
/// position.
pub fn skipped(provider: ProviderKind, kind: &'static str, child: ChildId, item: &str, skip: &Skip) {
    let labels = metrics::SkipLabels { provider, kind, reason: skip.reason() };
    metrics::get().sync_items_skipped.get_or_create(&labels).inc();
    let provider = provider.label();
    match skip {
        // Expected and temporary: not worth a warning.
        Skip::Unfinished => tracing::debug!("{provider} {kind} item {item} of child {child} held back: {skip}"),
        _ => tracing::warn!("{provider} {kind} item {item} of child {child} skipped: {skip}"),
    }
}
