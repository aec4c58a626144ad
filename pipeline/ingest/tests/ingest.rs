//! The ingest endpoints and the Mist poller, against the embedded broker.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::routing::get;
use callsight_core::config::Secret;
use callsight_core::metrics::Metrics;
use callsight_ingest::config::{IngestConfig, MistOrgConfig};
use callsight_ingest::mist_poll::{MistApi, poll_org};
use callsight_kafka::config::KafkaConfig;
use callsight_kafka::consumer::{self, ConsumerEvent};
use callsight_kafka::{ConsumedRecord, Services};
use callsight_model::types::{DeadLetter, InventoryRecord, NetworkSample, SampleBody};
use callsight_telemetry::TimeWindow;
use callsight_telemetry::mist::signature::sign_v2;
use callsight_telemetry::mist::stats::StatsNormalizer;
use callsight_telemetry::mist::webhook;
use callsight_testkit::kafka;
use callsight_testkit::samples::{ORG, SITE};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

const SECRET: &str = "s3cr3t";

fn mist_data(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../telemetry/tests/data/mist")
            .join(name),
    )
    .expect("sample")
}

/// Loopback, the sample org; event times however old (the samples are of 2025).
fn config() -> IngestConfig {
    let mut config = IngestConfig {
        listen: "127.0.0.1:0".parse().expect("addr"),
        max_event_age: Duration::MAX,
        ..IngestConfig::default()
    };
    config.mist.orgs.insert(
        ORG.into(),
        MistOrgConfig {
            webhook_secret: Secret(SECRET.into()),
            ..MistOrgConfig::default()
        },
    );
    config
}

/// The telemetry endpoints served on loopback, on the embedded broker.
struct Running {
    services: Services,
    url: String,
    http: reqwest::Client,
}

impl std::ops::Deref for Running {
    type Target = Services;
    fn deref(&self) -> &Services {
        &self.services
    }
}

async fn start(config: IngestConfig) -> Running {
    start_with(config, kafka::kafka_config()).await
}

async fn start_with(config: IngestConfig, kafka_config: KafkaConfig) -> Running {
    let services = kafka::services(&kafka_config, &kafka::topics(2)).await;
    let routes = callsight_ingest::Ingest::new(&services, &config)
        .expect("ingest starts")
        .routes();
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .expect("listens");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    callsight_core::serve::spawn(
        &services.shutdown,
        listener,
        routes,
        "ingest",
        &callsight_core::serve::HttpConfig::default(),
    );
    Running {
        services,
        url,
        http: reqwest::Client::new(),
    }
}

impl Running {
    /// Every record of `topics` until `count` have arrived.
    async fn consume(&self, group: &str, topics: &[&str], count: usize) -> Vec<ConsumedRecord> {
        let (handle, mut rx) = consumer::start(
            &self.kafka,
            &self.bootstrap,
            group,
            topics,
            kafka::kafka_metrics(),
        )
        .expect("consumer");
        let mut out = Vec::new();
        while out.len() < count {
            let event = tokio::time::timeout(Duration::from_secs(60), rx.recv())
                .await
                .unwrap_or_else(|_| panic!("only {} of {count} records within 60 s", out.len()))
                .expect("open");
            if let ConsumerEvent::Record(r) = event {
                out.push(r);
            }
        }
        kafka::stop(handle).await;
        out
    }

    /// A `POST /telemetry` of NDJSON, to be given its body (and token).
    fn ndjson(&self) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}/telemetry", self.url))
            .header("Content-Type", "application/x-ndjson")
    }

    async fn post_mist(&self, body: &[u8], signature: &str) -> reqwest::Response {
        self.http
            .post(format!("{}/telemetry/mist/{ORG}", self.url))
            .header("Content-Type", "application/json")
            .header("X-Mist-Signature-v2", signature)
            .body(body.to_vec())
            .send()
            .await
            .expect("answers")
    }
}

fn decode_samples(records: &[ConsumedRecord]) -> Vec<NetworkSample> {
    records
        .iter()
        .filter(|r| r.topic == "net.telemetry")
        .map(|r| {
            callsight_model::codec::single_object::decode(r.payload.as_deref().expect("payload"))
                .expect("decodes")
        })
        .collect()
}

#[tokio::test]
async fn signed_mist_deliveries_land_on_net_telemetry() {
    let running = start(config()).await;
    let mut expected = Vec::new();
    for name in [
        "webhook_client_sessions.json",
        "webhook_client_join.json",
        "webhook_device_events.json",
    ] {
        let body = mist_data(name);
        let response = running
            .post_mist(&body, &sign_v2(SECRET.as_bytes(), &body))
            .await;
        assert_eq!(response.status(), 200, "{name}");
        let answer: Value = response.json().await.expect("json");
        let parsed = webhook::parse(&body, &anytime(Some(ORG))).expect("parses");
        assert_eq!(answer["accepted"], parsed.records.len(), "{name}");
        expected.extend(parsed.records.into_iter().map(|r| match r {
            callsight_telemetry::Record::Sample(s) => s,
            other => panic!("{other:?}"),
        }));
    }
    let records = running
        .consume("mist", &["net.telemetry"], expected.len())
        .await;
    assert!(
        records.iter().all(
            |r| r.key.as_deref() == Some(callsight_model::keys::site_key(ORG, SITE).as_bytes())
        )
    );
    let mut got = decode_samples(&records);
    let order = |s: &NetworkSample| (s.time, format!("{:?}", s.body));
    got.sort_by_key(order);
    expected.sort_by_key(order);
    assert_eq!(got, expected);
    running.shutdown.token.cancel();
}

#[tokio::test]
async fn bad_signatures_unknown_orgs_and_bad_bodies_are_refused_with_reasons() {
    let running = start(config()).await;
    let body = mist_data("webhook_client_join.json");
    let good = sign_v2(SECRET.as_bytes(), &body);
    let mut changed = body.clone();
    changed[100] ^= 1;
    let refused = running.post_mist(&changed, &good).await;
    assert_eq!(refused.status(), 401);
    assert!(
        refused
            .text()
            .await
            .expect("body")
            .contains("does not match")
    );

    let unsigned = running
        .http
        .post(format!("{}/telemetry/mist/{ORG}", running.url))
        .body(body.clone())
        .send()
        .await
        .expect("answers");
    assert_eq!(unsigned.status(), 401);

    let unknown = running
        .http
        .post(format!("{}/telemetry/mist/some-other-org", running.url))
        .header("X-Mist-Signature-v2", &good)
        .body(body.clone())
        .send()
        .await
        .expect("answers");
    // An unknown org is answered exactly as a wrong signature is: no org enumeration.
    assert_eq!(unknown.status(), 401);
    let unknown_text = unknown.text().await.expect("body");
    let wrong = running
        .post_mist(&body, &sign_v2(b"another secret", &body))
        .await;
    assert_eq!(wrong.status(), 401);
    assert_eq!(unknown_text, wrong.text().await.expect("body"));

    let garbage = b"{not json".to_vec();
    let bad = running
        .post_mist(&garbage, &sign_v2(SECRET.as_bytes(), &garbage))
        .await;
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.expect("body").contains("not JSON"));

    // With exactly one org configured, /telemetry/mist is that org.
    let single = running
        .http
        .post(format!("{}/telemetry/mist", running.url))
        .header("X-Mist-Signature-v2", &good)
        .body(body)
        .send()
        .await
        .expect("answers");
    assert_eq!(single.status(), 200);

    let rendered = running.metrics.render();
    assert!(
        rendered.contains("callsight_ingest_signature_failures_total{reason=\"mismatch\"} 2"),
        "{rendered}"
    );
    assert!(
        rendered.contains("callsight_ingest_signature_failures_total{reason=\"no_secret\"} 1"),
        "{rendered}"
    );
    assert!(
        rendered.contains("callsight_ingest_signature_failures_total{reason=\"missing\"} 1"),
        "{rendered}"
    );
    assert!(
        rendered.contains(
            "callsight_ingest_requests_total{endpoint=\"mist_webhook\",status=\"401\"} 4"
        ),
        "{rendered}"
    );
    running.shutdown.token.cancel();
}

#[tokio::test]
async fn ndjson_takes_the_good_lines_and_keeps_the_bad_ones_as_dead_letters() {
    let running = start(config()).await;
    let mut body = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../telemetry/tests/data/ndjson/example.ndjson"),
    )
    .expect("example");
    body.extend_from_slice(b"{\"type\":\"ap\",\"org_id\":\"o\",\"site_id\":\"s\",\"time\":1,\"ap_mac\":\"00aabbccdd01\",\"rssi\":-70}\nnot json at all\n");
    let response = running.ndjson().body(body).send().await.expect("answers");
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.expect("json");
    assert_eq!(answer["accepted"], 14);
    assert_eq!(answer["rejected"].as_array().expect("array").len(), 2);
    assert_eq!(answer["rejected_count"], 2);
    assert_eq!(answer["rejected"][0]["index"], 15);

    let records = running
        .consume(
            "ndjson",
            &["net.telemetry", "net.inventory", "net.telemetry.dlq"],
            16,
        )
        .await;
    let count = |topic: &str| records.iter().filter(|r| r.topic == topic).count();
    assert_eq!(
        (
            count("net.telemetry"),
            count("net.inventory"),
            count("net.telemetry.dlq")
        ),
        (8, 6, 2)
    );
    for r in records.iter().filter(|r| r.topic == "net.inventory") {
        let inventory: InventoryRecord =
            callsight_model::codec::single_object::decode(r.payload.as_deref().expect("payload"))
                .expect("decodes");
        assert_eq!(r.key.as_deref(), Some(inventory.entity_id.as_bytes()));
    }
    let letters: Vec<DeadLetter> = records
        .iter()
        .filter(|r| r.topic == "net.telemetry.dlq")
        .map(|r| {
            callsight_model::codec::single_object::decode(r.payload.as_deref().expect("payload"))
                .expect("decodes")
        })
        .collect();
    assert!(
        letters
            .iter()
            .any(|l| l.payload == b"not json at all" && l.error.starts_with("not JSON"))
    );
    assert!(
        letters
            .iter()
            .all(|l| l.source_topic == "http:/telemetry" && l.stage == "ingest")
    );
    running.shutdown.token.cancel();
}

/// With the default window (7 days back, 10 minutes ahead), a line stamped at the end of time or
/// long ago is dead-lettered with the reason; the line beside it is accepted.
#[tokio::test]
async fn event_times_outside_the_window_are_dead_letters() {
    let running = start(IngestConfig {
        max_event_age: IngestConfig::default().max_event_age,
        ..config()
    })
    .await;
    let now = callsight_model::clock::now_ms();
    let line = |time: i64| {
        format!(
            "{{\"type\":\"ap\",\"org_id\":\"o\",\"site_id\":\"s\",\"time\":{time},\"ap_mac\":\"00aabbccdd01\"}}\n"
        )
    };
    let body = [line(now), line(i64::MAX), line(now - 8 * 86_400_000)].concat();
    let response = running.ndjson().body(body).send().await.expect("answers");
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.expect("json");
    assert_eq!(
        (
            answer["accepted"].as_u64(),
            answer["rejected_count"].as_u64()
        ),
        (Some(1), Some(2))
    );
    let records = running
        .consume("window", &["net.telemetry", "net.telemetry.dlq"], 3)
        .await;
    let letters: Vec<DeadLetter> = records
        .iter()
        .filter(|r| r.topic == "net.telemetry.dlq")
        .map(|r| {
            callsight_model::codec::single_object::decode(r.payload.as_deref().expect("payload"))
                .expect("decodes")
        })
        .collect();
    assert_eq!(letters.len(), 2);
    assert!(
        letters[0].error.contains("further ahead than accepted"),
        "{letters:?}"
    );
    assert!(
        letters[1].error.contains("older than accepted"),
        "{letters:?}"
    );
    running.shutdown.token.cancel();
}

/// What a test's log subscriber wrote.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Captured {
    /// Captures this thread's log at INFO and above until the guard is dropped.
    fn start() -> (Captured, tracing::subscriber::DefaultGuard) {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        (captured, tracing::subscriber::set_default(subscriber))
    }

    /// What was logged so far.
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().expect("log").clone()).expect("UTF-8")
    }
}

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Rejected lines that quote personal values (a device name, an e-mail, an IP) are logged by
/// kind and number only, once per request: the values stay in the answer (the sender's own
/// data) and in the dead letters.
#[tokio::test]
async fn rejected_values_stay_out_of_the_log_and_a_request_logs_once() {
    let (captured, _guard) = Captured::start();
    let running = start(config()).await;
    let personal = [
        "{\"type\":\"ap\",\"org_id\":\"o\",\"site_id\":\"s\",\"time\":1,\"ap_mac\":\"Alice-Probe-iPhone\",\"rssi\":-70}",
        "{\"type\":\"ap\",\"org_id\":\"o\",\"site_id\":\"s\",\"time\":\"alice@example.com\",\"ap_mac\":\"00aabbccdd01\"}",
    ];
    let mut body = String::new();
    for _ in 0..100 {
        for line in personal {
            body.push_str(line);
            body.push('\n');
        }
    }
    let response = running.ndjson().body(body).send().await.expect("answers");
    assert_eq!(response.status(), 200);
    let answer = response.text().await.expect("body");
    // The values did reach the error texts: the log is where they must not be.
    for value in ["Alice-Probe-iPhone", "alice@example.com"] {
        assert!(answer.contains(value), "{value} not in the answer");
    }
    let log = captured.text();
    let head: String = log.chars().take(2000).collect();
    for value in ["Alice-Probe-iPhone", "alice@example.com"] {
        assert!(!log.contains(value), "{value} logged:\n{head}");
    }
    let dead_letter_lines = log
        .lines()
        .filter(|l| l.contains("dead-letter topic"))
        .count();
    assert_eq!(dead_letter_lines, 1, "{head}");
    assert!(log.contains("letters=200"), "{head}");
    // The answer names the first rejects and counts them all.
    let answer: Value = serde_json::from_str(&answer).expect("JSON");
    assert_eq!(answer["rejected_count"], 200);
    assert_eq!(
        answer["rejected"].as_array().map(Vec::len),
        Some(callsight_ingest::http::MAX_REJECTS_ANSWERED)
    );
    running.shutdown.token.cancel();
}

/// Anyone can send a delivery with a bad signature: each is counted, but the log gets at most
/// one line per interval.
#[tokio::test]
async fn refused_signatures_are_counted_each_and_logged_rarely() {
    let (captured, _guard) = Captured::start();
    let running = start(config()).await;
    let body = mist_data("webhook_client_join.json");
    let wrong = sign_v2(b"not the secret", &body);
    for _ in 0..50 {
        assert_eq!(running.post_mist(&body, &wrong).await.status(), 401);
    }
    let rendered = running.metrics.render();
    assert!(
        rendered.contains("callsight_ingest_signature_failures_total{reason=\"mismatch\"} 50"),
        "{rendered}"
    );
    let log = captured.text();
    let lines = log
        .lines()
        .filter(|l| l.contains("refused for its signature"))
        .count();
    assert!(lines <= 1, "{lines} lines:\n{log}");
    running.shutdown.token.cancel();
}

#[tokio::test]
async fn the_schema_is_served_and_oversized_bodies_are_refused() {
    let mut config = config();
    config.max_body_bytes = 4096;
    config.telemetry_token = Secret("exporter-token".into());
    let running = start(config).await;
    let schema: Value = running
        .http
        .get(format!("{}/telemetry/schema", running.url))
        .send()
        .await
        .expect("answers")
        .json()
        .await
        .expect("json");
    assert_eq!(schema["oneOf"].as_array().expect("variants").len(), 13);

    let line = b"{\"type\":\"ap\",\"org_id\":\"o\",\"site_id\":\"s\",\"time\":1,\"ap_mac\":\"00aabbccdd01\"}\n";
    let no_token = running
        .ndjson()
        .body(line.to_vec())
        .send()
        .await
        .expect("answers");
    assert_eq!(no_token.status(), 401);
    let ok = running
        .ndjson()
        .bearer_auth("exporter-token")
        .body(line.to_vec())
        .send()
        .await
        .expect("answers");
    assert_eq!(ok.status(), 200);
    let big = running
        .ndjson()
        .bearer_auth("exporter-token")
        .body(line.repeat(100))
        .send()
        .await
        .expect("answers");
    assert_eq!(big.status(), 413);
    let rendered = running.metrics.render();
    assert!(
        rendered.contains("callsight_ingest_requests_total{endpoint=\"ndjson\",status=\"413\"} 1"),
        "{rendered}"
    );
    running.shutdown.token.cancel();
}

/// No broker: nothing is acknowledged, so the sender is told to retry; and while records wait
/// for a broker, further requests are turned away rather than buffered.
#[tokio::test]
async fn without_a_broker_the_sender_is_told_to_retry_and_overload_is_bounded() {
    let mut config = config();
    config.max_in_flight = 1;
    config.overload_wait = Duration::from_millis(200);
    let running = start_with(
        config,
        KafkaConfig {
            delivery_timeout: Duration::from_secs(3),
            ..kafka::kafka_config()
        },
    )
    .await;
    // The broker goes away after the start.
    running
        .cluster()
        .embedded()
        .expect("the embedded broker")
        .set_up(false)
        .expect("the broker stops");
    let url = format!("{}/telemetry", running.url);
    let line = b"{\"type\":\"ap\",\"org_id\":\"o\",\"site_id\":\"s\",\"time\":1,\"ap_mac\":\"00aabbccdd01\"}\n".to_vec();
    let http = reqwest::Client::new();
    let first = tokio::spawn({
        let (http, url, line) = (http.clone(), url.clone(), line.clone());
        async move {
            http.post(url)
                .header("Content-Type", "application/x-ndjson")
                .body(line)
                .send()
                .await
                .expect("answers")
        }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let second = http
        .post(&url)
        .header("Content-Type", "application/x-ndjson")
        .body(line)
        .send()
        .await
        .expect("answers");
    assert_eq!(second.status(), 503);
    assert_eq!(
        second
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap_or("")),
        Some("1")
    );
    assert!(second.text().await.expect("body").contains("overloaded"));
    let first = first.await.expect("joins");
    assert_eq!(first.status(), 503);
    assert!(first.text().await.expect("body").contains("broker"));
    let rendered = running.metrics.render();
    assert!(
        rendered.contains("callsight_ingest_overload_total{endpoint=\"ndjson\"} 1"),
        "{rendered}"
    );
    running.shutdown.token.cancel();
}

/// A fake Mist API serving the samples, checking the org token.
async fn fake_mist() -> String {
    #[derive(Clone)]
    struct Files(Arc<HashMap<&'static str, Value>>);
    let file = |name| serde_json::from_slice::<Value>(&mist_data(name)).expect("json");
    let files = Files(Arc::new(HashMap::from([
        ("clients", file("stats_wireless_client.json")),
        ("ap", Value::Array(vec![file("stats_ap.json")])),
        ("gateway", Value::Array(vec![file("stats_gateway.json")])),
        (
            "ports",
            serde_json::json!({ "results": file("stats_switch_port.json"), "limit": 1000, "total": 3 }),
        ),
        (
            "peers",
            serde_json::json!({ "results": file("vpn_peer_stat.json") }),
        ),
        ("networks", file("org_networks.json")),
        (
            "wired",
            callsight_testkit::vendor::mist_openapi_example("WiredClientsSearchExample"),
        ),
        ("derived", file("site_setting_derived.partial.json")),
    ])));
    fn authorized(headers: &HeaderMap) -> bool {
        headers.get("authorization").and_then(|v| v.to_str().ok()) == Some("Token mist-token")
    }
    async fn serve(
        State(files): State<Files>,
        headers: HeaderMap,
        key: &'static str,
    ) -> axum::response::Response {
        use axum::response::IntoResponse;
        if !authorized(&headers) {
            return axum::http::StatusCode::UNAUTHORIZED.into_response();
        }
        axum::Json(files.0[key].clone()).into_response()
    }
    let app = Router::new()
        .route(
            "/api/v1/orgs/{org}/sites",
            get(|headers: HeaderMap, Path(org): Path<String>| async move {
                use axum::response::IntoResponse;
                if !authorized(&headers) || org != ORG {
                    return axum::http::StatusCode::UNAUTHORIZED.into_response();
                }
                axum::Json(serde_json::json!([{ "id": SITE, "name": "HQ-Zurich", "timezone": "Europe/Zurich", "country_code": "CH" }])).into_response()
            }),
        )
        .route("/api/v1/orgs/{org}/networks", get(|s: State<Files>, h: HeaderMap| serve(s, h, "networks")))
        .route("/api/v1/orgs/{org}/stats/vpn_peers/search", get(|s: State<Files>, h: HeaderMap| serve(s, h, "peers")))
        .route("/api/v1/sites/{site}/stats/clients", get(|s: State<Files>, h: HeaderMap| serve(s, h, "clients")))
        .route(
            "/api/v1/sites/{site}/stats/devices",
            get(|s: State<Files>, h: HeaderMap, Query(q): Query<HashMap<String, String>>| async move {
                match q.get("type").map(String::as_str) {
                    Some("ap") => serve(s, h, "ap").await,
                    Some("gateway") => serve(s, h, "gateway").await,
                    _ => axum::response::IntoResponse::into_response(axum::Json(serde_json::json!([
                        { "mac": "0c8126c7a100", "name": "HQ-ACC-SW1", "model": "EX2300-C-12P", "type": "switch" }
                    ]))),
                }
            }),
        )
        .route("/api/v1/sites/{site}/stats/ports/search", get(|s: State<Files>, h: HeaderMap| serve(s, h, "ports")))
        .route("/api/v1/sites/{site}/wired_clients/search", get(|s: State<Files>, h: HeaderMap| serve(s, h, "wired")))
        .route("/api/v1/sites/{site}/setting/derived", get(|s: State<Files>, h: HeaderMap| serve(s, h, "derived")))
        .with_state(files);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test]
async fn the_poller_turns_the_mist_api_into_samples_and_inventory() {
    let running = start(config()).await;
    let mist = fake_mist().await;
    let metrics =
        callsight_ingest::metrics::IngestMetrics::register(&Metrics::new()).expect("metrics");
    let api = MistApi::new(&mist, "mist-token", metrics.clone()).expect("client");
    // The poller's sink, as the mist-poll role builds it.
    let producer = running.producer().expect("producer");
    let sink = callsight_ingest::sink::Sink::new(
        producer.clone(),
        running.codec.clone(),
        running.dead_letters(producer),
        &running.topics,
        1000,
        Duration::from_secs(2),
        metrics,
    );
    let org = MistOrgConfig {
        api_token: Secret("mist-token".into()),
        ..MistOrgConfig::default()
    };
    let mut normalizer = StatsNormalizer::new();
    let produced = poll_org(&api, ORG, &org, &mut normalizer, &sink, 1_741_597_800_000)
        .await
        .expect("polls")
        .records;
    // Site, 3 clients, a wired client (Mist's own example), AP (sample, 2 radios, inventory),
    // gateway (inventory, 2 WAN links, 2 paths), 3 ports and the switch, 2 subnets, 2 VPN paths.
    assert_eq!(produced, 1 + 3 + 1 + 4 + 5 + 4 + 2 + 2);
    let records = running
        .consume("poller", &["net.telemetry", "net.inventory"], produced)
        .await;
    let samples = decode_samples(&records);
    assert!(
        samples.iter().any(
            |s| matches!(&s.body, SampleBody::ApRadio(r) if r.util_non_wifi_ratio == Some(0.44))
        )
    );
    assert!(samples.iter().any(|s| matches!(&s.body, SampleBody::WanPath(w) if w.loss_ratio == Some(0.04) && w.peer_mac.is_some())));
    assert!(
        samples
            .iter()
            .any(|s| matches!(&s.body, SampleBody::ClientBinding(b)
        if b.kind == callsight_model::types::BindingKind::WiredAttach
            && b.client_mac == "112233445566"
            && b.switch_mac.as_deref() == Some("001122334455")
            && b.port_id.as_deref() == Some("et-0/0/1")
            && b.vlan == Some(1001)))
    );
    let inventory: Vec<String> = records
        .iter()
        .filter(|r| r.topic == "net.inventory")
        .filter_map(|r| {
            r.key
                .as_ref()
                .map(|k| String::from_utf8_lossy(k).to_string())
        })
        .collect();
    for id in [
        "site:3f9c1e2a-7b4d-4c8e-9a01-5d6e7f809a1b",
        "ap:5c5b35a1c020",
        "switch:0c8126c7a100",
        "gateway:4c96147e2b00",
        "wan:4c96147e2b00/ge-0/0/7",
    ] {
        assert!(
            inventory.iter().any(|k| k == id),
            "{id} not in {inventory:?}"
        );
    }

    // Recorded and replayed: the answers written to a folder give the same records again.
    let recordings = tempfile::tempdir().expect("dir");
    let recording = MistApi::new(
        &mist,
        "mist-token",
        callsight_ingest::metrics::IngestMetrics::register(&Metrics::new()).expect("m"),
    )
    .expect("client")
    .recording_into(recordings.path(), ORG);
    let live = poll_org(
        &recording,
        ORG,
        &org,
        &mut StatsNormalizer::new(),
        &sink,
        1_741_597_800_000,
    )
    .await
    .expect("polls");
    let folder = std::fs::read_dir(recordings.path())
        .expect("dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.is_dir())
        .expect("a poll's folder");
    let recorded = callsight_ingest::mist_record::read(&folder)
        .expect("reads")
        .expect("a recorded poll");
    assert_eq!(recorded.org_id, ORG);
    assert_eq!(recorded.polled_at, 1_741_597_800_000);
    let replayed = poll_org(
        &MistApi::recorded(
            &recorded,
            callsight_ingest::metrics::IngestMetrics::register(&Metrics::new()).expect("m"),
        ),
        ORG,
        &org,
        &mut StatsNormalizer::new(),
        &sink,
        recorded.polled_at,
    )
    .await
    .expect("replays");
    assert_eq!(replayed.records, live.records);
    assert_eq!(replayed.inventory, live.inventory);

    // A wrong token: the first request (the org's sites) is refused, and the poll ends there,
    // before anything is produced.
    let wrong = MistApi::new(
        &mist,
        "nope",
        callsight_ingest::metrics::IngestMetrics::register(&Metrics::new()).expect("m"),
    )
    .expect("client");
    let refused = poll_org(&wrong, ORG, &org, &mut normalizer, &sink, 1_741_597_860_000).await;
    assert!(
        matches!(
            refused,
            Err(callsight_ingest::mist_poll::PollError::Status { .. })
        ),
        "{refused:?}"
    );
    running.shutdown.token.cancel();
}

/// Random valid NDJSON batches, with garbage lines between the records, arrive on
/// `net.telemetry` exactly: every valid line once, nothing else.
#[tokio::test]
async fn random_ndjson_batches_arrive_exactly() {
    use callsight_model::types::{ApRadioSample, WifiBand, WirelessClientSample};
    use callsight_telemetry::Record;
    let running = start(config()).await;
    // splitmix64, seeded: every run posts the same batches.
    let mut state = 0x5eed_u64;
    let mut next = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let mut expected = Vec::new();
    for batch in 0..3 {
        let mut body = String::new();
        for i in 0..40 {
            let mac = format!("0a{:010x}", next() & 0xff_ffff_ffff);
            let body_kind = if next() % 2 == 0 {
                SampleBody::WirelessClient(WirelessClientSample {
                    client_mac: mac,
                    ap_mac: "5c5b35a1c020".into(),
                    band: WifiBand::Band5Ghz,
                    rssi_dbm: Some(-((next() % 60) as f64) - 30.0),
                    ..Default::default()
                })
            } else {
                SampleBody::ApRadio(ApRadioSample {
                    ap_mac: mac,
                    band: WifiBand::Band2_4Ghz,
                    util_all_ratio: Some((next() % 100) as f64 / 100.0),
                    ..Default::default()
                })
            };
            let sample = NetworkSample {
                org_id: "org-random".into(),
                site_id: format!("site-{}", next() % 4),
                time: 1_767_603_600_000 + (batch * 1000 + i) as i64,
                source: "random".into(),
                sequence: 0,
                body: body_kind,
            };
            if next() % 5 == 0 {
                body.push_str("{\"type\":\"ap\",\"broken\n");
            }
            body.push_str(&callsight_telemetry::ndjson::to_line(&Record::Sample(
                sample.clone(),
            )));
            body.push('\n');
            expected.push(sample);
        }
        let response = running.ndjson().body(body).send().await.expect("answers");
        assert_eq!(response.status(), 200);
    }
    let records = running
        .consume("random", &["net.telemetry"], expected.len())
        .await;
    let mut got = decode_samples(&records);
    let order = |s: &NetworkSample| (s.time, s.site_id.clone());
    got.sort_by_key(order);
    expected.sort_by_key(order);
    assert_eq!(got, expected);
    // And nothing more arrives.
    let (handle, mut rx) = consumer::start(
        &running.kafka,
        &running.bootstrap,
        "random-again",
        &["net.telemetry"],
        kafka::kafka_metrics(),
    )
    .expect("consumer");
    let mut count = 0;
    while let Ok(Some(event)) = tokio::time::timeout(Duration::from_secs(8), rx.recv()).await {
        if matches!(event, ConsumerEvent::Record(_)) {
            count += 1;
        }
    }
    assert_eq!(count, expected.len(), "every line exactly once");
    kafka::stop(handle).await;
    running.shutdown.token.cancel();
}

/// A delivery for `org` that accepts any event time (the samples are of the past).
fn anytime(org: Option<&str>) -> webhook::Delivery<'_> {
    webhook::Delivery {
        org,
        window: TimeWindow::ANY,
    }
}

/// A sender without the bearer token, or posting to an org without a secret, is refused before
/// its body is read: the answer comes while the announced body has not been sent.
#[tokio::test]
async fn credentials_are_checked_before_the_body_is_read() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut config = config();
    config.telemetry_token = Secret("exporter-token".into());
    let running = start(config).await;
    let addr = running.url.trim_start_matches("http://").to_string();
    for head in [
        "POST /telemetry HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n".to_string(),
        "POST /telemetry HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong\r\nContent-Length: 1000000\r\n\r\n".to_string(),
        "POST /telemetry/mist/no-such-org HTTP/1.1\r\nHost: x\r\nX-Mist-Signature-v2: 00\r\nContent-Length: 1000000\r\n\r\n".to_string(),
        format!("POST /telemetry/mist/{ORG} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n"),
    ] {
        let mut stream = tokio::net::TcpStream::connect(&addr)
            .await
            .expect("connects");
        stream.write_all(head.as_bytes()).await.expect("writes");
        let mut answer = vec![0u8; 256];
        let n = tokio::time::timeout(Duration::from_secs(30), stream.read(&mut answer))
            .await
            .expect("answered without the body")
            .expect("reads");
        let answer = String::from_utf8_lossy(&answer[..n]);
        assert!(answer.starts_with("HTTP/1.1 401"), "{head}: {answer}");
    }
    running.shutdown.token.cancel();
}

/// A web page can post cross-origin without a preflight only as text/plain, a form, or a body
/// without a type: `POST /telemetry` takes none of them.
#[tokio::test]
async fn ndjson_must_say_it_is_ndjson() {
    let running = start(config()).await;
    let line = b"{\"type\":\"ap\",\"org_id\":\"o\",\"site_id\":\"s\",\"time\":1,\"ap_mac\":\"00aabbccdd01\"}\n";
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
    ] {
        let mut request = running
            .http
            .post(format!("{}/telemetry", running.url))
            .body(line.to_vec());
        if let Some(t) = content_type {
            request = request.header("Content-Type", t);
        }
        let answer = request.send().await.expect("answers");
        assert_eq!(answer.status(), 415, "{content_type:?}");
    }
    for content_type in ["application/x-ndjson", "application/json; charset=utf-8"] {
        let answer = running
            .http
            .post(format!("{}/telemetry", running.url))
            .header("Content-Type", content_type)
            .body(line.to_vec())
            .send()
            .await
            .expect("answers");
        assert_eq!(answer.status(), 200, "{content_type}");
    }
    running.shutdown.token.cancel();
}

/// Many large bodies at once: parsing is bounded (one parse thread here), and a body that cannot
/// get its turn within `overload_wait` is answered 503 with `Retry-After`, never left waiting
/// without bound; the others are taken whole.
#[tokio::test]
async fn bodies_beyond_the_parse_threads_are_told_to_retry() {
    let running = start(IngestConfig {
        parse_threads: 1,
        overload_wait: Duration::from_millis(50),
        ..config()
    })
    .await;
    let now = callsight_model::clock::now_ms();
    let body: String = (0..20_000)
        .map(|i| {
            format!(
                "{{\"type\":\"ap\",\"org_id\":\"o\",\"site_id\":\"s\",\"time\":{},\"ap_mac\":\"00aabbcc{:04x}\"}}\n",
                now - i,
                i % 65_536
            )
        })
        .collect();
    let answers =
        futures::future::join_all((0..8).map(|_| running.ndjson().body(body.clone()).send())).await;
    let mut statuses = Vec::new();
    for answer in answers {
        let answer = answer.expect("answers");
        let status = answer.status().as_u16();
        if status == 503 {
            assert_eq!(
                answer.headers().get("retry-after").map(|v| v.as_bytes()),
                Some(&b"1"[..])
            );
        }
        statuses.push(status);
    }
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 503),
        "{statuses:?}"
    );
    assert!(statuses.contains(&200), "{statuses:?}");
    assert!(statuses.contains(&503), "{statuses:?}");
    running.shutdown.token.cancel();
}

/// Dead letters count against the bound on records in flight: a body of more bad lines than the
/// bound is kept in slices, every reject in the dead-letter topic.
#[tokio::test]
async fn rejects_beyond_the_in_flight_bound_are_kept_in_slices() {
    let running = start(IngestConfig {
        max_in_flight: 10,
        ..config()
    })
    .await;
    let body = "not json\n".repeat(25);
    let answer = running.ndjson().body(body).send().await.expect("answers");
    assert_eq!(answer.status(), 200);
    let answer: Value = answer.json().await.expect("json");
    assert_eq!(answer["rejected_count"], 25);
    let letters = running.consume("slices", &["net.telemetry.dlq"], 25).await;
    assert_eq!(letters.len(), 25);
    running.shutdown.token.cancel();
}
