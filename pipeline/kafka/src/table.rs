//! Reading a compacted topic whole, in every replica: the tables callsight keeps in memory
//! (tenant links, the network inventory).
//!
//! The reader assigns itself every partition of the topic from the beginning (no consumer group,
//! no committed offsets: each process needs all of it), hands every record over in partition
//! order, and says once when it has caught up with the high watermarks it found at start, so that
//! a role can wait for a complete table before it serves. It waits for the cluster on its own
//! thread. Partitions added to the topic later are not picked up until the process restarts.

use crate::client_config;
use crate::config::KafkaConfig;
use crate::consumer::ConsumedRecord;
use crate::context::Context;
use crate::metrics::KafkaMetrics;
use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;

/// What the reader hands over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableEvent {
    /// A record (a `None` payload is a tombstone: the key is deleted).
    Record(ConsumedRecord),
    /// Every record that was in the topic when the reader started has been handed over.
    CaughtUp,
}

/// Stops the reader when dropped.
pub struct TableHandle {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for TableHandle {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("the table reader thread panicked");
        }
    }
}

/// Starts reading `topic` from its beginning. The reader waits for the cluster (retrying its
/// metadata request) on its own thread, so a role can start before Kafka answers.
pub fn start(
    kafka: &KafkaConfig,
    bootstrap: &str,
    topic: &str,
    metrics: Arc<KafkaMetrics>,
) -> Result<(TableHandle, mpsc::Receiver<TableEvent>), KafkaError> {
    let mut config = client_config::common(kafka, bootstrap);
    config
        .set("group.id", format!("{}-table-reader", kafka.group_id))
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest");
    let consumer: BaseConsumer<Context> = config.create_with_context(Context {
        client: "table",
        metrics: metrics.clone(),
        events: None,
        pairing: None,
    })?;
    let (tx, rx) = mpsc::channel(kafka.consumer_buffer.max(1));
    let stop = Arc::new(AtomicBool::new(false));
    let topic = topic.to_string();
    let thread = std::thread::Builder::new()
        .name("kafka-table".into())
        .spawn({
            let stop = stop.clone();
            move || {
                if let Some(remaining) = assign(&consumer, &topic, &stop) {
                    read_loop(&consumer, &stop, &tx, &metrics, remaining);
                }
            }
        })
        .map_err(|e| KafkaError::Subscription(format!("cannot start the table reader: {e}")))?;
    Ok((
        TableHandle {
            stop,
            thread: Some(thread),
        },
        rx,
    ))
}

/// Assigns every partition of `topic` from the beginning, once the cluster answers; returns the
/// high watermark of each non-empty partition (where "caught up" is), or `None` when stopped.
fn assign(
    consumer: &BaseConsumer<Context>,
    topic: &str,
    stop: &AtomicBool,
) -> Option<HashMap<i32, i64>> {
    let timeout = Duration::from_secs(5);
    let mut logged = false;
    while !stop.load(Ordering::SeqCst) {
        let attempt = (|| {
            let metadata = consumer.fetch_metadata(Some(topic), timeout)?;
            let partitions: Vec<i32> = metadata
                .topics()
                .iter()
                .filter(|t| t.name() == topic)
                .flat_map(|t| t.partitions().iter().map(|p| p.id()))
                .collect();
            if partitions.is_empty() {
                return Err(KafkaError::Subscription(format!(
                    "topic {topic} has no partitions (does it exist?)"
                )));
            }
            let mut remaining = HashMap::new();
            let mut assignment = TopicPartitionList::new();
            for &partition in &partitions {
                let (low, high) = consumer.fetch_watermarks(topic, partition, timeout)?;
                if high > low {
                    remaining.insert(partition, high);
                }
                assignment.add_partition_offset(topic, partition, Offset::Beginning)?;
            }
            consumer.assign(&assignment)?;
            Ok::<_, KafkaError>(remaining)
        })();
        match attempt {
            Ok(remaining) => return Some(remaining),
            Err(e) => {
                if !logged {
                    tracing::warn!(topic, error = %e, "cannot read the table yet; retrying");
                    logged = true;
                }
                std::thread::sleep(Duration::from_secs(1));
            }
        }
    }
    None
}

/// Sends `event`, waiting for room while watching for a stop request; false when done.
fn send(tx: &mpsc::Sender<TableEvent>, stop: &AtomicBool, mut event: TableEvent) -> bool {
    loop {
        match tx.try_send(event) {
            Ok(()) => return true,
            Err(TrySendError::Closed(_)) => return false,
            Err(TrySendError::Full(back)) => {
                if stop.load(Ordering::SeqCst) {
                    return false;
                }
                event = back;
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
}

fn read_loop(
    consumer: &BaseConsumer<Context>,
    stop: &AtomicBool,
    tx: &mpsc::Sender<TableEvent>,
    metrics: &KafkaMetrics,
    mut remaining: HashMap<i32, i64>,
) {
    let mut caught_up = false;
    while !stop.load(Ordering::SeqCst) {
        if !caught_up && remaining.is_empty() {
            caught_up = true;
            if !send(tx, stop, TableEvent::CaughtUp) {
                return;
            }
        }
        match consumer.poll(Duration::from_millis(100)) {
            None => {}
            Some(Err(e)) => {
                metrics
                    .client_errors
                    .with_label_values(&["table", &crate::metrics::error_label(&e)])
                    .inc();
                tracing::warn!(error = %e, "table read failed");
            }
            Some(Ok(message)) => {
                metrics.consumed.with_label_values(&[message.topic()]).inc();
                let record = ConsumedRecord::from_message(&message);
                if let Some(&high) = remaining.get(&record.partition)
                    && record.offset + 1 >= high
                {
                    remaining.remove(&record.partition);
                }
                if !send(tx, stop, TableEvent::Record(record)) {
                    return;
                }
            }
        }
    }
}

/// Applies a table reader's events to a table: `apply(key, Some(value))` for each record that
/// decodes as `T`, `apply(key, None)` for a tombstone; `ready` becomes true once caught up. A
/// record that does not decode is logged and skipped (it stays in the topic; every replica reads
/// it, so none of them dead-letters it). Returns when the reader stops.
pub async fn follow<T: callsight_model::Record>(
    codec: Arc<callsight_core::codec::Codec>,
    mut events: mpsc::Receiver<TableEvent>,
    ready: tokio::sync::watch::Sender<bool>,
    mut apply: impl FnMut(&[u8], Option<T>),
) {
    while let Some(event) = events.recv().await {
        match event {
            TableEvent::CaughtUp => {
                ready.send_replace(true);
            }
            TableEvent::Record(record) => match &record.payload {
                None => apply(record.key.as_deref().unwrap_or_default(), None),
                Some(bytes) => match codec.decode::<T>(bytes).await {
                    Ok(value) => apply(record.key.as_deref().unwrap_or_default(), Some(value)),
                    Err(e) => tracing::error!(
                        topic = %record.topic,
                        partition = record.partition,
                        offset = record.offset,
                        error = %e,
                        "a table record does not decode; it is ignored"
                    ),
                },
            },
        }
    }
}
