//! Counters for `GET /metrics` (Prometheus text format). They are process-wide, like the process they describe, so
//! any part of the service can count without carrying a handle around.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{LazyLock, Mutex};

/// Counter name and label set → value.
static COUNTERS: LazyLock<Mutex<BTreeMap<(&'static str, String), u64>>> = LazyLock::new(Default::default);

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
    ("ds_agent_mongodb_commands_total", "Commands sent to MongoDB (round trips), failed ones included."),
    ("ds_agent_provider_requests_total", "Provider HTTP requests by status code (0: no answer)."),
    ("ds_agent_publish_confirms_total", "Messages the broker confirmed."),
    ("ds_agent_publish_failures_total", "Messages the broker did not confirm."),
    ("ds_agent_token_refreshes_total", "Token refreshes by outcome."),
    ("ds_agent_jobs_total", "Sync jobs by outcome (done, failed, retried, rescheduled)."),
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

/// Every counter, plus the gauges measured at scrape time.
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
    for (name, help, value) in gauges {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}");
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
}
