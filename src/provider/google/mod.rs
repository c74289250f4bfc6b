//! The Google Health API client (docs/google-health.md): Google OAuth (refresh, code exchange, revoke, tokeninfo)
//! against `GOOGLE_OAUTH_URL`, and the Health API v4 reads against `GOOGLE_HEALTH_API_URL`. Every call has a timeout;
//! transient failures are retried a bounded number of times. A sync's reads share one request budget per child
//! (`pacer`), every Health API call of every instance takes from the project's budget ([`ProjectBudget`]), and a
//! 429 is waited out briefly before it fails the read: the child waits after a 429 of the user's quota, every child
//! after one of the project's.

mod classify;
mod data_type;
mod health;
mod onboard;
mod pacer;
mod pages;
mod project_budget;
pub mod transform;

pub use data_type::{GoogleDataType, SYNCED_TYPES};
pub use pages::FEEDS;
pub use project_budget::ProjectBudget;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use reqwest::header::{ACCEPT, AUTHORIZATION};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::Value;

use super::retry::{with_backoff, with_retry, RetryPolicy};
use super::transport::{http_client, send_raw, PAGE_CAP, RETRY_AFTER_CAP_SECS, TOKEN_CAP};
use super::{ProviderError, ProviderErrorKind};
use crate::backoff::Backoff;
use crate::config::{BaseUrl, ClientCredentials};
use crate::domain::{ProviderKind, Scopes};
use crate::provider::page::PageSlot;
use classify::classify_answer;
use pacer::Pacer;
use project_budget::PROJECT_PAUSE;

/// The longest `Retry-After` a read waits out before it fails with 1429 (and the job is rescheduled).
const MAX_RETRY_AFTER: Duration = Duration::from_secs(10);
/// The first pause after a 429 without `Retry-After` (Google documents none): doubled on the next one.
const RATE_LIMIT_PAUSE: Duration = Duration::from_secs(1);
/// The pauses before retrying a 429 that names no `Retry-After`: doubling from [`RATE_LIMIT_PAUSE`], with jitter so
/// that the parts of a sync do not come back together.
const RATE_LIMIT_BACKOFF: Backoff = Backoff::doubling(RATE_LIMIT_PAUSE).with_jitter(Duration::from_millis(250));

/// A sync's read: whose pace it waits for (the child's key in the pacer), and the part's [`PageSlot`] it fills once
/// its turn has come, just before the request goes out.
#[derive(Clone, Copy)]
pub struct PacedRead<'a> {
    pub child: &'a str,
    pub slot: &'a PageSlot,
}

/// Tokens from Google's token endpoint. Refresh tokens do not rotate: a refresh normally returns none. The tokens
/// are [`SecretString`]s: no `{:?}` shows them.
#[derive(Clone, Debug, Deserialize)]
pub struct GoogleGrant {
    pub access_token: SecretString,
    pub refresh_token: Option<SecretString>,
    /// Seconds from now.
    pub expires_in: Option<i64>,
    pub scope: Option<Scopes>,
}

impl GoogleGrant {
    /// Absolute expiry in epoch seconds, the meaning of the stored `expires_in`
    /// (docs/decisions.md#token-expiry-and-refresh).
    pub fn expires_at(&self) -> Option<i64> {
        self.expires_in.map(|secs| Utc::now().timestamp() + secs)
    }
}

/// What `/tokeninfo` says of a live access token.
#[derive(Clone, Debug, Default)]
pub struct TokenInfo {
    pub scope: Option<Scopes>,
    /// Absolute expiry in epoch seconds.
    pub exp: Option<i64>,
    /// The OAuth client the token was issued to.
    pub aud: Option<String>,
    /// The client that asked for it, when Google names one.
    pub azp: Option<String>,
}

impl TokenInfo {
    /// Whether the token was issued to `client_id`: `aud` must name it, and `azp` too when Google gives one. A token
    /// of another OAuth client is not this service's to use, however valid it is.
    pub fn issued_to(&self, client_id: Option<&str>) -> bool {
        let Some(client_id) = client_id.filter(|id| !id.is_empty()) else { return false };
        self.aud.as_deref() == Some(client_id) && self.azp.as_deref().is_none_or(|azp| azp == client_id)
    }
}

#[derive(Clone)]
pub struct GoogleClient {
    http: reqwest::Client,
    /// `GOOGLE_HEALTH_API_URL`.
    health_api: BaseUrl,
    /// `GOOGLE_OAUTH_URL`.
    oauth: BaseUrl,
    credentials: ClientCredentials,
    retry: RetryPolicy,
    pacer: Arc<Pacer>,
    project: Option<Arc<ProjectBudget>>,
}

impl GoogleClient {
    /// `requests_per_second`: each child's Health API budget (`GOOGLE_REQUESTS_PER_SECOND`), bursts of twice that.
    pub fn new(
        health_api: BaseUrl,
        oauth: BaseUrl,
        credentials: ClientCredentials,
        timeout: Duration,
        requests_per_second: f64,
    ) -> Self {
        let http = http_client(timeout);
        GoogleClient {
            http,
            health_api,
            oauth,
            credentials,
            retry: Default::default(),
            pacer: Arc::new(Pacer::new(requests_per_second)),
            project: None,
        }
    }

    /// Every Health API call takes from `budget`, the project's, shared by every instance.
    pub fn with_project_budget(mut self, budget: ProjectBudget) -> Self {
        self.project = Some(Arc::new(budget));
        self
    }

    pub fn credentials(&self) -> &ClientCredentials {
        &self.credentials
    }

    /// Google's consent page, served by the OAuth host's sibling `accounts.google.com` in production and by the
    /// simulator's base URL locally.
    fn consent_page(&self) -> reqwest::Url {
        if self.oauth.url().host_str() == Some("oauth2.googleapis.com") {
            reqwest::Url::parse("https://accounts.google.com/o/oauth2/v2/auth").expect("a valid constant URL")
        } else {
            self.oauth.endpoint("o/oauth2/v2/auth")
        }
    }

    /// Token refresh. The refresh token is long-lived and may be retried, unlike Fitbit's single-use one.
    pub async fn refresh(&self, refresh_token: &str) -> Result<GoogleGrant, ProviderError> {
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", self.credentials.client_id.as_deref().unwrap_or("")),
            ("client_secret", self.credentials.secret()),
        ];
        self.token_request(&form).await.map_err(|e| e.with_tokens(None, Some(refresh_token)))
    }

    /// Code exchange, for the server-side connect flow, with the PKCE verifier of the consent's challenge.
    pub async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &str,
        code_verifier: &str,
    ) -> Result<GoogleGrant, ProviderError> {
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", code_verifier),
            ("client_id", self.credentials.client_id.as_deref().unwrap_or("")),
            ("client_secret", self.credentials.secret()),
        ];
        self.token_request(&form).await
    }

    async fn token_request(&self, form: &[(&str, &str)]) -> Result<GoogleGrant, ProviderError> {
        let url = self.oauth.endpoint("token");
        let (_, _, bytes) = with_retry(
            self.retry,
            || async {
                let request = self.http.post(url.clone()).header(ACCEPT, "application/json").form(form);
                let answer = send_raw(request, ProviderKind::Google, classify_answer, TOKEN_CAP).await?;
                match classify_answer(answer.0, &answer.1, &answer.2) {
                    Some(error) => Err(error),
                    None => Ok(answer),
                }
            },
            ProviderError::is_transient,
        )
        .await?;
        serde_json::from_slice(&bytes)
            .map_err(|_| ProviderError::new(ProviderErrorKind::Untyped, "token answer without tokens"))
    }

    /// Revokes the whole grant. A token Google no longer knows is already revoked.
    pub async fn revoke(&self, token: &str) -> Result<(), ProviderError> {
        let url = self.oauth.endpoint("revoke");
        let result = with_retry(
            self.retry,
            || async { self.send(self.http.post(url.clone()).form(&[("token", token)]), TOKEN_CAP).await },
            ProviderError::is_transient,
        )
        .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if e.kind == ProviderErrorKind::InvalidToken => Ok(()),
            Err(e) => Err(e.with_tokens(Some(token), None)),
        }
    }

    /// Tokeninfo: `None` when Google says the token is not (or no longer) valid; an error when Google could not answer,
    /// so an outage is never mistaken for a dead token (docs/decisions.md#an-outage-is-not-a-dead-token). The token goes
    /// in a POST form body, never in the URL, where proxies and access logs would keep it.
    pub async fn tokeninfo(&self, access_token: &str) -> Result<Option<TokenInfo>, ProviderError> {
        let url = self.oauth.endpoint("tokeninfo");
        let answer = with_retry(
            self.retry,
            || async {
                self.send(self.http.post(url.clone()).form(&[("access_token", access_token)]), TOKEN_CAP).await
            },
            ProviderError::is_transient,
        )
        .await;
        match answer {
            Ok(body) => {
                let number = |key: &str| match body.get(key) {
                    Some(Value::String(s)) => s.parse().ok(),
                    Some(v) => v.as_i64(),
                    None => None,
                };
                let exp = number("exp").or_else(|| number("expires_in").map(|secs: i64| Utc::now().timestamp() + secs));
                let text = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_string);
                Ok(Some(TokenInfo { scope: text("scope").map(Scopes::from), exp, aud: text("aud"), azp: text("azp") }))
            }
            Err(e) if matches!(e.kind, ProviderErrorKind::InvalidToken | ProviderErrorKind::ExpiredToken) => Ok(None),
            Err(e) if matches!(e.kind, ProviderErrorKind::Other(_) | ProviderErrorKind::PermissionDenied) => Ok(None),
            Err(e) => Err(e.with_tokens(Some(access_token), None)),
        }
    }

    /// `users/me/identity`: the account's `healthUserId`, which proves the token reaches the Health API.
    pub async fn identity(&self, access_token: &str) -> Result<String, ProviderError> {
        let url = self.health_api.endpoint("v4/users/me/identity");
        let body = self.health_call(None, access_token, || self.http.get(url.clone())).await?;
        Ok(body.get("healthUserId").and_then(Value::as_str).unwrap_or_default().to_string())
    }

    /// A Health API call: within the child's budget and then in the part's page slot, when the call is part of a sync
    /// (`read`); within the project's budget; retried on transient failures and on a 429 that is worth waiting for
    /// ([`health_backoff`]), with the page slot given back while it waits.
    async fn health_call(
        &self,
        read: Option<PacedRead<'_>>,
        access_token: &str,
        request: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<Value, ProviderError> {
        with_backoff(
            self.retry,
            || async {
                if let Some(read) = read {
                    self.pacer.wait_turn(read.child).await;
                    read.slot.fill().await;
                }
                if let Some(project) = &self.project {
                    project.take().await;
                }
                if let Some(read) = read {
                    self.pacer.wait_departure(read.child).await;
                }
                let answer =
                    self.send_health(read.map(|read| read.child), self.authorized(request(), access_token)).await;
                if let (Err(_), Some(read)) = (&answer, read) {
                    read.slot.empty();
                }
                answer
            },
            |error, attempt| health_backoff(error, attempt, &self.retry),
        )
        .await
        .map_err(|e| e.with_tokens(Some(access_token), None))
    }

    fn authorized(&self, request: reqwest::RequestBuilder, access_token: &str) -> reqwest::RequestBuilder {
        request.header(AUTHORIZATION, format!("Bearer {access_token}")).header(ACCEPT, "application/json")
    }

    /// A Health API request; a 429 also pauses whose quota it names: every child for the project's, this child (when
    /// the call is part of a sync) for the user's.
    async fn send_health(&self, child: Option<&str>, request: reqwest::RequestBuilder) -> Result<Value, ProviderError> {
        let (status, headers, bytes) = send_raw(request, ProviderKind::Google, classify_answer, PAGE_CAP).await?;
        if let Some(error) = classify_answer(status, &headers, &bytes) {
            if let ProviderErrorKind::RateLimited { retry_after_secs } = error.kind {
                // `retry_after` already caps it; capped again here, as the error may come from elsewhere.
                let pause =
                    retry_after_secs.map_or(PROJECT_PAUSE, |secs| Duration::from_secs(secs.min(RETRY_AFTER_CAP_SECS)));
                if project_budget::names_project(&bytes) {
                    if let Some(project) = &self.project {
                        project.pause(pause).await;
                    }
                } else if let Some(child) = child {
                    let labels = crate::metrics::QuotaLabels { scope: crate::metrics::QuotaScope::User };
                    crate::metrics::get().google_quota_refusals.get_or_create(&labels).inc();
                    self.pacer.hold(child, pause.min(RATE_LIMIT_PAUSE));
                }
            }
            return Err(error);
        }
        Ok(serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    async fn send(&self, request: reqwest::RequestBuilder, cap: usize) -> Result<Value, ProviderError> {
        let (status, headers, bytes) = send_raw(request, ProviderKind::Google, classify_answer, cap).await?;
        if let Some(error) = classify_answer(status, &headers, &bytes) {
            return Err(error);
        }
        Ok(serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }
}

/// The pause before retrying a Health API call, or `None` to fail now. A 429 is waited out when it names a short
/// `Retry-After`, or after a short growing pause when it names none (docs/google-health.md#pacing); a longer
/// `Retry-After` fails the read with 1429, whose job is rescheduled after it. `attempt` is the attempt that failed (1
/// for the first); other transient failures wait as `policy` says.
fn health_backoff(error: &ProviderError, attempt: u32, policy: &RetryPolicy) -> Option<Duration> {
    match error.kind {
        ProviderErrorKind::Unavailable => Some(policy.backoff.delay(attempt)),
        ProviderErrorKind::RateLimited { retry_after_secs: None } => Some(RATE_LIMIT_BACKOFF.delay(attempt)),
        ProviderErrorKind::RateLimited { retry_after_secs: Some(secs) } => {
            Some(Duration::from_secs(secs)).filter(|pause| *pause <= MAX_RETRY_AFTER)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_429_is_waited_out_only_when_it_is_worth_it() {
        let policy = RetryPolicy::default();
        let backoff = |error: &ProviderError, attempt| health_backoff(error, attempt, &policy);
        let limited = |retry_after_secs| ProviderError::new(ProviderErrorKind::RateLimited { retry_after_secs }, "x");
        let pause = backoff(&limited(None), 1).unwrap();
        assert!(pause >= RATE_LIMIT_PAUSE && pause < RATE_LIMIT_PAUSE + Duration::from_millis(250), "{pause:?}");
        let second = backoff(&limited(None), 2).unwrap();
        assert!(second >= RATE_LIMIT_PAUSE * 2 && second < RATE_LIMIT_PAUSE * 2 + Duration::from_millis(250));
        assert_eq!(backoff(&limited(Some(3)), 1), Some(Duration::from_secs(3)));
        assert_eq!(backoff(&limited(Some(3600)), 1), None);
        let unavailable = ProviderError::new(ProviderErrorKind::Unavailable, "x");
        assert_eq!(backoff(&unavailable, 1), Some(Duration::from_millis(200)));
        assert_eq!(backoff(&unavailable, 2), Some(Duration::from_millis(400)));
        assert_eq!(backoff(&ProviderError::new(ProviderErrorKind::InvalidToken, "x"), 1), None);
        assert_eq!(backoff(&limited(Some(u64::MAX)), 1), None, "no overflow on an absurd Retry-After");
    }

    #[test]
    fn a_token_counts_only_when_issued_to_this_client() {
        let info = |aud: Option<&str>, azp: Option<&str>| TokenInfo {
            aud: aud.map(str::to_string),
            azp: azp.map(str::to_string),
            ..Default::default()
        };
        let ours = Some("ours.apps.googleusercontent.com");
        assert!(info(ours, ours).issued_to(ours));
        assert!(info(ours, None).issued_to(ours), "azp is checked only when present");
        assert!(!info(Some("theirs"), Some("theirs")).issued_to(ours));
        assert!(!info(ours, Some("theirs")).issued_to(ours), "asked for by another client");
        assert!(!info(None, None).issued_to(ours), "no audience, no trust");
        assert!(!info(ours, ours).issued_to(None), "without a client id of our own nothing is ours");
    }
}
