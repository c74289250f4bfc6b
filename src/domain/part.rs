//! The parts a sync is made of: each resource kind, and each log part of the child's provider. The parts run
//! concurrently and fail independently; the provider says which log parts it has and which part reads a notified
//! data type.

use super::ResourceKind;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    Resource(ResourceKind),
    /// A log part, numbered as the provider lists its log parts (`provider::Provider::log_parts`).
    Logs(usize),
}
