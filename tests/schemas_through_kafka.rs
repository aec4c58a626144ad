//! Every schema, through the embedded broker: a sample of each record type is encoded, produced
//! to its topic, consumed and decoded equal.

use callsight_core::codec::Codec;
use callsight_e2e::test_config;
use callsight_kafka::consumer::{self, ConsumerEvent};
use callsight_model::Record;
use callsight_model::types::*;
use callsight_testkit::kafka;
use callsight_testkit::samples;
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::time::Duration;

/// Decodes `bytes` as `T` and renders it for comparison.
async fn decoded<T: Record + Debug>(codec: &Codec, bytes: &[u8]) -> String {
    let value: T = codec.decode(bytes).await.expect("decodes");
    format!("{value:?}")
}

#[tokio::test]
async fn every_record_type_round_trips_through_the_broker() {
    let config = test_config();
    let cluster = kafka::services(&config.kafka, &config.topics).await;
    let producer = cluster.producer().expect("producer");
    let codec = Codec::single_object();
    let t = &config.topics;
    let dlq = t.dead_letter_topic(&t.telemetry.name);

    // (topic, key, bytes, expected rendering)
    let mut sent: Vec<(String, Vec<u8>, String)> = Vec::new();
    macro_rules! send {
        ($topic:expr, $key:expr, $value:expr) => {{
            let value = $value;
            let bytes = codec.encode($topic, &value).await.expect("encodes");
            producer
                .send($topic, $key.as_bytes(), &bytes, &[])
                .await
                .expect("delivered");
            sent.push(($topic.to_string(), bytes, format!("{value:?}")));
        }};
    }
    send!(
        &t.notifications.name,
        "tenant|call",
        samples::graph_notification()
    );
    send!(&t.legs.name, "org|site", samples::call_leg());
    for sample in samples::network_samples() {
        send!(&t.telemetry.name, "org|site", sample);
    }
    for record in samples::inventory_records() {
        let key = record.entity_id.clone();
        send!(&t.inventory.name, key, record);
    }
    send!(&t.links.name, "org", samples::tenant_link());
    send!(
        &t.verdicts.name,
        "org|call|leg",
        samples::root_cause_verdict()
    );
    send!(&t.alerts.name, "org|scope", samples::scope_alert());
    send!(&dlq, "org|site", samples::dead_letter());
    send!(&t.control.name, "org", samples::control_message());

    let topics: Vec<&str> = vec![
        &t.notifications.name,
        &t.legs.name,
        &t.telemetry.name,
        &t.inventory.name,
        &t.links.name,
        &t.verdicts.name,
        &t.alerts.name,
        &dlq,
        &t.control.name,
    ];
    let (handle, mut rx) = consumer::start(
        &config.kafka,
        &cluster.bootstrap,
        "schemas-round-trip",
        &topics,
        kafka::kafka_metrics(),
    )
    .expect("consumer");
    let mut received: BTreeMap<Vec<u8>, String> = BTreeMap::new();
    while received.len() < sent.len() {
        let event = tokio::time::timeout(Duration::from_secs(60), rx.recv())
            .await
            .expect("records within 60 s")
            .expect("open");
        let ConsumerEvent::Record(record) = event else {
            continue;
        };
        let bytes = record.payload.expect("payload");
        let rendered = match record.topic.as_str() {
            x if x == t.notifications.name => decoded::<GraphNotification>(&codec, &bytes).await,
            x if x == t.legs.name => decoded::<CallLeg>(&codec, &bytes).await,
            x if x == t.telemetry.name => decoded::<NetworkSample>(&codec, &bytes).await,
            x if x == t.inventory.name => decoded::<InventoryRecord>(&codec, &bytes).await,
            x if x == t.links.name => decoded::<TenantLink>(&codec, &bytes).await,
            x if x == t.verdicts.name => decoded::<RootCauseVerdict>(&codec, &bytes).await,
            x if x == t.alerts.name => decoded::<ScopeAlert>(&codec, &bytes).await,
            x if x == dlq => decoded::<DeadLetter>(&codec, &bytes).await,
            x if x == t.control.name => decoded::<ControlMessage>(&codec, &bytes).await,
            other => panic!("unexpected topic {other}"),
        };
        received.insert(bytes, rendered);
    }
    for (topic, bytes, expected) in &sent {
        assert_eq!(
            received.get(bytes),
            Some(expected),
            "a record of {topic} did not come back equal"
        );
    }
    kafka::stop(handle).await;
}
