//! The world as the processor takes it: consumed records with their offsets, and the reference
//! inventory applied.

use crate::samples;
use callsight_inventory::Inventory;
use callsight_model::codec::single_object;
use callsight_model::types::*;
use callsight_processor::partition::Record;

/// The reference site's inventory, applied.
pub fn inventory() -> Inventory {
    let mut inventory = Inventory::new();
    for r in samples::inventory_records() {
        inventory.apply(r);
    }
    inventory
}

/// Telemetry as consumed records, offsets from 0.
pub fn telemetry_records(samples: &[NetworkSample]) -> Vec<Record> {
    samples
        .iter()
        .enumerate()
        .map(|(i, s)| Record::Sample {
            sample: s.clone(),
            bytes: single_object::encode(s).expect("encodes"),
            offset: i as i64,
        })
        .collect()
}

/// Legs as consumed records, offsets from 0.
pub fn leg_records(legs: &[CallLeg]) -> Vec<Record> {
    legs.iter()
        .enumerate()
        .map(|(i, l)| Record::Leg {
            leg: Box::new(l.clone()),
            offset: i as i64,
        })
        .collect()
}
