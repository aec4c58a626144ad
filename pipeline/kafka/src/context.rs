//! The librdkafka client context: statistics become gauges, librdkafka's log lines become
//! `tracing` events, errors are counted, and rebalances are forwarded to the pipeline.

use crate::consumer::{ConsumerEvent, TopicPartition};
use crate::metrics::KafkaMetrics;
use rdkafka::TopicPartitionList;
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, ConsumerContext, Rebalance};
use rdkafka::error::KafkaError;
use rdkafka::producer::ProducerContext;
use rdkafka::statistics::Statistics;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Context shared by callsight's producers and consumers.
pub struct Context {
    /// `producer` or `consumer`, the `client` label of metrics.
    pub(crate) client: &'static str,
    pub(crate) metrics: Arc<KafkaMetrics>,
    /// Where a consumer forwards its rebalances, in order with its records.
    pub(crate) events: Option<mpsc::Sender<ConsumerEvent>>,
    /// A paired consumer's second topic and start offsets (see [`crate::paired`]).
    pub(crate) pairing: Option<Arc<crate::paired::Pairing>>,
}

impl ClientContext for Context {
    fn stats(&self, statistics: Statistics) {
        self.metrics
            .queued
            .with_label_values(&[self.client])
            .set(statistics.msg_cnt as i64);
        if self.client != "consumer" {
            return;
        }
        for (topic, stats) in &statistics.topics {
            for (partition, p) in &stats.partitions {
                // Partition -1 is librdkafka's internal "unassigned" queue.
                if *partition < 0 {
                    continue;
                }
                let labels = [topic.as_str(), &partition.to_string()];
                if p.consumer_lag < 0 {
                    // Unknown: the partition is not (or no longer) consumed here. Its series
                    // goes, so that a revoked partition's last lag is not counted next to its
                    // new owner's.
                    self.metrics.consumer_lag.remove_label_values(&labels).ok();
                } else {
                    self.metrics
                        .consumer_lag
                        .with_label_values(&labels)
                        .set(p.consumer_lag);
                }
            }
        }
    }

    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        match level {
            RDKafkaLogLevel::Emerg
            | RDKafkaLogLevel::Alert
            | RDKafkaLogLevel::Critical
            | RDKafkaLogLevel::Error => {
                tracing::error!(client = self.client, facility, "librdkafka: {message}")
            }
            RDKafkaLogLevel::Warning => {
                tracing::warn!(client = self.client, facility, "librdkafka: {message}")
            }
            RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
                tracing::info!(client = self.client, facility, "librdkafka: {message}")
            }
            RDKafkaLogLevel::Debug => {
                tracing::debug!(client = self.client, facility, "librdkafka: {message}")
            }
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        self.metrics
            .client_errors
            .with_label_values(&[self.client, &crate::metrics::error_label(&error)])
            .inc();
        tracing::warn!(client = self.client, error = %error, reason, "Kafka client error");
    }
}

impl ProducerContext for Context {
    type DeliveryOpaque = ();
    fn delivery(
        &self,
        _result: &rdkafka::message::DeliveryResult<'_>,
        _opaque: Self::DeliveryOpaque,
    ) {
    }
}

fn partitions(list: &TopicPartitionList) -> Vec<TopicPartition> {
    list.elements()
        .iter()
        .map(|e| TopicPartition {
            topic: e.topic().to_string(),
            partition: e.partition(),
        })
        .collect()
}

impl Context {
    fn forward(&self, event: ConsumerEvent) {
        let Some(events) = &self.events else { return };
        if tokio::runtime::Handle::try_current().is_err() {
            // The consumer's own thread, inside poll: waiting for room keeps the order.
            let _ = events.blocking_send(event);
        } else if events.try_send(event).is_err() {
            // Only the final close runs on an async thread; nobody reads the events then.
            tracing::debug!("rebalance event after the consumer stopped, not forwarded");
        }
    }
}

impl ConsumerContext for Context {
    fn rebalance(
        &self,
        consumer: &BaseConsumer<Self>,
        err: rdkafka::types::RDKafkaRespErr,
        tpl: &mut TopicPartitionList,
    ) {
        use rdkafka::consumer::{Consumer as _, RebalanceProtocol};
        use rdkafka::types::RDKafkaRespErr as E;
        let cooperative = matches!(
            consumer.rebalance_protocol(),
            RebalanceProtocol::Cooperative
        );
        let assign = err == E::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS;
        if !assign && err != E::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS {
            let e = KafkaError::Rebalance(err.into());
            self.post_rebalance(consumer, &Rebalance::Error(e));
            return;
        }
        if let Some(pairing) = &self.pairing {
            pairing.extend(consumer, tpl, assign);
        }
        if assign {
            self.pre_rebalance(consumer, &Rebalance::Assign(tpl));
            let result = if cooperative {
                consumer.incremental_assign(tpl)
            } else {
                consumer.assign(tpl)
            };
            if let Err(e) = result {
                tracing::error!(error = %e, "cannot take the assigned partitions");
            }
            self.post_rebalance(consumer, &Rebalance::Assign(tpl));
        } else {
            self.pre_rebalance(consumer, &Rebalance::Revoke(tpl));
            let result = if cooperative {
                consumer.incremental_unassign(tpl)
            } else {
                consumer.unassign()
            };
            if let Err(e) = result {
                tracing::error!(error = %e, "cannot give up the revoked partitions");
            }
            self.post_rebalance(consumer, &Rebalance::Revoke(tpl));
        }
    }

    fn pre_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(list) = rebalance {
            self.metrics.rebalances.with_label_values(&["revoke"]).inc();
            let revoked = partitions(list);
            tracing::info!(partitions = ?revoked, "partitions revoked");
            self.forward(ConsumerEvent::Revoked(revoked));
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(list) => {
                self.metrics.rebalances.with_label_values(&["assign"]).inc();
                let assigned = partitions(list);
                tracing::info!(partitions = ?assigned, "partitions assigned");
                self.forward(ConsumerEvent::Assigned(assigned));
            }
            Rebalance::Revoke(_) => {}
            Rebalance::Error(e) => {
                self.metrics.rebalances.with_label_values(&["error"]).inc();
                tracing::warn!(error = %e, "rebalance failed");
            }
        }
    }

    fn commit_callback(
        &self,
        result: rdkafka::error::KafkaResult<()>,
        offsets: &TopicPartitionList,
    ) {
        match result {
            Ok(()) => tracing::debug!(offsets = offsets.count(), "offsets committed"),
            // Nothing to commit is not a failure.
            Err(KafkaError::ConsumerCommit(rdkafka::types::RDKafkaErrorCode::NoOffset)) => {}
            Err(e) => tracing::warn!(error = %e, "offset commit failed"),
        }
    }
}
