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

use crate::batch;
use crate::metrics::ProcessorMetrics;
use crate::partition::{Committed, Meta, Outgoing, Output, Partition, Settings};

use callsight_core::Config;
use callsight_core::codec::Codec;
use callsight_core::metrics::Metrics;
use callsight_core::readiness::Readiness;
use callsight_core::shutdown::Shutdown;
use callsight_inventory::Inventory;
use callsight_kafka::consumer::{ConsumedRecord, ConsumerEvent, ConsumerHandle};
use callsight_kafka::context::Context;
use callsight_kafka::dead_letter::DeadLetters;
use callsight_kafka::paired::{self, Start};
use callsight_kafka::transactions::{NextOffset, TransactionalProducer, TxnError, TxnRecord};
use callsight_kafka::{KafkaMetrics, Producer};
use callsight_model::codec::CodecError;
use callsight_model::types::InventoryRecord;
use callsight_state::{Store, StoreOptions, Table};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

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
    /// Anything else.
    #[error("{0}")]
    Setup(String),
}

/// How an assigned partition starts (decided in the rebalance).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Plan {
    /// Replaying up to these committed offsets; `None`: live at once.
    restore: Option<Committed>,
    /// Publish what the outbox holds (the local state is the latest), or forget it.
    keep_outbox: bool,
    /// Where each topic starts, to know when a restore is done.
    starts: (i64, i64),
}

type Plans = Arc<Mutex<HashMap<i32, Plan>>>;

fn offset_value(offset: Offset) -> Option<i64> {
    match offset {
        Offset::Offset(n) if n >= 0 => Some(n),
        _ => None,
    }
}

/// Decides where assigned partitions start (runs inside the rebalance, on the consumer thread).
fn plan_starts(
    consumer: &BaseConsumer<Context>,
    partitions: &[i32],
    store: &Store,
    topics: (&str, &str),
    look_back: Duration,
    plans: &Plans,
) -> Vec<Start> {
    let (legs_topic, telemetry_topic) = topics;
    let timeout = Duration::from_secs(10);
    let mut wanted = TopicPartitionList::new();
    for p in partitions {
        wanted.add_partition(legs_topic, *p);
        wanted.add_partition(telemetry_topic, *p);
    }
    let committed = consumer
        .committed_offsets(wanted, timeout)
        .map(|tpl| {
            tpl.elements()
                .iter()
                .map(|e| {
                    (
                        (e.topic().to_string(), e.partition()),
                        offset_value(e.offset()),
                    )
                })
                .collect::<HashMap<_, _>>()
        })
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot read committed offsets; replaying from retention");
            HashMap::new()
        });
    // Offsets at the start of retention, for partitions without usable local state.
    let since = callsight_kafka_time_ms().saturating_sub(look_back.as_millis() as i64);
    let mut by_time = TopicPartitionList::new();
    for p in partitions {
        let _ = by_time.add_partition_offset(legs_topic, *p, Offset::Offset(since));
        let _ = by_time.add_partition_offset(telemetry_topic, *p, Offset::Offset(since));
    }
    let retention_start: HashMap<(String, i32), Offset> = consumer
        .offsets_for_times(by_time, timeout)
        .map(|tpl| {
            tpl.elements()
                .iter()
                .map(|e| ((e.topic().to_string(), e.partition()), e.offset()))
                .collect()
        })
        .unwrap_or_default();

    let mut plans = plans.lock().unwrap_or_else(|p| p.into_inner());
    partitions
        .iter()
        .map(|&p| {
            let id = p as u32;
            let meta: Option<Meta> = store
                .get(Table::Meta, id, b"meta")
                .ok()
                .flatten()
                .and_then(|b| serde_json::from_slice(&b).ok());
            let c_legs = committed
                .get(&(legs_topic.to_string(), p))
                .copied()
                .flatten();
            let c_tel = committed
                .get(&(telemetry_topic.to_string(), p))
                .copied()
                .flatten();
            // A broker that cannot look offsets up by time (the embedded one answers "end")
            // makes the replay start at the beginning: what is older than retention expires.
            let retention = |topic: &str| match retention_start.get(&(topic.to_string(), p)) {
                Some(Offset::Offset(n)) if *n >= 0 => Offset::Offset(*n),
                _ => Offset::Beginning,
            };
            let (plan, start) = match (meta, c_legs.or(c_tel)) {
                // Never committed: a new group; everything from the beginning, live.
                (_, None) => (
                    Plan {
                        restore: None,
                        keep_outbox: true,
                        starts: (0, 0),
                    },
                    Start {
                        driver: Offset::Beginning,
                        follower: Offset::Beginning,
                    },
                ),
                (Some(meta), Some(_))
                    if meta.legs_offset + 1 >= c_legs.unwrap_or(0)
                        && meta.telemetry_offset + 1 >= c_tel.unwrap_or(0) =>
                {
                    // The local state applied everything committed: continue after it.
                    let legs = meta.legs_offset + 1;
                    let tel = meta.telemetry_offset + 1;
                    (
                        Plan {
                            restore: None,
                            keep_outbox: true,
                            starts: (legs, tel),
                        },
                        Start {
                            driver: Offset::Offset(tel),
                            follower: Offset::Offset(legs),
                        },
                    )
                }
                (meta, Some(_)) => {
                    let committed = Committed {
                        legs: c_legs.unwrap_or(0),
                        telemetry: c_tel.unwrap_or(0),
                    };
                    // Behind, or nothing local: replay (from after what is local when there is
                    // something, never from before retention).
                    let from = |applied: Option<i64>, topic: &str| -> Offset {
                        match (applied, retention(topic)) {
                            (Some(a), Offset::Offset(r)) => Offset::Offset((a + 1).max(r)),
                            (Some(a), _) => Offset::Offset(a + 1),
                            (None, r) => r,
                        }
                    };
                    let legs = from(meta.map(|m| m.legs_offset).filter(|o| *o >= 0), legs_topic);
                    let tel = from(
                        meta.map(|m| m.telemetry_offset).filter(|o| *o >= 0),
                        telemetry_topic,
                    );
                    (
                        Plan {
                            restore: Some(committed),
                            keep_outbox: false,
                            starts: (
                                offset_value(legs).unwrap_or(0),
                                offset_value(tel).unwrap_or(0),
                            ),
                        },
                        Start {
                            driver: tel,
                            follower: legs,
                        },
                    )
                }
            };
            tracing::info!(partition = p, restore = plan.restore.is_some(), start = ?start, "partition assigned");
            plans.insert(p, plan);
            start
        })
        .collect()
}

/// Wall clock for offsets-for-times (the broker's timestamps are wall clock too).
fn callsight_kafka_time_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

struct Owned {
    partition: Partition,
    /// Replaying until these (next to consume) are reached.
    restore: Option<Committed>,
    /// Next offsets to consume (legs, telemetry).
    next: (i64, i64),
    assigned_at: Instant,
}

impl Owned {
    fn restored(&self) -> bool {
        self.restore
            .is_none_or(|c| self.next.0 >= c.legs && self.next.1 >= c.telemetry)
    }
}

/// What the processing loop needs.
struct Run {
    store: Arc<Store>,
    settings: Settings,
    inventory: Arc<RwLock<Inventory>>,
    codec: Arc<Codec>,
    producer: Producer,
    dead_letters: DeadLetters,
    legs_topic: String,
    telemetry_topic: String,
    verdicts_topic: String,
    alerts_topic: String,
    metrics: ProcessorMetrics,
    readiness: Readiness,
    plans: Plans,
    batch_records: usize,
    /// Threads a batch's partitions are decoded and applied on.
    apply_threads: usize,
    /// With `processor.transactional_id`: outputs and offsets committed together.
    transactions: Option<TransactionalProducer>,
    /// To stop the process, failing, when the role cannot go on.
    shutdown: Shutdown,
    /// Whether the group has given this process partitions yet: until then it is not ready (a
    /// processor that just started has restored nothing).
    given_partitions: std::sync::atomic::AtomicBool,
}

/// Starts the process role; it runs until `shutdown.token` is cancelled.
pub async fn start(
    config: &Config,
    bootstrap: &str,
    metrics: &Metrics,
    kafka_metrics: Arc<KafkaMetrics>,
    readiness: &Readiness,
    shutdown: &Shutdown,
) -> Result<(), StartError> {
    let setup = |e: String| StartError::Setup(e);
    let topics = &config.topics;
    let (kafka, b, names) = (
        config.kafka.clone(),
        bootstrap.to_string(),
        (topics.legs.name.clone(), topics.telemetry.name.clone()),
    );
    let counts = tokio::task::spawn_blocking(move || {
        callsight_kafka::topics::partition_counts(&kafka, &b, Duration::from_secs(15))
    })
    .await
    .map_err(|e| setup(e.to_string()))?
    .map_err(|e| setup(format!("cannot read the topics' partition counts: {e}")))?;
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

    let processor_metrics =
        ProcessorMetrics::register(metrics).map_err(|e| setup(e.to_string()))?;
    std::fs::create_dir_all(&config.processor.state_dir).map_err(|e| {
        setup(format!(
            "processor.state_dir {}: {e}",
            config.processor.state_dir.display()
        ))
    })?;
    let store = Arc::new(
        Store::open(
            &config.processor.state_dir,
            &StoreOptions {
                block_cache_bytes: config.processor.block_cache_bytes,
                write_buffer_bytes: config.processor.write_buffer_bytes,
            },
        )
        .map_err(|e| setup(e.to_string()))?,
    );
    let codec = Arc::new(Codec::new(&config.codec).map_err(|e| setup(e.to_string()))?);
    let producer = Producer::new(&config.kafka, bootstrap, kafka_metrics.clone())
        .map_err(|e| setup(format!("Kafka producer: {e}")))?;
    let transactions = match &config.processor.transactional_id {
        Some(id) => {
            let txn =
                TransactionalProducer::new(&config.kafka, bootstrap, id, kafka_metrics.clone())
                    .map_err(|e| setup(format!("Kafka transactional producer: {e}")))?;
            txn.init()
                .await
                .map_err(|e| setup(format!("processor.transactional_id {id}: {e}")))?;
            Some(txn)
        }
        None => None,
    };
    readiness.register("processor", "loading the inventory");

    // The inventory, read whole.
    let inventory = Arc::new(RwLock::new(Inventory::new()));
    let (table, events) = callsight_kafka::table::start(
        &config.kafka,
        bootstrap,
        &topics.inventory.name,
        kafka_metrics.clone(),
    )
    .map_err(|e| setup(format!("reading {}: {e}", topics.inventory.name)))?;
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
        settings: Settings::from_config(config),
        inventory,
        codec: codec.clone(),
        producer: producer.clone(),
        dead_letters: DeadLetters::new(
            producer,
            codec,
            &topics.dead_letter_suffix,
            kafka_metrics.clone(),
        ),
        legs_topic: topics.legs.name.clone(),
        telemetry_topic: topics.telemetry.name.clone(),
        verdicts_topic: topics.verdicts.name.clone(),
        alerts_topic: topics.alerts.name.clone(),
        metrics: processor_metrics,
        readiness: readiness.clone(),
        plans: plans.clone(),
        batch_records: config.processor.batch_records,
        apply_threads: config.processor.apply_threads(),
        transactions,
        shutdown: shutdown.clone(),
        given_partitions: std::sync::atomic::AtomicBool::new(false),
    };
    let look_back = config.processor.retention + config.processor.allowed_lateness;
    let (kafka, bootstrap, token, tick) = (
        config.kafka.clone(),
        bootstrap.to_string(),
        shutdown.token.clone(),
        config.processor.tick_interval,
    );
    shutdown.tracker.spawn(async move {
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
                    Err(e) => tracing::error!(error = %e, "the processor cannot consume"),
                }
            }
        }
        follower.abort();
        let _ = tokio::task::spawn_blocking(move || drop(table)).await;
    });
    Ok(())
}

async fn process(
    run: Run,
    handle: ConsumerHandle,
    mut events: mpsc::Receiver<ConsumerEvent>,
    tick_every: Duration,
    token: tokio_util::sync::CancellationToken,
) {
    let mut owned: HashMap<i32, Owned> = HashMap::new();
    let mut ticks = tokio::time::interval(tick_every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut pending: Vec<ConsumerEvent> = Vec::new();
    let mut checkpointed = Instant::now();
    loop {
        tokio::select! {
            _ = token.cancelled() => break,
            _ = ticks.tick() => {
                tick(&run, &handle, &mut owned, &token).await;
                if checkpointed.elapsed() >= CHECKPOINT_EVERY {
                    checkpoint(&run).await;
                    checkpointed = Instant::now();
                }
                continue;
            }
            event = events.recv() => match event {
                None => break,
                Some(e) => pending.push(e),
            }
        }
        while pending.len() < run.batch_records {
            match events.try_recv() {
                Ok(e) => pending.push(e),
                Err(_) => break,
            }
        }
        let mut records: Vec<ConsumedRecord> = Vec::new();
        for event in std::mem::take(&mut pending) {
            let rebalance = match event {
                ConsumerEvent::Record(r) => {
                    records.push(r);
                    continue;
                }
                rebalance => rebalance,
            };
            // Records before a rebalance are applied before it.
            apply(
                &run,
                &handle,
                &mut owned,
                std::mem::take(&mut records),
                &token,
            )
            .await;
            match rebalance {
                ConsumerEvent::Record(_) => {}
                ConsumerEvent::Assigned(list) => {
                    assigned(
                        &run,
                        &handle,
                        &mut owned,
                        list.iter().map(|p| p.partition),
                        &token,
                    )
                    .await;
                }
                ConsumerEvent::Revoked(list) => {
                    for p in list.iter().map(|p| p.partition) {
                        if owned.remove(&p).is_some() {
                            run.metrics
                                .watermark
                                .remove_label_values(&[&p.to_string()])
                                .ok();
                            tracing::info!(partition = p, "partition revoked");
                            // Another process owns it now; its windows would no longer expire
                            // here (expiry follows the partition's watermark).
                            if let Err(e) = run.store.drop_partition(p as u32) {
                                tracing::warn!(partition = p, error = %e, "cannot drop a revoked partition's state");
                            }
                        }
                    }
                    report(&run, &owned);
                }
            }
        }
        apply(&run, &handle, &mut owned, records, &token).await;
    }
    let _ = tokio::task::spawn_blocking(move || handle.stop()).await;
    checkpoint(&run).await;
    run.readiness.set("processor", false, "stopped");
}

/// How often the state is written to disk (the store keeps no log: a crash replays what was
/// applied since, and expiry waits for it).
const CHECKPOINT_EVERY: Duration = Duration::from_secs(60);

async fn checkpoint(run: &Run) {
    let store = run.store.clone();
    match tokio::task::spawn_blocking(move || store.checkpoint()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "cannot write the state to disk; a crash would replay more")
        }
        Err(e) => tracing::warn!(error = %e, "the state checkpoint did not finish"),
    }
}

fn report(run: &Run, owned: &HashMap<i32, Owned>) {
    let restoring = owned.values().filter(|o| !o.restored()).count();
    run.metrics
        .partitions
        .with_label_values(&["restoring"])
        .set(restoring as i64);
    run.metrics
        .partitions
        .with_label_values(&["live"])
        .set((owned.len() - restoring) as i64);
    if !run
        .given_partitions
        .load(std::sync::atomic::Ordering::Relaxed)
    {
        run.readiness.set(
            "processor",
            false,
            "waiting for the first partition assignment",
        );
    } else if restoring == 0 {
        run.readiness.set(
            "processor",
            true,
            format!("{} partitions live", owned.len()),
        );
    } else {
        run.readiness.set(
            "processor",
            false,
            format!("restoring {restoring} partitions"),
        );
    }
    run.metrics
        .state_bytes
        .with_label_values(&["memory"])
        .set(run.store.memory_bytes() as i64);
    run.metrics
        .state_bytes
        .with_label_values(&["disk"])
        .set(run.store.disk_bytes() as i64);
}

async fn assigned(
    run: &Run,
    handle: &ConsumerHandle,
    owned: &mut HashMap<i32, Owned>,
    partitions: impl Iterator<Item = i32>,
    token: &tokio_util::sync::CancellationToken,
) {
    let mut seen = std::collections::BTreeSet::new();
    for p in partitions {
        run.given_partitions
            .store(true, std::sync::atomic::Ordering::Relaxed);
        if !seen.insert(p) || owned.contains_key(&p) {
            continue;
        }
        let plan = run
            .plans
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&p)
            .unwrap_or(Plan {
                restore: None,
                keep_outbox: true,
                starts: (0, 0),
            });
        let partition = match Partition::open(&run.store, p as u32) {
            Ok(partition) => partition,
            Err(e) => {
                tracing::error!(partition = p, error = %e, "cannot open the partition's state");
                continue;
            }
        };
        if plan.keep_outbox {
            if let Ok(unsent) = partition.unsent(&run.store)
                && !unsent.is_empty()
            {
                tracing::info!(
                    partition = p,
                    outputs = unsent.len(),
                    "publishing the outbox"
                );
                publish(run, handle, &partition, unsent, &[], None, token).await;
            }
        } else if let Err(e) = partition.discard_outbox(&run.store) {
            tracing::warn!(partition = p, error = %e, "cannot clear the outbox");
        }
        owned.insert(
            p,
            Owned {
                partition,
                restore: plan.restore,
                next: plan.starts,
                assigned_at: Instant::now(),
            },
        );
    }
    report(run, owned);
}

/// Takes a consumed batch: records whose writer schema must come from the Schema Registry get
/// it first, then every partition's records are decoded and applied, partitions side by side
/// (`batch`); records that do not decode go to the dead-letter topic before the rest of their
/// partition is applied. Then, partition by partition, outputs are published and offsets stored.
async fn apply(
    run: &Run,
    handle: &ConsumerHandle,
    owned: &mut HashMap<i32, Owned>,
    records: Vec<ConsumedRecord>,
    token: &tokio_util::sync::CancellationToken,
) {
    if records.is_empty() {
        return;
    }
    let taken = Instant::now();
    // What each partition was given, for offsets: undecodable records count as consumed.
    let mut last: HashMap<i32, (Option<i64>, Option<i64>, usize)> = HashMap::new();
    for r in &records {
        let entry = last.entry(r.partition).or_default();
        if r.topic == run.legs_topic {
            entry.0 = Some(r.offset);
        } else {
            entry.1 = Some(r.offset);
        }
        entry.2 += 1;
    }
    // Per partition, in order.
    let mut by_partition: HashMap<i32, Vec<ConsumedRecord>> = HashMap::new();
    for r in records {
        if !owned.contains_key(&r.partition) {
            continue;
        }
        if let Err(e) = run
            .codec
            .prepare(r.payload.as_deref().unwrap_or_default())
            .await
        {
            if dead_letter(run, &r, &e).await.is_err() {
                return;
            }
            continue;
        }
        by_partition.entry(r.partition).or_default().push(r);
    }
    let shared = batch::Shared {
        store: &run.store,
        inventory: &run.inventory,
        settings: &run.settings,
        codec: &run.codec,
        telemetry_topic: &run.telemetry_topic,
        now: crate::now_ms(),
    };
    let mut jobs = Vec::new();
    for (p, state) in owned.iter_mut() {
        let Some(&(_, _, consumed)) = last.get(p) else {
            continue;
        };
        let restoring = !state.restored();
        if restoring {
            run.metrics.restore_records.inc_by(consumed as u64);
        }
        jobs.push((
            *p,
            batch::Job {
                restore: state.restore.filter(|_| restoring),
                records: by_partition.remove(p).unwrap_or_default(),
                partition: &mut state.partition,
            },
        ));
    }
    jobs.sort_by_key(|(p, _)| *p);
    let (partitions, jobs): (Vec<i32>, Vec<batch::Job>) = jobs.into_iter().unzip();
    let outcomes = batch::run(&shared, jobs, run.apply_threads);
    for (p, outcome) in partitions.into_iter().zip(outcomes) {
        let (result, took) = match outcome {
            batch::Outcome::Applied(result, took) => (result, took),
            batch::Outcome::Undecodable {
                decoded,
                failed,
                restore,
            } => {
                for (record, e) in failed {
                    if dead_letter(run, &record, &e).await.is_err() {
                        return;
                    }
                }
                let partition = &mut owned.get_mut(&p).expect("owned").partition;
                batch::apply(&shared, partition, decoded, restore)
            }
        };
        run.metrics.batch_seconds.observe(took.as_secs_f64());
        let Some(state) = owned.get_mut(&p) else {
            continue;
        };
        let restoring = !state.restored();
        let (last_legs, last_tel, _) = last.get(&p).copied().unwrap_or_default();
        let (outgoing, counts) = match result {
            Ok(r) => r,
            Err(e) => {
                // The state store failed: stop taking records rather than lose any.
                tracing::error!(partition = p, error = %e, "cannot apply records; the processor stops");
                run.shutdown.fail();
                return;
            }
        };
        let m = &run.metrics.records;
        m.with_label_values(&["telemetry", "applied"])
            .inc_by(counts.samples);
        m.with_label_values(&["telemetry", "late"])
            .inc_by(counts.late_applied);
        m.with_label_values(&["telemetry", "expired"])
            .inc_by(counts.late_dropped);
        m.with_label_values(&["legs", "applied"])
            .inc_by(counts.legs);
        m.with_label_values(&["legs", "stale"])
            .inc_by(counts.stale_legs);
        run.metrics.replayed.inc_by(counts.suppressed);
        if let Some(o) = last_legs {
            state.next.0 = state.next.0.max(o + 1);
        }
        if let Some(o) = last_tel {
            state.next.1 = state.next.1.max(o + 1);
        }
        if let Some(w) = state.partition.watermark(&run.settings) {
            run.metrics
                .watermark
                .with_label_values(&[&p.to_string()])
                .set(w / 1000);
        }
        let offsets: Vec<NextOffset> = [
            (&run.legs_topic, last_legs),
            (&run.telemetry_topic, last_tel),
        ]
        .into_iter()
        .filter_map(|(topic, last)| {
            last.map(|o| NextOffset {
                topic: topic.clone(),
                partition: p,
                next: o + 1,
            })
        })
        .collect();
        let published = publish(
            run,
            handle,
            &state.partition,
            outgoing,
            &offsets,
            Some(taken),
            token,
        )
        .await;
        if !published {
            // Stopping: what this batch caused stays in the outbox, its offsets uncommitted.
            return;
        }
        // Everything this batch caused is acknowledged: its offsets may be committed (they
        // were, within the transaction, when there is one).
        if run.transactions.is_none() {
            for o in &offsets {
                if let Err(e) = handle.store(&o.topic, p, o.next - 1) {
                    tracing::debug!(partition = p, error = %e, "offset not stored (revoked?)");
                }
            }
        }
        if restoring && state.restored() {
            run.metrics
                .restore_seconds
                .observe(state.assigned_at.elapsed().as_secs_f64());
            tracing::info!(
                partition = p,
                seconds = state.assigned_at.elapsed().as_secs_f64(),
                "partition restored"
            );
            report(run, owned);
        }
    }
}

/// A record that did not decode and could not be kept as a dead letter either: the processor
/// stops (failing) rather than lose it.
struct Unkept;

/// Sends a record that does not decode to the dead-letter topic, counted.
async fn dead_letter(run: &Run, record: &ConsumedRecord, error: &CodecError) -> Result<(), Unkept> {
    let topic = if record.topic == run.telemetry_topic {
        "telemetry"
    } else {
        "legs"
    };
    run.metrics
        .records
        .with_label_values(&[topic, "undecodable"])
        .inc();
    if run
        .dead_letters
        .undecodable(record, "process", error, crate::now_ms())
        .await
        .is_err()
    {
        tracing::error!(
            partition = record.partition,
            "a record neither decodes nor can be dead-lettered; the processor stops"
        );
        run.shutdown.fail();
        return Err(Unkept);
    }
    Ok(())
}

async fn tick(
    run: &Run,
    handle: &ConsumerHandle,
    owned: &mut HashMap<i32, Owned>,
    token: &tokio_util::sync::CancellationToken,
) {
    for (p, state) in owned.iter_mut() {
        if !state.restored() {
            continue;
        }
        let result = {
            let inventory = run.inventory.read().unwrap_or_else(|e| e.into_inner());
            state
                .partition
                .tick(&run.store, &inventory, &run.settings, crate::now_ms())
        };
        match result {
            Ok((outgoing, _)) if !outgoing.is_empty() => {
                publish(run, handle, &state.partition, outgoing, &[], None, token).await;
            }
            Ok(_) => {}
            Err(e) => tracing::error!(partition = p, error = %e, "cannot look for overdue legs"),
        }
    }
    report(run, owned);
}

/// Publishes a batch's outputs (and, in a transaction, the offsets after the batch), retrying
/// until the broker took them; then removes them from the outbox. `false` when the processor
/// stops first (the outputs stay in the outbox).
async fn publish(
    run: &Run,
    handle: &ConsumerHandle,
    partition: &Partition,
    outgoing: Vec<Outgoing>,
    offsets: &[NextOffset],
    taken: Option<Instant>,
    token: &tokio_util::sync::CancellationToken,
) -> bool {
    let published = match &run.transactions {
        None if outgoing.is_empty() => return true,
        Some(_) if outgoing.is_empty() && offsets.is_empty() => return true,
        None => publish_acknowledged(run, &outgoing, token).await,
        Some(txn) => publish_in_transaction(run, txn, handle, &outgoing, offsets, token).await,
    };
    if !published {
        return false;
    }
    for o in &outgoing {
        match &o.output {
            Output::Verdict { verdict, .. } => {
                run.metrics.count_verdict(verdict);
                if let Some(taken) = taken {
                    run.metrics
                        .verdict_latency
                        .observe(taken.elapsed().as_secs_f64());
                }
            }
            Output::Alert(_) => run.metrics.alerts.inc(),
        }
    }
    let keys: Vec<Vec<u8>> = outgoing.into_iter().map(|o| o.outbox_key).collect();
    if let Err(e) = partition.acknowledge(&run.store, &keys) {
        tracing::warn!(error = %e, "cannot clear acknowledged outputs from the outbox");
    }
    true
}

/// Produces outputs until the broker acknowledged all of them, retrying while it refuses.
async fn publish_acknowledged(
    run: &Run,
    outgoing: &[Outgoing],
    token: &tokio_util::sync::CancellationToken,
) -> bool {
    let mut wait = Duration::from_millis(200);
    loop {
        let sends = outgoing.iter().map(|o| send(run, &o.output));
        let results = futures::future::join_all(sends).await;
        if results.iter().all(Result::is_ok) {
            return true;
        }
        let error = results
            .into_iter()
            .find_map(Result::err)
            .unwrap_or_default();
        tracing::warn!(error = %error, "outputs not acknowledged; retrying");
        tokio::select! {
            _ = token.cancelled() => return false,
            _ = tokio::time::sleep(wait) => {}
        }
        wait = (wait * 2).min(Duration::from_secs(30));
    }
}

/// Produces outputs and commits `offsets` in one transaction; an aborted transaction is tried
/// again in a new one, a fatal failure stops the processor.
async fn publish_in_transaction(
    run: &Run,
    txn: &TransactionalProducer,
    handle: &ConsumerHandle,
    outgoing: &[Outgoing],
    offsets: &[NextOffset],
    token: &tokio_util::sync::CancellationToken,
) -> bool {
    // After a fatal error the producer is not used again.
    if run.shutdown.failed() {
        return false;
    }
    let mut records = Vec::with_capacity(outgoing.len());
    for o in outgoing {
        match encode(run, &o.output).await {
            Ok((topic, key, payload)) => records.push(TxnRecord {
                topic: topic.clone(),
                key: key.into_bytes(),
                payload,
            }),
            Err(e) => {
                tracing::error!(error = %e, "an output does not encode; the processor stops");
                run.shutdown.fail();
                return false;
            }
        }
    }
    let mut wait = Duration::from_millis(200);
    loop {
        let group = handle.group_metadata();
        let result = match group {
            None if !offsets.is_empty() => {
                tracing::warn!("no consumer group metadata yet; the transaction waits");
                None
            }
            group => Some(
                txn.commit_batch(&records, group.map(|g| (offsets.to_vec(), g)))
                    .await,
            ),
        };
        match result {
            Some(Ok(())) => {
                run.metrics
                    .transactions
                    .with_label_values(&["committed"])
                    .inc();
                return true;
            }
            Some(Err(TxnError::Aborted(e))) => {
                run.metrics
                    .transactions
                    .with_label_values(&["aborted"])
                    .inc();
                tracing::warn!(error = %e, "transaction aborted; the batch goes again in a new one");
            }
            Some(Err(TxnError::Fatal(e))) => {
                run.metrics
                    .transactions
                    .with_label_values(&["failed"])
                    .inc();
                tracing::error!(error = %e, "the transactional producer failed; the processor stops");
                run.shutdown.fail();
                return false;
            }
            None => {}
        }
        tokio::select! {
            _ = token.cancelled() => return false,
            _ = tokio::time::sleep(wait) => {}
        }
        wait = (wait * 2).min(Duration::from_secs(30));
    }
}

/// Topic, key and bytes of an output.
async fn encode<'a>(
    run: &'a Run,
    output: &Output,
) -> Result<(&'a String, String, Vec<u8>), String> {
    Ok(match output {
        Output::Verdict { verdict, .. } => (
            &run.verdicts_topic,
            format!("{}|{}|{}", verdict.org_id, verdict.call_id, verdict.leg_id),
            run.codec
                .encode(&run.verdicts_topic, verdict.as_ref())
                .await
                .map_err(|e| e.to_string())?,
        ),
        Output::Alert(alert) => (
            &run.alerts_topic,
            format!(
                "{}|{}:{}",
                alert.org_id,
                callsight_rca::scope::kind_label(alert.scope.kind),
                alert.scope.entity_id
            ),
            run.codec
                .encode(&run.alerts_topic, alert.as_ref())
                .await
                .map_err(|e| e.to_string())?,
        ),
    })
}

async fn send(run: &Run, output: &Output) -> Result<(), String> {
    let (topic, key, bytes) = encode(run, output).await?;
    run.producer
        .send(topic, key.as_bytes(), &bytes, &[])
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}
