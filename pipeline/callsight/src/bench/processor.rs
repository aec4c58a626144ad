//! `callsight bench state|kafka|peer`: the processor end to end.
//!
//! ```text
//! callsight bench state [CLIENTS] [MINUTES]
//! callsight bench kafka [CLIENTS] [MINUTES] [LEGS] [PARTITIONS]
//! callsight bench peer [CLIENTS] [MINUTES] [LEGS]
//! ```
//!
//! - `state`: a campus of CLIENTS wireless clients (25 per AP, 500 per site, every AP with two
//!   radios and a switch port, one WAN path per site) reporting every minute for MINUTES, applied
//!   to the partitions' state in batches as the process role does (no Kafka): samples per
//!   second, the process's peak RSS, RocksDB's memory and disk.
//! - `kafka`: a campus of smaller sites (100 clients each, spread over PARTITIONS, 16 by
//!   default, since the embedded broker keeps only about 5 MiB per partition) produced to the
//!   embedded broker; the processor's consumer alone on it (records per second with nothing done
//!   to them, the most the processor could reach here); then the process role started on it:
//!   samples per second from Kafka through the state, and the process's CPU time per sample;
//!   then LEGS call legs whose windows are complete, one every 20 ms, and the time from
//!   producing each to reading its verdict from `rca.verdicts`; then a second processor with
//!   empty state restoring every partition by replay.
//! - `peer`: the `kafka` campus, then the same windowed join written with Quix Streams
//!   (`bench/peer/quix_join.py`, run by `bench/peer/compare.sh`) on the same broker and bytes:
//!   throughput and leg latency of both, side by side.

#![expect(clippy::print_stdout, reason = "a benchmark reports on stdout")]

use super::{metric, quantile};
use callsight_core::Config;
use callsight_core::codec::Codec;
use callsight_core::metrics::Metrics;
use callsight_core::readiness::Readiness;
use callsight_core::shutdown::Shutdown;
use callsight_kafka::cluster::Cluster;
use callsight_kafka::consumer::{self, ConsumerEvent};
use callsight_kafka::{KafkaMetrics, Producer};
use callsight_model::codec::single_object;
use callsight_model::samples;
use callsight_model::types::*;
use callsight_processor::partition::{Partition, Record, Settings};
use callsight_state::{Store, StoreOptions};
use rdkafka::producer::Producer as _;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

const MINUTE: i64 = 60_000;
const CLIENTS_PER_AP: usize = 25;
/// The state benchmark's partitions and sites.
const PARTITIONS: i32 = 4;
const CLIENTS_PER_SITE: usize = 500;
/// The embedded broker keeps about 5 MiB per partition (older records are dropped), so the
/// Kafka benchmarks spread smaller sites over more partitions: the peer comparison over these,
/// `kafka` over as many as it is told (these by default).
const KAFKA_PARTITIONS: i32 = 16;
const KAFKA_CLIENTS_PER_SITE: usize = 100;
/// The topic the Quix Streams peer writes its joined records to.
const PEER_TOPIC: &str = "peer.joined";
/// How long the peer may take over the samples.
const PEER_PATIENCE: Duration = Duration::from_secs(900);
/// The reference site's AP (in `samples::inventory_records`), AP 0 of site 0, its 5 GHz BSSID,
/// the switch ports on its path (LLDP and uplink) and the site's WAN link.
const REFERENCE_AP: &str = "5c5b35a1c020";
const REFERENCE_BSSID: &str = "5c5b35f2d221";
const REFERENCE_SWITCH: &str = "0c8126c7a100";
const REFERENCE_PORTS: [&str; 2] = ["ge-0/0/1", "ge-0/0/11"];
const REFERENCE_GATEWAY: &str = "4c96147e2b00";

/// A campus of sites; site 0 is the reference site of the samples, so legs on it have an
/// inventory (AP, LLDP, uplinks, WAN links).
struct Campus {
    org: String,
    sites: Vec<String>,
    clients: usize,
    per_site: usize,
    partitions: i32,
    /// Minute 0.
    start: i64,
}

impl Campus {
    fn new(clients: usize, minutes: i64, per_site: usize, partitions: i32) -> Self {
        let leg = samples::call_leg();
        let sites = clients.div_ceil(per_site);
        let mut names = vec![leg.site_id.clone().unwrap_or_default()];
        names.extend((1..sites).map(|s| format!("bench-site-{s:05}")));
        Campus {
            org: leg.org_id,
            sites: names,
            clients,
            per_site,
            partitions,
            // The telemetry ends a few minutes after the reference call.
            start: leg.leg_end + 10 * MINUTE - minutes * MINUTE,
        }
    }

    fn ap_mac(site: usize, ap: usize) -> String {
        if site == 0 && ap == 0 {
            REFERENCE_AP.to_string()
        } else {
            format!("0a{:04x}{:06x}", site, ap)
        }
    }

    fn bssid(site: usize, ap: usize) -> String {
        if site == 0 && ap == 0 {
            REFERENCE_BSSID.to_string()
        } else {
            format!("{}1", &Self::ap_mac(site, ap)[..11])
        }
    }

    fn switch_port(site: usize, ap: usize) -> (String, String) {
        if site == 0 {
            (
                REFERENCE_SWITCH.to_string(),
                REFERENCE_PORTS[ap.min(1)].to_string(),
            )
        } else {
            (format!("0c{:04x}000000", site), format!("ge-0/0/{ap}"))
        }
    }

    fn gateway(site: usize) -> String {
        if site == 0 {
            REFERENCE_GATEWAY.to_string()
        } else {
            format!("4c{:04x}000000", site)
        }
    }

    fn client_mac(site: usize, client: usize) -> String {
        format!("02{:04x}{:06x}", site, client)
    }

    fn client_ip(site: usize, client: usize) -> String {
        format!("10.{}.{}.{}", site % 250, client / 250, client % 250 + 2)
    }

    /// Every sample of one minute, with the partition of its site.
    fn minute(&self, minute: i64, sequence: &mut i64) -> Vec<(i32, NetworkSample)> {
        let time = self.start + minute * MINUTE;
        let mut out = Vec::new();
        for (s, site) in self.sites.iter().enumerate() {
            let partition = (s as i32) % self.partitions;
            let clients = self.per_site.min(self.clients - s * self.per_site);
            let mut push = |body: SampleBody| {
                *sequence += 1;
                out.push((
                    partition,
                    NetworkSample {
                        org_id: self.org.clone(),
                        site_id: site.clone(),
                        time,
                        source: "bench".into(),
                        sequence: *sequence,
                        body,
                    },
                ));
            };
            let wave = ((minute + s as i64) % 17) as f64;
            for c in 0..clients {
                let ap = c / CLIENTS_PER_AP;
                push(SampleBody::WirelessClient(WirelessClientSample {
                    client_mac: Self::client_mac(s, c),
                    client_ip: Some(Self::client_ip(s, c)),
                    ap_mac: Self::ap_mac(s, ap),
                    bssid: Some(Self::bssid(s, ap)),
                    band: WifiBand::Band5Ghz,
                    channel: Some(36 + 4 * (ap as i32 % 8)),
                    rssi_dbm: Some(-55.0 - wave),
                    snr_db: Some(35.0 - wave),
                    tx_rate_mbps: Some(400.0),
                    rx_rate_mbps: Some(300.0),
                    tx_bps: Some(2_000_000 + c as i64),
                    rx_bps: Some(1_000_000 + c as i64),
                    ..Default::default()
                }));
            }
            for ap in 0..clients.div_ceil(CLIENTS_PER_AP) {
                let ap_mac = Self::ap_mac(s, ap);
                for band in [WifiBand::Band2_4Ghz, WifiBand::Band5Ghz] {
                    push(SampleBody::ApRadio(ApRadioSample {
                        ap_mac: ap_mac.clone(),
                        band,
                        channel: Some(36),
                        util_all_ratio: Some(0.2 + wave / 100.0),
                        util_non_wifi_ratio: Some(0.01),
                        num_clients: Some(CLIENTS_PER_AP as i32 / 2),
                        noise_floor_dbm: Some(-92.0),
                        ..Default::default()
                    }));
                }
                push(SampleBody::Ap(ApSample {
                    ap_mac: ap_mac.clone(),
                    uptime_s: Some(86_400.0 + (minute * 60) as f64),
                    cpu_util_ratio: Some(0.2),
                    num_clients: Some(CLIENTS_PER_AP as i32),
                    ..Default::default()
                }));
                let (switch_mac, port_id) = Self::switch_port(s, ap);
                push(SampleBody::SwitchPort(SwitchPortSample {
                    switch_mac,
                    port_id,
                    up: true,
                    speed_mbps: Some(1000),
                    full_duplex: Some(true),
                    rx_bps: Some(40_000_000),
                    tx_bps: Some(60_000_000),
                    rx_errors_per_s: Some(0.0),
                    tx_errors_per_s: Some(0.0),
                    ..Default::default()
                }));
            }
            push(SampleBody::WanPath(WanPathSample {
                gateway_mac: Self::gateway(s),
                wan_port_id: "ge-0/0/7".into(),
                up: true,
                latency_ms: Some(18.0 + wave),
                jitter_ms: Some(2.0),
                loss_ratio: Some(0.0),
                ..Default::default()
            }));
        }
        out
    }

    /// Legs on the reference site, by the MAC of one of the clients of its reference AP, ending
    /// well before the telemetry does (their windows are complete when they arrive).
    fn legs(&self, n: usize) -> Vec<CallLeg> {
        let base = samples::call_leg();
        (0..n)
            .map(|i| {
                let mut leg = base.clone();
                let shift = -((i as i64 * 7) % 40) * MINUTE;
                leg.call_id = format!("bench-call-{i}");
                leg.leg_id = format!("bench-call-{i}/p/0");
                leg.participant_id = format!("bench-p-{i}");
                leg.leg_start += shift;
                leg.leg_end += shift;
                leg.call_start = leg.leg_start;
                leg.call_end = leg.leg_end;
                leg.other_legs.clear();
                leg.network.mac_address = Some(Self::client_mac(0, i % CLIENTS_PER_AP));
                leg.network.ip_address = Some(Self::client_ip(0, i % CLIENTS_PER_AP));
                leg
            })
            .collect()
    }
}

/// The process's resident set and its peak, bytes (from `/proc/self/status`).
fn rss() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .map_or(0, |kib| kib * 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// CPU time the whole process has used so far (every thread, user and system), seconds.
/// `/proc/self/stat` counts in clock ticks of 1/100 s on Linux.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at the state, field 3.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let field = |n: usize| {
        after
            .split_whitespace()
            .nth(n - 3)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (field(14) + field(15)) / 100.0
}

fn mib(bytes: u64) -> String {
    format!("{:.0} MiB", bytes as f64 / (1 << 20) as f64)
}

fn bench_config(state: &std::path::Path, partitions: i32) -> Config {
    let mut config = Config::default();
    config.kafka.linger = Duration::from_millis(1);
    config.kafka.statistics_interval = Duration::ZERO;
    config.kafka.session_timeout = Duration::from_secs(6);
    config.topics.legs.partitions = partitions;
    config.topics.telemetry.partitions = partitions;
    config.topics.verdicts.partitions = partitions;
    config.processor.state_dir = state.to_path_buf();
    config.processor.retention = Duration::from_secs(4 * 3600);
    // The embedded broker answers a fetch with no data after the fetch's whole wait (new data
    // does not end it early, as a real broker does): keep that wait short so that the figures
    // are the processor's, not the broker's.
    config
        .kafka
        .properties
        .insert("fetch.wait.max.ms".into(), "5".into());
    config.validate().expect("valid configuration");
    config
}

/// `state`: a campus of CLIENTS wireless clients reporting every minute for MINUTES, applied
/// straight to the partitions' state (no Kafka, no decoding), as the process role applies it.
pub fn state(clients: usize, minutes: i64) {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = bench_config(dir.path(), PARTITIONS);
    let store = Store::open(dir.path(), &StoreOptions::default()).expect("store");
    let settings = Settings::from_config(&config);
    let inventory = callsight_inventory::Inventory::new();
    let campus = Campus::new(clients, minutes, CLIENTS_PER_SITE, PARTITIONS);
    let mut partitions: Vec<Partition> = (0..PARTITIONS as u32)
        .map(|p| Partition::open(&store, p).expect("opens"))
        .collect();
    let mut offsets = [0i64; PARTITIONS as usize];
    let (mut applied, mut busy, mut sequence) = (0u64, Duration::ZERO, 0i64);
    let started = Instant::now();
    for minute in 0..minutes {
        let mut batches: Vec<Vec<Record>> = vec![Vec::new(); PARTITIONS as usize];
        for (p, sample) in campus.minute(minute, &mut sequence) {
            let bytes = single_object::encode(&sample).expect("encodes");
            let offset = &mut offsets[p as usize];
            batches[p as usize].push(Record::Sample {
                sample,
                bytes,
                offset: *offset,
            });
            *offset += 1;
        }
        for (p, records) in batches.into_iter().enumerate() {
            for chunk in records.chunks(config.processor.batch_records) {
                let t = Instant::now();
                partitions[p]
                    .apply(&store, &inventory, &settings, chunk.to_vec(), 0, None)
                    .expect("applies");
                busy += t.elapsed();
                applied += chunk.len() as u64;
            }
        }
        // The process role writes its state to disk every minute of wall clock, which live is
        // a minute of data; expiry waits for it. Timed with the applying.
        let t = Instant::now();
        store.checkpoint().expect("checkpoints");
        busy += t.elapsed();
        if minute % 30 == 29 {
            let (now, peak) = rss();
            eprintln!(
                "minute {}: {applied} samples, {:.0} samples/s applying, RSS {} (peak {})",
                minute + 1,
                applied as f64 / busy.as_secs_f64(),
                mib(now),
                mib(peak)
            );
        }
    }
    let (now, peak) = rss();
    println!("state: {clients} clients, {minutes} minutes, 4 partitions, 4 h retention");
    println!("  samples applied        {applied}");
    println!(
        "  applying               {:.0} samples/s ({:.1} s busy, {:.1} s with generation and encoding)",
        applied as f64 / busy.as_secs_f64(),
        busy.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    println!("  RSS                    {} (peak {})", mib(now), mib(peak));
    println!(
        "  RocksDB memory         {} (memtables, block cache)",
        mib(store.memory_bytes())
    );
    println!("  RocksDB disk           {}", mib(store.disk_bytes()));
}

async fn start_processor(
    config: &Config,
    cluster: &Cluster,
    kafka_metrics: Arc<KafkaMetrics>,
) -> (Shutdown, Metrics) {
    let (shutdown, readiness, metrics) = (Shutdown::new(), Readiness::new(), Metrics::new());
    callsight_processor::start(
        config,
        cluster.bootstrap(),
        &metrics,
        kafka_metrics,
        &readiness,
        &shutdown,
    )
    .await
    .expect("the processor starts");
    (shutdown, metrics)
}

/// Sends `n` call legs whose windows are complete (ids prefixed `prefix`), one every 20 ms, and
/// reads `topic` until each has its output: the time from producing each leg to reading its
/// output, with the output's bytes. `leg_of` finds the leg id in an output.
async fn leg_latency(
    fed: &Fed,
    group: &str,
    topic: &str,
    n: usize,
    prefix: &str,
    leg_of: impl Fn(&[u8]) -> Option<String>,
) -> Vec<(Duration, Vec<u8>)> {
    let (reader, mut outputs) = consumer::start(
        &fed.config.kafka,
        fed.cluster.bootstrap(),
        group,
        &[topic],
        fed.kafka_metrics.clone(),
    )
    .expect("consumer");
    // The reader joins its group before the first leg is sent.
    tokio::time::sleep(Duration::from_secs(8)).await;
    let legs: Vec<CallLeg> = fed
        .campus
        .legs(n)
        .into_iter()
        .map(|mut leg| {
            leg.call_id = format!("{prefix}-{}", leg.call_id);
            leg.leg_id = format!("{prefix}-{}", leg.leg_id);
            leg
        })
        .collect();
    let sent: Arc<std::sync::Mutex<HashMap<String, Instant>>> = Arc::default();
    let sender = {
        let (producer, codec, topic, sent) = (
            fed.producer.clone(),
            Codec::new(&fed.config.codec).expect("codec"),
            fed.config.topics.legs.name.clone(),
            sent.clone(),
        );
        tokio::spawn(async move {
            for leg in legs {
                let bytes = codec.encode(&topic, &leg).await.expect("encodes");
                sent.lock()
                    .expect("lock")
                    .insert(leg.leg_id.clone(), Instant::now());
                producer
                    .send(&topic, leg.key().as_bytes(), &bytes, &[])
                    .await
                    .expect("delivered");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let mut out = Vec::new();
    while out.len() < n {
        let event = tokio::time::timeout(Duration::from_secs(60), outputs.recv())
            .await
            .expect("outputs within 60 s")
            .expect("open");
        if let ConsumerEvent::Record(r) = event {
            let received = Instant::now();
            let bytes = r.payload.unwrap_or_default();
            let at = leg_of(&bytes).and_then(|leg| sent.lock().expect("lock").remove(&leg));
            if let Some(at) = at {
                out.push((received - at, bytes));
            }
        }
    }
    sender.await.expect("sent");
    let _ = tokio::task::spawn_blocking(move || reader.stop()).await;
    out
}

/// The same windowed join written with Quix Streams (`bench/peer/quix_join.py`) on the same
/// broker and the same bytes, after callsight: throughput from the first sample taken to the
/// last, and leg latency, side by side.
/// `peer`: the `kafka` campus, then the same windowed join with Quix Streams on the same broker
/// and bytes (run by `bench/peer/compare.sh`).
pub async fn peer(clients: usize, minutes: i64, legs: usize) {
    let fed = feed(clients, minutes, KAFKA_PARTITIONS).await;
    let produced = fed.produced;
    let (shutdown, _metrics, cs_rate, cs_seconds, _cpu) = callsight_throughput(&fed).await;
    let verdicts = fed.config.topics.verdicts.name.clone();
    let mut cs: Vec<Duration> = leg_latency(&fed, "bench-verdicts", &verdicts, legs, "cs", |b| {
        single_object::decode::<RootCauseVerdict>(b)
            .ok()
            .map(|v| v.leg_id)
    })
    .await
    .into_iter()
    .map(|(d, _)| d)
    .collect();
    cs.sort();
    shutdown.drain(Duration::from_secs(30)).await;

    // The embedded broker creates topics through its own API only (no CreateTopics request).
    fed.cluster
        .embedded()
        .expect("the embedded broker")
        .create_topic(PEER_TOPIC, KAFKA_PARTITIONS)
        .expect("the peer's output topic");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut child = std::process::Command::new("python3")
        .arg(root.join("bench/peer/quix_join.py"))
        .args(["--broker", fed.cluster.bootstrap()])
        .arg("--schemas")
        .arg(root.join("schemas"))
        .args(["--expect", &produced.to_string(), "--out", PEER_TOPIC])
        .arg("--embedded-broker")
        .arg("--state")
        .arg(fed.dir.path().join("quix"))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect(
            "python3 bench/peer/quix_join.py starts (bench/peer/compare.sh installs Quix Streams)",
        );
    let stdout = child.stdout.take().expect("stdout");
    let reader = tokio::task::spawn_blocking(move || {
        use std::io::BufRead;
        std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .find_map(|l| serde_json::from_str::<serde_json::Value>(&l).ok())
    });
    let taken: serde_json::Value = match tokio::time::timeout(PEER_PATIENCE, reader).await {
        Ok(answer) => answer
            .expect("reader")
            .expect("the peer reports when it has taken every sample"),
        Err(_) => {
            let _ = child.kill();
            panic!("the peer did not take every sample within {PEER_PATIENCE:?}");
        }
    };
    let quix_seconds = taken["seconds"].as_f64().unwrap_or(f64::NAN);
    let quix_rate = produced as f64 / quix_seconds.max(1e-3);
    let mut quix: Vec<Duration> = leg_latency(&fed, "bench-peer", PEER_TOPIC, legs, "quix", |b| {
        serde_json::from_slice::<serde_json::Value>(b)
            .ok()
            .and_then(|v| v["leg_id"].as_str().map(str::to_string))
    })
    .await
    .into_iter()
    .map(|(d, _)| d)
    .collect();
    quix.sort();
    let _ = child.kill();
    let _ = child.wait();

    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "peer: {clients} clients, {minutes} minutes, {produced} samples, {KAFKA_PARTITIONS} partitions, embedded broker; {legs} legs for latency"
    );
    println!("| | callsight | Quix Streams | ratio |");
    println!("|---|---:|---:|---:|");
    println!(
        "| samples/s from Kafka through the state | {cs_rate:.0} ({cs_seconds:.1} s) | {quix_rate:.0} ({quix_seconds:.1} s) | {:.1}× |",
        cs_rate / quix_rate
    );
    for (name, q) in [("p50", 0.5), ("p99", 0.99)] {
        println!(
            "| leg to output {name} | {:.1} ms | {:.1} ms | {:.2}× |",
            ms(quantile(&cs, q)),
            ms(quantile(&quix, q)),
            ms(quantile(&quix, q)) / ms(quantile(&cs, q)).max(1e-9)
        );
    }
}

/// End to end on the embedded broker.
/// The embedded broker with the campus's telemetry (and the reference inventory) produced.
struct Fed {
    /// Keeps the state folders.
    dir: tempfile::TempDir,
    config: Config,
    cluster: Cluster,
    kafka_metrics: Arc<KafkaMetrics>,
    producer: Producer,
    campus: Campus,
    /// Samples produced.
    produced: u64,
}

async fn feed(clients: usize, minutes: i64, partitions: i32) -> Fed {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = bench_config(&dir.path().join("a"), partitions);
    let cluster = Cluster::connect(&config.kafka, &config.topics)
        .await
        .expect("the embedded broker");
    let kafka_metrics = Arc::new(KafkaMetrics::register(&Metrics::new()).expect("metrics"));
    // Telemetry goes in large producer batches: the embedded broker answers a fetch with at
    // most one producer batch per partition (a real broker fills the fetch with as many as fit),
    // so small batches would measure the broker's round trips instead of the processor.
    let mut feeding = config.kafka.clone();
    feeding.linger = Duration::from_millis(50);
    let feeder =
        Producer::new(&feeding, cluster.bootstrap(), kafka_metrics.clone()).expect("producer");
    // Legs go one by one, timed: no lingering.
    let producer =
        Producer::new(&config.kafka, cluster.bootstrap(), kafka_metrics.clone()).expect("producer");
    let codec = Codec::new(&config.codec).expect("codec");
    let topics = config.topics.clone();
    for r in samples::inventory_records() {
        let bytes = codec
            .encode(&topics.inventory.name, &r)
            .await
            .expect("encodes");
        feeder
            .send(&topics.inventory.name, r.entity_id.as_bytes(), &bytes, &[])
            .await
            .expect("delivered");
    }

    let campus = Campus::new(clients, minutes, KAFKA_CLIENTS_PER_SITE, partitions);
    let (mut produced, mut sequence) = (0u64, 0i64);
    let t = Instant::now();
    for minute in 0..minutes {
        let batch = campus.minute(minute, &mut sequence);
        for chunk in batch.chunks(20_000) {
            let sends = chunk.iter().map(|(_, s)| {
                let (feeder, codec, topic) = (&feeder, &codec, &topics.telemetry.name);
                async move {
                    let bytes = codec.encode(topic, s).await.expect("encodes");
                    let key = format!("{}|{}", s.org_id, s.site_id);
                    feeder
                        .send(topic, key.as_bytes(), &bytes, &[])
                        .await
                        .expect("delivered");
                }
            });
            futures::future::join_all(sends).await;
            produced += chunk.len() as u64;
        }
    }
    eprintln!(
        "produced {produced} samples in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    // Every record must still be there: the embedded broker drops a partition's oldest records
    // beyond about 5 MiB.
    for p in 0..partitions {
        let (low, high) = feeder
            .client()
            .client()
            .fetch_watermarks(&topics.telemetry.name, p, Duration::from_secs(10))
            .expect("watermarks");
        assert_eq!(
            low, 0,
            "the embedded broker dropped the oldest records of partition {p} ({high} produced): fewer clients or minutes"
        );
    }
    Fed {
        dir,
        config,
        cluster,
        kafka_metrics,
        producer,
        campus,
        produced,
    }
}

/// Starts the process role on the fed broker and waits until it has taken every sample: the
/// running processor, and samples per second from the first applied sample to the last.
async fn callsight_throughput(fed: &Fed) -> (Shutdown, Metrics, f64, f64, f64) {
    let produced = fed.produced;
    let (shutdown, metrics) =
        start_processor(&fed.config, &fed.cluster, fed.kafka_metrics.clone()).await;
    // Every outcome (applied, late, expired) counts as taken.
    let telemetry = |m: &Metrics| {
        metric(
            m,
            "callsight_processor_records_total",
            &["topic=\"telemetry\""],
        )
    };
    let mut first = None;
    let mut said = Instant::now();
    loop {
        let n = telemetry(&metrics);
        if n > 0.0 && first.is_none() {
            first = Some((Instant::now(), n, cpu_seconds()));
            eprintln!("the first sample was applied");
        }
        if n >= produced as f64 {
            break;
        }
        if said.elapsed() > Duration::from_secs(10) {
            eprintln!("{n} of {produced} samples taken");
            said = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!("every sample taken");
    let (first_at, first_n, first_cpu) = first.expect("samples applied");
    let seconds = first_at.elapsed().as_secs_f64();
    let samples = produced as f64 - first_n;
    let cpu = (cpu_seconds() - first_cpu) / samples.max(1.0);
    (shutdown, metrics, samples / seconds.max(1e-3), seconds, cpu)
}

/// The consumer the processor uses, alone: telemetry records per second from the fed broker
/// with nothing done to them (counted and dropped). What the processor could reach at most on
/// this machine with the broker beside it.
async fn consumer_alone(fed: &Fed) -> (f64, f64) {
    let (handle, mut events) = consumer::start(
        &fed.config.kafka,
        fed.cluster.bootstrap(),
        "bench-consumer-alone",
        &[&fed.config.topics.telemetry.name],
        fed.kafka_metrics.clone(),
    )
    .expect("a consumer");
    let mut taken = 0u64;
    let mut first = None;
    while taken < fed.produced {
        match events.recv().await {
            Some(ConsumerEvent::Record(_)) => {
                first.get_or_insert_with(|| (Instant::now(), cpu_seconds()));
                taken += 1;
            }
            Some(_) => {}
            None => panic!("the consumer stopped"),
        }
    }
    let (seconds, cpu) = first.map_or((0.0, 0.0), |(at, cpu)| {
        (at.elapsed().as_secs_f64(), cpu_seconds() - cpu)
    });
    tokio::task::spawn_blocking(move || handle.stop())
        .await
        .expect("the consumer stops");
    // The first record is not in the span.
    let records = taken.saturating_sub(1) as f64;
    (records / seconds.max(1e-3), cpu / records.max(1.0))
}

/// `kafka`: the campus through the embedded broker into a process role, then leg latency, then
/// a second processor restoring every partition by replay.
pub async fn kafka(clients: usize, minutes: i64, legs: usize, partitions: i32) {
    let fed = feed(clients, minutes, partitions).await;
    let (alone, alone_cpu) = consumer_alone(&fed).await;
    eprintln!("the consumer alone took every record; starting the processor");
    let (shutdown, metrics, rate, seconds, cpu) = callsight_throughput(&fed).await;
    let Fed {
        dir,
        config,
        cluster,
        kafka_metrics,
        produced,
        ..
    } = &fed;
    let (produced, topics) = (*produced, config.topics.clone());

    // Latency: legs with complete windows, one every 20 ms.
    let outputs = leg_latency(
        &fed,
        "bench-verdicts",
        &topics.verdicts.name,
        legs,
        "bench",
        |bytes| {
            single_object::decode::<RootCauseVerdict>(bytes)
                .ok()
                .map(|v| v.leg_id)
        },
    )
    .await;
    let mut latencies: Vec<Duration> = outputs.iter().map(|(d, _)| *d).collect();
    latencies.sort();
    let mut causes: HashMap<String, usize> = HashMap::new();
    let mut example = None;
    for (_, bytes) in &outputs {
        if let Ok(v) = single_object::decode::<RootCauseVerdict>(bytes) {
            *causes.entry(format!("{:?}", v.primary_cause)).or_default() += 1;
            example.get_or_insert_with(|| v.summary.clone());
        }
    }
    let partial = metric(
        &metrics,
        "callsight_processor_verdicts_total",
        &["completeness=\"partial\""],
    );
    shutdown.drain(Duration::from_secs(30)).await;

    // Restore: a second processor, its state empty, in the same group.
    eprintln!("{} verdicts read; restoring", latencies.len());
    let config_b = bench_config(&dir.path().join("b"), partitions);
    let t = Instant::now();
    let mut said = Instant::now();
    let (shutdown, metrics) = start_processor(&config_b, cluster, kafka_metrics.clone()).await;
    let mut replay_started = None;
    loop {
        if replay_started.is_none()
            && metric(&metrics, "callsight_processor_restore_records_total", &[]) > 0.0
        {
            replay_started = Some(Instant::now());
        }
        let live = metric(
            &metrics,
            "callsight_processor_partitions",
            &["state=\"live\""],
        );
        let restoring = metric(
            &metrics,
            "callsight_processor_partitions",
            &["state=\"restoring\""],
        );
        if live >= partitions as f64 && restoring == 0.0 {
            break;
        }
        if said.elapsed() > Duration::from_secs(10) {
            eprintln!("{live} partitions live, {restoring} restoring");
            said = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let restore_wall = t.elapsed();
    let replay = replay_started.map_or(Duration::ZERO, |r| r.elapsed());
    let restored = metric(&metrics, "callsight_processor_restore_records_total", &[]);
    let restore_sum = metric(&metrics, "callsight_processor_restore_seconds_sum", &[]);
    shutdown.drain(Duration::from_secs(30)).await;

    println!(
        "kafka: {clients} clients, {minutes} minutes, {partitions} partitions, embedded broker (telemetry produced with a 50 ms linger, fetch.wait.max.ms 5); processor.apply_threads {}",
        fed.config.processor.apply_threads()
    );
    println!("  samples                {produced}");
    println!(
        "  from Kafka through the state {rate:.0} samples/s ({seconds:.1} s from the first applied; {:.1} µs of CPU per sample, broker included)",
        cpu * 1e6
    );
    println!(
        "  the consumer alone     {alone:.0} records/s (same broker and settings, records dropped; {:.1} µs of CPU per record, broker included)",
        alone_cpu * 1e6
    );
    println!(
        "  leg to verdict         p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms over {} legs ({} partial; causes {:?})",
        quantile(&latencies, 0.5).as_secs_f64() * 1e3,
        quantile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
        latencies.len(),
        partial,
        causes
    );
    println!("  a verdict's summary    {}", example.unwrap_or_default());
    println!(
        "  restore                {restored:.0} records in {:.1} s from start (group join included); replay {:.1} s, {:.0} records/s; {:.1} s summed over partitions",
        restore_wall.as_secs_f64(),
        replay.as_secs_f64(),
        restored / replay.as_secs_f64().max(1e-3),
        restore_sum
    );
    let (now, peak) = rss();
    println!(
        "  RSS                    {} (peak {}; broker, producer and both processors in one process)",
        mib(now),
        mib(peak)
    );
}
