//! The handle tests and the binary hold: starts the HTTP server, steers it, and stops it when dropped.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::SimConfig;
use crate::faults::Fault;
use crate::fitbit::tokens::AccessState;
use crate::google::mapping::health_user_id;
use crate::google::notifications::Change;
use crate::google::subscribers::Subscriber;
use crate::google::tokens::GoogleAccess;
use crate::google::webhooks::Delivery;
use crate::http;
use crate::notifier;
use crate::state::{now, Shared};
use crate::tokens::TokenPair;
use crate::usage::{GoogleCounts, RequestCounts};

pub struct Simulator {
    shared: Arc<Shared>,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
}

impl Simulator {
    /// Binds `addr` (`"127.0.0.1:0"` picks a free port) and serves in the background on the current Tokio runtime.
    pub async fn start(config: SimConfig, addr: &str) -> io::Result<Simulator> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(config, format!("http://{addr}")));
        let app = http::router(shared.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let shutdown = async {
                // A dropped sender stops the server too.
                let _ = stopped.await;
            };
            if let Err(error) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
                tracing::error!("provider-sim server failed: {error}");
            }
        });
        Ok(Simulator { shared, addr, stop: Some(stop), server: Some(server) })
    }

    /// `http://127.0.0.1:<port>`: what ds-agent uses in place of `https://api.fitbit.com`, and of
    /// `https://health.googleapis.com` and `https://oauth2.googleapis.com` (`GOOGLE_HEALTH_API_URL`,
    /// `GOOGLE_OAUTH_URL`).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A new authorisation of the app by `fitbit_user_id`. A negative `expires_in_secs` gives an expired access token.
    pub fn issue_fitbit_tokens(&self, fitbit_user_id: &str, scopes: &str, expires_in_secs: i64) -> TokenPair {
        self.shared.issue_tokens(fitbit_user_id, scopes, expires_in_secs)
    }

    /// A new consent of `fitbit_user_id` (the same person on Google's side) to the Google app: an access token and a
    /// non-rotating refresh token, as after the consent page and a code exchange. `scopes` are full Google scope URLs,
    /// space-separated (see [`crate::GOOGLE_HEALTH_SCOPES`]). A negative `expires_in_secs` gives an expired access
    /// token.
    pub fn issue_google_tokens(&self, fitbit_user_id: &str, scopes: &str, expires_in_secs: i64) -> TokenPair {
        self.shared.issue_google_tokens(fitbit_user_id, scopes, expires_in_secs)
    }

    /// Adds a log of `fitbit_user_id` to a legacy list, `"activities"` or `"sleep"`, served as written besides the
    /// generated ones from now on: on the date of its `startTime` (activities) or its `dateOfSleep` (sleep), after
    /// that day's generated items. For what generated logs never have (a duration of fractional seconds). Panics on
    /// another list.
    pub fn add_fitbit_log(&self, fitbit_user_id: &str, list: &str, log: Value) {
        let list = match list {
            "activities" => "activities",
            "sleep" => "sleep",
            other => panic!("no Fitbit list {other}"),
        };
        self.shared.lock().fitbit.added.entry(fitbit_user_id.to_string()).or_default().push((list, log));
    }

    pub fn counts(&self, fitbit_user_id: &str) -> RequestCounts {
        self.shared.usage(fitbit_user_id).counts
    }

    /// Path and query of each data GET of this user, in arrival order.
    pub fn data_requests(&self, fitbit_user_id: &str) -> Vec<String> {
        self.shared.usage(fitbit_user_id).data_paths
    }

    pub fn google_counts(&self, fitbit_user_id: &str) -> GoogleCounts {
        self.shared.usage(fitbit_user_id).google
    }

    /// `"<METHOD> <path and query>"` of each Health API request of this user in arrival order, with `" <JSON body>"`
    /// appended for POSTs (`dailyRollUp`).
    pub fn google_data_requests(&self, fitbit_user_id: &str) -> Vec<String> {
        self.shared.usage(fitbit_user_id).google_requests
    }

    /// Bytes of oversized and endless bodies (faults) the simulator has streamed so far: what a client read of them,
    /// plus what the sockets buffer.
    pub fn streamed_bytes(&self) -> u64 {
        self.shared.streamed.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn add_fault(&self, fault: Fault) {
        self.shared.lock().faults.add(fault);
    }

    pub fn clear_faults(&self) {
        self.shared.lock().faults.clear();
    }

    pub fn set_legacy_gone(&self, gone: bool) {
        self.shared.lock().config.legacy_gone = gone;
    }

    pub fn set_rate_limit(&self, per_hour: u32) {
        self.shared.lock().config.rate_limit_per_hour = per_hour;
    }

    /// Health API requests allowed per user per clock minute (Google's 300).
    pub fn set_google_rate_limit(&self, per_minute: u32) {
        self.shared.lock().config.google_rate_limit_per_minute = per_minute;
    }

    /// Make every first page of a Health API `list` empty but with a `nextPageToken`, as Google sometimes answers.
    pub fn set_google_empty_first_page(&self, empty: bool) {
        self.shared.lock().config.google_empty_first_page = empty;
    }

    /// `true`: Health API points and rollups print every field, zeros and `false` included, and the phone source is
    /// off (the simulator's old output). `false`, the default: proto3 JSON as Google sends it, defaults left out.
    pub fn set_google_verbose(&self, verbose: bool) {
        self.shared.lock().config.google_verbose = verbose;
    }

    /// Whether `list` of `exercise` also returns the phone's walks ([`crate::phone_exercise_days`]); on by default,
    /// always off when verbose.
    pub fn set_google_phone_source(&self, phone: bool) {
        self.shared.lock().config.google_phone_source = phone;
    }

    /// `true`: every `reconcile` answer gives each point a `dataPointName` whose id changes from call to call.
    pub fn set_google_unstable_reconcile_names(&self, unstable: bool) {
        self.shared.lock().config.google_unstable_reconcile_names = unstable;
    }

    /// `Some(epoch secs)`: until then each user's newest night (the one that ended today) is served still processing
    /// (no `processed` and no `stagesStatus`; `"processed": false` when verbose). `None`, the default: every night is
    /// processed.
    pub fn set_google_sleep_processing_until(&self, until: Option<i64>) {
        self.shared.lock().config.google_sleep_processing_until = until;
    }

    /// `Some(r)`: pace each user's Health API requests with a token bucket of capacity `2r` (at least one token)
    /// refilled at `r` per second, answering 429 `RESOURCE_EXHAUSTED` without `Retry-After` when it is empty (counted
    /// in [`GoogleCounts::rate_limited`]); `r <= 0` lets one request through, then none. Every bucket starts full
    /// again. `None`, the default: only the per-minute quota applies.
    pub fn set_google_requests_per_second(&self, per_second: Option<f64>) {
        let mut state = self.shared.lock();
        state.config.google_requests_per_second = per_second;
        state.google.quota.pacing.clear();
    }

    /// `Some(r)`: pace the whole project's Health API requests with one token bucket (capacity `2r`, refilled at `r`
    /// per second), answering 429 with a project `QuotaFailure` when it is empty (counted in
    /// [`Simulator::google_project_limited`]). `None`, the default: no project quota.
    pub fn set_google_project_requests_per_second(&self, per_second: Option<f64>) {
        let mut state = self.shared.lock();
        state.config.google_project_requests_per_second = per_second;
        state.google.quota.pacing.clear();
    }

    /// Health API requests refused so far for the project's quota.
    pub fn google_project_limited(&self) -> u64 {
        self.shared.lock().google.quota.project_limited
    }

    /// The user took back the permission for `data_types` (kebab-case: `sleep`, `steps`…) after consenting: every
    /// Health API read of those types with a token of the user's consents so far (`list`, `reconcile`,
    /// `dailyRollUp`) answers 403 `PERMISSION_DENIED` "The caller does not have permission", without a reason; the
    /// other types are served. A new consent (the consent page's code exchange, or [`Self::issue_google_tokens`])
    /// grants them all again, as reconnecting the app does; so does an empty list. How many consents it touched.
    pub fn set_google_permission_denied(&self, fitbit_user_id: &str, data_types: &[&str]) -> usize {
        let data_types: Vec<String> = data_types.iter().map(|t| t.to_string()).collect();
        self.shared.lock().google.tokens.deny(fitbit_user_id, &data_types)
    }

    /// An unlinked user's Google account has no Google Health profile: every Health API request of theirs answers
    /// 400 `FAILED_PRECONDITION` / `ACCOUNT_NOT_LINKED`. Users are linked by default.
    pub fn set_google_account_linked(&self, fitbit_user_id: &str, linked: bool) {
        let unlinked = &mut self.shared.lock().google.unlinked;
        if linked {
            unlinked.remove(fitbit_user_id);
        } else {
            unlinked.insert(fitbit_user_id.to_string());
        }
    }

    /// `true`: the Health API serves a few defective items of `fitbit_user_id`, the newest of each kind, in every
    /// answer that holds them (`list` and `reconcile`, any page, source family, encoding or filter; `dailyRollUp` of
    /// `steps`, any window). With `d = google_dataset(fitbit_user_id, from, today)` ([`crate::google_dataset`], any
    /// `from` early enough to hold the item):
    /// - `exercise`: the last of `d.points["exercise"]` (the tracker's latest start; the phone's walks are never
    ///   broken) has no `metricsSummary.caloriesKcal`;
    /// - `sleep`: the last of `d.points["sleep"]` has its first stage's `type` set to `"SLEEP_STAGE_TYPE_UNSPECIFIED"`;
    /// - `weight`: the last of `d.points["weight"]` has no `name` (`list`), no `dataPointName` (`reconcile`);
    /// - `steps`: the bucket of the day of the last of `d.daily_rollups["steps"]` (the latest worn day) is
    ///   `"steps": {"countSum": "many"}`; it is the last bucket of any `dailyRollUp` whose range holds that day.
    ///
    /// Everything else is served unchanged. Off by default.
    pub fn set_google_defects(&self, fitbit_user_id: &str, on: bool) {
        let defective = &mut self.shared.lock().google.defects;
        if on {
            defective.insert(fitbit_user_id.to_string());
        } else {
            defective.remove(fitbit_user_id);
        }
    }

    /// Where the simulator serves the public keyset of its webhook signatures: what ds-agent uses in place of
    /// `https://www.gstatic.com/googlehealthapi/webhooks/webhooks_public_keyset.json`.
    pub fn google_webhook_keyset_url(&self) -> String {
        format!("{}{}", self.base_url(), http::KEYSET_PATH)
    }

    /// The signature header's value the simulator would send with `body`, by the primary key: base64 of `0x01`, the
    /// key id (4 bytes, big-endian) and the DER ECDSA P-256 SHA-256 signature of the exact bytes.
    pub fn sign_google_notification(&self, body: &[u8]) -> String {
        self.shared.lock().webhooks.keys.sign(body)
    }

    /// The id of the key that signs now (the keyset's `primaryKeyId`).
    pub fn google_webhook_key_id(&self) -> u32 {
        self.shared.lock().webhooks.keys.primary_id()
    }

    /// A new key with a new id becomes primary and signs from now on, retries of earlier notifications included; the
    /// old keys stay in the keyset, `ENABLED` unless retired.
    pub fn rotate_google_webhook_key(&self) {
        self.shared.lock().webhooks.keys.rotate();
    }

    /// `true`: every key but the primary is listed `DISABLED`, as once Google's rotation is over (a client must use
    /// only `ENABLED` keys). `false`, the default: all `ENABLED`.
    pub fn set_google_webhook_key_retired(&self, retired: bool) {
        self.shared.lock().webhooks.keys.set_retired(retired);
    }

    /// Every subscriber of every project, as a get answers it (no secret), ordered by name.
    pub fn google_subscribers(&self) -> Vec<Value> {
        self.shared.lock().webhooks.subscribers.all().map(Subscriber::to_json).collect()
    }

    /// Adds a `WALKING` exercise of `fitbit_user_id` from the tracker, starting at `start` (seen at the activity logs'
    /// `-03:00`), that `list` and `reconcile` serve from now on; then notifies its `UPSERT` to the subscribers of
    /// `exercise`. Rollups do not change; like all data, it is served only if dated within the history (two years
    /// ago to today). The new point's `name`, `users/{healthUserId}/dataTypes/exercise/dataPoints/
    /// {id}`.
    pub fn add_google_exercise(&self, fitbit_user_id: &str, start: DateTime<Utc>, minutes: u32, steps: u64) -> String {
        notifier::add_google_exercise(&self.shared, fitbit_user_id, start, minutes, steps, "WALKING")
    }

    /// Adds a point of `data_type` (kebab-case: `exercise`, `sleep`…) of `fitbit_user_id` from the tracker, its
    /// payload (what goes under the type's camelCase key) exactly `payload`: `list` and `reconcile` serve it from now
    /// on, as written, in every encoding, when the filters take its times. The payload needs an `interval`
    /// (`startTime`, `startUtcOffset`, `endTime`, `endUtcOffset`) or a `sampleTime` (`physicalTime`, `utcOffset`);
    /// times may carry fractions of a second. Nothing is notified and rollups do not change. The point's `name`.
    /// Panics when those times do not read.
    pub fn add_google_point(&self, fitbit_user_id: &str, data_type: &str, payload: Value) -> String {
        let health_user = health_user_id(fitbit_user_id);
        let mut state = self.shared.lock();
        state.google.added.add_point(fitbit_user_id, &health_user, data_type, payload).expect("a payload with times")
    }

    /// Notifies a change of `data_type` (kebab-case) between `start` and `end` for `fitbit_user_id` without making
    /// one, to every active subscriber of that type; `operation` is `UPSERT` or `DELETE` (any other value is sent as
    /// given). How many subscribers it goes to.
    pub fn notify_google(
        &self,
        fitbit_user_id: &str,
        data_type: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        operation: &str,
    ) -> usize {
        let change = Change {
            user: fitbit_user_id.to_string(),
            data_type: data_type.to_string(),
            start,
            end,
            operation: operation.to_string(),
        };
        notifier::raise(&self.shared, &change)
    }

    /// Every notification delivery attempt so far, in the order they finished.
    pub fn google_deliveries(&self) -> Vec<Delivery> {
        self.shared.lock().webhooks.deliveries.clone()
    }

    /// `true`: subscriber create and patch answer the Subscriber itself, delete `{}`. `false`, the default: a done
    /// `Operation` whose `response` they are.
    pub fn set_google_subscriber_direct_answer(&self, direct: bool) {
        self.shared.lock().config.google_subscriber_direct_answer = direct;
    }

    /// `true`: subscriber create, patch and delete answer an `Operation` that is not done and carry out the change a
    /// second later in the background ([`SimConfig::google_operations_pending`]). `false`, the default: at once.
    pub fn set_google_operations_pending(&self, pending: bool) {
        self.shared.lock().config.google_operations_pending = pending;
    }

    /// `"<METHOD> <path and query>"` of every request to the project routes (the subscribers), in arrival order; an
    /// `access_token` in the query is shortened.
    pub fn google_project_requests(&self) -> Vec<String> {
        self.shared.lock().webhooks.requests.clone()
    }

    /// The batch window, 50 ms by default.
    pub fn set_google_notification_batch_ms(&self, ms: u64) {
        self.shared.lock().config.google_notification_batch_ms = ms;
    }

    /// The wait before a delivery's first retry (1000 ms by default); it doubles with each retry.
    pub fn set_google_notification_retry_base_ms(&self, ms: u64) {
        self.shared.lock().config.google_notification_retry_base_ms = ms;
    }

    pub fn set_latency(&self, latency: Duration) {
        self.shared.lock().config.latency = latency;
    }

    /// Known, not yet used and not revoked.
    pub fn is_refresh_token_valid(&self, refresh_token: &str) -> bool {
        self.shared.lock().fitbit.tokens.is_refresh_valid(refresh_token)
    }

    /// Known, not expired and not revoked.
    pub fn is_access_token_active(&self, access_token: &str) -> bool {
        matches!(self.shared.lock().fitbit.tokens.access_state(access_token, now()), AccessState::Active { .. })
    }

    /// A Google refresh token that is known, not revoked and not expired.
    pub fn is_google_refresh_token_valid(&self, refresh_token: &str) -> bool {
        self.shared.lock().google.tokens.is_refresh_valid(refresh_token, now())
    }

    /// A Google access token that is known, not expired and not revoked.
    pub fn is_google_access_token_active(&self, access_token: &str) -> bool {
        matches!(self.shared.lock().google.tokens.access_state(access_token, now()), GoogleAccess::Active { .. })
    }

    /// Stops accepting connections and waits for requests in flight to finish (not for pending notification
    /// deliveries or retries, which are dropped).
    pub async fn shutdown_and_wait(mut self) {
        self.signal_stop();
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }

    fn signal_stop(&mut self) {
        self.shared.stop_background();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.signal_stop();
    }
}
