//! The simulator's state, shared by the HTTP handlers, the background webhook deliveries and the
//! [`crate::Simulator`] handle, in named parts: the settings in force, faults, each user's usage, the memo of generated
//! data, and the Fitbit, Google and webhook sides. One mutex guards it all: it is held briefly, never across an await
//! nor while data is generated (the users' generated data is kept in it, [`crate::memo`], but filled outside it).

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::runtime::Handle;
use tokio::sync::watch;

use crate::config::SimConfig;
use crate::dataset::today;
use crate::faults::Faults;
use crate::fitbit::tokens::TokenStore;
use crate::google::added::AddedPoints;
use crate::google::service_accounts::ServiceTokens;
use crate::google::tokens::GoogleTokenStore;
use crate::google::webhooks::Webhooks;
use crate::memo::{Memo, UserData};
use crate::rate_limit::{RateLimiter, TokenBuckets};
use crate::tokens::TokenPair;
use crate::usage::Usage;

pub(crate) struct Shared {
    /// `http://<bound address>`, for links when a request names no host.
    pub base_url: String,
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

pub(crate) struct State {
    /// Every setting in force: what the simulator started with, changed since through [`crate::Simulator`] or
    /// `/__admin/config` ([`State::configure`]).
    pub config: SimConfig,
    pub faults: Faults,
    /// What each user asked for so far.
    pub usage: HashMap<String, Usage>,
    /// The generated data of the users served lately, kept until the day changes.
    pub memo: Memo,
    pub fitbit: FitbitState,
    pub google: GoogleState,
    pub webhooks: Webhooks,
}

/// The legacy Fitbit side.
pub(crate) struct FitbitState {
    pub tokens: TokenStore,
    /// The hourly quota per user.
    pub rate: RateLimiter,
    /// Logs added per user ([`crate::Simulator::add_fitbit_log`]): the list (`activities`, `sleep`) and the log.
    pub added: HashMap<String, Vec<(&'static str, serde_json::Value)>>,
}

/// The Google side, webhooks apart.
pub(crate) struct GoogleState {
    pub tokens: GoogleTokenStore,
    /// Tokens of the JWT-bearer grant, for the subscriber routes.
    pub service_tokens: ServiceTokens,
    pub quota: GoogleQuota,
    /// `reconcile` answers served so far, for names that change from call to call.
    pub reconcile_calls: u64,
    /// Users whose Google account has no Google Health profile (`ACCOUNT_NOT_LINKED`).
    pub unlinked: HashSet<String>,
    /// Users whose newest items are served defective ([`crate::Simulator::set_google_defects`]).
    pub defects: HashSet<String>,
    /// Points added through the admin routes, served besides the generated ones.
    pub added: AddedPoints,
}

/// Google's limits on Health API requests.
pub(crate) struct GoogleQuota {
    /// Per user and clock minute.
    pub rate: RateLimiter,
    /// Per-user pacing, when [`SimConfig::google_requests_per_second`] is set, and the project's bucket.
    pub pacing: TokenBuckets,
    /// Requests refused for the project's quota ([`SimConfig::google_project_requests_per_second`]).
    pub project_limited: u64,
}

impl State {
    /// Sets one setting by name ([`SimConfig::set`]) and what depends on it: new paces start with full buckets, the
    /// memo keeps as many users as it is told.
    pub(crate) fn configure(&mut self, name: &str, value: &serde_json::Value) -> Result<(), String> {
        self.config.set(name, value)?;
        match name {
            "google_requests_per_second" | "google_project_requests_per_second" => self.google.quota.pacing.clear(),
            "memo_users" => self.memo.set_capacity(self.config.memo_users),
            "fitbit_client_id" => self.fitbit.tokens.set_client_id(self.config.fitbit_client_id.clone()),
            _ => {}
        }
        Ok(())
    }
}

impl Shared {
    /// Must be called on a Tokio runtime, which runs the background deliveries.
    pub(crate) fn new(config: SimConfig, base_url: String) -> Shared {
        let state = State {
            faults: Faults::default(),
            usage: HashMap::new(),
            memo: Memo::new(config.memo_users),
            fitbit: FitbitState {
                tokens: TokenStore::new(config.fitbit_client_id.clone()),
                rate: RateLimiter::hourly(),
                added: HashMap::new(),
            },
            google: GoogleState {
                tokens: GoogleTokenStore::default(),
                service_tokens: ServiceTokens::default(),
                quota: GoogleQuota {
                    rate: RateLimiter::per_minute(),
                    pacing: TokenBuckets::default(),
                    project_limited: 0,
                },
                reconcile_calls: 0,
                unlinked: HashSet::new(),
                defects: HashSet::new(),
                added: AddedPoints::default(),
            },
            webhooks: Webhooks::new(),
            config,
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

    /// The Fitbit OAuth client in force: id and secret.
    pub(crate) fn fitbit_client(&self) -> (String, String) {
        let state = self.lock();
        (state.config.fitbit_client_id.clone(), state.config.fitbit_client_secret.clone())
    }

    /// The Google OAuth client in force: id and secret.
    pub(crate) fn google_client(&self) -> (String, String) {
        let state = self.lock();
        (state.config.google_client_id.clone(), state.config.google_client_secret.clone())
    }

    pub(crate) fn issue_tokens(&self, user: &str, scopes: &str, expires_in: i64) -> TokenPair {
        self.lock().fitbit.tokens.issue(user, scopes, expires_in, now())
    }

    /// A new consent of `user` to the Google app, with a refresh token.
    pub(crate) fn issue_google_tokens(&self, user: &str, scopes: &str, expires_in: i64) -> TokenPair {
        let mut state = self.lock();
        let refresh_ttl = state.config.google_refresh_token_ttl_secs;
        state.google.tokens.issue(user, scopes, expires_in, refresh_ttl, now())
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
