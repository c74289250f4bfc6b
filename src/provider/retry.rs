//! Bounded retries with exponential backoff ([`Backoff`]), for transient provider failures only: the per-request
//! layer of the retries (docs/decisions.md#provider-errors-timeouts-and-retries, docs/decisions.md#how-retries-stack).

use std::future::Future;
use std::time::Duration;

use super::ProviderError;
use crate::backoff::Backoff;

#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// Attempts of a call, the first included.
    pub attempts: u32,
    /// The pause after each failed attempt.
    pub backoff: Backoff,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { attempts: 3, backoff: Backoff::doubling(Duration::from_millis(200)) }
    }
}

/// Runs `call` until it succeeds, fails with an error `retryable` rejects, or the attempts are used up.
pub async fn with_retry<T, F, Fut>(
    policy: RetryPolicy,
    call: F,
    retryable: impl Fn(&ProviderError) -> bool,
) -> Result<T, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ProviderError>>,
{
    with_backoff(policy, call, |error, attempt| retryable(error).then(|| policy.backoff.delay(attempt))).await
}

/// As [`with_retry`], but `wait` decides how long to wait before the next attempt, given the error and the number of
/// the attempt that failed (1 for the first); `None` gives up at once.
pub async fn with_backoff<T, F, Fut>(
    policy: RetryPolicy,
    mut call: F,
    wait: impl Fn(&ProviderError, u32) -> Option<Duration>,
) -> Result<T, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ProviderError>>,
{
    let mut attempt = 1;
    loop {
        match call().await {
            Err(e) if attempt < policy.attempts => {
                let Some(pause) = wait(&e, attempt) else { return Err(e) };
                tracing::debug!("Provider call failed (attempt {attempt}), retrying in {pause:?}: {e}");
                tokio::time::sleep(pause).await;
                attempt += 1;
            }
            result => return result,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::ProviderErrorKind;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn policy() -> RetryPolicy {
        RetryPolicy { attempts: 3, backoff: Backoff::doubling(Duration::from_millis(1)) }
    }

    #[tokio::test]
    async fn retries_transient_errors_a_bounded_number_of_times() {
        let calls = AtomicU32::new(0);
        let result: Result<(), _> = with_retry(
            policy(),
            || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(ProviderError::new(ProviderErrorKind::Unavailable, "down"))
            },
            ProviderError::is_transient,
        )
        .await;
        assert!(result.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn does_not_retry_other_errors_and_stops_at_success() {
        let calls = AtomicU32::new(0);
        let result: Result<(), _> = with_retry(
            policy(),
            || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(ProviderError::new(ProviderErrorKind::InvalidGrant, "used"))
            },
            ProviderError::is_transient,
        )
        .await;
        assert_eq!(result.unwrap_err().kind, ProviderErrorKind::InvalidGrant);
        assert_eq!(calls.load(Ordering::SeqCst), 1);

        let calls = AtomicU32::new(0);
        let result = with_retry(
            policy(),
            || async {
                if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                    Err(ProviderError::new(ProviderErrorKind::Unavailable, "blip"))
                } else {
                    Ok(7)
                }
            },
            ProviderError::is_transient,
        )
        .await;
        assert_eq!(result.unwrap(), 7);
    }
}
