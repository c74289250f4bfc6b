//! provider-sim: a local stand-in for Google OAuth, the Google Health API v4 and its webhooks, and for the legacy
//! Fitbit Web API (whose routes answer `410 Gone` when the legacy-gone switch is on, as the real ones do since
//! 2 Nov 2026), for ds-agent's tests, benches and dev runs. Tests start a [`Simulator`] in-process and talk to it over
//! real HTTP; developers run the `provider-sim` binary and steer it through `/__admin`.
//!
//! Every route, admin route, setting and fault is described in docs/simulator.md; the layout of this crate is in
//! docs/ARCHITECTURE.md.

mod column;
mod config;
mod dataset;
mod faults;
mod fitbit;
mod google;
mod http;
mod memo;
mod notifier;
mod oauth_form;
mod preflight;
mod rate_limit;
mod redact;
mod seed;
mod simulator;
mod state;
mod tokens;
mod usage;

pub use config::SimConfig;
pub use dataset::{dataset, still_days, unworn_days, Dataset, SERIES_RESOURCES};
pub use faults::{Fault, FaultKind, Route};
pub use google::{
    google_dataset, google_dataset_verbose, health_user_id, phone_exercise_days, served_data_types, Delivery,
    GoogleDataset, GOOGLE_HEALTH_SCOPES,
};
pub use simulator::Simulator;
pub use tokens::TokenPair;
pub use usage::{GoogleCounts, RequestCounts};
