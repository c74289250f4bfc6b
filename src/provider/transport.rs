//! What both providers' clients share on the wire: sending with metrics, and the readings of a failed exchange that do
//! not depend on the provider (no answer at all, `Retry-After`).

use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::StatusCode;

use super::{ProviderError, ProviderErrorKind};
use crate::domain::ProviderKind;

pub type RawAnswer = (StatusCode, HeaderMap, bytes::Bytes);

/// Every provider call is bounded by `timeout` (docs/decisions.md#provider-errors-timeouts-and-retries); connecting
/// gets at most 5 s of it.
pub fn http_client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .build()
        .expect("the HTTP client builds with static settings")
}

fn count_request(provider: ProviderKind, status: u16) {
    crate::metrics::get().provider_requests.get_or_create(&crate::metrics::RequestLabels { provider, status }).inc();
}

/// Sends and reads the whole answer, counting it in the metrics. A 5xx that `classify` calls transient is reported
/// as the error `5xx`, so callers can tell "the provider answered with a failure" from "no answer".
pub async fn send_raw(
    request: reqwest::RequestBuilder,
    provider: ProviderKind,
    classify: fn(StatusCode, &HeaderMap, &[u8]) -> Option<ProviderError>,
) -> Result<RawAnswer, ProviderError> {
    let response = request.send().await.map_err(|e| {
        count_request(provider, 0);
        classify_transport(&e)
    })?;
    let status = response.status();
    count_request(provider, status.as_u16());
    let headers = response.headers().clone();
    let bytes = response.bytes().await.map_err(|e| classify_transport(&e))?;
    if status.is_server_error() && classify(status, &headers, &bytes).is_some_and(|e| e.is_transient()) {
        return Err(ProviderError::new(ProviderErrorKind::Unavailable, "5xx"));
    }
    Ok((status, headers, bytes))
}

/// Seconds until the provider accepts requests again.
pub fn retry_after(headers: &HeaderMap) -> Option<u64> {
    ["retry-after", "fitbit-rate-limit-reset"]
        .iter()
        .find_map(|name| headers.get(*name)?.to_str().ok()?.trim().parse::<u64>().ok())
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
        let mut text = kind.to_string();
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        text
    }
}
