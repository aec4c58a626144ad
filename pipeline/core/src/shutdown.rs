//! Graceful shutdown: one cancellation token for the whole process, a tracker of the tasks that
//! must finish, and a bound on how long they may take.

use crate::config::Problems;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Shared by every task: `token` says when to stop taking work, `tracker` knows who is still
/// draining.
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    /// Cancelled when the process should stop taking new work.
    pub token: CancellationToken,
    /// Tasks that must finish (drain, flush, commit) before the process exits.
    pub tracker: TaskTracker,
    failed: Arc<AtomicBool>,
}

/// How a drain ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drained {
    /// Every tracked task finished in time.
    Clean,
    /// The bound passed with tasks still running.
    TimedOut,
}

impl Shutdown {
    /// A fresh, untriggered shutdown.
    pub fn new() -> Self {
        Self::default()
    }

    /// Waits for SIGTERM or ctrl-c (or an earlier cancellation), then cancels the token.
    pub async fn wait_for_signal(&self) {
        let ctrl_c = async {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        #[cfg(unix)]
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut signal) => {
                    signal.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            _ = ctrl_c => tracing::info!(signal = "interrupt", "shutting down"),
            _ = term => tracing::info!(signal = "terminate", "shutting down"),
            _ = self.token.cancelled() => {}
        }
        self.token.cancel();
    }

    /// Stops the process because a task cannot go on: cancels the token, and the process exits
    /// with a failure once drained.
    pub fn fail(&self) {
        self.failed.store(true, Ordering::SeqCst);
        self.token.cancel();
    }

    /// Runs a role's task `name`, tracked like any other, and watched: if it panics, the process
    /// fails ([`Shutdown::fail`]: the listeners close, so readiness goes with them, and the
    /// process exits non-zero) instead of living on without it.
    pub fn spawn_watched<F>(&self, name: &'static str, task: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        let inner = tokio::spawn(task);
        let shutdown = self.clone();
        self.tracker.spawn(async move {
            if let Err(e) = inner.await
                && e.is_panic()
            {
                let message = crate::error::panic_message(&*e.into_panic());
                tracing::error!(task = name, panic = %message, "a task panicked; the process stops");
                shutdown.fail();
            }
        });
    }

    /// Whether a task stopped the process with [`Shutdown::fail`].
    pub fn failed(&self) -> bool {
        self.failed.load(Ordering::SeqCst)
    }

    /// Cancels the token, then waits up to `bound` for every tracked task.
    pub async fn drain(&self, bound: Duration) -> Drained {
        self.token.cancel();
        self.tracker.close();
        match tokio::time::timeout(bound, self.tracker.wait()).await {
            Ok(()) => Drained::Clean,
            Err(_) => {
                tracing::warn!(
                    bound_seconds = bound.as_secs_f64(),
                    tasks = self.tracker.len(),
                    "drain bound passed with tasks still running; exiting anyway"
                );
                Drained::TimedOut
            }
        }
    }
}

/// Graceful shutdown (`[shutdown]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ShutdownConfig {
    /// After SIGTERM or ctrl-c: how long to drain, flush and commit before exiting anyway.
    /// Keep it below Kubernetes' `terminationGracePeriodSeconds`.
    #[serde(with = "humantime_serde")]
    pub drain_timeout: Duration,
}

impl Default for ShutdownConfig {
    fn default() -> Self {
        ShutdownConfig {
            drain_timeout: Duration::from_secs(20),
        }
    }
}

impl ShutdownConfig {
    /// What is wrong with the section at `prefix`.
    pub fn problems(&self, prefix: &str) -> Vec<crate::config::Problem> {
        let mut p = Problems::new(prefix);
        if self.drain_timeout.is_zero() {
            p.bad("drain_timeout", "must be longer than 0s");
        }
        p.into_vec()
    }
}
