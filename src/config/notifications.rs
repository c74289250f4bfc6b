//! The settings of Google Health notifications (docs/notifications.md): whether the endpoint is on, the secrets it
//! accepts, how signatures are checked and how notifications become jobs; and what `ds-agent google-subscriber`
//! registers with Google.

use std::time::Duration;

use secrecy::SecretString;

use super::base_url::parse_http_url;
use super::vars::Vars;
use super::ConfigError;

/// Google's published Tink keyset of the webhook signing keys (docs/notifications.md#what-google-sends).
pub const DEFAULT_KEYSET_URL: &str = "https://www.gstatic.com/googlehealthapi/webhooks/webhooks_public_keyset.json";

/// The secrets are [`SecretString`]s: they never reach a log line, even through `{:?}`.
#[derive(Clone, Debug)]
pub struct NotificationSettings {
    /// The whole `Authorization` value Google sends (`GOOGLE_NOTIFICATION_SECRET`, e.g. `Bearer …`). `None`: the
    /// endpoint is off and answers 404.
    pub secret: Option<SecretString>,
    /// The secret being rotated out, accepted too (`GOOGLE_NOTIFICATION_SECRET_PREVIOUS`).
    pub previous_secret: Option<SecretString>,
    pub keyset_url: reqwest::Url,
    /// `GOOGLE_NOTIFICATION_VERIFY_SIGNATURE` (default true).
    pub verify_signature: bool,
    /// `GOOGLE_NOTIFICATION_REQUIRE_AUTHORIZATION` (default true). One report says Google left `Authorization` out
    /// of notifications after the verification: off, a notification without it is accepted on its signature alone
    /// (a wrong one is still refused, and so is a verification without it).
    pub require_authorization: bool,
    /// Notifications for one child within this window become one job (`GOOGLE_NOTIFICATION_COALESCE_SECS`).
    pub coalesce: Duration,
    /// A Google child without a notification for this long is reported by each cron tick
    /// (`GOOGLE_NOTIFICATION_STALE_HOURS`, default 48).
    pub stale_after: Duration,
    /// What `ds-agent google-subscriber` registers.
    pub subscriber: SubscriberSettings,
}

/// The subscriber ds-agent registers with Google (docs/notifications.md#registering-the-subscriber).
#[derive(Clone, Debug)]
pub struct SubscriberSettings {
    /// `GOOGLE_PROJECT_NUMBER`: the Cloud project's number, not its id.
    pub project_number: Option<String>,
    /// `GOOGLE_SUBSCRIBER_ID` (default `ds-agent`).
    pub subscriber_id: String,
    /// `GOOGLE_NOTIFICATION_URL`: the public HTTPS URL of `POST /v1/google/notifications`, as Google calls it.
    pub endpoint_url: Option<String>,
}

impl NotificationSettings {
    pub fn enabled(&self) -> bool {
        self.secret.is_some()
    }

    /// Reads the settings from `vars`.
    pub(super) fn read(vars: &Vars<'_>) -> Result<Self, ConfigError> {
        let secret = vars.get("GOOGLE_NOTIFICATION_SECRET");
        if let Some(secret) = &secret {
            check_secret("GOOGLE_NOTIFICATION_SECRET", secret)?;
        }
        let previous_secret = vars.get("GOOGLE_NOTIFICATION_SECRET_PREVIOUS");
        if let Some(previous) = &previous_secret {
            check_secret("GOOGLE_NOTIFICATION_SECRET_PREVIOUS", previous)?;
        }
        let endpoint_url = vars
            .get("GOOGLE_NOTIFICATION_URL")
            // Kept as configured (without a trailing `/`): it is the text Google stores and calls.
            .map(|url| parse_http_url("GOOGLE_NOTIFICATION_URL", &url).map(|_| url.trim_end_matches('/').to_string()))
            .transpose()?;
        let project_number = vars.get("GOOGLE_PROJECT_NUMBER");
        if let Some(number) = &project_number {
            if !number.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ConfigError::invalid(
                    "GOOGLE_PROJECT_NUMBER",
                    number,
                    "expected the project number (digits), not the project id",
                ));
            }
        }
        let subscriber_id = vars.text("GOOGLE_SUBSCRIBER_ID", "ds-agent");
        let valid_id = subscriber_id.len() >= 4
            && subscriber_id.len() <= 36
            && subscriber_id.starts_with(|c: char| c.is_ascii_lowercase())
            && subscriber_id.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && subscriber_id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !valid_id {
            return Err(ConfigError::invalid(
                "GOOGLE_SUBSCRIBER_ID",
                &subscriber_id,
                "expected 4 to 36 of a-z, 0-9 and -, starting with a letter and not ending with -",
            ));
        }
        Ok(NotificationSettings {
            secret: secret.map(SecretString::from),
            previous_secret: previous_secret.map(SecretString::from),
            keyset_url: parse_http_url(
                "GOOGLE_NOTIFICATION_KEYSET_URL",
                &vars.text("GOOGLE_NOTIFICATION_KEYSET_URL", DEFAULT_KEYSET_URL),
            )?,
            verify_signature: vars.flag("GOOGLE_NOTIFICATION_VERIFY_SIGNATURE", true)?,
            require_authorization: vars.flag("GOOGLE_NOTIFICATION_REQUIRE_AUTHORIZATION", true)?,
            coalesce: vars.secs("GOOGLE_NOTIFICATION_COALESCE_SECS", 30)?,
            stale_after: Duration::from_secs(vars.count("GOOGLE_NOTIFICATION_STALE_HOURS", 48)? as u64 * 3600),
            subscriber: SubscriberSettings { project_number, subscriber_id, endpoint_url },
        })
    }
}

/// A secret is the whole header value Google sends: a scheme and a credential.
fn check_secret(name: &'static str, secret: &str) -> Result<(), ConfigError> {
    let well_formed = secret.split_once(' ').is_some_and(|(scheme, credential)| {
        !scheme.is_empty() && credential.len() >= 16 && !credential.contains(char::is_whitespace)
    });
    match well_formed {
        true => Ok(()),
        false => Err(ConfigError::invalid(
            name,
            "<hidden>",
            "expected the whole Authorization value, a scheme and at least 16 characters (e.g. `Bearer <random>`)",
        )),
    }
}
