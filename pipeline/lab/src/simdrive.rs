//! Drives callsight with a simulation through its real interfaces: telemetry as NDJSON posted
//! to the ingest role (`POST /telemetry`, through [`IngestClient`]), calls completed in graphsim
//! (`POST /_sim/tenants/{tenant}/calls`), which notifies callsight as Graph would.

use anyhow::{Context as _, bail};
use callsight_ingest::client::{IngestClient, Posted};
use callsight_sim::{Label, Simulation};
use serde_json::Value;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

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
            stop: CancellationToken::new(),
        }
    }

    /// Stops when `token` is cancelled.
    pub fn stop_on(mut self, token: CancellationToken) -> Driver {
        self.ingest = self.ingest.stop_on(token.clone());
        self.stop = token;
        self
    }

    /// Posts telemetry lines; every line must be accepted (the simulator writes valid lines only,
    /// so a rejection is a bug worth stopping for).
    pub async fn post_lines(&self, lines: &[Value]) -> anyhow::Result<()> {
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
