//! What every role of a process shares that is not Kafka: the metrics registry, the readiness
//! conditions behind `/readyz`, and the shutdown with its bound.

use crate::metrics::Metrics;
use crate::readiness::Readiness;
use crate::shutdown::Shutdown;
use std::time::Duration;

/// A running process's shared parts. Cheap to clone: every part is reference-counted.
#[derive(Debug, Clone, Default)]
pub struct Process {
    /// The process's metrics registry.
    pub metrics: Metrics,
    /// The conditions `/readyz` reports.
    pub readiness: Readiness,
    /// When to stop taking work, and which tasks must finish first.
    pub shutdown: Shutdown,
    /// How long draining (flushing producers, committing) may take (`shutdown.drain_timeout`).
    pub drain_timeout: Duration,
}

impl Process {
    /// A fresh process: an empty registry, no readiness conditions, an untriggered shutdown.
    pub fn new(drain_timeout: Duration) -> Self {
        Process {
            drain_timeout,
            ..Process::default()
        }
    }

    /// The same, stopping with `shutdown`.
    pub fn with_shutdown(shutdown: Shutdown, drain_timeout: Duration) -> Self {
        Process {
            shutdown,
            drain_timeout,
            ..Process::default()
        }
    }
}
