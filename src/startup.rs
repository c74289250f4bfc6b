//! Builds the application from its settings and runs it until the shutdown signal. Tests build it on port 0 and read
//! the ports it got.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use axum_server::tls_rustls::RustlsConfig;
use secrecy::ExposeSecret;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::accounts::UserDeletion;
use crate::bus::{self, Bus, Publisher};
use crate::config::Settings;
use crate::coordination::Coordination;
use crate::error_chain::Chain;
use crate::http::shedding::{Limits, SheddingAcceptor};
use crate::http::{self, AppState};
use crate::jobs::{self, JobQueue, JobSettings};
use crate::notifications::{self, Inbox, Notifications};
use crate::provider::fitbit::FitbitClient;
use crate::provider::google::{GoogleClient, ProjectBudget};
use crate::provider::Providers;
use crate::recovery;
use crate::status::StatusReader;
use crate::store::{self, NotificationJournal, Outbox, Resources, Store, SyncOutcomes, TokenCipher, UserAuths};
use crate::sync::SyncService;
use crate::tls::{self, CertificateError, CertificatePaths};
use crate::tokens::{self, FailureReporter, Revocations, StateSigner, TokenService};

/// How long running requests may take to finish once shutdown starts.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a publish may wait for the broker's confirm.
const CONFIRM_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot read {name}={path}")]
    File { name: &'static str, path: String, source: std::io::Error },
    #[error(transparent)]
    Certificate(#[from] CertificateError),
    #[error("cannot listen on {name}={port}")]
    Listen { name: &'static str, port: u16, source: std::io::Error },
    /// Flattened on purpose: the driver's text may hold the URI's password, so only its scrubbed text is kept.
    #[error("invalid MongoDB URI: {0}")]
    MongoUri(String),
    /// Flattened on purpose: the client's text may hold the URI's password, so only its scrubbed text is kept.
    #[error("invalid REDIS_URI: {0}")]
    RedisUri(String),
    #[error("server error")]
    Serve(#[source] std::io::Error),
    /// docs/operations.md#security: started with keys that open none of the stored tokens, every read of them would
    /// fail.
    #[error(
        "none of the {sealed} sealed tokens sampled in MongoDB opens with TOKEN_ENCRYPTION_KEY or \
         TOKEN_ENCRYPTION_KEYS_PREVIOUS: configure the key that sealed them (as TOKEN_ENCRYPTION_KEY, or in \
         TOKEN_ENCRYPTION_KEYS_PREVIOUS beside a new TOKEN_ENCRYPTION_KEY)"
    )]
    WrongTokenKeys { sealed: usize },
    #[error(
        "MongoDB holds sealed tokens ({sealed} sampled) but TOKEN_ENCRYPTION_KEY is not set: set the key that sealed \
         them"
    )]
    MissingTokenKey { sealed: usize },
}

pub struct Application {
    state: AppState,
    https: TcpListener,
    http: TcpListener,
    https_port: u16,
    http_port: u16,
    tls: RustlsConfig,
    certificate_paths: CertificatePaths,
    /// The certificate files as loaded, to tell when they are renewed.
    certificate_digest: [u8; 32],
    /// Where the plain-HTTP listener redirects (`https://host[:port]`).
    redirect_origin: String,
    shutdown: CancellationToken,
    /// Whether the first MongoDB attempt connected and created the indexes.
    mongodb_ready: bool,
}

impl Application {
    /// Reads the certificates, binds both ports, prepares the clients and makes one bounded attempt to reach MongoDB
    /// and create the indexes. Nothing here waits longer for MongoDB, Redis or RabbitMQ: the API must answer while
    /// they are down.
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        // Both rustls users (axum-server and the HTTP clients) share the ring provider; a second install is a no-op.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let certificate_paths =
            CertificatePaths { cert: settings.ssl_cert_path.clone(), key: settings.ssl_key_path.clone() };
        let certificate = certificate_paths.load().await?;
        let certificate_digest = certificate.digest();
        let certificate_host = certificate.dns_name.clone();
        let tls = RustlsConfig::from_config(certificate.config);
        let https = listen("PORT_HTTPS", settings.port_https)?;
        let http = listen("PORT_HTTP", settings.port_http)?;
        let https_port = https.local_addr().map_err(|e| listen_error("PORT_HTTPS", settings.port_https, e))?.port();
        let http_port = http.local_addr().map_err(|e| listen_error("PORT_HTTP", settings.port_http, e))?.port();

        let store = Store::new(settings.mongodb_uri.expose(), settings.mongodb_timeout)
            .await
            .map_err(|e| StartupError::MongoUri(settings.mongodb_uri.scrub_error(&e)))?;
        // Once, bounded by the MongoDB timeout, so the indexes exist before anything queries; if MongoDB is down the
        // background connector keeps trying and the API answers 503 where it needs it.
        let mongodb_ready = store::connect_once(&store).await;
        let cipher = TokenCipher::from_settings(&settings);
        if mongodb_ready {
            check_token_keys(&store, &cipher).await?;
        }
        let coordination = Coordination::new(settings.redis_uri.expose(), settings.redis_timeout)
            .map_err(|e| StartupError::RedisUri(settings.redis_uri.scrub_error(&e)))?;
        let ca_pem = if settings.rabbitmq_uri.expose().starts_with("amqps") {
            Some(read_file("RABBITMQ_CA_PATH", &settings.rabbitmq_ca_path).await?)
        } else {
            None
        };
        let bus = Bus::new(
            settings.rabbitmq_uri.expose().to_string(),
            ca_pem.map(|pem| String::from_utf8_lossy(&pem).into_owned()),
            CONFIRM_TIMEOUT,
        );
        let coordination = Arc::new(coordination);
        let userauths = UserAuths::new(store.clone(), cipher.clone());
        let providers = Providers {
            fitbit: FitbitClient::new(
                settings.fitbit_api_url.clone(),
                settings.fitbit.clone(),
                settings.provider_timeout,
            ),
            google: GoogleClient::new(
                settings.google_health_api_url.clone(),
                settings.google_oauth_url.clone(),
                settings.google.clone(),
                settings.provider_timeout,
                settings.google_requests_per_second,
            )
            .with_project_budget(ProjectBudget::new(
                coordination.clone(),
                store.database().name(),
                settings.google.client_id.as_deref().unwrap_or("unset"),
                settings.google_project_requests_per_minute,
            )),
        };
        let publisher = Publisher::new(bus.clone(), Outbox::new(store.clone()));
        let tokens = TokenService::new(userauths.clone(), providers.clone(), coordination.clone());
        let failures = FailureReporter::new(userauths.clone(), publisher.clone());
        let shutdown = CancellationToken::new();
        let sync = SyncService::new(
            userauths.clone(),
            Resources::new(store.clone()),
            tokens.clone(),
            providers.clone(),
            publisher.clone(),
            coordination.clone(),
            failures.clone(),
        )
        .recording_outcomes(SyncOutcomes::new(store.clone()))
        .holding_pages(settings.sync_pages_in_flight)
        .stopping_with(shutdown.clone());
        let job_settings = JobSettings {
            concurrency: settings.sync_concurrency,
            reclaim_after: settings.sync_reclaim_after,
            retry_base: settings.sync_retry_base,
            max_attempts: 3,
            stale_after: settings.notifications.enabled().then_some(settings.notifications.stale_after),
        };
        let jobs = JobQueue::new(coordination.clone(), &store, job_settings);
        // The state has a key of its own, apart from the token encryption keys, so either rotates alone.
        let signing_secret = match (&settings.google_connect_state_key, &settings.google.client_secret) {
            (Some(key), _) => key.expose_secret().as_bytes().to_vec(),
            (None, Some(secret)) => secret.expose_secret().as_bytes().to_vec(),
            // Without a shared secret each instance signs with its own key: a callback must reach the same instance.
            (None, None) => rand::random::<[u8; 32]>().to_vec(),
        };
        let inbox = Inbox::new(jobs.clone(), NotificationJournal::new(store.clone()), settings.notifications.coalesce);
        let notifications = Notifications::new(&settings.notifications, inbox, settings.provider_timeout);
        crate::metrics::get().notifications_enabled.set(i64::from(notifications.is_some()));
        let status = StatusReader::new(userauths.clone(), SyncOutcomes::new(store.clone()), jobs.clone(), sync.clone());
        let state = AppState {
            notifications,
            status,
            state_signer: StateSigner::new(&signing_secret),
            tokens,
            failures,
            sync,
            jobs,
            revocations: Revocations::new(store.clone(), cipher, providers.clone()),
            settings: Arc::new(settings),
            store,
            coordination,
            bus,
            userauths,
            providers,
            publisher,
        };
        let redirect_origin = http::redirect::https_origin(
            state.settings.https_public_host.as_deref(),
            certificate_host.as_deref().unwrap_or("localhost"),
            https_port,
        );
        Ok(Application {
            state,
            https,
            http,
            https_port,
            http_port,
            tls,
            certificate_paths,
            certificate_digest,
            redirect_origin,
            shutdown,
            mongodb_ready,
        })
    }

    pub fn https_port(&self) -> u16 {
        self.https_port
    }

    pub fn http_port(&self) -> u16 {
        self.http_port
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Cancelling this token stops the application gracefully.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Serves until the shutdown token is cancelled, then stops taking requests, lets running ones finish, stops the
    /// background tasks and closes the connections.
    pub async fn run_until_stopped(self) -> Result<(), StartupError> {
        let Application {
            state,
            https,
            http,
            https_port,
            tls,
            certificate_paths,
            certificate_digest,
            redirect_origin,
            shutdown,
            mongodb_ready,
            ..
        } = self;
        let inbox = state.notifications.as_ref().map(|notifications| notifications.inbox().clone());
        let dispatcher = inbox
            .clone()
            .map(|inbox| notifications::dispatcher::spawn_dispatcher(inbox, state.userauths.clone(), shutdown.clone()));
        let background = [
            tls::spawn_reloader(
                certificate_paths,
                tls.clone(),
                certificate_digest,
                state.settings.ssl_reload_interval,
                shutdown.clone(),
            ),
            store::spawn_connector(state.store.clone(), shutdown.clone(), mongodb_ready),
            bus::spawn_connector(state.bus.clone(), shutdown.clone()),
            bus::spawn_relay(
                state.bus.clone(),
                Outbox::new(state.store.clone()),
                state.coordination.clone(),
                shutdown.clone(),
            ),
            tokens::spawn_revocation_retries(state.revocations.clone(), shutdown.clone()),
            recovery::spawn_recovery(state.jobs.clone(), state.userauths.clone(), inbox, shutdown.clone()),
            jobs::spawn_workers(state.jobs.clone(), state.sync.clone(), shutdown.clone()),
            jobs::spawn_scheduler(
                state.jobs.clone(),
                state.userauths.clone(),
                state.settings.auto_sync.clone(),
                shutdown.clone(),
            ),
            bus::spawn_user_delete_subscriber(
                state.bus.clone(),
                state.settings.user_delete_queue.clone(),
                UserDeletion::new(
                    state.userauths.clone(),
                    Resources::new(state.store.clone()),
                    state.revocations.clone(),
                ),
                shutdown.clone(),
            ),
        ];

        let handle = axum_server::Handle::new();
        let api = http::app(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
        // One connection budget for both servers; see `http::shedding`.
        let slots = Arc::new(Semaphore::new(state.settings.http_max_connections));
        let limits = Limits::default();
        let mut https_server = axum_server::from_tcp_rustls(https, tls)
            .map(|tls| SheddingAcceptor::new(tls, slots.clone(), limits))
            .handle(handle.clone());
        let mut http_server = axum_server::from_tcp(http)
            .map(|plain| SheddingAcceptor::new(plain, slots.clone(), limits))
            .handle(handle.clone());
        for builder in [https_server.http_builder(), http_server.http_builder()] {
            // Above the shedding limits, so that those answer first, with a JSON body.
            builder.http1().max_headers(2 * limits.header_lines);
        }
        let https_server = https_server.serve(api);
        let http_server = http_server.serve(http::redirect::router(redirect_origin).into_make_service());
        tracing::debug!("Server HTTPS running on port {https_port}");
        tracing::debug!("Background services successfully initialized...");

        let drain = {
            let shutdown = shutdown.clone();
            tokio::spawn(async move {
                shutdown.cancelled().await;
                handle.graceful_shutdown(Some(DRAIN_TIMEOUT));
            })
        };
        let (https_result, http_result) = tokio::join!(https_server, http_server);
        shutdown.cancel();
        let _ = drain.await;
        // Syncs started for requests outlive their requests; they stop at their next safe point.
        state.sync.wait_for_running(DRAIN_TIMEOUT).await;
        for task in background.into_iter().chain(dispatcher) {
            let _ = task.await;
        }
        state.bus.close().await;
        state.store.close().await;
        tracing::debug!("Background services successfully closed...");
        https_result.and(http_result).map_err(StartupError::Serve)
    }
}

/// Refuses to start when sealed tokens are stored and no configured key opens any of the newest ones. A failing query
/// only warns: MongoDB answered a moment ago, and the API must come up while it is unsteady.
async fn check_token_keys(store: &Store, cipher: &TokenCipher) -> Result<(), StartupError> {
    match store::check_token_keys(store, cipher).await {
        Ok(check) if !check.passed() && !cipher.seals() => Err(StartupError::MissingTokenKey { sealed: check.sealed }),
        Ok(check) if !check.passed() => Err(StartupError::WrongTokenKeys { sealed: check.sealed }),
        Ok(check) => {
            if check.opened < check.sealed {
                tracing::warn!(
                    "{} of {} sealed tokens sampled do not open with TOKEN_ENCRYPTION_KEY or \
                     TOKEN_ENCRYPTION_KEYS_PREVIOUS: those children's syncs will fail",
                    check.sealed - check.opened,
                    check.sealed
                );
            }
            Ok(())
        }
        Err(e) => {
            tracing::warn!("The stored tokens were not checked against the keys: {}", Chain(&e));
            Ok(())
        }
    }
}

async fn read_file(name: &'static str, path: &std::path::Path) -> Result<Vec<u8>, StartupError> {
    tokio::fs::read(path).await.map_err(|source| StartupError::File { name, path: path.display().to_string(), source })
}

fn listen(name: &'static str, port: u16) -> Result<TcpListener, StartupError> {
    let listener = TcpListener::bind(("0.0.0.0", port)).map_err(|e| listen_error(name, port, e))?;
    listener.set_nonblocking(true).map_err(|e| listen_error(name, port, e))?;
    Ok(listener)
}

fn listen_error(name: &'static str, port: u16, source: std::io::Error) -> StartupError {
    StartupError::Listen { name, port, source }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ServiceUri;
    use crate::coordination::CoordinationError;
    use crate::store::StoreError;

    fn quoting(uri: &str) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::ConnectionRefused, format!("cannot reach {uri}"))
    }

    #[test]
    fn uri_errors_keep_their_causes_without_the_password() {
        let uri = ServiceUri::new("mongodb://agent:s3cret@mongo:27017/ds");
        let error = StoreError::from(mongodb::error::Error::from(quoting(uri.expose())));
        let text = StartupError::MongoUri(uri.scrub_error(&error)).to_string();
        assert!(text.starts_with("invalid MongoDB URI: MongoDB is not reachable: "), "{text}");
        assert!(text.contains("cannot reach mongodb://agent:***@mongo:27017/ds"), "{text}");
        assert!(!text.contains("s3cret"), "{text}");

        let uri = ServiceUri::new("redis://:p%40ss@redis:6379");
        let error = CoordinationError::from(redis::RedisError::from(quoting("redis://:p@ss@redis:6379")));
        let text = StartupError::RedisUri(uri.scrub_error(&error)).to_string();
        assert_eq!(text, "invalid REDIS_URI: Redis is not reachable: cannot reach redis://:***@redis:6379");
    }

    #[test]
    fn io_failures_show_their_cause_through_the_chain() {
        let error = listen_error("PORT_HTTPS", 443, std::io::Error::from(std::io::ErrorKind::AddrInUse));
        assert_eq!(error.to_string(), "cannot listen on PORT_HTTPS=443");
        assert_eq!(Chain(&error).to_string(), "cannot listen on PORT_HTTPS=443: address in use");
    }
}
