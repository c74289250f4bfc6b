//! One child's sync, start to end. Its parts (each resource kind, each log part) run concurrently and fail
//! independently (docs/decisions.md#partial-failures), each page by page: a page is published, confirmed and recorded
//! before the next is read, so a first sync of twelve months holds no more than a few pages in memory. Items count as
//! synced only once the broker confirmed their message (docs/decisions.md#publish-confirm-then-record), and one sync
//! per child runs at a time across instances (docs/decisions.md#one-sync-per-child).

use std::collections::HashSet;
use std::sync::Arc;

use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use chrono::{DateTime, Utc};
use futures::future::join_all;
use futures::StreamExt;
use mongodb::bson::Bson;
use serde_json::Value;

use super::counts::{LogCounts, SyncCounts};
use super::part::{outcome, PartReport};
use super::source::Source;
use super::{SyncError, SyncTarget};
use crate::backoff::Backoff;
use crate::bus::{Event, Publisher};
use crate::config::DEFAULT_SYNC_PAGES_IN_FLIGHT;
use crate::coordination::{Coordination, CoordinationError};
use crate::domain::ocariot::Resource;
use crate::domain::{ChildId, LogPart, Part, ProviderAuth, ResourceKind, Scopes, Skip, SyncWindow};
use crate::error_chain::Chain;
use crate::metrics::{self, SyncOutcome};
use crate::provider::page::{skipped, PageBudget, Reading, SourceItem};
use crate::provider::Providers;
use crate::store::{id_key, NewRecord, RecordedOutcome, Resources, SyncOutcomes, SyncResult, UserAuths};
use crate::tokens::{FailureReporter, TokenService, UsableTokens};

/// The sync lock's lifetime, renewed while the sync runs: a crashed instance frees its children within it.
const SYNC_LEASE_TTL: Duration = Duration::from_secs(60);
/// How long a sync's end waits for its lock's release.
const LEASE_RELEASE_WITHIN: Duration = Duration::from_secs(2);
/// Attempts to record confirmed items, waiting 0.5 s, then 1 s, between them.
const RECORD_ATTEMPTS: u32 = 3;
const RECORD_BACKOFF: Backoff = Backoff::doubling(Duration::from_millis(500));

/// The lease that makes one child's syncs exclusive across instances.
fn lease_key(child: ChildId) -> String {
    format!("ds-agent:lock:sync:{child}")
}

#[derive(Clone)]
pub struct SyncService {
    userauths: UserAuths,
    resources: Resources,
    tokens: TokenService,
    providers: Providers,
    publisher: Publisher,
    coordination: Arc<Coordination>,
    failures: FailureReporter,
    /// The service's shutdown: running syncs stop at their next safe point.
    stop: CancellationToken,
    /// Syncs started for requests ([`SyncService::spawn`]), which the shutdown waits for.
    running: TaskTracker,
    /// Where each child's last outcome is kept, for the status route.
    outcomes: Option<SyncOutcomes>,
    /// The pages every sync of this instance holds together (docs/performance.md#what-bounds-throughput).
    pages: PageBudget,
}

/// A sync started by [`SyncService::spawn`]: whether it is the child's first, and its outcome.
pub struct RunningSync {
    pub first_sync: bool,
    pub started_at: DateTime<Utc>,
    pub outcome: JoinHandle<Result<SyncCounts, SyncError>>,
}

/// New items of one kind: the raw provider items (recorded, with their natural keys where de-duplication uses them)
/// and their OCARIoT objects (published).
struct NewItems {
    kind: ResourceKind,
    ids: Vec<Bson>,
    raw: Vec<Value>,
    natural_keys: Vec<Option<String>>,
    objects: Vec<Resource>,
}

impl SyncService {
    pub fn new(
        userauths: UserAuths,
        resources: Resources,
        tokens: TokenService,
        providers: Providers,
        publisher: Publisher,
        coordination: Arc<Coordination>,
        failures: FailureReporter,
    ) -> Self {
        let running = TaskTracker::new();
        SyncService {
            userauths,
            resources,
            tokens,
            providers,
            publisher,
            coordination,
            failures,
            stop: CancellationToken::new(),
            running,
            outcomes: None,
            pages: PageBudget::new(DEFAULT_SYNC_PAGES_IN_FLIGHT),
        }
    }

    /// Every sync of this instance holds at most `pages` pages together (`SYNC_PAGES_IN_FLIGHT`).
    pub fn holding_pages(mut self, pages: usize) -> Self {
        self.pages = PageBudget::new(pages);
        self
    }

    /// Keeps each child's last outcome in `outcomes`, for the status route.
    pub fn recording_outcomes(mut self, outcomes: SyncOutcomes) -> Self {
        self.outcomes = Some(outcomes);
        self
    }

    /// Makes running syncs stop at their next safe point once `shutdown` is cancelled.
    pub fn stopping_with(mut self, shutdown: CancellationToken) -> Self {
        self.stop = shutdown;
        self
    }

    /// Starts a sync in a task of the service's own, so that a client that goes away (a timeout, the gateway's
    /// proxy timeout) never cuts it short between a confirm and its record; the shutdown waits for it
    /// ([`SyncService::wait_for_running`]).
    pub async fn spawn(&self, child: ChildId) -> Result<RunningSync, SyncError> {
        let first_sync = self.userauths.find(child).await?.is_some_and(|stored| stored.auth.last_sync.is_none());
        let (service, started_at) = (self.clone(), Utc::now());
        let outcome = self.running.spawn(async move { service.sync_with(child, None, started_at).await });
        Ok(RunningSync { first_sync, started_at, outcome })
    }

    /// The route answered 202 for the sync started at `started_at`, which goes on: so says the child's status, until
    /// the sync records its own end.
    pub async fn record_accepted(&self, child: ChildId, started_at: DateTime<Utc>) {
        let accepted = RecordedOutcome {
            result: SyncResult::Accepted,
            code: None,
            message: None,
            at: Utc::now(),
            started_at,
            counts: None,
        };
        self.record_outcome(child, &accepted).await;
    }

    async fn record_outcome(&self, child: ChildId, outcome: &RecordedOutcome) {
        let Some(outcomes) = &self.outcomes else { return };
        if let Err(e) = outcomes.record(child, outcome).await {
            tracing::warn!("The outcome of the sync of child {child} was not kept for its status: {}", Chain(&e));
        }
    }

    /// At shutdown: waits up to `bound` for the syncs started for requests, which stop at their next safe point.
    pub async fn wait_for_running(&self, bound: Duration) {
        self.running.close();
        if tokio::time::timeout(bound, self.running.wait()).await.is_err() {
            tracing::warn!(
                "{} syncs still running at shutdown; their children sync again next time",
                self.running.len()
            );
        }
    }

    /// Syncs the child, or says why not. Token and provider failures are announced on the bus
    /// (docs/decisions.md#internal-error-codes).
    pub async fn sync(&self, child: ChildId) -> Result<SyncCounts, SyncError> {
        self.sync_with(child, None, Utc::now()).await
    }

    /// Syncs only what Google notified ([`SyncTarget`]): the same events as a full sync, and no `last_sync`. A child
    /// never synced before gets its full first sync instead.
    pub async fn sync_notified(&self, child: ChildId, target: &SyncTarget) -> Result<SyncCounts, SyncError> {
        self.sync_with(child, Some(target), Utc::now()).await
    }

    /// Whether a sync of `child` runs now, on any instance (its lease is held).
    pub async fn is_running(&self, child: ChildId) -> Result<bool, CoordinationError> {
        self.coordination.exists(&lease_key(child)).await
    }

    async fn sync_with(
        &self,
        child: ChildId,
        target: Option<&SyncTarget>,
        started_at: DateTime<Utc>,
    ) -> Result<SyncCounts, SyncError> {
        // At error level, so that the span exists whatever level the logs are kept at: every line of the sync names
        // the child in the JSON log.
        let span = tracing::error_span!("sync", child_id = %child);
        self.sync_in_span(child, target, started_at).instrument(span).await
    }

    async fn sync_in_span(
        &self,
        child: ChildId,
        target: Option<&SyncTarget>,
        started_at: DateTime<Utc>,
    ) -> Result<SyncCounts, SyncError> {
        let key = lease_key(child);
        // Released when the sync ends, however it ends: returned, failed, panicked or dropped.
        let Some(lease) = self.coordination.try_lease(&key, SYNC_LEASE_TTL).await? else {
            metrics::get().sync(SyncOutcome::Busy);
            return Err(SyncError::Busy);
        };
        let _in_flight = metrics::InFlight::new(&metrics::get().syncs_in_flight);
        // A sync stops at its next safe point at shutdown, and as soon as its lease is lost: a second sync of the
        // same child may be starting elsewhere.
        let stop = self.stop.child_token();
        let watcher = {
            let (lost, stop) = (lease.lost().clone(), stop.clone());
            tokio::spawn(async move {
                lost.cancelled().await;
                stop.cancel();
            })
        };
        let scoped = SyncService { stop, ..self.clone() };
        let mut result = scoped.sync_locked(child, target).await;
        watcher.abort();
        if matches!(result, Err(SyncError::Interrupted)) && lease.lost().is_cancelled() {
            tracing::warn!("Sync of child {child} stopped at a safe point: its lock vanished from Redis");
            result = Err(SyncError::Coordination(CoordinationError::LeaseLost));
        }
        // Bounded: a call to a dead Redis waits for a reconnection of a few seconds, and the sync's outcome (the
        // route's answer) must not wait for a lock that expires by itself.
        match tokio::time::timeout(LEASE_RELEASE_WITHIN, lease.release()).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::warn!("Sync lock of child {child} not released, it expires by itself: {}", Chain(&e))
            }
            Err(_) => tracing::warn!("Sync lock of child {child} not released in time (Redis?), it expires by itself"),
        }
        match &result {
            Ok(_) => {}
            Err(SyncError::Provider(e)) => {
                metrics::get().sync(SyncOutcome::Failed);
                self.failures.report(child, e).await;
            }
            Err(_) => metrics::get().sync(SyncOutcome::Failed),
        }
        let (ended, code, message, counts) = match &result {
            Ok(counts) => (SyncResult::Success, None, None, mongodb::bson::to_document(counts).ok()),
            Err(SyncError::Interrupted) => {
                (SyncResult::Interrupted, None, Some(SyncError::Interrupted.to_string()), None)
            }
            Err(SyncError::Provider(e)) => (SyncResult::Failed, e.code(), Some(e.to_string()), None),
            Err(e) => (SyncResult::Failed, None, Some(Chain(e).to_string()), None),
        };
        let outcome = RecordedOutcome { result: ended, code, message, at: Utc::now(), started_at, counts };
        self.record_outcome(child, &outcome).await;
        result
    }

    async fn sync_locked(&self, child: ChildId, target: Option<&SyncTarget>) -> Result<SyncCounts, SyncError> {
        let UsableTokens { stored, mut auth, refreshed } = self.tokens.usable_tokens(child).await?;
        let full = SyncWindow::new(auth.last_sync.as_deref(), Utc::now().date_naive());
        let target = target.filter(|_| !full.first_sync);
        let window = target.map_or(full, |target| target.window(full));
        let scopes = auth.scope.clone().unwrap_or_default();
        let provider = auth.provider;
        let mut reports = {
            let source = self.source(&auth, child, window);
            let (parts, kind) = match target {
                Some(target) => (target.parts(&source), "notified"),
                None if window.first_sync => (source.parts(), "first sync"),
                None => (source.parts(), "incremental"),
            };
            tracing::debug!("{} sync of child {child}: {kind} from {}", provider.label(), window.logs_from);
            // What the provider refused under these tokens is not asked for again until new tokens come.
            let (parts, refused): (Vec<Part>, Vec<Part>) = parts.into_iter().partition(|part| {
                !part.names().iter().any(|name| stored.permission_denied.iter().any(|denied| denied == name))
            });
            if !refused.is_empty() {
                let names: Vec<&str> = refused.iter().flat_map(|part| part.names()).collect();
                tracing::debug!(
                    "{} sync of child {child}: {} left out, refused earlier",
                    provider.label(),
                    names.join(", ")
                );
            }
            self.run_parts(&source, &scopes, &parts).await
        };

        // The provider refused a token whose stored expiry says it is still good (clock skew, an early expiry): one
        // refresh under the child's lock, then the refused parts again (never 1011 while a refresh can still help:
        // docs/decisions.md#token-expiry-and-refresh). A refused refresh token ends here with 1021, as a pre-emptive
        // refresh would. A part refused after some pages starts over: what it published is recorded and not sent twice.
        let refused: Vec<Part> = reports
            .iter()
            .filter(|report| report.refresh_may_cure(self.providers.of(provider)))
            .map(|report| report.part)
            .collect();
        if !refreshed && !refused.is_empty() {
            let label = provider.label();
            tracing::info!("{label} refused the access token of child {child} before its expiry; refreshing once");
            auth = self.tokens.refresh(child, &stored).await?;
            let source = self.source(&auth, child, window);
            for again in self.run_parts(&source, &scopes, &refused).await {
                let report = reports.iter_mut().find(|report| report.part == again.part).expect("a part run before");
                report.retried(again);
            }
        }
        self.remember_permission_denied(child, &auth, &reports).await;
        let counts = outcome(child, provider, reports)?;
        if target.is_none() {
            self.finish(child).await;
        }
        Ok(counts)
    }

    /// The provider refused some parts' data while the tokens are good (a permission taken back): the kinds are kept on
    /// the child's authorization, so that later syncs leave them out until new tokens replace it, and the platform is
    /// told once. The other parts went on regardless. Kept with the tokens used (`auth`): if new tokens were stored
    /// meanwhile, nothing is kept.
    async fn remember_permission_denied(&self, child: ChildId, auth: &ProviderAuth, reports: &[PartReport]) {
        let kinds: Vec<&str> = reports.iter().filter(|r| r.permission_denied()).flat_map(|r| r.names()).collect();
        if kinds.is_empty() {
            return;
        }
        match self.userauths.add_permission_denied(child, &auth.refresh_token, &kinds).await {
            Ok(new) if !new.is_empty() => {
                tracing::warn!(
                    "{} refused the {} data of child {child}; not asked for again until new tokens come",
                    auth.provider.label(),
                    new.join(", ")
                );
                self.failures.report_permission_denied(child, &new).await;
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!("Refused data of child {child} not recorded, the next sync asks again: {}", Chain(&e))
            }
        }
    }

    /// Runs the parts concurrently, each page by page to its end or its first failure.
    async fn run_parts(&self, source: &Source<'_>, scopes: &Scopes, parts: &[Part]) -> Vec<PartReport> {
        join_all(parts.iter().map(|part| async move {
            let mut report = PartReport::new(*part);
            report.result = match *part {
                Part::Resource(kind) => self.sync_resource(source, scopes, kind, &mut report.published).await,
                Part::Logs(log_part) => self.sync_logs(source, scopes, log_part, &mut report.logs).await,
            };
            report
        }))
        .await
    }

    /// One resource kind, page by page: new items are published, confirmed and recorded before the next page is
    /// read, so a sync holds one page at a time and an interrupted one resumes where it stopped. `published` counts
    /// the confirmed items.
    async fn sync_resource(
        &self,
        source: &Source<'_>,
        scopes: &Scopes,
        kind: ResourceKind,
        published: &mut usize,
    ) -> Result<(), SyncError> {
        if !source.scope(Part::Resource(kind)).is_some_and(|scope| scopes.allows(scope)) {
            return Ok(());
        }
        let slot = self.pages.slot();
        let mut pages = source.resource_pages(kind, &slot);
        // Reads change nothing: at shutdown they are simply dropped.
        while let Some(page) = self.until_stopped(pages.next()).await? {
            let page = page?;
            let _held = slot.hold().await;
            let items = self.new_items(source, kind, page).await?;
            if items.objects.is_empty() {
                continue;
            }
            // A safe point: what was confirmed so far is recorded.
            if self.stop.is_cancelled() {
                return Err(SyncError::Interrupted);
            }
            self.publisher.publish_now(&Event::resources(kind, &items.objects), source.child_id()).await?;
            *published += items.objects.len();
            let labels = metrics::KindLabels { kind: kind.name() };
            metrics::get().items_published.get_or_create(&labels).inc_by(items.objects.len() as u64);
            self.record(source.child(), source.kind().label(), &items).await?;
        }
        Ok(())
    }

    /// One log part, chunk by chunk, each chunk one `LogSyncEvent` (the consumers upsert logs by child, type and
    /// date). `fetched` counts the entries of each log type.
    async fn sync_logs(
        &self,
        source: &Source<'_>,
        scopes: &Scopes,
        part: LogPart,
        fetched: &mut LogCounts,
    ) -> Result<(), SyncError> {
        if !source.scope(Part::Logs(part)).is_some_and(|scope| scopes.allows(scope)) {
            return Ok(());
        }
        let slot = self.pages.slot();
        let mut pages = source.log_pages(part, &slot);
        while let Some(page) = self.until_stopped(pages.next()).await? {
            let page = page?;
            let _held = slot.hold().await;
            let mut entries = Vec::new();
            for chunk in page {
                for (i, entry) in chunk.malformed.into_iter().enumerate() {
                    let item = format!("#{i}");
                    skipped(source.kind(), chunk.log_type.name(), source.child(), &item, &Skip::from(entry));
                }
                fetched.add(chunk.log_type, chunk.entries.len());
                entries.extend(chunk.entries);
            }
            if entries.is_empty() {
                continue;
            }
            if self.stop.is_cancelled() {
                return Err(SyncError::Interrupted);
            }
            let event = Event::logs(&entries);
            self.publisher.publish_now(&event, source.child_id()).await?;
            let labels = metrics::KindLabels { kind: metrics::LOGS_KIND };
            metrics::get().items_published.get_or_create(&labels).inc_by(entries.len() as u64);
        }
        Ok(())
    }

    /// `read`, unless the service stops first.
    async fn until_stopped<T>(&self, read: impl std::future::Future<Output = T>) -> Result<T, SyncError> {
        tokio::select! {
            value = read => Ok(value),
            _ = self.stop.cancelled() => Err(SyncError::Interrupted),
        }
    }

    fn source<'a>(&'a self, auth: &'a ProviderAuth, child: ChildId, window: SyncWindow) -> Source<'a> {
        Source {
            provider: self.providers.of(auth.provider),
            reading: Reading { token: auth.access_token.as_str(), child, child_id: child.to_string(), window },
        }
    }

    /// Drops items already published and transforms the rest; a skipped item is counted and logged, the others go
    /// through (docs/decisions.md#one-malformed-item-is-skipped). Already published means: the same id (also within the
    /// batch), or for a provider whose ids are not documented as stable, the same natural key
    /// ([`Resource::natural_key`], `provider::Provider::dedups_by_natural_key`).
    async fn new_items(
        &self,
        source: &Source<'_>,
        kind: ResourceKind,
        items: Vec<SourceItem>,
    ) -> Result<NewItems, SyncError> {
        let (child, provider) = (source.child(), source.kind());
        let mut seen = HashSet::new();
        let unique: Vec<SourceItem> = items.into_iter().filter(|item| seen.insert(id_key(&item.id))).collect();
        let ids: Vec<Bson> = unique.iter().map(|item| item.id.clone()).collect();
        let keyed = source.provider.dedups_by_natural_key();
        let keys: Vec<&str> = match keyed {
            true => unique.iter().filter_map(|item| Some(item.object.as_ref().ok()?.natural_key())).collect(),
            false => Vec::new(),
        };
        // For the page at once: the ids and the natural keys already recorded.
        let recorded = self.resources.recorded(child, kind.record_type(), &ids, &keys).await?;
        let fresh: Vec<SourceItem> =
            unique.into_iter().filter(|item| !recorded.ids.contains(&id_key(&item.id))).collect();
        let mut seen_keys = HashSet::new();
        let label = provider.label();
        let mut new_items =
            NewItems { kind, ids: Vec::new(), raw: Vec::new(), natural_keys: Vec::new(), objects: Vec::new() };
        for item in fresh {
            match item.object {
                Ok(object) => {
                    let key = Some(object.natural_key()).filter(|_| keyed).map(str::to_owned);
                    if let Some(key) = &key {
                        if recorded.keys.contains(key) || !seen_keys.insert(key.clone()) {
                            tracing::debug!(
                                "{label} {} item {} of child {child} was published under another id (at {key})",
                                kind.name(),
                                id_key(&item.id)
                            );
                            continue;
                        }
                    }
                    new_items.ids.push(item.id);
                    new_items.raw.push(item.raw);
                    new_items.natural_keys.push(key);
                    new_items.objects.push(object);
                }
                Err(skip) => skipped(provider, kind.name(), child, &id_key(&item.id), &skip),
            }
        }
        Ok(new_items)
    }

    /// Records confirmed items, retrying a failing MongoDB a few times. If it still fails the sync fails (503, no
    /// `last_sync`): the items go out again with the next sync (at least once; the consumers de-duplicate), and are
    /// counted meanwhile.
    async fn record(&self, child: ChildId, provider: &str, items: &NewItems) -> Result<(), SyncError> {
        let mut pending: Vec<(NewRecord<'_>, &Bson)> = items
            .raw
            .iter()
            .zip(&items.natural_keys)
            .zip(&items.ids)
            .map(|((resource, key), id)| (NewRecord { resource, natural_key: key.as_deref() }, id))
            .collect();
        let kind = items.kind.record_type();
        let mut attempt = 1;
        loop {
            let records: Vec<NewRecord<'_>> = pending.iter().map(|(record, _)| *record).collect();
            match self.resources.record(child, kind, provider, &records).await {
                Ok(()) => return Ok(()),
                Err(e) if attempt < RECORD_ATTEMPTS => {
                    tracing::warn!(
                        "Error at save {kind} logs of child {child} (attempt {attempt}), retrying: {}",
                        Chain(&e)
                    );
                    tokio::time::sleep(RECORD_BACKOFF.delay(attempt)).await;
                    attempt += 1;
                    // A write that timed out may have landed all the same: only what is missing is written again.
                    let ids: Vec<Bson> = pending.iter().map(|(_, id)| (*id).clone()).collect();
                    if let Ok(recorded) = self.resources.recorded(child, kind, &ids, &[]).await {
                        pending.retain(|(_, id)| !recorded.ids.contains(&id_key(id)));
                    }
                    if pending.is_empty() {
                        return Ok(());
                    }
                }
                Err(e) => {
                    let labels = metrics::KindLabels { kind };
                    metrics::get().sync_items_unrecorded.get_or_create(&labels).inc_by(pending.len() as u64);
                    tracing::error!(
                        "Error at save {kind} logs: {}. {} published items of child {child} are not recorded; the \
                         next sync sends them again",
                        Chain(&e),
                        pending.len()
                    );
                    return Err(e.into());
                }
            }
        }
    }

    /// Stores and announces the time of this sync (`FitbitLastSyncEvent`).
    async fn finish(&self, child: ChildId) {
        let last_sync = Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
        match self.userauths.set_last_sync(child, &last_sync).await {
            Ok(true) => {
                if let Err(lost) =
                    self.publisher.announce(&Event::last_sync(child, &last_sync), &child.to_string()).await
                {
                    tracing::error!("Error at publish last sync: {lost}");
                }
            }
            Ok(false) => {}
            Err(e) => tracing::info!("Error at update the last sync: {}", Chain(&e)),
        }
    }
}
