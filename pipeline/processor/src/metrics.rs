//! Processor metrics.

use callsight_core::metrics::{MetricError, Metrics};
use prometheus::{Histogram, IntCounter, IntCounterVec, IntGaugeVec};

/// Every family of the processor.
#[derive(Debug, Clone)]
pub struct ProcessorMetrics {
    /// `callsight_processor_records_total{topic, outcome}`: records taken, by outcome (`applied`,
    /// `late` (applied, older than the watermark), `expired` (older than retention, dropped),
    /// `stale` (a leg version not newer than one seen), `undecodable` (dead-lettered)).
    pub records: IntCounterVec,
    /// `callsight_processor_verdicts_total{completeness}`: verdicts published, `complete` or
    /// `partial`.
    pub verdicts: IntCounterVec,
    /// `callsight_processor_alerts_total`: scope alerts published.
    pub alerts: IntCounter,
    /// `callsight_processor_replayed_outputs_total`: outputs not published again while
    /// restoring, because they were published before.
    pub replayed: IntCounter,
    /// `callsight_processor_verdict_latency_seconds`: from taking a batch of records to the
    /// acknowledgement of the verdicts it caused.
    pub verdict_latency: Histogram,
    /// `callsight_processor_batch_seconds`: applying a batch to the state and evaluating.
    pub batch_seconds: Histogram,
    /// `callsight_processor_watermark_timestamp_seconds{partition}`: each owned partition's
    /// watermark (Unix time).
    pub watermark: IntGaugeVec,
    /// `callsight_processor_partitions{state}`: owned partitions, `restoring` or `live`.
    pub partitions: IntGaugeVec,
    /// `callsight_processor_restore_seconds`: from a partition's assignment to the end of its
    /// restore.
    pub restore_seconds: Histogram,
    /// `callsight_processor_restore_records_total`: records replayed while restoring.
    pub restore_records: IntCounter,
    /// `callsight_processor_state_bytes{kind}`: RocksDB `memory` (memtables and block cache) and
    /// `disk` (windows' SST files).
    pub state_bytes: IntGaugeVec,
    /// `callsight_processor_transactions_total{outcome}`: Kafka transactions (with
    /// `processor.transactional_id`): `committed`, `aborted` (retried in a new one), `failed`
    /// (fatal: the processor stops).
    pub transactions: IntCounterVec,
}

impl ProcessorMetrics {
    /// Registers the families.
    pub fn register(metrics: &Metrics) -> Result<Self, MetricError> {
        let m = ProcessorMetrics {
            records: metrics.counter_vec(
                "callsight_processor_records_total",
                "Records the processor took, by topic and outcome.",
                &["topic", "outcome"],
            )?,
            verdicts: metrics.counter_vec(
                "callsight_processor_verdicts_total",
                "Verdicts published, by completeness of their windows.",
                &["completeness"],
            )?,
            alerts: metrics.counter(
                "callsight_processor_alerts_total",
                "Scope alerts published (raised or cleared).",
            )?,
            replayed: metrics.counter(
                "callsight_processor_replayed_outputs_total",
                "Outputs not published again while restoring, because they had been.",
            )?,
            verdict_latency: metrics.histogram(
                "callsight_processor_verdict_latency_seconds",
                "From taking a batch of records to the acknowledgement of the verdicts it caused.",
                vec![
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                ],
            )?,
            batch_seconds: metrics.histogram(
                "callsight_processor_batch_seconds",
                "Applying a batch of records to the state, and evaluating what it released.",
                vec![
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
                ],
            )?,
            watermark: metrics.gauge_vec(
                "callsight_processor_watermark_timestamp_seconds",
                "Each owned partition's event-time watermark (Unix time).",
                &["partition"],
            )?,
            partitions: metrics.gauge_vec(
                "callsight_processor_partitions",
                "Partitions this process owns, restoring or live.",
                &["state"],
            )?,
            restore_seconds: metrics.histogram(
                "callsight_processor_restore_seconds",
                "From a partition's assignment to the end of its restore.",
                vec![0.1, 0.5, 1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 900.0],
            )?,
            restore_records: metrics.counter(
                "callsight_processor_restore_records_total",
                "Records replayed while restoring partitions.",
            )?,
            state_bytes: metrics.gauge_vec(
                "callsight_processor_state_bytes",
                "RocksDB memory (memtables and block cache) and disk (windows).",
                &["kind"],
            )?,
            transactions: metrics.counter_vec(
                "callsight_processor_transactions_total",
                "Kafka transactions of the processor, by outcome.",
                &["outcome"],
            )?,
        };
        for o in ["committed", "aborted", "failed"] {
            m.transactions.with_label_values(&[o]);
        }
        for topic in ["telemetry", "legs"] {
            for outcome in ["applied", "late", "expired", "stale", "undecodable"] {
                m.records.with_label_values(&[topic, outcome]);
            }
        }
        for c in ["complete", "partial"] {
            m.verdicts.with_label_values(&[c]);
        }
        for s in ["restoring", "live"] {
            m.partitions.with_label_values(&[s]);
        }
        Ok(m)
    }
}
