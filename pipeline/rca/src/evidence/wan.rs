//! The site's WAN links and paths, when the leg's media leaves the site.
//!
//! A link's utilisation is its traffic over its capacity, and the capacity is the first of:
//! the configured one (`rca.wan_capacity`), the contracted one of the inventory, one reported
//! with the samples by a source that knows the contract (NDJSON), and the interface's
//! negotiated speed (all Mist reports). The evidence says which it used.

use super::{Context, Measurement, measure, measure_against, p90};
use crate::config::RcaConfig;
use crate::view::WanRef;
use callsight_model::keys;
use callsight_model::types::{NetworkEventKind, NetworkSample, SampleBody, WanPathSample};
use std::collections::BTreeSet;

/// The source whose samples carry the interface's negotiated speed as their capacity.
const NEGOTIATED_SPEED_SOURCE: &str = "mist";

/// The capacity a link's utilisation is measured against, and in words where it came from.
#[derive(Debug, Clone, PartialEq)]
struct Capacity {
    down_bps: Option<i64>,
    up_bps: Option<i64>,
    basis: String,
}

fn mbps(bps: Option<i64>) -> String {
    bps.map_or("?".into(), |b| format!("{:.0}", b as f64 / 1e6))
}

fn capacity(
    link: &WanRef,
    samples: &[(&NetworkSample, &WanPathSample)],
    config: &RcaConfig,
) -> Option<Capacity> {
    let id = keys::wan_link_id(&link.gateway_mac, &link.wan_port_id);
    let words = |down: Option<i64>, up: Option<i64>, what: &str| Capacity {
        down_bps: down,
        up_bps: up,
        basis: format!("{what} {}/{} Mbit/s", mbps(down), mbps(up)),
    };
    if let Some(c) = config.wan_capacity.get(&id) {
        return Some(words(
            Some(c.down_bps),
            Some(c.up_bps),
            "the configured capacity (rca.wan_capacity)",
        ));
    }
    if link.capacity_down_bps.is_some() || link.capacity_up_bps.is_some() {
        return Some(words(
            link.capacity_down_bps,
            link.capacity_up_bps,
            "the contracted capacity of the inventory",
        ));
    }
    let reported = |negotiated: bool| {
        samples
            .iter()
            .filter(|(s, _)| (s.source == NEGOTIATED_SPEED_SOURCE) == negotiated)
            .filter(|(_, w)| w.capacity_down_bps.is_some() || w.capacity_up_bps.is_some())
            .max_by_key(|(s, _)| (s.time, s.sequence))
            .map(|(_, w)| (w.capacity_down_bps, w.capacity_up_bps))
    };
    if let Some((down, up)) = reported(false) {
        return Some(words(
            down,
            up,
            "the contracted capacity reported with the samples",
        ));
    }
    reported(true).map(|(down, up)| {
        words(
            down,
            up,
            "the interface's negotiated speed (no contracted capacity known)",
        )
    })
}

/// Gathers WAN evidence; returns whether any WAN telemetry was found.
pub(super) fn gather(ctx: &Context<'_>, config: &RcaConfig, out: &mut Vec<Measurement>) -> bool {
    let samples = ctx.samples();
    let events = ctx.events();
    let mut found = false;
    for link in &ctx.view.path.wan_links {
        let id = keys::wan_link_id(&link.gateway_mac, &link.wan_port_id);
        let (mut latency, mut jitter, mut loss, mut utilization) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut downs = BTreeSet::new();
        let link_samples: Vec<(&NetworkSample, &WanPathSample)> = samples
            .iter()
            .filter_map(|s| match &s.body {
                SampleBody::WanPath(w)
                    if w.gateway_mac == link.gateway_mac && w.wan_port_id == link.wan_port_id =>
                {
                    Some((*s, w))
                }
                _ => None,
            })
            .collect();
        let capacity = capacity(link, &link_samples, config);
        let mut seen = false;
        for &(sample, w) in &link_samples {
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
            // Traffic is the underlay's: an overlay path's share of it is inside the link's.
            if w.peer_mac.is_none()
                && let Some(c) = &capacity
            {
                let down = ratio(w.rx_bps, c.down_bps);
                let up = ratio(w.tx_bps, c.up_bps);
                if let Some(u) = down.into_iter().chain(up).reduce(f64::max) {
                    utilization.push(u);
                }
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
        measure_against(
            out,
            "wan_utilization_p90",
            &id,
            p90(&utilization),
            capacity.map(|c| c.basis),
        );
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
