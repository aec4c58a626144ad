//! The process role on the embedded broker: inventory, telemetry and legs in, verdicts out;
//! a restart on the same state publishes nothing twice; a restart without state replays, and
//! publishes only what had not been published; topics that are not co-partitioned are refused;
//! records that do not decode go to the dead-letter topics and the rest is applied; with Kafka
//! transactions, an aborted transaction's batch goes again and a fatal error stops the
//! processor (the embedded broker speaks the transactional protocol but does not isolate
//! aborted records, so these tests check the flow and the error handling).

mod world;

use callsight_core::Config;
use callsight_core::codec::Codec;
use callsight_core::metrics::Metrics;
use callsight_core::readiness::Readiness;
use callsight_core::shutdown::Shutdown;
use callsight_kafka::cluster::Cluster;
use callsight_kafka::consumer::{self, ConsumerEvent};
use callsight_kafka::{KafkaMetrics, Producer};
use callsight_model::samples;
use callsight_model::types::{CauseCode, RootCauseVerdict};
use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use world::*;

fn config(state: &std::path::Path) -> Config {
    let mut config = Config::default();
    config.kafka.linger = Duration::from_millis(1);
    config.kafka.statistics_interval = Duration::ZERO;
    config.kafka.session_timeout = Duration::from_secs(6);
    config.topics.legs.partitions = 4;
    config.topics.telemetry.partitions = 4;
    config.topics.verdicts.partitions = 4;
    config.processor.state_dir = state.to_path_buf();
    config.processor.tick_interval = Duration::from_millis(200);
    config.validate().expect("valid");
    config
}

/// Produces the test world's records.
struct Feed {
    producer: Producer,
    codec: Codec,
    topics: callsight_core::config::TopicsConfig,
}

impl Feed {
    fn new(config: &Config, cluster: &Cluster, kafka_metrics: Arc<KafkaMetrics>) -> Self {
        Feed {
            producer: Producer::new(&config.kafka, cluster.bootstrap(), kafka_metrics)
                .expect("producer"),
            codec: Codec::new(&config.codec).expect("codec"),
            topics: config.topics.clone(),
        }
    }

    async fn inventory(&self) {
        let topic = &self.topics.inventory.name;
        for r in samples::inventory_records() {
            let bytes = self.codec.encode(topic, &r).await.expect("encodes");
            self.producer
                .send(topic, r.entity_id.as_bytes(), &bytes, &[])
                .await
                .expect("delivered");
        }
    }

    async fn samples(&self, samples: &[callsight_model::types::NetworkSample]) {
        let topic = &self.topics.telemetry.name;
        let sends = samples.iter().map(|s| async move {
            let bytes = self.codec.encode(topic, s).await.expect("encodes");
            let key = format!("{}|{}", s.org_id, s.site_id);
            self.producer
                .send(topic, key.as_bytes(), &bytes, &[])
                .await
                .expect("delivered");
        });
        futures::future::join_all(sends).await;
    }

    async fn leg(&self, leg: &callsight_model::types::CallLeg) {
        let topic = &self.topics.legs.name;
        let bytes = self.codec.encode(topic, leg).await.expect("encodes");
        self.producer
            .send(topic, leg.key().as_bytes(), &bytes, &[])
            .await
            .expect("delivered");
    }
}

async fn produce_world(config: &Config, cluster: &Cluster, kafka_metrics: Arc<KafkaMetrics>) {
    let feed = Feed::new(config, cluster, kafka_metrics);
    feed.inventory().await;
    feed.samples(&telemetry(30)).await;
    for leg in legs() {
        feed.leg(&leg).await;
    }
}

/// Every verdict published, latest per leg, once the five legs have one and the revised leg's
/// verdict is of its last version.
async fn verdicts(
    config: &Config,
    cluster: &Cluster,
    kafka_metrics: Arc<KafkaMetrics>,
    group: &str,
    n: usize,
) -> (BTreeMap<String, RootCauseVerdict>, usize) {
    let revised = legs()[5].clone();
    let (handle, mut events) = consumer::start(
        &config.kafka,
        cluster.bootstrap(),
        group,
        &[&config.topics.verdicts.name],
        kafka_metrics,
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
        let event = tokio::time::timeout(Duration::from_secs(90), events.recv())
            .await
            .expect("verdicts within 90 s")
            .expect("open");
        if let ConsumerEvent::Record(r) = event {
            let v: RootCauseVerdict = codec
                .decode(&r.payload.expect("payload"))
                .await
                .expect("a verdict");
            assert_eq!(
                r.key.as_deref(),
                Some(format!("{}|{}|{}", v.org_id, v.call_id, v.leg_id).as_bytes())
            );
            total += 1;
            latest.insert(v.leg_id.clone(), v);
        }
    }
    // Anything else already there.
    while let Ok(Some(ConsumerEvent::Record(_))) =
        tokio::time::timeout(Duration::from_secs(3), events.recv()).await
    {
        total += 1;
    }
    let _ = tokio::task::spawn_blocking(move || handle.stop()).await;
    (latest, total)
}

async fn start(
    config: &Config,
    cluster: &Cluster,
    metrics: &Metrics,
    kafka_metrics: Arc<KafkaMetrics>,
) -> (Shutdown, Readiness) {
    let shutdown = Shutdown::new();
    let readiness = Readiness::new();
    callsight_processor::start(
        config,
        cluster.bootstrap(),
        metrics,
        kafka_metrics,
        &readiness,
        &shutdown,
    )
    .await
    .expect("starts");
    (shutdown, readiness)
}

/// Waits until the processors' consumer group has committed at least `records` of the telemetry
/// topic, summed over its partitions.
async fn committed_telemetry(config: &Config, cluster: &Cluster, records: i64) {
    use rdkafka::consumer::{BaseConsumer, Consumer as _};
    let consumer: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", cluster.bootstrap())
        .set("group.id", format!("{}-process", config.kafka.group_id))
        .create()
        .expect("a consumer that only reads the group's offsets");
    let mut partitions = rdkafka::TopicPartitionList::new();
    for p in 0..config.topics.telemetry.partitions {
        partitions.add_partition(&config.topics.telemetry.name, p);
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

fn metric(metrics: &Metrics, line: &str) -> f64 {
    metrics
        .render()
        .lines()
        .find(|l| l.starts_with(line))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

/// A state directory, its configuration, an embedded cluster and Kafka metrics.
async fn setup() -> (tempfile::TempDir, Config, Cluster, Arc<KafkaMetrics>) {
    let state = tempfile::tempdir().expect("temp dir");
    let config = config(state.path());
    let cluster = Cluster::connect(&config.kafka, &config.topics)
        .await
        .expect("cluster");
    let kafka_metrics = Arc::new(KafkaMetrics::register(&Metrics::new()).expect("metrics"));
    (state, config, cluster, kafka_metrics)
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
    let (_state, config, cluster, kafka_metrics) = setup().await;
    produce_world(&config, &cluster, kafka_metrics.clone()).await;

    let metrics = Metrics::new();
    let (shutdown, readiness) = start(&config, &cluster, &metrics, kafka_metrics.clone()).await;
    let (first, published) = verdicts(&config, &cluster, kafka_metrics.clone(), "read-1", 5).await;
    assert_congested_radio(&first);
    assert_eq!(
        first["call-1/p-1/0"].record_version,
        legs()[5].record_version,
        "the revision replaced it"
    );
    assert!(readiness.report().0, "{:?}", readiness.report());
    shutdown.drain(Duration::from_secs(20)).await;

    // The same process state again: it continues after what it applied; nothing is new.
    let metrics = Metrics::new();
    let (shutdown, _) = start(&config, &cluster, &metrics, kafka_metrics.clone()).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        metric(
            &metrics,
            "callsight_processor_verdicts_total{completeness=\"complete\"}"
        ),
        0.0
    );
    shutdown.drain(Duration::from_secs(20)).await;

    // No local state (another machine): the partitions are replayed; what was published is not
    // published again, and the state comes back whole.
    let other = tempfile::tempdir().expect("temp dir");
    let moved = self::config(other.path());
    let metrics = Metrics::new();
    let (shutdown, readiness) = start(&moved, &cluster, &metrics, kafka_metrics.clone()).await;
    let restored = async {
        while !readiness.report().0
            || metric(&metrics, "callsight_processor_partitions{state=\"live\"}") < 4.0
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
    assert!(metric(&metrics, "callsight_processor_restore_records_total") > 0.0);
    assert!(metric(&metrics, "callsight_processor_replayed_outputs_total") >= 5.0);
    assert_eq!(
        metric(
            &metrics,
            "callsight_processor_verdicts_total{completeness=\"complete\"}"
        ),
        0.0
    );
    let (again, total) = verdicts(&config, &cluster, kafka_metrics.clone(), "read-2", 5).await;
    assert_eq!(again, first);
    assert_eq!(total, published, "nothing was published twice");
    shutdown.drain(Duration::from_secs(20)).await;
}

#[tokio::test]
async fn topics_that_are_not_co_partitioned_are_refused() {
    let state = tempfile::tempdir().expect("temp dir");
    let config = config(state.path());
    let cluster = Cluster::connect(&config.kafka, &config.topics)
        .await
        .expect("cluster");
    cluster
        .embedded()
        .expect("embedded")
        .create_topic("legs-of-another-shape", 3)
        .expect("created");
    let mut wrong = config.clone();
    wrong.topics.legs.name = "legs-of-another-shape".into();
    let metrics = Metrics::new();
    let kafka_metrics = Arc::new(KafkaMetrics::register(&metrics).expect("metrics"));
    let error = callsight_processor::start(
        &wrong,
        cluster.bootstrap(),
        &metrics,
        kafka_metrics,
        &Readiness::new(),
        &Shutdown::new(),
    )
    .await
    .expect_err("refused");
    assert!(error.to_string().contains("has 3 partitions"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitions_move_between_two_processors_and_no_verdict_is_lost_or_wrong() {
    let (state_a, state_b) = (
        tempfile::tempdir().expect("temp dir"),
        tempfile::tempdir().expect("temp dir"),
    );
    let config_a = config(state_a.path());
    let config_b = config(state_b.path());
    let cluster = Cluster::connect(&config_a.kafka, &config_a.topics)
        .await
        .expect("cluster");
    let kafka_metrics = Arc::new(KafkaMetrics::register(&Metrics::new()).expect("metrics"));
    let feed = Feed::new(&config_a, &cluster, kafka_metrics.clone());
    feed.inventory().await;
    let all = telemetry(30);
    let half = all.len() / 2;
    feed.samples(&all[..half]).await;

    // A takes everything; then B joins and takes over some partitions, restoring them.
    let metrics_a = Metrics::new();
    let (stop_a, _) = start(&config_a, &cluster, &metrics_a, kafka_metrics.clone()).await;
    let owned = |m: &Metrics| {
        metric(m, "callsight_processor_partitions{state=\"live\"}")
            + metric(m, "callsight_processor_partitions{state=\"restoring\"}")
    };
    tokio::time::timeout(Duration::from_secs(60), async {
        while owned(&metrics_a) < 4.0 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("A owns every partition");
    // A has taken the first half and committed it, so that what moves to B is restored by replay
    // (a partition with no committed offset is consumed afresh from its beginning instead).
    committed_telemetry(&config_a, &cluster, half as i64).await;
    let metrics_b = Metrics::new();
    let (stop_b, _) = start(&config_b, &cluster, &metrics_b, kafka_metrics.clone()).await;
    tokio::time::timeout(Duration::from_secs(60), async {
        while owned(&metrics_b) < 1.0 || owned(&metrics_a) + owned(&metrics_b) != 4.0 {
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
            stop_a.drain(Duration::from_secs(20)).await;
        }
        feed.leg(leg).await;
    }
    let (verdicts, _) = verdicts(
        &config_a,
        &cluster,
        kafka_metrics.clone(),
        "read-rebalance",
        5,
    )
    .await;
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
    assert_eq!(
        owned(&metrics_b),
        4.0,
        "B owns every partition after A left"
    );
    assert!(
        metric(&metrics_b, "callsight_processor_restore_records_total") > 0.0,
        "B restored moved partitions by replay"
    );
    stop_b.drain(Duration::from_secs(20)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_that_do_not_decode_are_dead_lettered_and_the_rest_is_applied() {
    let (_state, config, cluster, kafka_metrics) = setup().await;
    let feed = Feed::new(&config, &cluster, kafka_metrics.clone());
    feed.inventory().await;
    let telemetry = telemetry(30);
    let (half, rest) = telemetry.split_at(telemetry.len() / 2);
    feed.samples(half).await;
    // Between good records of the same partitions: a record of no known framing (refused before
    // decoding), a sample cut short and a leg of an unknown writer schema (refused while
    // decoding, beside the partition's good records).
    let site = format!("{}|{}", half[0].org_id, half[0].site_id);
    let whole = feed
        .codec
        .encode(&config.topics.telemetry.name, &half[0])
        .await
        .expect("encodes");
    let mut unknown_writer = callsight_model::codec::single_object::MARKER.to_vec();
    unknown_writer.extend_from_slice(&[0; 8]);
    unknown_writer.extend_from_slice(b"\x02");
    let bad = [
        (&config.topics.telemetry.name, b"\xde\xad\xbe\xef".to_vec()),
        (
            &config.topics.telemetry.name,
            whole[..whole.len() - 4].to_vec(),
        ),
        (&config.topics.legs.name, unknown_writer),
    ];
    for (topic, payload) in &bad {
        feed.producer
            .send(topic, site.as_bytes(), payload, &[])
            .await
            .expect("delivered");
    }
    feed.samples(rest).await;
    for leg in legs() {
        feed.leg(&leg).await;
    }

    let metrics = Metrics::new();
    let (shutdown, _) = start(&config, &cluster, &metrics, kafka_metrics.clone()).await;
    let (verdicts, _) = verdicts(&config, &cluster, kafka_metrics.clone(), "read", 5).await;
    assert_congested_radio(&verdicts);
    let undecodable = |topic: &str| {
        metric(
            &metrics,
            &format!(
                "callsight_processor_records_total{{outcome=\"undecodable\",topic=\"{topic}\"}}"
            ),
        )
    };
    assert_eq!(undecodable("telemetry"), 2.0);
    assert_eq!(undecodable("legs"), 1.0);
    shutdown.drain(Duration::from_secs(20)).await;

    let letters = [
        format!("{}.dlq", config.topics.telemetry.name),
        format!("{}.dlq", config.topics.legs.name),
    ];
    let (handle, mut events) = consumer::start(
        &config.kafka,
        cluster.bootstrap(),
        "read-dead-letters",
        &[&letters[0], &letters[1]],
        kafka_metrics,
    )
    .expect("consumer");
    let mut kept = Vec::new();
    while kept.len() < bad.len() {
        let event = tokio::time::timeout(Duration::from_secs(30), events.recv())
            .await
            .expect("dead letters within 30 s")
            .expect("open");
        if let ConsumerEvent::Record(r) = event {
            let letter: callsight_model::types::DeadLetter =
                callsight_model::codec::single_object::decode(&r.payload.expect("payload"))
                    .expect("a dead letter");
            kept.push((letter.source_topic, letter.payload, letter.stage));
        }
    }
    kept.sort();
    let mut expected: Vec<_> = bad
        .iter()
        .map(|(topic, payload)| (topic.to_string(), payload.clone(), "process".to_string()))
        .collect();
    expected.sort();
    assert_eq!(kept, expected);
    let _ = tokio::task::spawn_blocking(move || handle.stop()).await;
}

/// The world on a fresh embedded broker, a processor configured for transactions, and the
/// broker primed to refuse the first offsets sent to a transaction with `error`.
async fn transactional_world(
    error: RDKafkaRespErr,
) -> (tempfile::TempDir, Config, Cluster, Arc<KafkaMetrics>) {
    let state = tempfile::tempdir().expect("temp dir");
    let mut config = config(state.path());
    config.processor.transactional_id = Some("process-test".into());
    let cluster = Cluster::connect(&config.kafka, &config.topics)
        .await
        .expect("cluster");
    let kafka_metrics = Arc::new(KafkaMetrics::register(&Metrics::new()).expect("metrics"));
    produce_world(&config, &cluster, kafka_metrics.clone()).await;
    cluster
        .embedded()
        .expect("embedded")
        .fail_requests(RDKafkaApiKey::AddOffsetsToTxn, &[error])
        .expect("fault injected");
    (state, config, cluster, kafka_metrics)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_transactions_an_aborted_batch_goes_again_and_every_verdict_arrives() {
    // The first offsets sent to a transaction are refused with an error that makes it
    // abortable: that transaction is aborted and its batch goes again in a new one.
    let (_state, config, cluster, kafka_metrics) =
        transactional_world(RDKafkaRespErr::RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED).await;

    let metrics = Metrics::new();
    let (shutdown, _) = start(&config, &cluster, &metrics, kafka_metrics.clone()).await;
    let (latest, _) = verdicts(&config, &cluster, kafka_metrics.clone(), "read-txn", 5).await;
    for id in ["call-1/p-1/0", "call-2/p-2/0", "call-3/p-3/0"] {
        assert_eq!(
            latest[id].primary_cause,
            CauseCode::WirelessChannelUtilization,
            "{id}: {}",
            latest[id].summary
        );
    }
    let outcome = |o: &str| {
        metric(
            &metrics,
            &format!("callsight_processor_transactions_total{{outcome=\"{o}\"}}"),
        )
    };
    assert!(outcome("committed") > 0.0);
    assert!(
        outcome("aborted") >= 1.0,
        "the refused transaction was aborted"
    );
    assert_eq!(outcome("failed"), 0.0);
    assert!(!shutdown.token.is_cancelled());
    shutdown.drain(Duration::from_secs(20)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fatal_transaction_error_stops_the_processor() {
    // The coordinator answers that a newer instance owns this transactional id.
    let (_state, config, cluster, kafka_metrics) =
        transactional_world(RDKafkaRespErr::RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH).await;

    let metrics = Metrics::new();
    let (shutdown, readiness) = start(&config, &cluster, &metrics, kafka_metrics).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    while !shutdown.token.is_cancelled() {
        assert!(
            std::time::Instant::now() < deadline,
            "the processor went on after a fatal transaction error"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(shutdown.failed(), "the process exits with a failure");
    assert_eq!(
        metric(
            &metrics,
            "callsight_processor_transactions_total{outcome=\"failed\"}"
        ),
        1.0
    );
    shutdown.drain(Duration::from_secs(20)).await;
    assert!(!readiness.report().0, "not ready once stopped");
}
