//! The parts a sync is made of: each resource kind, and each log part of the child's provider. The parts run
//! concurrently and fail independently. What a provider's sync reads is one catalog, a [`Feed`] per part
//! (`provider::Provider::feeds`): adding a data type starts there (docs/ARCHITECTURE.md#adding-a-data-type).

use super::ocariot::LogType;
use super::ResourceKind;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    Resource(ResourceKind),
    Logs(LogPart),
}

/// A log part, named by the log types one read of it yields: one each, except Google's active minutes, whose buckets
/// carry both the active and the lightly active minutes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogPart(pub &'static [LogType]);

impl LogPart {
    /// The log type the part is read for (its first).
    pub fn first(self) -> LogType {
        self.0[0]
    }
}

/// One row of a provider's catalog: a part of its sync and the scope that allows reading it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Feed {
    pub part: Part,
    pub scope: &'static str,
}

impl Part {
    /// The log types the part yields (none for a resource part).
    pub fn log_types(self) -> &'static [LogType] {
        match self {
            Part::Resource(_) => &[],
            Part::Logs(part) => part.0,
        }
    }

    /// The OCARIoT kinds the part yields (`weights`, `sleep`, `activities`, or its log types: `steps`…), as logs,
    /// metrics and the record of refused kinds name them.
    pub fn names(self) -> Vec<&'static str> {
        match self {
            Part::Resource(kind) => vec![kind.name()],
            Part::Logs(part) => part.0.iter().map(|t| t.name()).collect(),
        }
    }
}
