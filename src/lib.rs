//! ds-agent: keeps children's Fitbit data flowing into the OCARIoT platform. A port of ocariot/data-sync-agent 1.7.0.

pub mod accounts;
pub mod bus;
pub mod config;
pub mod coordination;
pub mod domain;
pub mod http;
pub mod jobs;
pub mod metrics;
pub mod notifications;
pub mod provider;
pub mod recovery;
pub mod shutdown;
pub mod startup;
pub mod store;
pub mod sync;
pub mod telemetry;
pub mod tokens;
