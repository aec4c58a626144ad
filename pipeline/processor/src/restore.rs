//! Where an assigned partition starts, decided inside the rebalance from the local state and the
//! committed offsets: continue after what the local RocksDB applied, or replay from after it (or
//! from retention ago) up to the committed offsets without publishing again.

use crate::partition::{Committed, Meta};
use crate::run::{Plan, Plans};
use callsight_kafka::context::Context;
use callsight_kafka::paired::Start;
use callsight_model::clock::now_ms;
use callsight_state::{Store, Table};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use std::collections::HashMap;
use std::time::Duration;

/// An offset that names a position (not "beginning" or "end").
pub(crate) fn offset_value(offset: Offset) -> Option<i64> {
    match offset {
        Offset::Offset(n) if n >= 0 => Some(n),
        _ => None,
    }
}

/// Decides where assigned partitions start (runs inside the rebalance, on the consumer thread).
pub(crate) fn plan_starts(
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
    // Wall clock: the broker's timestamps are wall clock too.
    let since = now_ms().saturating_sub(look_back.as_millis() as i64);
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
