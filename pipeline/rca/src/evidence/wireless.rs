//! The client's radio link, its AP radio and its AP.

use super::{Context, Found, Measurement, measure, p10, p90, radio_entity_id};
use callsight_model::types::{BindingKind, ConnectionType, NetworkEventKind, SampleBody, WifiBand};
use std::collections::BTreeSet;

/// The share of the client's samples in the context's window on 2.4 GHz, if it has any: the
/// baseline of `band_2_4ghz`, so that a client usually on 2.4 GHz is not blamed for being there.
pub(super) fn band_2_4ghz_share(ctx: &Context<'_>) -> Option<(String, f64)> {
    let client = ctx.view.path.client_mac.as_ref()?;
    let bands: Vec<bool> = ctx
        .samples()
        .iter()
        .filter_map(|s| match &s.body {
            SampleBody::WirelessClient(c) if &c.client_mac == client => {
                Some(c.band == WifiBand::Band2_4Ghz)
            }
            _ => None,
        })
        .collect();
    (!bands.is_empty()).then(|| {
        let on = bands.iter().filter(|b| **b).count();
        (client.clone(), on as f64 / bands.len() as f64)
    })
}

/// Gathers wireless evidence; returns whether any client telemetry was found.
pub(super) fn gather(ctx: &Context<'_>, out: &mut Vec<Measurement>, found: &mut Found) -> bool {
    let path = &ctx.view.path;
    let samples = ctx.samples();
    let mut client_found = false;

    if ctx.leg.network.connection_type == ConnectionType::Wifi {
        measure(
            out,
            "wifi_signal_pct",
            &ctx.leg.participant_id,
            ctx.leg.network.wifi_signal_pct.map(f64::from),
        );
    }

    if let Some(client) = &path.client_mac {
        let mut rssi = Vec::new();
        let mut snr = Vec::new();
        let mut bands = BTreeSet::new();
        let mut roams = BTreeSet::new();
        for sample in samples {
            match &sample.body {
                SampleBody::WirelessClient(c) if &c.client_mac == client => {
                    client_found = true;
                    rssi.extend(c.rssi_dbm);
                    snr.extend(c.snr_db);
                    bands.insert((sample.time, c.band == WifiBand::Band2_4Ghz));
                }
                SampleBody::ClientBinding(b) if &b.client_mac == client => {
                    client_found = true;
                    if b.kind == BindingKind::Roam
                        && sample.time >= ctx.leg.leg_start
                        && sample.time <= ctx.leg.leg_end
                    {
                        roams.insert(sample.time);
                    }
                }
                _ => {}
            }
        }
        measure(out, "rssi_dbm_p10", client, p10(&rssi));
        measure(out, "snr_db_p10", client, p10(&snr));
        if client_found {
            measure(out, "roams", client, Some(roams.len() as f64));
        }
        let on_2_4 = path.band == WifiBand::Band2_4Ghz
            || ctx.leg.network.wifi_band == WifiBand::Band2_4Ghz
            || bands.iter().any(|(_, two_four)| *two_four);
        if ctx.wifi() && on_2_4 {
            measure(out, "band_2_4ghz", client, Some(1.0));
        }
    }

    let Some(ap) = &path.ap_mac else {
        return client_found;
    };
    let radio_id = radio_entity_id(ctx.view).unwrap_or_else(|| ap.clone());
    let (mut util, mut non_wifi, mut other_bss, mut noise, mut radio_clients) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut ap_clients, mut ap_cpu) = (Vec::new(), Vec::new());
    let mut restarted = false;
    for sample in samples {
        match &sample.body {
            SampleBody::ApRadio(r) if &r.ap_mac == ap => {
                let same_radio = match (&path.radio_mac, &r.radio_mac) {
                    (Some(want), Some(have)) => want == have,
                    _ => path.band == WifiBand::Unknown || r.band == path.band,
                };
                if !same_radio {
                    continue;
                }
                found.wireless = true;
                util.extend(r.util_all_ratio);
                non_wifi.extend(r.util_non_wifi_ratio);
                other_bss.extend(r.util_rx_other_bss_ratio);
                noise.extend(r.noise_floor_dbm);
                radio_clients.extend(r.num_clients.map(f64::from));
            }
            SampleBody::Ap(a) if &a.ap_mac == ap => {
                found.wireless = true;
                ap_clients.extend(a.num_clients.map(f64::from));
                ap_cpu.extend(a.cpu_util_ratio);
                // An uptime shorter than the time since the leg started: it rebooted meanwhile.
                if let Some(uptime) = a.uptime_s
                    && sample.time >= ctx.leg.leg_start
                    && uptime * 1000.0 < (sample.time - ctx.leg.leg_start) as f64
                {
                    restarted = true;
                }
            }
            _ => {}
        }
    }
    measure(out, "util_all_ratio_p90", &radio_id, p90(&util));
    measure(out, "util_non_wifi_ratio_p90", &radio_id, p90(&non_wifi));
    measure(
        out,
        "util_rx_other_bss_ratio_p90",
        &radio_id,
        p90(&other_bss),
    );
    measure(out, "noise_floor_dbm_p90", &radio_id, p90(&noise));
    measure(out, "radio_clients_p90", &radio_id, p90(&radio_clients));
    measure(out, "ap_clients_p90", ap, p90(&ap_clients));
    measure(out, "ap_cpu_ratio_p90", ap, p90(&ap_cpu));

    let mut restarts = BTreeSet::new();
    let mut channel_changes = BTreeSet::new();
    for (time, event) in ctx.events() {
        let about_ap = &event.entity_id == ap
            || path
                .radio_mac
                .as_ref()
                .is_some_and(|r| &event.entity_id == r);
        if !about_ap {
            continue;
        }
        match event.kind {
            NetworkEventKind::ApRestart | NetworkEventKind::ApDisconnected => {
                restarts.insert(time);
            }
            NetworkEventKind::RadioChannelChange | NetworkEventKind::RadarDetected => {
                let band_matches = event
                    .attributes
                    .get("band")
                    .is_none_or(|b| path.band.event_label().is_none_or(|want| b == want));
                if band_matches {
                    channel_changes.insert(time);
                }
            }
            _ => {}
        }
    }
    if restarted && restarts.is_empty() {
        restarts.insert(ctx.leg.leg_start);
    }
    if found.wireless || !restarts.is_empty() || !channel_changes.is_empty() {
        measure(out, "ap_restarts", ap, Some(restarts.len() as f64));
        measure(
            out,
            "channel_changes",
            &radio_id,
            Some(channel_changes.len() as f64),
        );
    }
    client_found
}
