//! The process role on the embedded broker: inventory, telemetry and legs in, verdicts out;
//! a restart on the same state publishes nothing twice; a restart without state replays, and
//! publishes only what had not been published; topics that are not co-partitioned are refused;
//! records that do not decode go to the dead-letter topics and the rest is applied; with Kafka
//! transactions, an aborted transaction's batch goes again and a fatal error stops the
//! processor (the embedded broker speaks the transactional protocol but does not isolate
//! aborted records, so these tests check the flow and the error handling).

use callsight_core::Process;
use callsight_core::codec::{Codec, CodecConfig};
use callsight_core::metrics::Metrics;
use callsight_kafka::Services;
use callsight_kafka::config::{KafkaConfig, TopicsConfig};
use callsight_kafka::consumer::{self, ConsumerEvent};
use callsight_model::types::{CauseCode, RootCauseVerdict};
use callsight_processor::ProcessorConfig;
use callsight_rca::{ClassificationConfig, RcaConfig};
use callsight_testkit::kafka::{self, Feed};
use callsight_testkit::samples;
use callsight_testkit::world::*;
use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// What a processor of these tests runs with.
#[derive(Debug, Clone)]
struct Config {
    kafka: KafkaConfig,
    topics: TopicsConfig,
    processor: ProcessorConfig,
}

fn config(state: &std::path::Path) -> Config {
    Config {
        kafka: KafkaConfig {
            statistics_interval: Duration::ZERO,
            ..kafka::kafka_config()
        },
        topics: kafka::topics(4),
        processor: ProcessorConfig {
            state_dir: state.to_path_buf(),
            tick_interval: Duration::from_millis(200),
            ..ProcessorConfig::default()
        },
    }
}

/// The sum of the series of `name` with every one of `labels` in a processor's metrics.
fn metric(metrics: &Metrics, name: &str, labels: &[&str]) -> f64 {
    kafka::metric(metrics, name, labels)
}

/// The test world's inventory, telemetry and legs, produced.
async fn produce_world(cluster: &Services) {
    let feed = Feed::new(cluster);
    feed.inventory(&samples::inventory_records()).await;
    feed.samples(&telemetry(30)).await;
    for leg in legs() {
        feed.leg(&leg).await;
    }
}

/// Every verdict published, latest per leg, once the five legs have one and the revised leg's
/// verdict is of its last version.
async fn verdicts(
    cluster: &Services,
    group: &str,
    n: usize,
) -> (BTreeMap<String, RootCauseVerdict>, usize) {
    let revised = legs()[5].clone();
    let (handle, mut events) = consumer::start(
        &cluster.kafka,
        &cluster.bootstrap,
        group,
        &[&cluster.topics.verdicts.name],
        kafka::kafka_metrics(),
    )
    .expect("consumer");
    let codec = Codec::single_object();
    let mut latest = BTreeMap::new();
    let mut total = 0;
    let done = |latest: &BTreeMap<String, RootCauseVerdict>| {
        latest.len() >= n
            && latest
                .get(&revised.leg_id)
                .is_some_and(|v: &RootCauseVerdict| v.record_version == revised.record_version)
    };
    while !done(&latest) {
        let r = kafka::next_record(&mut events, Duration::from_secs(90)).await;
        let v: RootCauseVerdict = codec
            .decode(&r.payload.expect("payload"))
            .await
            .expect("a verdict");
        assert_eq!(
            r.key.as_deref(),
            Some(callsight_model::keys::verdict_key(&v.org_id, &v.call_id, &v.leg_id).as_bytes())
        );
        total += 1;
        latest.insert(v.leg_id.clone(), v);
    }
    // Anything else already there.
    while let Ok(Some(ConsumerEvent::Record(_))) =
        tokio::time::timeout(Duration::from_secs(3), events.recv()).await
    {
        total += 1;
    }
    kafka::stop(handle).await;
    (latest, total)
}

/// Starts a process role with `config` as a process of its own (its metrics, readiness and
/// shutdown) on the cluster of `cluster`.
async fn start(config: &Config, cluster: &Services) -> Services {
    let process = cluster
        .sibling(Process::new(Duration::from_secs(20)))
        .await
        .expect("the cluster");
    callsight_processor::start(
        &process,
        &config.processor,
        &ClassificationConfig::default(),
        &RcaConfig::default(),
    )
    .await
    .expect("starts");
    process
}

/// Waits until the processors' consumer group has committed at least `records` of the telemetry
/// topic, summed over its partitions.
async fn committed_telemetry(cluster: &Services, records: i64) {
    use rdkafka::consumer::{BaseConsumer, Consumer as _};
    let consumer: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", &cluster.bootstrap)
        .set("group.id", format!("{}-process", cluster.kafka.group_id))
        .create()
        .expect("a consumer that only reads the group's offsets");
    let mut partitions = rdkafka::TopicPartitionList::new();
    for p in 0..cluster.topics.telemetry.partitions {
        partitions.add_partition(&cluster.topics.telemetry.name, p);
    }
    let consumer = Arc::new(consumer);
    tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let (c, list) = (consumer.clone(), partitions.clone());
            let committed: i64 = tokio::task::spawn_blocking(move || {
                c.committed_offsets(list, Duration::from_secs(5))
                    .map(|tpl| {
                        tpl.elements()
                            .iter()
                            .filter_map(|e| match e.offset() {
                                rdkafka::Offset::Offset(n) => Some(n),
                                _ => None,
                            })
                            .sum()
                    })
                    .unwrap_or(0)
            })
            .await
            .expect("joins");
            if committed >= records {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await
    .expect("the group commits what it applied");
}

/// A state directory, its configuration, and an embedded cluster.
async fn setup() -> (tempfile::TempDir, Config, Services) {
    let state = tempfile::tempdir().expect("temp dir");
    let config = config(state.path());
    let cluster = kafka::services(&config.kafka, &config.topics).await;
    (state, config, cluster)
}

/// The world's three legs on the congested radio are found to be.
fn assert_congested_radio(verdicts: &BTreeMap<String, RootCauseVerdict>) {
    for id in ["call-1/p-1/0", "call-2/p-2/0", "call-3/p-3/0"] {
        assert_eq!(
            verdicts[id].primary_cause,
            CauseCode::WirelessChannelUtilization,
            "{id}: {}",
            verdicts[id].summary
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legs_and_telemetry_in_verdicts_out_and_restarts_change_nothing() {
    let (_state, config, cluster) = setup().await;
    produce_world(&cluster).await;

    let p = start(&config, &cluster).await;
    let (first, published) = verdicts(&cluster, "read-1", 5).await;
    assert_congested_radio(&first);
    assert_eq!(
        first["call-1/p-1/0"].record_version,
        legs()[5].record_version,
        "the revision replaced it"
    );
    assert!(p.readiness.report().0, "{:?}", p.readiness.report());
    p.shutdown.drain(Duration::from_secs(20)).await;

    // The same process state again: it continues after what it applied; nothing is new.
    let p = start(&config, &cluster).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let complete = ["completeness=\"complete\""];
    assert_eq!(
        metric(&p.metrics, "callsight_processor_verdicts_total", &complete),
        0.0
    );
    p.shutdown.drain(Duration::from_secs(20)).await;

    // No local state (another machine): the partitions are replayed; what was published is not
    // published again, and the state comes back whole.
    let other = tempfile::tempdir().expect("temp dir");
    let moved = self::config(other.path());
    let p = start(&moved, &cluster).await;
    let (readiness, metrics) = (&p.readiness, &p.metrics);
    let restored = async {
        while !readiness.report().0
            || metric(
                metrics,
                "callsight_processor_partitions",
                &["state=\"live\""],
            ) < 4.0
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    if tokio::time::timeout(Duration::from_secs(60), restored)
        .await
        .is_err()
    {
        panic!(
            "not restored within 60 s: {:?}\n{}",
            readiness.report(),
            metrics
                .render()
                .lines()
                .filter(|l| l.starts_with("callsight_processor"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    assert!(metric(metrics, "callsight_processor_restore_records_total", &[]) > 0.0);
    assert!(metric(metrics, "callsight_processor_replayed_outputs_total", &[]) >= 5.0);
    assert_eq!(
        metric(metrics, "callsight_processor_verdicts_total", &complete),
        0.0
    );
    let (again, total) = verdicts(&cluster, "read-2", 5).await;
    assert_eq!(again, first);
    assert_eq!(total, published, "nothing was published twice");
    p.shutdown.drain(Duration::from_secs(20)).await;
}

#[tokio::test]
async fn topics_that_are_not_co_partitioned_are_refused() {
    let (_state, config, cluster) = setup().await;
    let broker = cluster.cluster().embedded().expect("embedded");
    broker
        .create_topic("legs-of-another-shape", 3)
        .expect("created");
    broker
        .create_topic("legs-of-another-shape.dlq", 3)
        .expect("created");
    // A process whose legs topic has another partition count than its telemetry topic.
    let mut wrong = config.topics.clone();
    wrong.legs.name = "legs-of-another-shape".into();
    wrong.legs.partitions = 3;
    let kafka = KafkaConfig {
        brokers: cluster.bootstrap.clone(),
        create_topics: false,
        ..config.kafka.clone()
    };
    let process = Services::connect(Process::default(), &kafka, &wrong, &CodecConfig::default())
        .await
        .expect("the topics exist as configured");
    let error = callsight_processor::start(
        &process,
        &config.processor,
        &ClassificationConfig::default(),
        &RcaConfig::default(),
    )
    .await
    .expect_err("refused");
    assert!(error.to_string().contains("has 3 partitions"), "{error}");
}

/// Partitions a processor owns, live or restoring.
fn owned(p: &Services) -> f64 {
    metric(&p.metrics, "callsight_processor_partitions", &[])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitions_move_between_two_processors_and_no_verdict_is_lost_or_wrong() {
    let (state_a, state_b) = (
        tempfile::tempdir().expect("temp dir"),
        tempfile::tempdir().expect("temp dir"),
    );
    let config_a = config(state_a.path());
    let config_b = config(state_b.path());
    let cluster = kafka::services(&config_a.kafka, &config_a.topics).await;
    let feed = Feed::new(&cluster);
    feed.inventory(&samples::inventory_records()).await;
    let all = telemetry(30);
    let half = all.len() / 2;
    feed.samples(&all[..half]).await;

    // A takes everything; then B joins and takes over some partitions, restoring them.
    let a = start(&config_a, &cluster).await;
    tokio::time::timeout(Duration::from_secs(60), async {
        while owned(&a) < 4.0 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("A owns every partition");
    // A has taken the first half and committed it, so that what moves to B is restored by replay
    // (a partition with no committed offset is consumed afresh from its beginning instead).
    committed_telemetry(&cluster, half as i64).await;
    let b = start(&config_b, &cluster).await;
    tokio::time::timeout(Duration::from_secs(60), async {
        while owned(&b) < 1.0 || owned(&a) + owned(&b) != 4.0 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("B takes some partitions");

    // The rest of the telemetry and the legs; A stops in the middle.
    feed.samples(&all[half..]).await;
    let legs = legs();
    for (i, leg) in legs.iter().enumerate() {
        if i == 2 {
            a.shutdown.drain(Duration::from_secs(20)).await;
        }
        feed.leg(leg).await;
    }
    let (verdicts, _) = verdicts(&cluster, "read-rebalance", 5).await;
    for id in ["call-1/p-1/0", "call-2/p-2/0", "call-3/p-3/0"] {
        assert_eq!(
            verdicts[id].primary_cause,
            CauseCode::WirelessChannelUtilization,
            "{id}: {}",
            verdicts[id].summary
        );
        assert!(!verdicts[id].completeness.partial);
    }
    assert_eq!(
        verdicts["call-1/p-1/0"].record_version,
        legs[5].record_version
    );
    assert_eq!(owned(&b), 4.0, "B owns every partition after A left");
    assert!(
        metric(&b.metrics, "callsight_processor_restore_records_total", &[]) > 0.0,
        "B restored moved partitions by replay"
    );
    b.shutdown.drain(Duration::from_secs(20)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_that_do_not_decode_are_dead_lettered_and_the_rest_is_applied() {
    let (_state, config, cluster) = setup().await;
    let feed = Feed::new(&cluster);
    feed.inventory(&samples::inventory_records()).await;
    let telemetry = telemetry(30);
    let (half, rest) = telemetry.split_at(telemetry.len() / 2);
    feed.samples(half).await;
    // Between good records of the same partitions: a record of no known framing (refused before
    // decoding), a sample cut short and a leg of an unknown writer schema (refused while
    // decoding, beside the partition's good records).
    let site = callsight_model::keys::site_key(&half[0].org_id, &half[0].site_id);
    let topics = &cluster.topics;
    let whole = cluster
        .codec
        .encode(&topics.telemetry.name, &half[0])
        .await
        .expect("encodes");
    let mut unknown_writer = callsight_model::codec::single_object::MARKER.to_vec();
    unknown_writer.extend_from_slice(&[0; 8]);
    unknown_writer.extend_from_slice(b"\x02");
    // And a leg whose times no call can have, as whoever writes to the topic may send.
    let mut timeless = legs()[0].clone();
    timeless.leg_start = i64::MIN;
    let timeless = cluster
        .codec
        .encode(&topics.legs.name, &timeless)
        .await
        .expect("encodes");
    let bad = [
        (&topics.telemetry.name, b"\xde\xad\xbe\xef".to_vec()),
        (&topics.telemetry.name, whole[..whole.len() - 4].to_vec()),
        (&topics.legs.name, unknown_writer),
        (&topics.legs.name, timeless),
    ];
    let producer = cluster.producer().expect("producer");
    for (topic, payload) in &bad {
        producer
            .send(topic, site.as_bytes(), payload, &[])
            .await
            .expect("delivered");
    }
    feed.samples(rest).await;
    for leg in legs() {
        feed.leg(&leg).await;
    }

    let p = start(&config, &cluster).await;
    let (verdicts, _) = verdicts(&cluster, "read", 5).await;
    assert_congested_radio(&verdicts);
    let undecodable = |topic: &str| {
        metric(
            &p.metrics,
            "callsight_processor_records_total",
            &["outcome=\"undecodable\"", &format!("topic=\"{topic}\"")],
        )
    };
    assert_eq!(undecodable("telemetry"), 2.0);
    assert_eq!(undecodable("legs"), 2.0);
    p.shutdown.drain(Duration::from_secs(20)).await;

    let letters = [
        format!("{}.dlq", topics.telemetry.name),
        format!("{}.dlq", topics.legs.name),
    ];
    let (handle, mut events) = consumer::start(
        &cluster.kafka,
        &cluster.bootstrap,
        "read-dead-letters",
        &[&letters[0], &letters[1]],
        kafka::kafka_metrics(),
    )
    .expect("consumer");
    let mut kept = Vec::new();
    while kept.len() < bad.len() {
        let r = kafka::next_record(&mut events, Duration::from_secs(30)).await;
        let letter: callsight_model::types::DeadLetter =
            callsight_model::codec::single_object::decode(&r.payload.expect("payload"))
                .expect("a dead letter");
        kept.push((letter.source_topic, letter.payload, letter.stage));
    }
    kept.sort();
    let mut expected: Vec<_> = bad
        .iter()
        .map(|(topic, payload)| (topic.to_string(), payload.clone(), "process".to_string()))
        .collect();
    expected.sort();
    assert_eq!(kept, expected);
    kafka::stop(handle).await;
}

/// The world on a fresh embedded broker, a processor configured for transactions, and the
/// broker primed to refuse the first offsets sent to a transaction with `error`.
async fn transactional_world(error: RDKafkaRespErr) -> (tempfile::TempDir, Config, Services) {
    let (state, mut config, cluster) = setup().await;
    config.processor.transactional_id = Some("process-test".into());
    produce_world(&cluster).await;
    cluster
        .cluster()
        .embedded()
        .expect("embedded")
        .fail_requests(RDKafkaApiKey::AddOffsetsToTxn, &[error])
        .expect("fault injected");
    (state, config, cluster)
}

/// A processor's transactions by outcome.
fn transactions(p: &Services, outcome: &str) -> f64 {
    metric(
        &p.metrics,
        "callsight_processor_transactions_total",
        &[&format!("outcome=\"{outcome}\"")],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_transactions_an_aborted_batch_goes_again_and_every_verdict_arrives() {
    // The first offsets sent to a transaction are refused with an error that makes it
    // abortable: that transaction is aborted and its batch goes again in a new one.
    let (_state, config, cluster) =
        transactional_world(RDKafkaRespErr::RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED).await;

    let p = start(&config, &cluster).await;
    let (latest, _) = verdicts(&cluster, "read-txn", 5).await;
    assert_congested_radio(&latest);
    assert!(transactions(&p, "committed") > 0.0);
    assert!(
        transactions(&p, "aborted") >= 1.0,
        "the refused transaction was aborted"
    );
    assert_eq!(transactions(&p, "failed"), 0.0);
    assert!(!p.shutdown.token.is_cancelled());
    p.shutdown.drain(Duration::from_secs(20)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fatal_transaction_error_stops_the_processor() {
    // The coordinator answers that a newer instance owns this transactional id.
    let (_state, config, cluster) =
        transactional_world(RDKafkaRespErr::RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH).await;

    let p = start(&config, &cluster).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    while !p.shutdown.token.is_cancelled() {
        assert!(
            std::time::Instant::now() < deadline,
            "the processor went on after a fatal transaction error"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(p.shutdown.failed(), "the process exits with a failure");
    assert_eq!(transactions(&p, "failed"), 1.0);
    p.shutdown.drain(Duration::from_secs(20)).await;
    assert!(!p.readiness.report().0, "not ready once stopped");
}
