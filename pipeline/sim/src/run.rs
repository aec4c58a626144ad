//! The simulation, minute by simulated minute: the telemetry of that minute, and the calls whose
//! records Graph has by then, with their ground truth. Deterministic for a seed.

use crate::calls::{self, Call, CallKind};
use crate::fault::{self, Fault, Schedule};
use crate::truth::Label;
use crate::world::{Attachment, World, WorldConfig, guid};
use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64Mcg;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What to simulate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimConfig {
    /// Seed: the same seed gives the same world, faults, telemetry, calls and truth.
    pub seed: u64,
    /// The organisation.
    pub world: WorldConfig,
    /// Which faults to inject.
    pub schedule: Schedule,
    /// At most this many faults from the schedule (in its order).
    pub fault_limit: usize,
    /// Simulated start, epoch milliseconds (rounded down to a minute).
    pub start_ms: i64,
    /// Minutes of telemetry before the first call (callsight's baselines need history).
    pub warmup_minutes: i64,
    /// Calls started per site per simulated hour.
    pub calls_per_site_hour: f64,
    /// Share of calls that include somebody behind an active fault.
    pub fault_focus: f64,
    /// Minutes of calls after the last fault ended (and the whole run without faults).
    pub tail_minutes: i64,
    /// Org id to use instead of the generated one (to match a running callsight's configuration).
    pub org_id: Option<String>,
    /// Tenant id to use instead of the generated one.
    pub tenant_id: Option<String>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 1,
            world: WorldConfig::default(),
            schedule: Schedule::Standard,
            fault_limit: usize::MAX,
            start_ms: 1_767_600_000_000,
            warmup_minutes: 120,
            calls_per_site_hour: 40.0,
            fault_focus: 0.6,
            tail_minutes: 20,
            org_id: None,
            tenant_id: None,
        }
    }
}

/// What happened in one simulated minute.
#[derive(Debug, Clone)]
pub struct Minute {
    /// Start of the minute, epoch ms.
    pub time_ms: i64,
    /// Telemetry lines (NDJSON objects) stamped inside the minute.
    pub telemetry: Vec<Value>,
    /// Calls whose records are ready now.
    pub calls: Vec<CompletedCall>,
}

/// A finished call: its Graph record and the truth of its legs.
#[derive(Debug, Clone)]
pub struct CompletedCall {
    /// The callRecord JSON.
    pub record: Value,
    /// One label per leg.
    pub labels: Vec<Label>,
    /// When it ended, epoch ms.
    pub end_ms: i64,
}

/// A running simulation.
pub struct Simulation {
    config: SimConfig,
    world: World,
    faults: Vec<Fault>,
    rng: Pcg64Mcg,
    start_ms: i64,
    now_ms: i64,
    calls_until: i64,
    planned: Vec<(i64, Call)>,
}

/// Minutes between a call's end and Graph having its record.
const RECORD_DELAY: std::ops::Range<i64> = 1..4;
/// Call durations, minutes.
const DURATION: std::ops::Range<i64> = 6..21;

impl Simulation {
    /// Builds the world and the fault schedule.
    pub fn new(config: SimConfig) -> Simulation {
        let mut rng = Pcg64Mcg::seed_from_u64(config.seed);
        let mut world = World::build(&config.world, &mut rng);
        if let Some(org) = &config.org_id {
            world.org_id = org.clone();
        }
        if let Some(tenant) = &config.tenant_id {
            world.tenant_id = tenant.clone();
        }
        let start_ms = config.start_ms - config.start_ms.rem_euclid(60_000);
        let first_call = start_ms + config.warmup_minutes * 60_000;
        let faults = fault::schedule(
            &world,
            config.schedule,
            config.fault_limit,
            first_call,
            &mut rng,
        );
        let calls_until = fault::schedule_end(&faults, first_call) + config.tail_minutes * 60_000;
        Simulation {
            config,
            world,
            faults,
            rng,
            start_ms,
            now_ms: start_ms,
            calls_until,
            planned: Vec::new(),
        }
    }

    /// The organisation.
    pub fn world(&self) -> &World {
        &self.world
    }

    /// The injected faults.
    pub fn faults(&self) -> &[Fault] {
        &self.faults
    }

    /// The simulated time now (start of the next minute to simulate).
    pub fn now_ms(&self) -> i64 {
        self.now_ms
    }

    /// The simulated start.
    pub fn start_ms(&self) -> i64 {
        self.start_ms
    }

    /// Simulated time before the first call (history for baselines), ms.
    pub fn warmup_ms(&self) -> i64 {
        self.config.warmup_minutes * 60_000
    }

    /// When the last call starts.
    pub fn calls_until_ms(&self) -> i64 {
        self.calls_until
    }

    /// The inventory lines, stamped `time`.
    pub fn inventory(&self, time: i64) -> Vec<Value> {
        crate::telemetry::inventory(&self.world, time)
    }

    /// Whether every call has been completed (telemetry may go on).
    pub fn calls_done(&self) -> bool {
        self.now_ms >= self.calls_until && self.planned.is_empty()
    }

    /// Simulates the next minute.
    pub fn step(&mut self) -> Minute {
        let t = self.now_ms;
        let telemetry =
            crate::telemetry::minute(&self.world, &self.faults, t, self.start_ms, &mut self.rng);
        if t >= self.start_ms + self.config.warmup_minutes * 60_000 && t < self.calls_until {
            self.plan_calls(t);
        }
        let mut calls = Vec::new();
        let mut waiting = Vec::new();
        for (ready, call) in std::mem::take(&mut self.planned) {
            if ready <= t {
                let (record, labels) =
                    calls::record(&self.world, &self.faults, &call, &mut self.rng);
                calls.push(CompletedCall {
                    record,
                    labels,
                    end_ms: call.end_ms,
                });
            } else {
                waiting.push((ready, call));
            }
        }
        self.planned = waiting;
        self.now_ms = t + 60_000;
        Minute {
            time_ms: t,
            telemetry,
            calls,
        }
    }

    fn plan_calls(&mut self, t: i64) {
        // Not a number or negative: no calls; the command line refuses such values.
        let per_hour = self.config.calls_per_site_hour;
        let per_minute = if per_hour.is_finite() {
            per_hour.max(0.0) / 60.0
        } else {
            0.0
        };
        for site in 0..self.world.sites.len() {
            let mut n = per_minute.floor() as usize;
            if self
                .rng
                .random_bool((per_minute - per_minute.floor()).clamp(0.0, 1.0))
            {
                n += 1;
            }
            for _ in 0..n {
                // A world too small for the call plans none.
                if let Some(call) = self.plan_call(site, t) {
                    let ready = call.end_ms + self.rng.random_range(RECORD_DELAY) * 60_000;
                    self.planned.push((ready, call));
                }
            }
        }
    }

    fn plan_call(&mut self, site: usize, t: i64) -> Option<Call> {
        let rng = &mut self.rng;
        let start = t + rng.random_range(0..60) * 1000;
        let end = start + rng.random_range(DURATION) * 60_000;
        let kind = if rng.random_bool(0.4) {
            CallKind::PeerToPeer
        } else {
            CallKind::Meeting
        };
        let world = &self.world;
        let here: Vec<usize> = world
            .clients
            .iter()
            .filter(|c| c.site() == Some(site) && c.attachment != Attachment::Vpn)
            .map(|c| c.index)
            .collect();
        let anyone: Vec<usize> = (0..world.clients.len()).collect();
        if anyone.len() < 2 {
            return None;
        }
        // A call that puts somebody behind a fault active for the whole call.
        let focus: Vec<&Fault> = self
            .faults
            .iter()
            .filter(|f| {
                let covers =
                    f.start_ms <= start - calls::EDGE_MS && end + calls::EDGE_MS <= f.end_ms;
                covers && (f.site(world) == Some(site) || f.site(world).is_none() && site == 0)
            })
            .collect();
        let mut parties: Vec<usize> = Vec::new();
        if !focus.is_empty() && rng.random_bool(self.config.fault_focus) {
            let f = focus[rng.random_range(0..focus.len())];
            let behind: Vec<usize> = anyone
                .iter()
                .copied()
                .filter(|&c| f.affects(world, c))
                .collect();
            if !behind.is_empty() {
                parties.push(behind[rng.random_range(0..behind.len())]);
            }
        }
        let size = match kind {
            CallKind::PeerToPeer => 2,
            CallKind::Meeting => rng.random_range(3..6),
        };
        let mut tries = 0;
        while parties.len() < size && tries < 50 {
            tries += 1;
            let pool = if rng.random_bool(0.75) && !here.is_empty() {
                &here
            } else {
                &anyone
            };
            let c = pool[rng.random_range(0..pool.len())];
            if parties.contains(&c) {
                continue;
            }
            // Two people behind faults in one peer-to-peer call would blur its truth.
            if kind == CallKind::PeerToPeer
                && !parties.is_empty()
                && calls::touched(world, &self.faults, c, start, end)
            {
                continue;
            }
            parties.push(c);
        }
        if kind == CallKind::PeerToPeer && parties.len() < 2 {
            // Fall back to anyone untouched.
            if let Some(&c) = anyone.iter().find(|&&c| {
                !parties.contains(&c) && !calls::touched(world, &self.faults, c, start, end)
            }) {
                parties.push(c);
            }
        }
        if parties.len() < 2 {
            return None;
        }
        Some(Call {
            id: guid(rng),
            kind,
            start_ms: start,
            end_ms: end,
            parties,
            video: rng.random_bool(0.3),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(seed: u64) -> (Vec<Value>, Vec<Value>, Vec<Label>) {
        let mut sim = Simulation::new(SimConfig {
            seed,
            fault_limit: 3,
            warmup_minutes: 10,
            tail_minutes: 10,
            ..SimConfig::default()
        });
        let (mut lines, mut records, mut labels) =
            (sim.inventory(sim.start_ms()), Vec::new(), Vec::new());
        while !sim.calls_done() {
            let m = sim.step();
            lines.extend(m.telemetry);
            for c in m.calls {
                records.push(c.record);
                labels.extend(c.labels);
            }
        }
        (lines, records, labels)
    }

    #[test]
    fn a_world_without_desks_externals_or_vpn_still_runs() {
        let mut sim = Simulation::new(SimConfig {
            world: WorldConfig {
                sites: 1,
                aps_per_site: 1,
                wifi_clients_per_site: 2,
                wired_clients_per_site: 0,
                vpn_users: 0,
                external_users: 0,
                ..WorldConfig::default()
            },
            warmup_minutes: 5,
            ..SimConfig::default()
        });
        // Kinds that need desks, VPN users or external participants are left out.
        assert!(sim.faults().len() < crate::fault::FaultKind::ALL.len());
        let mut calls = 0;
        while !sim.calls_done() {
            calls += sim.step().calls.len();
        }
        assert!(calls > 0);
    }

    #[test]
    fn a_seed_gives_the_same_run() {
        let a = run(5);
        let b = run(5);
        assert_eq!(a.0, b.0);
        assert_eq!(a.1, b.1);
        assert_eq!(a.2, b.2);
        assert_ne!(a.1, run(6).1);
    }

    #[test]
    fn every_leg_has_a_label_and_faults_reach_calls() {
        let (_, records, labels) = run(9);
        let legs: usize = records
            .iter()
            .map(|r| match r["type"].as_str() {
                Some("peerToPeer") => 2,
                _ => r["sessions"].as_array().map_or(0, Vec::len),
            })
            .sum();
        assert_eq!(legs, labels.len());
        let causes: std::collections::BTreeSet<&str> =
            labels.iter().map(|l| l.cause.as_str()).collect();
        // The first three kinds of the standard set, and legs blaming the other participant.
        for c in [
            "client_cpu_insufficient",
            "client_audio_device",
            "client_vpn_tunnel",
            "good",
        ] {
            assert!(causes.contains(c), "{c} missing from {causes:?}");
        }
    }
}
