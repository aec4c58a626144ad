//! The processor's section of the configuration (`[processor]`): event time, state and
//! batching.

use callsight_core::config::{Problem, Problems};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

/// Event-time processing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProcessorConfig {
    /// How much network history the processor keeps (call records arrive hours late).
    #[serde(with = "humantime_serde")]
    pub retention: Duration,
    /// How long a wired client's last reported attachment (its switch port) is kept without a
    /// new report, behind the watermark: longer than `retention`, since an attachment holds for
    /// days, but bounded, since every client MAC ever reported takes a record.
    #[serde(with = "humantime_serde")]
    pub attachment_retention: Duration,
    /// How late telemetry may arrive and still count; the watermark trails the newest event by
    /// this much.
    #[serde(with = "humantime_serde")]
    pub allowed_lateness: Duration,
    /// Extra wait after a leg's end has passed the watermark, so its windows are complete.
    #[serde(with = "humantime_serde")]
    pub settle_margin: Duration,
    /// How far ahead of the wall clock one event time may move the watermark (clock skew).
    /// An observation stamped later is still kept, but advances the watermark only to wall
    /// clock plus this, and is counted (`clamped`): one far-future time must not make every
    /// later record late.
    #[serde(with = "humantime_serde")]
    pub max_event_lead: Duration,
    /// Wall-clock bound after which a leg is evaluated with what there is, marked partial.
    #[serde(with = "humantime_serde")]
    pub max_wait: Duration,
    /// Directory of the processor's RocksDB state.
    pub state_dir: PathBuf,
    /// History before a leg from which its entities' usual values (baselines) are taken.
    #[serde(with = "humantime_serde")]
    pub baseline_history: Duration,
    /// Slices that history is cut into; a baseline is the median over the slices with data.
    pub baseline_slices: u32,
    /// RocksDB block cache shared by every column family, bytes.
    pub block_cache_bytes: usize,
    /// RocksDB memtable budget shared by every column family, bytes.
    pub write_buffer_bytes: usize,
    /// Records taken from Kafka and applied in one RocksDB write batch, at most.
    pub batch_records: usize,
    /// Threads a batch's partitions are decoded and applied on, side by side (one partition
    /// per thread at a time); 0: one per CPU available to the process (its cgroup quota
    /// counts).
    pub apply_threads: usize,
    /// How often legs that waited `max_wait` are looked for (wall clock).
    #[serde(with = "humantime_serde")]
    pub tick_interval: Duration,
    /// Kafka transactions: when set, each batch's outputs and the input offsets after it are
    /// committed in one transaction under this `transactional.id` (unique and stable per
    /// processor instance, e.g. the StatefulSet pod's name). Unset: the idempotent producer and
    /// the outbox, committing offsets after the outputs were acknowledged.
    pub transactional_id: Option<String>,
}

impl ProcessorConfig {
    /// The threads batches are applied on: `apply_threads`, or one per available CPU.
    pub fn apply_threads(&self) -> usize {
        match self.apply_threads {
            0 => std::thread::available_parallelism().map_or(1, usize::from),
            n => n,
        }
    }

    /// What is wrong with the section at `prefix`.
    pub fn problems(&self, prefix: &str) -> Vec<Problem> {
        let mut p = Problems::new(prefix);
        if self.retention < Duration::from_secs(3600) {
            p.bad(
                "retention",
                "must be at least 1h: call records arrive long after the call",
            );
        }
        if self.baseline_history >= self.retention {
            p.bad(
                "baseline_history",
                "must be shorter than processor.retention",
            );
        }
        let min_slices = callsight_rca::evidence::BASELINE_MIN_SLICES;
        if (self.baseline_slices as usize) < min_slices {
            p.bad(
                "baseline_slices",
                format!(
                    "must be at least {min_slices}: a baseline needs that many slices with data"
                ),
            );
        }
        if self.tick_interval.is_zero() {
            p.bad("tick_interval", "must be longer than 0s");
        }
        if self
            .transactional_id
            .as_deref()
            .is_some_and(|id| id.trim().is_empty())
        {
            p.bad("transactional_id", "must not be empty when set");
        }
        if self.batch_records == 0 {
            p.bad("batch_records", "must be at least 1");
        }
        if self.block_cache_bytes < (1 << 20) || self.write_buffer_bytes < (1 << 20) {
            p.bad(
                "block_cache_bytes",
                "the block cache and write buffers need at least 1 MiB each",
            );
        }
        if self.attachment_retention < self.retention {
            p.bad(
                "attachment_retention",
                "must be at least processor.retention",
            );
        }
        if self.allowed_lateness >= self.retention {
            p.bad(
                "allowed_lateness",
                "must be shorter than processor.retention",
            );
        }
        p.into_vec()
    }
}

impl Default for ProcessorConfig {
    fn default() -> Self {
        ProcessorConfig {
            retention: Duration::from_secs(6 * 3600),
            attachment_retention: Duration::from_secs(30 * 86_400),
            allowed_lateness: Duration::from_secs(120),
            settle_margin: Duration::from_secs(60),
            max_event_lead: Duration::from_secs(600),
            max_wait: Duration::from_secs(600),
            state_dir: PathBuf::from("state"),
            baseline_history: Duration::from_secs(2 * 3600),
            baseline_slices: 8,
            block_cache_bytes: 128 << 20,
            write_buffer_bytes: 128 << 20,
            batch_records: 8192,
            apply_threads: 0,
            tick_interval: Duration::from_secs(5),
            transactional_id: None,
        }
    }
}
