//! The producer: idempotent, keyed, acknowledged; every delivery and failure counted.

use crate::client_config;
use crate::config::KafkaConfig;
use crate::context::Context;
use crate::metrics::KafkaMetrics;
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer as _};
use rdkafka::util::Timeout;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Where an acknowledged record landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
}

/// A record could not be delivered.
#[derive(Debug, thiserror::Error)]
#[error("producing to {topic}")]
pub struct ProduceError {
    /// Topic.
    pub topic: String,
    /// librdkafka's error.
    #[source]
    pub source: KafkaError,
}

/// A shared, cloneable producer.
#[derive(Clone)]
pub struct Producer {
    inner: FutureProducer<Context>,
    metrics: Arc<KafkaMetrics>,
}

impl Producer {
    /// Creates the producer for `bootstrap`.
    pub fn new(
        kafka: &KafkaConfig,
        bootstrap: &str,
        metrics: Arc<KafkaMetrics>,
    ) -> Result<Self, KafkaError> {
        let inner = client_config::producer(kafka, bootstrap).create_with_context(Context {
            client: "producer",
            metrics: metrics.clone(),
            events: None,
            pairing: None,
        })?;
        Ok(Producer { inner, metrics })
    }

    /// Sends one record and waits for its acknowledgement.
    pub async fn send(
        &self,
        topic: &str,
        key: &[u8],
        payload: &[u8],
        headers: &[(&str, Option<&[u8]>)],
    ) -> Result<Delivered, ProduceError> {
        let mut owned = OwnedHeaders::new_with_capacity(headers.len());
        for (key, value) in headers {
            owned = owned.insert(Header { key, value: *value });
        }
        let record = FutureRecord::to(topic)
            .key(key)
            .payload(payload)
            .headers(owned);
        send_counted(&self.inner, &self.metrics, record)
            .await
            .map_err(|source| ProduceError {
                topic: topic.to_string(),
                source,
            })
    }

    /// Waits up to `bound` for every queued record to be delivered.
    pub fn flush(&self, bound: Duration) -> Result<(), KafkaError> {
        self.inner.flush(Timeout::After(bound))
    }

    /// The underlying rdkafka producer, for metadata queries.
    pub fn client(&self) -> &FutureProducer<Context> {
        &self.inner
    }
}

/// Sends a record and waits for its acknowledgement, counting the delivery or the failure.
pub(crate) async fn send_counted(
    producer: &FutureProducer<Context>,
    metrics: &KafkaMetrics,
    record: FutureRecord<'_, [u8], [u8]>,
) -> Result<Delivered, KafkaError> {
    let topic = record.topic.to_string();
    let started = Instant::now();
    match producer.send(record, Timeout::Never).await {
        Ok(delivery) => {
            metrics.produced.with_label_values(&[&topic]).inc();
            metrics
                .delivery_seconds
                .with_label_values(&[&topic])
                .observe(started.elapsed().as_secs_f64());
            Ok(Delivered {
                partition: delivery.partition,
                offset: delivery.offset,
            })
        }
        Err((source, _)) => {
            metrics
                .produce_errors
                .with_label_values(&[&topic, &crate::metrics::error_label(&source)])
                .inc();
            Err(source)
        }
    }
}
