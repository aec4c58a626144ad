//! The world as the processor takes it: consumed records with their offsets, the reference
//! inventory applied, and one partition on RocksDB in a temporary folder to run them through.

use crate::samples;
use callsight_inventory::Inventory;
use callsight_model::codec::single_object;
use callsight_model::types::*;
use callsight_processor::ProcessorConfig;
use callsight_processor::partition::{Output, Partition, Record, Settings};
use callsight_rca::{ClassificationConfig, RcaConfig};
use callsight_state::{Store, StoreOptions};
use std::collections::BTreeMap;

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

/// The settings of a partition run by tests: the defaults but a short lateness and settle
/// margin, and no lead bound (the tests' wall clock is small, their event times are of 2026).
pub fn settings() -> Settings {
    settings_with(&RcaConfig::default())
}

/// [`settings`] with the engine's section `rca`.
pub fn settings_with(rca: &RcaConfig) -> Settings {
    let processor = ProcessorConfig {
        allowed_lateness: std::time::Duration::from_secs(120),
        settle_margin: std::time::Duration::from_secs(60),
        max_event_lead: std::time::Duration::MAX,
        ..ProcessorConfig::default()
    };
    Settings::new(&processor, &ClassificationConfig::default(), rca)
}

/// A store in `dir` with small caches.
pub fn store(dir: &tempfile::TempDir) -> Store {
    Store::open(
        dir.path(),
        &StoreOptions {
            block_cache_bytes: 8 << 20,
            write_buffer_bytes: 8 << 20,
        },
    )
    .expect("store")
}

/// The latest verdict per leg among `outputs`.
pub fn latest(outputs: &[Output]) -> BTreeMap<String, RootCauseVerdict> {
    let mut out = BTreeMap::new();
    for o in outputs {
        if let Output::Verdict { verdict, .. } = o {
            out.insert(verdict.leg_id.clone(), (**verdict).clone());
        }
    }
    out
}

/// Runs `records` through a fresh partition 0 in batches of the given sizes (cycled), at a wall
/// clock of 0, and returns every output.
pub fn run_partition(
    records: Vec<Record>,
    batches: &[usize],
    inventory: &Inventory,
    settings: &Settings,
) -> Vec<Output> {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = store(&dir);
    let mut partition = Partition::open(&store, 0).expect("opens");
    let mut outputs = Vec::new();
    let mut rest = records;
    let mut i = 0;
    while !rest.is_empty() {
        let n = batches[i % batches.len()].clamp(1, rest.len());
        i += 1;
        let batch: Vec<Record> = rest.drain(..n).collect();
        let (out, _) = partition
            .apply(&store, inventory, settings, &batch, 0, None)
            .expect("applies");
        outputs.extend(out.into_iter().map(|o| o.output));
    }
    outputs
}
