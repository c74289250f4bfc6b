//! What both providers' clients share on the wire: the one way to build a client for a provider (or Google's keyset and
//! subscriber API), sending with metrics, answers read up to a cap, the origin rule of page links, and the readings of
//! a failed exchange that do not depend on the provider (no answer at all, `Retry-After`). Why each bound is what it
//! is: docs/operations.md#provider-answers-and-links.

use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{StatusCode, Url};

use super::{ProviderError, ProviderErrorKind};
use crate::domain::ProviderKind;

pub type RawAnswer = (StatusCode, HeaderMap, bytes::Bytes);

/// The most of a data answer read: a Health API page or rollup, a Fitbit list page or a Fitbit daily series. The
/// largest the simulator serves are a Fitbit sleep list page of 100 nights (about 280 KiB), a Google sleep page (about
/// 135 KiB) and a year-long series (about 15 KiB); 16 MiB leaves room for far denser real pages while bounding what
/// one read can hold (a sync instance holds `SYNC_PAGES_IN_FLIGHT` pages at most).
pub const PAGE_CAP: usize = 16 * 1024 * 1024;
/// The most of a token, tokeninfo, introspection or revoke answer read: a few hundred bytes of JSON (a Google token
/// answer with an ID token is about 2 KiB).
pub const TOKEN_CAP: usize = 64 * 1024;
/// The most of Google's webhook keyset read: a few public keys of about 200 bytes each.
pub const KEYSET_CAP: usize = 256 * 1024;
/// The longest `Retry-After` (or `Fitbit-Rate-Limit-Reset`) taken as given: an hour, Fitbit's whole rate-limit window
/// and far beyond Google's per-minute quotas. A provider naming more waits an hour, never longer, and no deadline
/// computed from it can overflow.
pub const RETRY_AFTER_CAP_SECS: u64 = 3600;

/// Every provider call is bounded by `timeout` (docs/decisions.md#provider-errors-timeouts-and-retries); connecting
/// gets at most 5 s of it. No redirect is followed: a 3xx is an answer ds-agent refuses, so a bearer token, a client
/// secret or a refresh token never goes to a host it was not meant for (reqwest would re-send a form body on a 307).
/// No `Referer` either.
pub fn http_client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .redirect(reqwest::redirect::Policy::none())
        .referer(false)
        .build()
        .expect("the HTTP client builds with static settings")
}

/// Why an answer's body was not read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("answer larger than {} KiB, not read", .cap / 1024)]
    TooLarge { cap: usize },
    #[error("{0}")]
    Transport(String),
}

impl From<BodyError> for ProviderError {
    fn from(error: BodyError) -> Self {
        match error {
            BodyError::TooLarge { .. } => ProviderError::new(ProviderErrorKind::RefusedAnswer, error.to_string()),
            BodyError::Transport(text) => ProviderError::new(ProviderErrorKind::Unavailable, text),
        }
    }
}

/// Reads an answer's body, chunk by chunk, up to `cap` bytes: one that announces more (`Content-Length`) is refused
/// before anything is read, one that turns out longer as soon as it passes the cap. Never more than `cap` is held.
pub async fn read_capped(mut response: reqwest::Response, cap: usize) -> Result<bytes::Bytes, BodyError> {
    if response.content_length().is_some_and(|length| length > cap as u64) {
        return Err(BodyError::TooLarge { cap });
    }
    let mut body = bytes::BytesMut::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| BodyError::Transport(e.without_url_text()))? {
        if chunk.len() > cap - body.len() {
            return Err(BodyError::TooLarge { cap });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// Whether `link` may be followed from `base`: the same scheme, host and port (the default port of the scheme when
/// none is written). Anything else, another host, another port or `http` where the base is `https`, is not followed.
pub fn same_origin(link: &Url, base: &Url) -> bool {
    link.scheme() == base.scheme()
        && link.host_str().is_some_and(|host| Some(host) == base.host_str())
        && link.port_or_known_default() == base.port_or_known_default()
}

/// What of a URL a log line may show: its scheme, host and port, never its path or query (which may hold a token).
pub fn origin_text(url: &Url) -> String {
    url.origin().ascii_serialization()
}

fn count_request(provider: ProviderKind, status: u16) {
    crate::metrics::get().provider_requests.get_or_create(&crate::metrics::RequestLabels { provider, status }).inc();
}

/// Sends and reads the answer up to `cap` bytes ([`PAGE_CAP`], [`TOKEN_CAP`]), counting it in the metrics. A redirect
/// is not followed and a larger answer not read: both fail with [`ProviderErrorKind::RefusedAnswer`]. A 5xx that
/// `classify` calls transient is reported as the error `5xx`, so callers can tell "the provider answered with a
/// failure" from "no answer".
pub async fn send_raw(
    request: reqwest::RequestBuilder,
    provider: ProviderKind,
    classify: fn(StatusCode, &HeaderMap, &[u8]) -> Option<ProviderError>,
    cap: usize,
) -> Result<RawAnswer, ProviderError> {
    let response = request.send().await.map_err(|e| {
        count_request(provider, 0);
        classify_transport(&e)
    })?;
    let status = response.status();
    count_request(provider, status.as_u16());
    if status.is_redirection() {
        // Where it points is not shown: the location may carry a query.
        return Err(ProviderError::new(ProviderErrorKind::RefusedAnswer, format!("redirect ({status}) not followed")));
    }
    let headers = response.headers().clone();
    let bytes = read_capped(response, cap).await?;
    if status.is_server_error() && classify(status, &headers, &bytes).is_some_and(|e| e.is_transient()) {
        return Err(ProviderError::new(ProviderErrorKind::Unavailable, "5xx"));
    }
    Ok((status, headers, bytes))
}

/// Seconds until the provider accepts requests again, at most [`RETRY_AFTER_CAP_SECS`] (a number too large for a
/// `u64` too).
pub fn retry_after(headers: &HeaderMap) -> Option<u64> {
    ["retry-after", "fitbit-rate-limit-reset"].iter().find_map(|name| {
        let text = headers.get(*name)?.to_str().ok()?.trim();
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(text.parse::<u64>().unwrap_or(u64::MAX).min(RETRY_AFTER_CAP_SECS))
    })
}

/// A request that never got an answer: refused, reset, timed out.
pub fn classify_transport(error: &reqwest::Error) -> ProviderError {
    ProviderError::new(ProviderErrorKind::Unavailable, error.without_url_text())
}

trait WithoutUrl {
    fn without_url_text(&self) -> String;
}

impl WithoutUrl for reqwest::Error {
    fn without_url_text(&self) -> String {
        let kind = if self.is_timeout() {
            "timed out"
        } else if self.is_connect() {
            "connection failed"
        } else {
            "request failed"
        };
        match std::error::Error::source(self) {
            Some(cause) => format!("{kind}: {}", crate::error_chain::Chain(cause)),
            None => kind.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn a_link_is_followed_only_to_the_base_urls_origin() {
        let base = url("https://api.fitbit.com");
        assert!(same_origin(&url("https://api.fitbit.com/1.2/user/-/sleep/list.json?offset=100"), &base));
        assert!(same_origin(&url("https://api.fitbit.com:443/1.2/user/-/sleep/list.json"), &base), "default port");
        assert!(!same_origin(&url("http://api.fitbit.com/1.2/user/-/sleep/list.json"), &base), "downgraded to http");
        assert!(!same_origin(&url("https://api.fitbit.com:8443/x"), &base), "another port");
        assert!(!same_origin(&url("https://evil.example/x"), &base), "another host");
        assert!(!same_origin(&url("https://api.fitbit.com.evil.example/x"), &base), "a host that only starts alike");
        assert!(!same_origin(&url("https://user@evil.example/x"), &base));
        let local = url("http://127.0.0.1:5080");
        assert!(same_origin(&url("http://127.0.0.1:5080/1.2/user/-/activities/list.json"), &local));
        assert!(!same_origin(&url("http://127.0.0.1:5081/1.2/user/-/activities/list.json"), &local));
        assert!(!same_origin(&url("http://localhost:5080/x"), &local), "another name is another host");
        assert_eq!(
            origin_text(&url("https://evil.example:8443/path?access_token=secret")),
            "https://evil.example:8443"
        );
    }

    #[test]
    fn retry_after_is_capped_at_an_hour() {
        let headers = |name: &'static str, value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(name, HeaderValue::from_static(value));
            headers
        };
        assert_eq!(retry_after(&headers("retry-after", "30")), Some(30));
        assert_eq!(retry_after(&headers("retry-after", "3600")), Some(RETRY_AFTER_CAP_SECS));
        assert_eq!(retry_after(&headers("retry-after", "99999999999")), Some(RETRY_AFTER_CAP_SECS));
        assert_eq!(retry_after(&headers("retry-after", "99999999999999999999999999")), Some(RETRY_AFTER_CAP_SECS));
        assert_eq!(retry_after(&headers("fitbit-rate-limit-reset", "4000")), Some(RETRY_AFTER_CAP_SECS));
        assert_eq!(retry_after(&headers("retry-after", "-5")), None);
        assert_eq!(retry_after(&headers("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")), None);
        assert_eq!(retry_after(&HeaderMap::new()), None);
        // A deadline from the largest value cannot overflow, in milliseconds from now.
        let now_ms = chrono::Utc::now().timestamp_millis();
        assert!(now_ms.checked_add(RETRY_AFTER_CAP_SECS as i64 * 1000).is_some());
    }
}
