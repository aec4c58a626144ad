//! callsight's stateful stream processor: legs joined with network windows in event time,
//! verdicts out, state in RocksDB rebuilt by replay.
//!
//! Layout:
//! - [`index`]: which windows an observation belongs to.
//! - [`ip_binding`]: what the IP binding window keeps, and which MAC had an IP, read from it.
//! - [`view`]: a leg's client, path and observations, read from the windows.
//! - [`partition`]: one partition's event-time processing (watermark, waiting legs,
//!   evaluation, revisions, scope, outbox); synchronous, no Kafka.
//! - [`runner`]: the process role: the paired consumer, restore, publishing, commits.
//! - `batch`: a consumed batch decoded and applied, partitions side by side on several threads.
//! - [`metrics`]: the processor's metric families.

mod batch;
pub mod index;
pub mod ip_binding;
pub mod metrics;
pub mod partition;
pub mod runner;
pub mod view;

pub use runner::{StartError, start};

/// Milliseconds since the Unix epoch (wall clock: only for `max_wait` and restore look-back).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
