//! Every Redis key of the service's shared state, in one place. Each carries a namespace (`ds-agent:<database>`, the
//! MongoDB database name), so services that share a Redis but not a database never take each other's jobs.
//!
//! - `<ns>:jobs`: the stream of due jobs, read through the consumer group `workers`; each entry's field `job` holds
//!   the [`JobPayload`](super::JobPayload) as JSON;
//! - `<ns>:delayed`: a sorted set of job payloads waiting for a retry or a provider's rate-limit reset, by due time;
//! - `<ns>:queued`: the children with a job queued, running or delayed, so a tick never enqueues one twice;
//! - `<ns>:retry_at`: child → due time (epoch ms) of its delayed job, for the status route;
//! - `<ns>:receipts:<child>`: ids of MongoDB records the child's current job settles when it ends (the notification
//!   journal's entries, see `notifications`);
//! - `<ns>:tick:<tick>` and `<ns>:tick:<tick>:claim`: one cron tick's progress, and which instance runs it;
//! - `<ns>:notify:due`, `<ns>:notify:{types,days,first,ids}:<health user>`: Google notifications waiting for their
//!   coalescing window to close (`notified`), and `<ns>:notify:last`: child → when notifications last made it a job;
//! - `<ns>:epoch`: the marker whose presence says Redis still holds all this (see `coordination::epoch`).

/// The keys of one service's namespace.
#[derive(Clone, Debug)]
pub struct JobKeys {
    namespace: String,
}

/// The Redis keys of one Google Health user's notifications waiting for their window to close.
pub(super) struct WaitingKeys {
    pub types: String,
    pub days: String,
    pub first: String,
    pub ids: String,
}

impl JobKeys {
    /// The keys of the service whose MongoDB database is `database`.
    pub fn new(database: &str) -> Self {
        JobKeys { namespace: format!("ds-agent:{database}") }
    }

    fn key(&self, name: &str) -> String {
        format!("{}:{name}", self.namespace)
    }

    /// The stream of due jobs.
    pub fn stream(&self) -> String {
        self.key("jobs")
    }

    pub fn delayed(&self) -> String {
        self.key("delayed")
    }

    pub fn queued(&self) -> String {
        self.key("queued")
    }

    pub fn retry_at(&self) -> String {
        self.key("retry_at")
    }

    /// The set of record ids that `child`'s current job settles when it ends.
    pub fn receipts(&self, child: &str) -> String {
        self.key(&format!("receipts:{child}"))
    }

    pub fn epoch(&self) -> String {
        self.key("epoch")
    }

    pub fn tick(&self, tick: i64) -> String {
        self.key(&format!("tick:{tick}"))
    }

    pub fn tick_claim(&self, tick: i64) -> String {
        self.key(&format!("tick:{tick}:claim"))
    }

    /// Google Health users whose waiting notifications are due, scored by their window's end.
    pub fn notify_due(&self) -> String {
        self.key("notify:due")
    }

    pub fn notify_last(&self) -> String {
        self.key("notify:last")
    }

    pub(super) fn waiting(&self, health_user_id: &str) -> WaitingKeys {
        let key = |part: &str| self.key(&format!("notify:{part}:{health_user_id}"));
        WaitingKeys { types: key("types"), days: key("days"), first: key("first"), ids: key("ids") }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_keys_keep_their_names() {
        let keys = JobKeys::new("data-sync");
        assert_eq!(keys.stream(), "ds-agent:data-sync:jobs");
        assert_eq!(keys.delayed(), "ds-agent:data-sync:delayed");
        assert_eq!(keys.queued(), "ds-agent:data-sync:queued");
        assert_eq!(keys.retry_at(), "ds-agent:data-sync:retry_at");
        assert_eq!(keys.receipts("c1"), "ds-agent:data-sync:receipts:c1");
        assert_eq!(keys.epoch(), "ds-agent:data-sync:epoch");
        assert_eq!(keys.tick(7), "ds-agent:data-sync:tick:7");
        assert_eq!(keys.tick_claim(7), "ds-agent:data-sync:tick:7:claim");
        assert_eq!(keys.notify_due(), "ds-agent:data-sync:notify:due");
        assert_eq!(keys.notify_last(), "ds-agent:data-sync:notify:last");
        let waiting = keys.waiting("u1");
        assert_eq!(
            [waiting.types, waiting.days, waiting.first, waiting.ids],
            [
                "ds-agent:data-sync:notify:types:u1",
                "ds-agent:data-sync:notify:days:u1",
                "ds-agent:data-sync:notify:first:u1",
                "ds-agent:data-sync:notify:ids:u1"
            ]
        );
    }
}
