//! The Kafka cluster a process talks to: the configured brokers, or the embedded broker when
//! none are configured. Either way the topics are created (if allowed) and checked at start-up.

use crate::config::{KafkaConfig, TopicsConfig};
use crate::embedded::EmbeddedBroker;
use crate::topics::{self, TopicError, TopicSpec};
use std::time::Duration;

/// How long start-up waits for cluster metadata.
const METADATA_TIMEOUT: Duration = Duration::from_secs(15);

/// A connected cluster with its topics in place.
pub struct Cluster {
    bootstrap: String,
    embedded: Option<EmbeddedBroker>,
    specs: Vec<TopicSpec>,
}

impl Cluster {
    /// Starts the embedded broker (no `kafka.brokers`) or uses the configured one, creates the
    /// topics when `kafka.create_topics` is set, and checks their partition counts.
    pub async fn connect(kafka: &KafkaConfig, topics: &TopicsConfig) -> Result<Self, TopicError> {
        let specs = topics::specs(topics);
        let (bootstrap, embedded) = if kafka.embedded() {
            let broker = EmbeddedBroker::start(kafka.embedded_brokers)?;
            topics::create_embedded(&broker, &specs)?;
            tracing::info!(
                bootstrap = broker.bootstrap_servers(),
                topics = specs.len(),
                "embedded broker started"
            );
            (broker.bootstrap_servers().to_string(), Some(broker))
        } else {
            if kafka.create_topics {
                topics::create_with_admin(kafka, &kafka.brokers, &specs).await?;
            }
            (kafka.brokers.clone(), None)
        };
        let cluster = Cluster {
            bootstrap,
            embedded,
            specs,
        };
        let (kafka, bootstrap, specs) = (
            kafka.clone(),
            cluster.bootstrap.clone(),
            cluster.specs.clone(),
        );
        tokio::task::spawn_blocking(move || {
            topics::verify(&kafka, &bootstrap, &specs, METADATA_TIMEOUT)
        })
        .await
        .map_err(TopicError::MetadataCheck)??;
        Ok(cluster)
    }

    /// The embedded broker, when the cluster is embedded.
    pub fn embedded(&self) -> Option<&EmbeddedBroker> {
        self.embedded.as_ref()
    }

    /// `bootstrap.servers` for clients.
    pub fn bootstrap(&self) -> &str {
        &self.bootstrap
    }

    /// The broker runs inside this process.
    pub fn is_embedded(&self) -> bool {
        self.embedded.is_some()
    }

    /// The topics of the configuration.
    pub fn specs(&self) -> &[TopicSpec] {
        &self.specs
    }

    /// Whether the cluster answers a metadata request within `timeout`. Blocking.
    pub fn probe(
        kafka: &KafkaConfig,
        bootstrap: &str,
        timeout: Duration,
    ) -> Result<usize, TopicError> {
        topics::partition_counts(kafka, bootstrap, timeout).map(|counts| counts.len())
    }
}
