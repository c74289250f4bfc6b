//! Counters for `GET /metrics` (Prometheus text format). They are process-wide, like the process they describe, so
//! any part of the service can count without carrying a handle around.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{LazyLock, Mutex};

/// Counter name and label set → value.
static COUNTERS: LazyLock<Mutex<BTreeMap<(&'static str, String), u64>>> = LazyLock::new(Default::default);
/// Gauges set by the service as it goes (those measured at scrape time are passed to [`render`]).
static GAUGES: LazyLock<Mutex<BTreeMap<&'static str, u64>>> = LazyLock::new(Default::default);
/// Histogram name → counts per bucket (the last one is `+Inf`), sum and count.
static HISTOGRAMS: LazyLock<Mutex<BTreeMap<&'static str, Histogram>>> = LazyLock::new(Default::default);

/// Bucket bounds of every histogram, in seconds.
const BUCKETS: [f64; 10] = [0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0];

#[derive(Default)]
struct Histogram {
    buckets: [u64; BUCKETS.len() + 1],
    sum: f64,
    count: u64,
}

const GAUGE_HELP: &[(&str, &str)] = &[(
    "ds_agent_google_children_without_notifications",
    "Google children with valid tokens that had no notification within GOOGLE_NOTIFICATION_STALE_HOURS, as of the \
     last cron tick (the cron keeps syncing them).",
)];

const HISTOGRAM_HELP: &[(&str, &str)] = &[(
    "ds_agent_notification_to_published_seconds",
    "From a child's first coalesced Google notification to the end of the sync it caused, every event confirmed.",
)];

const HELP: &[(&str, &str)] = &[
    ("ds_agent_syncs_total", "Child syncs by outcome (success, partial, failed, busy)."),
    ("ds_agent_sync_parts_failed_total", "Parts of a sync (weights, sleep, activities, a log type) that failed."),
    (
        "ds_agent_sync_items_unrecorded_total",
        "Items published but not recorded because MongoDB failed; the next sync sends them again.",
    ),
    (
        "ds_agent_sync_items_skipped_total",
        "Provider items not published, by provider, kind and reason (malformed, missing_field, unfinished, no_id).",
    ),
    (
        "ds_agent_notifications_total",
        "Google Health notifications by outcome (accepted, verification, unauthorized, bad_signature, malformed, \
         too_large, deleted, ignored_type, unknown_user, invalid_tokens, unavailable).",
    ),
    ("ds_agent_notification_jobs_total", "Sync jobs made of coalesced Google notifications."),
    ("ds_agent_mongodb_commands_total", "Commands sent to MongoDB (round trips), failed ones included."),
    ("ds_agent_provider_requests_total", "Provider HTTP requests by status code (0: no answer)."),
    ("ds_agent_publish_confirms_total", "Messages the broker confirmed."),
    ("ds_agent_publish_failures_total", "Messages the broker did not confirm."),
    ("ds_agent_token_refreshes_total", "Token refreshes by outcome."),
    ("ds_agent_jobs_total", "Sync jobs by outcome (done, failed, retried, rescheduled)."),
    (
        "ds_agent_redis_state_recovered_total",
        "Times Redis came back without the service's data and this instance rebuilt it from MongoDB.",
    ),
    ("ds_agent_connections_refused_total", "Connections closed at once: HTTP_MAX_CONNECTIONS were open."),
    ("ds_agent_connections_timed_out_total", "Connections closed for a slow request head or for being idle."),
    ("ds_agent_requests_rejected_total", "Requests answered 414 or 431 before they reached the routes, by status."),
];

pub fn increment(name: &'static str, labels: &str) {
    add(name, labels, 1);
}

pub fn add(name: &'static str, labels: &str, by: u64) {
    let mut counters = COUNTERS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    *counters.entry((name, labels.to_string())).or_insert(0) += by;
}

/// The current value, for tests and the bench.
pub fn value(name: &'static str, labels: &str) -> u64 {
    let counters = COUNTERS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    counters.get(&(name, labels.to_string())).copied().unwrap_or(0)
}

pub fn set_gauge(name: &'static str, value: u64) {
    GAUGES.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).insert(name, value);
}

pub fn gauge(name: &'static str) -> u64 {
    GAUGES.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).get(name).copied().unwrap_or(0)
}

pub fn observe(name: &'static str, seconds: f64) {
    let mut histograms = HISTOGRAMS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let histogram = histograms.entry(name).or_default();
    let bucket = BUCKETS.iter().position(|bound| seconds <= *bound).unwrap_or(BUCKETS.len());
    histogram.buckets[bucket] += 1;
    histogram.sum += seconds;
    histogram.count += 1;
}

/// Every counter, gauge and histogram, plus the gauges measured at scrape time.
pub fn render(gauges: &[(&str, &str, u64)]) -> String {
    let counters = COUNTERS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut out = String::new();
    for (name, help) in HELP {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
        for ((_, labels), value) in counters.range((*name, String::new())..).take_while(|((n, _), _)| n == name) {
            let labels = if labels.is_empty() { String::new() } else { format!("{{{labels}}}") };
            let _ = writeln!(out, "{name}{labels} {value}");
        }
    }
    let set = GAUGES.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let set_gauges = GAUGE_HELP.iter().map(|(name, help)| (*name, *help, set.get(name).copied().unwrap_or(0)));
    for (name, help, value) in gauges.iter().copied().chain(set_gauges) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}");
    }
    let histograms = HISTOGRAMS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    for (name, help) in HISTOGRAM_HELP {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        let empty = Histogram::default();
        let histogram = histograms.get(name).unwrap_or(&empty);
        let mut cumulative = 0;
        for (bound, count) in BUCKETS.iter().map(|b| b.to_string()).chain(["+Inf".to_string()]).zip(histogram.buckets) {
            cumulative += count;
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        let _ = writeln!(out, "{name}_sum {}\n{name}_count {}", histogram.sum, histogram.count);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn counters_render_with_their_labels() {
        super::increment("ds_agent_jobs_total", r#"outcome="unit-test""#);
        super::add("ds_agent_jobs_total", r#"outcome="unit-test""#, 2);
        let text = super::render(&[("ds_agent_job_queue_depth", "Jobs waiting.", 4)]);
        assert!(text.contains("ds_agent_jobs_total{outcome=\"unit-test\"} 3\n"), "{text}");
        assert!(text.contains("# TYPE ds_agent_job_queue_depth gauge\nds_agent_job_queue_depth 4\n"), "{text}");
    }

    #[test]
    fn histograms_render_cumulative_buckets() {
        super::observe("ds_agent_notification_to_published_seconds", 0.7);
        super::observe("ds_agent_notification_to_published_seconds", 400.0);
        let text = super::render(&[]);
        let name = "ds_agent_notification_to_published_seconds";
        assert!(text.contains(&format!("{name}_bucket{{le=\"1\"}} ")), "{text}");
        let count: u64 = text.lines().find_map(|l| l.strip_prefix(&format!("{name}_count "))?.parse().ok()).unwrap();
        let inf: u64 =
            text.lines().find_map(|l| l.strip_prefix(&format!("{name}_bucket{{le=\"+Inf\"}} "))?.parse().ok()).unwrap();
        assert!(count >= 2 && inf == count, "{text}");
    }
}
