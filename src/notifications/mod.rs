//! Google Health notifications (docs/notifications.md), which turn the weekly batch into a live feed: Google tells the
//! endpoint whose data changed, the endpoint answers 204 at once and notes it in Redis, and once a child's coalescing
//! window closes the [`dispatcher`] makes everything noted one targeted sync job. The cron stays as the safety net.
//! OCARIoT has no delete event: `DELETE` notifications are counted and logged, nothing more.

pub mod dispatcher;
mod inbox;
mod keyset;
mod payload;
pub mod subscriber;

use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

use mongodb::bson::oid::ObjectId;

use crate::config::NotificationSettings;
use crate::error_chain::Chain;
use crate::metrics::{self, NotificationOutcome};
use crate::provider::google::GoogleDataType;
use crate::store::JournalEntry;
pub use inbox::{Inbox, InboxError};
pub use keyset::{KeysetError, SignatureError, SignatureVerifier};
pub use payload::{Body, Notification, Operation, PayloadError};

/// Both names Google has used for the signature header (docs/google-health.md#gaps); header names are case-insensitive.
pub const SIGNATURE_HEADERS: [&str; 2] = ["x-healthapi-signature", "google-health-api-signature"];

/// What a notification request's head showed of the secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Authorization {
    /// One of the configured secrets.
    Secret,
    /// None, and the settings let the signature alone protect the endpoint.
    Absent,
}

/// What a notification request came to.
#[derive(Debug, PartialEq)]
pub enum Receipt {
    /// The endpoint check at subscriber creation (docs/notifications.md#what-google-sends): answered 201.
    Verification,
    /// Notifications noted (or deliberately left aside): answered 204.
    Accepted,
}

#[derive(Debug, thiserror::Error)]
pub enum NotificationError {
    #[error("The Authorization header does not carry the notification secret.")]
    Unauthorized,
    #[error("The notification signature is not valid: {0}")]
    BadSignature(SignatureError),
    #[error("{0}")]
    Malformed(PayloadError),
    /// Google's keyset could not be fetched: not the sender's fault, and not a 204, so Google delivers again later.
    #[error(transparent)]
    KeysetUnavailable(SignatureError),
    /// MongoDB or Redis is down: the answer is not 204, so Google keeps the notification and delivers it again later.
    #[error(transparent)]
    Unavailable(#[from] InboxError),
}

#[derive(Clone)]
pub struct Notifications {
    inner: Arc<Inner>,
}

struct Inner {
    settings: NotificationSettings,
    verifier: SignatureVerifier,
    inbox: Inbox,
}

impl Notifications {
    /// `None` while `GOOGLE_NOTIFICATION_SECRET` is unset: the endpoint is off.
    pub fn new(settings: &NotificationSettings, inbox: Inbox, timeout: Duration) -> Option<Self> {
        if settings.enabled() && !settings.verify_signature {
            tracing::warn!(
                "GOOGLE_NOTIFICATION_VERIFY_SIGNATURE=false: notifications are trusted on their Authorization alone{}",
                if settings.require_authorization { "" } else { ", and accepted without it: anyone can send them" }
            );
        }
        settings.enabled().then(|| Notifications {
            inner: Arc::new(Inner {
                settings: settings.clone(),
                verifier: SignatureVerifier::new(settings.keyset_url.as_str(), timeout),
                inbox,
            }),
        })
    }

    pub fn settings(&self) -> &NotificationSettings {
        &self.inner.settings
    }

    pub fn inbox(&self) -> &Inbox {
        &self.inner.inbox
    }

    /// Checks a request's `Authorization` value, from its head alone, so that a sender without the secret costs
    /// nothing: no body byte is read before this says yes. `Ok(Authorization::Secret)` when it carries a configured
    /// secret, `Ok(Authorization::Absent)` when it carries none and `GOOGLE_NOTIFICATION_REQUIRE_AUTHORIZATION=false`
    /// lets the signature alone decide.
    pub fn authorize(&self, authorization: Option<&str>) -> Result<Authorization, NotificationError> {
        let settings = &self.inner.settings;
        match authorization {
            Some(value) => {
                let matches = |secret: &Option<SecretString>| {
                    secret
                        .as_ref()
                        .is_some_and(|secret| bool::from(secret.expose_secret().as_bytes().ct_eq(value.as_bytes())))
                };
                // Both compared, whatever the first says, so the time taken tells nothing.
                let (current, previous) = (matches(&settings.secret), matches(&settings.previous_secret));
                if !(current | previous) {
                    return Err(refused(NotificationError::Unauthorized, NotificationOutcome::Unauthorized));
                }
                Ok(Authorization::Secret)
            }
            None if settings.require_authorization => {
                Err(refused(NotificationError::Unauthorized, NotificationOutcome::Unauthorized))
            }
            None => Ok(Authorization::Absent),
        }
    }

    /// Checks and notes one request whose head [`authorize`](Self::authorize) let through: the signature header's
    /// value and the raw body. Never syncs: the work is queued, so that the answer goes back within milliseconds.
    pub async fn receive(
        &self,
        authorization: Authorization,
        signature: Option<&str>,
        body: &[u8],
    ) -> Result<Receipt, NotificationError> {
        let settings = &self.inner.settings;
        let authorized = authorization == Authorization::Secret;
        let parsed = payload::parse(body)
            .map_err(|e| refused(NotificationError::Malformed(e), NotificationOutcome::Malformed))?;
        let (notifications, unreadable) = match parsed {
            // The check's second probe comes without Authorization and must be refused.
            Body::Verification if authorized => {
                metrics::get().notification(NotificationOutcome::Verification, 1);
                return Ok(Receipt::Verification);
            }
            Body::Verification => {
                return Err(refused(NotificationError::Unauthorized, NotificationOutcome::Unauthorized))
            }
            Body::Notifications { notifications, unreadable } => (notifications, unreadable),
        };
        if settings.verify_signature {
            match self.inner.verifier.verify(body, signature).await {
                Ok(()) => {}
                Err(e @ SignatureError::Keyset(_)) => {
                    tracing::warn!("Google notification not checked, Google delivers it again: {}", Chain(&e));
                    metrics::get().notification(NotificationOutcome::Unavailable, 1);
                    return Err(NotificationError::KeysetUnavailable(e));
                }
                Err(e) => return Err(refused(NotificationError::BadSignature(e), NotificationOutcome::BadSignature)),
            }
        }
        if unreadable > 0 {
            tracing::warn!("{unreadable} Google notifications without healthUserId or dataType left aside");
            metrics::get().notification(NotificationOutcome::Malformed, unreadable as u64);
        }
        // From here on a notification names a data type the sync reads: typed, not a string.
        let mut wanted = Vec::with_capacity(notifications.len());
        for notification in notifications {
            let data_type = GoogleDataType::parse(&notification.data_type);
            if notification.operation == Operation::Delete {
                // OCARIoT has no event for deleted data.
                tracing::info!(
                    "Google deleted {} data of Health user {}; OCARIoT has no delete event, nothing is sent",
                    notification.data_type,
                    notification.health_user_id
                );
                metrics::get().notification(NotificationOutcome::Deleted, 1);
            } else if let Some(data_type) = data_type {
                wanted.push((notification, data_type));
            } else {
                tracing::debug!("Google notified {} data, which the sync does not read", notification.data_type);
                metrics::get().notification(NotificationOutcome::IgnoredType, 1);
            }
        }
        let entries: Vec<JournalEntry> = wanted
            .into_iter()
            .map(|(n, data_type)| JournalEntry {
                id: ObjectId::new(),
                health_user_id: n.health_user_id,
                data_type: data_type.name().to_string(),
                days: n.days,
            })
            .collect();
        // Kept in MongoDB before the 204, so that losing Redis afterwards loses nothing (see `inbox`).
        if let Err(e) = self.inner.inbox.accept(&entries).await {
            tracing::warn!("Google notifications not noted, Google delivers them again: {}", Chain(&e));
            metrics::get().notification(NotificationOutcome::Unavailable, entries.len() as u64);
            return Err(e.into());
        }
        metrics::get().notification(NotificationOutcome::Accepted, entries.len() as u64);
        Ok(Receipt::Accepted)
    }
}

fn refused(error: NotificationError, outcome: NotificationOutcome) -> NotificationError {
    tracing::debug!("Google notification refused: {}", Chain(&error));
    metrics::get().notification(outcome, 1);
    error
}
