//! `callsight bench ...`: end-to-end benchmarks, each printing its figures and its exact setup
//! (BENCHMARKS.md keeps the latest with their commands). Run them from a release build:
//! `cargo run --release -p callsight -- bench ...`.

pub mod accuracy;
pub mod graph;
pub mod ingest;
pub mod processor;

pub use accuracy::{AccuracyOptions, AccuracyRun, accuracy};
