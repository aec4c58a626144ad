//! `callsight-lab sim`'s model: a simulated organisation (sites, APs, switches, gateways, WAN links,
//! subnets, people on Wi-Fi, desks, VPN and at home), faults injected on a schedule (one kind per
//! cause of the taxonomy), the telemetry the network reports each minute in the vendor-neutral
//! NDJSON format, the Teams calls people make as Graph callRecords whose stream metrics follow
//! from the faults on each participant's path, and the ground truth of every leg. Deterministic
//! for a seed; pure (no I/O): the `callsight-lab` binary drives real interfaces with it and
//! scores the verdicts with [`accuracy`].
//!
//! Layout:
//! - [`world`]: the organisation and its addressing.
//! - [`fault`]: the fault kinds, their schedule and targets.
//! - [`telemetry`]: what the network reports each minute (NDJSON lines).
//! - [`calls`]: the calls people make, as Graph call records.
//! - [`run`]: the simulation, minute by minute.
//! - [`truth`]: the ground truth of every leg (cause, scope, guilty participant).
//! - [`accuracy`]: verdicts scored against the truth.

pub mod accuracy;
pub mod calls;
pub mod fault;
pub mod run;
pub mod telemetry;
pub mod truth;
pub mod world;

pub use accuracy::{Observed, Report, score};
pub use fault::{Fault, FaultKind, Schedule};
pub use run::{CompletedCall, Minute, SimConfig, Simulation};
pub use truth::Label;
pub use world::{World, WorldConfig};
