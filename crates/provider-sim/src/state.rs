//! The simulator's state, shared by the HTTP handlers and the [`crate::Simulator`] handle. One mutex guards it all:
//! requests are few and no lock is held across an await.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use crate::config::SimConfig;
use crate::faults::Faults;
use crate::rate_limit::RateLimiter;
use crate::tokens::{TokenPair, TokenStore};
use crate::usage::Usage;

pub(crate) struct Shared {
    /// `http://<bound address>`, for links when a request names no host.
    pub base_url: String,
    pub client_id: String,
    pub client_secret: String,
    pub access_token_ttl_secs: i64,
    state: Mutex<State>,
}

/// The switches that can change while the simulator runs.
#[derive(Clone, Copy)]
pub(crate) struct Settings {
    pub rate_limit_per_hour: u32,
    pub latency: Duration,
    pub legacy_gone: bool,
}

pub(crate) struct State {
    pub settings: Settings,
    pub tokens: TokenStore,
    pub faults: Faults,
    pub rate: RateLimiter,
    pub usage: HashMap<String, Usage>,
}

impl Shared {
    pub(crate) fn new(config: SimConfig, base_url: String) -> Shared {
        let settings = Settings {
            rate_limit_per_hour: config.rate_limit_per_hour,
            latency: config.latency,
            legacy_gone: config.legacy_gone,
        };
        let state = State {
            settings,
            tokens: TokenStore::new(config.fitbit_client_id.clone()),
            faults: Faults::default(),
            rate: RateLimiter::default(),
            usage: HashMap::new(),
        };
        Shared {
            base_url,
            client_id: config.fitbit_client_id,
            client_secret: config.fitbit_client_secret,
            access_token_ttl_secs: config.access_token_ttl_secs,
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

    pub(crate) fn usage(&self, user: &str) -> Usage {
        self.lock().usage.get(user).cloned().unwrap_or_default()
    }
}

pub(crate) fn now() -> i64 {
    chrono::Utc::now().timestamp()
}
