//! `callsight run` with no configuration: embedded broker, every topic, admin endpoints.

use callsight::run;
use callsight_core::shutdown::{Drained, Shutdown};
use callsight_e2e::{eventually, test_config};
use callsight_kafka::topics;
use std::time::Duration;

#[tokio::test]
async fn run_starts_the_broker_creates_every_topic_and_serves_admin_endpoints() {
    let config = test_config();
    let shutdown = Shutdown::new();
    let running = run::start(&config, run::Roles::ALL, &shutdown)
        .await
        .expect("starts");
    assert!(
        running.embedded,
        "no brokers configured: the embedded broker runs"
    );

    let (kafka, bootstrap) = (config.kafka.clone(), running.bootstrap.clone());
    let counts = tokio::task::spawn_blocking(move || {
        topics::partition_counts(&kafka, &bootstrap, Duration::from_secs(10))
    })
    .await
    .expect("joins")
    .expect("metadata");
    for spec in topics::specs(&config.topics) {
        assert_eq!(
            counts.get(&spec.name),
            Some(&spec.partitions),
            "{}",
            spec.name
        );
    }

    let http = reqwest::Client::new();
    let base = format!("http://{}", running.admin_addr);
    let live = http
        .get(format!("{base}/livez"))
        .send()
        .await
        .expect("livez");
    assert_eq!(live.status(), 200);
    let body = eventually(Duration::from_secs(30), "readyz 200", || {
        let (http, url) = (http.clone(), format!("{base}/readyz"));
        async move {
            let response = http.get(url).send().await.ok()?;
            (response.status() == 200).then_some(())?;
            response.text().await.ok()
        }
    })
    .await;
    assert!(body.contains("broker: ready"), "{body}");
    assert!(body.contains("topics: ready"), "{body}");
    let metrics = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("body");
    assert!(metrics.contains("callsight_build_info"), "{metrics}");

    assert_eq!(
        shutdown.drain(Duration::from_secs(10)).await,
        Drained::Clean
    );
    drop(running);
    assert!(
        http.get(format!("{base}/livez")).send().await.is_err(),
        "the admin server stops with the process"
    );
}
