//! A campus of many sites for benchmarks: every AP with two radios and a switch port, one WAN
//! path per site, 25 wireless clients per AP reporting every minute. Site 0 is the reference
//! site of [`crate::samples`], so legs on it have an inventory (AP, LLDP, uplinks, WAN links).

use crate::samples;
use crate::world::{self, MINUTE, sample_leg_as};
use callsight_model::types::*;

/// Clients per AP.
pub const CLIENTS_PER_AP: usize = 25;
/// The switch ports on the reference AP's path (LLDP and uplink).
const REFERENCE_PORTS: [&str; 2] = ["ge-0/0/1", "ge-0/0/11"];

/// A campus of sites.
pub struct Campus {
    /// The org of every site.
    pub org: String,
    /// Its sites, the reference site first.
    pub sites: Vec<String>,
    clients: usize,
    per_site: usize,
    partitions: i32,
    /// Minute 0, epoch ms.
    pub start: i64,
}

impl Campus {
    /// `clients` wireless clients, `per_site` to a site, over `partitions` partitions, reporting
    /// for `minutes` up to a few minutes after the sample call.
    pub fn new(clients: usize, minutes: i64, per_site: usize, partitions: i32) -> Self {
        let leg = samples::call_leg();
        let sites = clients.div_ceil(per_site);
        let mut names = vec![leg.site_id.clone().unwrap_or_default()];
        names.extend((1..sites).map(|s| format!("bench-site-{s:05}")));
        Campus {
            org: leg.org_id,
            sites: names,
            clients,
            per_site,
            partitions,
            // The telemetry ends a few minutes after the reference call.
            start: leg.leg_end + 10 * MINUTE - minutes * MINUTE,
        }
    }

    fn ap_mac(site: usize, ap: usize) -> String {
        if site == 0 && ap == 0 {
            world::AP.to_string()
        } else {
            format!("0a{:04x}{:06x}", site, ap)
        }
    }

    fn bssid(site: usize, ap: usize) -> String {
        if site == 0 && ap == 0 {
            world::BSSID_5.to_string()
        } else {
            format!("{}1", &Self::ap_mac(site, ap)[..11])
        }
    }

    fn switch_port(site: usize, ap: usize) -> (String, String) {
        if site == 0 {
            (
                world::SWITCH.to_string(),
                REFERENCE_PORTS[ap.min(1)].to_string(),
            )
        } else {
            (format!("0c{:04x}000000", site), format!("ge-0/0/{ap}"))
        }
    }

    fn gateway(site: usize) -> String {
        if site == 0 {
            world::GATEWAY.to_string()
        } else {
            format!("4c{:04x}000000", site)
        }
    }

    fn client_mac(site: usize, client: usize) -> String {
        format!("02{:04x}{:06x}", site, client)
    }

    fn client_ip(site: usize, client: usize) -> String {
        format!("10.{}.{}.{}", site % 250, client / 250, client % 250 + 2)
    }

    /// Every sample of one minute, with the partition of its site.
    pub fn minute(&self, minute: i64, sequence: &mut i64) -> Vec<(i32, NetworkSample)> {
        let time = self.start + minute * MINUTE;
        let mut out = Vec::new();
        for (s, site) in self.sites.iter().enumerate() {
            let partition = (s as i32) % self.partitions;
            let clients = self.per_site.min(self.clients - s * self.per_site);
            let mut push = |body: SampleBody| {
                *sequence += 1;
                out.push((
                    partition,
                    NetworkSample {
                        org_id: self.org.clone(),
                        site_id: site.clone(),
                        time,
                        source: "bench".into(),
                        sequence: *sequence,
                        body,
                    },
                ));
            };
            let wave = ((minute + s as i64) % 17) as f64;
            for c in 0..clients {
                let ap = c / CLIENTS_PER_AP;
                push(SampleBody::WirelessClient(WirelessClientSample {
                    client_mac: Self::client_mac(s, c),
                    client_ip: Some(Self::client_ip(s, c)),
                    ap_mac: Self::ap_mac(s, ap),
                    bssid: Some(Self::bssid(s, ap)),
                    band: WifiBand::Band5Ghz,
                    channel: Some(36 + 4 * (ap as i32 % 8)),
                    rssi_dbm: Some(-55.0 - wave),
                    snr_db: Some(35.0 - wave),
                    tx_rate_mbps: Some(400.0),
                    rx_rate_mbps: Some(300.0),
                    tx_bps: Some(2_000_000 + c as i64),
                    rx_bps: Some(1_000_000 + c as i64),
                    ..Default::default()
                }));
            }
            for ap in 0..clients.div_ceil(CLIENTS_PER_AP) {
                let ap_mac = Self::ap_mac(s, ap);
                for band in [WifiBand::Band2_4Ghz, WifiBand::Band5Ghz] {
                    push(SampleBody::ApRadio(ApRadioSample {
                        ap_mac: ap_mac.clone(),
                        band,
                        channel: Some(36),
                        util_all_ratio: Some(0.2 + wave / 100.0),
                        util_non_wifi_ratio: Some(0.01),
                        num_clients: Some(CLIENTS_PER_AP as i32 / 2),
                        noise_floor_dbm: Some(-92.0),
                        ..Default::default()
                    }));
                }
                push(SampleBody::Ap(ApSample {
                    ap_mac: ap_mac.clone(),
                    uptime_s: Some(86_400.0 + (minute * 60) as f64),
                    cpu_util_ratio: Some(0.2),
                    num_clients: Some(CLIENTS_PER_AP as i32),
                    ..Default::default()
                }));
                let (switch_mac, port_id) = Self::switch_port(s, ap);
                push(SampleBody::SwitchPort(world::healthy_port(
                    &switch_mac,
                    &port_id,
                )));
            }
            push(SampleBody::WanPath(WanPathSample {
                gateway_mac: Self::gateway(s),
                wan_port_id: "ge-0/0/7".into(),
                up: true,
                latency_ms: Some(18.0 + wave),
                jitter_ms: Some(2.0),
                loss_ratio: Some(0.0),
                ..Default::default()
            }));
        }
        out
    }

    /// Legs on the reference site, by the MAC of one of the clients of its reference AP, ending
    /// well before the telemetry does (their windows are complete when they arrive).
    pub fn legs(&self, n: usize) -> Vec<CallLeg> {
        (0..n)
            .map(|i| {
                let mut leg = sample_leg_as(&format!("bench-{i}"), -((i as i64 * 7) % 40));
                leg.network.mac_address = Some(Self::client_mac(0, i % CLIENTS_PER_AP));
                leg.network.ip_address = Some(Self::client_ip(0, i % CLIENTS_PER_AP));
                leg
            })
            .collect()
    }
}
