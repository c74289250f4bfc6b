//! One child's sync, start to end. The eight parts run concurrently and fail independently (§9.2); items count as
//! synced only once the broker confirmed their message (decisions #19), and one sync per child runs at a time
//! across instances.

use std::collections::HashSet;
use std::sync::Arc;

use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use chrono::Utc;
use futures::future::join_all;
use mongodb::bson::Bson;
use serde::Serialize;
use serde_json::Value;

use super::resource::ResourceKind;
use super::skip::{skipped, Skip};
use super::source::{LogRead, Source, SourceItem};
use super::transform::LogType;
use super::window::SyncWindow;
use super::SyncError;
use crate::bus::{Event, Publisher};
use crate::coordination::Coordination;
use crate::domain::{has_synced_scope, ChildId, ProviderAuth, ProviderKind, TokenStatus};
use crate::metrics;
use crate::provider::{ProviderError, ProviderErrorKind, Providers};
use crate::store::{id_key, NewRecord, Resources, StoredAuth, UserAuths};
use crate::tokens::{FailureReporter, TokenService};

/// The sync lock's lifetime, renewed while the sync runs: a crashed instance frees its children within it.
const SYNC_LEASE_TTL: Duration = Duration::from_secs(60);
/// Attempts to record confirmed items, waiting 0.5 s, then 1 s, between them.
const RECORD_ATTEMPTS: u32 = 3;
const RECORD_FIRST_DELAY: Duration = Duration::from_millis(500);
/// First syncs running at once per instance (each holds 12 months of raw provider items); later syncs are not
/// limited beyond `SYNC_CONCURRENCY`.
const FIRST_SYNCS_AT_ONCE: usize = 2;

/// The 200 body of the sync route (§5.6): new items per resource, fetched entries per log type.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SyncCounts {
    pub activities: usize,
    pub sleep: usize,
    pub weights: usize,
    pub logs: LogCounts,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LogCounts {
    pub steps: usize,
    pub calories: usize,
    pub active_minutes: usize,
    pub lightly_active_minutes: usize,
    pub sedentary_minutes: usize,
}

impl LogCounts {
    fn set(&mut self, log_type: LogType, count: usize) {
        match log_type {
            LogType::Steps => self.steps = count,
            LogType::Calories => self.calories = count,
            LogType::ActiveMinutes => self.active_minutes = count,
            LogType::LightlyActiveMinutes => self.lightly_active_minutes = count,
            LogType::SedentaryMinutes => self.sedentary_minutes = count,
        }
    }
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
    first_syncs: Arc<Semaphore>,
    /// The service's shutdown: running syncs stop at their next safe point.
    stop: CancellationToken,
    /// Syncs started for requests ([`SyncService::spawn`]), which the shutdown waits for.
    running: TaskTracker,
}

/// A sync started by [`SyncService::spawn`]: whether it is the child's first, and its outcome.
pub struct RunningSync {
    pub first_sync: bool,
    pub outcome: JoinHandle<Result<SyncCounts, SyncError>>,
}

/// New items of one kind: the raw provider items (recorded, with their natural keys where de-duplication uses them)
/// and their OCARIoT objects (published).
struct NewItems {
    kind: ResourceKind,
    ids: Vec<Bson>,
    raw: Vec<Value>,
    natural_keys: Vec<Option<String>>,
    objects: Vec<Value>,
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
        let first_syncs = Arc::new(Semaphore::new(FIRST_SYNCS_AT_ONCE));
        let running = TaskTracker::new();
        SyncService {
            userauths,
            resources,
            tokens,
            providers,
            publisher,
            coordination,
            failures,
            first_syncs,
            stop: CancellationToken::new(),
            running,
        }
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
        let service = self.clone();
        let outcome = self.running.spawn(async move { service.sync(child).await });
        Ok(RunningSync { first_sync, outcome })
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

    /// Syncs the child, or says why not. Token and provider failures are announced on the bus (§8.6).
    pub async fn sync(&self, child: ChildId) -> Result<SyncCounts, SyncError> {
        let key = format!("ds-agent:lock:sync:{child}");
        // Released when the sync ends, however it ends: returned, failed, panicked or dropped.
        let Some(lease) = self.coordination.try_lease(&key, SYNC_LEASE_TTL).await? else {
            metrics::increment("ds_agent_syncs_total", r#"outcome="busy""#);
            return Err(SyncError::Busy);
        };
        let result = self.sync_locked(child).await;
        if let Err(e) = lease.release().await {
            tracing::warn!("Sync lock of child {child} not released, it expires by itself: {e}");
        }
        match &result {
            Ok(_) => {}
            Err(SyncError::Provider(e)) => {
                metrics::increment("ds_agent_syncs_total", r#"outcome="failed""#);
                self.failures.report(child, e).await;
            }
            Err(_) => metrics::increment("ds_agent_syncs_total", r#"outcome="failed""#),
        }
        result
    }

    async fn sync_locked(&self, child: ChildId) -> Result<SyncCounts, SyncError> {
        let (stored, mut auth, refreshed) = self.usable_tokens(child).await?;
        let window = SyncWindow::new(auth.last_sync.as_deref(), Utc::now().date_naive());
        // A first sync holds a year of raw items in memory; a few at a time keep the instance's memory bounded.
        let _first_sync_permit = match window.first_sync {
            true => Some(self.first_syncs.acquire().await.expect("the semaphore is never closed")),
            false => None,
        };
        let scope = auth.scope.clone().unwrap_or_default();
        let scopes: HashSet<&str> = scope.split(' ').collect();
        let provider = auth.provider;
        let (mut resources, mut logs) = {
            let source = self.source(&auth, child, window);
            tracing::debug!(
                "{} sync of child {child}: {} from {}",
                provider.label(),
                if window.first_sync { "first sync" } else { "incremental" },
                window.logs_from
            );
            let resource_reads = ResourceKind::ALL.map(|kind| read_resource(&source, &scopes, kind));
            // Reads change nothing: at shutdown they are simply dropped.
            tokio::select! {
                reads = async { futures::join!(join_all(resource_reads), read_logs(&source, &scopes)) } => reads,
                _ = self.stop.cancelled() => return Err(SyncError::Interrupted),
            }
        };

        // The provider refused a token whose stored expiry says it is still good (clock skew, an early expiry): one
        // refresh under the child's lock, then the refused parts again (decisions #4: never 1011 while a refresh can
        // still help). A refused refresh token ends here with 1021, as a pre-emptive refresh would.
        let refused = |read: &Result<Vec<SourceItem>, ProviderError>| refresh_may_cure(provider, read);
        let logs_refused = |logs: &[LogRead]| logs.iter().any(|read| refresh_may_cure(provider, read));
        if !refreshed && (resources.iter().any(refused) || logs_refused(&logs)) {
            let label = provider.label();
            tracing::info!("{label} refused the access token of child {child} before its expiry; refreshing once");
            auth = self.tokens.refresh(child, &stored).await?;
            let source = self.source(&auth, child, window);
            for (kind, read) in ResourceKind::ALL.into_iter().zip(resources.iter_mut()) {
                if refused(read) {
                    *read = read_resource(&source, &scopes, kind).await;
                }
            }
            if logs_refused(&logs) {
                logs = read_logs(&source, &scopes).await;
            }
        }
        let provider_label = provider.label();

        if let Some(Err(first)) = resources.iter().find(|r| r.is_err()).filter(|_| resources.iter().all(Result::is_err))
        {
            return Err(first.clone().into());
        }
        if let Some(Err(first)) = logs.iter().find(|r| r.is_err()).filter(|_| logs.iter().all(Result::is_err)) {
            return Err(first.clone().into());
        }

        let mut counts = SyncCounts::default();
        let mut partial = false;
        let mut new_items = Vec::new();
        for (kind, read) in ResourceKind::ALL.into_iter().zip(resources) {
            match read {
                Ok(items) => new_items.push(self.new_items(child, provider, kind, items).await?),
                Err(e) => {
                    partial = true;
                    part_failed(child, provider_label, kind.name(), &e);
                }
            }
        }
        let mut log_entries = Vec::new();
        for (log_type, read) in LogType::ALL.into_iter().zip(logs) {
            match read {
                Ok((entries, malformed)) => {
                    for (i, entry) in malformed.into_iter().enumerate() {
                        skipped(provider_label, log_type.name(), child, &format!("#{i}"), &Skip::from(entry));
                    }
                    counts.logs.set(log_type, entries.len());
                    log_entries.extend(entries);
                }
                Err(e) => {
                    partial = true;
                    part_failed(child, provider_label, log_type.name(), &e);
                }
            }
        }

        let mut confirmed = Vec::new();
        let published = self.publish(child, provider_label, &new_items, &log_entries, &mut confirmed).await;
        for items in new_items.iter().filter(|items| confirmed.contains(&items.kind)) {
            match items.kind {
                ResourceKind::Weights => counts.weights = items.objects.len(),
                ResourceKind::Sleep => counts.sleep = items.objects.len(),
                ResourceKind::Activities => counts.activities = items.objects.len(),
            }
        }
        published?;

        self.finish(child).await;
        let outcome = if partial { r#"outcome="partial""# } else { r#"outcome="success""# };
        metrics::increment("ds_agent_syncs_total", outcome);
        Ok(counts)
    }

    fn source<'a>(&'a self, auth: &'a ProviderAuth, child: ChildId, window: SyncWindow) -> Source<'a> {
        Source {
            providers: &self.providers,
            provider: auth.provider,
            token: auth.access_token.as_str(),
            child,
            child_id: child.to_string(),
            window,
        }
    }

    /// The stored tokens (as read) and the tokens to use, refreshed first when less than 10 minutes remain
    /// (decisions #4), and whether they were. A child marked `invalid_token` stays so until a refresh or new tokens
    /// (decisions #8).
    async fn usable_tokens(&self, child: ChildId) -> Result<(StoredAuth, ProviderAuth, bool), SyncError> {
        let stored = self.userauths.find(child).await?.ok_or(SyncError::NoAuthorization)?;
        has_synced_scope(stored.auth.scope.as_deref())?;
        let refresh = stored.auth.needs_refresh(Utc::now().timestamp());
        let auth = if refresh { self.tokens.refresh(child, &stored).await? } else { stored.auth.clone() };
        if auth.status == Some(TokenStatus::InvalidToken) {
            let error = ProviderError::new(ProviderErrorKind::MarkedInvalid, "the stored tokens are marked invalid");
            return Err(error.with_tokens(Some(&auth.access_token), None).into());
        }
        Ok((stored, auth, refresh))
    }

    /// Drops items already published and transforms the rest; a skipped item is counted and logged, the others go
    /// through (decisions #17). Already published means: the same id (also within the batch), or for Google, whose
    /// reconciled ids are not documented as stable, the same natural key ([`ResourceKind::natural_key`]).
    async fn new_items(
        &self,
        child: ChildId,
        provider: ProviderKind,
        kind: ResourceKind,
        items: Vec<SourceItem>,
    ) -> Result<NewItems, SyncError> {
        let mut seen = HashSet::new();
        let unique: Vec<SourceItem> = items.into_iter().filter(|item| seen.insert(id_key(&item.id))).collect();
        let ids: Vec<Bson> = unique.iter().map(|item| item.id.clone()).collect();
        let recorded = self.resources.recorded(child, kind.record_type(), &ids).await?;
        let fresh: Vec<SourceItem> = unique.into_iter().filter(|item| !recorded.contains(&id_key(&item.id))).collect();

        let keyed = provider == ProviderKind::Google;
        let keys: Vec<&str> = match keyed {
            true => fresh.iter().filter_map(|item| kind.natural_key(item.object.as_ref().ok()?)).collect(),
            false => Vec::new(),
        };
        let recorded_keys = self.resources.recorded_keys(child, kind.record_type(), &keys).await?;
        let mut seen_keys = HashSet::new();
        let label = provider.label();
        let mut new_items =
            NewItems { kind, ids: Vec::new(), raw: Vec::new(), natural_keys: Vec::new(), objects: Vec::new() };
        for item in fresh {
            match item.object {
                Ok(object) => {
                    let key = kind.natural_key(&object).filter(|_| keyed).map(str::to_owned);
                    if let Some(key) = &key {
                        if recorded_keys.contains(key) || !seen_keys.insert(key.clone()) {
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
                Err(skip) => skipped(label, kind.name(), child, &id_key(&item.id), &skip),
            }
        }
        Ok(new_items)
    }

    /// Publishes each kind's new items, then the logs, each waiting for the broker's confirm, and records the
    /// confirmed items. Stops at the first unconfirmed message: the rest is sent by the next sync.
    async fn publish(
        &self,
        child: ChildId,
        provider: &str,
        new_items: &[NewItems],
        logs: &[Value],
        confirmed: &mut Vec<ResourceKind>,
    ) -> Result<(), SyncError> {
        let child_id = child.to_string();
        for items in new_items.iter().filter(|items| !items.objects.is_empty()) {
            // A safe point: what was confirmed so far is recorded.
            if self.stop.is_cancelled() {
                return Err(SyncError::Interrupted);
            }
            self.publisher.publish_now(&items.kind.event(&items.objects), &child_id).await?;
            confirmed.push(items.kind);
            self.record(child, provider, items).await?;
        }
        if !logs.is_empty() {
            if self.stop.is_cancelled() {
                return Err(SyncError::Interrupted);
            }
            let event = Event::items("LogSyncEvent", "logs.sync", "log", logs);
            self.publisher.publish_now(&event, &child_id).await?;
        }
        Ok(())
    }

    /// Records confirmed items, retrying a failing MongoDB a few times. If it still fails the sync fails (503, no
    /// `last_sync`): the items go out again with the next sync (at least once; the consumers de-duplicate), and are
    /// counted meanwhile.
    async fn record(&self, child: ChildId, provider: &str, items: &NewItems) -> Result<(), SyncError> {
        let mut pending: Vec<(NewRecord, &Bson)> = items
            .raw
            .iter()
            .zip(&items.natural_keys)
            .zip(&items.ids)
            .map(|((resource, key), id)| (NewRecord { resource, natural_key: key.as_deref() }, id))
            .collect();
        let kind = items.kind.record_type();
        let mut delay = RECORD_FIRST_DELAY;
        let mut attempt = 1;
        loop {
            let records: Vec<NewRecord> = pending.iter().map(|(record, _)| *record).collect();
            match self.resources.record(child, kind, provider, &records).await {
                Ok(()) => return Ok(()),
                Err(e) if attempt < RECORD_ATTEMPTS => {
                    tracing::warn!("Error at save {kind} logs of child {child} (attempt {attempt}), retrying: {e}");
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                    attempt += 1;
                    // A write that timed out may have landed all the same: only what is missing is written again.
                    let ids: Vec<Bson> = pending.iter().map(|(_, id)| (*id).clone()).collect();
                    if let Ok(recorded) = self.resources.recorded(child, kind, &ids).await {
                        pending.retain(|(_, id)| !recorded.contains(&id_key(id)));
                    }
                    if pending.is_empty() {
                        return Ok(());
                    }
                }
                Err(e) => {
                    metrics::add(
                        "ds_agent_sync_items_unrecorded_total",
                        &format!(r#"kind="{kind}""#),
                        pending.len() as u64,
                    );
                    tracing::error!(
                        "Error at save {kind} logs: {e}. {} published items of child {child} are not recorded; the \
                         next sync sends them again",
                        pending.len()
                    );
                    return Err(e.into());
                }
            }
        }
    }

    /// Stores and announces the time of this sync (§9.2 step 9).
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
            Err(e) => tracing::info!("Error at update the last sync: {e}"),
        }
    }
}

/// Partial failures answer 200 as in the original, but are no longer silent (decisions #10).
fn part_failed(child: ChildId, provider: &str, part: &str, error: &ProviderError) {
    metrics::increment("ds_agent_sync_parts_failed_total", &format!(r#"part="{part}""#));
    tracing::warn!("{provider} sync of child {child}: the {part} part failed and counts 0: {error}");
}

/// Whether a refresh may cure a failed read: the provider said the access token expired (Fitbit `expired_token`,
/// or `invalid_token` whose message says so; Google's `UNAUTHENTICATED`, whose client policy is "refresh once").
fn refresh_may_cure<T>(provider: ProviderKind, read: &Result<T, ProviderError>) -> bool {
    let Err(error) = read else { return false };
    match error.kind {
        ProviderErrorKind::ExpiredToken => true,
        ProviderErrorKind::InvalidToken => {
            provider == ProviderKind::Google || error.detail.to_ascii_lowercase().contains("expired")
        }
        _ => false,
    }
}

/// One resource part of a sync; a kind whose scope was not granted has nothing to read.
async fn read_resource(
    source: &Source<'_>,
    scopes: &HashSet<&str>,
    kind: ResourceKind,
) -> Result<Vec<SourceItem>, ProviderError> {
    if !scopes.contains(source.scope(Some(kind))) {
        return Ok(Vec::new());
    }
    source.resources(kind).await
}

/// The log parts of a sync, in [`LogType::ALL`] order.
async fn read_logs(source: &Source<'_>, scopes: &HashSet<&str>) -> Vec<LogRead> {
    if !scopes.contains(source.scope(None)) {
        return LogType::ALL.map(|_| Ok((Vec::new(), Vec::new()))).to_vec();
    }
    source.logs().await
}
