//! Crash test: `callsight broker` in one process, `callsight process` in another, killed with
//! SIGKILL at random points twenty times while inputs arrive, restarted each time on the same
//! state. Afterwards every expected verdict is on `rca.verdicts` with the content a single,
//! uninterrupted computation gives, and no verdict published for a leg version differs from it.

use callsight::Config;
use callsight_core::codec::Codec;
use callsight_kafka::consumer::{self, ConsumerEvent};
use callsight_model::types::{CallLeg, NetworkSample, RootCauseVerdict};
use callsight_processor::partition::{Output, Partition, Record, Settings};
use callsight_state::{Store, StoreOptions};
use callsight_testkit::kafka::{self, Feed};
use callsight_testkit::records::inventory;
use callsight_testkit::samples;
use callsight_testkit::world::*;
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const KILLS: usize = 20;

/// A small deterministic generator (the seed is printed when the test fails).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        (self.0 >> 33) % below.max(1)
    }
}

fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_callsight")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A child process killed when dropped.
struct Broker(Child);

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn topic_env(command: &mut Command) -> &mut Command {
    command
        .env("CALLSIGHT__TOPICS__LEGS__PARTITIONS", "4")
        .env("CALLSIGHT__TOPICS__TELEMETRY__PARTITIONS", "4")
        .env("CALLSIGHT__TOPICS__VERDICTS__PARTITIONS", "4")
}

fn start_broker() -> (Broker, String) {
    let mut child = topic_env(&mut Command::new(binary()))
        .arg("broker")
        .env("CALLSIGHT__LOG__FILTER", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("callsight broker starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("the bootstrap address");
    (Broker(child), line.trim().to_string())
}

fn config(bootstrap: &str) -> Config {
    let mut config = Config::default();
    config.kafka.brokers = bootstrap.to_string();
    config.kafka.linger = Duration::from_millis(1);
    config.topics.legs.partitions = 4;
    config.topics.telemetry.partitions = 4;
    config.topics.verdicts.partitions = 4;
    config
}

fn processor_config(dir: &std::path::Path, bootstrap: &str, admin: u16) -> std::path::PathBuf {
    let path = dir.join("process.toml");
    let mut file = std::fs::File::create(&path).expect("config file");
    write!(
        file,
        r#"
[kafka]
brokers = "{bootstrap}"
create_topics = false
# A killed member leaves the group after this; below 3 s the embedded broker was seen never
# to finish a rebalance, at 3 s sometimes.
session_timeout = "4s"
linger = "1ms"
statistics_interval = "0s"

[topics.legs]
partitions = 4
[topics.telemetry]
partitions = 4
[topics.verdicts]
partitions = 4

[admin]
listen = "127.0.0.1:{admin}"

[processor]
state_dir = "{state}"
batch_records = 300

"#,
        state = dir.join("state").display()
    )
    .expect("written");
    path
}

/// Starts `callsight process`, its log appended to `log`.
fn start_processor(config: &std::path::Path, log: &std::path::Path) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("log file");
    Command::new(binary())
        .args(["--config", &config.display().to_string(), "process"])
        .env("CALLSIGHT__LOG__FILTER", "info")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("callsight process starts")
}

/// The end of the processors' log, for a failure message.
fn log_tail(log: &std::path::Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// The processor's metric, read from its admin endpoint.
async fn metric(http: &reqwest::Client, admin: u16, name: &str) -> Option<f64> {
    let body = http
        .get(format!("http://127.0.0.1:{admin}/metrics"))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    Some(
        body.lines()
            .filter(|l| l.starts_with(name))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum(),
    )
}

/// Where each record landed.
struct Delivered {
    telemetry: Vec<(i32, i64, NetworkSample)>,
    legs: Vec<(i32, i64, CallLeg)>,
}

/// Produces a chunk of telemetry and legs, one at a time, noting where each record landed.
async fn send(
    feed: &Feed,
    (samples, legs): (Vec<NetworkSample>, Vec<CallLeg>),
    delivered: &mut Delivered,
) {
    for s in samples {
        let d = feed.sample(&s).await;
        delivered.telemetry.push((d.partition, d.offset, s));
    }
    for l in legs {
        let d = feed.leg(&l).await;
        delivered.legs.push((d.partition, d.offset, l));
    }
}

/// What one uninterrupted computation over the same partitions and offsets gives, per leg and
/// version. Records are applied one at a time, so every version of a leg gets its verdict (in a
/// larger batch a newer version may replace an older one before it was evaluated).
fn recompute(delivered: &Delivered) -> HashMap<(String, i64), RootCauseVerdict> {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path(), &StoreOptions::default()).expect("store");
    let mut config = Config::default();
    // Applied with a wall clock of 0 below: no bound ahead of it (the inputs are of 2026).
    config.processor.max_event_lead = std::time::Duration::MAX;
    let settings = Settings::new(&config.processor, &config.classification, &config.rca);
    let inventory = inventory();
    let mut by_partition: BTreeMap<i32, Vec<Record>> = BTreeMap::new();
    for (p, offset, s) in &delivered.telemetry {
        by_partition.entry(*p).or_default().push(Record::Sample {
            sample: s.clone(),
            bytes: callsight_model::codec::single_object::encode(s).expect("encodes"),
            offset: *offset,
        });
    }
    for (p, offset, l) in &delivered.legs {
        by_partition.entry(*p).or_default().push(Record::Leg {
            leg: Box::new(l.clone()),
            offset: *offset,
        });
    }
    let mut expected = HashMap::new();
    for (p, records) in by_partition {
        let mut partition = Partition::open(&store, p as u32).expect("opens");
        for chunk in records.chunks(1) {
            let (out, _) = partition
                .apply(&store, &inventory, &settings, chunk, 0, None)
                .expect("applies");
            for o in out {
                if let Output::Verdict { verdict, .. } = o.output {
                    expected.insert((verdict.leg_id.clone(), verdict.record_version), *verdict);
                }
            }
        }
    }
    expected
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_processor_twenty_times_changes_no_verdict() {
    let seed = std::env::var("CALLSIGHT_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(7, |d| d.as_nanos() as u64)
        });
    eprintln!("crash test seed {seed} (CALLSIGHT_CRASH_SEED={seed} repeats it)");
    let mut rng = Lcg(seed);
    let (_broker, bootstrap) = start_broker();
    let config = config(&bootstrap);
    let topics = config.topics.clone();
    let feed = Feed::on(&config.kafka, &bootstrap, &topics);
    feed.inventory(&samples::inventory_records()).await;

    // Inputs in chunks: all telemetry, then the legs, sent between kills.
    let telemetry = telemetry(30);
    let mut legs = legs();
    legs.extend(many_legs(40));
    let mut chunks: Vec<(Vec<NetworkSample>, Vec<CallLeg>)> = Vec::new();
    for part in telemetry.chunks(telemetry.len().div_ceil(8)) {
        chunks.push((part.to_vec(), Vec::new()));
    }
    for part in legs.chunks(legs.len().div_ceil(12)) {
        chunks.push((Vec::new(), part.to_vec()));
    }
    let mut delivered = Delivered {
        telemetry: Vec::new(),
        legs: Vec::new(),
    };

    let dir = tempfile::tempdir().expect("temp dir");
    let admin = free_port();
    let process_config = processor_config(dir.path(), &bootstrap, admin);
    let log = dir.path().join("process.log");
    let http = reqwest::Client::new();
    let mut chunks = chunks.into_iter();
    let mut last = None;
    for kill in 0..=KILLS {
        // Some input while nothing runs, some while it runs.
        if let Some(chunk) = chunks.next() {
            send(&feed, chunk, &mut delivered).await;
        }
        let started = Instant::now();
        let mut child = start_processor(&process_config, &log);
        if kill == KILLS {
            // The last one runs to the end, with what input is left.
            last = Some(Broker(child));
            for chunk in chunks.by_ref() {
                send(&feed, chunk, &mut delivered).await;
            }
            break;
        }
        // Killed at a random point once it owns partitions (restoring or live).
        let owned = Instant::now();
        loop {
            let n = metric(&http, admin, "callsight_processor_partitions")
                .await
                .unwrap_or(0.0);
            if n > 0.0 {
                break;
            }
            assert!(
                owned.elapsed() < Duration::from_secs(90),
                "seed {seed}: the processor owned no partition after 90 s\n{}",
                log_tail(&log)
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let owned_after = started.elapsed();
        let wait = rng.next(1500);
        tokio::time::sleep(Duration::from_millis(wait)).await;
        eprintln!("kill {kill}: owned partitions after {owned_after:?}, killed {wait} ms later");
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
    }

    let expected = recompute(&delivered);
    let latest_expected: BTreeMap<String, RootCauseVerdict> = {
        let mut m: BTreeMap<String, RootCauseVerdict> = BTreeMap::new();
        for v in expected.values() {
            if m.get(&v.leg_id)
                .is_none_or(|held| held.record_version < v.record_version)
            {
                m.insert(v.leg_id.clone(), v.clone());
            }
        }
        m
    };

    // Every expected verdict arrives; every verdict published equals the recomputed one.
    let (handle, mut events) = consumer::start(
        &config.kafka,
        &bootstrap,
        "crash-test-reader",
        &[&topics.verdicts.name],
        kafka::kafka_metrics(),
    )
    .expect("consumer");
    let reader = Codec::single_object();
    let mut latest: BTreeMap<String, RootCauseVerdict> = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(180);
    while latest != latest_expected {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let event = tokio::time::timeout(remaining, events.recv()).await;
        let Ok(Some(event)) = event else {
            let missing: Vec<_> = latest_expected
                .keys()
                .filter(|k| latest.get(*k) != latest_expected.get(*k))
                .collect();
            panic!(
                "seed {seed}: verdicts missing or different after 180 s: {missing:?}\n{}",
                log_tail(&log)
            );
        };
        if let ConsumerEvent::Record(r) = event {
            let v: RootCauseVerdict = reader
                .decode(&r.payload.expect("payload"))
                .await
                .expect("a verdict");
            let want = expected
                .get(&(v.leg_id.clone(), v.record_version))
                .unwrap_or_else(|| {
                    panic!(
                        "seed {seed}: unexpected verdict {}@{}",
                        v.leg_id, v.record_version
                    )
                });
            assert_eq!(&v, want, "seed {seed}: a published verdict diverges");
            latest.insert(v.leg_id.clone(), v);
        }
    }
    kafka::stop(handle).await;
    drop(last);
}
