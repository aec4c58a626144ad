//! The process role on the embedded broker: inventory, telemetry and legs in, verdicts out;
//! a restart on the same state publishes nothing twice; a restart without state replays, and
//! publishes only what had not been published; topics that are not co-partitioned are refused.

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

async fn produce_world(config: &Config, cluster: &Cluster, kafka_metrics: Arc<KafkaMetrics>) {
    let producer =
        Producer::new(&config.kafka, cluster.bootstrap(), kafka_metrics).expect("producer");
    let codec = Codec::new(&config.codec).expect("codec");
    let t = &config.topics;
    for r in samples::inventory_records() {
        let bytes = codec.encode(&t.inventory.name, &r).await.expect("encodes");
        producer
            .send(&t.inventory.name, r.entity_id.as_bytes(), &bytes, &[])
            .await
            .expect("delivered");
    }
    let samples = telemetry(30);
    let sends = samples.iter().map(|s| {
        let (producer, codec) = (&producer, &codec);
        async move {
            let bytes = codec.encode(&t.telemetry.name, s).await.expect("encodes");
            producer
                .send(
                    &t.telemetry.name,
                    format!("{}|{}", s.org_id, s.site_id).as_bytes(),
                    &bytes,
                    &[],
                )
                .await
                .expect("delivered");
        }
    });
    futures::future::join_all(sends).await;
    for leg in legs() {
        let bytes = codec.encode(&t.legs.name, &leg).await.expect("encodes");
        producer
            .send(&t.legs.name, leg.key().as_bytes(), &bytes, &[])
            .await
            .expect("delivered");
    }
}

/// Every verdict published, latest per leg, once `n` legs have one.
async fn verdicts(
    config: &Config,
    cluster: &Cluster,
    kafka_metrics: Arc<KafkaMetrics>,
    group: &str,
    n: usize,
) -> (BTreeMap<String, RootCauseVerdict>, usize) {
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
    while latest.len() < n {
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

fn metric(metrics: &Metrics, line: &str) -> f64 {
    metrics
        .render()
        .lines()
        .find(|l| l.starts_with(line))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legs_and_telemetry_in_verdicts_out_and_restarts_change_nothing() {
    let state = tempfile::tempdir().expect("temp dir");
    let config = config(state.path());
    let cluster = Cluster::connect(&config.kafka, &config.topics)
        .await
        .expect("cluster");
    let kafka_metrics = Arc::new(KafkaMetrics::register(&Metrics::new()).expect("metrics"));
    produce_world(&config, &cluster, kafka_metrics.clone()).await;

    let metrics = Metrics::new();
    let (shutdown, readiness) = start(&config, &cluster, &metrics, kafka_metrics.clone()).await;
    let (first, published) = verdicts(&config, &cluster, kafka_metrics.clone(), "read-1", 5).await;
    for id in ["call-1/p-1/0", "call-2/p-2/0", "call-3/p-3/0"] {
        assert_eq!(
            first[id].primary_cause,
            CauseCode::WirelessChannelUtilization,
            "{id}: {}",
            first[id].summary
        );
    }
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
