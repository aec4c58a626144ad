//! What parsing a delivery yields: records to produce, rejects to keep, and what was ignored.

use callsight_model::types::{InventoryRecord, NetworkSample};

/// One normalised record.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// An observation, for `net.telemetry` (key `org|site`).
    Sample(NetworkSample),
    /// An entity description, for `net.inventory` (key: entity id).
    Inventory(InventoryRecord),
}

impl Record {
    /// The Kafka key: `org|site` for samples, the entity id for inventory.
    pub fn key(&self) -> String {
        match self {
            Record::Sample(s) => callsight_model::keys::site_key(&s.org_id, &s.site_id),
            Record::Inventory(i) => i.entity_id.clone(),
        }
    }
}

/// One event or line that could not be used, with the reason; kept in a dead-letter topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// Position of the event in the delivery (or line number, from 1).
    pub index: usize,
    /// Why, in words.
    pub error: String,
    /// The event or line as received.
    pub raw: Vec<u8>,
}

impl Rejected {
    /// A reject keeping at most [`MAX_ITEM_BYTES`](crate::bounds::MAX_ITEM_BYTES) of `raw`, so
    /// that its dead letter always fits a broker's message (the error says when it was cut).
    pub fn new(index: usize, error: String, raw: &[u8]) -> Rejected {
        let kept = raw.len().min(crate::bounds::MAX_ITEM_BYTES);
        let error = if kept < raw.len() {
            format!("{error} (the first {kept} of {} bytes are kept)", raw.len())
        } else {
            error
        };
        Rejected {
            index,
            error,
            raw: raw[..kept].to_vec(),
        }
    }
}

/// The result of parsing one delivery.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    /// Records to produce.
    pub records: Vec<Record>,
    /// Events or lines that could not be used.
    pub rejected: Vec<Rejected>,
    /// Events accepted but of no use to callsight (a topic it does not read, a ping).
    pub ignored: usize,
}
