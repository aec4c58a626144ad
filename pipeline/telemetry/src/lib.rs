//! The network telemetry formats callsight reads, and their normalisation into
//! [`NetworkSample`](callsight_model::types::NetworkSample)s and
//! [`InventoryRecord`](callsight_model::types::InventoryRecord)s. Pure: the HTTP endpoints and
//! the Mist poller live in `callsight-ingest`.
//!
//! Layout:
//! - [`mist`]: Juniper Mist webhooks, signatures, statistics objects and event types.
//! - [`ndjson`]: the vendor-neutral NDJSON format and its JSON Schema.
//! - [`batch`]: what parsing yields (records, rejects, ignored events).
//! - [`counters`]: cumulative counters to rates, resets handled.
//! - [`band`]: Wi-Fi band spellings.
//! - [`bounds`]: what one event or line may carry (time window, lengths).

pub mod band;
pub mod batch;
pub mod bounds;
pub mod counters;
pub mod mist;
pub mod ndjson;

pub use batch::{Batch, Record, Rejected};
pub use bounds::TimeWindow;
pub use callsight_model::lenient;
