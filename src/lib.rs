//! ds-agent keeps children's wearable data flowing into the OCARIoT platform: it reads each child's activities,
//! sleep, weights and daily logs from the Google Health API (or the retired Fitbit Web API), publishes them on
//! RabbitMQ as OCARIoT objects, and remembers in MongoDB what it published. A port of ocariot/data-sync-agent 1.7.0
//! with the same REST API, events, documents and environment variables.
//!
//! # Layout
//!
//! Entry points, which turn requests, ticks and notifications into calls of the services:
//!
//! * [`http`]: the REST API (the original's routes and errors, the Google connect flow and webhook, health, metrics).
//! * [`jobs`]: the cron and the Redis Streams job queue that every instance's workers share.
//! * [`notifications`]: Google Health notifications, from the webhook's checks to one sync job per child.
//! * [`recovery`]: rebuilds the job queue and the notification windows from MongoDB when Redis comes back empty.
//! * [`status`]: one child's sync status for operators (provider, tokens, last outcome, running, queued).
//!
//! Services, the service's own work:
//!
//! * [`sync`]: one child's sync, provider-blind: the child's provider pages, publish, confirm, record.
//! * [`tokens`]: a child's tokens once handed over: refresh, failure effects, revocations.
//! * [`accounts`]: what a deleted OCARIoT user takes with it.
//!
//! Infrastructure, one module per outside system:
//!
//! * [`store`]: MongoDB (`userauths`, `resources`, `outbox`, `revocations`, `notifications`, `ticks`), tokens sealed
//!   at rest under a keyring that rotates (`store::crypto`, `store::sealing`).
//! * [`bus`]: RabbitMQ, publisher-confirmed, with the outbox relay and the `UserDeleteEvent` subscription.
//! * [`coordination`]: Redis locks and leases shared by the instances, and the marker that tells when Redis lost its
//!   data.
//! * [`provider`]: the provider boundary over the Fitbit and Google Health clients: their reads, transforms into
//!   the OCARIoT contract, token checks and quirks, behind one error type.
//!
//! At the bottom, [`domain`]: child ids, token records and their rules, what a sync reads, and the OCARIoT contract
//! ([`domain::ocariot`]), without I/O.
//!
//! Cross-cutting, usable from any layer:
//!
//! * [`config`]: typed settings from the environment and `.env`; a bad value stops the process at startup.
//! * [`telemetry`]: logging with the original's levels, texts and line formats.
//! * [`metrics`]: process-wide counters for `GET /metrics`.
//! * [`shutdown`]: SIGINT and SIGTERM as the cancellation every task listens to, and the pause of every background
//!   loop ([`shutdown::Periodic`]).
//! * [`backoff`]: the exponential backoff of every retry.
//! * [`error_chain`]: an error and its causes on one line, for logs and stored messages.
//! * [`tls`]: the HTTPS certificate, read at startup and again when it is renewed (`SIGHUP`, or the files change).
//! * [`startup`]: builds the application from its settings and runs it until shutdown.
//!
//! A module uses its own layer or the ones below, never above, and no two modules use each other. How data flows
//! through the layers is in docs/ARCHITECTURE.md; why it behaves as it does, in docs/decisions.md.

pub mod accounts;
pub mod backoff;
pub mod bus;
pub mod config;
pub mod coordination;
pub mod domain;
pub mod error_chain;
pub mod http;
pub mod jobs;
pub mod metrics;
pub mod notifications;
pub mod provider;
pub mod recovery;
pub mod shutdown;
pub mod startup;
pub mod status;
pub mod store;
pub mod sync;
pub mod telemetry;
pub mod tls;
pub mod tokens;
