//! `callsight broker`: an external Kafka client (kcat, from Debian) lists every topic.

use callsight_e2e::test_config;
use callsight_kafka::topics;
use serde_json::Value;
use std::process::Command;

#[test]
fn kcat_lists_every_topic_of_the_embedded_broker() {
    let config = test_config();
    let broker = callsight::broker::start(&config).expect("broker starts");
    let output = Command::new("kcat")
        .args(["-L", "-J", "-m", "10", "-b", broker.bootstrap_servers()])
        .output()
        .expect("kcat runs (the test command installs Debian's kcat package)");
    assert!(
        output.status.success(),
        "kcat failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value = serde_json::from_slice(&output.stdout).expect("kcat prints JSON");
    let listed: Vec<(String, usize)> = metadata["topics"]
        .as_array()
        .expect("topics")
        .iter()
        .map(|t| {
            (
                t["topic"].as_str().expect("name").to_string(),
                t["partitions"].as_array().expect("partitions").len(),
            )
        })
        .collect();
    for spec in topics::specs(&config.topics) {
        assert!(
            listed.contains(&(spec.name.clone(), spec.partitions as usize)),
            "{} with {} partitions not in {listed:?}",
            spec.name,
            spec.partitions
        );
    }
}

/// `callsight broker` has no admin API. A callsight pointed at it serves when every topic exists
/// (the admin API is not asked), and when one is missing says what to do, instead of waiting
/// for an admin request that never completes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_without_an_admin_api_is_used_as_it_is_or_named() {
    let config = test_config();
    let broker = callsight::broker::start(&config).expect("broker starts");
    let mut kafka = config.kafka.clone();
    kafka.brokers = broker.bootstrap_servers().to_string();
    callsight_kafka::cluster::Cluster::connect(&kafka, &config.topics)
        .await
        .expect("every topic exists: callsight starts on it");
    let mut topics = config.topics.clone();
    topics.verdicts.name = "rca.verdicts.not-created".into();
    let error = callsight_kafka::cluster::Cluster::connect(&kafka, &topics)
        .await
        .err()
        .expect("a topic is missing");
    let text = callsight_core::error::Report(&error).to_string();
    assert!(
        text.contains("rca.verdicts.not-created") && text.contains("kafka.create_topics = false"),
        "{text}"
    );
}
