//! callsight's lab: what shows, measures and exercises callsight without a Microsoft 365 tenant
//! or a Mist org, through the same interfaces a customer's systems use. It is its own binary,
//! `callsight-lab`, and never part of the product image.
//!
//! Layout:
//! - [`cli`]: the command line.
//! - [`graphsim`]: `callsight-lab graphsim`, the Graph and Entra simulator as a process.
//! - [`simdrive`]: drives callsight with the simulator through its real interfaces.
//! - [`sim`]: `callsight-lab sim`, the simulator against a callsight running elsewhere.
//! - [`stage`]: a whole callsight with graphsim in one process, for the demo and benchmarks.
//! - [`demo`]: `callsight-lab demo`, the simulated campus with a live view of the verdicts.
//! - [`bench`](mod@bench): `callsight-lab bench ...`, the end-to-end benchmarks.

pub mod bench;
pub mod cli;
pub mod demo;
pub mod graphsim;
pub mod sim;
pub mod simdrive;
pub mod stage;
