//! `callsight replay DIR`: the pipeline over recorded inputs, to re-examine a past incident or
//! try new thresholds on real history. The folder holds Graph call records as fetched (`*.json`
//! with `sessions`), Mist webhook bodies (`*.json` with `topic` and `events`), recorded Mist
//! polls (folders `mist-poll-*` as `ingest.mist.record_dir` writes them), and NDJSON telemetry
//! and inventory (`*.ndjson`). In event-time order (inventory first, a poll at its time, a call
//! once the telemetry up to its end is in), telemetry goes through the ingest endpoints of a
//! callsight in this process on the embedded broker, each recorded poll through the poller's own
//! normalisation into the same topics, and each call record is normalised as the fetcher does
//! (the same function, a tenant key, the inventory of the recordings) and its legs published to
//! `calls.legs`: the records are already fetched, so neither Graph nor its webhook takes part.
//! The verdicts are written as NDJSON (they are also on `rca.verdicts`).

use crate::config::Config;
use crate::follow::{Verdicts, is_bad};
use crate::run::{self, Roles};
use anyhow::Context as _;
use callsight_core::config::Secret;
use callsight_core::error::Report;
use callsight_core::shutdown::Shutdown;
use callsight_graph::model::CallRecord;
use callsight_graph::normalize::{Lookups, Tenant};
use callsight_ingest::client::{BATCH_LINES, IngestClient, Posted};
use callsight_ingest::config::MistOrgConfig;
use callsight_ingest::metrics::IngestMetrics;
use callsight_ingest::mist_poll::{MistApi, poll_org};
use callsight_ingest::mist_record::RecordedPoll;
use callsight_ingest::sink::Sink;
use callsight_inventory::Inventory;
use callsight_kafka::{Producer, Services};
use callsight_model::types::{CallLeg, RootCauseVerdict};
use callsight_telemetry::mist::stats::StatsNormalizer;
use callsight_telemetry::mist::webhook;
use callsight_telemetry::{Batch, Record, TimeWindow};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
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
    /// Tenant key as 64 hex digits, for pseudonyms that match another run; a random key
    /// otherwise.
    #[arg(long)]
    pub key_hex: Option<String>,
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
    /// A recorded Mist poll.
    MistPoll(RecordedPoll),
}

/// What a replay did.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Telemetry records ingest accepted (and records recorded polls produced).
    pub accepted: u64,
    /// Recorded Mist polls replayed.
    pub mist_polls: u64,
    /// Telemetry lines or events ingest rejected (kept in `net.telemetry.dlq`).
    pub rejected: u64,
    /// Call records replayed.
    pub calls: u64,
    /// Of which records that do not parse or normalise (skipped with a warning, as the fetcher
    /// would keep them as dead letters).
    pub unusable_calls: u64,
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
        Value::String(s) => callsight_model::lenient::parse_timestamp_ms(s),
        _ => None,
    }
}

/// Reads every input of `dir` with its event time (inputs without one sort first), leaving out
/// `skip` (the output file, should it be in the folder).
fn read_inputs(dir: &Path, skip: &Path) -> anyhow::Result<Vec<(i64, Input)>> {
    let skip = skip.canonicalize().ok();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    let mut inputs = Vec::new();
    for folder in entries.iter().filter(|p| p.is_dir()) {
        if let Some(poll) = callsight_ingest::mist_record::read(folder)
            .with_context(|| format!("{}: a recorded Mist poll", folder.display()))?
        {
            inputs.push((poll.polled_at, Input::MistPoll(poll)));
        }
    }
    let files: Vec<PathBuf> = entries
        .into_iter()
        .filter(|p| p.is_file())
        .filter(|p| skip.is_none() || p.canonicalize().ok() != skip)
        .collect();
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
            Input::MistPoll(poll) => Some(poll.org_id.clone()),
            Input::Call(_) => None,
        };
        if let Some(org) = org {
            *counts.entry(org).or_default() += 1;
        }
    }
    counts.into_iter().max_by_key(|(_, n)| *n).map(|(o, _)| o)
}

/// The replay's state folder: new, under the system's temporary folder, readable by this user
/// alone (it holds the recordings' clients' addresses), removed when dropped.
struct StateDir(PathBuf);

impl StateDir {
    fn create() -> std::io::Result<StateDir> {
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        let mut attempt = 0u32;
        loop {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            let dir = std::env::temp_dir().join(format!(
                "callsight-replay-{}-{nanos}-{attempt}",
                std::process::id()
            ));
            match builder.create(&dir) {
                Ok(()) => return Ok(StateDir(dir)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 100 => {
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

impl Drop for StateDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Learns the inventory records of a parsed delivery.
fn learn(inventory: &mut Inventory, batch: Batch) {
    for record in batch.records {
        if let Record::Inventory(r) = record {
            inventory.apply(r);
        }
    }
}

/// The legs a call record normalises to, as the fetcher makes them; `None` (with a warning) for
/// a record that does not parse or normalise, which the fetcher would dead-letter.
fn legs_of(
    config: &Config,
    record: Value,
    tenant: Tenant<'_>,
    inventory: &Inventory,
) -> Option<Vec<CallLeg>> {
    let mut record: CallRecord = match serde_json::from_value(record) {
        Ok(record) => record,
        Err(e) => {
            tracing::warn!(error = %e, "skipped: not a call record");
            return None;
        }
    };
    // Graph gives every record a version; the first is 1.
    record.version.get_or_insert(1);
    let legs = callsight_graph::normalize::legs(
        &record,
        tenant,
        Lookups {
            inventory,
            classification: &config.classification,
        },
        callsight_model::clock::now_ms(),
    );
    match legs {
        Ok(legs) => Some(legs),
        Err(e) => {
            tracing::warn!(call = %record.id, error = %Report(&e), "skipped: the call record does not normalise");
            None
        }
    }
}

/// Publishes a record's legs to `calls.legs` as the fetcher does (all in flight together) and
/// returns their ids once every one is acknowledged.
async fn publish_legs(
    services: &Services,
    producer: &Producer,
    legs: Vec<CallLeg>,
) -> anyhow::Result<Vec<String>> {
    let topic = &services.topics.legs.name;
    let sends = legs.iter().map(|leg| async move {
        let bytes = services.codec.encode_for(topic, leg).await?;
        producer
            .send(topic, leg.key().as_bytes(), &bytes, &[])
            .await?;
        anyhow::Ok(())
    });
    futures::future::try_join_all(sends).await?;
    Ok(legs.into_iter().map(|l| l.leg_id).collect())
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
    let key = crate::legs::tenant_key(options.key_hex.as_deref()).map_err(anyhow::Error::msg)?;
    let state = StateDir::create().context("a state folder for the replay")?;
    // Self-contained whatever the configuration says: the embedded broker (recorded telemetry
    // never reaches a real cluster), ingest and the processor on loopback.
    config.kafka.brokers = String::new();
    config.processor.state_dir = state.0.clone();
    config.admin.listen = "127.0.0.1:0".parse()?;
    config.ingest.listen = "127.0.0.1:0".parse()?;
    config.kafka.linger = Duration::from_millis(5);
    // The recordings end somewhere: legs their telemetry never closes are evaluated with what
    // there is after this wait, marked partial.
    config.processor.max_wait = config.processor.max_wait.min(Duration::from_secs(10));
    config.processor.tick_interval = Duration::from_secs(1);
    // Recordings are of the past, however long ago: ingest takes whatever times they carry.
    config.ingest.max_event_age = Duration::MAX;
    config.ingest.max_event_lead = Duration::MAX;
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
    config.validate()?;
    let shutdown = Shutdown::new();
    let roles = Roles {
        ingest: true,
        process: true,
        ..Roles::NONE
    };
    let running = run::start(&config, roles, &shutdown).await?;
    let services = running.services();
    let follower = Verdicts::follow(
        &config.kafka,
        &running.bootstrap,
        &format!("callsight-replay-{}", std::process::id()),
        &config.topics.verdicts.name,
    )?;
    let client = IngestClient::new(
        format!(
            "http://{}",
            running.ingest_addr.context("the ingest role runs")?
        ),
        Some(config.ingest.telemetry_token.expose().to_string()).filter(|t| !t.is_empty()),
    );
    let tenant = Tenant {
        org_id: &org,
        tenant_id: &options.tenant,
        key: &key,
        keep_identity: false,
    };
    let producer = services.producer()?;
    // Recorded polls go through the poller's normalisation into the topics, as polled.
    let ingest_metrics = services.metrics.shared(IngestMetrics::register)?;
    let sink = Sink::new(
        producer.clone(),
        services.codec.clone(),
        services.dead_letters(producer.clone()),
        &services.topics,
        config.ingest.max_in_flight,
        config.ingest.overload_wait,
        ingest_metrics.clone(),
    );
    let mut normalizers: BTreeMap<String, StatsNormalizer> = BTreeMap::new();
    let mut inventory = Inventory::new();
    let mut leg_ids: BTreeSet<String> = BTreeSet::new();
    let mut summary = Summary::default();
    let count = |summary: &mut Summary, posted: Posted| {
        summary.accepted += posted.accepted;
        summary.rejected += posted.rejected_count;
    };
    let mut batch: Vec<Value> = Vec::new();
    for (_, input) in inputs {
        if !matches!(input, Input::Line(_)) && !batch.is_empty() || batch.len() >= BATCH_LINES {
            let lines = std::mem::take(&mut batch);
            learn(&mut inventory, parse_lines(&lines));
            count(&mut summary, client.post_lines(&lines).await?);
        }
        match input {
            Input::Line(v) => batch.push(v),
            Input::Mist { org, body } => {
                let delivery = webhook::Delivery {
                    org: Some(&org),
                    window: TimeWindow::ANY,
                };
                if let Ok(parsed) = webhook::parse(&body, &delivery) {
                    learn(&mut inventory, parsed);
                }
                count(&mut summary, client.post_mist(&org, body, &secret).await?);
            }
            Input::MistPoll(poll) => {
                let api = MistApi::recorded(&poll, ingest_metrics.clone());
                let normalizer = normalizers.entry(poll.org_id.clone()).or_default();
                let polled = poll_org(
                    &api,
                    &poll.org_id,
                    &MistOrgConfig::default(),
                    normalizer,
                    &sink,
                    poll.polled_at,
                )
                .await
                .map_err(|e| anyhow::anyhow!("a recorded Mist poll: {}", Report(&e)))?;
                for record in polled.inventory {
                    inventory.apply(record);
                }
                summary.accepted += polled.records as u64;
                summary.mist_polls += 1;
            }
            Input::Call(record) => {
                summary.calls += 1;
                match legs_of(&config, record, tenant, &inventory) {
                    Some(legs) => leg_ids.extend(publish_legs(services, &producer, legs).await?),
                    None => summary.unusable_calls += 1,
                }
            }
        }
    }
    if !batch.is_empty() {
        count(&mut summary, client.post_lines(&batch).await?);
    }
    // Until every leg has a complete verdict, or nothing has changed for `quiet`.
    let mut last = (0u64, Instant::now());
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let (records, complete) = follower.with(|s| {
            let complete = leg_ids
                .iter()
                .filter(|l| s.by_leg.get(*l).is_some_and(|v| !v.completeness.partial))
                .count();
            (s.records, complete)
        });
        if complete == leg_ids.len() {
            break;
        }
        if records != last.0 {
            last = (records, Instant::now());
        } else if last.1.elapsed() >= options.quiet {
            break;
        }
    }
    let mut verdicts: Vec<RootCauseVerdict> =
        follower.with(|s| s.by_leg.values().cloned().collect());
    // The follower leaves before the broker does.
    drop(follower);
    verdicts.sort_by(|a, b| (a.leg_end, &a.leg_id).cmp(&(b.leg_end, &b.leg_id)));
    summary.legs = leg_ids.len();
    summary.verdicts = verdicts.len();
    summary.partial = verdicts.iter().filter(|v| v.completeness.partial).count();
    summary.poor = verdicts.iter().filter(|v| is_bad(v)).count();
    let mut out = std::io::BufWriter::new(
        std::fs::File::create(&options.out)
            .with_context(|| format!("cannot write {}", options.out.display()))?,
    );
    for v in &verdicts {
        writeln!(out, "{}", serde_json::to_string(v)?)?;
    }
    out.flush()?;
    shutdown.drain(config.shutdown.drain_timeout).await;
    drop(running);
    drop(state);
    Ok(summary)
}

/// The NDJSON lines as ingest parses them.
fn parse_lines(lines: &[Value]) -> Batch {
    let mut body = String::new();
    for l in lines {
        body.push_str(&l.to_string());
        body.push('\n');
    }
    callsight_telemetry::ndjson::Parser::new().parse(body.as_bytes(), TimeWindow::ANY)
}

/// `callsight replay`: runs the replay and prints its summary; fails when call records gave no
/// legs or legs got no verdict.
pub async fn run(config: Config, options: Options) -> anyhow::Result<ExitCode> {
    let summary = replay(config, &options).await?;
    let complete = summary.calls == 0 || (summary.legs > 0 && summary.verdicts >= summary.legs);
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "callsight replay: {} telemetry records accepted ({} recorded Mist polls), {} rejected \
         (see net.telemetry.dlq); {} call records ({} unusable), {} legs; {} verdicts ({} poor, \
         {} partial) written to {}",
        summary.accepted,
        summary.mist_polls,
        summary.rejected,
        summary.calls,
        summary.unusable_calls,
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
