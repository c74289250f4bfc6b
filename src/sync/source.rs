//! Where a sync's items come from: the child's provider (`provider::Provider`), read over the sync's window, one page
//! at a time. Both providers yield the same OCARIoT objects (docs/decisions.md#published-payloads), so everything
//! after this point is provider-blind.

use futures::stream::BoxStream;

use crate::domain::{ChildId, LogPart, Part, ProviderKind, ResourceKind};
use crate::provider::page::{LogPage, PageSlot, Reading, ResourcePage};
use crate::provider::Provider;

pub struct Source<'a> {
    pub provider: Provider<'a>,
    pub reading: Reading<'a>,
}

impl Source<'_> {
    pub fn kind(&self) -> ProviderKind {
        self.provider.kind()
    }

    pub fn child(&self) -> ChildId {
        self.reading.child
    }

    /// `child` as the OCARIoT objects and the bus carry it.
    pub fn child_id(&self) -> &str {
        &self.reading.child_id
    }

    /// The scope that allows reading `part` (`None`: a part the provider does not have).
    pub fn scope(&self, part: Part) -> Option<&'static str> {
        self.provider.scope(part)
    }

    /// A resource kind's items over the window, page by page, each held in `slot`. The stream ends at the first error.
    pub fn resource_pages<'s>(&'s self, kind: ResourceKind, slot: &'s PageSlot) -> BoxStream<'s, ResourcePage> {
        self.provider.resource_pages(&self.reading, kind, slot)
    }

    /// The parts of a full sync, as the provider's catalog lists them.
    pub fn parts(&self) -> Vec<Part> {
        self.provider.feeds().iter().map(|feed| feed.part).collect()
    }

    /// Log part `part`'s entries over the window, chunk by chunk, each held in `slot`. The stream ends at the first
    /// error.
    pub fn log_pages<'s>(&'s self, part: LogPart, slot: &'s PageSlot) -> BoxStream<'s, LogPage> {
        self.provider.log_pages(&self.reading, part, slot)
    }
}
