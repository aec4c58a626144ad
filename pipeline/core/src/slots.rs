//! CPU-bound work on request bodies (parsing, checking), run off the async runtime on a bounded
//! number of threads: a request waits a bounded time for one, then is told to come back.

use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// Why work was not run.
#[derive(Debug, thiserror::Error)]
pub enum SlotError {
    /// No thread was free within the wait: answer 503 with `Retry-After`.
    #[error("no thread was free in time")]
    Busy,
    /// The work panicked.
    #[error("the work failed")]
    Failed(#[source] tokio::task::JoinError),
}

/// At most `threads` pieces of blocking work at once; clones share the bound.
#[derive(Debug, Clone)]
pub struct BlockingSlots {
    permits: Arc<Semaphore>,
    wait: Duration,
}

impl BlockingSlots {
    /// `threads` at once (0: one per CPU the process may use), each request waiting at most
    /// `wait` for one.
    pub fn new(threads: usize, wait: Duration) -> Self {
        let threads = match threads {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        };
        BlockingSlots {
            permits: Arc::new(Semaphore::new(threads)),
            wait,
        }
    }

    /// Runs `work` on a blocking thread once a slot is free.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, SlotError> {
        let slot = tokio::time::timeout(self.wait, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| SlotError::Busy)?
            .map_err(|_| SlotError::Busy)?;
        tokio::task::spawn_blocking(move || {
            let done = work();
            drop(slot);
            done
        })
        .await
        .map_err(SlotError::Failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn work_beyond_the_slots_waits_then_is_refused() {
        let slots = BlockingSlots::new(1, Duration::from_millis(50));
        let (started, release) = (
            Arc::new(std::sync::Barrier::new(2)),
            Arc::new(std::sync::Barrier::new(2)),
        );
        let holder = {
            let (slots, started, release) = (slots.clone(), started.clone(), release.clone());
            tokio::spawn(async move {
                slots
                    .run(move || {
                        started.wait();
                        release.wait();
                    })
                    .await
            })
        };
        tokio::task::spawn_blocking({
            let started = started.clone();
            move || started.wait()
        })
        .await
        .expect("the first holds the only slot");
        assert!(matches!(slots.run(|| 1).await, Err(SlotError::Busy)));
        tokio::task::spawn_blocking(move || release.wait())
            .await
            .expect("released");
        holder.await.expect("joins").expect("ran");
        assert_eq!(slots.run(|| 2).await.expect("a slot again"), 2);
    }
}
