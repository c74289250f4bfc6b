//! The service's Prometheus metrics, typed: one registry, one field per metric, labels as enums where their values
//! are a closed set. They are process-wide, like the process they describe, so any part of the service can count
//! through [`get`] without carrying a handle around. `GET /metrics` renders them in the OpenMetrics text format;
//! docs/operations.md#metrics lists them.

use std::fmt::Write as _;
use std::sync::LazyLock;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::domain::{ProviderKind, ResourceKind};

/// A label enum: its values as they appear in the metrics.
macro_rules! label_values {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl EncodeLabelValue for $name {
            fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
                encoder.write_str(self.as_str())
            }
        }
    };
}

label_values!(
    /// How a child's sync ended.
    SyncOutcome { Success => "success", Partial => "partial", Failed => "failed", Busy => "busy" }
);
label_values!(
    /// How a sync job ended.
    JobOutcome { Done => "done", Failed => "failed", Retried => "retried", Rescheduled => "rescheduled" }
);
label_values!(
    /// What became of a Google Health notification.
    NotificationOutcome {
        Accepted => "accepted",
        Verification => "verification",
        Unauthorized => "unauthorized",
        BadSignature => "bad_signature",
        Malformed => "malformed",
        TooLarge => "too_large",
        Deleted => "deleted",
        IgnoredType => "ignored_type",
        UnknownUser => "unknown_user",
        InvalidTokens => "invalid_tokens",
        Unavailable => "unavailable",
    }
);
label_values!(
    /// How a token refresh ended.
    RefreshOutcome { Success => "success", Failed => "failed" }
);
label_values!(
    /// Whose quota a Google 429 named: the whole Cloud project's, or one user's.
    QuotaScope { Project => "project", User => "user" }
);
label_values!(
    /// A service the instance needs (what `/health/ready` checks).
    Dependency { MongoDb => "mongodb", Redis => "redis", RabbitMq => "rabbitmq" }
);

/// The internal codes of the error events the service publishes, each counted from 0 so that a rule or a panel can
/// name them before the first one.
pub const ERROR_EVENT_CODES: [u16; 7] = [1011, 1012, 1021, 1401, 1410, 1429, 1500];

impl EncodeLabelValue for ProviderKind {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
        encoder.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SyncLabels {
    pub outcome: SyncOutcome,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JobLabels {
    pub outcome: JobOutcome,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct NotificationLabels {
    pub outcome: NotificationOutcome,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RefreshLabels {
    pub outcome: RefreshOutcome,
}

/// A part of a sync: a resource kind (`weights`, `sleep`, `activities`) or a log type (`steps`, …).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PartLabels {
    pub part: &'static str,
}

/// An OCARIoT kind published: a resource kind's name, or [`LOGS_KIND`].
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    pub kind: &'static str,
}

/// The kind label of published daily logs.
pub const LOGS_KIND: &str = "logs";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SkipLabels {
    pub provider: ProviderKind,
    pub kind: &'static str,
    pub reason: &'static str,
}

/// A provider HTTP answer's status code (0: no answer).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub provider: ProviderKind,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabels {
    pub status: u16,
}

/// An error event's internal code (1011, 1012, 1021, 1401, 1410, 1429, 1500).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CodeLabels {
    pub code: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct QuotaLabels {
    pub scope: QuotaScope,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ProviderLabels {
    pub provider: ProviderKind,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DependencyLabels {
    pub dependency: Dependency,
}

/// Bucket bounds of the notification latency, in seconds.
const LATENCY_BUCKETS: [f64; 10] = [0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0];
/// Bucket bounds of the Google pacing wait, in seconds.
const PACING_BUCKETS: [f64; 10] = [0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0];

pub struct Metrics {
    registry: Registry,
    pub syncs: Family<SyncLabels, Counter>,
    pub sync_parts_failed: Family<PartLabels, Counter>,
    pub sync_items_unrecorded: Family<KindLabels, Counter>,
    pub sync_items_skipped: Family<SkipLabels, Counter>,
    pub notifications: Family<NotificationLabels, Counter>,
    pub notification_jobs: Counter,
    pub mongodb_commands: Counter,
    pub provider_requests: Family<RequestLabels, Counter>,
    pub publish_confirms: Counter,
    pub publish_failures: Counter,
    pub token_refreshes: Family<RefreshLabels, Counter>,
    pub jobs: Family<JobLabels, Counter>,
    pub redis_state_recovered: Counter,
    pub connections_refused: Counter,
    pub connections_timed_out: Counter,
    pub requests_rejected: Family<StatusLabels, Counter>,
    pub job_queue_depth: Gauge,
    pub google_children_without_notifications: Gauge,
    pub notification_to_published: Histogram,
    pub items_published: Family<KindLabels, Counter>,
    pub error_events: Family<CodeLabels, Counter>,
    pub children: Family<ProviderLabels, Gauge>,
    pub job_oldest_seconds: Gauge,
    pub dependency_up: Family<DependencyLabels, Gauge>,
    pub notifications_enabled: Gauge,
    pub google_pacing_wait: Histogram,
    pub resident_memory: Gauge,
    pub google_quota_refusals: Family<QuotaLabels, Counter>,
    pub syncs_in_flight: Gauge,
    pub sync_pages_in_flight: Gauge,
    pub revocations_undecryptable: Counter,
    pub user_delete_dead_lettered: Counter,
}

/// One more in a gauge of things in flight for as long as it lives.
pub struct InFlight(&'static Gauge);

impl InFlight {
    pub fn new(gauge: &'static Gauge) -> Self {
        gauge.inc();
        InFlight(gauge)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// The process's metrics.
pub fn get() -> &'static Metrics {
    &METRICS
}

impl Metrics {
    fn new() -> Self {
        let mut metrics = Metrics {
            registry: Registry::default(),
            syncs: Family::default(),
            sync_parts_failed: Family::default(),
            sync_items_unrecorded: Family::default(),
            sync_items_skipped: Family::default(),
            notifications: Family::default(),
            notification_jobs: Counter::default(),
            mongodb_commands: Counter::default(),
            provider_requests: Family::default(),
            publish_confirms: Counter::default(),
            publish_failures: Counter::default(),
            token_refreshes: Family::default(),
            jobs: Family::default(),
            redis_state_recovered: Counter::default(),
            connections_refused: Counter::default(),
            connections_timed_out: Counter::default(),
            requests_rejected: Family::default(),
            job_queue_depth: Gauge::default(),
            google_children_without_notifications: Gauge::default(),
            notification_to_published: Histogram::new(LATENCY_BUCKETS),
            items_published: Family::default(),
            error_events: Family::default(),
            children: Family::default(),
            job_oldest_seconds: Gauge::default(),
            dependency_up: Family::default(),
            notifications_enabled: Gauge::default(),
            google_pacing_wait: Histogram::new(PACING_BUCKETS),
            resident_memory: Gauge::default(),
            syncs_in_flight: Gauge::default(),
            sync_pages_in_flight: Gauge::default(),
            google_quota_refusals: Family::default(),
            revocations_undecryptable: Counter::default(),
            user_delete_dead_lettered: Counter::default(),
        };
        // Counters are registered without `_total`: the encoder adds it.
        let registry = &mut metrics.registry;
        registry.register(
            "ds_agent_syncs",
            "Child syncs by outcome (success, partial, failed, busy)",
            metrics.syncs.clone(),
        );
        registry.register(
            "ds_agent_sync_parts_failed",
            "Parts of a sync (weights, sleep, activities, a log type) that failed",
            metrics.sync_parts_failed.clone(),
        );
        registry.register(
            "ds_agent_sync_items_unrecorded",
            "Items published but not recorded because MongoDB failed; the next sync sends them again",
            metrics.sync_items_unrecorded.clone(),
        );
        registry.register(
            "ds_agent_sync_items_skipped",
            "Provider items not published, by provider, kind and reason (malformed, missing_field, unfinished, no_id)",
            metrics.sync_items_skipped.clone(),
        );
        registry.register(
            "ds_agent_notifications",
            "Google Health notifications by outcome (accepted, verification, unauthorized, bad_signature, malformed, \
             too_large, deleted, ignored_type, unknown_user, invalid_tokens, unavailable)",
            metrics.notifications.clone(),
        );
        registry.register(
            "ds_agent_notification_jobs",
            "Sync jobs made of coalesced Google notifications",
            metrics.notification_jobs.clone(),
        );
        registry.register(
            "ds_agent_mongodb_commands",
            "Commands sent to MongoDB (round trips), failed ones included",
            metrics.mongodb_commands.clone(),
        );
        registry.register(
            "ds_agent_provider_requests",
            "Provider HTTP requests by status code (0: no answer)",
            metrics.provider_requests.clone(),
        );
        registry.register(
            "ds_agent_publish_confirms",
            "Messages the broker confirmed",
            metrics.publish_confirms.clone(),
        );
        registry.register(
            "ds_agent_publish_failures",
            "Messages the broker did not confirm",
            metrics.publish_failures.clone(),
        );
        registry.register("ds_agent_token_refreshes", "Token refreshes by outcome", metrics.token_refreshes.clone());
        registry.register(
            "ds_agent_jobs",
            "Sync jobs by outcome (done, failed, retried, rescheduled)",
            metrics.jobs.clone(),
        );
        registry.register(
            "ds_agent_redis_state_recovered",
            "Times Redis came back without the service's data and this instance rebuilt it from MongoDB",
            metrics.redis_state_recovered.clone(),
        );
        registry.register(
            "ds_agent_connections_refused",
            "Connections closed at once: HTTP_MAX_CONNECTIONS were open",
            metrics.connections_refused.clone(),
        );
        registry.register(
            "ds_agent_connections_timed_out",
            "Connections closed for a slow request head or for being idle",
            metrics.connections_timed_out.clone(),
        );
        registry.register(
            "ds_agent_requests_rejected",
            "Requests answered 414 or 431 before they reached the routes, by status",
            metrics.requests_rejected.clone(),
        );
        registry.register(
            "ds_agent_job_queue_depth",
            "Sync jobs waiting, running or scheduled for a retry, across instances",
            metrics.job_queue_depth.clone(),
        );
        registry.register(
            "ds_agent_google_children_without_notifications",
            "Google children with valid tokens that had no notification within GOOGLE_NOTIFICATION_STALE_HOURS, as of \
             the last cron tick (the cron keeps syncing them)",
            metrics.google_children_without_notifications.clone(),
        );
        registry.register(
            "ds_agent_notification_to_published_seconds",
            "From a child's first coalesced Google notification to the end of the sync it caused, every event confirmed",
            metrics.notification_to_published.clone(),
        );
        registry.register(
            "ds_agent_items_published",
            "Items published and confirmed, by OCARIoT kind (activities, sleep, weights, logs)",
            metrics.items_published.clone(),
        );
        registry.register(
            "ds_agent_error_events",
            "FitbitAuthErrorEvent published, by internal code",
            metrics.error_events.clone(),
        );
        registry.register(
            "ds_agent_children",
            "Children with valid tokens, by provider, as of the last cron tick this instance ran",
            metrics.children.clone(),
        );
        registry.register(
            "ds_agent_job_oldest_seconds",
            "Age of the oldest sync job waiting in the stream (0 when none), across instances",
            metrics.job_oldest_seconds.clone(),
        );
        registry.register(
            "ds_agent_dependency_up",
            "1 while the dependency answers (what /health/ready checks), read at scrape time",
            metrics.dependency_up.clone(),
        );
        registry.register(
            "ds_agent_notifications_enabled",
            "1 while the Google notification endpoint is on (GOOGLE_NOTIFICATION_SECRET set)",
            metrics.notifications_enabled.clone(),
        );
        registry.register(
            "ds_agent_google_pacing_wait_seconds",
            "How long a Google request waited for its child's request budget",
            metrics.google_pacing_wait.clone(),
        );
        registry.register(
            "ds_agent_google_quota_refusals",
            "Google 429s by whose quota they named: the project's (every child pauses) or a user's (that child pauses)",
            metrics.google_quota_refusals.clone(),
        );
        registry.register(
            "ds_agent_syncs_in_flight",
            "Child syncs running on this instance (at most SYNC_CONCURRENCY from jobs, plus the route's)",
            metrics.syncs_in_flight.clone(),
        );
        registry.register(
            "ds_agent_sync_pages_in_flight",
            "Pages the syncs of this instance hold, from the request to the record (at most SYNC_PAGES_IN_FLIGHT)",
            metrics.sync_pages_in_flight.clone(),
        );
        registry.register(
            "ds_agent_revocations_undecryptable",
            "Remote revocations kept because no configured key opens their tokens (counted at each try, every 6 h)",
            metrics.revocations_undecryptable.clone(),
        );
        registry.register(
            "ds_agent_user_delete_dead_lettered",
            "UserDeleteEvent messages parked on the dead-letter queue after failing every attempt",
            metrics.user_delete_dead_lettered.clone(),
        );
        registry.register(
            "process_resident_memory_bytes",
            "Resident memory of the process, read at scrape time",
            metrics.resident_memory.clone(),
        );
        // Every value of a closed label set from the start, so that rules and panels see them before the first event.
        for outcome in [SyncOutcome::Success, SyncOutcome::Partial, SyncOutcome::Failed, SyncOutcome::Busy] {
            let _ = metrics.syncs.get_or_create(&SyncLabels { outcome });
        }
        for outcome in [JobOutcome::Done, JobOutcome::Failed, JobOutcome::Retried, JobOutcome::Rescheduled] {
            let _ = metrics.jobs.get_or_create(&JobLabels { outcome });
        }
        for outcome in [
            NotificationOutcome::Accepted,
            NotificationOutcome::Verification,
            NotificationOutcome::Unauthorized,
            NotificationOutcome::BadSignature,
            NotificationOutcome::Malformed,
            NotificationOutcome::TooLarge,
            NotificationOutcome::Deleted,
            NotificationOutcome::IgnoredType,
            NotificationOutcome::UnknownUser,
            NotificationOutcome::InvalidTokens,
            NotificationOutcome::Unavailable,
        ] {
            let _ = metrics.notifications.get_or_create(&NotificationLabels { outcome });
        }
        for provider in ProviderKind::ALL {
            let _ = metrics.children.get_or_create(&ProviderLabels { provider });
        }
        for scope in [QuotaScope::Project, QuotaScope::User] {
            let _ = metrics.google_quota_refusals.get_or_create(&QuotaLabels { scope });
        }
        for code in ERROR_EVENT_CODES {
            let _ = metrics.error_events.get_or_create(&CodeLabels { code });
        }
        for kind in ResourceKind::ALL.map(ResourceKind::name).into_iter().chain([LOGS_KIND]) {
            let _ = metrics.items_published.get_or_create(&KindLabels { kind });
        }
        metrics
    }

    pub fn sync(&self, outcome: SyncOutcome) {
        self.syncs.get_or_create(&SyncLabels { outcome }).inc();
    }

    pub fn notification(&self, outcome: NotificationOutcome, count: u64) {
        self.notifications.get_or_create(&NotificationLabels { outcome }).inc_by(count);
    }

    pub fn job(&self, outcome: JobOutcome) {
        self.jobs.get_or_create(&JobLabels { outcome }).inc();
    }

    /// The OpenMetrics text of every metric.
    pub fn render(&self) -> String {
        let mut text = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut text, &self.registry) {
            let _ = writeln!(text, "# the metrics could not be encoded: {e}");
        }
        text
    }
}

/// The content type of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_render_with_their_labels_and_the_total_suffix() {
        let metrics = Metrics::new();
        metrics.job(JobOutcome::Retried);
        metrics.jobs.get_or_create(&JobLabels { outcome: JobOutcome::Retried }).inc_by(2);
        metrics.provider_requests.get_or_create(&RequestLabels { provider: ProviderKind::Google, status: 429 }).inc();
        metrics.job_queue_depth.set(4);
        let text = metrics.render();
        assert!(text.contains("ds_agent_jobs_total{outcome=\"retried\"} 3\n"), "{text}");
        assert!(text.contains("ds_agent_provider_requests_total{provider=\"google\",status=\"429\"} 1\n"), "{text}");
        assert!(text.contains("# TYPE ds_agent_job_queue_depth gauge\nds_agent_job_queue_depth 4\n"), "{text}");
        assert!(text.ends_with("# EOF\n"), "{text}");
    }

    #[test]
    fn histograms_render_cumulative_buckets() {
        let metrics = Metrics::new();
        metrics.notification_to_published.observe(0.7);
        metrics.notification_to_published.observe(400.0);
        let text = metrics.render();
        let name = "ds_agent_notification_to_published_seconds";
        assert!(text.contains(&format!("{name}_bucket{{le=\"1.0\"}} 1\n")), "{text}");
        assert!(text.contains(&format!("{name}_bucket{{le=\"+Inf\"}} 2\n")), "{text}");
        assert!(text.contains(&format!("{name}_count 2\n")), "{text}");
    }
}
