//! A consumer for co-partitioned topics: it joins the group on one topic (the *driver*, e.g.
//! `net.telemetry`) with cooperative rebalancing, and whenever the group gives it partition `p`
//! of the driver it also takes partition `p` of the *follower* (`calls.legs`), and gives it up
//! with it. The group's assignor only ever sees the driver, so however it spreads partitions,
//! the two topics' partition `p` stay together in one member. Where each starts is decided by
//! the application, inside the rebalance, from its own state and the committed offsets; the
//! follower's offsets are committed through the same group.

use crate::config::KafkaConfig;
use crate::consumer::{self, ConsumerEvent, ConsumerHandle};
use crate::context::Context;
use crate::metrics::KafkaMetrics;
use rdkafka::consumer::BaseConsumer;
use rdkafka::error::KafkaError;
use rdkafka::{Offset, TopicPartitionList};
use std::sync::Arc;
use tokio::sync::mpsc;

/// Where a newly assigned partition starts, in each topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Start {
    /// The driver's partition.
    pub driver: Offset,
    /// The follower's partition.
    pub follower: Offset,
}

/// Decides the start offsets of partitions being assigned. Called on the consumer's thread,
/// inside the rebalance, with the consumer (for committed offsets and offsets for times).
pub type StartFn = dyn Fn(&BaseConsumer<Context>, &[i32]) -> Vec<Start> + Send + Sync;

/// The second topic and the start decision.
pub struct Pairing {
    driver: String,
    follower: String,
    start: Box<StartFn>,
}

impl Pairing {
    /// Adds the follower's partitions to a rebalance's list, with start offsets on assignment.
    pub(crate) fn extend(
        &self,
        consumer: &BaseConsumer<Context>,
        tpl: &mut TopicPartitionList,
        assign: bool,
    ) {
        let partitions: Vec<i32> = tpl
            .elements()
            .iter()
            .filter(|e| e.topic() == self.driver)
            .map(|e| e.partition())
            .collect();
        if partitions.is_empty() {
            return;
        }
        let starts = if assign {
            (self.start)(consumer, &partitions)
        } else {
            Vec::new()
        };
        for (i, partition) in partitions.iter().enumerate() {
            let start = starts.get(i).copied();
            if let Some(start) = start
                && let Err(e) = tpl.set_partition_offset(&self.driver, *partition, start.driver)
            {
                tracing::warn!(error = %e, partition, "cannot set a start offset");
            }
            let follower = start.map_or(Offset::Invalid, |s| s.follower);
            if let Err(e) = tpl.add_partition_offset(&self.follower, *partition, follower) {
                tracing::warn!(error = %e, partition, "cannot add the paired partition");
            }
        }
    }
}

/// Starts a paired consumer in `group_id`: the group is on `driver`; `follower` comes along.
pub fn start(
    kafka: &KafkaConfig,
    bootstrap: &str,
    group_id: &str,
    driver: &str,
    follower: &str,
    start: Box<StartFn>,
    metrics: Arc<KafkaMetrics>,
) -> Result<(ConsumerHandle, mpsc::Receiver<ConsumerEvent>), KafkaError> {
    let pairing = Arc::new(Pairing {
        driver: driver.to_string(),
        follower: follower.to_string(),
        start,
    });
    consumer::start_with(
        kafka,
        bootstrap,
        group_id,
        &[driver],
        metrics,
        Some(pairing),
    )
}
