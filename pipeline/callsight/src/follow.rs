//! Following a topic from its beginning, decoded: the verdicts a replay (or the lab's demo)
//! reads back from `rca.verdicts`, the latest per leg.

use callsight_core::codec::Codec;
use callsight_core::metrics::Metrics;
use callsight_kafka::KafkaMetrics;
use callsight_kafka::config::KafkaConfig;
use callsight_kafka::consumer::{self, ConsumerEvent, ConsumerHandle};
use callsight_model::types::{LegQuality, RootCauseVerdict};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

/// How many recent verdicts the follower keeps for display.
const RECENT: usize = 64;

/// Follows `topic` from its beginning in consumer group `group`, handing every record to `on`
/// decoded as a `T` (`None` when it does not decode). Following stops when the handle is dropped.
/// Its consumer counts in a registry of its own, not the process's.
pub fn follow<T: callsight_model::Record + Send + 'static>(
    kafka: &KafkaConfig,
    bootstrap: &str,
    group: &str,
    topic: &str,
    mut on: impl FnMut(Option<T>) + Send + 'static,
) -> anyhow::Result<ConsumerHandle> {
    let metrics = Arc::new(KafkaMetrics::register(&Metrics::new())?);
    let (handle, mut events) = consumer::start(kafka, bootstrap, group, &[topic], metrics)?;
    tokio::spawn(async move {
        let codec = Codec::single_object();
        while let Some(event) = events.recv().await {
            if let ConsumerEvent::Record(record) = event {
                let decoded = match &record.payload {
                    Some(bytes) => codec.decode::<T>(bytes).await.ok(),
                    None => None,
                };
                on(decoded);
            }
        }
    });
    Ok(handle)
}

/// Every verdict seen, the latest per leg.
#[derive(Default)]
pub struct Seen {
    /// Latest verdict per leg id (a complete one replaces a partial one of the same version).
    pub by_leg: HashMap<String, RootCauseVerdict>,
    /// The most recent verdicts with their number in the order read (from 1), newest last.
    pub recent: VecDeque<(u64, RootCauseVerdict)>,
    /// Verdict records read (revisions and partial ones included).
    pub records: u64,
    /// Records that did not decode.
    pub undecodable: u64,
}

/// Follows `rca.verdicts`.
pub struct Verdicts {
    seen: Arc<Mutex<Seen>>,
    _handle: ConsumerHandle,
}

impl Verdicts {
    /// Starts following `topic` (the verdicts topic) from its beginning.
    pub fn follow(
        kafka: &KafkaConfig,
        bootstrap: &str,
        group: &str,
        topic: &str,
    ) -> anyhow::Result<Verdicts> {
        let seen: Arc<Mutex<Seen>> = Arc::default();
        let sink = seen.clone();
        let handle = follow(
            kafka,
            bootstrap,
            group,
            topic,
            move |decoded: Option<RootCauseVerdict>| {
                let mut seen = sink.lock().unwrap_or_else(|p| p.into_inner());
                seen.records += 1;
                let Some(verdict) = decoded else {
                    seen.undecodable += 1;
                    return;
                };
                let replace = match seen.by_leg.get(&verdict.leg_id) {
                    None => true,
                    Some(old) => {
                        verdict.record_version > old.record_version
                            || (verdict.record_version == old.record_version
                                && (old.completeness.partial || !verdict.completeness.partial))
                    }
                };
                if replace {
                    seen.by_leg.insert(verdict.leg_id.clone(), verdict.clone());
                }
                let n = seen.records;
                seen.recent.push_back((n, verdict));
                if seen.recent.len() > RECENT {
                    seen.recent.pop_front();
                }
            },
        )?;
        Ok(Verdicts {
            seen,
            _handle: handle,
        })
    }

    /// Reads what was seen.
    pub fn with<T>(&self, f: impl FnOnce(&Seen) -> T) -> T {
        f(&self.seen.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// Whether a verdict is about a bad leg: poor streams, or rated bad or poor.
pub fn is_bad(v: &RootCauseVerdict) -> bool {
    v.quality == LegQuality::Poor || v.poor_feedback
}
