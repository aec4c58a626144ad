//! `callsight-lab sim`: the simulator against a callsight and a graphsim that run elsewhere. It
//! creates the simulated tenant in graphsim, waits until callsight has subscribed to it, then
//! sends the telemetry (through a mistsim it serves, which callsight's poller reads and whose
//! webhooks it posts to the ingest role; or as NDJSON to the ingest role) and completes the calls
//! in graphsim, and writes the ground truth of every leg.

use crate::simdrive::{Driver, Pace, TelemetryPath};
use anyhow::Context as _;
use callsight_sim::{Schedule, SimConfig, Simulation};
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The command's options (`callsight-lab sim --help`).
#[derive(Debug, Clone, clap::Args)]
pub struct Options {
    /// Base URL of callsight's ingest role.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub ingest: String,
    /// Base URL of graphsim.
    #[arg(long, default_value = "http://127.0.0.1:8450")]
    pub graphsim: String,
    /// How the telemetry reaches callsight: `mist` (a mistsim served here, polled by callsight's
    /// Mist poller, and its signed webhooks) or `ndjson` (`POST /telemetry`).
    #[arg(long, value_enum, default_value_t = TelemetryPath::Mist)]
    pub telemetry: TelemetryPath,
    /// Where the mistsim listens (`ingest.mist.api_url` of the callsight).
    #[arg(long, default_value = "127.0.0.1:8460")]
    pub mistsim_listen: std::net::SocketAddr,
    /// The mistsim's API token (`ingest.mist.orgs.<org>.api_token`); random if unset.
    #[arg(long, env = "CALLSIGHT_MISTSIM_TOKEN")]
    pub mist_token: Option<String>,
    /// The mistsim's webhook secret (`ingest.mist.orgs.<org>.webhook_secret`); random if unset.
    #[arg(long, env = "CALLSIGHT_MISTSIM_SECRET")]
    pub mist_secret: Option<String>,
    /// Bearer token of `POST /telemetry` (`ingest.telemetry_token`).
    #[arg(long, env = "CALLSIGHT_TELEMETRY_TOKEN")]
    pub token: Option<String>,
    /// Simulation seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Which faults: `standard` (one per cause), `demo`, `none`.
    #[arg(long, default_value = "standard", value_parser = crate::cli::parse_schedule)]
    pub schedule: Schedule,
    /// Inject only the first N faults of the schedule.
    #[arg(long, default_value_t = usize::MAX, hide_default_value = true)]
    pub faults: usize,
    /// Simulated seconds per real second once calls start; 0 runs as fast as callsight
    /// takes it.
    #[arg(long, default_value_t = 60.0, value_parser = crate::cli::parse_speed_or_zero)]
    pub speed: f64,
    /// Org id (default: generated from the seed).
    #[arg(long)]
    pub org: Option<String>,
    /// Tenant GUID (default: generated from the seed).
    #[arg(long)]
    pub tenant: Option<String>,
    /// Write the ground truth here (NDJSON, one label per leg).
    #[arg(long)]
    pub truth: Option<PathBuf>,
    /// How long to wait for callsight's subscription to the tenant.
    #[arg(long, default_value = "2m", value_parser = humantime::parse_duration)]
    pub wait: Duration,
    /// Write the recordings into this folder instead of driving a callsight (for `callsight
    /// replay`): the Mist org's polls as the poller records them and its webhook bodies (or
    /// with `--telemetry ndjson`, `telemetry.ndjson`), and one `call-<id>.json` per call record.
    #[arg(long)]
    pub record: Option<PathBuf>,
}

/// Writes a call's record as `call-<id>.json` in `dir`; returns its legs' truth.
fn write_call(
    dir: &std::path::Path,
    call: callsight_sim::CompletedCall,
) -> anyhow::Result<Vec<callsight_sim::Label>> {
    let id = call.record["id"].as_str().unwrap_or_default().to_string();
    std::fs::write(
        dir.join(format!("call-{id}.json")),
        serde_json::to_vec_pretty(&call.record)?,
    )?;
    Ok(call.labels)
}

/// Writes a whole simulation as recordings: `telemetry.ndjson` (inventory first) and one
/// `call-<id>.json` per record. Returns the ground truth.
pub fn record(
    sim: &mut Simulation,
    dir: &std::path::Path,
) -> anyhow::Result<Vec<callsight_sim::Label>> {
    std::fs::create_dir_all(dir)?;
    let mut telemetry =
        std::io::BufWriter::new(std::fs::File::create(dir.join("telemetry.ndjson"))?);
    for line in sim.inventory(sim.start_ms()) {
        writeln!(telemetry, "{line}")?;
    }
    let mut labels = Vec::new();
    let mut tail = crate::simdrive::TAIL_MINUTES;
    while tail > 0 {
        if sim.calls_done() {
            tail -= 1;
        }
        let minute = sim.step();
        for line in &minute.telemetry {
            writeln!(telemetry, "{line}")?;
        }
        for call in minute.calls {
            labels.extend(write_call(dir, call)?);
        }
    }
    telemetry.flush()?;
    Ok(labels)
}

/// Writes a whole simulation as a Mist customer's recordings: every poll of the simulated Mist org
/// as callsight's poller records it (`ingest.mist.record_dir`: a `mist-poll-*` folder per poll,
/// one per simulated minute), the webhook bodies Mist would have sent
/// (`mist-webhook-<time>-<topic>.json`), and one `call-<id>.json` per call record. Returns the
/// ground truth.
pub async fn record_mist(
    sim: &mut Simulation,
    dir: &std::path::Path,
) -> anyhow::Result<Vec<callsight_sim::Label>> {
    use callsight_ingest::mist_poll::{MistApi, record_poll};
    std::fs::create_dir_all(dir)?;
    let org = sim.world().org_id.clone();
    let mist = callsight_mistsim::MistSim::start(callsight_mistsim::MistSimConfig {
        org_id: org.clone(),
        ..callsight_mistsim::MistSimConfig::default()
    })
    .await?;
    let metrics = callsight_ingest::metrics::IngestMetrics::register(
        &callsight_core::metrics::Metrics::new(),
    )?;
    let api = MistApi::new(&mist.url(), mist.api_token(), metrics)?.recording_into(dir, &org);
    let mut normalizer = callsight_telemetry::mist::stats::StatsNormalizer::new();
    let org_config = callsight_ingest::config::MistOrgConfig::default();
    let write_hooks = |deliveries: callsight_mistsim::state::Deliveries, time: i64| {
        for (topic, events) in deliveries {
            std::fs::write(
                dir.join(format!("mist-webhook-{time}-{topic}.json")),
                serde_json::to_vec(&serde_json::json!({"topic": topic, "events": events}))?,
            )?;
        }
        anyhow::Ok(())
    };
    let (_, hooks) = mist.take(&sim.inventory(sim.start_ms()));
    write_hooks(hooks, sim.start_ms())?;
    let mut labels = Vec::new();
    let mut tail = crate::simdrive::TAIL_MINUTES;
    while tail > 0 {
        if sim.calls_done() {
            tail -= 1;
        }
        let minute = sim.step();
        let (_, hooks) = mist.take(&minute.telemetry);
        write_hooks(hooks, minute.time_ms)?;
        record_poll(&api, &org, &org_config, &mut normalizer, minute.time_ms)
            .await
            .map_err(|e| {
                anyhow::anyhow!("polling mistsim: {}", callsight_core::error::Report(&e))
            })?;
        for call in minute.calls {
            labels.extend(write_call(dir, call)?);
        }
    }
    mist.shutdown();
    Ok(labels)
}

/// Writes the ground truth as NDJSON, one label per line.
pub fn write_truth(path: &std::path::Path, labels: &[callsight_sim::Label]) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    for l in labels {
        writeln!(out, "{}", serde_json::to_string(l)?)?;
    }
    out.flush()?;
    Ok(())
}

/// A start for `config`'s simulation, whole days after its own, such that the simulated
/// timeline ends before `now_ms`: a running callsight takes only recent event times
/// (`ingest.max_event_age`) and none ahead of its clock (`ingest.max_event_lead`), and the
/// simulation runs faster than the wall clock. Whole days keep each minute's time of day.
fn ending_before_now(config: &SimConfig, now_ms: i64) -> i64 {
    const DAY_MS: i64 = 86_400_000;
    let probe = Simulation::new(config.clone());
    let end = probe.calls_until_ms() + (crate::simdrive::TAIL_MINUTES + 1) * 60_000;
    let days = (now_ms - end).div_euclid(DAY_MS);
    config.start_ms + days * DAY_MS
}

/// Runs the simulation to its end (or ctrl-c).
pub async fn run(options: Options) -> anyhow::Result<ExitCode> {
    let mut config = SimConfig {
        seed: options.seed,
        schedule: options.schedule,
        fault_limit: options.faults,
        org_id: options.org.clone(),
        tenant_id: options.tenant.clone(),
        ..SimConfig::default()
    };
    if options.record.is_none() {
        config.start_ms = ending_before_now(&config, callsight_model::clock::now_ms());
    }
    let mut sim = Simulation::new(config);
    let world = sim.world().clone();
    if let Some(dir) = &options.record {
        let labels = match options.telemetry {
            TelemetryPath::Mist => record_mist(&mut sim, dir).await?,
            TelemetryPath::Ndjson => record(&mut sim, dir)?,
        };
        if let Some(path) = &options.truth {
            write_truth(path, &labels)?;
        }
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "callsight-lab sim: {} legs of org {} recorded in {} (replay with: callsight replay {})",
            labels.len(),
            world.org_id,
            dir.display(),
            dir.display()
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let http = reqwest::Client::new();
    let spec = callsight_graphsim::state::TenantSpec {
        consented: true,
        ..crate::graphsim::tenant_spec(&format!("{}=Contoso", world.tenant_id))
    };
    http.post(format!("{}/_sim/tenants", options.graphsim))
        .json(&spec)
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .context("graphsim: POST /_sim/tenants")?;
    {
        let mut err = std::io::stderr().lock();
        writeln!(
            err,
            "callsight-lab sim: tenant {} created in graphsim. callsight's configuration must declare it:\n\n\
             [graph.tenants.\"{}\"]\norg_id = \"{}\"\n\n\
             waiting up to {:?} for its subscription…",
            world.tenant_id, world.tenant_id, world.org_id, options.wait
        )?;
    }
    let deadline = tokio::time::Instant::now() + options.wait;
    loop {
        let subscriptions: serde_json::Value = http
            .get(format!("{}/_sim/subscriptions", options.graphsim))
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .context("graphsim: GET /_sim/subscriptions")?
            .json()
            .await?;
        let subscribed = subscriptions.as_array().is_some_and(|subs| {
            subs.iter()
                .any(|s| s["tenant_id"] == world.tenant_id.as_str())
        });
        if subscribed {
            break;
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "callsight did not subscribe to tenant {} within {:?}",
            world.tenant_id,
            options.wait
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let stop = CancellationToken::new();
    let mut driver = Driver::new(
        options.ingest.clone(),
        options.token.clone(),
        options.graphsim.clone(),
        world.tenant_id.clone(),
    )
    .stop_on(stop.clone());
    let mistsim = if options.telemetry == TelemetryPath::Mist {
        let random = || -> anyhow::Result<String> {
            let mut key = [0u8; 16];
            getrandom::fill(&mut key).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
            Ok(hex::encode(key))
        };
        let mist = std::sync::Arc::new(
            callsight_mistsim::MistSim::start(callsight_mistsim::MistSimConfig {
                listen: options.mistsim_listen,
                org_id: world.org_id.clone(),
                api_token: options.mist_token.clone().map_or_else(random, Ok)?,
                webhook_secret: options.mist_secret.clone().map_or_else(random, Ok)?,
                webhook_url: Some(format!(
                    "{}/telemetry/mist/{}",
                    options.ingest.trim_end_matches('/'),
                    world.org_id
                )),
                // Polled many times per simulated minute while the drive keeps its pace: no
                // limit of a real hour's requests (mistsim's own tests check it).
                requests_per_hour: u32::MAX,
            })
            .await?,
        );
        let capacities = crate::simdrive::contracted_capacities(&sim.inventory(sim.start_ms()));
        let mut snippet = format!(
            "[ingest.mist]\napi_url = \"{}\"\npoll_interval = \"200ms\"\n\n\
             [ingest.mist.orgs.\"{}\"]\napi_token = \"{}\"\nwebhook_secret = \"{}\"\n",
            mist.url(),
            world.org_id,
            mist.api_token(),
            mist.webhook_secret()
        );
        for (link, c) in &capacities {
            snippet.push_str(&format!(
                "\n[rca.wan_capacity.\"{link}\"]\ndown_bps = {}\nup_bps = {}\n",
                c.down_bps, c.up_bps
            ));
        }
        writeln!(
            std::io::stderr().lock(),
            "callsight-lab sim: the simulated Mist org is served at {}; callsight's configuration \
             must poll it (each simulated minute waits for a poll) and take its webhooks; Mist \
             reports no contracted WAN capacity, so the links' contracts are configured:\n\n{snippet}",
            mist.url()
        )?;
        driver = driver.through_mist(mist.clone());
        Some(mist)
    } else {
        None
    };
    let watcher = tokio::spawn({
        let stop = stop.clone();
        async move {
            let _ = tokio::signal::ctrl_c().await;
            stop.cancel();
        }
    });
    let mut labels = Vec::new();
    let mut last_hour = 0;
    let progress = driver
        .drive(
            &mut sim,
            Pace {
                speed: (options.speed > 0.0).then_some(options.speed),
            },
            &mut labels,
            |p| {
                let hour = p.sim_time_ms / 3_600_000;
                if hour != last_hour {
                    last_hour = hour;
                    tracing::info!(
                        lines = p.lines,
                        calls = p.calls,
                        legs = p.legs,
                        "simulated another hour"
                    );
                }
            },
        )
        .await;
    watcher.abort();
    if let Some(mist) = &mistsim {
        mist.shutdown();
    }
    if let Some(path) = &options.truth {
        write_truth(path, &labels)?;
    }
    let progress = progress?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "callsight-lab sim: {} telemetry lines, {} calls, {} legs{}",
        progress.lines,
        progress.calls,
        progress.legs,
        if progress.finished {
            ""
        } else {
            " (stopped early)"
        }
    )?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_simulation_ends_before_now_at_the_same_time_of_day() {
        let config = SimConfig::default();
        let now = 1_796_000_000_000; // 2026-12-01
        let start = ending_before_now(&config, now);
        assert_eq!((start - config.start_ms) % 86_400_000, 0);
        let shifted = Simulation::new(SimConfig {
            start_ms: start,
            ..config
        });
        let end = shifted.calls_until_ms() + (crate::simdrive::TAIL_MINUTES + 1) * 60_000;
        assert!(end <= now, "ends {} ms after now", end - now);
        assert!(now - end < 86_400_000, "ends within a day before now");
    }
}
