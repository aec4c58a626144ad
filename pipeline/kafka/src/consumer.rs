//! The consumer: a `BaseConsumer` polled on a thread of its own, feeding a bounded channel.
//!
//! Records and rebalances arrive on one channel, in order. Offsets are stored explicitly with
//! [`ConsumerHandle::store`] once the work a record caused is done (its outputs acknowledged);
//! only stored offsets are committed, periodically and when the consumer stops.

use crate::client_config;
use crate::config::KafkaConfig;
use crate::context::Context;
use crate::metrics::KafkaMetrics;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer as _};
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Headers, Message};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;

/// A topic partition.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartition {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
}

/// One consumed record, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumedRecord {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
    /// Key.
    pub key: Option<Vec<u8>>,
    /// Value; `None` is a tombstone.
    pub payload: Option<Vec<u8>>,
    /// Headers, in order.
    pub headers: Vec<(String, Option<Vec<u8>>)>,
    /// Record timestamp, epoch ms, when the broker gave one.
    pub timestamp_ms: Option<i64>,
}

impl ConsumedRecord {
    pub(crate) fn from_message(message: &BorrowedMessage<'_>) -> Self {
        let headers = message
            .headers()
            .map(|headers| {
                headers
                    .iter()
                    .map(|h| (h.key.to_string(), h.value.map(<[u8]>::to_vec)))
                    .collect()
            })
            .unwrap_or_default();
        ConsumedRecord {
            topic: message.topic().to_string(),
            partition: message.partition(),
            offset: message.offset(),
            key: message.key().map(<[u8]>::to_vec),
            payload: message.payload().map(<[u8]>::to_vec),
            headers,
            timestamp_ms: message.timestamp().to_millis(),
        }
    }
}

/// What the consumer hands to the pipeline, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsumerEvent {
    /// Partitions were assigned to this member.
    Assigned(Vec<TopicPartition>),
    /// Partitions are being taken away: stop working on them.
    Revoked(Vec<TopicPartition>),
    /// A record.
    Record(ConsumedRecord),
}

/// Controls a running consumer.
pub struct ConsumerHandle {
    consumer: Arc<BaseConsumer<Context>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl ConsumerHandle {
    /// Marks a record as done: its offset + 1 will be committed.
    pub fn store(&self, topic: &str, partition: i32, offset: i64) -> Result<(), KafkaError> {
        self.consumer.store_offset(topic, partition, offset)
    }

    /// The group's metadata, for committing offsets within a producer's transaction; `None`
    /// before the consumer joined its group.
    pub fn group_metadata(&self) -> Option<rdkafka::consumer::ConsumerGroupMetadata> {
        self.consumer.group_metadata()
    }

    /// Commits the stored offsets now.
    pub fn commit(&self) -> Result<(), KafkaError> {
        match self.consumer.commit_consumer_state(CommitMode::Sync) {
            Err(KafkaError::ConsumerCommit(rdkafka::types::RDKafkaErrorCode::NoOffset)) => Ok(()),
            other => other,
        }
    }

    /// Partitions currently assigned.
    pub fn assignment(&self) -> Result<Vec<TopicPartition>, KafkaError> {
        Ok(self
            .consumer
            .assignment()?
            .elements()
            .iter()
            .map(|e| TopicPartition {
                topic: e.topic().to_string(),
                partition: e.partition(),
            })
            .collect())
    }

    /// Stops polling, commits the stored offsets, leaves the group. Blocks (call it from
    /// `spawn_blocking` in async code).
    pub fn stop(mut self) {
        self.stop_inner();
    }

    fn stop_inner(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("the consumer thread panicked");
        }
    }
}

impl Drop for ConsumerHandle {
    fn drop(&mut self) {
        self.stop_inner();
    }
}

/// Starts a consumer of `topics` in `group_id` on its own thread.
pub fn start(
    kafka: &KafkaConfig,
    bootstrap: &str,
    group_id: &str,
    topics: &[&str],
    metrics: Arc<KafkaMetrics>,
) -> Result<(ConsumerHandle, mpsc::Receiver<ConsumerEvent>), KafkaError> {
    start_with(kafka, bootstrap, group_id, topics, metrics, None)
}

/// [`start`], with a pairing (see [`crate::paired`]).
pub(crate) fn start_with(
    kafka: &KafkaConfig,
    bootstrap: &str,
    group_id: &str,
    topics: &[&str],
    metrics: Arc<KafkaMetrics>,
    pairing: Option<Arc<crate::paired::Pairing>>,
) -> Result<(ConsumerHandle, mpsc::Receiver<ConsumerEvent>), KafkaError> {
    let (tx, rx) = mpsc::channel(kafka.consumer_buffer);
    let consumer: BaseConsumer<Context> = client_config::consumer(kafka, bootstrap, group_id)
        .create_with_context(Context {
            client: "consumer",
            metrics: metrics.clone(),
            events: Some(tx.clone()),
            pairing,
        })?;
    consumer.subscribe(topics)?;
    let consumer = Arc::new(consumer);
    let stop = Arc::new(AtomicBool::new(false));
    let thread = std::thread::Builder::new()
        .name("kafka-consumer".into())
        .spawn({
            let consumer = consumer.clone();
            let stop = stop.clone();
            move || poll_loop(&consumer, &stop, &tx, &metrics)
        })
        .map_err(|e| KafkaError::Subscription(format!("cannot start the consumer thread: {e}")))?;
    Ok((
        ConsumerHandle {
            consumer,
            stop,
            thread: Some(thread),
        },
        rx,
    ))
}

fn poll_loop(
    consumer: &BaseConsumer<Context>,
    stop: &AtomicBool,
    tx: &mpsc::Sender<ConsumerEvent>,
    metrics: &KafkaMetrics,
) {
    'poll: while !stop.load(Ordering::SeqCst) {
        match consumer.poll(Duration::from_millis(100)) {
            None => {}
            Some(Err(e)) => {
                metrics
                    .client_errors
                    .with_label_values(&["consumer", &crate::metrics::error_label(&e)])
                    .inc();
                tracing::warn!(error = %e, "consume failed");
            }
            Some(Ok(message)) => {
                metrics.consumed.with_label_values(&[message.topic()]).inc();
                let mut event = ConsumerEvent::Record(ConsumedRecord::from_message(&message));
                // The channel is bounded: wait for room, but keep noticing a stop request.
                loop {
                    match tx.try_send(event) {
                        Ok(()) => break,
                        Err(TrySendError::Closed(_)) => break 'poll,
                        Err(TrySendError::Full(back)) => {
                            if stop.load(Ordering::SeqCst) {
                                break 'poll;
                            }
                            event = back;
                            std::thread::sleep(Duration::from_millis(5));
                        }
                    }
                }
            }
        }
    }
    match consumer.commit_consumer_state(CommitMode::Sync) {
        Ok(()) | Err(KafkaError::ConsumerCommit(rdkafka::types::RDKafkaErrorCode::NoOffset)) => {}
        Err(e) => tracing::warn!(error = %e, "final offset commit failed"),
    }
    consumer.unsubscribe();
    tracing::debug!("consumer stopped");
}
