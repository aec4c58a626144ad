//! The topics callsight needs: their names, partition counts and cleanup policies, created on
//! a real cluster through the admin API or on the embedded broker directly.

use crate::config::{KafkaConfig, TopicsConfig};
use crate::embedded::EmbeddedBroker;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;
use std::collections::BTreeMap;
use std::time::Duration;

/// One topic to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSpec {
    /// Name.
    pub name: String,
    /// Partitions.
    pub partitions: i32,
    /// `cleanup.policy=compact` (latest record per key kept) instead of `delete`.
    pub compacted: bool,
    /// `retention.ms` for non-compacted topics; `None` keeps the broker's default.
    pub retention: Option<Duration>,
}

/// Every topic of the configuration: those of the data flow and the control topic, then a
/// dead-letter topic for each topic callsight consumes.
pub fn specs(topics: &TopicsConfig) -> Vec<TopicSpec> {
    let compacted = [
        &topics.inventory.name,
        &topics.links.name,
        &topics.verdicts.name,
    ];
    let mut specs: Vec<TopicSpec> = topics
        .all()
        .into_iter()
        .map(|(_, t)| TopicSpec {
            name: t.name.clone(),
            partitions: t.partitions,
            compacted: compacted.contains(&&t.name),
            retention: t.retention,
        })
        .collect();
    for input in [
        &topics.notifications,
        &topics.legs,
        &topics.telemetry,
        &topics.inventory,
        &topics.links,
        &topics.control,
    ] {
        specs.push(TopicSpec {
            name: topics.dead_letter_topic(&input.name),
            partitions: topics.dead_letter_partitions,
            compacted: false,
            retention: Some(topics.dead_letter_retention),
        });
    }
    specs
}

/// Topics could not be created or checked.
#[derive(Debug, thiserror::Error)]
pub enum TopicError {
    /// The admin API or metadata request failed.
    #[error(transparent)]
    Kafka(#[from] KafkaError),
    /// Creating a topic failed.
    #[error("creating topic {topic}: {reason}")]
    Create {
        /// Topic.
        topic: String,
        /// Why.
        reason: String,
    },
    /// A topic exists with another partition count than configured.
    #[error(
        "topic {topic} has {actual} partitions but the configuration says {expected}; change topics.*.partitions or repartition the topic"
    )]
    PartitionMismatch {
        /// Topic.
        topic: String,
        /// Configured.
        expected: i32,
        /// Found.
        actual: i32,
    },
    /// The embedded broker refused.
    #[error(transparent)]
    Embedded(#[from] crate::embedded::EmbeddedError),
    /// The broker did not answer the admin API's CreateTopics (a broker without one, as the
    /// embedded broker of `callsight broker` is, or one that refuses it).
    #[error(
        "the broker did not create topic {topic} ({reason}): it may have no admin API, as `callsight broker` has not; create the topics and set kafka.create_topics = false"
    )]
    NoAdmin {
        /// The first missing topic.
        topic: String,
        /// What the admin request gave.
        reason: String,
    },
    /// The check of the topics' metadata did not finish.
    #[error("the check of the topics' metadata did not finish")]
    MetadataCheck(#[source] tokio::task::JoinError),
}

/// Creates the topics on the embedded broker.
pub fn create_embedded(broker: &EmbeddedBroker, specs: &[TopicSpec]) -> Result<(), TopicError> {
    for spec in specs {
        broker.create_topic(&spec.name, spec.partitions)?;
    }
    Ok(())
}

/// How long the admin API may take to answer CreateTopics.
const ADMIN_TIMEOUT: Duration = Duration::from_secs(15);

/// Creates missing topics through the admin API; existing ones are left as they are, and when
/// none is missing the admin API is not asked at all (a broker without one, such as
/// `callsight broker`'s, then serves). A broker that does not answer CreateTopics within
/// [`ADMIN_TIMEOUT`] is [`TopicError::NoAdmin`].
pub async fn create_with_admin(
    kafka: &KafkaConfig,
    bootstrap: &str,
    specs: &[TopicSpec],
) -> Result<(), TopicError> {
    let existing = {
        let (kafka, bootstrap) = (kafka.clone(), bootstrap.to_string());
        tokio::task::spawn_blocking(move || partition_counts(&kafka, &bootstrap, ADMIN_TIMEOUT))
            .await
            .map_err(TopicError::MetadataCheck)??
    };
    let specs: Vec<&TopicSpec> = specs
        .iter()
        .filter(|s| !existing.contains_key(&s.name))
        .collect();
    let Some(first) = specs.first() else {
        return Ok(());
    };
    let admin: AdminClient<DefaultClientContext> =
        crate::client_config::common(kafka, bootstrap).create()?;
    let configs: Vec<Vec<(&str, String)>> = specs
        .iter()
        .map(|s| {
            let mut c = vec![(
                "cleanup.policy",
                if s.compacted { "compact" } else { "delete" }.to_string(),
            )];
            if let (false, Some(retention)) = (s.compacted, s.retention) {
                c.push(("retention.ms", retention.as_millis().to_string()));
            }
            c
        })
        .collect();
    let new_topics: Vec<NewTopic<'_>> = specs
        .iter()
        .zip(&configs)
        .map(|(s, c)| {
            c.iter().fold(
                NewTopic::new(
                    &s.name,
                    s.partitions,
                    TopicReplication::Fixed(i32::from(kafka.replication_factor)),
                ),
                |topic, (k, v)| topic.set(k, v),
            )
        })
        .collect();
    let options = AdminOptions::new()
        .operation_timeout(Some(ADMIN_TIMEOUT))
        .request_timeout(Some(ADMIN_TIMEOUT));
    let results = match admin.create_topics(&new_topics, &options).await {
        Ok(results) => results,
        Err(e) => {
            return Err(TopicError::NoAdmin {
                topic: first.name.clone(),
                reason: e.to_string(),
            });
        }
    };
    for result in results {
        match result {
            Ok(name) => tracing::info!(topic = %name, "topic created"),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => {
                return Err(TopicError::Create {
                    topic,
                    reason: format!("{code:?}"),
                });
            }
        }
    }
    Ok(())
}

/// Partition counts of the topics that exist, from the cluster's metadata. Blocking.
pub fn partition_counts(
    kafka: &KafkaConfig,
    bootstrap: &str,
    timeout: Duration,
) -> Result<BTreeMap<String, i32>, TopicError> {
    let client: BaseConsumer = crate::client_config::common(kafka, bootstrap).create()?;
    let metadata = client.fetch_metadata(None, timeout)?;
    Ok(metadata
        .topics()
        .iter()
        .filter(|t| t.error().is_none())
        .map(|t| (t.name().to_string(), t.partitions().len() as i32))
        .collect())
}

/// Checks that every topic in `specs` exists with its configured partition count. Blocking.
pub fn verify(
    kafka: &KafkaConfig,
    bootstrap: &str,
    specs: &[TopicSpec],
    timeout: Duration,
) -> Result<(), TopicError> {
    let counts = partition_counts(kafka, bootstrap, timeout)?;
    for spec in specs {
        match counts.get(&spec.name) {
            None => {
                return Err(TopicError::Create {
                    topic: spec.name.clone(),
                    reason: "it does not exist (set kafka.create_topics = true, or create it)"
                        .into(),
                });
            }
            Some(&actual) if actual != spec.partitions => {
                return Err(TopicError::PartitionMismatch {
                    topic: spec.name.clone(),
                    expected: spec.partitions,
                    actual,
                });
            }
            Some(_) => {}
        }
    }
    Ok(())
}
