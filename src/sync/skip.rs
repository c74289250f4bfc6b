//! Items a sync leaves out, and why: none is dropped silently. Each is counted in `/metrics` by provider, kind and
//! reason, and logged with the child and the field at fault (never a token).

use super::transform::MalformedItem;
use crate::domain::ChildId;
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

/// Counts and logs one skipped item: `provider` `Fitbit` or `Google`, `kind` a resource kind or log type name,
/// `item` the item's id or the log entry's position.
pub fn skipped(provider: &str, kind: &str, child: ChildId, item: &str, skip: &Skip) {
    let labels = format!(r#"provider="{}",kind="{kind}",reason="{}""#, provider.to_ascii_lowercase(), skip.reason());
    metrics::increment("ds_agent_sync_items_skipped_total", &labels);
    match skip {
        // Expected and temporary: not worth a warning.
        Skip::Unfinished => tracing::debug!("{provider} {kind} item {item} of child {child} held back: {skip}"),
        _ => tracing::warn!("{provider} {kind} item {item} of child {child} skipped: {skip}"),
    }
}
