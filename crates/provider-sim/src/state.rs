//! The simulator's state, shared by the HTTP handlers and the [`crate::Simulator`] handle. One mutex guards it all:
//! requests are few and no lock is held across an await.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use crate::config::SimConfig;
use crate::faults::Faults;
use crate::google::tokens::GoogleTokenStore;
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
}

pub(crate) struct State {
    pub settings: Settings,
    pub tokens: TokenStore,
    pub faults: Faults,
    pub rate: RateLimiter,
    pub usage: HashMap<String, Usage>,
    pub google_tokens: GoogleTokenStore,
    pub google_rate: RateLimiter,
    /// Per-user pacing of Health API requests, when [`Settings::google_requests_per_second`] is set.
    pub google_pacing: TokenBuckets,
    /// `reconcile` answers served so far, for names that change from call to call.
    pub google_reconcile_calls: u64,
    /// Users whose Google account has no Google Health profile (`ACCOUNT_NOT_LINKED`).
    pub google_unlinked: HashSet<String>,
    /// Users whose newest items are served defective ([`crate::Simulator::set_google_defects`]).
    pub google_defects: HashSet<String>,
}

impl Shared {
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
        };
        let state = State {
            settings,
            tokens: TokenStore::new(config.fitbit_client_id.clone()),
            faults: Faults::default(),
            rate: RateLimiter::hourly(),
            usage: HashMap::new(),
            google_tokens: GoogleTokenStore::default(),
            google_rate: RateLimiter::per_minute(),
            google_pacing: TokenBuckets::default(),
            google_reconcile_calls: 0,
            google_unlinked: HashSet::new(),
            google_defects: HashSet::new(),
        };
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
            state: Mutex::new(state),
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

    pub(crate) fn usage(&self, user: &str) -> Usage {
        self.lock().usage.get(user).cloned().unwrap_or_default()
    }
}

pub(crate) fn now() -> i64 {
    chrono::Utc::now().timestamp()
}
