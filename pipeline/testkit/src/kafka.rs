//! Kafka for tests: the sections a test runs with, services on the embedded broker, and readers
//! of what the metrics say.

use callsight_core::Process;
use callsight_core::codec::{Codec, CodecConfig};
use callsight_core::metrics::Metrics;
use callsight_kafka::config::{KafkaConfig, TopicsConfig};
use callsight_kafka::consumer::{ConsumedRecord, ConsumerEvent, ConsumerHandle};
use callsight_kafka::producer::Delivered;
use callsight_kafka::{KafkaMetrics, Producer, Services};
use callsight_model::keys;
use callsight_model::types::{CallLeg, InventoryRecord, NetworkSample};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Client settings for tests: the embedded broker, no lingering, a short session, statistics
/// every half second.
pub fn kafka_config() -> KafkaConfig {
    KafkaConfig {
        linger: Duration::from_millis(1),
        session_timeout: Duration::from_secs(6),
        statistics_interval: Duration::from_millis(500),
        ..KafkaConfig::default()
    }
}

/// The topics with `partitions` partitions for the co-partitioned legs and telemetry and for
/// the verdicts.
pub fn topics(partitions: i32) -> TopicsConfig {
    let mut topics = TopicsConfig::default();
    topics.legs.partitions = partitions;
    topics.telemetry.partitions = partitions;
    topics.verdicts.partitions = partitions;
    topics
}

/// A test process's services: the embedded broker (when `kafka.brokers` is empty) with
/// `topics`, single-object framing, fresh metrics, readiness and shutdown.
pub async fn services(kafka: &KafkaConfig, topics: &TopicsConfig) -> Services {
    Services::connect(
        Process::new(Duration::from_secs(20)),
        kafka,
        topics,
        &CodecConfig::default(),
    )
    .await
    .expect("the embedded broker starts with the topics")
}

/// Kafka metrics on a registry of their own, for a client outside the process under test.
pub fn kafka_metrics() -> Arc<KafkaMetrics> {
    Arc::new(KafkaMetrics::register(&Metrics::new()).expect("the Kafka metrics register"))
}

/// The sum of a metric's series whose labels include every one of `labels` (`key="value"`),
/// as `/metrics` renders them.
pub fn metric(metrics: &Metrics, name: &str, labels: &[&str]) -> f64 {
    metric_in(&metrics.render(), name, labels)
}

/// The same, in metrics already rendered as text.
pub fn metric_in(text: &str, name: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name) && labels.iter().all(|x| l.contains(x)))
        .filter(|l| l[name.len()..].starts_with(['{', ' ']))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Stops a consumer off the async threads (it commits and leaves its group).
pub async fn stop(handle: ConsumerHandle) {
    tokio::task::spawn_blocking(move || handle.stop())
        .await
        .expect("the consumer stops");
}

/// The next record from a consumer, skipping rebalances; panics after `within`.
pub async fn next_record(
    events: &mut mpsc::Receiver<ConsumerEvent>,
    within: Duration,
) -> ConsumedRecord {
    loop {
        match tokio::time::timeout(within, events.recv()).await {
            Ok(Some(ConsumerEvent::Record(r))) => return r,
            Ok(Some(_)) => {}
            Ok(None) => panic!("the consumer stopped"),
            Err(_) => panic!("no record within {within:?}"),
        }
    }
}

/// Produces records to the topics as callsight's producers key them: inventory by entity,
/// telemetry and legs by `org|site`. Every record is acknowledged before a call returns.
pub struct Feed {
    producer: Producer,
    codec: Arc<Codec>,
    topics: TopicsConfig,
}

impl Feed {
    /// A feed through a producer of `services`.
    pub fn new(services: &Services) -> Feed {
        Feed {
            producer: services.producer().expect("a producer"),
            codec: services.codec.clone(),
            topics: services.topics.clone(),
        }
    }

    /// A feed of the cluster at `bootstrap` (in another process), single-object framed.
    pub fn on(kafka: &KafkaConfig, bootstrap: &str, topics: &TopicsConfig) -> Feed {
        Feed {
            producer: Producer::new(kafka, bootstrap, kafka_metrics()).expect("a producer"),
            codec: Arc::new(Codec::single_object()),
            topics: topics.clone(),
        }
    }

    /// Produces inventory records, keyed by entity.
    pub async fn inventory(&self, records: &[InventoryRecord]) {
        let topic = &self.topics.inventory.name;
        for r in records {
            let bytes = self.codec.encode(topic, r).await.expect("encodes");
            self.producer
                .send(topic, r.entity_id.as_bytes(), &bytes, &[])
                .await
                .expect("delivered");
        }
    }

    /// Produces one observation, keyed `org|site`.
    pub async fn sample(&self, sample: &NetworkSample) -> Delivered {
        let topic = &self.topics.telemetry.name;
        let bytes = self.codec.encode(topic, sample).await.expect("encodes");
        let key = keys::site_key(&sample.org_id, &sample.site_id);
        self.producer
            .send(topic, key.as_bytes(), &bytes, &[])
            .await
            .expect("delivered")
    }

    /// Produces observations, all in flight together.
    pub async fn samples(&self, samples: &[NetworkSample]) {
        futures::future::join_all(samples.iter().map(|s| self.sample(s))).await;
    }

    /// Produces a leg, keyed as the fetcher keys it.
    pub async fn leg(&self, leg: &CallLeg) -> Delivered {
        let topic = &self.topics.legs.name;
        let bytes = self.codec.encode(topic, leg).await.expect("encodes");
        self.producer
            .send(topic, leg.key().as_bytes(), &bytes, &[])
            .await
            .expect("delivered")
    }
}
