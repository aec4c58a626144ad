//! The process role: Kafka in, state in RocksDB, verdicts and alerts out.
//!
//! - At start, `calls.legs` and `net.telemetry` must have the same partition count (they are
//!   co-partitioned by `org|site`); otherwise the role refuses to start.
//! - One consumer joins group `<kafka.group_id>-process` on `net.telemetry` with cooperative
//!   rebalancing; with each partition `p` it is given, it takes `calls.legs` partition `p` too
//!   (`callsight_kafka::paired`).
//! - Where an assigned partition starts is decided from the local state and the committed
//!   offsets. If the local RocksDB has applied everything committed, it continues after what it
//!   applied and publishes its outbox. Otherwise it replays: from after what the local state
//!   applied, or, without local state, from `retention + allowed_lateness` ago (by timestamp);
//!   records up to the committed offsets rebuild the state without publishing again what was
//!   published (`partition::Committed`). `/readyz` is false until every owned partition is
//!   restored. A revoked partition's state is dropped: its windows would no longer expire here.
//! - Records are taken in batches; each partition's batch is applied in one pass, its outputs
//!   written to the outbox with the state, then produced; once the broker acknowledged them they
//!   leave the outbox and the batch's offsets are stored for commit. A crash therefore loses no
//!   output and changes no verdict: what was not committed is taken again, and everything it
//!   writes is an idempotent upsert under a deterministic key.

use crate::config::ProcessorConfig;
use crate::metrics::ProcessorMetrics;
use crate::partition::Settings;
use crate::restore::plan_starts;
use crate::run::{Plans, Run};
use crate::runner::process;
use callsight_core::metrics::MetricError;
use callsight_inventory::Inventory;
use callsight_kafka::context::Context;
use callsight_kafka::paired;
use callsight_kafka::topics::TopicError;
use callsight_kafka::transactions::{TransactionalProducer, TxnError};
use callsight_kafka::{KafkaError, Services};
use callsight_model::types::InventoryRecord;
use callsight_rca::{ClassificationConfig, RcaConfig};
use callsight_state::{StateError, Store, StoreOptions};
use rdkafka::consumer::BaseConsumer;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// Something the role cannot start with.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The topics are not co-partitioned.
    #[error(
        "{legs} has {legs_partitions} partitions and {telemetry} has {telemetry_partitions}: the processor joins them partition by partition, so they must be equal (set topics.legs.partitions and topics.telemetry.partitions alike and recreate the topics)"
    )]
    NotCoPartitioned {
        /// Legs topic.
        legs: String,
        /// Its partitions.
        legs_partitions: i32,
        /// Telemetry topic.
        telemetry: String,
        /// Its partitions.
        telemetry_partitions: i32,
    },
    /// The topics' partition counts could not be read.
    #[error("cannot read the topics' partition counts")]
    PartitionCounts(#[source] TopicError),
    /// The look-up of the partition counts did not finish.
    #[error("reading the topics' partition counts did not finish")]
    Join(#[from] tokio::task::JoinError),
    /// The processor's metric families could not be registered.
    #[error("registering the processor's metrics")]
    Metrics(#[from] MetricError),
    /// The state directory cannot be created.
    #[error("processor.state_dir {path}")]
    StateDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The state store does not open.
    #[error("opening the state store")]
    Store(#[source] StateError),
    /// The Kafka producer could not be created.
    #[error("creating the Kafka producer")]
    Producer(#[source] KafkaError),
    /// The transactional producer could not be created.
    #[error("creating the Kafka transactional producer")]
    TransactionalProducer(#[source] KafkaError),
    /// The transactional producer could not be initialised (fenced, or no transactions).
    #[error("processor.transactional_id {id}")]
    Transactions {
        /// The transactional id.
        id: String,
        /// Why.
        #[source]
        source: TxnError,
    },
    /// The inventory table cannot be read.
    #[error("reading {topic}")]
    Inventory {
        /// The topic.
        topic: String,
        /// Why.
        #[source]
        source: KafkaError,
    },
}

/// Starts the process role on `services`; it runs until shutdown.
pub async fn start(
    services: &Services,
    config: &ProcessorConfig,
    classification: &ClassificationConfig,
    rca: &RcaConfig,
) -> Result<(), StartError> {
    let topics = &services.topics;
    let (kafka, bootstrap) = (services.kafka.clone(), services.bootstrap.clone());
    let names = (topics.legs.name.clone(), topics.telemetry.name.clone());
    let counts = tokio::task::spawn_blocking(move || {
        callsight_kafka::topics::partition_counts(&kafka, &bootstrap, Duration::from_secs(15))
    })
    .await?
    .map_err(StartError::PartitionCounts)?;
    let legs_partitions = counts.get(&names.0).copied().unwrap_or(0);
    let telemetry_partitions = counts.get(&names.1).copied().unwrap_or(0);
    if legs_partitions != telemetry_partitions || legs_partitions == 0 {
        return Err(StartError::NotCoPartitioned {
            legs: names.0,
            legs_partitions,
            telemetry: names.1,
            telemetry_partitions,
        });
    }

    let processor_metrics = ProcessorMetrics::register(&services.metrics)?;
    std::fs::create_dir_all(&config.state_dir).map_err(|source| StartError::StateDir {
        path: config.state_dir.clone(),
        source,
    })?;
    let store = Arc::new(
        Store::open(
            &config.state_dir,
            &StoreOptions {
                block_cache_bytes: config.block_cache_bytes,
                write_buffer_bytes: config.write_buffer_bytes,
            },
        )
        .map_err(StartError::Store)?,
    );
    let codec = services.codec.clone();
    let producer = services.producer().map_err(StartError::Producer)?;
    let transactions = match &config.transactional_id {
        Some(id) => {
            let txn = TransactionalProducer::new(
                &services.kafka,
                &services.bootstrap,
                id,
                services.kafka_metrics.clone(),
            )
            .map_err(StartError::TransactionalProducer)?;
            txn.init()
                .await
                .map_err(|source| StartError::Transactions {
                    id: id.clone(),
                    source,
                })?;
            Some(txn)
        }
        None => None,
    };
    let readiness = &services.readiness;
    readiness.register("processor", "loading the inventory");

    // The inventory, read whole.
    let inventory = Arc::new(RwLock::new(Inventory::new()));
    let (table, events) =
        services
            .table(&topics.inventory.name)
            .map_err(|source| StartError::Inventory {
                topic: topics.inventory.name.clone(),
                source,
            })?;
    let (ready_tx, mut inventory_ready) = tokio::sync::watch::channel(false);
    let follower = tokio::spawn(callsight_kafka::table::follow::<InventoryRecord>(
        codec.clone(),
        events,
        ready_tx,
        {
            let inventory = inventory.clone();
            move |key: &[u8], record: Option<InventoryRecord>| {
                inventory
                    .write()
                    .unwrap_or_else(|p| p.into_inner())
                    .apply_keyed(key, record);
            }
        },
    ));

    let plans: Plans = Arc::default();
    let run = Run {
        store: store.clone(),
        settings: Settings::new(config, classification, rca),
        inventory,
        codec,
        producer: producer.clone(),
        dead_letters: services.dead_letters(producer),
        legs_topic: topics.legs.name.clone(),
        telemetry_topic: topics.telemetry.name.clone(),
        verdicts_topic: topics.verdicts.name.clone(),
        alerts_topic: topics.alerts.name.clone(),
        metrics: processor_metrics,
        readiness: readiness.clone(),
        plans: plans.clone(),
        batch_records: config.batch_records,
        apply_threads: config.apply_threads(),
        transactions,
        shutdown: services.shutdown.clone(),
        given_partitions: std::sync::atomic::AtomicBool::new(false),
    };
    let look_back = config.retention + config.allowed_lateness;
    let (kafka, bootstrap, kafka_metrics, token, tick) = (
        services.kafka.clone(),
        services.bootstrap.clone(),
        services.kafka_metrics.clone(),
        services.shutdown.token.clone(),
        config.tick_interval,
    );
    let shutdown = services.shutdown.clone();
    services.shutdown.spawn_watched("processor", async move {
        tokio::select! {
            _ = token.cancelled() => {}
            _ = async { inventory_ready.wait_for(|r| *r).await.map(|_| ()) } => {
                let start_store = run.store.clone();
                let topics = (run.legs_topic.clone(), run.telemetry_topic.clone());
                let start = Box::new(move |consumer: &BaseConsumer<Context>, partitions: &[i32]| {
                    plan_starts(consumer, partitions, &start_store, (&topics.0, &topics.1), look_back, &plans)
                });
                match paired::start(
                    &kafka,
                    &bootstrap,
                    &format!("{}-process", kafka.group_id),
                    &run.telemetry_topic,
                    &run.legs_topic,
                    start,
                    kafka_metrics,
                ) {
                    Ok((handle, events)) => {
                        run.readiness.set(
                            "processor",
                            false,
                            "waiting for the first partition assignment",
                        );
                        process(run, handle, events, tick, token).await;
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "the processor cannot consume; the process stops");
                        shutdown.fail();
                    }
                }
            }
        }
        follower.abort();
        let _ = tokio::task::spawn_blocking(move || drop(table)).await;
    });
    Ok(())
}
