//! ds-agent: keeps children's Fitbit data flowing into the OCARIoT platform. A port of ocariot/data-sync-agent 1.7.0.

pub mod bus;
pub mod config;
pub mod coordination;
pub mod domain;
pub mod http;
pub mod provider;
pub mod shutdown;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod tokens;
