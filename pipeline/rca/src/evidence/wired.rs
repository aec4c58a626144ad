//! The access port (the client's, or its AP's through LLDP) and the uplinks towards the gateway.

use super::{Context, Measurement, measure, p90};
use crate::view::PortRole;
use callsight_model::keys;
use callsight_model::types::{EntityKind, NetworkEventKind, SampleBody};
use std::collections::BTreeSet;

/// The baseline of a port's negotiated speed, Mbit/s.
pub(super) const USUAL_SPEED: &str = "speed_mbps";

/// Each port's median negotiated speed in the context's window, Mbit/s.
pub(super) fn speeds(ctx: &Context<'_>) -> Vec<(String, f64)> {
    ctx.view
        .path
        .ports
        .iter()
        .filter_map(|port| {
            let speeds: Vec<f64> = ctx
                .samples()
                .iter()
                .filter_map(|s| match &s.body {
                    SampleBody::SwitchPort(p)
                        if p.switch_mac == port.switch_mac && p.port_id == port.port_id && p.up =>
                    {
                        p.speed_mbps.filter(|s| *s > 0).map(f64::from)
                    }
                    _ => None,
                })
                .collect();
            crate::stats::percentile(&speeds, 50.0)
                .map(|median| (keys::port_id(&port.switch_mac, &port.port_id), median))
        })
        .collect()
}

/// Gathers wired evidence; returns whether any port telemetry was found.
pub(super) fn gather(ctx: &Context<'_>, out: &mut Vec<Measurement>) -> bool {
    let samples = ctx.samples();
    let events = ctx.events();
    let mut found = false;
    for port in &ctx.view.path.ports {
        let id = keys::port_id(&port.switch_mac, &port.port_id);
        let (mut errors, mut drops, mut utilization) = (Vec::new(), Vec::new(), Vec::new());
        let mut speeds = Vec::new();
        let mut half_duplex = false;
        let mut flaps = BTreeSet::new();
        let mut seen = false;
        for sample in samples {
            let SampleBody::SwitchPort(p) = &sample.body else {
                continue;
            };
            if p.switch_mac != port.switch_mac || p.port_id != port.port_id {
                continue;
            }
            seen = true;
            if let (Some(rx), Some(tx)) = (p.rx_errors_per_s, p.tx_errors_per_s) {
                errors.push(rx + tx);
            } else if let Some(e) = p.rx_errors_per_s.or(p.tx_errors_per_s) {
                errors.push(e);
            }
            if let (Some(rx), Some(tx)) = (p.rx_drops_per_s, p.tx_drops_per_s) {
                drops.push(rx + tx);
            } else if let Some(d) = p.rx_drops_per_s.or(p.tx_drops_per_s) {
                drops.push(d);
            }
            if let Some(speed) = p.speed_mbps.filter(|s| *s > 0) {
                speeds.push(f64::from(speed));
                let busiest = p.rx_bps.unwrap_or(0).max(p.tx_bps.unwrap_or(0)) as f64;
                if p.rx_bps.is_some() || p.tx_bps.is_some() {
                    utilization.push(busiest / (f64::from(speed) * 1e6));
                }
            }
            if p.full_duplex == Some(false) && p.up {
                half_duplex = true;
            }
            if !p.up {
                flaps.insert(sample.time);
            }
            if let Some(flapped) = p.last_flapped_at
                && flapped >= ctx.leg.leg_start
                && flapped <= ctx.leg.leg_end
            {
                flaps.insert(flapped);
            }
        }
        for (time, event) in &events {
            let about_port = event.entity_id == id
                || (event.entity_kind != EntityKind::SwitchPort
                    && event.entity_id == port.switch_mac
                    && event.attributes.get("port_id") == Some(&port.port_id));
            if about_port && event.kind == NetworkEventKind::PortDown {
                flaps.insert(*time);
                seen = true;
            }
        }
        if !seen {
            continue;
        }
        found = true;
        match port.role {
            PortRole::Access => {
                measure(out, "port_errors_per_s_p90", &id, p90(&errors));
                measure(out, "port_drops_per_s_p90", &id, p90(&drops));
                measure(out, "port_utilization_p90", &id, p90(&utilization));
                measure(out, "link_flaps", &id, Some(flaps.len() as f64));
                measure(
                    out,
                    "half_duplex",
                    &id,
                    Some(if half_duplex { 1.0 } else { 0.0 }),
                );
                // Against the port's usual speed: a gigabit port that came back at 100 Mbit/s.
                let usual = ctx.view.baseline(EntityKind::SwitchPort, &id, USUAL_SPEED);
                let lowest = speeds.iter().copied().reduce(f64::min);
                if let (Some(usual), Some(lowest)) = (usual, lowest)
                    && usual > 0.0
                {
                    measure(out, "speed_drop_ratio", &id, Some(1.0 - lowest / usual));
                }
            }
            PortRole::Uplink => {
                measure(out, "uplink_utilization_p90", &id, p90(&utilization));
                measure(out, "uplink_drops_per_s_p90", &id, p90(&drops));
            }
        }
    }
    found
}
