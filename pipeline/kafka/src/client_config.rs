//! librdkafka settings shared by callsight's clients, and the ones specific to each.

use crate::config::KafkaConfig;
use rdkafka::ClientConfig;

/// Settings every client gets: brokers, client id, statistics, and the operator's pass-through
/// properties (applied last, so they win).
pub fn common(kafka: &KafkaConfig, bootstrap: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("client.id", &kafka.client_id)
        .set(
            "statistics.interval.ms",
            kafka.statistics_interval.as_millis().to_string(),
        );
    for (key, value) in kafka.librdkafka_properties() {
        config.set(key, value);
    }
    config
}

/// An idempotent producer; `murmur2_random` partitions keys like the Java client, so that
/// other producers (Kafka Connect, vendor exporters) land records on the same partitions.
pub fn producer(kafka: &KafkaConfig, bootstrap: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("partitioner", "murmur2_random")
        .set("linger.ms", kafka.linger.as_millis().to_string())
        .set("batch.size", kafka.batch_bytes.to_string())
        .set("compression.codec", kafka.compression.as_librdkafka())
        .set(
            "delivery.timeout.ms",
            kafka.delivery_timeout.as_millis().to_string(),
        );
    merge(config, common(kafka, bootstrap))
}

/// A group consumer with explicit offset storage: an offset is stored only after the work it
/// caused is done, and only stored offsets are committed.
pub fn consumer(kafka: &KafkaConfig, bootstrap: &str, group_id: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("group.id", group_id)
        .set("enable.auto.commit", "true")
        .set("auto.commit.interval.ms", "1000")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("partition.assignment.strategy", "cooperative-sticky")
        // librdkafka postpones a partition's next fetch by this much once its local queue is
        // full; its default (1 s) is longer than a fast consumer takes to empty that queue, so
        // the consumer would stall for most of every second.
        .set("fetch.queue.backoff.ms", "10")
        .set(
            "session.timeout.ms",
            kafka.session_timeout.as_millis().to_string(),
        )
        .set(
            "heartbeat.interval.ms",
            (kafka.session_timeout.as_millis() / 4).max(100).to_string(),
        );
    merge(config, common(kafka, bootstrap))
}

fn merge(mut base: ClientConfig, overrides: ClientConfig) -> ClientConfig {
    for (key, value) in overrides.config_map() {
        base.set(key, value);
    }
    base
}
