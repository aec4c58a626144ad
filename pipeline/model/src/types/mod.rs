//! The records callsight writes to Kafka, one module per top-level schema.
//!
//! Every type mirrors a named Avro type in `schemas/` field for field; timestamps are epoch
//! milliseconds (`timestamp-millis`), `Option` is a `["null", T]` union, and the enums
//! `SampleBody` and `InventoryBody` are unions of records in schema order.

pub mod alert;
pub mod call_leg;
pub mod common;
pub mod control;
pub mod dead_letter;
pub mod inventory;
pub mod link;
pub mod notification;
pub mod telemetry;
pub mod verdict;

pub use alert::*;
pub use call_leg::*;
pub use common::*;
pub use control::*;
pub use dead_letter::*;
pub use inventory::*;
pub use link::*;
pub use notification::*;
pub use telemetry::*;
pub use verdict::*;
