//! Kafka metrics, registered once per process in the shared registry.

use callsight_core::metrics::{MetricError, Metrics};
use prometheus::{HistogramVec, IntCounterVec, IntGaugeVec};
use rdkafka::error::KafkaError;

/// The `error` label of an rdkafka error: librdkafka's error code name (a closed set).
pub fn error_label(error: &KafkaError) -> String {
    error
        .rdkafka_error_code()
        .map(|code| format!("{code:?}"))
        .unwrap_or_else(|| "other".to_string())
}

/// Every Kafka metric family.
#[derive(Debug, Clone)]
pub struct KafkaMetrics {
    /// `callsight_kafka_records_produced_total{topic}`: records the brokers acknowledged.
    pub produced: IntCounterVec,
    /// `callsight_kafka_produce_errors_total{topic, error}`: records that could not be delivered.
    pub produce_errors: IntCounterVec,
    /// `callsight_kafka_delivery_seconds{topic}`: time from send to acknowledgement.
    pub delivery_seconds: HistogramVec,
    /// `callsight_kafka_records_consumed_total{topic}`: records handed to the pipeline.
    pub consumed: IntCounterVec,
    /// `callsight_kafka_consumer_lag_records{topic, partition}`: records behind the high
    /// watermark, from librdkafka's statistics.
    pub consumer_lag: IntGaugeVec,
    /// `callsight_kafka_queued_records{client}`: records waiting in the client's queues.
    pub queued: IntGaugeVec,
    /// `callsight_kafka_rebalances_total{event}`: partition assignments and revocations.
    pub rebalances: IntCounterVec,
    /// `callsight_kafka_client_errors_total{client, error}`: errors librdkafka reported.
    pub client_errors: IntCounterVec,
    /// `callsight_dead_letters_total{topic, kind}`: records sent to a dead-letter topic.
    pub dead_letters: IntCounterVec,
    /// `callsight_dead_letter_failures_total{topic}`: dead letters that could not be written
    /// either (the input offset is then not committed).
    pub dead_letter_failures: IntCounterVec,
}

impl KafkaMetrics {
    /// Registers the families in `metrics`.
    pub fn register(metrics: &Metrics) -> Result<Self, MetricError> {
        let rebalances = metrics.counter_vec(
            "callsight_kafka_rebalances_total",
            "Partition assignments and revocations seen by the consumer.",
            &["event"],
        )?;
        for event in ["assign", "revoke", "error"] {
            rebalances.with_label_values(&[event]);
        }
        Ok(KafkaMetrics {
            produced: metrics.counter_vec(
                "callsight_kafka_records_produced_total",
                "Records the brokers acknowledged.",
                &["topic"],
            )?,
            produce_errors: metrics.counter_vec(
                "callsight_kafka_produce_errors_total",
                "Records that could not be delivered.",
                &["topic", "error"],
            )?,
            delivery_seconds: metrics.histogram_vec(
                "callsight_kafka_delivery_seconds",
                "Time from handing a record to the producer to its acknowledgement.",
                &["topic"],
                vec![
                    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                ],
            )?,
            consumed: metrics.counter_vec(
                "callsight_kafka_records_consumed_total",
                "Records consumed and handed to the pipeline.",
                &["topic"],
            )?,
            consumer_lag: metrics.gauge_vec(
                "callsight_kafka_consumer_lag_records",
                "Records between the consumer's position and the partition's high watermark.",
                &["topic", "partition"],
            )?,
            queued: metrics.gauge_vec(
                "callsight_kafka_queued_records",
                "Records waiting in a client's queues (produce queue for producers).",
                &["client"],
            )?,
            rebalances,
            client_errors: metrics.counter_vec(
                "callsight_kafka_client_errors_total",
                "Errors reported by librdkafka.",
                &["client", "error"],
            )?,
            dead_letters: metrics.counter_vec(
                "callsight_dead_letters_total",
                "Records kept in a dead-letter topic instead of being processed.",
                &["topic", "kind"],
            )?,
            dead_letter_failures: metrics.counter_vec(
                "callsight_dead_letter_failures_total",
                "Dead letters that could not be written; the input is retried, not skipped.",
                &["topic"],
            )?,
        })
    }
}
