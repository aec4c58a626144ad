//! The Kafka plumbing against the embedded broker (librdkafka's mock cluster, a real Kafka
//! protocol server on loopback).

use callsight_core::codec::Codec;
use callsight_kafka::consumer::{self, ConsumedRecord, ConsumerEvent, ConsumerHandle};
use callsight_kafka::dead_letter::DeadLetters;
use callsight_kafka::topics;
use callsight_kafka::{Producer, Services};
use callsight_model::codec::single_object;
use callsight_model::types::DeadLetter;
use callsight_testkit::kafka::{self, stop};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc::Receiver;

/// The embedded broker's services, with a producer and consumers of their own.
struct Setup(Services);

impl std::ops::Deref for Setup {
    type Target = Services;
    fn deref(&self) -> &Services {
        &self.0
    }
}

impl Setup {
    fn producer(&self) -> Producer {
        self.0.producer().expect("producer")
    }

    fn consume(&self, group: &str, topics: &[&str]) -> (ConsumerHandle, Receiver<ConsumerEvent>) {
        consumer::start(
            &self.kafka,
            &self.bootstrap,
            group,
            topics,
            self.kafka_metrics.clone(),
        )
        .expect("consumer")
    }
}

async fn next_table_event(
    rx: &mut Receiver<callsight_kafka::table::TableEvent>,
) -> callsight_kafka::table::TableEvent {
    tokio::time::timeout(Duration::from_secs(60), rx.recv())
        .await
        .expect("an event within 60 s")
        .expect("open")
}

/// Produces `n` records numbered 0.. under one key.
async fn produce_numbered(producer: &Producer, topic: &str, key: &[u8], n: usize) {
    for i in 0..n {
        producer
            .send(topic, key, format!("{i}").as_bytes(), &[])
            .await
            .expect("delivered");
    }
}

async fn setup() -> Setup {
    Setup(kafka::services(&kafka::kafka_config(), &kafka::topics(4)).await)
}

/// Next record, skipping rebalance events; fails after a bounded wait.
async fn next_record(rx: &mut Receiver<ConsumerEvent>) -> ConsumedRecord {
    kafka::next_record(rx, Duration::from_secs(60)).await
}

/// Kafka's (and the Java client's) murmur2, to check where keyed records land.
fn murmur2(data: &[u8]) -> i32 {
    const M: u32 = 0x5bd1_e995;
    let mut h: u32 = 0x9747_b28c ^ data.len() as u32;
    let mut chunks = data.chunks_exact(4);
    for chunk in &mut chunks {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> 24;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let rest = chunks.remainder();
    if rest.len() >= 3 {
        h ^= u32::from(rest[2]) << 16;
    }
    if rest.len() >= 2 {
        h ^= u32::from(rest[1]) << 8;
    }
    if !rest.is_empty() {
        h ^= u32::from(rest[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

fn java_partition(key: &[u8], partitions: i32) -> i32 {
    (murmur2(key) & 0x7fff_ffff) % partitions
}

#[tokio::test]
async fn topics_are_created_with_their_partition_counts() {
    let s = setup().await;
    assert!(s.cluster().is_embedded());
    let (kafka, bootstrap) = (s.kafka.clone(), s.bootstrap.clone());
    let counts = tokio::task::spawn_blocking(move || {
        topics::partition_counts(&kafka, &bootstrap, Duration::from_secs(10))
    })
    .await
    .expect("joins")
    .expect("metadata");
    for spec in topics::specs(&kafka::topics(4)) {
        assert_eq!(
            counts.get(&spec.name),
            Some(&spec.partitions),
            "{}",
            spec.name
        );
    }
    assert!(counts.contains_key("net.telemetry.dlq"));
    assert_eq!(counts["calls.legs"], 4);
}

#[tokio::test]
async fn keyed_records_round_trip_on_java_compatible_partitions() {
    let s = setup().await;
    let producer = s.producer();
    let keys: Vec<String> = (0..12).map(|i| format!("org-1|site-{i}")).collect();
    for (i, key) in keys.iter().enumerate() {
        let payload = format!("payload-{i}");
        let delivered = producer
            .send(
                "calls.legs",
                key.as_bytes(),
                payload.as_bytes(),
                &[("trace", Some(b"abc")), ("empty", None)],
            )
            .await
            .expect("delivered");
        assert_eq!(
            delivered.partition,
            java_partition(key.as_bytes(), 4),
            "{key} must land where a Java producer would put it"
        );
    }

    let (handle, mut rx) = s.consume("round-trip", &["calls.legs"]);
    let mut seen = Vec::new();
    for _ in 0..keys.len() {
        let record = next_record(&mut rx).await;
        assert_eq!(
            record.headers,
            vec![
                ("trace".to_string(), Some(b"abc".to_vec())),
                ("empty".to_string(), None)
            ]
        );
        seen.push(String::from_utf8(record.key.expect("key")).expect("utf-8"));
    }
    seen.sort();
    let mut expected = keys.clone();
    expected.sort();
    assert_eq!(seen, expected);
    stop(handle).await;
    let rendered = s.metrics.render();
    assert!(
        rendered.contains("callsight_kafka_records_produced_total{topic=\"calls.legs\"} 12"),
        "{rendered}"
    );
    assert!(rendered.contains("callsight_kafka_records_consumed_total{topic=\"calls.legs\"} 12"));
}

#[tokio::test]
async fn only_stored_offsets_are_committed() {
    let s = setup().await;
    let producer = s.producer();
    // One partition, so that order is total.
    produce_numbered(&producer, "teams.links", b"org", 10).await;

    let (handle, mut rx) = s.consume("offsets", &["teams.links"]);
    // Read all ten, but finish only the first four.
    for i in 0..10 {
        let record = next_record(&mut rx).await;
        assert_eq!(record.payload.as_deref(), Some(format!("{i}").as_bytes()));
        if i < 4 {
            handle
                .store(&record.topic, record.partition, record.offset)
                .expect("stores");
        }
    }
    drop(rx);
    stop(handle).await;

    // The next member of the group resumes after the last finished record.
    let (handle, mut rx) = s.consume("offsets", &["teams.links"]);
    let record = next_record(&mut rx).await;
    assert_eq!(record.payload.as_deref(), Some(&b"4"[..]));
    stop(handle).await;
}

#[tokio::test]
async fn assignments_arrive_before_records_and_lag_is_exported() {
    let s = setup().await;
    let producer = s.producer();
    produce_numbered(&producer, "rca.alerts", b"k", 5).await;
    let (handle, mut rx) = s.consume("events", &["rca.alerts"]);
    let first = tokio::time::timeout(Duration::from_secs(60), rx.recv())
        .await
        .expect("an event")
        .expect("open");
    match first {
        ConsumerEvent::Assigned(partitions) => {
            assert_eq!(partitions.len(), 3, "{partitions:?}");
            assert!(partitions.iter().all(|p| p.topic == "rca.alerts"));
        }
        other => panic!("expected the assignment first, got {other:?}"),
    }
    for _ in 0..5 {
        let record = next_record(&mut rx).await;
        handle
            .store(&record.topic, record.partition, record.offset)
            .expect("stores");
    }
    // Statistics arrive every 500 ms; once offsets are committed, the lag of the assigned
    // partitions is known and exported.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if s.metrics
            .render()
            .contains("callsight_kafka_consumer_lag_records{partition=")
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no consumer lag gauge after 30 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stop(handle).await;
}

#[tokio::test]
async fn undecodable_records_are_kept_in_the_dead_letter_topic() {
    let s = setup().await;
    let producer = s.producer();
    producer
        .send(
            "net.telemetry",
            b"org|site",
            b"\xde\xad\xbe\xef",
            &[("h", Some(b"v"))],
        )
        .await
        .expect("delivered");
    let (handle, mut rx) = s.consume("dlq", &["net.telemetry"]);
    let record = next_record(&mut rx).await;
    let codec = Arc::new(Codec::single_object());
    let error = codec
        .decode::<callsight_model::types::NetworkSample>(
            record.payload.as_deref().expect("payload"),
        )
        .await
        .unwrap_err();
    let letters = DeadLetters::new(producer.clone(), codec, ".dlq", s.kafka_metrics.clone());
    letters
        .undecodable(&record, "process", &error, 1_700_000_000_000)
        .await
        .expect("dead letter written");
    handle
        .store(&record.topic, record.partition, record.offset)
        .expect("stores");
    stop(handle).await;

    let (handle, mut rx) = s.consume("dlq-reader", &["net.telemetry.dlq"]);
    let kept = next_record(&mut rx).await;
    assert_eq!(kept.key.as_deref(), Some(&b"org|site"[..]));
    let letter: DeadLetter =
        single_object::decode(kept.payload.as_deref().expect("payload")).expect("decodes");
    assert_eq!(letter.source_topic, "net.telemetry");
    assert_eq!(letter.payload, b"\xde\xad\xbe\xef");
    assert_eq!(letter.error_kind, "unknown_framing");
    assert_eq!(letter.offset, Some(record.offset));
    assert_eq!(letter.headers.len(), 1);
    assert!(s.metrics.render().contains(
        "callsight_dead_letters_total{kind=\"unknown_framing\",topic=\"net.telemetry\"} 1"
    ));
    stop(handle).await;
}

#[tokio::test]
async fn a_table_reader_sees_the_whole_topic_then_says_it_caught_up_then_follows() {
    let setup = setup().await;
    let producer = setup.producer();
    let topic = "net.inventory";
    // Spread over the topic's partitions, including one left empty by chance or not.
    for i in 0..20 {
        producer
            .send(topic, format!("entity-{i}").as_bytes(), b"v1", &[])
            .await
            .expect("delivered");
    }
    let (kafka, bootstrap, metrics) = (
        setup.kafka.clone(),
        setup.bootstrap.clone(),
        setup.kafka_metrics.clone(),
    );
    let (_handle, mut rx) = tokio::task::spawn_blocking(move || {
        callsight_kafka::table::start(&kafka, &bootstrap, topic, metrics)
    })
    .await
    .expect("joins")
    .expect("reader");
    let mut seen = std::collections::BTreeSet::new();
    while let callsight_kafka::table::TableEvent::Record(r) = next_table_event(&mut rx).await {
        seen.insert(String::from_utf8(r.key.expect("key")).expect("utf-8"));
    }
    assert_eq!(
        seen.len(),
        20,
        "caught up only after every record: {seen:?}"
    );
    producer
        .send(topic, b"entity-new", b"v1", &[])
        .await
        .expect("delivered");
    match next_table_event(&mut rx).await {
        callsight_kafka::table::TableEvent::Record(r) => {
            assert_eq!(r.key.as_deref(), Some(&b"entity-new"[..]))
        }
        other => panic!("expected the new record, got {other:?}"),
    }

    // A second reader of an empty topic is caught up at once.
    let (kafka, bootstrap, metrics) = (
        setup.kafka.clone(),
        setup.bootstrap.clone(),
        setup.kafka_metrics.clone(),
    );
    let (_empty, mut rx) = tokio::task::spawn_blocking(move || {
        callsight_kafka::table::start(&kafka, &bootstrap, "teams.links", metrics)
    })
    .await
    .expect("joins")
    .expect("reader");
    assert_eq!(
        next_table_event(&mut rx).await,
        callsight_kafka::table::TableEvent::CaughtUp
    );
}
