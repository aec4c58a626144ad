//! What every role of a process is started with: the Kafka cluster (configured, or the embedded
//! broker) with its topics checked, the codec, the metrics and Kafka metrics, readiness and the
//! shutdown. Built once per process; each role then takes it with its own section of the
//! configuration.

use crate::cluster::Cluster;
use crate::config::{KafkaConfig, TopicsConfig};
use crate::dead_letter::DeadLetters;
use crate::metrics::KafkaMetrics;
use crate::producer::Producer;
use crate::table::{TableEvent, TableHandle};
use crate::topics::TopicError;
use callsight_core::Process;
use callsight_core::codec::{Codec, CodecConfig};
use callsight_core::metrics::{MetricError, Metrics};
use callsight_core::readiness::Readiness;
use callsight_core::shutdown::Shutdown;
use callsight_model::CodecError;
use rdkafka::error::KafkaError;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// How often readiness re-checks that the cluster answers.
const BROKER_PROBE_INTERVAL: Duration = Duration::from_secs(10);

/// The shared parts of a process.
pub struct Services {
    /// Kafka connection and client tuning.
    pub kafka: KafkaConfig,
    /// Topic names and partitioning.
    pub topics: TopicsConfig,
    /// `bootstrap.servers` of the cluster in use.
    pub bootstrap: String,
    /// The record codec (its Schema Registry cache shared by every role).
    pub codec: Arc<Codec>,
    /// The process's metrics registry.
    pub metrics: Metrics,
    /// Kafka metric families, registered once in `metrics`.
    pub kafka_metrics: Arc<KafkaMetrics>,
    /// The conditions `/readyz` reports.
    pub readiness: Readiness,
    /// When to stop taking work, and which tasks must finish first.
    pub shutdown: Shutdown,
    /// How long draining (flushing producers, committing) may take.
    pub drain_timeout: Duration,
    /// Holds the embedded broker (if any) until the process stops.
    cluster: Cluster,
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Services")
            .field("bootstrap", &self.bootstrap)
            .finish_non_exhaustive()
    }
}

/// What a process cannot start without.
#[derive(Debug, thiserror::Error)]
pub enum ServicesError {
    /// The cluster or its topics are not usable.
    #[error("Kafka")]
    Kafka(#[from] TopicError),
    /// The Kafka metric families could not be registered.
    #[error("registering the Kafka metrics")]
    Metrics(#[from] MetricError),
    /// The codec could not be set up (its Schema Registry client).
    #[error("setting up the record codec")]
    Codec(#[from] CodecError),
}

impl Services {
    /// Connects `process` to the configured cluster, or starts the embedded broker when no
    /// brokers are configured; creates the topics when allowed and checks them. Readiness gets
    /// `broker` and `topics` conditions ([`Services::watch_broker`] keeps the first current).
    pub async fn connect(
        process: Process,
        kafka: &KafkaConfig,
        topics: &TopicsConfig,
        codec: &CodecConfig,
    ) -> Result<Services, ServicesError> {
        let Process {
            metrics,
            readiness,
            shutdown,
            drain_timeout,
        } = process;
        readiness.register("broker", "connecting");
        readiness.register("topics", "not checked yet");
        let codec = Arc::new(Codec::new(codec)?);
        let cluster = Cluster::connect(kafka, topics).await?;
        readiness.set("broker", true, cluster.bootstrap().to_string());
        readiness.set(
            "topics",
            true,
            format!("{} topics present", cluster.specs().len()),
        );
        let kafka_metrics = Arc::new(KafkaMetrics::register(&metrics)?);
        Ok(Services {
            kafka: kafka.clone(),
            topics: topics.clone(),
            bootstrap: cluster.bootstrap().to_string(),
            codec,
            metrics,
            kafka_metrics,
            readiness,
            shutdown,
            drain_timeout,
            cluster,
        })
    }

    /// Another process's services on this one's cluster, as a second callsight process would
    /// see it: the same brokers (the embedded broker included) and topics, which it checks but
    /// does not create; its own metrics, readiness and shutdown from `process`. For tests and
    /// benchmarks that run several processes against one broker.
    pub async fn sibling(&self, process: Process) -> Result<Services, ServicesError> {
        let kafka = KafkaConfig {
            brokers: self.bootstrap.clone(),
            create_topics: false,
            ..self.kafka.clone()
        };
        let mut sibling =
            Services::connect(process, &kafka, &self.topics, &CodecConfig::default()).await?;
        sibling.codec = self.codec.clone();
        Ok(sibling)
    }

    /// The cluster in use.
    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    /// The process's shared parts, without Kafka.
    pub fn process(&self) -> Process {
        Process {
            metrics: self.metrics.clone(),
            readiness: self.readiness.clone(),
            shutdown: self.shutdown.clone(),
            drain_timeout: self.drain_timeout,
        }
    }

    /// A producer on the cluster, its deliveries counted.
    pub fn producer(&self) -> Result<Producer, KafkaError> {
        Producer::new(&self.kafka, &self.bootstrap, self.kafka_metrics.clone())
    }

    /// Dead letters written through `producer` in the configured framing.
    pub fn dead_letters(&self, producer: Producer) -> DeadLetters {
        DeadLetters::new(
            producer,
            self.codec.clone(),
            &self.topics.dead_letter_suffix,
            self.kafka_metrics.clone(),
        )
    }

    /// Starts reading the compacted `topic` whole (see [`crate::table`]).
    pub fn table(
        &self,
        topic: &str,
    ) -> Result<(TableHandle, mpsc::Receiver<TableEvent>), KafkaError> {
        crate::table::start(
            &self.kafka,
            &self.bootstrap,
            topic,
            self.kafka_metrics.clone(),
        )
    }

    /// Keeps the `broker` readiness condition true while the cluster answers metadata
    /// requests, checking every ten seconds until shutdown.
    pub fn watch_broker(&self) {
        let (kafka, bootstrap, readiness, token) = (
            self.kafka.clone(),
            self.bootstrap.clone(),
            self.readiness.clone(),
            self.shutdown.token.clone(),
        );
        self.shutdown.tracker.spawn(async move {
            loop {
                let (k, b) = (kafka.clone(), bootstrap.clone());
                let result = tokio::task::spawn_blocking(move || {
                    Cluster::probe(&k, &b, Duration::from_secs(5))
                })
                .await;
                match result {
                    Ok(Ok(topics)) => {
                        readiness.set("broker", true, format!("{bootstrap}, {topics} topics"))
                    }
                    Ok(Err(e)) => {
                        tracing::warn!(error = %callsight_core::error::Report(&e), "the Kafka cluster does not answer");
                        readiness.set("broker", false, e.to_string());
                    }
                    Err(e) => readiness.set("broker", false, format!("probe failed: {e}")),
                }
                tokio::select! {
                    _ = token.cancelled() => return,
                    _ = tokio::time::sleep(BROKER_PROBE_INTERVAL) => {}
                }
            }
        });
    }
}
