//! The simulator's state, shared by the HTTP handlers, the background webhook deliveries and the
//! [`crate::Simulator`] handle. One mutex guards it all: it is held briefly, never across an await nor while data is
//! generated (the users' generated data is kept in it, [`crate::memo`], but filled outside it).

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::runtime::Handle;
use tokio::sync::watch;

use crate::config::SimConfig;
use crate::dataset::today;
use crate::faults::Faults;
use crate::google::added::AddedPoints;
use crate::google::service_accounts::ServiceTokens;
use crate::google::tokens::GoogleTokenStore;
use crate::google::webhooks::Webhooks;
use crate::memo::{Memo, UserData};
use crate::rate_limit::{RateLimiter, TokenBuckets};
use crate::tokens::{TokenPair, TokenStore};
use crate::usage::Usage;

pub(crate) struct Shared {
    /// `http://<bound address>`, for links when a request names no host.
    pub base_url: String,
    pub client_id: String,
    pub client_secret: String,
    pub access_token_ttl_secs: i64,
    pub google: GoogleClient,
    /// The client of the verification handshakes and notification deliveries: no proxy, no redirects, 5 s timeout.
    pub outbound: reqwest::Client,
    pub started: Instant,
    /// Where background deliveries run: the runtime the simulator was started on, even when a test calls a
    /// [`crate::Simulator`] method from elsewhere.
    runtime: Handle,
    /// `true` once the simulator stops: pending deliveries and retries give up instead of holding it up.
    stopping: watch::Sender<bool>,
    /// Bytes of oversized and endless bodies handed to the server so far: how much a client read before it stopped
    /// (plus what the sockets buffer).
    pub streamed: Arc<std::sync::atomic::AtomicU64>,
    state: Mutex<State>,
}

/// The Google OAuth client and token lifetimes, fixed at start.
pub(crate) struct GoogleClient {
    pub client_id: String,
    pub client_secret: String,
    pub access_token_ttl_secs: i64,
    pub refresh_token_ttl_secs: Option<i64>,
    pub default_user: String,
}

/// The switches that can change while the simulator runs.
#[derive(Clone, Copy)]
pub(crate) struct Settings {
    pub rate_limit_per_hour: u32,
    pub latency: Duration,
    pub legacy_gone: bool,
    pub google_rate_limit_per_minute: u32,
    pub google_empty_first_page: bool,
    pub google_verbose: bool,
    pub google_phone_source: bool,
    pub google_unstable_reconcile_names: bool,
    pub google_sleep_processing_until: Option<i64>,
    pub google_requests_per_second: Option<f64>,
    pub google_project_requests_per_second: Option<f64>,
}

/// The webhook switches that can change while the simulator runs (not `Copy`, unlike [`Settings`], for the header
/// name).
#[derive(Clone, Debug)]
pub(crate) struct WebhookSettings {
    pub subscriber_direct_answer: bool,
    pub operations_pending: bool,
    pub omit_authorization: bool,
    pub signature_header: String,
    pub single: bool,
    pub batch: Duration,
    pub retry_base: Duration,
    pub max_attempts: u32,
}

pub(crate) struct State {
    pub settings: Settings,
    pub webhook_settings: WebhookSettings,
    pub tokens: TokenStore,
    pub faults: Faults,
    pub rate: RateLimiter,
    pub usage: HashMap<String, Usage>,
    pub google_tokens: GoogleTokenStore,
    pub google_rate: RateLimiter,
    /// Per-user pacing of Health API requests, when [`Settings::google_requests_per_second`] is set.
    pub google_pacing: TokenBuckets,
    /// Health API requests refused for the project's quota ([`Settings::google_project_requests_per_second`]).
    pub google_project_limited: u64,
    /// `reconcile` answers served so far, for names that change from call to call.
    pub google_reconcile_calls: u64,
    /// Users whose Google account has no Google Health profile (`ACCOUNT_NOT_LINKED`).
    pub google_unlinked: HashSet<String>,
    /// Users whose newest items are served defective ([`crate::Simulator::set_google_defects`]).
    pub google_defects: HashSet<String>,
    /// Tokens of the JWT-bearer grant, for the subscriber routes.
    pub google_service_tokens: ServiceTokens,
    /// Points added through the admin routes, served besides the generated ones.
    pub google_added: AddedPoints,
    /// Fitbit logs added per user ([`crate::Simulator::add_fitbit_log`]): the list (`activities`, `sleep`) and the log.
    pub fitbit_added: HashMap<String, Vec<(&'static str, serde_json::Value)>>,
    pub webhooks: Webhooks,
    /// `"<METHOD> <path and query>"` of every request to the project routes (`/v4/projects/…`), in arrival order.
    pub google_project_requests: Vec<String>,
    /// The generated data of the users served lately, kept until the day changes.
    pub memo: Memo,
}

impl Shared {
    /// Must be called on a Tokio runtime, which runs the background deliveries.
    pub(crate) fn new(config: SimConfig, base_url: String) -> Shared {
        let settings = Settings {
            rate_limit_per_hour: config.rate_limit_per_hour,
            latency: config.latency,
            legacy_gone: config.legacy_gone,
            google_rate_limit_per_minute: config.google_rate_limit_per_minute,
            google_empty_first_page: config.google_empty_first_page,
            google_verbose: config.google_verbose,
            google_phone_source: config.google_phone_source,
            google_unstable_reconcile_names: config.google_unstable_reconcile_names,
            google_sleep_processing_until: config.google_sleep_processing_until,
            google_requests_per_second: config.google_requests_per_second,
            google_project_requests_per_second: config.google_project_requests_per_second,
        };
        let webhook_settings = WebhookSettings {
            subscriber_direct_answer: config.google_subscriber_direct_answer,
            operations_pending: config.google_operations_pending,
            omit_authorization: config.google_notification_omit_authorization,
            signature_header: config.google_signature_header.clone(),
            single: config.google_notifications_single,
            batch: Duration::from_millis(config.google_notification_batch_ms),
            retry_base: Duration::from_millis(config.google_notification_retry_base_ms),
            max_attempts: config.google_notification_max_attempts,
        };
        let state = State {
            settings,
            webhook_settings,
            tokens: TokenStore::new(config.fitbit_client_id.clone()),
            faults: Faults::default(),
            rate: RateLimiter::hourly(),
            usage: HashMap::new(),
            google_tokens: GoogleTokenStore::default(),
            google_rate: RateLimiter::per_minute(),
            google_pacing: TokenBuckets::default(),
            google_project_limited: 0,
            google_reconcile_calls: 0,
            google_unlinked: HashSet::new(),
            google_defects: HashSet::new(),
            google_service_tokens: ServiceTokens::default(),
            google_added: AddedPoints::default(),
            fitbit_added: HashMap::new(),
            webhooks: Webhooks::new(),
            google_project_requests: Vec::new(),
            memo: Memo::new(config.memo_users),
        };
        // The webhook endpoints it calls are local services (ds-agent's tests and dev runs) with self-signed
        // certificates: a stand-in checks no certificate.
        let outbound = reqwest::Client::builder()
            .no_proxy()
            .danger_accept_invalid_certs(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(5))
            .build()
            .expect("an HTTP client with rustls builds");
        Shared {
            base_url,
            client_id: config.fitbit_client_id,
            client_secret: config.fitbit_client_secret,
            access_token_ttl_secs: config.access_token_ttl_secs,
            google: GoogleClient {
                client_id: config.google_client_id,
                client_secret: config.google_client_secret,
                access_token_ttl_secs: config.google_access_token_ttl_secs,
                refresh_token_ttl_secs: config.google_refresh_token_ttl_secs,
                default_user: config.google_default_user,
            },
            outbound,
            started: Instant::now(),
            runtime: Handle::current(),
            stopping: watch::Sender::new(false),
            streamed: Arc::default(),
            state: Mutex::new(state),
        }
    }

    /// Runs `task` in the background on the simulator's runtime.
    pub(crate) fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        self.runtime.spawn(task);
    }

    /// Tells background tasks that the simulator stops.
    pub(crate) fn stop_background(&self) {
        self.stopping.send_replace(true);
    }

    /// Resolves once the simulator stops.
    pub(crate) fn stopped(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut stopping = self.stopping.subscribe();
        async move {
            // An error means the sender is gone, which is a stop too.
            let _ = stopping.wait_for(|stopping| *stopping).await;
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking handler cannot leave the state half-updated in a way that matters to a test double.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn issue_tokens(&self, user: &str, scopes: &str, expires_in: i64) -> TokenPair {
        self.lock().tokens.issue(user, scopes, expires_in, now())
    }

    /// A new consent of `user` to the Google app, with a refresh token.
    pub(crate) fn issue_google_tokens(&self, user: &str, scopes: &str, expires_in: i64) -> TokenPair {
        let refresh_ttl = self.google.refresh_token_ttl_secs;
        self.lock().google_tokens.issue(user, scopes, expires_in, refresh_ttl, now())
    }

    /// The generated data of `user` as of today, kept or new. The lock is held only to look it up and to keep it:
    /// the data is generated as requests ask for it, outside the lock.
    pub(crate) fn user_data(&self, user: &str) -> Arc<UserData> {
        let today = today();
        if let Some(data) = self.lock().memo.get(user, today) {
            return data;
        }
        let data = Arc::new(UserData::new(user, today));
        self.lock().memo.insert(data)
    }

    pub(crate) fn usage(&self, user: &str) -> Usage {
        self.lock().usage.get(user).cloned().unwrap_or_default()
    }
}

pub(crate) fn now() -> i64 {
    chrono::Utc::now().timestamp()
}
