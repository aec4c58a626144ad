//! The `callsight` binary's library: command line, and the roles it wires together.
//!
//! Layout:
//! - [`cli`]: the command line.
//! - [`run`]: `callsight run` (every role in one process), `ingest` and `fetch`.
//! - [`graphsim`]: `callsight graphsim`, the Graph and Entra simulator.
//! - [`broker`]: `callsight broker`, the embedded broker alone.
//! - [`explain`]: `callsight explain`, one verdict with its evidence, for tuning thresholds.
//! - [`legs`]: `callsight legs`, the call legs a saved Graph record normalises to.

pub mod broker;
pub mod cli;
pub mod explain;
pub mod graphsim;
pub mod legs;
pub mod run;
