//! callsight's records, their Avro schemas, and the codec that frames them.
//!
//! Layout:
//! - [`types`]: the Rust records, one module per top-level schema (call legs, network samples,
//!   inventory, tenant links, verdicts, alerts, dead letters, Graph notifications).
//! - [`catalog`]: every schema under `schemas/` and `schemas/compat/`, compiled in, made
//!   self-contained and indexed by fingerprint.
//! - [`codec`]: single-object and Confluent framing, encoding, decoding with schema resolution.
//! - [`compat`]: schema compatibility checks between the current set and released sets.
//! - [`mac`]: MAC and BSSID normalisation; [`lenient`]: lenient readers of JSON numbers and
//!   timestamps, for every input format.
//!
//! Nothing here does I/O or async; the Kafka and HTTP edges live in other crates.

pub mod catalog;
pub mod codec;
pub mod compat;
pub mod lenient;
pub mod mac;
pub mod types;

#[cfg(any(test, feature = "samples"))]
pub mod samples;

pub use codec::{CodecError, Record};
