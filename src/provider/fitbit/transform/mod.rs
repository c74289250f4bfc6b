//! Fitbit Web API JSON → OCARIoT objects (docs/decisions.md#published-payloads), one module per kind, each with the
//! original's keys, key order and number formatting.

pub mod activity;
pub mod daily_log;
pub mod sleep;
pub mod weight;

pub use activity::physical_activity;
pub use daily_log::{active_minutes, daily_logs};
pub use sleep::sleep;
pub use weight::weight;
