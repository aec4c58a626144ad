//! callsight's processor state in RocksDB: network windows per entity, call legs waiting for
//! their windows, evaluations, scope observations and per-partition bookkeeping. Synchronous and
//! free of Kafka: the processor decides what to write; this crate decides how it is laid out.
//!
//! Layout:
//! - [`keys`]: key layouts (partition first; an entity's time range is a prefix scan).
//! - [`store`]: the database, its column families, memory budget and expiry.

pub mod keys;
pub mod store;

pub use keys::{Window, WindowKey};
pub use store::{Batch, StateError, Store, StoreOptions, Table};
