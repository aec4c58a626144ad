//! What callsight's tests, benchmarks and lab share, so that one world serves them all. Never a
//! dependency of the product binary (a test checks its dependency tree).
//!
//! Layout:
//! - [`samples`]: one realistic, fully populated record of every top-level type (the reference
//!   site HQ-Zurich).
//! - [`world`]: three hours of telemetry on the reference site with a fault, and legs on it.
//! - [`campus`]: a campus of many sites around the reference site, for benchmarks.
//! - [`records`] (feature `processor`): the world as the processor consumes it.
//! - [`kafka`] (feature `kafka`): sections for tests, services on the embedded broker, metric
//!   readers.
//! - [`wait`]: polling until a condition holds, with a bound.
//! - [`vendor`]: Microsoft's and Mist's own published examples, read from `../shared/reference`.
//!
//! Crates whose own tests use the testkit while it depends on them (a dev-dependency cycle) get
//! one copy of themselves in their integration tests; their unit tests (`#[cfg(test)]`) must
//! only take the model's types from here, never their own.

pub mod campus;
#[cfg(feature = "kafka")]
pub mod kafka;
#[cfg(feature = "processor")]
pub mod records;
pub mod samples;
pub mod vendor;
pub mod wait;
pub mod world;

pub use wait::eventually;
