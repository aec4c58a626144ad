//! One consumed batch, decoded and applied with partitions side by side on several threads.
//!
//! Partitions share nothing but the store (which takes concurrent writes) and the inventory
//! (read only here), so each partition's records are decoded and applied on whichever thread
//! is free, in the partition's own order; what each produced comes back in the order of the
//! jobs. Synchronous: the caller does the waiting (Schema Registry, dead letters, publishing).

use crate::partition::{Committed, Counts, Outgoing, Partition, Record, Settings, Unappliable};
use callsight_core::codec::Codec;
use callsight_inventory::Inventory;
use callsight_kafka::consumer::ConsumedRecord;
use callsight_model::codec::{CodecError, single_object};
use callsight_model::types::{CallLeg, NetworkSample};
use callsight_state::{StateError, Store};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

/// Event times a leg may have, epoch ms: from 1970 to the year 2200.
const PLAUSIBLE_MS: std::ops::RangeInclusive<i64> = 0..=7_258_118_400_000;

/// What every job reads.
pub(crate) struct Shared<'a> {
    /// The state.
    pub store: &'a Store,
    /// The inventory.
    pub inventory: &'a RwLock<Inventory>,
    /// Event-time settings.
    pub settings: &'a Settings,
    /// Decodes records whose writer schemas were fetched ([`Codec::prepare`]).
    pub codec: &'a Codec,
    /// Records of this topic are telemetry; the others are legs.
    pub telemetry_topic: &'a str,
    /// Wall clock, epoch ms.
    pub now: i64,
}

/// One partition's share of the batch.
pub(crate) struct Job<'p> {
    /// The partition.
    pub partition: &'p mut Partition,
    /// Its records, in order (a decoded sample's payload moves into what the windows keep).
    pub records: Vec<ConsumedRecord>,
    /// Replaying up to these offsets.
    pub restore: Option<Committed>,
}

/// What became of a job.
pub(crate) enum Outcome {
    /// Applied (or failed to be).
    Applied(Applied),
    /// Some records do not decode: they go to the dead-letter topic before the decoded rest
    /// is applied ([`apply`]).
    Undecodable {
        /// The records that decoded, in order.
        decoded: Vec<Record>,
        /// Those that did not, with why.
        failed: Vec<(ConsumedRecord, CodecError)>,
        /// The job's restore bound, for applying the rest.
        restore: Option<Committed>,
    },
}

/// Decodes and applies `jobs` on up to `threads` threads (the caller's one included); the
/// outcomes are in the order of the jobs.
pub(crate) fn run(shared: &Shared<'_>, jobs: Vec<Job<'_>>, threads: usize) -> Vec<Outcome> {
    let count = jobs.len();
    let threads = threads.clamp(1, count.max(1));
    if threads == 1 {
        return jobs.into_iter().map(|job| one(shared, job)).collect();
    }
    // Largest first, so that one big partition does not start last.
    let mut queue: Vec<(usize, Job<'_>)> = jobs.into_iter().enumerate().collect();
    queue.sort_by_key(|(_, job)| job.records.len());
    let queue = Mutex::new(queue);
    let done: Mutex<Vec<Option<Outcome>>> = Mutex::new((0..count).map(|_| None).collect());
    let work = || {
        loop {
            let Some((index, job)) = queue.lock().unwrap_or_else(|e| e.into_inner()).pop() else {
                break;
            };
            let outcome = one(shared, job);
            done.lock().unwrap_or_else(|e| e.into_inner())[index] = Some(outcome);
        }
    };
    std::thread::scope(|scope| {
        for _ in 1..threads {
            let spawned = std::thread::Builder::new()
                .name("callsight-apply".into())
                .spawn_scoped(scope, work);
            if let Err(e) = spawned {
                // The caller's thread does the work alone.
                tracing::warn!(error = %e, "cannot start an apply thread");
                break;
            }
        }
        work();
    });
    done.into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .map(|o| o.expect("every job was taken and done"))
        .collect()
}

fn one(shared: &Shared<'_>, job: Job<'_>) -> Outcome {
    let mut decoded = Vec::with_capacity(job.records.len());
    let mut failed = Vec::new();
    for mut record in job.records {
        match decode(shared, &mut record) {
            Ok(r) => decoded.push(r),
            Err(e) => failed.push((record, e)),
        }
    }
    if !failed.is_empty() {
        return Outcome::Undecodable {
            decoded,
            failed,
            restore: job.restore,
        };
    }
    Outcome::Applied(apply(shared, job.partition, decoded, job.restore))
}

/// What applying a partition's records gave: outputs and counts, the legs whose evaluation
/// panicked, and the time it took.
pub(crate) struct Applied {
    /// Outputs and counts, or the store's failure.
    pub result: Result<(Vec<Outgoing>, Counts), StateError>,
    /// Legs whose evaluation panicked, forgotten by the partition: dead letters.
    pub unappliable: Vec<Unappliable>,
    /// How long it took.
    pub took: Duration,
}

/// Applies decoded records to a partition.
pub(crate) fn apply(
    shared: &Shared<'_>,
    partition: &mut Partition,
    records: Vec<Record>,
    restore: Option<Committed>,
) -> Applied {
    let started = Instant::now();
    let inventory = shared.inventory.read().unwrap_or_else(|e| e.into_inner());
    let result = partition.apply(
        shared.store,
        &inventory,
        shared.settings,
        &records,
        shared.now,
        restore,
    );
    Applied {
        result,
        unappliable: partition.take_unappliable(),
        took: started.elapsed(),
    }
}

/// Decodes a record; a sample's payload moves out of it (into what the windows keep) when it
/// decoded, and stays with it when it did not (for the dead-letter topic).
fn decode(shared: &Shared<'_>, record: &mut ConsumedRecord) -> Result<Record, CodecError> {
    let payload = record.payload.as_deref().unwrap_or_default();
    if record.topic == shared.telemetry_topic {
        let sample = shared.codec.decode_prepared::<NetworkSample>(payload)?;
        let bytes = if payload.starts_with(&single_object::MARKER) {
            record.payload.take().unwrap_or_default()
        } else {
            single_object::encode(&sample)?
        };
        Ok(Record::Sample {
            sample,
            bytes,
            offset: record.offset,
        })
    } else {
        let leg = shared.codec.decode_prepared::<CallLeg>(payload)?;
        // Every window bound is computed from a leg's times: ones no call can have (written by
        // whoever can write to the topic) are a dead letter, not an overflow.
        if !(PLAUSIBLE_MS.contains(&leg.leg_start)
            && PLAUSIBLE_MS.contains(&leg.leg_end)
            && leg.leg_start <= leg.leg_end)
        {
            return Err(CodecError::Decode {
                type_name: "CallLeg",
                reason: format!(
                    "leg times {}..{} are not those of a call",
                    leg.leg_start, leg.leg_end
                ),
            });
        }
        Ok(Record::Leg {
            leg: Box::new(leg),
            offset: record.offset,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ProcessorConfig;
    use callsight_model::codec::single_object;
    use callsight_rca::{ClassificationConfig, RcaConfig};
    use callsight_state::StoreOptions;
    use callsight_testkit::samples;

    /// A leg whose start is the first instant of the range makes computing its windows overflow
    /// (a panic in this debug build) when it is evaluated, batches after it arrived: that leg,
    /// and only it, is unappliable; the sample that moved the watermark is applied, and the
    /// legs beside it wait as before.
    #[test]
    fn a_leg_whose_evaluation_panics_is_unappliable_and_nothing_else() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path(), &StoreOptions::default()).expect("opens");
        let inventory = RwLock::new(Inventory::new());
        let settings = Settings::new(
            &ProcessorConfig::default(),
            &ClassificationConfig::default(),
            &RcaConfig::default(),
        );
        let codec = Codec::single_object();
        let shared = Shared {
            store: &store,
            inventory: &inventory,
            settings: &settings,
            codec: &codec,
            telemetry_topic: "net.telemetry",
            now: i64::MAX,
        };
        let leg = samples::call_leg();
        let mut poison = leg.clone();
        poison.leg_id = "poison".into();
        poison.leg_start = i64::MIN;
        let mut later = leg.clone();
        later.leg_id = "later".into();
        later.leg_end += 3_600_000;
        let legs: Vec<Record> = [poison, later]
            .into_iter()
            .enumerate()
            .map(|(i, leg)| Record::Leg {
                leg: Box::new(leg),
                offset: i as i64,
            })
            .collect();
        let mut partition = Partition::open(&store, 0).expect("opens");
        let waiting = apply(&shared, &mut partition, legs, None);
        assert_eq!(waiting.result.expect("taken").1.legs, 2);
        assert!(
            waiting.unappliable.is_empty(),
            "both wait for the watermark"
        );

        // Telemetry past the poison's end, not the later leg's: the poison is evaluated.
        let mut sample = samples::network_samples()[0].clone();
        sample.time = leg.leg_end + 30 * 60_000;
        let record = Record::Sample {
            bytes: single_object::encode(&sample).expect("encodes"),
            sample,
            offset: 0,
        };
        let applied = apply(&shared, &mut partition, vec![record], None);
        let (_, counts) = applied.result.expect("the sample is applied");
        assert_eq!(counts.samples + counts.late_applied, 1, "{counts:?}");
        assert_eq!(counts.evaluated, 0, "{counts:?}");
        assert_eq!(applied.unappliable.len(), 1);
        let unappliable = &applied.unappliable[0];
        assert_eq!(
            (unappliable.leg.leg_id.as_str(), unappliable.offset),
            ("poison", 0)
        );
        assert!(
            unappliable.error.contains("overflow"),
            "{}",
            unappliable.error
        );

        // Forgotten: the partition goes on without meeting it again, and the later leg waits.
        let again = apply(&shared, &mut partition, Vec::new(), None);
        assert!(again.result.is_ok() && again.unappliable.is_empty());
    }
}
