//! The process role's events: each one counts itself and writes its log line in one place, so
//! the logs and the metrics cannot drift apart.

use crate::metrics::ProcessorMetrics;
use crate::partition::{Counts, Outgoing, Output};
use std::time::{Duration, Instant};

/// Which input topic a record came from (the `topic` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// `net.telemetry`.
    Telemetry,
    /// `calls.legs`.
    Legs,
}

impl Input {
    /// The `topic` label.
    pub const fn as_str(self) -> &'static str {
        match self {
            Input::Telemetry => "telemetry",
            Input::Legs => "legs",
        }
    }
}

/// How a Kafka transaction ended (the `outcome` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transaction {
    /// Outputs and offsets are committed.
    Committed,
    /// Aborted; the batch goes again in a new one.
    Aborted,
    /// The producer cannot go on; the processor stops.
    Failed,
}

impl ProcessorMetrics {
    /// A partition's records were applied in `took`: what they counted for.
    pub fn batch_applied(&self, partition: i32, counts: &Counts, took: Duration) {
        let m = &self.records;
        m.with_label_values(&["telemetry", "applied"])
            .inc_by(counts.samples);
        m.with_label_values(&["telemetry", "late"])
            .inc_by(counts.late_applied);
        m.with_label_values(&["telemetry", "expired"])
            .inc_by(counts.late_dropped);
        m.with_label_values(&["telemetry", "clamped"])
            .inc_by(counts.clamped);
        m.with_label_values(&["legs", "applied"])
            .inc_by(counts.legs);
        m.with_label_values(&["legs", "stale"])
            .inc_by(counts.stale_legs);
        self.replayed.inc_by(counts.suppressed);
        self.batch_seconds.observe(took.as_secs_f64());
        tracing::trace!(
            partition,
            samples = counts.samples,
            late = counts.late_applied,
            expired = counts.late_dropped,
            clamped = counts.clamped,
            legs = counts.legs,
            stale = counts.stale_legs,
            seconds = took.as_secs_f64(),
            "batch applied"
        );
    }

    /// A record did not decode (it goes to the dead-letter topic, which logs it).
    pub fn record_undecodable(&self, input: Input) {
        self.records
            .with_label_values(&[input.as_str(), "undecodable"])
            .inc();
    }

    /// Evaluating a leg panicked (it goes to the dead-letter topic, logged by the runner).
    pub fn record_unappliable(&self, input: Input) {
        self.records
            .with_label_values(&[input.as_str(), "unappliable"])
            .inc();
    }

    /// Records were replayed while a partition restores.
    pub fn restoring(&self, records: usize) {
        self.restore_records.inc_by(records as u64);
    }

    /// A partition finished its restore, `took` after it was assigned.
    pub fn partition_restored(&self, partition: i32, took: Duration) {
        self.restore_seconds.observe(took.as_secs_f64());
        tracing::info!(
            partition,
            seconds = took.as_secs_f64(),
            "partition restored"
        );
    }

    /// A partition's watermark moved (epoch ms).
    pub fn watermark_moved(&self, partition: i32, watermark_ms: i64) {
        self.watermark
            .with_label_values(&[&partition.to_string()])
            .set(watermark_ms / 1000);
    }

    /// A partition was revoked: its series goes with it.
    pub fn partition_revoked(&self, partition: i32) {
        self.watermark
            .remove_label_values(&[&partition.to_string()])
            .ok();
        tracing::info!(partition, "partition revoked");
    }

    /// The partitions owned and the state's size.
    pub fn partitions_owned(&self, restoring: usize, live: usize, memory: u64, disk: u64) {
        self.partitions
            .with_label_values(&["restoring"])
            .set(restoring as i64);
        self.partitions
            .with_label_values(&["live"])
            .set(live as i64);
        self.state_bytes
            .with_label_values(&["memory"])
            .set(memory as i64);
        self.state_bytes
            .with_label_values(&["disk"])
            .set(disk as i64);
    }

    /// Outputs were acknowledged by the broker; `taken` is when their batch was taken from
    /// Kafka (none for what a tick or the outbox published).
    pub fn outputs_published(&self, outgoing: &[Outgoing], taken: Option<Instant>) {
        for o in outgoing {
            match &o.output {
                Output::Verdict { verdict, .. } => {
                    self.count_verdict(verdict);
                    if let Some(taken) = taken {
                        self.verdict_latency.observe(taken.elapsed().as_secs_f64());
                    }
                }
                Output::Alert(_) => self.alerts.inc(),
            }
        }
    }

    /// A Kafka transaction ended; `error` says why when it did not commit.
    pub fn transaction(&self, outcome: Transaction, error: Option<&rdkafka::error::KafkaError>) {
        let label = match outcome {
            Transaction::Committed => "committed",
            Transaction::Aborted => "aborted",
            Transaction::Failed => "failed",
        };
        self.transactions.with_label_values(&[label]).inc();
        match (outcome, error) {
            (Transaction::Aborted, Some(e)) => tracing::warn!(
                error = %e,
                "transaction aborted; the batch goes again in a new one"
            ),
            (Transaction::Failed, Some(e)) => tracing::error!(
                error = %e,
                "the transactional producer failed; the processor stops"
            ),
            _ => {}
        }
    }
}
