//! A small world: the reference site of [`crate::samples`] (one AP with two radios, its switch
//! port and uplink, a WAN link), three hours of per-minute telemetry with a channel-utilization
//! fault on the AP's 5 GHz radio around the sample call, and legs on that site (by MAC, by IP,
//! by BSSID only, and one off every site).

use crate::samples;
use callsight_model::types::*;

/// A minute, in milliseconds.
pub const MINUTE: i64 = 60_000;
/// The reference AP.
pub const AP: &str = "5c5b35a1c020";
/// The BSSID of its 5 GHz radio the sample caller is on.
pub const BSSID_5: &str = "5c5b35f2d221";
/// The reference switch (the AP's uplink is `ge-0/0/1`).
pub const SWITCH: &str = "0c8126c7a100";
/// The reference site's WAN gateway (its link is `ge-0/0/7`).
pub const GATEWAY: &str = "4c96147e2b00";
/// The sample caller's MAC.
pub const CLIENT: &str = "a4c3f0851a2b";
/// The sample caller's IP.
pub const CLIENT_IP: &str = "10.20.10.21";
/// Another client on the same radio.
pub const OTHER: &str = "a4c3f0851a99";
/// Its IP.
pub const OTHER_IP: &str = "10.20.10.99";

fn base() -> CallLeg {
    samples::call_leg()
}

/// The sample leg as call `name`'s (`call-{name}`, participant `p-{name}`, leg
/// `call-{name}/p-{name}/0`), moved by `shift_minutes`, with no other legs.
pub fn sample_leg_as(name: &str, shift_minutes: i64) -> CallLeg {
    let mut leg = base();
    leg.call_id = format!("call-{name}");
    leg.leg_id = format!("call-{name}/p-{name}/0");
    leg.participant_id = format!("p-{name}");
    leg.leg_start += shift_minutes * MINUTE;
    leg.leg_end += shift_minutes * MINUTE;
    leg.call_start = leg.leg_start;
    leg.call_end = leg.leg_end;
    leg.other_legs.clear();
    leg
}

/// A healthy gigabit access port, 40 Mb/s in and 60 Mb/s out, no errors.
pub fn healthy_port(switch_mac: &str, port: &str) -> SwitchPortSample {
    SwitchPortSample {
        switch_mac: switch_mac.into(),
        port_id: port.into(),
        up: true,
        speed_mbps: Some(1000),
        full_duplex: Some(true),
        rx_bps: Some(40_000_000),
        tx_bps: Some(60_000_000),
        rx_errors_per_s: Some(0.0),
        tx_errors_per_s: Some(0.0),
        ..Default::default()
    }
}

/// When the sample call starts and ends.
pub fn call_window() -> (i64, i64) {
    let leg = base();
    (leg.leg_start, leg.leg_end)
}

/// Telemetry from three hours before the call to `after` minutes after it, in time order.
pub fn telemetry(after: i64) -> Vec<NetworkSample> {
    let leg = base();
    let (start, end) = (leg.leg_start, leg.leg_end);
    let first = start - 180 * MINUTE;
    let last = end + after * MINUTE;
    let mut out = Vec::new();
    let mut seq = 0;
    let mut at = |time: i64, body: SampleBody| {
        seq += 1;
        out.push(NetworkSample {
            org_id: leg.org_id.clone(),
            site_id: leg.site_id.clone().unwrap_or_default(),
            time,
            source: "test".into(),
            sequence: seq,
            body,
        });
    };
    let mut t = first;
    while t <= last {
        let fault = t >= start - 5 * MINUTE && t <= end;
        at(
            t,
            SampleBody::ApRadio(ApRadioSample {
                ap_mac: AP.into(),
                band: WifiBand::Band5Ghz,
                channel: Some(44),
                util_all_ratio: Some(if fault { 0.93 } else { 0.30 }),
                util_non_wifi_ratio: Some(0.02),
                num_clients: Some(if fault { 38 } else { 12 }),
                noise_floor_dbm: Some(-92.0),
                ..Default::default()
            }),
        );
        at(
            t,
            SampleBody::Ap(ApSample {
                ap_mac: AP.into(),
                uptime_s: Some(((t - first) / 1000) as f64 + 86_400.0),
                cpu_util_ratio: Some(0.2),
                num_clients: Some(14),
                ..Default::default()
            }),
        );
        for port in ["ge-0/0/1", "ge-0/0/11"] {
            at(t, SampleBody::SwitchPort(healthy_port(SWITCH, port)));
        }
        at(
            t,
            SampleBody::WanPath(WanPathSample {
                gateway_mac: GATEWAY.into(),
                wan_port_id: "ge-0/0/7".into(),
                up: true,
                latency_ms: Some(18.0),
                jitter_ms: Some(2.0),
                loss_ratio: Some(0.0),
                ..Default::default()
            }),
        );
        for (mac, ip) in [(CLIENT, CLIENT_IP), (OTHER, OTHER_IP)] {
            at(
                t,
                SampleBody::WirelessClient(WirelessClientSample {
                    client_mac: mac.into(),
                    client_ip: Some(ip.into()),
                    ap_mac: AP.into(),
                    bssid: Some(BSSID_5.into()),
                    band: WifiBand::Band5Ghz,
                    channel: Some(44),
                    rssi_dbm: Some(-58.0),
                    snr_db: Some(32.0),
                    ..Default::default()
                }),
            );
        }
        t += MINUTE;
    }
    out
}

/// Legs on the site and one off every site, during the fault and before it.
pub fn legs() -> Vec<CallLeg> {
    let mut out = Vec::new();
    let leg = |n: usize, shift: i64| sample_leg_as(&n.to_string(), shift);
    // By MAC, during the fault.
    out.push(leg(1, 0));
    // By IP only.
    let mut by_ip = leg(2, 0);
    by_ip.network.mac_address = None;
    by_ip.network.ip_address = Some(OTHER_IP.into());
    out.push(by_ip);
    // By BSSID only.
    let mut by_bssid = leg(3, 1);
    by_bssid.network.mac_address = None;
    by_bssid.network.ip_address = None;
    out.push(by_bssid);
    // An hour before the fault, good streams.
    let mut early = leg(4, -60);
    for s in &mut early.streams {
        s.avg_jitter_ms = Some(4.0);
        s.avg_packet_loss_rate = Some(0.001);
    }
    early.feedback = None;
    out.push(early);
    // Off every site.
    let mut away = leg(5, 0);
    away.site_id = None;
    away.network.connection_type = ConnectionType::Wired;
    out.push(away);
    // A later version of the first.
    let mut revised = leg(1, 0);
    revised.record_version += 1;
    out.push(revised);
    out
}

/// `n` more legs spread over the telemetry's three hours (by MAC, IP and BSSID in turn), every
/// seventh followed later by a new version of itself.
pub fn many_legs(n: usize) -> Vec<CallLeg> {
    let mut out = Vec::new();
    let mut revisions = Vec::new();
    for i in 0..n {
        let shift = -150 + (i as i64 * 7) % 170;
        let mut leg = sample_leg_as(&format!("m{i}"), shift);
        match i % 3 {
            0 => {}
            1 => {
                leg.network.mac_address = None;
                leg.network.ip_address = Some(OTHER_IP.into());
            }
            _ => {
                leg.network.mac_address = None;
                leg.network.ip_address = None;
            }
        }
        if i % 7 == 0 {
            let mut revised = leg.clone();
            revised.record_version += 1;
            revisions.push(revised);
        }
        out.push(leg);
        if i % 5 == 4
            && let Some(r) = revisions.pop()
        {
            out.push(r);
        }
    }
    out.extend(revisions);
    out
}
