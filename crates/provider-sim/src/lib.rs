//! A stand-in for the legacy Fitbit Web API, which answers `410 Gone` in the real world since 2 Nov 2026.
//!
//! ds-agent's tests start a [`Simulator`] in-process and talk to it over real HTTP, exactly as they would to
//! `api.fitbit.com`; developers run the `provider-sim` binary and steer it with curl through `/__admin`.
//! It issues and checks OAuth tokens, serves deterministic synthetic data per user ([`dataset`]), enforces
//! Fitbit's hourly rate limit, and misbehaves on demand ([`Fault`], legacy-gone switch, latency).

mod config;
mod dataset;
mod faults;
mod fitbit_error;
mod http;
mod jwt;
mod rate_limit;
mod redact;
mod scopes;
mod seed;
mod simulator;
mod state;
mod tokens;
mod usage;

pub use config::SimConfig;
pub use dataset::{dataset, Dataset, SERIES_RESOURCES};
pub use faults::{Fault, FaultKind, Route};
pub use simulator::Simulator;
pub use tokens::TokenPair;
pub use usage::RequestCounts;
