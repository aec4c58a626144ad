//! The lab's command line.

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// callsight's lab: the demo, the simulators and the benchmarks.
#[derive(Debug, Parser)]
#[command(name = "callsight-lab", version, about, long_about = None)]
pub struct Cli {
    /// callsight's configuration file (TOML). Environment variables `CALLSIGHT__SECTION__KEY`
    /// override it.
    #[arg(long, short = 'c', global = true, env = "CALLSIGHT_CONFIG")]
    pub config: Option<PathBuf>,
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// The demo: the embedded broker, every role, graphsim and the simulator on a small campus
    /// with a few faults; a live view of the verdicts, then a report of what was found against
    /// what was injected.
    Demo {
        /// Simulation seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Stop after this long (e.g. `90s`); the whole scenario takes about four minutes.
        #[arg(long, value_parser = humantime::parse_duration)]
        duration: Option<std::time::Duration>,
        /// Simulated seconds per real second once calls start.
        #[arg(long, default_value_t = 60.0, value_parser = parse_speed)]
        speed: f64,
        /// How the telemetry reaches callsight: `mist` (mistsim polled by callsight's Mist
        /// poller, and its signed webhooks) or `ndjson` (`POST /telemetry`).
        #[arg(long, value_enum, default_value_t = crate::simdrive::TelemetryPath::Mist)]
        telemetry: crate::simdrive::TelemetryPath,
    },
    /// The simulator against a callsight and a graphsim running elsewhere: creates its tenant in
    /// graphsim, waits for callsight's subscription, then sends NDJSON telemetry to the ingest
    /// role and completes calls in graphsim, and writes the ground truth of every leg.
    Sim(crate::sim::Options),
    /// A simulator of Microsoft Graph's callRecords API and Entra, for trying callsight without
    /// a Microsoft 365 tenant: point `graph.base_url` and `graph.login_url` at it.
    Graphsim {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8450")]
        listen: std::net::SocketAddr,
        /// Client id of the simulated app registration.
        #[arg(long, default_value = "11111111-2222-4333-8444-555555555555")]
        client_id: String,
        /// Its secret.
        #[arg(long, default_value = "sim-secret", env = "CALLSIGHT_GRAPHSIM_SECRET")]
        client_secret: String,
        /// Largest page of sessions served.
        #[arg(long, default_value_t = 60)]
        page_size: usize,
        /// A tenant to create at start: GUID, then optionally `=Name` (its administrator is
        /// `admin@<name>.example`). Repeatable; more can be added with `POST /_sim/tenants`.
        #[arg(long = "tenant")]
        tenants: Vec<String>,
    },
    /// End-to-end benchmarks, each printing its figures and its exact setup.
    Bench {
        /// Which benchmark.
        #[command(subcommand)]
        which: BenchCommand,
    },
}

/// `callsight-lab bench ...`
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Diagnosis accuracy: the simulator's standard fault set (one fault per cause) through a
    /// whole callsight in this process; prints per-cause precision, recall and F1, the
    /// confusion, macro-F1, scope and guilty-participant accuracy.
    Accuracy {
        /// Simulation seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Inject only the first N faults of the standard set.
        #[arg(long, default_value_t = usize::MAX, hide_default_value = true)]
        faults: usize,
        /// Simulated seconds per real second once calls start.
        #[arg(long, default_value_t = 600.0, value_parser = parse_speed)]
        speed: f64,
        /// Calls per site per simulated hour.
        #[arg(long, default_value_t = 40.0, value_parser = parse_calls_per_hour)]
        calls_per_site_hour: f64,
        /// Write `truth.ndjson`, `verdicts.ndjson`, `report.json` and `metrics.prom` into this folder.
        #[arg(long)]
        out: Option<PathBuf>,
        /// How the telemetry reaches callsight: `mist` (mistsim polled by callsight's Mist
        /// poller, and its signed webhooks) or `ndjson` (`POST /telemetry`).
        #[arg(long, value_enum, default_value_t = crate::simdrive::TelemetryPath::Mist)]
        telemetry: crate::simdrive::TelemetryPath,
        /// Which simulated world: `campus` (three sites of six APs with a dense office, the
        /// world the engine was built on) or `branches` (six small branches, more desks, VPN
        /// and outside people).
        #[arg(long, value_enum, default_value_t = crate::bench::accuracy::World::Campus)]
        world: crate::bench::accuracy::World,
    },
    /// The processor's state alone: a campus of wireless clients (25 per AP, 500 per site)
    /// reporting every minute, applied to four partitions' RocksDB state as the process role
    /// applies it (no Kafka, no decoding): samples per second, peak RSS, RocksDB memory and disk.
    State {
        /// Wireless clients of the campus.
        #[arg(default_value_t = 100_000)]
        clients: usize,
        /// Minutes of telemetry (and retention).
        #[arg(default_value_t = 240)]
        minutes: i64,
    },
    /// The processor from Kafka: a campus (100 clients per site, 16 partitions by default)
    /// produced to the embedded broker, then the process role on it: samples per second through
    /// the state; then LEGS legs and each one's time to its verdict; then a second processor
    /// restoring every partition by replay.
    Kafka {
        /// Wireless clients of the campus.
        #[arg(default_value_t = 10_000)]
        clients: usize,
        /// Minutes of telemetry.
        #[arg(default_value_t = 60)]
        minutes: i64,
        /// Legs timed from production to verdict.
        #[arg(default_value_t = 200)]
        legs: usize,
        /// Partitions of the topics. The embedded broker keeps about 5 MiB (compressed) per
        /// partition, about 70,000 of these samples: more partitions hold a larger campus.
        #[arg(default_value_t = 16, value_parser = clap::value_parser!(i32).range(1..))]
        partitions: i32,
    },
    /// The `kafka` workload through callsight and through the same windowed join written with
    /// Quix Streams (`bench/peer/quix_join.py`), on one broker with the same bytes; run it with
    /// `bench/peer/compare.sh`, which installs the pinned Quix Streams.
    Peer {
        /// Wireless clients of the campus.
        #[arg(default_value_t = 4_000)]
        clients: usize,
        /// Minutes of telemetry.
        #[arg(default_value_t = 60)]
        minutes: i64,
        /// Legs joined by both.
        #[arg(default_value_t = 200)]
        legs: usize,
    },
    /// The Teams connector under load: Graph-shaped webhook deliveries (one and ten change
    /// notifications) from concurrent senders, then the fetcher over call records in graphsim.
    Graph {
        /// Seconds per webhook phase.
        #[arg(default_value_t = 10)]
        seconds: u64,
        /// Concurrent senders.
        #[arg(default_value_t = 64)]
        concurrency: usize,
        /// Call records the fetcher fetches.
        #[arg(default_value_t = 2_000)]
        records: usize,
    },
    /// Ingest under sustained load through HTTP into the embedded broker: batched NDJSON (1,000
    /// samples per request) and signed Mist webhooks (one event each); requests and records per
    /// second, latency percentiles.
    Ingest {
        /// Seconds per phase.
        #[arg(default_value_t = 15)]
        seconds: u64,
        /// Concurrent senders.
        #[arg(default_value_t = 16)]
        concurrency: usize,
        /// Only this phase: `ndjson` or `webhook`.
        #[arg(value_parser = ["ndjson", "webhook"])]
        phase: Option<String>,
    },
}

/// A fault schedule by name.
pub(crate) fn parse_schedule(text: &str) -> Result<callsight_sim::Schedule, String> {
    match text {
        "standard" => Ok(callsight_sim::Schedule::Standard),
        "demo" => Ok(callsight_sim::Schedule::Demo),
        "none" => Ok(callsight_sim::Schedule::None),
        other => Err(format!("unknown schedule {other}: standard, demo or none")),
    }
}

fn parse_speed(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(x) if x.is_finite() && x > 0.0 => Ok(x),
        _ => Err(format!(
            "{text}: a number of simulated seconds per real second above 0"
        )),
    }
}

/// A speed above 0, or 0 for as fast as possible.
pub(crate) fn parse_speed_or_zero(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(0.0) => Ok(0.0),
        _ => parse_speed(text).map_err(|e| format!("{e}, or 0 for as fast as callsight takes it")),
    }
}

fn parse_calls_per_hour(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(x) if x.is_finite() && (0.0..=10_000.0).contains(&x) => Ok(x),
        _ => Err(format!("{text}: calls per site per hour, from 0 to 10000")),
    }
}
