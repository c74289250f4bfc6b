//! Turns SIGINT and SIGTERM into the shutdown signal every task listens to (both stop gracefully;
//! docs/decisions.md#shutdown-exit-codes-and-timeouts), and [`Periodic`], the pause between two turns of every
//! background loop, which ends at once when the shutdown begins.

use std::future::Future;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// Cancels `token` at the first SIGINT or SIGTERM.
pub async fn cancel_on_signal(token: CancellationToken) {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::error!("Cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {}
        _ = terminate => {}
        _ = token.cancelled() => return,
    }
    token.cancel();
}

/// The pause between the turns of a background loop, cut short by the shutdown: a loop written
/// `while periodic.next().await { … }` runs a turn every `period` (counted from the end of the previous turn) and
/// returns as soon as the shutdown begins, never in the middle of a turn.
#[derive(Clone, Debug)]
pub struct Periodic {
    shutdown: CancellationToken,
    period: Duration,
}

impl Periodic {
    pub fn new(shutdown: &CancellationToken, period: Duration) -> Self {
        Periodic { shutdown: shutdown.clone(), period }
    }

    /// Waits one period: true when the next turn is due, false once the shutdown has begun (at once if it had).
    pub async fn next(&self) -> bool {
        self.next_after(self.period).await
    }

    /// As [`Periodic::next`], but the next turn is due after `pause` (a backoff, the time to a cron tick).
    pub async fn next_after(&self, pause: Duration) -> bool {
        self.wait(pause, std::future::pending::<()>()).await
    }

    /// As [`Periodic::next`], but the next turn is also due as soon as `early` completes.
    pub async fn next_or(&self, early: impl Future) -> bool {
        self.wait(self.period, early).await
    }

    /// Runs `work` unless the shutdown begins first: `None` then, and `work` is dropped where it stood.
    pub async fn until_shutdown<T>(&self, work: impl Future<Output = T>) -> Option<T> {
        tokio::select! {
            biased;
            _ = self.shutdown.cancelled() => None,
            done = work => Some(done),
        }
    }

    async fn wait(&self, pause: Duration, early: impl Future) -> bool {
        tokio::select! {
            biased;
            _ = self.shutdown.cancelled() => false,
            _ = tokio::time::sleep(pause) => true,
            _ = early => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    const LONG: Duration = Duration::from_secs(30);

    #[tokio::test]
    async fn a_turn_comes_after_the_period_or_the_pause_given() {
        let shutdown = CancellationToken::new();
        let periodic = Periodic::new(&shutdown, Duration::from_millis(40));
        let started = Instant::now();
        assert!(periodic.next().await);
        assert!(started.elapsed() >= Duration::from_millis(40));
        let started = Instant::now();
        assert!(periodic.next_after(Duration::from_millis(10)).await);
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(10) && waited < LONG, "{waited:?}");
    }

    #[tokio::test]
    async fn the_shutdown_ends_the_wait_at_once() {
        let shutdown = CancellationToken::new();
        let periodic = Periodic::new(&shutdown, LONG);
        let started = Instant::now();
        let cancel = shutdown.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            cancel.cancel();
        });
        assert!(!periodic.next().await);
        assert!(started.elapsed() < LONG / 2);
        // Once it has begun, every wait ends at once, even one of no time.
        assert!(!periodic.next_after(Duration::ZERO).await);
        assert!(!periodic.next_or(std::future::ready(())).await);
    }

    #[tokio::test]
    async fn an_early_wake_brings_the_turn_forward() {
        let shutdown = CancellationToken::new();
        let periodic = Periodic::new(&shutdown, LONG);
        let started = Instant::now();
        assert!(periodic.next_or(tokio::time::sleep(Duration::from_millis(10))).await);
        assert!(started.elapsed() < LONG / 2);
    }

    #[tokio::test]
    async fn work_runs_until_the_shutdown() {
        let shutdown = CancellationToken::new();
        let periodic = Periodic::new(&shutdown, LONG);
        assert_eq!(periodic.until_shutdown(async { 7 }).await, Some(7));
        let cancel = shutdown.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            cancel.cancel();
        });
        assert_eq!(periodic.until_shutdown(std::future::pending::<()>()).await, None);
    }

    #[tokio::test]
    async fn a_loop_runs_its_turns_until_the_shutdown() {
        let shutdown = CancellationToken::new();
        let periodic = Periodic::new(&shutdown, Duration::from_millis(5));
        let mut turns = 0;
        while periodic.next().await {
            turns += 1;
            if turns == 3 {
                shutdown.cancel();
            }
        }
        assert_eq!(turns, 3);
    }
}
