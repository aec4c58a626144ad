//! Faults the simulator injects: one kind per cause of the taxonomy, each on a target entity for
//! a window of simulated time, and the schedules that place them.

use crate::world::{Attachment, World};
use rand::RngExt;
use rand_pcg::Pcg64Mcg;
use serde::{Deserialize, Serialize};

/// What goes wrong. Each kind produces the telemetry and call metrics of one cause code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// A laptop's CPU is starved (Graph's `cpuInsufficentEventRatio`).
    CpuStarvedLaptop,
    /// A failing headset (capture not functioning, glitches), rated bad.
    FailingHeadset,
    /// VPN users' media hairpins through headquarters' concentrator.
    VpnHairpin,
    /// A firewall blocks UDP for one laptop: media falls back to TCP through a relay.
    TcpRelay,
    /// A laptop far from its AP.
    WeakSignal,
    /// Non-Wi-Fi interference on a 5 GHz radio.
    Interference,
    /// A 5 GHz channel saturated by traffic.
    ChannelUtilization,
    /// Too many clients on one AP.
    ApOverload,
    /// A laptop roams back and forth between two APs.
    RoamingStorm,
    /// A laptop stuck on the 2.4 GHz band.
    Band24,
    /// An AP in a crash loop.
    ApRestart,
    /// A desk's switch port with CRC errors.
    PortErrors,
    /// A desk's switch port saturated, dropping.
    PortCongestion,
    /// A desk's switch port flapping.
    LinkFlap,
    /// A desk's port negotiated 100 Mb/s half duplex.
    SpeedDuplexMismatch,
    /// An access switch's uplink saturated.
    UplinkCongestion,
    /// High latency on a site's primary WAN link.
    WanLatency,
    /// Packet loss on a site's primary WAN link.
    WanLoss,
    /// Jitter on a site's primary WAN link.
    WanJitter,
    /// A site's primary WAN link down, traffic failed over to the backup.
    WanFailover,
    /// A site's primary WAN link saturated.
    WanSaturation,
    /// An external participant on a bad home network.
    RemoteBadNetwork,
    /// Meetings of a site's users reach Teams through a distant media relay.
    MediaRelay,
    /// An AP and its clients stop reporting telemetry while calls through it suffer.
    TelemetryGap,
    /// Calls suffer with a clean network (an application problem no telemetry shows).
    HiddenProblem,
}

impl FaultKind {
    /// Every kind, in taxonomy order.
    pub const ALL: [FaultKind; 25] = [
        FaultKind::CpuStarvedLaptop,
        FaultKind::FailingHeadset,
        FaultKind::VpnHairpin,
        FaultKind::TcpRelay,
        FaultKind::WeakSignal,
        FaultKind::Interference,
        FaultKind::ChannelUtilization,
        FaultKind::ApOverload,
        FaultKind::RoamingStorm,
        FaultKind::Band24,
        FaultKind::ApRestart,
        FaultKind::PortErrors,
        FaultKind::PortCongestion,
        FaultKind::LinkFlap,
        FaultKind::SpeedDuplexMismatch,
        FaultKind::UplinkCongestion,
        FaultKind::WanLatency,
        FaultKind::WanLoss,
        FaultKind::WanJitter,
        FaultKind::WanFailover,
        FaultKind::WanSaturation,
        FaultKind::RemoteBadNetwork,
        FaultKind::MediaRelay,
        FaultKind::TelemetryGap,
        FaultKind::HiddenProblem,
    ];

    /// The cause code (as in the `CauseCode` schema) a leg of an affected participant should get.
    pub fn cause(self) -> &'static str {
        match self {
            FaultKind::CpuStarvedLaptop => "client_cpu_insufficient",
            FaultKind::FailingHeadset => "client_audio_device",
            FaultKind::VpnHairpin => "client_vpn_tunnel",
            FaultKind::TcpRelay => "client_tcp_relay_fallback",
            FaultKind::WeakSignal => "wireless_weak_signal",
            FaultKind::Interference => "wireless_interference",
            FaultKind::ChannelUtilization => "wireless_channel_utilization",
            FaultKind::ApOverload => "wireless_ap_overload",
            FaultKind::RoamingStorm => "wireless_roaming",
            FaultKind::Band24 => "wireless_band_2_4ghz",
            FaultKind::ApRestart => "wireless_ap_restart",
            FaultKind::PortErrors => "wired_port_errors",
            FaultKind::PortCongestion => "wired_port_congestion",
            FaultKind::LinkFlap => "wired_link_flap",
            FaultKind::SpeedDuplexMismatch => "wired_speed_duplex",
            FaultKind::UplinkCongestion => "wired_uplink_congestion",
            FaultKind::WanLatency => "wan_latency",
            FaultKind::WanLoss => "wan_loss",
            FaultKind::WanJitter => "wan_jitter",
            FaultKind::WanFailover => "wan_link_down_failover",
            FaultKind::WanSaturation => "wan_bandwidth_saturation",
            FaultKind::RemoteBadNetwork => "remote_external_network",
            FaultKind::MediaRelay => "service_media_relay",
            FaultKind::TelemetryGap => "unknown_insufficient_data",
            FaultKind::HiddenProblem => "unknown_no_network_anomaly",
        }
    }

    /// Whether the fault lives on the WAN (it touches only legs whose media crosses it).
    pub fn on_wan(self) -> bool {
        matches!(
            self,
            FaultKind::WanLatency
                | FaultKind::WanLoss
                | FaultKind::WanJitter
                | FaultKind::WanFailover
                | FaultKind::WanSaturation
        )
    }
}

/// The entity a fault is on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Target {
    /// One person's device or connection.
    Client {
        /// Client index.
        client: usize,
    },
    /// A radio of an AP (0: 2.4 GHz, 1: 5 GHz).
    Radio {
        /// Site index.
        site: usize,
        /// AP index.
        ap: usize,
        /// Radio index.
        radio: usize,
    },
    /// An AP.
    Ap {
        /// Site index.
        site: usize,
        /// AP index.
        ap: usize,
    },
    /// A desk's access port.
    Port {
        /// Site index.
        site: usize,
        /// Switch index.
        switch: usize,
        /// Port id.
        port: String,
    },
    /// An access switch's uplink.
    Uplink {
        /// Site index.
        site: usize,
        /// Switch index.
        switch: usize,
    },
    /// A site's primary WAN link.
    Wan {
        /// Site index.
        site: usize,
    },
    /// Every VPN user.
    VpnPool,
    /// A whole site (its meetings' media path).
    Site {
        /// Site index.
        site: usize,
    },
}

/// One injected fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    /// Sequence number in the schedule.
    pub id: usize,
    /// What goes wrong.
    pub kind: FaultKind,
    /// Where.
    pub target: Target,
    /// Start, epoch milliseconds of simulated time.
    pub start_ms: i64,
    /// End (exclusive).
    pub end_ms: i64,
}

impl Fault {
    /// Whether the fault is active at `t`.
    pub fn active_at(&self, t: i64) -> bool {
        (self.start_ms..self.end_ms).contains(&t)
    }

    /// Whether the fault overlaps `[start, end)`.
    pub fn overlaps(&self, start: i64, end: i64) -> bool {
        self.start_ms < end && start < self.end_ms
    }

    /// The site the fault is at, if any.
    pub fn site(&self, world: &World) -> Option<usize> {
        match &self.target {
            Target::Client { client } => world.clients[*client].site(),
            Target::Radio { site, .. }
            | Target::Ap { site, .. }
            | Target::Port { site, .. }
            | Target::Uplink { site, .. }
            | Target::Wan { site }
            | Target::Site { site } => Some(*site),
            Target::VpnPool => Some(0),
        }
    }

    /// Whether `client` sits behind the fault's target (it suffers when its media crosses it).
    pub fn affects(&self, world: &World, client: usize) -> bool {
        let c = &world.clients[client];
        match (&self.target, &c.attachment) {
            (Target::Client { client: t }, _) => *t == client,
            (Target::Radio { site, ap, radio }, Attachment::Wifi { site: s, ap: a }) => {
                // A laptop that only does 2.4 GHz is on the first radio.
                site == s && ap == a && (*radio == 0) == c.legacy_2_4ghz
            }
            (Target::Ap { site, ap }, Attachment::Wifi { site: s, ap: a }) => site == s && ap == a,
            (
                Target::Port { site, switch, port },
                Attachment::Wired {
                    site: s,
                    switch: w,
                    port: p,
                },
            ) => site == s && switch == w && port == p,
            (Target::Uplink { site, switch }, Attachment::Wifi { site: s, ap }) => {
                site == s && world.sites[*s].aps[*ap].switch == *switch
            }
            (
                Target::Uplink { site, switch },
                Attachment::Wired {
                    site: s, switch: w, ..
                },
            ) => site == s && switch == w,
            (Target::Wan { site }, _) | (Target::Site { site }, _) => c.site() == Some(*site),
            (Target::VpnPool, Attachment::Vpn) => true,
            _ => false,
        }
    }
}

/// Which faults to inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Schedule {
    /// Every kind once, spread over the sites (the accuracy benchmark's standard set).
    Standard,
    /// A handful of kinds, for the demo.
    Demo,
    /// No faults.
    None,
}

/// How long each fault lasts, milliseconds of simulated time.
pub const FAULT_MS: i64 = 40 * 60_000;
/// Quiet time between two faults at one site.
pub const GAP_MS: i64 = 15 * 60_000;

/// The kinds the demo injects, in order.
pub const DEMO_KINDS: [FaultKind; 6] = [
    FaultKind::ChannelUtilization,
    FaultKind::WanLatency,
    FaultKind::WeakSignal,
    FaultKind::PortErrors,
    FaultKind::RemoteBadNetwork,
    FaultKind::CpuStarvedLaptop,
];

/// Places faults from `start_ms` on: each site runs one fault at a time, sites in parallel.
/// `kinds` limits the standard set to its first `kinds` kinds (for quick runs).
pub fn schedule(
    world: &World,
    which: Schedule,
    kinds: usize,
    start_ms: i64,
    rng: &mut Pcg64Mcg,
) -> Vec<Fault> {
    let list: Vec<FaultKind> = match which {
        Schedule::Standard => FaultKind::ALL.iter().copied().take(kinds).collect(),
        Schedule::Demo => DEMO_KINDS.iter().copied().take(kinds).collect(),
        Schedule::None => Vec::new(),
    };
    let sites = world.sites.len();
    let mut next_free = vec![start_ms; sites];
    let mut used: Vec<Target> = Vec::new();
    let mut faults = Vec::new();
    for (i, kind) in list.into_iter().enumerate() {
        // Headquarters hosts the VPN; external participants belong to no site.
        let site = match kind {
            FaultKind::VpnHairpin => 0,
            _ => i % sites,
        };
        // A world without the equipment or people a kind needs gets no fault of that kind.
        let Some(target) = pick_target(world, kind, site, &used, rng) else {
            continue;
        };
        let start = next_free[site];
        next_free[site] = start + FAULT_MS + GAP_MS;
        used.push(target.clone());
        faults.push(Fault {
            id: faults.len(),
            kind,
            target,
            start_ms: start,
            end_ms: start + FAULT_MS,
        });
    }
    faults
}

/// The end of the last fault (or `start_ms` without faults).
pub fn schedule_end(faults: &[Fault], start_ms: i64) -> i64 {
    faults.iter().map(|f| f.end_ms).max().unwrap_or(start_ms)
}

fn pick_target(
    world: &World,
    kind: FaultKind,
    site: usize,
    used: &[Target],
    rng: &mut Pcg64Mcg,
) -> Option<Target> {
    let s = &world.sites[site];
    let fresh = |t: &Target| !used.contains(t);
    let pick = |candidates: Vec<Target>, rng: &mut Pcg64Mcg| -> Option<Target> {
        let unused: Vec<&Target> = candidates.iter().filter(|t| fresh(t)).collect();
        let pool: Vec<&Target> = if unused.is_empty() {
            candidates.iter().collect()
        } else {
            unused
        };
        if pool.is_empty() {
            return None;
        }
        Some(pool[rng.random_range(0..pool.len())].clone())
    };
    let of = |f: &dyn Fn(&Attachment) -> bool| -> Vec<Target> {
        world
            .clients
            .iter()
            .filter(|c| f(&c.attachment))
            .map(|c| Target::Client { client: c.index })
            .collect()
    };
    let wifi_here = |a: &Attachment| matches!(a, Attachment::Wifi { site: x, .. } if *x == site);
    // APs whose usual clients exist (so calls can go through them).
    let aps: Vec<usize> = (0..s.aps.len())
        .filter(|a| !world.clients_of_ap(site, *a).is_empty())
        .collect();
    match kind {
        FaultKind::CpuStarvedLaptop
        | FaultKind::FailingHeadset
        | FaultKind::WeakSignal
        | FaultKind::RoamingStorm
        | FaultKind::TcpRelay
        | FaultKind::HiddenProblem => pick(of(&wifi_here), rng),
        FaultKind::Band24 => pick(
            world
                .clients
                .iter()
                .filter(|c| wifi_here(&c.attachment) && !c.legacy_2_4ghz)
                .map(|c| Target::Client { client: c.index })
                .collect(),
            rng,
        ),
        FaultKind::Interference | FaultKind::ChannelUtilization => pick(
            aps.iter()
                .map(|&ap| Target::Radio { site, ap, radio: 1 })
                .collect(),
            rng,
        ),
        FaultKind::ApOverload | FaultKind::ApRestart | FaultKind::TelemetryGap => {
            pick(aps.iter().map(|&ap| Target::Ap { site, ap }).collect(), rng)
        }
        FaultKind::PortErrors
        | FaultKind::PortCongestion
        | FaultKind::LinkFlap
        | FaultKind::SpeedDuplexMismatch => pick(
            world
                .clients
                .iter()
                .filter_map(|c| match &c.attachment {
                    Attachment::Wired {
                        site: x,
                        switch,
                        port,
                    } if *x == site => Some(Target::Port {
                        site,
                        switch: *switch,
                        port: port.clone(),
                    }),
                    _ => None,
                })
                .collect(),
            rng,
        ),
        FaultKind::UplinkCongestion => pick(
            (0..s.switches.len())
                .map(|switch| Target::Uplink { site, switch })
                .collect(),
            rng,
        ),
        FaultKind::WanLatency
        | FaultKind::WanLoss
        | FaultKind::WanJitter
        | FaultKind::WanFailover
        | FaultKind::WanSaturation => Some(Target::Wan { site }),
        FaultKind::VpnHairpin => world
            .clients
            .iter()
            .any(|c| c.attachment == Attachment::Vpn)
            .then_some(Target::VpnPool),
        FaultKind::RemoteBadNetwork => pick(of(&|a: &Attachment| *a == Attachment::External), rng),
        FaultKind::MediaRelay => Some(Target::Site { site }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::WorldConfig;
    use rand::SeedableRng;

    #[test]
    fn the_standard_set_covers_every_cause_once_without_overlap_at_a_site() {
        let mut rng = Pcg64Mcg::seed_from_u64(3);
        let world = World::build(&WorldConfig::default(), &mut rng);
        let faults = schedule(&world, Schedule::Standard, usize::MAX, 0, &mut rng);
        assert_eq!(faults.len(), FaultKind::ALL.len());
        let causes: std::collections::BTreeSet<_> = faults.iter().map(|f| f.kind.cause()).collect();
        assert_eq!(causes.len(), FaultKind::ALL.len());
        for a in &faults {
            for b in &faults {
                if a.id != b.id && a.site(&world).is_some() && a.site(&world) == b.site(&world) {
                    assert!(!a.overlaps(b.start_ms, b.end_ms), "{a:?} overlaps {b:?}");
                }
            }
            // Every fault has somebody behind it.
            assert!(
                world.clients.iter().any(|c| a.affects(&world, c.index)),
                "{a:?} affects nobody"
            );
        }
    }
}
