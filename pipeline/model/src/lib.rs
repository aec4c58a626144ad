//! callsight's records, their Avro schemas, and the codec that frames them.
//!
//! Layout:
//! - [`types`]: the Rust records, one module per top-level schema (call legs, network samples,
//!   inventory, tenant links, verdicts, alerts, dead letters, Graph notifications).
//! - [`catalog`]: every schema under `schemas/` and `schemas/compat/`, compiled in, made
//!   self-contained and indexed by fingerprint.
//! - [`codec`]: single-object and Confluent framing, encoding, decoding with schema resolution.
//! - [`compat`]: schema compatibility checks between the current set and released sets.
//! - [`keys`]: the shared vocabulary of Kafka keys and entity ids (`org|site`, `switch/port`, ...).
//! - [`mac`]: MAC and BSSID normalisation; [`lenient`]: lenient readers of JSON numbers and
//!   timestamps, for every input format.
//! - [`clock`]: the wall clock, in epoch milliseconds.
//!
//! Nothing here does I/O or async; the Kafka and HTTP edges live in other crates.

pub mod catalog;
pub mod clock;
pub mod codec;
pub mod compat;
pub mod keys;
pub mod lenient;
pub mod mac;
pub mod types;

pub use codec::{CodecError, Record};
