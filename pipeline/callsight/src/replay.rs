//! `callsight replay DIR`: the whole pipeline over recorded inputs, to re-examine a past incident
//! or try new thresholds on real history. The folder holds Graph call records as fetched
//! (`*.json` with `sessions`), Mist webhook bodies (`*.json` with `topic` and `events`), and
//! NDJSON telemetry and inventory (`*.ndjson`). Everything is sent in event-time order through
//! the real interfaces (inventory first, a call once the telemetry up to its end is in) to a
//! callsight in this process on the embedded broker, and the verdicts are written as NDJSON (they
//! are also on `rca.verdicts`).

use crate::stage::Stage;
use anyhow::Context as _;
use callsight_core::Config;
use callsight_core::config::{MistOrgConfig, Secret};
use callsight_model::types::{CallLeg, RootCauseVerdict};
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// NDJSON types that describe the inventory (sent before anything else).
const INVENTORY_TYPES: [&str; 6] = [
    "site",
    "subnet",
    "access_point",
    "switch",
    "gateway",
    "wan_link",
];

/// The command's options (`callsight replay --help`).
#[derive(Debug, Clone, clap::Args)]
pub struct Options {
    /// Folder of recordings: `*.json` (call records, Mist webhook bodies), `*.ndjson`.
    pub dir: PathBuf,
    /// Where to write the verdicts.
    #[arg(long, default_value = "verdicts.ndjson")]
    pub out: PathBuf,
    /// Org the call records belong to (default: the org most telemetry names).
    #[arg(long)]
    pub org: Option<String>,
    /// Tenant GUID to file the call records under.
    #[arg(long, default_value = "00000000-0000-4000-8000-00000000c0de")]
    pub tenant: String,
    /// End this long after the last input once nothing new arrives.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub quiet: Duration,
}

/// One recorded input.
#[derive(Debug, Clone)]
enum Input {
    /// An NDJSON line.
    Line(Value),
    /// A Mist webhook body for an org.
    Mist { org: String, body: Vec<u8> },
    /// A Graph call record.
    Call(Value),
}

/// What a replay did.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Telemetry records ingest accepted.
    pub accepted: u64,
    /// Telemetry lines or events ingest rejected (kept in `net.telemetry.dlq`).
    pub rejected: u64,
    /// Call records replayed.
    pub calls: u64,
    /// Legs the fetcher produced from them.
    pub legs: usize,
    /// Verdicts written.
    pub verdicts: usize,
    /// Of which partial (the recordings end before the telemetry closed the leg's windows).
    pub partial: usize,
    /// Of which poor legs.
    pub poor: usize,
}

fn event_time(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s
            .parse::<jiff::Timestamp>()
            .ok()
            .map(|t| t.as_millisecond()),
        _ => None,
    }
}

/// Reads every input of `dir` with its event time (inputs without one sort first), leaving out
/// `skip` (the output file, should it be in the folder).
fn read_inputs(dir: &Path, skip: &Path) -> anyhow::Result<Vec<(i64, Input)>> {
    let skip = skip.canonicalize().ok();
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .filter(|p| skip.is_none() || p.canonicalize().ok() != skip)
        .collect();
    files.sort();
    let mut inputs = Vec::new();
    for file in files {
        let name = file.display().to_string();
        match file.extension().and_then(|e| e.to_str()) {
            Some("ndjson") => {
                let text = std::fs::read_to_string(&file).with_context(|| name.clone())?;
                for (n, line) in text
                    .lines()
                    .enumerate()
                    .filter(|(_, l)| !l.trim().is_empty())
                {
                    let value: Value = serde_json::from_str(line)
                        .with_context(|| format!("{name}:{}: not JSON", n + 1))?;
                    let inventory = value["type"]
                        .as_str()
                        .is_some_and(|t| INVENTORY_TYPES.contains(&t));
                    let time = if inventory {
                        i64::MIN
                    } else {
                        event_time(&value["time"]).unwrap_or(i64::MIN)
                    };
                    inputs.push((time, Input::Line(value)));
                }
            }
            Some("json") => {
                let bytes = std::fs::read(&file).with_context(|| name.clone())?;
                let value: Value =
                    serde_json::from_slice(&bytes).with_context(|| format!("{name}: not JSON"))?;
                if let Some(events) = value["events"]
                    .as_array()
                    .filter(|_| value["topic"].is_string())
                {
                    let org = events
                        .iter()
                        .find_map(|e| e["org_id"].as_str())
                        .with_context(|| format!("{name}: a Mist webhook without an org_id"))?
                        .to_string();
                    let time = events
                        .iter()
                        .filter_map(|e| e["timestamp"].as_f64())
                        .map(|t| (t * 1000.0) as i64)
                        .max()
                        .unwrap_or(i64::MIN);
                    inputs.push((time, Input::Mist { org, body: bytes }));
                } else if value["sessions"].is_array() || value["endDateTime"].is_string() {
                    let time = event_time(&value["endDateTime"])
                        .with_context(|| format!("{name}: a call record without endDateTime"))?;
                    inputs.push((time, Input::Call(value)));
                } else {
                    tracing::warn!(
                        file = %name,
                        "skipped: neither a Graph call record nor a Mist webhook body"
                    );
                }
            }
            _ => {}
        }
    }
    // Stable: inputs of one instant keep their file order.
    inputs.sort_by_key(|(t, _)| *t);
    Ok(inputs)
}

/// The org most telemetry names.
fn main_org(inputs: &[(i64, Input)]) -> Option<String> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for (_, input) in inputs {
        let org = match input {
            Input::Line(v) => v["org_id"].as_str().map(str::to_string),
            Input::Mist { org, .. } => Some(org.clone()),
            Input::Call(_) => None,
        };
        if let Some(org) = org {
            *counts.entry(org).or_default() += 1;
        }
    }
    counts.into_iter().max_by_key(|(_, n)| *n).map(|(o, _)| o)
}

/// Replays the folder; returns the summary once the verdicts are written.
pub async fn replay(mut config: Config, options: &Options) -> anyhow::Result<Summary> {
    let inputs = read_inputs(&options.dir, &options.out)?;
    anyhow::ensure!(
        !inputs.is_empty(),
        "{} holds no recordings",
        options.dir.display()
    );
    let org = options
        .org
        .clone()
        .or_else(|| main_org(&inputs))
        .context("no org in the telemetry: name it with --org")?;
    let state = tempfile::Builder::new()
        .prefix("callsight-replay-")
        .tempdir()?;
    config.processor.state_dir = state.path().to_path_buf();
    config.admin.listen = "127.0.0.1:0".parse()?;
    config.ingest.listen = "127.0.0.1:0".parse()?;
    config.kafka.linger = Duration::from_millis(5);
    config.ingest.mist.poll = false;
    // The recordings end somewhere: legs their telemetry never closes are evaluated with what
    // there is after this wait, marked partial.
    config.processor.max_wait = config.processor.max_wait.min(Duration::from_secs(10));
    config.processor.tick_interval = Duration::from_secs(1);
    let secret = "replay-webhook-secret".to_string();
    for (_, input) in &inputs {
        if let Input::Mist { org, .. } = input {
            config.ingest.mist.orgs.insert(
                org.clone(),
                MistOrgConfig {
                    webhook_secret: Secret(secret.clone()),
                    ..MistOrgConfig::default()
                },
            );
        }
    }
    let stage = Stage::start(config, &options.tenant, &org).await?;
    let (legs, legs_handle) = follow_legs(&stage)?;
    let driver = stage.driver(&options.tenant);
    let mut summary = Summary::default();
    let mut batch: Vec<Value> = Vec::new();
    for (_, input) in inputs {
        if !matches!(input, Input::Line(_)) && !batch.is_empty()
            || batch.len() >= crate::simdrive::BATCH_LINES
        {
            let posted = driver
                .post_lines_counted(&std::mem::take(&mut batch))
                .await?;
            summary.accepted += posted.accepted;
            summary.rejected += posted.rejected.len() as u64;
        }
        match input {
            Input::Line(v) => batch.push(v),
            Input::Mist { org, body } => {
                let posted = driver.post_mist(&org, body, &secret).await?;
                summary.accepted += posted.accepted;
                summary.rejected += posted.rejected.len() as u64;
            }
            Input::Call(record) => {
                driver.complete_call(&record).await?;
                summary.calls += 1;
            }
        }
    }
    if !batch.is_empty() {
        let posted = driver.post_lines_counted(&batch).await?;
        summary.accepted += posted.accepted;
        summary.rejected += posted.rejected.len() as u64;
    }
    // Until the legs of every call are in and each has a complete verdict, or nothing has
    // changed for `quiet`.
    let mut last = (0u64, 0usize, Instant::now());
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let (leg_ids, calls_in) = {
            let seen = legs.lock().unwrap_or_else(|p| p.into_inner());
            (seen.legs.clone(), seen.calls.len() as u64)
        };
        let (records, complete) = stage.verdicts.with(|s| {
            let complete = leg_ids
                .iter()
                .filter(|l| s.by_leg.get(*l).is_some_and(|v| !v.completeness.partial))
                .count();
            (s.records, complete)
        });
        if calls_in >= summary.calls && complete == leg_ids.len() {
            break;
        }
        if (records, leg_ids.len()) != (last.0, last.1) {
            last = (records, leg_ids.len(), Instant::now());
        } else if last.2.elapsed() >= options.quiet {
            break;
        }
    }
    let mut verdicts: Vec<RootCauseVerdict> = stage
        .verdicts
        .with(|s| s.by_leg.values().cloned().collect());
    verdicts.sort_by(|a, b| (a.leg_end, &a.leg_id).cmp(&(b.leg_end, &b.leg_id)));
    summary.legs = legs.lock().unwrap_or_else(|p| p.into_inner()).legs.len();
    summary.verdicts = verdicts.len();
    summary.partial = verdicts.iter().filter(|v| v.completeness.partial).count();
    summary.poor = verdicts.iter().filter(|v| crate::stage::is_bad(v)).count();
    let mut out = std::io::BufWriter::new(
        std::fs::File::create(&options.out)
            .with_context(|| format!("cannot write {}", options.out.display()))?,
    );
    for v in &verdicts {
        writeln!(out, "{}", serde_json::to_string(v)?)?;
    }
    out.flush()?;
    drop(legs_handle);
    stage.stop().await;
    drop(state);
    Ok(summary)
}

/// The legs the fetcher published.
#[derive(Default)]
struct LegsSeen {
    /// Leg ids.
    legs: HashSet<String>,
    /// Call ids.
    calls: HashSet<String>,
}

/// Collects the legs the fetcher publishes, for as long as the handle is kept.
fn follow_legs(
    stage: &Stage,
) -> anyhow::Result<(
    Arc<Mutex<LegsSeen>>,
    callsight_kafka::consumer::ConsumerHandle,
)> {
    let ids: Arc<Mutex<LegsSeen>> = Arc::default();
    let sink = ids.clone();
    let handle = crate::stage::follow(
        &stage.config,
        &stage.running.bootstrap,
        &format!("callsight-replay-legs-{}", std::process::id()),
        &stage.config.topics.legs.name,
        move |leg: Option<CallLeg>| {
            if let Some(leg) = leg {
                let mut seen = sink.lock().unwrap_or_else(|p| p.into_inner());
                seen.calls.insert(leg.call_id);
                seen.legs.insert(leg.leg_id);
            }
        },
    )?;
    Ok((ids, handle))
}

/// `callsight replay`: runs the replay and prints its summary; fails when call records gave no
/// legs or legs got no verdict.
pub async fn run(config: Config, options: Options) -> anyhow::Result<ExitCode> {
    let summary = replay(config, &options).await?;
    let complete = summary.calls == 0 || (summary.legs > 0 && summary.verdicts >= summary.legs);
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "callsight replay: {} telemetry records accepted, {} rejected (see net.telemetry.dlq); \
         {} call records, {} legs; {} verdicts ({} poor, {} partial) written to {}",
        summary.accepted,
        summary.rejected,
        summary.calls,
        summary.legs,
        summary.verdicts,
        summary.poor,
        summary.partial,
        options.out.display()
    )?;
    if !complete {
        writeln!(
            out,
            "callsight replay: incomplete: {} call records gave {} legs and {} verdicts",
            summary.calls, summary.legs, summary.verdicts
        )?;
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
