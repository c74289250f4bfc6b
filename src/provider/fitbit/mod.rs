//! The legacy Fitbit Web API client: token refresh, introspection and revoke, and the data GETs, against
//! `FITBIT_API_URL`. Every call has a timeout; transient failures are retried a bounded number of times.
//!
//! The token exchange is plain reqwest rather than the oauth2 crate: Fitbit's token errors are not RFC 6749 shaped
//! (`{"errors":[{"errorType":…}]}`), and the oauth2 crate would lose the `errorType` the error codes depend on.

mod classify;
mod data;
pub mod jwt;
mod onboard;
pub use onboard::FitbitTokenFacts;
mod pages;
pub mod transform;

pub use data::LogList;
pub use pages::FEEDS;

use std::time::Duration;

use base64::Engine;
use reqwest::header::{ACCEPT, AUTHORIZATION};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::Value;

use super::retry::{with_retry, RetryPolicy};
use super::transport::{http_client, origin_text, same_origin, send_raw, PAGE_CAP, TOKEN_CAP};
use super::{ProviderError, ProviderErrorKind};
use crate::config::{BaseUrl, ClientCredentials};
use crate::domain::ProviderKind;
use classify::classify_answer;

/// The tokens a refresh hands back. The rest comes from the new access token's claims, as in the original. The
/// tokens are [`SecretString`]s: no `{:?}` shows them.
#[derive(Clone, Debug, Deserialize)]
pub struct TokenGrant {
    pub access_token: SecretString,
    pub refresh_token: SecretString,
}

#[derive(Clone)]
pub struct FitbitClient {
    http: reqwest::Client,
    /// `FITBIT_API_URL`: every endpoint's base, and the only origin a `pagination.next` link may point at.
    api: BaseUrl,
    credentials: ClientCredentials,
    retry: RetryPolicy,
}

impl FitbitClient {
    pub fn new(api: BaseUrl, credentials: ClientCredentials, timeout: Duration) -> Self {
        let http = http_client(timeout);
        FitbitClient { http, api, credentials, retry: Default::default() }
    }

    /// Token introspection. `Ok(false)` when Fitbit says the token is not active or rejects it as a token; an error
    /// when Fitbit could not answer, so that an outage is never mistaken for a dead token
    /// (docs/decisions.md#an-outage-is-not-a-dead-token).
    pub async fn introspect(&self, access_token: &str) -> Result<bool, ProviderError> {
        let url = self.api.endpoint("1.1/oauth2/introspect");
        let answer = with_retry(
            self.retry,
            || async {
                let request = self
                    .http
                    .post(url.clone())
                    .header(AUTHORIZATION, format!("Bearer {access_token}"))
                    .header(ACCEPT, "application/json")
                    .form(&[("token", access_token)]);
                send(request, TOKEN_CAP).await
            },
            ProviderError::is_transient,
        )
        .await;
        match answer {
            Ok(body) => Ok(body.get("active").is_some_and(truthy)),
            Err(e) if matches!(e.kind, ProviderErrorKind::InvalidToken | ProviderErrorKind::ExpiredToken) => Ok(false),
            Err(e) => Err(e.with_tokens(Some(access_token), None)),
        }
    }

    /// Token refresh. A refresh token works once, so only failures that prove the request was not processed (no
    /// connection, or a 5xx answer) are retried; a timeout is not, since Fitbit may have spent the token.
    pub async fn refresh(&self, access_token: &str, refresh_token: &str) -> Result<TokenGrant, ProviderError> {
        let url = self.api.endpoint("oauth2/token");
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", self.credentials.client_id.as_deref().unwrap_or("")),
            ("client_secret", self.credentials.secret()),
        ];
        let body = with_retry(
            self.retry,
            || async {
                send_raw(self.client_request(&url).form(&form), ProviderKind::Fitbit, classify_answer, TOKEN_CAP).await
            },
            |e| e.detail.starts_with("connection failed") || e.detail == "5xx",
        )
        .await
        .and_then(|(status, headers, bytes)| match classify_answer(status, &headers, &bytes) {
            Some(error) => Err(error),
            None => serde_json::from_slice::<TokenGrant>(&bytes)
                .map_err(|_| ProviderError::new(ProviderErrorKind::Untyped, "token answer without tokens")),
        });
        body.map_err(|e| e.with_tokens(Some(access_token), Some(refresh_token)))
    }

    /// Revokes the grant of `access_token`.
    pub async fn revoke(&self, access_token: &str) -> Result<(), ProviderError> {
        let url = self.api.endpoint("oauth2/revoke");
        let form = [
            ("token", access_token),
            ("token_type_hint", "access_token"),
            ("client_id", self.credentials.client_id.as_deref().unwrap_or("")),
            ("client_secret", self.credentials.secret()),
        ];
        with_retry(
            self.retry,
            || async { send(self.client_request(&url).form(&form), TOKEN_CAP).await },
            ProviderError::is_transient,
        )
        .await
        .map(|_| ())
        .map_err(|e| e.with_tokens(Some(access_token), None))
    }

    /// A data GET: `path` follows `/1.2/user/-`, query included; an absolute URL (a `pagination.next` link) is used as
    /// is, but only on `FITBIT_API_URL`'s origin: a link elsewhere would take the child's token with it
    /// (docs/operations.md#provider-answers-and-links).
    pub async fn get(&self, path: &str, access_token: &str) -> Result<Value, ProviderError> {
        let url = if path.starts_with("http://") || path.starts_with("https://") {
            self.page_link(path)?
        } else {
            let (path, query) = path.split_once('?').map_or((path, None), |(path, query)| (path, Some(query)));
            let mut url = self.api.endpoint(&format!("1.2/user/-/{path}"));
            url.set_query(query);
            url
        };
        with_retry(
            self.retry,
            || async {
                let request = self
                    .http
                    .get(url.clone())
                    .header(AUTHORIZATION, format!("Bearer {access_token}"))
                    .header(ACCEPT, "application/json");
                send(request, PAGE_CAP).await
            },
            ProviderError::is_transient,
        )
        .await
        .map_err(|e| e.with_tokens(Some(access_token), None))
    }

    /// A page link that may be followed: on the origin of `FITBIT_API_URL`. Any other is refused, and logged without
    /// its path and query.
    fn page_link(&self, link: &str) -> Result<reqwest::Url, ProviderError> {
        match reqwest::Url::parse(link) {
            Ok(url) if same_origin(&url, self.api.url()) => Ok(url),
            parsed => {
                let shown = parsed.as_ref().map_or_else(|_| "an unreadable URL".to_string(), origin_text);
                tracing::warn!("Fitbit sent a page link to another origin ({shown}): not followed");
                Err(ProviderError::new(
                    ProviderErrorKind::RefusedAnswer,
                    format!("page link to another origin ({shown}) not followed"),
                ))
            }
        }
    }

    /// A request with the client credentials in a Basic header, form-encoded first as simple-oauth2 did.
    fn client_request(&self, url: &reqwest::Url) -> reqwest::RequestBuilder {
        let encode = |s: &str| form_urlencoded(s);
        let id = encode(self.credentials.client_id.as_deref().unwrap_or(""));
        let secret = encode(self.credentials.secret());
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
        self.http.post(url.clone()).header(ACCEPT, "application/json").header(AUTHORIZATION, format!("Basic {basic}"))
    }
}

fn form_urlencoded(value: &str) -> String {
    serde_urlencoded::to_string([("", value)]).map(|s| s[1..].to_string()).unwrap_or_default()
}

fn truthy(value: &Value) -> bool {
    match value {
        Value::Bool(b) => *b,
        Value::Null => false,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        _ => true,
    }
}

async fn send(request: reqwest::RequestBuilder, cap: usize) -> Result<Value, ProviderError> {
    let (status, headers, bytes) = send_raw(request, ProviderKind::Fitbit, classify_answer, cap).await?;
    if let Some(error) = classify_answer(status, &headers, &bytes) {
        return Err(error);
    }
    Ok(serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

#[cfg(test)]
mod tests {
    #[test]
    fn credentials_are_form_encoded_like_simple_oauth2() {
        assert_eq!(super::form_urlencoded("a b&c"), "a+b%26c");
        assert_eq!(super::form_urlencoded("1A2B3C"), "1A2B3C");
    }
}
