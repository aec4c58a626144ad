//! `callsight-lab bench state|kafka|peer`: the processor end to end (the campus is
//! `callsight_testkit::campus`).
//!
//! ```text
//! callsight-lab bench state [CLIENTS] [MINUTES]
//! callsight-lab bench kafka [CLIENTS] [MINUTES] [LEGS] [PARTITIONS]
//! callsight-lab bench peer [CLIENTS] [MINUTES] [LEGS]
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
use callsight::Config;
use callsight_core::Process;
use callsight_core::metrics::Metrics;
use callsight_core::shutdown::Shutdown;
use callsight_kafka::consumer::{self, ConsumerEvent};
use callsight_kafka::{Producer, Services};
use callsight_model::codec::single_object;
use callsight_model::types::*;
use callsight_processor::partition::{Partition, Record, Settings};
use callsight_state::{Store, StoreOptions};
use callsight_testkit::campus::Campus;
use callsight_testkit::samples;
use rdkafka::producer::Producer as _;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

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
    let settings = Settings::new(&config.processor, &config.classification, &config.rca);
    // The wall clock the records are applied at: it bounds how far ahead of it a watermark may
    // move (the simulated telemetry is of the past).
    let now = callsight_model::clock::now_ms();
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
                    .apply(&store, &inventory, &settings, chunk, now, None)
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

/// Starts a process role, as a process of its own, on the fed broker.
async fn start_processor(config: &Config, fed: &Services) -> (Shutdown, Metrics) {
    let services = fed
        .sibling(Process::new(config.shutdown.drain_timeout))
        .await
        .expect("the broker");
    callsight_processor::start(
        &services,
        &config.processor,
        &config.classification,
        &config.rca,
    )
    .await
    .expect("the processor starts");
    (services.shutdown.clone(), services.metrics.clone())
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
        &fed.services.bootstrap,
        group,
        &[topic],
        fed.services.kafka_metrics.clone(),
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
            fed.services.codec.clone(),
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
    fed.services
        .cluster()
        .embedded()
        .expect("the embedded broker")
        .create_topic(PEER_TOPIC, KAFKA_PARTITIONS)
        .expect("the peer's output topic");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut child = std::process::Command::new("python3")
        .arg(root.join("bench/peer/quix_join.py"))
        .args(["--broker", &fed.services.bootstrap])
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
    /// The embedded broker's process (the feeder's).
    services: Services,
    producer: Producer,
    campus: Campus,
    /// Samples produced.
    produced: u64,
}

async fn feed(clients: usize, minutes: i64, partitions: i32) -> Fed {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = bench_config(&dir.path().join("a"), partitions);
    let services = super::embedded(&config).await;
    let (bootstrap, kafka_metrics) = (services.bootstrap.clone(), services.kafka_metrics.clone());
    // Telemetry goes in large producer batches: the embedded broker answers a fetch with at
    // most one producer batch per partition (a real broker fills the fetch with as many as fit),
    // so small batches would measure the broker's round trips instead of the processor.
    let mut feeding = config.kafka.clone();
    feeding.linger = Duration::from_millis(50);
    let feeder = Producer::new(&feeding, &bootstrap, kafka_metrics.clone()).expect("producer");
    // Legs go one by one, timed: no lingering.
    let producer = services.producer().expect("producer");
    let codec = services.codec.clone();
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
                    let key = callsight_model::keys::site_key(&s.org_id, &s.site_id);
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
        services,
        producer,
        campus,
        produced,
    }
}

/// Starts the process role on the fed broker and waits until it has taken every sample: the
/// running processor, and samples per second from the first applied sample to the last.
async fn callsight_throughput(fed: &Fed) -> (Shutdown, Metrics, f64, f64, f64) {
    let produced = fed.produced;
    let (shutdown, metrics) = start_processor(&fed.config, &fed.services).await;
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
        &fed.services.bootstrap,
        "bench-consumer-alone",
        &[&fed.config.topics.telemetry.name],
        fed.services.kafka_metrics.clone(),
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
        services,
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
    let (shutdown, metrics) = start_processor(&config_b, services).await;
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
