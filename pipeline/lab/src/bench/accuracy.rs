//! `callsight-lab bench accuracy`: the simulator's standard fault set through a whole callsight in
//! one process (graphsim, ingest, fetch, process on the embedded broker), every verdict scored
//! against the ground truth.

use crate::simdrive::{Pace, TelemetryPath};
use crate::stage::Stage;
use callsight::Config;
use callsight_sim::accuracy::Report;
use callsight_sim::truth::LegRef;
use callsight_sim::{Label, Schedule, SimConfig, Simulation};
use std::collections::HashSet;
use std::io::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// How long to wait for the last verdicts once nothing new arrives.
const QUIET: Duration = Duration::from_secs(45);

/// The accuracy run's options.
#[derive(Debug, Clone)]
pub struct AccuracyOptions {
    /// Simulation seed.
    pub seed: u64,
    /// At most this many faults of the standard set (all by default).
    pub faults: usize,
    /// Simulated seconds per real second once calls start.
    pub speed: f64,
    /// Calls per site per simulated hour.
    pub calls_per_site_hour: f64,
    /// Folder for `truth.ndjson`, `verdicts.ndjson`, `report.json` and `metrics.prom`.
    pub out: Option<PathBuf>,
    /// How the telemetry reaches callsight.
    pub telemetry: TelemetryPath,
    /// Which simulated world.
    pub world: World,
}

/// The simulated worlds the benchmark runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum World {
    /// Three sites of six APs, a dense office among them (the world the engine was built on).
    #[default]
    Campus,
    /// Six small branches of three APs, more desks, VPN and outside people, 2.4 GHz laptops
    /// ([`WorldConfig::branches`](callsight_sim::WorldConfig::branches)).
    Branches,
}

impl World {
    fn config(self) -> callsight_sim::WorldConfig {
        match self {
            World::Campus => callsight_sim::WorldConfig::default(),
            World::Branches => callsight_sim::WorldConfig::branches(),
        }
    }

    /// Its name, as the command line spells it.
    pub fn name(self) -> &'static str {
        match self {
            World::Campus => "campus",
            World::Branches => "branches",
        }
    }
}

/// The result of a run.
pub struct AccuracyRun {
    /// The scores.
    pub report: Report,
    /// The setup, in words.
    pub setup: String,
    /// The ground truth.
    pub labels: Vec<Label>,
    /// What the callsight's `/metrics` served at the end of the run (Prometheus text).
    pub metrics: String,
}

/// Runs the benchmark.
pub async fn accuracy(
    mut config: Config,
    options: &AccuracyOptions,
) -> anyhow::Result<AccuracyRun> {
    let state = tempfile::Builder::new()
        .prefix("callsight-bench-")
        .tempdir()?;
    config.processor.state_dir = state.path().to_path_buf();
    config.admin.listen = "127.0.0.1:0".parse()?;
    config.ingest.listen = "127.0.0.1:0".parse()?;
    config.kafka.linger = Duration::from_millis(5);
    let sim_config = SimConfig {
        seed: options.seed,
        schedule: Schedule::Standard,
        fault_limit: options.faults,
        calls_per_site_hour: options.calls_per_site_hour,
        world: options.world.config(),
        ..SimConfig::default()
    };
    let mut sim = Simulation::new(sim_config.clone());
    if options.telemetry == TelemetryPath::Mist {
        // Mist reports no contracted WAN capacity: configured, as an operator of a Mist site does.
        config.rca.wan_capacity =
            crate::simdrive::contracted_capacities(&sim.inventory(sim.start_ms()));
    }
    let started = Instant::now();
    let stage = Stage::start(
        config,
        &sim.world().tenant_id,
        &sim.world().org_id,
        options.telemetry,
    )
    .await?;
    let driver = stage.driver(&sim.world().tenant_id);
    let mut labels = Vec::new();
    let progress = driver
        .drive(
            &mut sim,
            Pace {
                speed: Some(options.speed),
            },
            &mut labels,
            |_| {},
        )
        .await?;
    // Wait for a complete verdict of every scored leg, or for the verdicts to stop coming.
    let wanted: HashSet<LegRef> = labels
        .iter()
        .filter(|l| !l.ambiguous)
        .map(Label::leg)
        .collect();
    let mut last = (0u64, Instant::now());
    loop {
        let (done, records) = stage.verdicts.with(|s| {
            let done = s
                .by_leg
                .values()
                .filter(|v| !v.completeness.partial)
                .filter_map(|v| callsight_sim::accuracy::leg_ref(&v.leg_id))
                .filter(|l| wanted.contains(l))
                .count();
            (done, s.records)
        });
        if done >= wanted.len() {
            break;
        }
        if records != last.0 {
            last = (records, Instant::now());
        } else if last.1.elapsed() > QUIET {
            tracing::warn!(
                verdicts = done,
                legs = wanted.len(),
                "verdicts stopped arriving before every leg had one"
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let elapsed = started.elapsed();
    let observed = stage.observed();
    let report = callsight_sim::score(&labels, &observed);
    let world = &sim_config.world;
    let setup = format!(
        "telemetry through {path}; world {world_name}, seed {seed}; {sites} sites × ({aps} APs, {wifi} Wi-Fi laptops, {wired} desks) + {vpn} VPN and {ext} external users; \
         {faults} faults of the standard set, {fault_min} simulated minutes each; {cph} calls per site-hour; \
         {calls} calls, {legs} legs, {lines} telemetry lines over {hours:.1} simulated hours at {speed}× \
         (history sent as fast as taken); embedded broker, {parts} partitions; ran {secs:.0} s",
        path = match options.telemetry {
            TelemetryPath::Mist => "the Mist path (mistsim polled by the poller, webhooks)",
            TelemetryPath::Ndjson => "NDJSON",
        },
        world_name = options.world.name(),
        seed = options.seed,
        sites = world.sites,
        aps = world.aps_per_site,
        wifi = world.wifi_clients_per_site,
        wired = world.wired_clients_per_site,
        vpn = world.vpn_users,
        ext = world.external_users,
        faults = sim.faults().len(),
        fault_min = callsight_sim::fault::FAULT_MS / 60_000,
        cph = options.calls_per_site_hour,
        calls = progress.calls,
        legs = progress.legs,
        lines = progress.lines,
        hours = (progress.sim_time_ms - sim.start_ms()) as f64 / 3_600_000.0,
        speed = options.speed,
        parts = stage.config.topics.legs.partitions,
        secs = elapsed.as_secs_f64(),
    );
    let metrics_url = format!(
        "http://{}/metrics",
        crate::stage::local(stage.running.admin_addr)
    );
    let metrics = reqwest::get(&metrics_url)
        .await?
        .error_for_status()?
        .text()
        .await?;
    if let Some(dir) = &options.out {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join("metrics.prom"), &metrics)?;
        crate::sim::write_truth(&dir.join("truth.ndjson"), &labels)?;
        let mut out = std::io::BufWriter::new(std::fs::File::create(dir.join("verdicts.ndjson"))?);
        stage.verdicts.with(|s| -> std::io::Result<()> {
            for v in s.by_leg.values() {
                writeln!(out, "{}", serde_json::to_string(v)?)?;
            }
            Ok(())
        })?;
        out.flush()?;
        std::fs::write(
            dir.join("report.json"),
            serde_json::to_vec_pretty(&serde_json::json!({"setup": setup, "report": report}))?,
        )?;
    }
    stage.stop().await;
    drop(state);
    Ok(AccuracyRun {
        report,
        setup,
        labels,
        metrics,
    })
}
