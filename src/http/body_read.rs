//! Reading a request body, bounded in bytes and time, for every route that reads one: a client trickling a body
//! cannot hold a connection longer than a slow head may, and a body declared too large is refused before a byte is
//! read (docs/operations.md#security).

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap};
use http_body_util::{BodyExt, LengthLimitError, Limited};

use super::error::ApiError;

/// A whole body, from the end of its head: as long as a head may take (`http::shedding::Limits::header_read`).
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The `Content-Length` a request declares, if any: a body declared too large is refused before a byte is read.
pub fn declared_length(headers: &HeaderMap) -> Option<usize> {
    headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<usize>().ok())
}

/// The whole body, at most `limit` bytes, within `deadline`: 413 beyond the limit, 408 when it is late.
pub async fn read_body(body: Body, limit: usize, deadline: Duration) -> Result<Bytes, ApiError> {
    match tokio::time::timeout(deadline, Limited::new(body, limit).collect()).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => Err(ApiError::BodyTooLarge),
        // An aborted upload: body-parser reports it as a 400 like a malformed body.
        Ok(Err(_)) => Err(ApiError::MalformedBody),
        Err(_) => {
            crate::metrics::get().requests_rejected.get_or_create(&crate::metrics::StatusLabels { status: 408 }).inc();
            Err(ApiError::BodyTimeout)
        }
    }
}
