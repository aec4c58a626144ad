//! Drives callsight with a simulation through its real interfaces: telemetry through the Mist
//! path (the simulated network fed to mistsim, which callsight's poller reads and whose signed
//! webhooks reach the ingest role) or as NDJSON posted to the ingest role (`POST /telemetry`,
//! through [`IngestClient`]); calls completed in graphsim (`POST /_sim/tenants/{tenant}/calls`),
//! which notifies callsight as Graph would.

use anyhow::{Context as _, bail};
use callsight_ingest::client::{IngestClient, Posted};
use callsight_mistsim::MistSim;
use callsight_rca::config::WanCapacity;
use callsight_sim::{Label, Simulation};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Which way the simulated network's telemetry reaches callsight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum TelemetryPath {
    /// As a Mist customer's does: mistsim, read by callsight's statistics poller, and its
    /// signed webhooks.
    #[default]
    Mist,
    /// As NDJSON posted to `POST /telemetry`.
    Ndjson,
}

impl TelemetryPath {
    /// Its name, as the command line spells it.
    pub fn name(self) -> &'static str {
        match self {
            TelemetryPath::Mist => "mist",
            TelemetryPath::Ndjson => "ndjson",
        }
    }
}

/// How long a minute fed to mistsim may wait for callsight's poller to read it.
const POLL_WAIT: Duration = Duration::from_secs(60);

/// The contracted capacity of every WAN link in the simulation's inventory lines, as an
/// operator of a Mist site configures it (`rca.wan_capacity`): Mist reports only the ports'
/// negotiated speed.
pub fn contracted_capacities(inventory: &[Value]) -> BTreeMap<String, WanCapacity> {
    inventory
        .iter()
        .filter(|l| l["type"] == "wan_link")
        .filter_map(|l| {
            let link = callsight_model::keys::wan_link_id(
                l["gateway_mac"].as_str()?,
                l["port_id"].as_str()?,
            );
            Some((
                link,
                WanCapacity {
                    down_bps: l["capacity_down_bps"].as_i64()?,
                    up_bps: l["capacity_up_bps"].as_i64()?,
                },
            ))
        })
        .collect()
}

/// Minutes of telemetry after the last call, so that every leg's windows close.
pub const TAIL_MINUTES: i64 = 8;
/// The inventory is sent again this often (simulated time), as an exporter would.
const INVENTORY_EVERY_MS: i64 = 3_600_000;

/// Where the simulation sends what it produces.
#[derive(Debug, Clone)]
pub struct Driver {
    http: reqwest::Client,
    /// The ingest role's telemetry endpoints.
    pub ingest: IngestClient,
    /// Base URL of graphsim, e.g. `http://127.0.0.1:8450`.
    pub graphsim: String,
    /// The tenant whose calls graphsim completes.
    pub tenant: String,
    /// The Mist cloud the telemetry goes through; none: NDJSON to the ingest role.
    mist: Option<Arc<MistSim>>,
    /// Cancelled to stop: the drive ends, a request waiting out an overload gives up.
    stop: CancellationToken,
}

/// How fast simulated time runs.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    /// Simulated seconds per real second once calls start (the history before them is sent as
    /// fast as callsight takes it); `None`: always as fast as callsight takes it.
    pub speed: Option<f64>,
}

/// How far the simulation got.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    /// Simulated time reached, epoch ms.
    pub sim_time_ms: i64,
    /// Telemetry lines accepted.
    pub lines: u64,
    /// Calls completed in graphsim.
    pub calls: u64,
    /// Legs among them.
    pub legs: u64,
    /// Every call is completed and the tail of telemetry sent.
    pub finished: bool,
}

impl Driver {
    /// A driver of the ingest role at `ingest` (with its bearer `token`, if any) and graphsim at
    /// `graphsim`, completing calls of `tenant`.
    pub fn new(ingest: String, token: Option<String>, graphsim: String, tenant: String) -> Driver {
        Driver {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap_or_default(),
            ingest: IngestClient::new(ingest, token),
            graphsim,
            tenant,
            mist: None,
            stop: CancellationToken::new(),
        }
    }

    /// Sends the telemetry through `mist` (the Mist path) instead of NDJSON.
    pub fn through_mist(mut self, mist: Arc<MistSim>) -> Driver {
        self.mist = Some(mist);
        self
    }

    /// Stops when `token` is cancelled.
    pub fn stop_on(mut self, token: CancellationToken) -> Driver {
        self.ingest = self.ingest.stop_on(token.clone());
        self.stop = token;
        self
    }

    /// Sends telemetry lines: through mistsim, waiting until callsight's poller has read them,
    /// or as NDJSON, every line of which must be accepted (the simulator writes valid lines
    /// only, so a rejection is a bug worth stopping for).
    pub async fn post_lines(&self, lines: &[Value]) -> anyhow::Result<()> {
        if let Some(mist) = &self.mist {
            let version = mist.apply(lines).await?;
            let polled = tokio::select! {
                _ = self.stop.cancelled() => return Ok(()),
                polled = mist.wait_polled(version, POLL_WAIT) => polled,
            };
            if !polled {
                bail!(
                    "callsight's Mist poller did not read mistsim ({}) within {} s: is \
                     ingest.mist.api_url set to it, with the org's api_token, and is the poller \
                     running (`callsight run` or `callsight mist-poll`)?",
                    mist.url(),
                    POLL_WAIT.as_secs()
                );
            }
            return Ok(());
        }
        let posted: Posted = self.ingest.post_lines(lines).await?;
        if let Some(first) = posted.rejected.first() {
            bail!(
                "ingest rejected {} simulated line(s), first: {first}",
                posted.rejected.len()
            );
        }
        Ok(())
    }

    /// Completes a call in graphsim (which notifies callsight).
    pub async fn complete_call(&self, record: &Value) -> anyhow::Result<()> {
        let response = self
            .http
            .post(format!(
                "{}/_sim/tenants/{}/calls",
                self.graphsim, self.tenant
            ))
            .json(record)
            .send()
            .await
            .context("POST /_sim/tenants/{tenant}/calls")?;
        if !response.status().is_success() {
            bail!(
                "graphsim refused a call: {} {}",
                response.status(),
                response.text().await.unwrap_or_default()
            );
        }
        Ok(())
    }

    /// Runs `sim` to its end (or until stopped): telemetry minute by minute, calls as their
    /// records become ready, their labels appended to `labels`. `report` sees the progress after
    /// every minute.
    pub async fn drive(
        &self,
        sim: &mut Simulation,
        pace: Pace,
        labels: &mut Vec<Label>,
        mut report: impl FnMut(&Progress),
    ) -> anyhow::Result<Progress> {
        let stop = &self.stop;
        let mut progress = Progress::default();
        let inventory = sim.inventory(sim.start_ms());
        self.post_lines(&inventory).await?;
        progress.lines += inventory.len() as u64;
        let mut last_inventory = sim.start_ms();
        let mut tail = TAIL_MINUTES;
        let mut paced_from: Option<(Instant, i64)> = None;
        let first_call = sim.start_ms() + sim.warmup_ms();
        while !stop.is_cancelled() {
            if sim.calls_done() {
                if tail == 0 {
                    progress.finished = true;
                    break;
                }
                tail -= 1;
            }
            let now = sim.now_ms();
            if now - last_inventory >= INVENTORY_EVERY_MS {
                let inventory = sim.inventory(now);
                self.post_lines(&inventory).await?;
                progress.lines += inventory.len() as u64;
                last_inventory = now;
            }
            let minute = sim.step();
            self.post_lines(&minute.telemetry).await?;
            progress.lines += minute.telemetry.len() as u64;
            for call in minute.calls {
                self.complete_call(&call.record).await?;
                progress.calls += 1;
                progress.legs += call.labels.len() as u64;
                labels.extend(call.labels);
            }
            progress.sim_time_ms = minute.time_ms + 60_000;
            report(&progress);
            if let Some(speed) = pace.speed.filter(|_| minute.time_ms >= first_call) {
                let (since, from) = *paced_from.get_or_insert((Instant::now(), minute.time_ms));
                let due = Duration::from_secs_f64(
                    (progress.sim_time_ms - from) as f64 / 1000.0 / speed.max(0.001),
                );
                let elapsed = since.elapsed();
                if due > elapsed {
                    tokio::select! {
                        _ = stop.cancelled() => {}
                        _ = tokio::time::sleep(due - elapsed) => {}
                    }
                }
            }
        }
        Ok(progress)
    }
}
