//! The handle tests and the binary hold: starts the HTTP server, steers it, and stops it when dropped.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::SimConfig;
use crate::faults::Fault;
use crate::http;
use crate::state::{now, Shared};
use crate::tokens::{AccessState, TokenPair};
use crate::usage::RequestCounts;

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

    /// `http://127.0.0.1:<port>`: what ds-agent uses in place of `https://api.fitbit.com`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A new authorisation of the app by `fitbit_user_id`. A negative `expires_in_secs` gives an expired access token.
    pub fn issue_fitbit_tokens(&self, fitbit_user_id: &str, scopes: &str, expires_in_secs: i64) -> TokenPair {
        self.shared.issue_tokens(fitbit_user_id, scopes, expires_in_secs)
    }

    pub fn counts(&self, fitbit_user_id: &str) -> RequestCounts {
        self.shared.usage(fitbit_user_id).counts
    }

    /// Path and query of each data GET of this user, in arrival order.
    pub fn data_requests(&self, fitbit_user_id: &str) -> Vec<String> {
        self.shared.usage(fitbit_user_id).data_paths
    }

    pub fn add_fault(&self, fault: Fault) {
        self.shared.lock().faults.add(fault);
    }

    pub fn clear_faults(&self) {
        self.shared.lock().faults.clear();
    }

    pub fn set_legacy_gone(&self, gone: bool) {
        self.shared.lock().settings.legacy_gone = gone;
    }

    pub fn set_rate_limit(&self, per_hour: u32) {
        self.shared.lock().settings.rate_limit_per_hour = per_hour;
    }

    pub fn set_latency(&self, latency: Duration) {
        self.shared.lock().settings.latency = latency;
    }

    /// Known, not yet used and not revoked.
    pub fn is_refresh_token_valid(&self, refresh_token: &str) -> bool {
        self.shared.lock().tokens.is_refresh_valid(refresh_token)
    }

    /// Known, not expired and not revoked.
    pub fn is_access_token_active(&self, access_token: &str) -> bool {
        matches!(self.shared.lock().tokens.access_state(access_token, now()), AccessState::Active { .. })
    }

    /// Stops accepting connections; requests in flight finish in the background.
    pub fn shutdown(self) {
        drop(self);
    }

    /// Stops accepting connections and waits for requests in flight to finish.
    pub async fn shutdown_and_wait(mut self) {
        self.signal_stop();
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }

    fn signal_stop(&mut self) {
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
