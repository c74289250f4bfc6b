//! What a provider's reads yield to a sync, whichever the provider: pages of items (each with its id, its raw JSON
//! to record, and its OCARIoT object or why it is skipped) and pages of daily log entries. Items left out are counted
//! and logged here, so that none is dropped silently.

use futures::stream::{BoxStream, StreamExt};
use mongodb::bson::Bson;
use serde_json::Value;

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
