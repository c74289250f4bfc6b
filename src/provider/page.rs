//! What a provider's reads yield to a sync, whichever the provider: pages of items (each with its id, its raw JSON
//! to record, and its OCARIoT object or why it is skipped) and pages of daily log entries. Items left out are counted
//! and logged here, so that none is dropped silently.

use std::sync::Arc;

use futures::stream::{BoxStream, StreamExt};
use mongodb::bson::Bson;
use serde_json::Value;
use tokio::sync::{Mutex, OwnedSemaphorePermit, Semaphore};

use crate::domain::ocariot::{Log, LogType, MalformedItem, Resource};
use crate::domain::{ChildId, ProviderKind, Skip, SyncWindow};
use crate::metrics;
use crate::provider::ProviderError;

/// Whose data a sync reads, with which access token, over which days.
pub struct Reading<'a> {
    pub token: &'a str,
    pub child: ChildId,
    /// `child` as the OCARIoT objects carry it.
    pub child_id: String,
    pub window: SyncWindow,
}

/// The pages one instance may hold at once (`SYNC_PAGES_IN_FLIGHT`), every sync and part together: what bounds a
/// sync's memory once many syncs are in flight (docs/performance.md#what-bounds-throughput).
#[derive(Clone)]
pub struct PageBudget(Arc<Semaphore>);

impl PageBudget {
    pub fn new(pages: usize) -> Self {
        PageBudget(Arc::new(Semaphore::new(pages)))
    }

    /// The slot of one part of a sync, empty until its next page is asked for.
    pub fn slot(&self) -> PageSlot {
        PageSlot { budget: self.0.clone(), held: Mutex::new(None) }
    }
}

/// One part's place in the [`PageBudget`]. A read fills it just before its request goes out, after the child's pace
/// let it (so waiting for a turn holds no page), and the sync empties it once the page is published, confirmed and
/// recorded. The several requests of one page (a weight range and its body fat) share the slot: a part never waits
/// for a second place while holding one, so parts cannot hold the budget against each other.
pub struct PageSlot {
    budget: Arc<Semaphore>,
    held: Mutex<Option<Place>>,
}

/// A place taken in the budget, counted in `ds_agent_sync_pages_in_flight` while it is held.
struct Place {
    _permit: OwnedSemaphorePermit,
    _counted: metrics::InFlight,
}

impl PageSlot {
    /// Takes a place in the budget, unless the slot holds one already.
    pub async fn fill(&self) {
        let mut held = self.held.lock().await;
        if held.is_none() {
            let permit = self.budget.clone().acquire_owned().await.expect("the page budget is never closed");
            *held =
                Some(Place { _permit: permit, _counted: metrics::InFlight::new(&metrics::get().sync_pages_in_flight) });
        }
    }

    /// Gives the place back: the page is done with, or its request failed and waits to be retried.
    pub fn empty(&self) {
        if let Ok(mut held) = self.held.try_lock() {
            held.take();
        }
    }

    /// The slot for a page that has come: filled already by a paced read, or now (an unpaced provider). Emptied when
    /// the returned guard drops.
    pub async fn hold(&self) -> HeldPage<'_> {
        self.fill().await;
        HeldPage(self)
    }
}

/// A page's place in the [`PageBudget`] while the sync handles it.
pub struct HeldPage<'a>(&'a PageSlot);

impl Drop for HeldPage<'_> {
    fn drop(&mut self) {
        self.0.empty();
    }
}

/// One provider item: its id (`resource.logId`), the raw JSON to record, and its OCARIoT object or why it is skipped.
pub struct SourceItem {
    pub id: Bson,
    pub raw: Value,
    pub object: Result<Resource, Skip>,
}

/// One page of a resource kind's items, in the provider's order.
pub type ResourcePage = Result<Vec<SourceItem>, ProviderError>;

/// One log type's entries from one page of a log part, and the entries skipped as malformed.
pub struct LogEntries {
    pub log_type: LogType,
    pub entries: Vec<Log>,
    pub malformed: Vec<MalformedItem>,
}

/// One page of a log part: the entries of each of the part's log types.
pub type LogPage = Result<Vec<LogEntries>, ProviderError>;

/// Counts and logs one skipped item: `kind` a resource kind or log type name, `item` the item's id or the log entry's
/// position. Each is counted in `/metrics` by provider, kind and reason, and logged with the child and the field at
/// fault (never a token).
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

/// Ends a stream of pages after its first error, whatever the pages behind it would say.
pub(crate) trait TakeWhileOk<'a, T> {
    fn take_while_ok(self) -> BoxStream<'a, Result<T, ProviderError>>;
}

impl<'a, T: Send + 'a> TakeWhileOk<'a, T> for BoxStream<'a, Result<T, ProviderError>> {
    fn take_while_ok(self) -> BoxStream<'a, Result<T, ProviderError>> {
        let mut failed = false;
        self.take_while(move |page| {
            let go_on = !failed;
            failed |= page.is_err();
            futures::future::ready(go_on)
        })
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use futures::FutureExt;

    use super::*;

    #[test]
    fn a_slot_holds_one_place_however_many_requests_fill_it_until_it_is_emptied() {
        let budget = PageBudget::new(1);
        let (first, second) = (budget.slot(), budget.slot());
        assert!(first.fill().now_or_never().is_some(), "a free place is taken at once");
        assert!(first.fill().now_or_never().is_some(), "a second request of the same page takes no second place");
        assert!(second.fill().now_or_never().is_none(), "the other part waits for the one place");
        first.empty();
        assert!(second.fill().now_or_never().is_some(), "the place given back is taken");
    }

    #[test]
    fn a_held_page_gives_its_place_back_when_the_sync_is_done_with_it() {
        let budget = PageBudget::new(1);
        let (first, second) = (budget.slot(), budget.slot());
        {
            let _held = first.hold().now_or_never().expect("a free place");
            assert!(second.fill().now_or_never().is_none());
        }
        assert!(second.fill().now_or_never().is_some());
        drop(second);
        assert!(first.fill().now_or_never().is_some(), "a dropped slot gives its place back");
    }
}
