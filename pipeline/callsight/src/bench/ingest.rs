//! Sustained ingest load through HTTP into Kafka (the embedded broker), with latency percentiles.
//!
//! `callsight bench ingest [SECONDS] [CONCURRENCY] [PHASE]` (phase: `ndjson`, `webhook` or both
//! when omitted; the configuration, `--config` and `CALLSIGHT__...` variables, applies).
//!
//! Runs two phases against one in-process ingest role: batched NDJSON (1,000 samples per request)
//! and signed Mist webhook deliveries (one client-join event each). The load generator shares
//! the machine with the server, so the figures are a floor.

#![expect(clippy::print_stdout, reason = "a benchmark reports on stdout")]

use super::quantile;
use callsight_core::Config;
use callsight_core::config::{MistOrgConfig, Secret};
use callsight_core::metrics::Metrics;
use callsight_core::shutdown::Shutdown;
use callsight_kafka::KafkaMetrics;
use callsight_kafka::cluster::Cluster;
use callsight_telemetry::mist::signature::sign_v2;
use std::sync::Arc;
use std::time::{Duration, Instant};

const ORG: &str = "0c8e2d7a-5f31-4b62-9d84-1a2b3c4d5e6f";

fn ndjson_batch(n: usize, salt: usize) -> String {
    (0..n)
        .map(|i| {
            let mac = format!("02{:010x}", salt * 100_000 + i);
            format!(
                r#"{{"type":"wireless_client","org_id":"org-bench","site_id":"site-{}","time":{},"client_mac":"{mac}","ap_mac":"5c5b35a1c020","band":"band_5ghz","rssi_dbm":-61,"snr_db":30,"tx_bps":1200000,"rx_bps":800000}}"#,
                i % 20,
                1_767_603_600_000i64 + i as i64
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

struct Phase {
    name: &'static str,
    requests: u64,
    failures: u64,
    records_per_request: u64,
    latencies: Vec<Duration>,
    elapsed: Duration,
}

impl Phase {
    fn report(&mut self) {
        self.latencies.sort();
        let secs = self.elapsed.as_secs_f64();
        println!(
            "{:<26} {:>9.0} req/s {:>11.0} records/s  p50 {:>7.1} ms  p99 {:>7.1} ms  ({} requests, {} failed, {:.0} s)",
            self.name,
            self.requests as f64 / secs,
            (self.requests * self.records_per_request) as f64 / secs,
            quantile(&self.latencies, 0.5).as_secs_f64() * 1000.0,
            quantile(&self.latencies, 0.99).as_secs_f64() * 1000.0,
            self.requests,
            self.failures,
            secs
        );
    }
}

async fn hammer(
    name: &'static str,
    url: String,
    bodies: Vec<(Vec<u8>, Option<String>)>,
    records_per_request: u64,
    concurrency: usize,
    duration: Duration,
) -> Phase {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .expect("client");
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|worker| {
            let (http, url, bodies) = (http.clone(), url.clone(), bodies.clone());
            tokio::spawn(async move {
                let (mut ok, mut failed, mut latencies) = (0u64, 0u64, Vec::new());
                let mut i = worker;
                while started.elapsed() < duration {
                    let (body, signature) = &bodies[i % bodies.len()];
                    i += 1;
                    let mut request = http.post(&url).body(body.clone());
                    if let Some(signature) = signature {
                        request = request.header("X-Mist-Signature-v2", signature);
                    }
                    let sent = Instant::now();
                    match request.send().await {
                        Ok(r) if r.status().is_success() => {
                            latencies.push(sent.elapsed());
                            ok += 1;
                        }
                        _ => failed += 1,
                    }
                }
                (ok, failed, latencies)
            })
        })
        .collect();
    let mut phase = Phase {
        name,
        requests: 0,
        failures: 0,
        records_per_request,
        latencies: Vec::new(),
        elapsed: Duration::ZERO,
    };
    for task in tasks {
        let (ok, failed, latencies) = task.await.expect("worker");
        phase.requests += ok;
        phase.failures += failed;
        phase.latencies.extend(latencies);
    }
    phase.elapsed = started.elapsed();
    phase
}

/// Runs the phases (`phase` empty: both) for `seconds` each with `concurrency` senders, on the
/// embedded broker (`kafka.brokers` is ignored), with `config` otherwise.
pub async fn load(mut config: Config, seconds: u64, concurrency: usize, phase: &str) {
    {
        config.kafka.brokers = String::new();
        config.ingest.listen = "127.0.0.1:0".parse().expect("addr");
        config.ingest.mist.poll = false;
        config.ingest.mist.orgs.insert(
            ORG.into(),
            MistOrgConfig {
                webhook_secret: Secret("s3cr3t".into()),
                ..MistOrgConfig::default()
            },
        );
        config.kafka.statistics_interval = Duration::ZERO;
        let cluster = Cluster::connect(&config.kafka, &config.topics)
            .await
            .expect("cluster");
        let metrics = Metrics::new();
        let kafka_metrics = Arc::new(KafkaMetrics::register(&metrics).expect("metrics"));
        let shutdown = Shutdown::new();
        let ingest = callsight_ingest::start(
            &config,
            cluster.bootstrap(),
            &metrics,
            kafka_metrics,
            &shutdown,
        )
        .await
        .expect("ingest");
        let base = format!("http://{}", ingest.addr);
        println!(
            "ingest load, {seconds} s per phase, {concurrency} concurrent senders, embedded broker"
        );

        if phase.is_empty() || phase == "ndjson" {
            let batches: Vec<(Vec<u8>, Option<String>)> = (0..8)
                .map(|salt| (ndjson_batch(1000, salt).into_bytes(), None))
                .collect();
            hammer(
                "NDJSON, 1,000 per request",
                format!("{base}/telemetry"),
                batches,
                1000,
                concurrency,
                Duration::from_secs(seconds),
            )
            .await
            .report();
        }
        if phase.is_empty() || phase == "webhook" {
            let webhooks: Vec<(Vec<u8>, Option<String>)> = (0..64)
            .map(|i| {
                let body = format!(
                    r#"{{"topic":"client-join","events":[{{"ap":"5c5b35a1c020","band":"5","bssid":"5c5b35f2d221","connect":{t},"mac":"a4c3f085{i:04x}","org_id":"{ORG}","rssi":-60,"site_id":"3f9c1e2a-7b4d-4c8e-9a01-5d6e7f809a1b","timestamp":{t}}}]}}"#,
                    t = 1_741_597_203 + i
                )
                .into_bytes();
                let signature = sign_v2(b"s3cr3t", &body);
                (body, Some(signature))
            })
            .collect();
            hammer(
                "Mist webhook, 1 event",
                format!("{base}/telemetry/mist/{ORG}"),
                webhooks,
                1,
                concurrency,
                Duration::from_secs(seconds),
            )
            .await
            .report();
        }
        shutdown.token.cancel();
        drop(cluster);
    }
}
