//! Kafka transactions for a consume-process-produce loop: the records a batch caused and the
//! consumer offsets after it, committed together or not at all (KIP-98, with the consumer
//! group's metadata for fencing, KIP-447).
//!
//! The blocking transaction calls (`init`, offsets, commit, abort) run on tokio's blocking pool,
//! never on the async runtime. Their failures are classified the way librdkafka documents them:
//! *retriable* (the same call may be made again), *abortable* (the transaction must be aborted,
//! then the batch can be retried in a new one) and *fatal* (this producer can do nothing more;
//! for example another instance with the same `transactional.id` fenced it).

use crate::client_config;
use crate::config::KafkaConfig;
use crate::context::Context;
use crate::metrics::KafkaMetrics;
use rdkafka::consumer::ConsumerGroupMetadata;
use rdkafka::error::KafkaError;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer as _};
use rdkafka::util::Timeout;
use rdkafka::{Offset, TopicPartitionList};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How a transactional call failed.
#[derive(Debug, thiserror::Error)]
pub enum TxnError {
    /// The transaction was aborted; its records and offsets count for nothing and the batch
    /// may be tried again in a new transaction.
    #[error("transaction aborted")]
    Aborted(#[source] KafkaError),
    /// The producer cannot go on (fenced, or a broker without transactions).
    #[error("transactional producer failed")]
    Fatal(#[source] KafkaError),
}

/// One consumed position to commit with a transaction: the next offset to consume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextOffset {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// The offset after the last record the batch took.
    pub next: i64,
}

/// A record to produce in a transaction.
#[derive(Debug, Clone)]
pub struct TxnRecord {
    /// Topic.
    pub topic: String,
    /// Key.
    pub key: Vec<u8>,
    /// Payload.
    pub payload: Vec<u8>,
}

/// A transactional producer (one per process, with a stable `transactional.id`).
#[derive(Clone)]
pub struct TransactionalProducer {
    inner: FutureProducer<Context>,
    metrics: Arc<KafkaMetrics>,
    timeout: Duration,
}

impl TransactionalProducer {
    /// Creates the producer; [`TransactionalProducer::init`] must succeed before it is used.
    pub fn new(
        kafka: &KafkaConfig,
        bootstrap: &str,
        transactional_id: &str,
        metrics: Arc<KafkaMetrics>,
    ) -> Result<Self, KafkaError> {
        let mut config = client_config::producer(kafka, bootstrap);
        config.set("transactional.id", transactional_id).set(
            "transaction.timeout.ms",
            kafka.delivery_timeout.as_millis().max(1000).to_string(),
        );
        let inner = config.create_with_context(Context {
            client: "transactional-producer",
            metrics: metrics.clone(),
            events: None,
            pairing: None,
        })?;
        Ok(TransactionalProducer {
            inner,
            metrics,
            timeout: kafka.delivery_timeout,
        })
    }

    /// Registers the `transactional.id` with its coordinator and fences older instances.
    pub async fn init(&self) -> Result<(), TxnError> {
        let (inner, timeout) = (self.inner.clone(), self.timeout);
        blocking(move || inner.init_transactions(Timeout::After(timeout)))
            .await
            .map_err(TxnError::Fatal)
    }

    /// Produces `records` and, when given, commits the consumer offsets for the group whose
    /// metadata comes with them, in one transaction. On an abortable failure the transaction is
    /// aborted before this returns ([`TxnError::Aborted`]); a retriable failure of the commit
    /// is retried within `kafka.delivery_timeout`.
    pub async fn commit_batch(
        &self,
        records: &[TxnRecord],
        offsets: Option<(Vec<NextOffset>, ConsumerGroupMetadata)>,
    ) -> Result<(), TxnError> {
        // Beginning fails only on a producer in the wrong state: nothing to abort.
        self.inner.begin_transaction().map_err(TxnError::Fatal)?;
        match self.fill_and_commit(records, offsets).await {
            Ok(()) => Ok(()),
            Err(Failure::Fatal(e)) => Err(TxnError::Fatal(e)),
            Err(Failure::Abort(e)) => {
                let (inner, timeout) = (self.inner.clone(), self.timeout);
                match blocking(move || inner.abort_transaction(Timeout::After(timeout))).await {
                    Ok(()) => Err(TxnError::Aborted(e)),
                    Err(abort) => Err(TxnError::Fatal(abort)),
                }
            }
        }
    }

    async fn fill_and_commit(
        &self,
        records: &[TxnRecord],
        offsets: Option<(Vec<NextOffset>, ConsumerGroupMetadata)>,
    ) -> Result<(), Failure> {
        let sends = records.iter().map(|r| {
            let record = FutureRecord::to(&r.topic)
                .key(&r.key[..])
                .payload(&r.payload[..]);
            crate::producer::send_counted(&self.inner, &self.metrics, record)
        });
        // A record that failed makes the transaction abortable.
        if let Some(e) = futures::future::join_all(sends)
            .await
            .into_iter()
            .find_map(Result::err)
        {
            return Err(Failure::Abort(e));
        }
        if let Some((offsets, group)) = offsets {
            let mut list = TopicPartitionList::new();
            for o in &offsets {
                list.add_partition_offset(&o.topic, o.partition, Offset::Offset(o.next))
                    .map_err(Failure::Abort)?;
            }
            let (inner, timeout) = (self.inner.clone(), self.timeout);
            blocking(move || {
                inner.send_offsets_to_transaction(&list, &group, Timeout::After(timeout))
            })
            .await
            .map_err(classify)?;
        }
        let deadline = Instant::now() + self.timeout;
        loop {
            let (inner, timeout) = (self.inner.clone(), self.timeout);
            match blocking(move || inner.commit_transaction(Timeout::After(timeout))).await {
                Ok(()) => return Ok(()),
                Err(e) if is_retriable(&e) && Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => return Err(classify(e)),
            }
        }
    }
}

enum Failure {
    Abort(KafkaError),
    Fatal(KafkaError),
}

fn is_retriable(e: &KafkaError) -> bool {
    matches!(e, KafkaError::Transaction(r) if r.is_retriable() && !r.txn_requires_abort() && !r.is_fatal())
}

/// librdkafka's classification of a transactional error: fatal, or (anything else) abortable.
fn classify(e: KafkaError) -> Failure {
    match &e {
        KafkaError::Transaction(r) if r.is_fatal() => Failure::Fatal(e),
        _ => Failure::Abort(e),
    }
}

async fn blocking<T: Send + 'static>(
    call: impl FnOnce() -> Result<T, KafkaError> + Send + 'static,
) -> Result<T, KafkaError> {
    match tokio::task::spawn_blocking(call).await {
        Ok(result) => result,
        Err(e) => {
            tracing::error!(error = %e, "a transaction call did not complete");
            Err(KafkaError::Canceled)
        }
    }
}
