//! The provider boundary: one child's provider as one value, [`Provider`], with everything that differs between
//! Fitbit and Google behind it: the pages of resources and logs a sync reads, the scopes that allow them, the token
//! refresh and revoke, which refusals a refresh may cure, the de-duplication key, and the checks of handed-over
//! tokens. The services, jobs and routes choose a provider once (`Providers::of`) and stay provider-blind after.

use futures::stream::BoxStream;
use secrecy::ExposeSecret;

use super::fitbit::jwt::decode_claims;
use super::fitbit::{self, FitbitClient};
use super::google::{GoogleClient, GoogleDataType};
use super::onboarding::{OnboardingError, TokenFacts, Unreadable};
use super::page::{LogPage, PageSlot, Reading, ResourcePage, TakeWhileOk};
use super::{ProviderError, ProviderErrorKind};
use crate::domain::{Feed, LogPart, Part, ProviderAuth, ProviderKind, ResourceKind, Scopes};

#[derive(Clone)]
pub struct Providers {
    pub fitbit: FitbitClient,
    pub google: GoogleClient,
}

/// New tokens from a refresh, in the stored record's terms.
#[derive(Clone)]
pub struct Refreshed {
    pub access_token: String,
    pub refresh_token: String,
    /// Absolute expiry in epoch seconds.
    pub expires_in: Option<i64>,
    pub scope: Option<Scopes>,
    pub user_id: Option<String>,
}

/// One provider's client, chosen by a child's [`ProviderKind`].
#[derive(Clone, Copy)]
pub enum Provider<'a> {
    Fitbit(&'a FitbitClient),
    Google(&'a GoogleClient),
}

impl Providers {
    /// The provider a child is on.
    pub fn of(&self, kind: ProviderKind) -> Provider<'_> {
        match kind {
            ProviderKind::Fitbit => Provider::Fitbit(&self.fitbit),
            ProviderKind::Google => Provider::Google(&self.google),
        }
    }

    pub async fn refresh(&self, auth: &ProviderAuth) -> Result<Refreshed, ProviderError> {
        self.of(auth.provider).refresh(auth).await
    }

    /// Revokes the grant: with the access token, or with the refresh token when the access token has expired.
    pub async fn revoke(&self, provider: ProviderKind, access: &str, refresh: &str) -> Result<(), ProviderError> {
        self.of(provider).revoke(access, refresh).await
    }
}

impl<'a> Provider<'a> {
    pub fn kind(self) -> ProviderKind {
        match self {
            Provider::Fitbit(_) => ProviderKind::Fitbit,
            Provider::Google(_) => ProviderKind::Google,
        }
    }

    /// What a sync of this provider reads: its parts and the scope of each.
    pub fn feeds(self) -> &'static [Feed] {
        match self {
            Provider::Fitbit(_) => fitbit::FEEDS,
            Provider::Google(_) => super::google::FEEDS,
        }
    }

    /// The scope that allows reading `part` (`None`: a part this provider does not have).
    pub fn scope(self, part: Part) -> Option<&'static str> {
        self.feeds().iter().find(|feed| feed.part == part).map(|feed| feed.scope)
    }

    /// A resource kind's items over the window, page by page (or range by range for weights), so that a sync holds
    /// one page at a time, in `slot`: Google's reads fill it once the child's pace lets them; Fitbit's are not paced,
    /// and the sync fills it when the page comes. The stream ends at the first error.
    pub fn resource_pages(
        self,
        reading: &'a Reading<'a>,
        kind: ResourceKind,
        slot: &'a PageSlot,
    ) -> BoxStream<'a, ResourcePage> {
        let pages = match self {
            Provider::Fitbit(client) => client.resource_pages(reading, kind),
            Provider::Google(client) => client.resource_pages(reading, kind, slot),
        };
        pages.take_while_ok()
    }

    /// The part that reads a notified Google data type, if this provider's sync has it (Fitbit's log parts are
    /// other ones).
    pub fn part_reading(self, data_type: GoogleDataType) -> Option<Part> {
        let part = data_type.part();
        self.scope(part).map(|_| part)
    }

    /// Log part `part`'s entries over the window, chunk by chunk, in `slot` (as [`Provider::resource_pages`]). The
    /// stream ends at the first error.
    pub fn log_pages(self, reading: &'a Reading<'a>, part: LogPart, slot: &'a PageSlot) -> BoxStream<'a, LogPage> {
        let pages = match self {
            Provider::Fitbit(client) => client.log_pages(reading, part),
            Provider::Google(client) => client.log_pages(reading, part, slot),
        };
        pages.take_while_ok()
    }

    /// Whether items are also de-duplicated by their natural key (`ocariot::Resource::natural_key`): Google's reconciled
    /// ids are not documented as stable; Fitbit's log ids are.
    pub fn dedups_by_natural_key(self) -> bool {
        matches!(self, Provider::Google(_))
    }

    /// Whether a refresh may cure a refusal: the provider said the access token expired (Fitbit `expired_token`, or
    /// `invalid_token` whose message says so; Google's `UNAUTHENTICATED`, whose client policy is "refresh once").
    pub fn refresh_may_cure(self, error: &ProviderError) -> bool {
        match error.kind {
            ProviderErrorKind::ExpiredToken => true,
            ProviderErrorKind::InvalidToken => match self {
                Provider::Fitbit(_) => error.detail.to_ascii_lowercase().contains("expired"),
                Provider::Google(_) => true,
            },
            _ => false,
        }
    }

    pub async fn refresh(self, auth: &ProviderAuth) -> Result<Refreshed, ProviderError> {
        match self {
            Provider::Fitbit(fitbit) => {
                let grant = fitbit.refresh(&auth.access_token, &auth.refresh_token).await?;
                // Only the tokens are taken from the answer; the rest comes from the new JWT's claims.
                let claims = decode_claims(grant.access_token.expose_secret()).unwrap_or_default();
                Ok(Refreshed {
                    access_token: grant.access_token.expose_secret().to_string(),
                    refresh_token: grant.refresh_token.expose_secret().to_string(),
                    expires_in: claims.exp,
                    scope: claims.scopes,
                    user_id: claims.sub,
                })
            }
            Provider::Google(google) => {
                let grant = google.refresh(&auth.refresh_token).await?;
                Ok(Refreshed {
                    expires_in: grant.expires_at(),
                    // Google's refresh tokens do not rotate: keep the stored one unless a new one came.
                    refresh_token: grant
                        .refresh_token
                        .as_ref()
                        .map_or_else(|| auth.refresh_token.clone(), |token| token.expose_secret().to_string()),
                    scope: grant.scope.clone().or_else(|| auth.scope.clone()),
                    user_id: auth.user_id.clone(),
                    access_token: grant.access_token.expose_secret().to_string(),
                })
            }
        }
    }

    /// Revokes the grant: with the access token, or with the refresh token when the access token has expired.
    pub async fn revoke(self, access: &str, refresh: &str) -> Result<(), ProviderError> {
        match self {
            Provider::Fitbit(fitbit) => match fitbit.revoke(access).await {
                Err(e) if e.kind == ProviderErrorKind::ExpiredToken => fitbit.revoke(refresh).await,
                other => other,
            },
            // Revoking the refresh token ends the whole grant, access tokens included.
            Provider::Google(google) => google.revoke(refresh).await,
        }
    }

    /// What POST auth reads off the access token before any other check (Fitbit decodes its JWT first).
    pub fn read_token(self, access_token: Option<&str>) -> Result<TokenFacts, Unreadable> {
        match self {
            Provider::Fitbit(_) => FitbitClient::read_token(access_token),
            Provider::Google(_) => Ok(TokenFacts::Google),
        }
    }

    /// POST auth's checks of handed-over tokens, in the provider's order; the authorization to store if they pass.
    pub async fn check_tokens(
        self,
        access_token: &str,
        refresh_token: &str,
        facts: TokenFacts,
    ) -> Result<ProviderAuth, OnboardingError> {
        match (self, facts) {
            (Provider::Fitbit(fitbit), TokenFacts::Fitbit(facts)) => {
                fitbit.authorization(access_token, refresh_token, facts).await
            }
            // Facts read by another provider than the one checking: none of Fitbit's apply.
            (Provider::Fitbit(fitbit), TokenFacts::Google) => {
                fitbit.authorization(access_token, refresh_token, Default::default()).await
            }
            (Provider::Google(google), _) => google.check_tokens(access_token, refresh_token).await,
        }
    }
}
