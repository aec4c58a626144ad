//! The process role's shared run state: what the loop, restore planning and publishing all
//! read, kept apart so that none of them imports another's internals.

use crate::metrics::ProcessorMetrics;
use crate::partition::{Committed, Partition, Settings};
use callsight_core::codec::Codec;
use callsight_core::readiness::Readiness;
use callsight_core::shutdown::Shutdown;
use callsight_inventory::Inventory;
use callsight_kafka::Producer;
use callsight_kafka::dead_letter::DeadLetters;
use callsight_kafka::transactions::TransactionalProducer;
use callsight_state::Store;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

/// How an assigned partition starts (decided in the rebalance).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Plan {
    /// Replaying up to these committed offsets; `None`: live at once.
    pub(crate) restore: Option<Committed>,
    /// Publish what the outbox holds (the local state is the latest), or forget it.
    pub(crate) keep_outbox: bool,
    /// Where each topic starts, to know when a restore is done.
    pub(crate) starts: (i64, i64),
}

/// The plans of partitions being assigned, by partition, from the rebalance to the loop.
pub(crate) type Plans = Arc<Mutex<HashMap<i32, Plan>>>;

/// A partition this process owns.
pub(crate) struct Owned {
    /// Its event-time processing.
    pub(crate) partition: Partition,
    /// Replaying until these (next to consume) are reached.
    pub(crate) restore: Option<Committed>,
    /// Next offsets to consume (legs, telemetry).
    pub(crate) next: (i64, i64),
    /// When it was assigned (for the restore time).
    pub(crate) assigned_at: Instant,
}

impl Owned {
    /// The replay up to the committed offsets is done.
    pub(crate) fn restored(&self) -> bool {
        self.restore
            .is_none_or(|c| self.next.0 >= c.legs && self.next.1 >= c.telemetry)
    }
}

/// What the processing loop needs.
pub(crate) struct Run {
    pub(crate) store: Arc<Store>,
    pub(crate) settings: Settings,
    pub(crate) inventory: Arc<RwLock<Inventory>>,
    pub(crate) codec: Arc<Codec>,
    pub(crate) producer: Producer,
    pub(crate) dead_letters: DeadLetters,
    pub(crate) legs_topic: String,
    pub(crate) telemetry_topic: String,
    pub(crate) verdicts_topic: String,
    pub(crate) alerts_topic: String,
    pub(crate) metrics: ProcessorMetrics,
    pub(crate) readiness: Readiness,
    pub(crate) plans: Plans,
    pub(crate) batch_records: usize,
    /// Threads a batch's partitions are decoded and applied on.
    pub(crate) apply_threads: usize,
    /// With `processor.transactional_id`: outputs and offsets committed together.
    pub(crate) transactions: Option<TransactionalProducer>,
    /// To stop the process, failing, when the role cannot go on.
    pub(crate) shutdown: Shutdown,
    /// Whether the group has given this process partitions yet: until then it is not ready (a
    /// processor that just started has restored nothing).
    pub(crate) given_partitions: std::sync::atomic::AtomicBool,
}
