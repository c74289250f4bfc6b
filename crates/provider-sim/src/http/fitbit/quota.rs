//! The rate limit as clients see it: Fitbit's `Fitbit-Rate-Limit-*` headers on every counted response, and a 429
//! with `Retry-After` once the hour's quota is spent.

use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};

use crate::fitbit::error as fitbit_error;
use crate::rate_limit::Quota;
use crate::state::{now, Shared};

/// Counts one request of `user`, then answers with `serve` unless the quota is spent.
pub(super) fn metered(shared: &Shared, user: &str, serve: impl FnOnce() -> Response) -> Response {
    let quota = {
        let mut state = shared.lock();
        let limit = state.config.rate_limit_per_hour;
        state.fitbit.rate.consume(user, limit, now())
    };
    let mut response = if quota.exceeded {
        let mut response = fitbit_error::too_many_requests().into_response();
        response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(quota.reset_secs));
        response
    } else {
        serve()
    };
    add_headers(&mut response, quota);
    response
}

fn add_headers(response: &mut Response, quota: Quota) {
    let headers = response.headers_mut();
    let mut set = |name: &'static str, value: HeaderValue| headers.insert(HeaderName::from_static(name), value);
    set("fitbit-rate-limit-limit", HeaderValue::from(quota.limit));
    set("fitbit-rate-limit-remaining", HeaderValue::from(quota.remaining));
    set("fitbit-rate-limit-reset", HeaderValue::from(quota.reset_secs));
}
