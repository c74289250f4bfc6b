//! Why a sync leaves a provider item out: none is dropped silently. The provider pages count and log each one
//! (`provider::page::skipped`), by provider, kind and reason.

use super::ocariot::MalformedItem;

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
