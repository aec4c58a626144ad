//! Waiting for what happens elsewhere (another task, a broker, a child process) with a bound.

use std::future::Future;
use std::time::Duration;

/// Polls `check` every 100 ms until it returns `Some`, and panics naming `what` after `bound`.
pub async fn eventually<T, F, Fut>(bound: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + bound;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not within {bound:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
