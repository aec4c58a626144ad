//! `callsight-lab demo`: the first thing to run. The embedded broker, every role, graphsim and the
//! simulator on a small campus with a few faults, a live view of the verdicts as they come, and
//! a report of what was found against what was injected.

use crate::simdrive::{Pace, Progress};
use crate::stage::{Stage, symbol};
use callsight::Config;
use callsight::follow::is_bad;
use callsight_model::types::RootCauseVerdict;
use callsight_sim::{Label, Schedule, SimConfig, Simulation, WorldConfig};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{IsTerminal, Write as _};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Rows of the live table.
const ROWS: usize = 12;
/// After the simulation ends, how long to wait for the last verdicts.
const SETTLE: Duration = Duration::from_secs(20);

/// The demo's options.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Simulation seed.
    pub seed: u64,
    /// Stop after this long (the whole scenario takes about four minutes).
    pub duration: Option<Duration>,
    /// Simulated seconds per real second once calls start.
    pub speed: f64,
    /// How the telemetry reaches callsight.
    pub telemetry: crate::simdrive::TelemetryPath,
}

/// The demo's simulation: two sites and a handful of faults.
pub fn sim_config(seed: u64) -> SimConfig {
    SimConfig {
        seed,
        world: WorldConfig {
            sites: 2,
            aps_per_site: 4,
            wifi_clients_per_site: 14,
            wired_clients_per_site: 6,
            vpn_users: 2,
            external_users: 4,
            ..WorldConfig::default()
        },
        schedule: Schedule::Demo,
        calls_per_site_hour: 30.0,
        tail_minutes: 10,
        ..SimConfig::default()
    }
}

fn clock(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%H:%M").to_string())
        .unwrap_or_default()
}

fn cut(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_string()
    } else {
        let mut s: String = text.chars().take(width.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

fn row(v: &RootCauseVerdict) -> String {
    let scope = v
        .scope
        .as_ref()
        .map(|s| format!("{} {}", symbol(&s.kind), s.entity_id))
        .unwrap_or_else(|| "-".into());
    format!(
        "{}  {:<20} {:<30} {:<34} {:>4.0}%  {}",
        clock(v.leg_end),
        v.participant_id,
        symbol(&v.primary_cause),
        cut(&scope, 34),
        v.confidence * 100.0,
        cut(&v.summary, 110)
    )
}

/// Runs the demo until the scenario ends, `duration` passes, or ctrl-c.
pub async fn run(mut config: Config, options: DemoOptions) -> anyhow::Result<ExitCode> {
    let state = tempfile::Builder::new()
        .prefix("callsight-demo-")
        .tempdir()?;
    config.processor.state_dir = state.path().to_path_buf();
    config.kafka.linger = Duration::from_millis(5);
    let mut sim = Simulation::new(sim_config(options.seed));
    let faults = sim.faults().to_vec();
    let world = sim.world().clone();
    let mut out = std::io::stdout();
    writeln!(
        out,
        "callsight-lab demo: starting the embedded broker, every role and graphsim…"
    )?;
    if options.telemetry == crate::simdrive::TelemetryPath::Mist {
        // Mist reports no contracted WAN capacity: configured, as an operator of a Mist site does.
        config.rca.wan_capacity =
            crate::simdrive::contracted_capacities(&sim.inventory(sim.start_ms()));
    }
    let stage = Stage::start(config, &world.tenant_id, &world.org_id, options.telemetry).await?;
    let admin = crate::stage::local(stage.running.admin_addr);
    let header = format!(
        "callsight-lab demo — {} sites, {} people, {} faults over {} simulated hours at {}× (seed {}), telemetry through {}\n\
         metrics  http://{admin}/metrics    readiness http://{admin}/readyz\n\
         ingest   {}/telemetry    graphsim http://{}    mistsim {}    Kafka {}\n",
        world.sites.len(),
        world.clients.len(),
        faults.len(),
        (sim.calls_until_ms() - sim.start_ms()) / 3_600_000 + 1,
        options.speed,
        options.seed,
        match options.telemetry {
            crate::simdrive::TelemetryPath::Mist => "Mist (polled and webhooks)",
            crate::simdrive::TelemetryPath::Ndjson => "NDJSON",
        },
        stage.ingest_url,
        stage.graphsim.addr,
        stage
            .mistsim
            .as_ref()
            .map_or_else(|| "-".to_string(), |m| m.url()),
        stage.running.bootstrap,
    );
    write!(out, "{header}")?;
    let stop = CancellationToken::new();
    let progress = Arc::new(Mutex::new(Progress::default()));
    let labels = Arc::new(Mutex::new(Vec::<Label>::new()));
    let driver = stage.driver(&world.tenant_id).stop_on(stop.clone());
    let drive = tokio::spawn({
        let (progress, labels) = (progress.clone(), labels.clone());
        let speed = options.speed;
        async move {
            let mut mine = Vec::new();
            let result = driver
                .drive(&mut sim, Pace { speed: Some(speed) }, &mut mine, |p| {
                    *progress.lock().unwrap_or_else(|e| e.into_inner()) = p.clone()
                })
                .await;
            labels
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend(mine);
            result
        }
    });
    let tty = out.is_terminal();
    let started = Instant::now();
    let mut printed = 0u64;
    let mut finished_at: Option<Instant> = None;
    let interrupted = CancellationToken::new();
    let watcher = tokio::spawn({
        let interrupted = interrupted.clone();
        async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                interrupted.cancel();
            }
        }
    });
    loop {
        tokio::select! {
            _ = interrupted.cancelled() => break,
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
        let p = progress.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let bad: Vec<(u64, RootCauseVerdict)> = stage.verdicts.with(|s| {
            s.recent
                .iter()
                .filter(|(_, v)| is_bad(v))
                .cloned()
                .collect()
        });
        let (legs, complete, poor) = stage.verdicts.with(|s| {
            (
                s.by_leg.len(),
                s.by_leg
                    .values()
                    .filter(|v| !v.completeness.partial)
                    .count(),
                s.by_leg.values().filter(|v| is_bad(v)).count(),
            )
        });
        let status = format!(
            "simulated {}  telemetry lines {}  calls {}  legs with a verdict {}/{}  poor {}  ({:.0} s)",
            clock(p.sim_time_ms),
            p.lines,
            p.calls,
            legs,
            p.legs,
            poor,
            started.elapsed().as_secs_f64()
        );
        if tty {
            let mut screen = String::from("\x1b[2J\x1b[H");
            screen.push_str(&header);
            let _ = writeln!(screen, "{status}\n");
            let _ = writeln!(
                screen,
                "ended  participant          cause                          scope                              conf.  summary"
            );
            for (_, v) in bad.iter().rev().take(ROWS) {
                let _ = writeln!(screen, "{}", row(v));
            }
            write!(out, "{screen}")?;
            out.flush()?;
        } else {
            // Each poor verdict once, in the order read.
            let since = printed;
            for (n, v) in bad.iter().filter(|(n, _)| *n > since) {
                writeln!(out, "{}", row(v))?;
                printed = *n;
            }
            if p.calls > 0 && started.elapsed().as_secs().is_multiple_of(15) {
                writeln!(out, "{status}")?;
            }
        }
        if options.duration.is_some_and(|d| started.elapsed() >= d) {
            break;
        }
        if drive.is_finished() {
            let since = *finished_at.get_or_insert_with(Instant::now);
            let all = labels.lock().unwrap_or_else(|e| e.into_inner()).len();
            if complete >= all || since.elapsed() >= SETTLE {
                break;
            }
        }
    }
    watcher.abort();
    let interrupted = interrupted.is_cancelled();
    stop.cancel();
    let result = drive.await?;
    let labels = labels.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let observed = stage.observed();
    let verdicts: Vec<RootCauseVerdict> = stage
        .verdicts
        .with(|s| s.by_leg.values().cloned().collect());
    let progress = progress.lock().unwrap_or_else(|e| e.into_inner()).clone();
    stage.stop().await;
    drop(state);
    if let Err(e) = &result {
        writeln!(out, "\nthe simulation stopped: {e:#}")?;
    }
    write!(
        out,
        "\n{}",
        report(&faults, &world, &labels, &verdicts, &observed, &progress)
    )?;
    if interrupted {
        writeln!(out, "(interrupted)")?;
    }
    Ok(if result.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The end-of-run report: calls, poor calls, and for each injected fault the cause callsight
/// found on the legs it touched.
pub fn report(
    faults: &[callsight_sim::Fault],
    world: &callsight_sim::World,
    labels: &[Label],
    verdicts: &[RootCauseVerdict],
    observed: &[callsight_sim::Observed],
    progress: &Progress,
) -> String {
    let mut s = String::new();
    let bad = verdicts.iter().filter(|v| is_bad(v)).count();
    let _ = writeln!(
        s,
        "calls {}, legs {}, legs with a verdict {}, poor legs {}",
        progress.calls,
        progress.legs,
        verdicts.len(),
        bad
    );
    let mut causes: BTreeMap<String, usize> = BTreeMap::new();
    for v in verdicts.iter().filter(|v| is_bad(v)) {
        *causes.entry(symbol(&v.primary_cause)).or_default() += 1;
    }
    let _ = writeln!(s, "causes found on poor legs:");
    for (cause, n) in &causes {
        let _ = writeln!(s, "  {cause:<32} {n}");
    }
    let by_leg: BTreeMap<_, _> = observed
        .iter()
        .filter_map(|o| o.leg().map(|l| (l, o)))
        .collect();
    let _ = writeln!(
        s,
        "\nfaults injected → what callsight found on the legs behind them:"
    );
    for f in faults {
        let mine: Vec<&Label> = labels
            .iter()
            .filter(|l| l.fault == Some(f.id) && !l.ambiguous && l.cause == f.kind.cause())
            .collect();
        let found = mine
            .iter()
            .filter(|l| {
                by_leg
                    .get(&l.leg())
                    .is_some_and(|o| o.predicted() == l.cause)
            })
            .count();
        let _ = writeln!(
            s,
            "  {:<26} {:<26} expected {:<30} found on {found} of {} legs",
            format!("{:?}", f.kind),
            cut(&target_name(world, &f.target), 26),
            f.kind.cause(),
            mine.len()
        );
    }
    let report = callsight_sim::score(labels, observed);
    let _ = writeln!(
        s,
        "\nevery leg scored against the simulator's truth: macro-F1 {:.3} over {} causes, {} of {} legs right, scope right {:.0} %, guilty participant right {:.0} %",
        report.macro_f1,
        report
            .classes
            .iter()
            .filter(|c| c.support > 0 && c.class != "good")
            .count(),
        (report.accuracy * report.legs_scored as f64).round(),
        report.legs_scored,
        report.scope_accuracy * 100.0,
        report.guilty_accuracy * 100.0
    );
    s
}

fn target_name(world: &callsight_sim::World, target: &callsight_sim::fault::Target) -> String {
    use callsight_sim::fault::Target;
    match target {
        Target::Client { client } => world.clients[*client].device.clone(),
        Target::Radio { site, ap, radio } => {
            let ap = &world.sites[*site].aps[*ap];
            format!(
                "{} {}",
                ap.name,
                if *radio == 0 { "2.4 GHz" } else { "5 GHz" }
            )
        }
        Target::Ap { site, ap } => world.sites[*site].aps[*ap].name.clone(),
        Target::Port { site, switch, port } => {
            format!("{} {port}", world.sites[*site].switches[*switch].name)
        }
        Target::Uplink { site, switch } => {
            let sw = &world.sites[*site].switches[*switch];
            format!("{} {}", sw.name, sw.uplink)
        }
        Target::Wan { site } => format!("{} WAN primary", world.sites[*site].name),
        Target::VpnPool => "VPN users".into(),
        Target::Site { site } => world.sites[*site].name.clone(),
    }
}
