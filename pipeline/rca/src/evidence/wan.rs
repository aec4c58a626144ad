//! The site's WAN links and paths, when the leg's media leaves the site.

use super::{Context, Measurement, measure, p90};
use callsight_model::keys;
use callsight_model::types::{NetworkEventKind, SampleBody};
use std::collections::BTreeSet;

/// Gathers WAN evidence; returns whether any WAN telemetry was found.
pub(super) fn gather(ctx: &Context<'_>, out: &mut Vec<Measurement>) -> bool {
    let samples = ctx.samples();
    let events = ctx.events();
    let mut found = false;
    for link in &ctx.view.path.wan_links {
        let id = keys::wan_link_id(&link.gateway_mac, &link.wan_port_id);
        let (mut latency, mut jitter, mut loss, mut utilization) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut downs = BTreeSet::new();
        let mut seen = false;
        for sample in samples {
            let SampleBody::WanPath(w) = &sample.body else {
                continue;
            };
            if w.gateway_mac != link.gateway_mac || w.wan_port_id != link.wan_port_id {
                continue;
            }
            seen = true;
            if !w.up {
                downs.insert(sample.time);
                continue;
            }
            // A standby member of a redundant set carries no media.
            if w.active == Some(false) {
                continue;
            }
            latency.extend(w.latency_ms);
            jitter.extend(w.jitter_ms);
            loss.extend(w.loss_ratio);
            let down = ratio(w.rx_bps, w.capacity_down_bps);
            let up = ratio(w.tx_bps, w.capacity_up_bps);
            if let Some(u) = down.into_iter().chain(up).reduce(f64::max) {
                utilization.push(u);
            }
        }
        for (time, event) in &events {
            // Gateway-wide events (a failover, a VPN path of unknown port) concern every link.
            let about_link = event.entity_id == id
                || event.entity_id.starts_with(&format!("{id}/"))
                || (event.entity_id == link.gateway_mac
                    && matches!(
                        event.kind,
                        NetworkEventKind::WanFailover | NetworkEventKind::WanPathDown
                    ));
            if about_link
                && matches!(
                    event.kind,
                    NetworkEventKind::WanLinkDown
                        | NetworkEventKind::WanPathDown
                        | NetworkEventKind::WanFailover
                )
            {
                downs.insert(*time);
                seen = true;
            }
        }
        if !seen {
            continue;
        }
        found = true;
        measure(out, "wan_latency_ms_p90", &id, p90(&latency));
        measure(out, "wan_jitter_ms_p90", &id, p90(&jitter));
        measure(out, "wan_loss_ratio_p90", &id, p90(&loss));
        measure(out, "wan_utilization_p90", &id, p90(&utilization));
        measure(out, "wan_down", &id, Some(downs.len() as f64));
    }
    found
}

fn ratio(bps: Option<i64>, capacity: Option<i64>) -> Option<f64> {
    match (bps, capacity) {
        (Some(bps), Some(capacity)) if capacity > 0 => Some(bps as f64 / capacity as f64),
        _ => None,
    }
}
