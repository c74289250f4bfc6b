//! The simulator's settings: what it starts with, and what is in force while it runs. Every setting has a name
//! ([`SimConfig::SETTINGS`]) by which the `provider-sim` command line (`--<name with dashes> VALUE`) and
//! `/__admin/config` (`GET`, and `PUT` with some of them) read and change it; tests also change the usual ones
//! through [`crate::Simulator`].

use std::time::Duration;

use axum::http::HeaderName;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

/// How many users' generated data the memo keeps by default (a few hundred MB at most); the least recently used one
/// goes first.
pub const DEFAULT_MEMO_USERS: usize = 32;

#[derive(Clone, Debug)]
pub struct SimConfig {
    /// The OAuth client ds-agent must present on `/oauth2/token` and `/oauth2/revoke`.
    pub fitbit_client_id: String,
    pub fitbit_client_secret: String,
    /// Data GETs plus introspections allowed per user per clock hour, as Fitbit's 150.
    pub rate_limit_per_hour: u32,
    /// Added to every non-admin request, to make slow networks reproducible.
    pub latency: Duration,
    /// Start with the legacy API already retired (every legacy route answers 410). Google routes are unaffected.
    pub legacy_gone: bool,
    /// Lifetime of access tokens issued by a refresh, as Fitbit's 8 hours.
    pub access_token_ttl_secs: i64,
    /// The Google OAuth client ds-agent must present on `/token` and name on the consent page.
    pub google_client_id: String,
    pub google_client_secret: String,
    /// Google Health API requests allowed per user per clock minute, as Google's 300.
    pub google_rate_limit_per_minute: u32,
    /// Lifetime of Google access tokens from a code exchange or a refresh (`expires_in`), as Google's hour.
    pub google_access_token_ttl_secs: i64,
    /// `Some(secs)`: refresh tokens die that long after consent and token responses carry `refresh_token_expires_in`,
    /// as for an app in "Testing" status (7 days). `None`: they live until revoked, as in production.
    pub google_refresh_token_ttl_secs: Option<i64>,
    /// The user the fake consent page signs in when the authorisation request has no `login_hint`.
    pub google_default_user: String,
    /// Every first page of a Health API `list` is empty but carries a `nextPageToken`, as Google sometimes answers.
    pub google_empty_first_page: bool,
    /// Print every field of Health API data points and rollups, zeros and `false` included, and serve no phone
    /// source: the simulator's old, kinder output. Off (the default): proto3 JSON as Google sends it, default values
    /// left out (`"steps": {}` for a worn day without a step, no `processed` key on a night still being processed).
    pub google_verbose: bool,
    /// The user's phone is a second data source: on about one active day in four it recorded the day's first activity
    /// too, and `list` of `exercise` returns that walk besides the tracker's ([`crate::phone_exercise_days`]);
    /// `reconcile` merges it away. Ignored (off) when [`SimConfig::google_verbose`] is on.
    pub google_phone_source: bool,
    /// Every `reconcile` answer gives each point a `dataPointName` whose id changes from call to call (a per-call
    /// counter appended: `…/dataPoints/<id>-<n>`), since Google does not document that reconciled names are stable.
    pub google_unstable_reconcile_names: bool,
    /// `Some(epoch secs)`: until then the user's newest night (the one that ended today) is served still processing,
    /// without `processed` (or with `"processed": false` when verbose) and without `stagesStatus`.
    pub google_sleep_processing_until: Option<i64>,
    /// `Some(r)`: each user's Health API requests also go through a token bucket of capacity `2r` (at least 1)
    /// refilled at `r` per second, as for an unverified app (2.5); a request without a token gets 429
    /// `RESOURCE_EXHAUSTED` / `RATE_LIMIT_EXCEEDED` and no `Retry-After`. Besides the per-minute quota.
    pub google_requests_per_second: Option<f64>,
    /// `Some(r)`: the Cloud project's Health API requests, all users together, go through one token bucket of
    /// capacity `2r` refilled at `r` per second, as Google's per-project quota (120,000 a minute in production); a
    /// request without a token gets 429 `RESOURCE_EXHAUSTED` with a `QuotaFailure` naming the project.
    pub google_project_requests_per_second: Option<f64>,
    /// How many users' generated data is kept between requests (`src/memo.rs`, default 32): a bench whose children are
    /// hundreds of users reading at once needs them all kept, or the simulator regenerates a year per page.
    pub memo_users: usize,
    /// Subscriber create, patch and delete answer the Subscriber itself (`{}` for delete), as the webhooks guide
    /// shows, instead of a done long-running `Operation` whose `response` it is, as the discovery document says.
    pub google_subscriber_direct_answer: bool,
    /// Subscriber create, patch and delete answer an `Operation` that is not done (no `done`, no `response`) and
    /// carry out the change a second later, in the background (a create's or patch's endpoint check included: when it
    /// fails, nothing changes and nothing says so). Google publishes no route to poll an operation, so a client sees
    /// the outcome only in the subscriber list.
    pub google_operations_pending: bool,
    /// Notifications go out without the subscriber's `Authorization` secret, as one community report says Google
    /// sent them after verification. The verification handshake still sends it.
    pub google_notification_omit_authorization: bool,
    /// The name of the signature header on notifications: `GOOGLE-HEALTH-API-SIGNATURE` by default, the name v4's
    /// protos give since 7 Jul 2026; `X-HEALTHAPI-SIGNATURE` (the earlier v4 discovery document, and seen live) on
    /// demand.
    pub google_signature_header: String,
    /// Each notification goes out alone, as a single JSON object (the guide's envelope), instead of in a JSON array
    /// batch (what implementers saw in production), and without waiting for a batch.
    pub google_notifications_single: bool,
    /// Notifications for one subscriber raised within this many milliseconds of the first go out as one array.
    pub google_notification_batch_ms: u64,
    /// The wait before the first retry of a delivery that was not answered 204; it doubles with each retry.
    pub google_notification_retry_base_ms: u64,
    /// Delivery attempts of one batch, the first included, before the simulator gives up on it.
    pub google_notification_max_attempts: u32,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            fitbit_client_id: "1A2B3C".to_string(),
            fitbit_client_secret: "f1tb1ts3cr3t".to_string(),
            rate_limit_per_hour: 150,
            latency: Duration::ZERO,
            legacy_gone: false,
            access_token_ttl_secs: 28800,
            google_client_id: "sim-google-client.apps.googleusercontent.com".to_string(),
            google_client_secret: "sim-google-secret".to_string(),
            google_rate_limit_per_minute: 300,
            google_access_token_ttl_secs: 3599,
            google_refresh_token_ttl_secs: None,
            google_default_user: "SIMUSR".to_string(),
            google_empty_first_page: false,
            google_verbose: false,
            google_phone_source: true,
            google_unstable_reconcile_names: false,
            google_sleep_processing_until: None,
            google_requests_per_second: None,
            google_project_requests_per_second: None,
            memo_users: DEFAULT_MEMO_USERS,
            google_subscriber_direct_answer: false,
            google_operations_pending: false,
            google_notification_omit_authorization: false,
            google_signature_header: "GOOGLE-HEALTH-API-SIGNATURE".to_string(),
            google_notifications_single: false,
            google_notification_batch_ms: 50,
            google_notification_retry_base_ms: 1000,
            google_notification_max_attempts: 6,
        }
    }
}

impl SimConfig {
    /// Every setting's name, as the command line and `/__admin/config` spell it, with what it is.
    pub const SETTINGS: [(&'static str, &'static str); 28] = [
        ("fitbit_client_id", "the Fitbit OAuth client ds-agent presents"),
        ("fitbit_client_secret", "its secret"),
        ("rate_limit_per_hour", "Fitbit data GETs + introspections per user per hour"),
        ("latency_ms", "milliseconds added to every non-admin request"),
        ("legacy_gone", "every legacy Fitbit route answers 410 Gone"),
        ("access_token_ttl_secs", "lifetime of Fitbit access tokens from a refresh"),
        ("google_client_id", "the Google OAuth client ds-agent presents"),
        ("google_client_secret", "its secret"),
        ("google_rate_limit_per_minute", "Google Health API requests per user per minute"),
        ("google_access_token_ttl_secs", "lifetime of Google access tokens"),
        ("google_refresh_token_ttl_secs", "lifetime of Google refresh tokens, or null for unlimited"),
        ("google_default_user", "the user the consent page signs in without login_hint"),
        ("google_empty_first_page", "every first page of a list is empty, with a nextPageToken"),
        ("google_verbose", "print every field of data points, zeros included; no phone source"),
        ("google_phone_source", "the phone is a second source of exercise in list"),
        ("google_unstable_reconcile_names", "reconciled names change from call to call"),
        ("google_sleep_processing_until", "epoch seconds until which the newest night is processing, or null"),
        ("google_requests_per_second", "each user's pace (token bucket), or null"),
        ("google_project_requests_per_second", "the project's pace, all users together, or null"),
        ("memo_users", "how many users' generated data is kept between requests"),
        ("google_subscriber_direct_answer", "subscriber routes answer the Subscriber, not an Operation"),
        ("google_operations_pending", "subscriber routes answer a pending Operation and act a second later"),
        ("google_notification_omit_authorization", "notifications go out without the secret"),
        ("google_signature_header", "the name of the notifications' signature header"),
        ("google_notifications_single", "each notification goes out alone, as an object"),
        ("google_notification_batch_ms", "the batch window of notifications"),
        ("google_notification_retry_base_ms", "the wait before a delivery's first retry, doubling"),
        ("google_notification_max_attempts", "delivery attempts of a batch, the first included"),
    ];

    /// Every setting by its name ([`SimConfig::SETTINGS`]), as `GET /__admin/config` answers.
    pub fn to_json(&self) -> Value {
        json!({
            "fitbit_client_id": self.fitbit_client_id,
            "fitbit_client_secret": self.fitbit_client_secret,
            "rate_limit_per_hour": self.rate_limit_per_hour,
            "latency_ms": self.latency.as_millis() as u64,
            "legacy_gone": self.legacy_gone,
            "access_token_ttl_secs": self.access_token_ttl_secs,
            "google_client_id": self.google_client_id,
            "google_client_secret": self.google_client_secret,
            "google_rate_limit_per_minute": self.google_rate_limit_per_minute,
            "google_access_token_ttl_secs": self.google_access_token_ttl_secs,
            "google_refresh_token_ttl_secs": self.google_refresh_token_ttl_secs,
            "google_default_user": self.google_default_user,
            "google_empty_first_page": self.google_empty_first_page,
            "google_verbose": self.google_verbose,
            "google_phone_source": self.google_phone_source,
            "google_unstable_reconcile_names": self.google_unstable_reconcile_names,
            "google_sleep_processing_until": self.google_sleep_processing_until,
            "google_requests_per_second": self.google_requests_per_second,
            "google_project_requests_per_second": self.google_project_requests_per_second,
            "memo_users": self.memo_users,
            "google_subscriber_direct_answer": self.google_subscriber_direct_answer,
            "google_operations_pending": self.google_operations_pending,
            "google_notification_omit_authorization": self.google_notification_omit_authorization,
            "google_signature_header": self.google_signature_header,
            "google_notifications_single": self.google_notifications_single,
            "google_notification_batch_ms": self.google_notification_batch_ms,
            "google_notification_retry_base_ms": self.google_notification_retry_base_ms,
            "google_notification_max_attempts": self.google_notification_max_attempts,
        })
    }

    /// Sets the setting `name` ([`SimConfig::SETTINGS`]) to `value`: a JSON value of its type (a string setting also
    /// takes a number or a boolean, as the command line reads `--google-default-user 123`). Rates are positive
    /// numbers or `null`; the signature header must be a header name. Nothing changes on an error.
    pub fn set(&mut self, name: &str, value: &Value) -> Result<(), String> {
        match name {
            "fitbit_client_id" => self.fitbit_client_id = text(name, value)?,
            "fitbit_client_secret" => self.fitbit_client_secret = text(name, value)?,
            "rate_limit_per_hour" => self.rate_limit_per_hour = typed(name, value)?,
            "latency_ms" => self.latency = Duration::from_millis(typed(name, value)?),
            "legacy_gone" => self.legacy_gone = typed(name, value)?,
            "access_token_ttl_secs" => self.access_token_ttl_secs = typed(name, value)?,
            "google_client_id" => self.google_client_id = text(name, value)?,
            "google_client_secret" => self.google_client_secret = text(name, value)?,
            "google_rate_limit_per_minute" => self.google_rate_limit_per_minute = typed(name, value)?,
            "google_access_token_ttl_secs" => self.google_access_token_ttl_secs = typed(name, value)?,
            "google_refresh_token_ttl_secs" => self.google_refresh_token_ttl_secs = typed(name, value)?,
            "google_default_user" => self.google_default_user = text(name, value)?,
            "google_empty_first_page" => self.google_empty_first_page = typed(name, value)?,
            "google_verbose" => self.google_verbose = typed(name, value)?,
            "google_phone_source" => self.google_phone_source = typed(name, value)?,
            "google_unstable_reconcile_names" => self.google_unstable_reconcile_names = typed(name, value)?,
            "google_sleep_processing_until" => self.google_sleep_processing_until = typed(name, value)?,
            "google_requests_per_second" => self.google_requests_per_second = rate(name, value)?,
            "google_project_requests_per_second" => self.google_project_requests_per_second = rate(name, value)?,
            "memo_users" => self.memo_users = typed(name, value)?,
            "google_subscriber_direct_answer" => self.google_subscriber_direct_answer = typed(name, value)?,
            "google_operations_pending" => self.google_operations_pending = typed(name, value)?,
            "google_notification_omit_authorization" => {
                self.google_notification_omit_authorization = typed(name, value)?
            }
            "google_signature_header" => {
                let header = text(name, value)?;
                if HeaderName::from_bytes(header.as_bytes()).is_err() {
                    return Err(format!("{name} must be a header name"));
                }
                self.google_signature_header = header;
            }
            "google_notifications_single" => self.google_notifications_single = typed(name, value)?,
            "google_notification_batch_ms" => self.google_notification_batch_ms = typed(name, value)?,
            "google_notification_retry_base_ms" => self.google_notification_retry_base_ms = typed(name, value)?,
            "google_notification_max_attempts" => self.google_notification_max_attempts = typed(name, value)?,
            _ => return Err(format!("no setting {name}")),
        }
        Ok(())
    }
}

fn typed<T: DeserializeOwned>(name: &str, value: &Value) -> Result<T, String> {
    serde_json::from_value(value.clone()).map_err(|error| format!("{name}: {error}"))
}

fn text(name: &str, value: &Value) -> Result<String, String> {
    match value {
        Value::String(text) => Ok(text.clone()),
        Value::Number(_) | Value::Bool(_) => Ok(value.to_string()),
        _ => Err(format!("{name} must be a string")),
    }
}

fn rate(name: &str, value: &Value) -> Result<Option<f64>, String> {
    match typed::<Option<f64>>(name, value)? {
        Some(rate) if !(rate.is_finite() && rate > 0.0) => Err(format!("{name} must be a positive number or null")),
        rate => Ok(rate),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_setting_reads_back_as_it_is_shown() {
        let config = SimConfig::default();
        let shown = config.to_json();
        assert_eq!(shown.as_object().unwrap().len(), SimConfig::SETTINGS.len());
        let mut copy = SimConfig { google_verbose: true, latency: Duration::from_millis(7), ..SimConfig::default() };
        for (name, _) in SimConfig::SETTINGS {
            copy.set(name, &shown[name]).unwrap_or_else(|error| panic!("{error}"));
        }
        assert_eq!(copy.to_json(), shown);
        assert!(copy.set("google_verbose", &json!("yes")).is_err());
        assert!(copy.set("google_requests_per_second", &json!(0)).is_err());
        assert!(copy.set("google_signature_header", &json!("no spaces")).is_err());
        assert!(copy.set("nothing", &json!(1)).is_err());
        copy.set("google_default_user", &json!(123)).unwrap();
        assert_eq!(copy.google_default_user, "123");
    }
}
