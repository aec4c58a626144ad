//! What the network reports: the inventory (sites, subnets, APs with their radios and LLDP
//! uplinks, switches, gateways, WAN links) and, every simulated minute, the statistics and events
//! of every entity, shaped by the faults active at that moment. All of it as lines of the
//! vendor-neutral NDJSON format (`schemas/telemetry.schema.json`).

use crate::fault::{Fault, FaultKind, Target};
use crate::world::{Attachment, Site, VPN_POOL, World};
use callsight_model::keys;
use rand::RngExt;
use rand_pcg::Pcg64Mcg;
use serde_json::{Value, json};

/// Source name on every line.
pub const SOURCE: &str = "callsight-sim";
/// A crash-looping AP restarts this often.
pub const RESTART_EVERY_MS: i64 = 4 * 60_000;
/// A flapping port goes down this often.
pub const FLAP_EVERY_MS: i64 = 4 * 60_000;
/// A roaming laptop changes AP this often.
pub const ROAM_EVERY_MS: i64 = 2 * 60_000;
/// APs booted this long before the simulation starts.
const BOOTED_BEFORE_MS: i64 = 12 * 86_400_000;

fn line(kind: &str, world: &World, site: &str, time: i64) -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    m.insert("type".into(), kind.into());
    m.insert("org_id".into(), world.org_id.clone().into());
    m.insert("site_id".into(), site.into());
    m.insert("time".into(), time.into());
    m.insert("source".into(), SOURCE.into());
    m
}

fn with(mut m: serde_json::Map<String, Value>, fields: Value) -> Value {
    if let Value::Object(f) = fields {
        m.extend(f);
    }
    Value::Object(m)
}

/// The inventory lines (send them first, and again now and then).
pub fn inventory(world: &World, time: i64) -> Vec<Value> {
    let mut out = Vec::new();
    for (s, site) in world.sites.iter().enumerate() {
        let l = |kind: &str| line(kind, world, &site.id, time);
        out.push(with(l("site"), json!({"name": site.name})));
        out.push(with(
            l("subnet"),
            json!({"cidr": site.wifi_subnet(), "vlan_id": 16, "name": "corp-wifi"}),
        ));
        out.push(with(
            l("subnet"),
            json!({"cidr": site.wired_subnet(), "vlan_id": 32, "name": "desks"}),
        ));
        if s == 0 {
            out.push(with(
                l("subnet"),
                json!({"cidr": VPN_POOL, "vlan_id": 200, "name": "vpn-pool"}),
            ));
        }
        for ap in &site.aps {
            let sw = &site.switches[ap.switch];
            out.push(with(
                l("access_point"),
                json!({
                    "ap_mac": ap.mac, "name": ap.name, "model": "AP45",
                    "radios": ap.radios.iter().map(|r| json!({
                        "radio_mac": r.mac, "band": r.band, "bssids": [r.bssid()]
                    })).collect::<Vec<_>>(),
                    "uplink": {"chassis_mac": sw.mac, "system_name": sw.name, "port_id": ap.port},
                }),
            ));
        }
        for sw in &site.switches {
            let mut ports: Vec<Value> = sw
                .access_ports
                .iter()
                .map(|p| {
                    let ap = site.aps.iter().find(|a| site.switches[a.switch].mac == sw.mac && &a.port == p);
                    match ap {
                        Some(ap) => json!({"port_id": p, "speed_mbps": 1000,
                            "neighbor": {"chassis_mac": ap.mac, "system_name": ap.name, "port_id": "eth0"}}),
                        None => json!({"port_id": p, "speed_mbps": 1000}),
                    }
                })
                .collect();
            ports.push(json!({"port_id": sw.uplink, "speed_mbps": 1000, "uplink": true,
                "neighbor": {"chassis_mac": site.gateway, "system_name": format!("{}-GW", site.name), "port_id": "ge-0/0/3"}}));
            out.push(with(
                l("switch"),
                json!({"switch_mac": sw.mac, "name": sw.name, "model": "EX2300-48P", "ports": ports}),
            ));
        }
        out.push(with(
            l("gateway"),
            json!({"gateway_mac": site.gateway, "name": format!("{}-GW", site.name), "model": "SRX320"}),
        ));
        for link in &site.wan_links {
            out.push(with(
                l("wan_link"),
                json!({"gateway_mac": site.gateway, "port_id": link.port, "isp": link.isp,
                    "wan_name": if link.backup { "backup" } else { "primary" },
                    "capacity_down_bps": link.capacity_bps, "capacity_up_bps": link.capacity_bps}),
            ));
        }
    }
    out
}

/// Faults active at `t` of `kind`.
fn active(faults: &[Fault], kind: FaultKind, t: i64) -> impl Iterator<Item = &Fault> {
    faults
        .iter()
        .filter(move |f| f.kind == kind && f.active_at(t))
}

/// The AP a Wi-Fi client is on at `t` (a roaming laptop alternates with the next AP).
pub fn current_ap(
    world: &World,
    faults: &[Fault],
    client: usize,
    t: i64,
) -> Option<(usize, usize)> {
    let Attachment::Wifi { site, ap } = world.clients[client].attachment else {
        return None;
    };
    let n = world.sites[site].aps.len();
    for f in active(faults, FaultKind::RoamingStorm, t) {
        if f.target == (Target::Client { client }) && n > 1 {
            let hops = (t - f.start_ms) / ROAM_EVERY_MS;
            return Some((site, if hops % 2 == 1 { (ap + 1) % n } else { ap }));
        }
    }
    Some((site, ap))
}

/// The band a Wi-Fi client uses at `t`.
pub fn current_band(world: &World, faults: &[Fault], client: usize, t: i64) -> &'static str {
    let moved =
        active(faults, FaultKind::Band24, t).any(|f| f.target == (Target::Client { client }));
    if moved || world.clients[client].legacy_2_4ghz {
        "band_2_4ghz"
    } else {
        "band_5ghz"
    }
}

/// Whether an AP (and its clients) is silent at `t`.
fn silent(faults: &[Fault], site: usize, ap: usize, t: i64) -> bool {
    active(faults, FaultKind::TelemetryGap, t).any(|f| f.target == (Target::Ap { site, ap }))
}

/// The last restart of an AP at or before `t`.
fn last_restart(faults: &[Fault], site: usize, ap: usize, t: i64, start: i64) -> i64 {
    let mut last = start - BOOTED_BEFORE_MS;
    for f in faults.iter().filter(|f| {
        f.kind == FaultKind::ApRestart && f.target == (Target::Ap { site, ap }) && f.start_ms <= t
    }) {
        let until = t.min(f.end_ms - 1);
        let k = (until - f.start_ms) / RESTART_EVERY_MS;
        last = last.max(f.start_ms + k * RESTART_EVERY_MS);
    }
    last
}

/// Restart times of an AP in `[from, to)`.
fn restarts_in(faults: &[Fault], site: usize, ap: usize, from: i64, to: i64) -> Vec<i64> {
    let mut out = Vec::new();
    for f in faults
        .iter()
        .filter(|f| f.kind == FaultKind::ApRestart && f.target == (Target::Ap { site, ap }))
    {
        let mut r = f.start_ms;
        while r < f.end_ms {
            if (from..to).contains(&r) {
                out.push(r);
            }
            r += RESTART_EVERY_MS;
        }
    }
    out
}

/// One site during the minute being simulated.
#[derive(Clone, Copy)]
struct Ctx<'a> {
    world: &'a World,
    faults: &'a [Fault],
    /// Start of the minute.
    t: i64,
    /// Its end.
    end: i64,
    /// The simulation's start.
    start: i64,
    /// Site index.
    s: usize,
    site: &'a Site,
}

/// Every telemetry line of the minute starting at `t` (`start` is the simulation's start).
pub fn minute(
    world: &World,
    faults: &[Fault],
    t: i64,
    start: i64,
    rng: &mut Pcg64Mcg,
) -> Vec<Value> {
    let mut out = Vec::new();
    for (s, site) in world.sites.iter().enumerate() {
        let cx = Ctx {
            world,
            faults,
            t,
            end: t + 60_000,
            start,
            s,
            site,
        };
        aps(&cx, rng, &mut out);
        clients(&cx, rng, &mut out);
        switches(&cx, rng, &mut out);
        wan(&cx, rng, &mut out);
    }
    out
}

/// The APs' health and radios, and their restart events.
fn aps(cx: &Ctx<'_>, rng: &mut Pcg64Mcg, out: &mut Vec<Value>) {
    let Ctx {
        faults,
        t,
        end,
        start,
        s,
        site,
        world,
        ..
    } = *cx;
    let l = |kind: &str, time: i64| line(kind, world, &site.id, time);
    for (a, ap) in site.aps.iter().enumerate() {
        for r in restarts_in(faults, s, a, t, end) {
            out.push(with(
                l("event", r),
                json!({"vendor_type": "AP_RESTARTED", "kind": "ap_restart", "entity_kind": "ap",
                    "entity_id": ap.mac, "reason": "watchdog"}),
            ));
        }
        if silent(faults, s, a, t) {
            continue;
        }
        let overload = active(faults, FaultKind::ApOverload, t)
            .any(|f| f.target == (Target::Ap { site: s, ap: a }));
        let uptime = (t - last_restart(faults, s, a, t, start)) / 1000;
        out.push(with(
            l("ap", t),
            json!({"ap_mac": ap.mac, "uptime_s": uptime,
                "cpu_util_ratio": round(rng.random_range(0.1..0.4), 3),
                "num_clients": if overload { rng.random_range(95..110) } else { rng.random_range(5..25) }}),
        ));
        for (ri, radio) in ap.radios.iter().enumerate() {
            let hit = |kind| {
                active(faults, kind, t).any(|f| {
                    f.target
                        == (Target::Radio {
                            site: s,
                            ap: a,
                            radio: ri,
                        })
                })
            };
            let util = if hit(FaultKind::ChannelUtilization) {
                rng.random_range(0.93..0.97)
            } else if overload {
                rng.random_range(0.55..0.62)
            } else if site.busy {
                // A dense office: always busy, judged against its own baseline.
                rng.random_range(0.6..0.8)
            } else if rng.random_bool(0.005) {
                // A one-minute burst, not a sustained condition.
                rng.random_range(0.85..0.9)
            } else {
                rng.random_range(0.2..0.45)
            };
            let interfered = hit(FaultKind::Interference);
            out.push(with(
                l("ap_radio", t),
                json!({"ap_mac": ap.mac, "radio_mac": radio.mac, "band": radio.band, "channel": radio.channel,
                    "bandwidth_mhz": if ri == 0 { 20 } else { 40 },
                    "noise_floor_dbm": if interfered { rng.random_range(-71.0..-69.0) } else { rng.random_range(-95.0..-90.0) },
                    "num_clients": if overload && ri == 1 { rng.random_range(70..80) } else { rng.random_range(2..15) },
                    "util_all_ratio": round(util, 3),
                    "util_non_wifi_ratio": round(if interfered { rng.random_range(0.42..0.48) } else { rng.random_range(0.01..0.05) }, 3),
                    "util_rx_other_bss_ratio": round(rng.random_range(0.05..0.12), 3)}),
            ));
        }
    }
}

/// The clients' radio statistics and bindings (joins, roams, wired attachments).
fn clients(cx: &Ctx<'_>, rng: &mut Pcg64Mcg, out: &mut Vec<Value>) {
    let Ctx {
        world,
        faults,
        t,
        start,
        s,
        site,
        ..
    } = *cx;
    let l = |kind: &str, time: i64| line(kind, world, &site.id, time);
    for c in world.clients.iter() {
        match &c.attachment {
            Attachment::Wifi { site: cs, .. } if *cs == s => {
                let Some((_, ap)) = current_ap(world, faults, c.index, t) else {
                    continue;
                };
                if silent(faults, s, ap, t) {
                    continue;
                }
                let band = current_band(world, faults, c.index, t);
                let radio = &site.aps[ap].radios[if band == "band_2_4ghz" { 0 } else { 1 }];
                let mac = c.mac.clone().unwrap_or_default();
                let weak = active(faults, FaultKind::WeakSignal, t)
                    .any(|f| f.target == (Target::Client { client: c.index }));
                let (rssi, snr) = if weak {
                    (rng.random_range(-82.0..-79.0), rng.random_range(8.0..11.0))
                } else {
                    (rng.random_range(-62.0..-50.0), rng.random_range(30.0..40.0))
                };
                // The join every half hour keeps the client's address and AP in the state.
                if (t - start) % (30 * 60_000) == 0 {
                    out.push(with(
                        l("client_binding", t),
                        json!({"client_mac": mac, "random_mac": c.random_mac, "kind": "join", "client_ip": c.ip,
                            "ap_mac": site.aps[ap].mac, "bssid": radio.bssid(), "band": band, "vlan": 16}),
                    ));
                }
                let roam = active(faults, FaultKind::RoamingStorm, t).find(|f| {
                    f.target == (Target::Client { client: c.index })
                        && t > f.start_ms
                        && (t - f.start_ms) % ROAM_EVERY_MS == 0
                });
                if roam.is_some() {
                    let before = current_ap(world, faults, c.index, t - 60_000).map_or(ap, |x| x.1);
                    out.push(with(
                        l("client_binding", t),
                        json!({"client_mac": mac, "random_mac": c.random_mac, "kind": "roam", "client_ip": c.ip,
                            "ap_mac": site.aps[before].mac, "next_ap_mac": site.aps[ap].mac,
                            "bssid": radio.bssid(), "band": band}),
                    ));
                }
                out.push(with(
                    l("wireless_client", t),
                    json!({"client_mac": mac, "random_mac": c.random_mac, "client_ip": c.ip,
                        "ap_mac": site.aps[ap].mac, "bssid": radio.bssid(), "band": band, "channel": radio.channel,
                        "ssid": "corp", "rssi_dbm": round(rssi, 1), "snr_db": round(snr, 1),
                        "tx_rate_mbps": if weak { 12.0 } else { 400.0 }, "rx_rate_mbps": if weak { 6.5 } else { 360.0 },
                        "tx_retries_per_s": round(rng.random_range(0.0..3.0), 2)}),
                ));
            }
            Attachment::Wired {
                site: cs,
                switch,
                port,
            } if *cs == s && (t - start) % 120_000 == 0 => {
                out.push(with(
                    l("client_binding", t),
                    json!({"client_mac": c.mac, "kind": "wired_attach", "client_ip": c.ip,
                        "switch_mac": site.switches[*switch].mac, "port_id": port, "vlan": 32}),
                ));
            }
            _ => {}
        }
    }
}

/// The switch ports (access and uplinks) and their link events.
fn switches(cx: &Ctx<'_>, rng: &mut Pcg64Mcg, out: &mut Vec<Value>) {
    let Ctx {
        faults,
        t,
        s,
        site,
        world,
        ..
    } = *cx;
    let l = |kind: &str, time: i64| line(kind, world, &site.id, time);
    for (w, sw) in site.switches.iter().enumerate() {
        for p in &sw.access_ports {
            let target = Target::Port {
                site: s,
                switch: w,
                port: p.clone(),
            };
            let hit = |kind| active(faults, kind, t).any(|f| f.target == target);
            let mismatch = hit(FaultKind::SpeedDuplexMismatch);
            let congested = hit(FaultKind::PortCongestion);
            let flapping = faults
                .iter()
                .find(|f| f.kind == FaultKind::LinkFlap && f.target == target && f.active_at(t));
            let down_now = flapping.is_some_and(|f| (t - f.start_ms) % FLAP_EVERY_MS == 0);
            if down_now {
                out.push(with(
                    l("event", t + 5_000),
                    json!({"vendor_type": "IF-MIB linkDown", "kind": "port_down", "entity_kind": "switch_port",
                        "entity_id": keys::port_id(&sw.mac, p)}),
                ));
                out.push(with(
                    l("event", t + 20_000),
                    json!({"vendor_type": "IF-MIB linkUp", "kind": "port_up", "entity_kind": "switch_port",
                        "entity_id": keys::port_id(&sw.mac, p)}),
                ));
            }
            let speed = if mismatch { 100 } else { 1000 };
            let rx = if congested {
                rng.random_range(970e6..985e6)
            } else {
                rng.random_range(1e6..40e6)
            };
            out.push(with(
                l("switch_port", t),
                json!({"switch_mac": sw.mac, "port_id": p, "up": !down_now, "speed_mbps": speed,
                    "full_duplex": !mismatch, "rx_bps": rx as u64, "tx_bps": rng.random_range(1e6..30e6) as u64,
                    "rx_errors_per_s": if hit(FaultKind::PortErrors) { round(rng.random_range(13.0..16.0), 2) } else { 0.0 },
                    "tx_errors_per_s": 0.0,
                    "rx_drops_per_s": 0.0,
                    "tx_drops_per_s": if congested { round(rng.random_range(55.0..65.0), 1) } else { round(rng.random_range(0.0..0.5), 2) },
                    "interval_s": 60}),
            ));
        }
        let congested = active(faults, FaultKind::UplinkCongestion, t)
            .any(|f| f.target == (Target::Uplink { site: s, switch: w }));
        out.push(with(
            l("switch_port", t),
            json!({"switch_mac": sw.mac, "port_id": sw.uplink, "up": true, "speed_mbps": 1000, "full_duplex": true,
                "rx_bps": (if congested { rng.random_range(980e6..990e6) } else { rng.random_range(50e6..250e6) }) as u64,
                "tx_bps": rng.random_range(30e6..150e6) as u64,
                "rx_drops_per_s": if congested { round(rng.random_range(75.0..85.0), 1) } else { 0.0 },
                "tx_drops_per_s": 0.0, "interval_s": 60}),
        ));
    }
}

/// The WAN links and failover events.
fn wan(cx: &Ctx<'_>, rng: &mut Pcg64Mcg, out: &mut Vec<Value>) {
    let Ctx {
        faults,
        t,
        end,
        s,
        site,
        world,
        ..
    } = *cx;
    let l = |kind: &str, time: i64| line(kind, world, &site.id, time);
    let wan_hit = |kind| active(faults, kind, t).any(|f| f.target == (Target::Wan { site: s }));
    let failed = wan_hit(FaultKind::WanFailover);
    if faults.iter().any(|f| {
        f.kind == FaultKind::WanFailover
            && f.target == (Target::Wan { site: s })
            && (t..end).contains(&f.start_ms)
    }) {
        out.push(with(
            l("event", t + 10_000),
            json!({"vendor_type": "GW_WAN_FAILOVER", "kind": "wan_failover", "entity_kind": "gateway",
                "entity_id": site.gateway, "reason": "primary link down"}),
        ));
    }
    for link in &site.wan_links {
        let primary = !link.backup;
        let up = !(primary && failed);
        let active_now = if primary { !failed } else { failed };
        let cap = link.capacity_bps as f64;
        let (latency, jitter, loss, rx) = if primary && up {
            (
                if wan_hit(FaultKind::WanLatency) {
                    rng.random_range(255.0..270.0)
                } else {
                    rng.random_range(12.0..25.0)
                },
                if wan_hit(FaultKind::WanJitter) {
                    rng.random_range(65.0..75.0)
                } else {
                    rng.random_range(1.0..4.0)
                },
                if wan_hit(FaultKind::WanLoss) {
                    rng.random_range(0.055..0.065)
                } else {
                    rng.random_range(0.0..0.002)
                },
                if wan_hit(FaultKind::WanSaturation) {
                    cap * rng.random_range(0.975..0.99)
                } else {
                    cap * rng.random_range(0.1..0.35)
                },
            )
        } else {
            (
                rng.random_range(25.0..40.0),
                rng.random_range(2.0..6.0),
                rng.random_range(0.0..0.003),
                cap * rng.random_range(0.0..0.3),
            )
        };
        let mut fields = json!({"gateway_mac": site.gateway, "wan_port_id": link.port, "up": up, "active": active_now,
            "wan_name": if link.backup { "backup" } else { "primary" }, "path_type": "internet",
            "capacity_down_bps": link.capacity_bps, "capacity_up_bps": link.capacity_bps,
            "tx_bps": (cap * rng.random_range(0.05..0.2)) as u64});
        if up {
            fields["latency_ms"] = round(latency, 1).into();
            fields["jitter_ms"] = round(jitter, 1).into();
            fields["loss_ratio"] = round(loss, 4).into();
            fields["rx_bps"] = (rx as u64).into();
        }
        out.push(with(l("wan_path", t), fields));
    }
}

/// `x` rounded to `digits` decimals.
pub fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}
