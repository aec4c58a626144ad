//! The Teams connector under load, on the embedded broker.
//!
//! `callsight-lab bench graph [SECONDS] [CONCURRENCY] [RECORDS]` (the configuration applies, e.g.
//! `CALLSIGHT__KAFKA__LINGER=2ms`; the broker is always the embedded one).
//!
//! 1. The webhook: Graph-shaped deliveries of one and of ten change notifications, each checked
//!    (tenant, subscription, `clientState`) and acknowledged by the broker before the 202, from
//!    `concurrency` senders for `seconds`: notifications/s with p50 and p99 latency.
//! 2. The fetcher: `records` call records in graphsim (two pages of sessions each), a
//!    notification for each on `teams.notifications`, fetched, normalised and produced as legs:
//!    records/s from the first notification to the last record's legs.
//!
//! The load generator and graphsim share the machine with callsight, so the figures are a floor.

#![expect(clippy::print_stdout, reason = "a benchmark reports on stdout")]

use super::load::{Body, hammer};
use super::metric;
use callsight::Config;
use callsight_core::config::Secret;
use callsight_graph::privacy::MasterKey;
use callsight_graphsim::state::{Admin, TenantSpec};
use callsight_graphsim::{GraphSim, SimConfig};
use callsight_kafka::Services;
use callsight_model::types::{
    GraphChangeType, GraphNotification, LinkState, NotificationOrigin, TenantLink,
};
use callsight_teams::WebhookLimits;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const ORG: &str = "org-bench";
const TENANT: &str = "5e3ce6c0-2b1f-4285-8d4b-75ee78787346";
const SUBSCRIPTION: &str = "7f105c7d-2dc5-4530-97cd-4e7ae6534c07";
const MASTER: &str = "5f1e3a9c7b2d4e6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f";

fn base_config(base: &Config) -> Config {
    let mut config = base.clone();
    config.kafka.brokers = String::new();
    config.ingest.listen = "127.0.0.1:0".parse().expect("addr");
    config.kafka.statistics_interval = Duration::ZERO;
    config.privacy.master_key = Secret(MASTER.into());
    config
}

/// An embedded cluster with the benchmark tenant's link written, fresh metrics and a shutdown.
async fn linked_cluster(config: &Config) -> Services {
    let services = super::embedded(config).await;
    write_link(&services).await;
    services
}

/// Writes the tenant's link (with a subscription far from expiry) to `teams.links`.
async fn write_link(services: &Services) {
    let master = MasterKey::from_hex(MASTER).expect("key");
    let mut link = TenantLink {
        org_id: ORG.into(),
        tenant_id: TENANT.into(),
        state: LinkState::Linked,
        linked_by_name: None,
        linked_by_email: None,
        linked_at: callsight_model::clock::now_ms(),
        updated_at: callsight_model::clock::now_ms(),
        static_config: false,
        keep_identity: false,
        key_id: None,
        wrapped_keys: Vec::new(),
        subscription_id: Some(SUBSCRIPTION.into()),
        subscription_expires_at: Some(callsight_model::clock::now_ms() + 3 * 86_400_000),
    };
    callsight_teams::link::keys::add_new(&master, &mut link, 0).expect("key");
    let producer = services.producer().expect("producer");
    let topic = &services.topics.links.name;
    let bytes = services.codec.encode(topic, &link).await.expect("encodes");
    producer
        .send(topic, ORG.as_bytes(), &bytes, &[])
        .await
        .expect("delivered");
}

fn delivery(n: usize, salt: usize, client_state: &str) -> Vec<u8> {
    let value: Vec<Value> = (0..n)
        .map(|i| {
            let id = format!("2f1a7c3e-8b4d-4e6a-{salt:04x}-{i:012x}");
            json!({
                "subscriptionId": SUBSCRIPTION,
                "clientState": client_state,
                "changeType": "created",
                "resource": format!("communications/callRecords/{id}"),
                "subscriptionExpirationDateTime": "2026-12-01T10:00:00.0000000Z",
                "tenantId": TENANT,
                "resourceData": {
                    "@odata.type": "#Microsoft.Graph.callrecord",
                    "@odata.id": format!("communications/callRecords/{id}"),
                    "id": id,
                },
            })
        })
        .collect();
    serde_json::to_vec(&json!({ "value": value })).expect("JSON")
}

async fn webhook_phase(base: &Config, seconds: u64, concurrency: usize) {
    let config = base_config(base);
    let services = linked_cluster(&config).await;
    let limits = WebhookLimits {
        max_body_bytes: config.graph.webhook_max_body_bytes,
        max_in_flight: config.ingest.max_in_flight,
        overload_wait: config.ingest.overload_wait,
        parse_threads: config.ingest.parse_threads,
    };
    let routes = callsight_teams::webhook_routes(
        &services,
        &config.graph,
        &config.privacy,
        limits,
        "http://127.0.0.1",
    )
    .await
    .expect("routes");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("listen");
    let url = format!(
        "http://{}/graph/notifications",
        listener.local_addr().expect("addr")
    );
    tokio::spawn(async move { axum::serve(listener, routes).await });
    let state = MasterKey::from_hex(MASTER)
        .expect("key")
        .client_state(TENANT);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .expect("client");
    // Until the link table has loaded.
    loop {
        let r = http.post(&url).body(delivery(1, 0, &state)).send().await;
        if r.is_ok_and(|r| r.status() == 202) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!(
        "webhook, {seconds} s per phase, {concurrency} concurrent senders, linger {:?}",
        config.kafka.linger
    );
    for per_delivery in [1usize, 10] {
        let bodies: Vec<Body> = (0..64)
            .map(|salt| Body {
                bytes: delivery(per_delivery, salt, &state),
                headers: Vec::new(),
            })
            .collect();
        let load = hammer(
            &url,
            bodies,
            concurrency,
            Duration::from_secs(seconds),
            |s| s == reqwest::StatusCode::ACCEPTED,
        )
        .await;
        println!(
            "  {per_delivery:>2} per delivery: {:>8.0} deliveries/s {:>8.0} notifications/s  p50 {:>6.1} ms  p99 {:>6.1} ms  ({} answered 202, {} not)",
            load.rate(),
            load.rate() * per_delivery as f64,
            load.latency_ms(0.5),
            load.latency_ms(0.99),
            load.answered,
            load.failed,
        );
    }
    // Its roles stop (their consumers commit and leave) while the embedded broker still runs.
    services.shutdown.drain(Duration::from_secs(30)).await;
}

async fn fetch_phase(base: &Config, records: usize) {
    let sim = GraphSim::start(SimConfig {
        page_size: 2,
        ..SimConfig::default()
    })
    .await
    .expect("graphsim");
    sim.add_tenant(TenantSpec {
        tenant_id: TENANT.into(),
        display_name: "Contoso".into(),
        admin: Admin {
            display_name: "Admin".into(),
            mail: None,
            user_principal_name: "admin@contoso.example".into(),
        },
        consented: true,
    });
    // Realistic call records, built into the binary so that the benchmark runs anywhere.
    let sample_json = include_str!("../../../graph/tests/data/02a_group_meeting_page1.json");
    let page2_json =
        include_str!("../../../graph/tests/data/02b_group_meeting_sessions_page2.json");
    let mut sample: Value = serde_json::from_str(sample_json).expect("JSON");
    let page2: Value = serde_json::from_str(page2_json).expect("JSON");
    // One record with all three sessions; graphsim pages them (two per page).
    let mut sessions = sample["sessions"].as_array().cloned().unwrap_or_default();
    sessions.extend(page2["value"].as_array().cloned().unwrap_or_default());
    sample["sessions"] = Value::Array(sessions);
    sample
        .as_object_mut()
        .expect("object")
        .remove("sessions@odata.nextLink");
    let mut ids = Vec::with_capacity(records);
    for n in 0..records {
        let mut record = sample.clone();
        record["id"] = Value::String(format!("6e1b2c3d-4f5a-4b6c-8d7e-{n:012x}"));
        let (id, _) = sim.complete_call(TENANT, record).expect("call");
        ids.push(id);
    }

    let mut config = base_config(base);
    config.graph.base_url = sim.graph_url();
    config.graph.login_url = sim.login_url();
    config.graph.client_id = sim.client_id();
    config.graph.client_secret = Secret(sim.client_secret());
    let services = linked_cluster(&config).await;
    callsight_teams::start_fetch(
        &services,
        &config.graph,
        &config.privacy,
        &config.classification,
        "http://127.0.0.1:1",
    )
    .await
    .expect("fetch");
    let (producer, codec) = (services.producer().expect("producer"), &services.codec);
    let metrics = &services.metrics;
    let topic = config.topics.notifications.name.clone();
    let started = Instant::now();
    let sends = ids.iter().map(|id| {
        let n = GraphNotification {
            org_id: ORG.into(),
            tenant_id: TENANT.into(),
            subscription_id: SUBSCRIPTION.into(),
            origin: NotificationOrigin::Webhook,
            change_type: Some(GraphChangeType::Created),
            lifecycle_event: None,
            call_id: Some(id.clone()),
            resource: Some(format!("communications/callRecords/{id}")),
            subscription_expires_at: None,
            received_at: callsight_model::clock::now_ms(),
        };
        let (producer, codec, topic) = (&producer, codec, &topic);
        async move {
            let bytes = codec.encode(topic, &n).await.expect("encodes");
            producer
                .send(topic, n.key().as_bytes(), &bytes, &[])
                .await
                .expect("delivered");
        }
    });
    futures::future::join_all(sends).await;
    let published = "outcome=\"published\"";
    while metric(metrics, "callsight_fetch_records_total", &[published]) < records as f64 {
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "the fetcher did not finish"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let secs = started.elapsed().as_secs_f64();
    let legs = metric(
        metrics,
        "callsight_fetch_legs_total",
        &["origin=\"webhook\""],
    );
    let stats = sim.stats();
    println!(
        "fetcher, {records} records of 3 sessions (2 pages each), fetch_concurrency {}: {:.0} records/s, {:.0} legs/s ({:.1} s, {} Graph requests)",
        config.graph.fetch_concurrency,
        records as f64 / secs,
        legs / secs,
        secs,
        stats.graph_requests
    );
    // Its roles stop (their consumers commit and leave) while the embedded broker still runs.
    services.shutdown.drain(Duration::from_secs(30)).await;
}

/// Runs the webhook phase for `seconds` with `concurrency` senders, then the fetcher over
/// `records` call records.
pub async fn graph(config: Config, seconds: u64, concurrency: usize, records: usize) {
    webhook_phase(&config, seconds, concurrency).await;
    fetch_phase(&config, records).await;
}
