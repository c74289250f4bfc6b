//! What a simulator starts with. The switches tests flip at run time (rate limit, latency, legacy gone) can be
//! changed later through [`crate::Simulator`] or `/__admin`.

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
    /// Start with the legacy API already retired (every legacy route answers 410).
    pub legacy_gone: bool,
    /// Lifetime of access tokens issued by a refresh, as Fitbit's 8 hours.
    pub access_token_ttl_secs: i64,
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
        }
    }
}
