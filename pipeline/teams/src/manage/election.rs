//! Which replica manages links and subscriptions: Kafka decides.
//!
//! Every fetch replica joins the consumer group `<kafka.group_id>-manager` on the control topic,
//! which has exactly one partition. The group coordinator assigns that partition to one member
//! at a time; that member is the manager. It reads the control topic (the instructions of the
//! ingest replicas), applies each in order, stores its offset once applied, and checks every
//! link each `graph.manage_interval`. When it leaves or stops heartbeating, the coordinator
//! gives the partition to another member, which resumes from the committed offset. There is no
//! other lock, lease or store.
//!
//! During a handover both members may briefly act; the operations tolerate it: Graph answers a
//! second subscription for the same resource with 409, which the manager resolves by adopting
//! the existing one, renewals are idempotent, and link writes carry increasing `updated_at`.

use crate::Connector;
use crate::manage::manager::Manager;
use callsight_kafka::KafkaMetrics;
use callsight_kafka::config::KafkaConfig;
use callsight_kafka::consumer::{self, ConsumerEvent};
use callsight_kafka::dead_letter::DeadLetters;
use callsight_model::types::ControlMessage;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// The consumer group whose owner of the control partition manages.
pub fn group(kafka: &KafkaConfig) -> String {
    format!("{}-manager", kafka.group_id)
}

/// Takes part in the election until `token` is cancelled, managing while elected.
pub async fn run(
    connector: Arc<Connector>,
    manager: Manager,
    kafka: KafkaConfig,
    bootstrap: String,
    kafka_metrics: Arc<KafkaMetrics>,
    token: CancellationToken,
) {
    let topic = connector.topics.control.name.clone();
    let (handle, mut events) = match consumer::start(
        &kafka,
        &bootstrap,
        &group(&kafka),
        &[&topic],
        kafka_metrics.clone(),
    ) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "cannot join the subscription manager's group");
            return;
        }
    };
    let dead_letters = DeadLetters::new(
        connector.producer.clone(),
        connector.codec.clone(),
        &connector.topics.dead_letter_suffix,
        kafka_metrics,
    );
    let metrics = connector.metrics.clone();
    let mut leader = false;
    let mut ticks = tokio::time::interval(connector.graph.manage_interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = token.cancelled() => break,
            _ = ticks.tick(), if leader => manager.check().await,
            event = events.recv() => match event {
                None => break,
                Some(ConsumerEvent::Assigned(partitions)) => {
                    if partitions.iter().any(|p| p.topic == topic && p.partition == 0) {
                        tracing::info!("this replica now manages tenant links and subscriptions");
                        // Act only on a complete link table.
                        connector.links.ready().await;
                        leader = true;
                        metrics.leader.set(1);
                        manager.check().await;
                    }
                }
                Some(ConsumerEvent::Revoked(partitions)) => {
                    if partitions.iter().any(|p| p.topic == topic && p.partition == 0) {
                        tracing::info!("this replica no longer manages subscriptions");
                        leader = false;
                        metrics.leader.set(0);
                    }
                }
                Some(ConsumerEvent::Record(record)) => {
                    let bytes = record.payload.clone().unwrap_or_default();
                    match connector.codec.decode::<ControlMessage>(&bytes).await {
                        Ok(message) => {
                            // "error" is a write Kafka did not take: apply it again, in order,
                            // rather than lose it.
                            let mut pause = std::time::Duration::from_secs(1);
                            while manager.handle(&message).await == "error" {
                                tokio::select! {
                                    _ = token.cancelled() => break,
                                    _ = tokio::time::sleep(pause) => {}
                                }
                                pause = (pause * 2).min(std::time::Duration::from_secs(60));
                            }
                            if token.is_cancelled() {
                                break;
                            }
                        }
                        Err(e) => {
                            if dead_letters
                                .undecodable(&record, "manager", &e, callsight_model::clock::now_ms())
                                .await
                                .is_err()
                            {
                                // Not stored: it is read again after a restart.
                                continue;
                            }
                        }
                    }
                    if let Err(e) = handle.store(&record.topic, record.partition, record.offset) {
                        tracing::warn!(error = %e, "cannot store the control offset");
                    }
                }
            }
        }
    }
    metrics.leader.set(0);
    let _ = tokio::task::spawn_blocking(move || handle.stop()).await;
}
