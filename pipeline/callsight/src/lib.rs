//! The `callsight` binary's library: the configuration it composes, its command line, and the
//! roles and operator tools it runs. The lab (demo, simulators, benchmarks) is the separate
//! `callsight-lab` binary and never ships with this one.
//!
//! Layout:
//! - [`cli`]: the command line.
//! - [`config`]: the whole configuration, composed of the crates' sections, with the checks that
//!   span sections.
//! - [`run`]: `callsight run` (every role in one process), `ingest`, `mist-poll`, `fetch`,
//!   `process`.
//! - [`broker`]: `callsight broker`, the embedded broker alone.
//! - [`explain`]: `callsight explain`, one verdict with its evidence, for tuning thresholds.
//! - [`legs`]: `callsight legs`, the call legs a saved Graph record normalises to.
//! - [`replay`]: `callsight replay`, the pipeline over recorded inputs, verdicts to NDJSON.
//! - [`follow`]: following a topic from its beginning, decoded (the verdicts, latest per leg).

pub mod broker;
pub mod cli;
pub mod config;
pub mod explain;
pub mod follow;
pub mod legs;
pub mod replay;
pub mod run;

pub use config::Config;
