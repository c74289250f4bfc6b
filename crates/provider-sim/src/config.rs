//! What a simulator starts with. The switches tests flip at run time (rate limits, pacing, latency, legacy gone, empty
//! first pages, the Google encoding, the phone source, unstable reconcile names, sleep processing, the webhook
//! answers, headers, envelope, batching and retries) can be changed later through [`crate::Simulator`] or
//! `PUT /__admin/config`.

use std::time::Duration;

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
    /// How many users' generated data is kept between requests ([`crate::memo`], default 32): a bench whose children are
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
            memo_users: crate::memo::DEFAULT_MEMO_USERS,
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
