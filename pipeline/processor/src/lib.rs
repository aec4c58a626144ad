//! callsight's stateful stream processor: legs joined with network windows in event time,
//! verdicts out, state in RocksDB rebuilt by replay.
//!
//! Layout:
//! - [`config`]: the `[processor]` section.
//! - [`index`]: which windows an observation belongs to.
//! - [`attachment`]: each wired client's last attachment, kept past the windows' retention.
//! - [`ip_binding`]: what the IP binding window keeps, and which MAC had an IP, read from it.
//! - [`view`]: a leg's client, path and observations, read from the windows.
//! - [`partition`]: one partition's event-time processing (watermark, waiting legs,
//!   evaluation, revisions, scope, outbox); synchronous, no Kafka.
//! - [`role`]: starting the process role on a process's
//!   [`Services`](callsight_kafka::Services): the state store, the inventory, the paired
//!   consumer.
//! - `run`: the run state the loop, restore planning and publishing share.
//! - `restore`: where an assigned partition starts (continue, or replay up to the commits).
//! - `runner`: the loop: batches applied, partitions assigned and revoked, ticks, checkpoints.
//! - `publish`: outputs published with the outbox and acknowledgements, or in a transaction.
//! - `batch`: a consumed batch decoded and applied, partitions side by side on several threads.
//! - [`metrics`]: the processor's metric families; [`events`]: what counts them, each with its
//!   log line.

pub mod attachment;
mod batch;
pub mod config;
pub mod events;
pub mod index;
pub mod ip_binding;
pub mod metrics;
pub mod partition;
mod publish;
mod restore;
pub mod role;
mod run;
mod runner;
pub mod view;

pub use config::ProcessorConfig;
pub use role::{StartError, start};
