//! Sustained ingest load through HTTP into Kafka (the embedded broker), with latency percentiles.
//!
//! `callsight-lab bench ingest [SECONDS] [CONCURRENCY] [PHASE]` (phase: `ndjson`, `webhook` or both
//! when omitted; the configuration, `--config` and `CALLSIGHT__...` variables, applies).
//!
//! Runs two phases against one in-process ingest role: batched NDJSON (1,000 samples per request)
//! and signed Mist webhook deliveries (one client-join event each). The load generator shares
//! the machine with the server, so the figures are a floor.

#![expect(clippy::print_stdout, reason = "a benchmark reports on stdout")]

use super::load::{Body, hammer};
use callsight::Config;
use callsight_core::config::Secret;
use callsight_ingest::config::MistOrgConfig;
use callsight_telemetry::mist::signature::sign_v2;
use std::time::Duration;

const ORG: &str = "0c8e2d7a-5f31-4b62-9d84-1a2b3c4d5e6f";

fn ndjson_batch(n: usize, salt: usize) -> String {
    (0..n)
        .map(|i| {
            let mac = format!("02{:010x}", salt * 100_000 + i);
            format!(
                r#"{{"type":"wireless_client","org_id":"org-bench","site_id":"site-{}","time":{},"client_mac":"{mac}","ap_mac":"5c5b35a1c020","band":"band_5ghz","rssi_dbm":-61,"snr_db":30,"tx_bps":1200000,"rx_bps":800000}}"#,
                i % 20,
                // Recent: ingest takes event times of the last `ingest.max_event_age` only.
                callsight_model::clock::now_ms() - 60_000 + i as i64
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Sends `bodies` for `seconds` and prints one line of figures.
async fn phase(
    name: &str,
    url: String,
    bodies: Vec<Body>,
    records_per_request: u64,
    concurrency: usize,
    seconds: u64,
) {
    let load = hammer(
        &url,
        bodies,
        concurrency,
        Duration::from_secs(seconds),
        |s| s.is_success(),
    )
    .await;
    println!(
        "{:<26} {:>9.0} req/s {:>11.0} records/s  p50 {:>7.1} ms  p99 {:>7.1} ms  ({} requests, {} failed, {:.0} s)",
        name,
        load.rate(),
        load.rate() * records_per_request as f64,
        load.latency_ms(0.5),
        load.latency_ms(0.99),
        load.answered,
        load.failed,
        load.elapsed.as_secs_f64()
    );
}

/// Runs the phases (`phase` empty: both) for `seconds` each with `concurrency` senders, on the
/// embedded broker (`kafka.brokers` is ignored), with `config` otherwise.
pub async fn load(mut config: Config, seconds: u64, concurrency: usize, only: &str) {
    config.kafka.brokers = String::new();
    config.ingest.mist.orgs.insert(
        ORG.into(),
        MistOrgConfig {
            webhook_secret: Secret("s3cr3t".into()),
            ..MistOrgConfig::default()
        },
    );
    config.kafka.statistics_interval = Duration::ZERO;
    let services = super::embedded(&config).await;
    let routes = callsight_ingest::Ingest::new(&services, &config.ingest)
        .expect("ingest")
        .routes();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("listen");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    callsight_core::serve::spawn(
        &services.shutdown,
        listener,
        routes,
        "ingest",
        &callsight_core::serve::HttpConfig::default(),
    );
    println!(
        "ingest load, {seconds} s per phase, {concurrency} concurrent senders, embedded broker"
    );

    if only.is_empty() || only == "ndjson" {
        let batches: Vec<Body> = (0..8)
            .map(|salt| Body {
                bytes: ndjson_batch(1000, salt).into_bytes(),
                headers: vec![("content-type", "application/x-ndjson".to_string())],
            })
            .collect();
        phase(
            "NDJSON, 1,000 per request",
            format!("{base}/telemetry"),
            batches,
            1000,
            concurrency,
            seconds,
        )
        .await;
    }
    if only.is_empty() || only == "webhook" {
        let webhooks: Vec<Body> = (0..64)
            .map(|i| {
                let body = format!(
                    r#"{{"topic":"client-join","events":[{{"ap":"5c5b35a1c020","band":"5","bssid":"5c5b35f2d221","connect":{t},"mac":"a4c3f085{i:04x}","org_id":"{ORG}","rssi":-60,"site_id":"3f9c1e2a-7b4d-4c8e-9a01-5d6e7f809a1b","timestamp":{t}}}]}}"#,
                    t = callsight_model::clock::now_ms() / 1000 - 60 + i
                )
                .into_bytes();
                let signature = sign_v2(b"s3cr3t", &body);
                Body {
                    bytes: body,
                    headers: vec![("X-Mist-Signature-v2", signature)],
                }
            })
            .collect();
        phase(
            "Mist webhook, 1 event",
            format!("{base}/telemetry/mist/{ORG}"),
            webhooks,
            1,
            concurrency,
            seconds,
        )
        .await;
    }
    // Its roles stop (their consumers commit and leave) while the embedded broker still runs.
    services.shutdown.drain(Duration::from_secs(30)).await;
    drop(services);
}
