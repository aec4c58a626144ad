//! The `callsight` binary's library: command line, and the roles it wires together.
//!
//! Layout:
//! - [`cli`]: the command line.
//! - [`run`]: `callsight run` (every role in one process), `ingest` and `fetch`.
//! - [`graphsim`]: `callsight graphsim`, the Graph and Entra simulator.
//! - [`broker`]: `callsight broker`, the embedded broker alone.
//! - [`explain`]: `callsight explain`, one verdict with its evidence, for tuning thresholds.
//! - [`legs`]: `callsight legs`, the call legs a saved Graph record normalises to.
//! - [`replay`]: `callsight replay`, the pipeline over recorded inputs, verdicts to NDJSON.
//! - [`sim`]: `callsight sim`, the simulator against a callsight running elsewhere.
//! - [`simdrive`]: drives callsight with the simulator through its real interfaces.
//! - [`stage`]: a whole callsight with graphsim in one process, for the demo and benchmarks.
//! - [`demo`]: `callsight demo`, the simulated campus with a live view of the verdicts.
//! - [`bench`]: `callsight bench accuracy`, verdicts scored against the simulator's truth.

pub mod bench;
pub mod broker;
pub mod cli;
pub mod demo;
pub mod explain;
pub mod graphsim;
pub mod legs;
pub mod replay;
pub mod run;
pub mod sim;
pub mod simdrive;
pub mod stage;
