//! callsight's Kafka plumbing, on rdkafka (librdkafka).
//!
//! Layout:
//! - [`config`]: the `[kafka]` and `[topics]` sections of the configuration.
//! - [`services`]: what every role of a process is started with (cluster, codec, metrics,
//!   readiness, shutdown).
//! - [`client_config`]: librdkafka settings for every client, the producer and the consumer.
//! - [`context`]: statistics to gauges, librdkafka logs to `tracing`, rebalance forwarding.
//! - [`producer`]: the idempotent, acknowledged producer.
//! - [`transactions`]: the transactional producer of a consume-process-produce loop.
//! - [`consumer`]: a `BaseConsumer` on its own thread feeding a bounded channel, with explicit
//!   offset storage.
//! - [`paired`]: a group consumer of one topic that takes the same partitions of a second
//!   (co-partitioned topics with cooperative rebalancing).
//! - [`table`]: reading a compacted topic whole in every replica (links, inventory).
//! - [`topics`]: topic specs, creation (admin API or embedded) and verification.
//! - [`embedded`]: the embedded broker (librdkafka's mock cluster).
//! - [`dead_letter`]: dead-letter topics.
//! - [`metrics`]: Kafka metric families.
//! - [`cluster`]: connecting to the configured cluster, or starting the embedded one.

pub mod client_config;
pub mod cluster;
pub mod config;
pub mod consumer;
pub mod context;
pub mod dead_letter;
pub mod embedded;
pub mod metrics;
pub mod paired;
pub mod producer;
pub mod services;
pub mod table;
pub mod topics;
pub mod transactions;

pub use consumer::{ConsumedRecord, ConsumerEvent, ConsumerHandle, TopicPartition};
pub use metrics::KafkaMetrics;
pub use producer::Producer;
pub use rdkafka::error::KafkaError;
pub use services::{Services, ServicesError};
