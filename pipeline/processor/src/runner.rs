//! The process role's loop: consumed records applied in batches, partitions assigned and
//! revoked, overdue legs looked for on a tick, the state checkpointed.

use crate::batch;
use crate::events::Input;
use crate::partition::{Partition, Unappliable};
use crate::publish::publish;
use crate::run::{Owned, Plan, Run};
use callsight_core::error::Report;
use callsight_kafka::consumer::{ConsumedRecord, ConsumerEvent, ConsumerHandle};
use callsight_kafka::transactions::NextOffset;
use callsight_model::clock::now_ms;
use callsight_model::codec::{CodecError, single_object};
use callsight_model::keys;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Takes consumed records and rebalances until `token` is cancelled or the consumer stops.
pub(crate) async fn process(
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
                            run.metrics.partition_revoked(p);
                            // Another process owns it now; its windows would no longer expire
                            // here (expiry follows the partition's watermark).
                            if let Err(e) = run.store.drop_partition(p as u32) {
                                tracing::warn!(partition = p, error = %Report(&e), "cannot drop a revoked partition's state");
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
            tracing::warn!(error = %Report(&e), "cannot write the state to disk; a crash would replay more")
        }
        Err(e) => tracing::warn!(error = %Report(&e), "the state checkpoint did not finish"),
    }
}

fn report(run: &Run, owned: &HashMap<i32, Owned>) {
    let restoring = owned.values().filter(|o| !o.restored()).count();
    run.metrics.partitions_owned(
        restoring,
        owned.len() - restoring,
        run.store.memory_bytes(),
        run.store.disk_bytes(),
    );
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
                tracing::error!(partition = p, error = %Report(&e), "cannot open the partition's state");
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
            tracing::warn!(partition = p, error = %Report(&e), "cannot clear the outbox");
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
        now: now_ms(),
    };
    let mut jobs = Vec::new();
    for (p, state) in owned.iter_mut() {
        let Some(&(_, _, consumed)) = last.get(p) else {
            continue;
        };
        let restoring = !state.restored();
        if restoring {
            run.metrics.restoring(consumed);
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
        let applied = match outcome {
            batch::Outcome::Applied(applied) => applied,
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
        for u in &applied.unappliable {
            if unappliable(run, p, u).await.is_err() {
                return;
            }
        }
        let (result, took) = (applied.result, applied.took);
        let Some(state) = owned.get_mut(&p) else {
            continue;
        };
        let restoring = !state.restored();
        let (last_legs, last_tel, _) = last.get(&p).copied().unwrap_or_default();
        let (outgoing, counts) = match result {
            Ok(r) => r,
            Err(e) => {
                // The state store failed: stop taking records rather than lose any.
                tracing::error!(partition = p, error = %Report(&e), "cannot apply records; the processor stops");
                run.shutdown.fail();
                return;
            }
        };
        run.metrics.batch_applied(p, &counts, took);
        if let Some(o) = last_legs {
            state.next.0 = state.next.0.max(o + 1);
        }
        if let Some(o) = last_tel {
            state.next.1 = state.next.1.max(o + 1);
        }
        if let Some(w) = state.partition.watermark(&run.settings) {
            run.metrics.watermark_moved(p, w);
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
                    tracing::debug!(partition = p, error = %Report(&e), "offset not stored (revoked?)");
                }
            }
        }
        if restoring && state.restored() {
            run.metrics
                .partition_restored(p, state.assigned_at.elapsed());
            report(run, owned);
        }
    }
}

/// A record that did not decode and could not be kept as a dead letter either: the processor
/// stops (failing) rather than lose it.
struct Unkept;

/// Sends a record that does not decode to the dead-letter topic, counted.
async fn dead_letter(run: &Run, record: &ConsumedRecord, error: &CodecError) -> Result<(), Unkept> {
    run.metrics
        .record_undecodable(if record.topic == run.telemetry_topic {
            Input::Telemetry
        } else {
            Input::Legs
        });
    if run
        .dead_letters
        .undecodable(record, "process", error, now_ms())
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

/// Sends a leg whose evaluation panicked to the dead-letter topic, counted and logged (its place
/// only). It was consumed batches ago: the letter holds it re-encoded (single-object), under its
/// key.
async fn unappliable(run: &Run, partition: i32, u: &Unappliable) -> Result<(), Unkept> {
    run.metrics.record_unappliable(Input::Legs);
    tracing::error!(
        partition,
        offset = u.offset,
        "evaluating a leg panicked; it goes to the dead-letter topic"
    );
    let record = ConsumedRecord {
        topic: run.legs_topic.clone(),
        partition,
        offset: u.offset,
        key: Some(keys::leg_key(&u.leg.org_id, u.leg.site_id.as_deref()).into_bytes()),
        payload: Some(single_object::encode(&u.leg).unwrap_or_default()),
        headers: Vec::new(),
        timestamp_ms: None,
    };
    if run
        .dead_letters
        .send(&record, "process", "unappliable", &u.error, now_ms())
        .await
        .is_err()
    {
        tracing::error!(
            partition,
            "a leg can neither be evaluated nor be dead-lettered; the processor stops"
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
                .tick(&run.store, &inventory, &run.settings, now_ms())
        };
        for u in state.partition.take_unappliable() {
            if unappliable(run, *p, &u).await.is_err() {
                return;
            }
        }
        match result {
            Ok((outgoing, _)) if !outgoing.is_empty() => {
                publish(run, handle, &state.partition, outgoing, &[], None, token).await;
            }
            Ok(_) => {}
            Err(e) => {
                tracing::error!(partition = p, error = %Report(&e), "cannot look for overdue legs")
            }
        }
    }
    report(run, owned);
}
