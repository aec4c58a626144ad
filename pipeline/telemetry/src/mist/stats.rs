//! Mist REST API statistics objects (`stats_wireless_client`, `stats_ap`, `stats_switch_port`,
//! `stats_gateway`, `vpn_peer_stat`, wired clients, networks and site settings) to samples and
//! inventory.
//!
//! Units are made explicit (percent to ratio, Mbit/s kept in `_mbps`, bits/s in `_bps`);
//! cumulative counters become rates per second between two polls, resets restarting the series.
//! A sample's time is the object's `last_seen` when it has one, else the poll time (port search
//! results have no timestamp of their own).

use super::webhook::SOURCE;
use crate::band;
use crate::batch::{Batch, Record, Rejected};
use crate::counters::Counters;
use callsight_model::lenient::{epoch_ms, number};
use callsight_model::types::{
    AccessPointInfo, ApRadioSample, ApSample, BindingKind, ClientBinding, GatewayInfo,
    InventoryBody, InventoryRecord, LldpNeighbor, NetworkSample, PortInfo, RadioInfo, SampleBody,
    SiteInfo, SubnetInfo, SwitchInfo, SwitchPortSample, WanLinkInfo, WanPathSample, WifiBand,
    WirelessClientSample,
};
use callsight_model::{keys, mac};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

type Object = Map<String, Value>;

fn text<'a>(o: &'a Object, key: &str) -> Option<&'a str> {
    o.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}
fn num(o: &Object, key: &str) -> Option<f64> {
    o.get(key).and_then(number)
}
fn int(o: &Object, key: &str) -> Option<i64> {
    num(o, key).map(|n| n.round() as i64)
}
fn ratio_from_pct(o: &Object, key: &str) -> Option<f64> {
    num(o, key).map(|p| p / 100.0)
}
fn mac_of(o: &Object, key: &str) -> Option<String> {
    text(o, key).and_then(mac::normalize)
}

/// What a site's gateway statistics say about their ports, for routing the rows of the port
/// search: which MACs are gateways, and which of their ports `if_stat` calls WAN or LAN.
#[derive(Debug, Clone, Default)]
pub struct GatewayPorts {
    /// Gateway MACs.
    pub macs: BTreeSet<String>,
    /// `(gateway, port)` pairs `if_stat` lists as WAN (their link inventory comes from there).
    pub wan: BTreeSet<(String, String)>,
    /// `(gateway, port)` pairs `if_stat` lists as LAN.
    pub lan: BTreeSet<(String, String)>,
}

impl GatewayPorts {
    /// Reads the gateway objects of `GET /sites/{site}/stats/devices?type=gateway`.
    pub fn of(gateways: &[Value]) -> Self {
        let mut out = Self::default();
        for g in gateways.iter().filter_map(Value::as_object) {
            let Some(gateway) = mac_of(g, "mac") else {
                continue;
            };
            for interface in g
                .get("if_stat")
                .and_then(Value::as_object)
                .into_iter()
                .flat_map(|i| i.values())
                .filter_map(Value::as_object)
            {
                let Some(port) = text(interface, "port_id") else {
                    continue;
                };
                let pair = (gateway.clone(), port.to_string());
                match text(interface, "port_usage") {
                    Some("wan") => out.wan.insert(pair),
                    Some(_) => out.lan.insert(pair),
                    None => false,
                };
            }
            out.macs.insert(gateway);
        }
        out
    }

    fn is_lan(&self, gateway: &str, port: &str, row_usage: Option<&str>) -> bool {
        let pair = (gateway.to_string(), port.to_string());
        !self.wan.contains(&pair) && (row_usage == Some("lan") || self.lan.contains(&pair))
    }
}

/// Turns Mist statistics into records, keeping the counter state between polls.
#[derive(Debug, Default)]
pub struct StatsNormalizer {
    counters: Counters,
}

/// Where a poll's objects belong.
#[derive(Debug, Clone)]
pub struct Scope<'a> {
    /// Organization.
    pub org_id: &'a str,
    /// Site.
    pub site_id: &'a str,
    /// When the poll was made, epoch ms.
    pub poll_ms: i64,
}

impl Scope<'_> {
    fn sample(&self, time: i64, sequence: i64, body: SampleBody) -> Record {
        Record::Sample(NetworkSample {
            org_id: self.org_id.to_string(),
            site_id: self.site_id.to_string(),
            time,
            source: SOURCE.into(),
            sequence,
            body,
        })
    }

    fn inventory(&self, entity_id: String, body: InventoryBody) -> Record {
        Record::Inventory(InventoryRecord {
            org_id: self.org_id.to_string(),
            site_id: self.site_id.to_string(),
            entity_id,
            updated_at: self.poll_ms,
            source: SOURCE.into(),
            body,
        })
    }
}

fn objects(items: &[Value], batch: &mut Batch) -> Vec<(usize, Object)> {
    items
        .iter()
        .enumerate()
        .filter_map(|(i, v)| match v.as_object() {
            Some(o) => Some((i, o.clone())),
            None => {
                batch.rejected.push(Rejected::new(
                    i,
                    "not an object".into(),
                    &serde_json::to_vec(v).unwrap_or_default(),
                ));
                None
            }
        })
        .collect()
}

fn reject(batch: &mut Batch, index: usize, object: &Object, error: impl Into<String>) {
    batch.rejected.push(Rejected::new(
        index,
        error.into(),
        &serde_json::to_vec(object).unwrap_or_default(),
    ));
}

/// The site itself, from an entry of `GET /orgs/{org}/sites`.
pub fn site(org_id: &str, site: &Value, poll_ms: i64) -> Option<Record> {
    let o = site.as_object()?;
    let site_id = text(o, "id")?;
    let scope = Scope {
        org_id,
        site_id,
        poll_ms,
    };
    Some(scope.inventory(
        keys::inventory::site(site_id),
        InventoryBody::Site(SiteInfo {
            name: text(o, "name").unwrap_or(site_id).to_string(),
            timezone: text(o, "timezone").map(str::to_string),
            country_code: text(o, "country_code").map(str::to_string),
        }),
    ))
}

/// Subnets of a site: the org's networks with the site's variables substituted, and the
/// site's own networks (`GET /orgs/{org}/networks`, `GET /sites/{site}/setting/derived`).
pub fn subnets(scope: &Scope<'_>, org_networks: &[Value], derived: &Value) -> Batch {
    let mut batch = Batch::default();
    let vars: BTreeMap<String, String> = derived
        .get("vars")
        .and_then(Value::as_object)
        .map(|v| {
            v.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                .collect()
        })
        .unwrap_or_default();
    let substitute = |raw: &str| -> String {
        let mut out = raw.to_string();
        for (k, v) in &vars {
            out = out.replace(&format!("{{{{{k}}}}}"), v);
        }
        out
    };
    let mut found: BTreeMap<String, (Option<i32>, String)> = BTreeMap::new();
    for network in org_networks.iter().filter_map(Value::as_object) {
        if let (Some(name), Some(subnet)) = (text(network, "name"), text(network, "subnet")) {
            let cidr = substitute(subnet);
            let vlan = num(network, "vlan_id").map(|v| v as i32);
            found.insert(cidr, (vlan, name.to_string()));
        }
    }
    if let Some(networks) = derived.get("networks").and_then(Value::as_object) {
        for (name, network) in networks {
            let Some(network) = network.as_object() else {
                continue;
            };
            if let Some(subnet) = text(network, "subnet") {
                let vlan = num(network, "vlan_id").map(|v| v as i32);
                found.insert(substitute(subnet), (vlan, name.clone()));
            }
        }
    }
    for (cidr, (vlan_id, name)) in found {
        if cidr.contains("{{") || !cidr.contains('/') {
            batch.rejected.push(Rejected::new(
                0,
                format!("subnet {cidr:?} of network {name} is not a CIDR (unresolved variable?)"),
                cidr.as_bytes(),
            ));
            continue;
        }
        batch.records.push(scope.inventory(
            keys::inventory::subnet(scope.org_id, scope.site_id, &cidr),
            InventoryBody::Subnet(SubnetInfo {
                cidr,
                vlan_id,
                name: Some(name),
            }),
        ));
    }
    batch
}

impl StatsNormalizer {
    /// A normaliser with no counter history.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forgets counters not updated within `horizon_ms` before the newest statistics' time
    /// (clients that left); by the statistics' own clock, not the poller's.
    pub fn expire_idle(&mut self, horizon_ms: i64) {
        self.counters.expire_idle(horizon_ms);
    }

    fn rate(
        &mut self,
        entity: &str,
        name: &'static str,
        time: i64,
        value: Option<f64>,
    ) -> Option<f64> {
        value.and_then(|v| self.counters.rate(entity, name, time, v))
    }

    /// `GET /sites/{site}/stats/clients`: wireless client samples. Hostnames and user names are
    /// not kept.
    pub fn wireless_clients(&mut self, scope: &Scope<'_>, clients: &[Value]) -> Batch {
        let mut batch = Batch::default();
        for (i, c) in objects(clients, &mut batch) {
            let (Some(client), Some(ap)) = (mac_of(&c, "mac"), mac_of(&c, "ap_mac")) else {
                reject(&mut batch, i, &c, "no usable mac or ap_mac");
                continue;
            };
            let time = c
                .get("last_seen")
                .and_then(epoch_ms)
                .unwrap_or(scope.poll_ms);
            let tx_retries = num(&c, "tx_retries");
            let rx_retries = num(&c, "rx_retries");
            let sample = WirelessClientSample {
                random_mac: mac::is_randomized(&client),
                client_ip: text(&c, "ip").map(str::to_string),
                ap_mac: ap,
                bssid: mac_of(&c, "bssid"),
                band: text(&c, "band").map(band::parse).unwrap_or_default(),
                channel: int(&c, "channel").map(|v| v as i32),
                ssid: text(&c, "ssid").map(str::to_string),
                rssi_dbm: num(&c, "rssi"),
                snr_db: num(&c, "snr"),
                tx_rate_mbps: num(&c, "tx_rate"),
                rx_rate_mbps: num(&c, "rx_rate"),
                tx_bps: int(&c, "tx_bps"),
                rx_bps: int(&c, "rx_bps"),
                tx_retries_per_s: self.rate(&client, "tx_retries", time, tx_retries),
                rx_retries_per_s: self.rate(&client, "rx_retries", time, rx_retries),
                client_mac: client,
            };
            batch
                .records
                .push(scope.sample(time, 0, SampleBody::WirelessClient(sample)));
        }
        batch
    }

    /// `GET /sites/{site}/wired_clients/search` results: where each wired client is cabled, a
    /// `wired_attach` binding with the switch (`device_mac`), port, VLAN and IP, stamped with the
    /// poll time (the attachment holds now; the row's own `timestamp` is when Mist first saw it).
    /// DHCP host names and options are not kept (personal).
    pub fn wired_clients(&mut self, scope: &Scope<'_>, clients: &[Value]) -> Batch {
        let mut batch = Batch::default();
        let first_text = |o: &Object, key: &str| -> Option<String> {
            match o.get(key)? {
                Value::Array(items) => items
                    .iter()
                    .filter_map(Value::as_str)
                    .find(|s| !s.is_empty())
                    .map(str::to_string),
                Value::String(s) if !s.is_empty() => Some(s.clone()),
                _ => None,
            }
        };
        for (i, c) in objects(clients, &mut batch) {
            let Some(client) = mac_of(&c, "mac") else {
                reject(&mut batch, i, &c, "no usable mac");
                continue;
            };
            // Where Mist gives the (switch, port) pairs, the first; else the parallel lists.
            let pair = c
                .get("device_mac_port")
                .and_then(Value::as_array)
                .and_then(|items| items.iter().filter_map(Value::as_object).next());
            let switch = pair
                .and_then(|p| mac_of(p, "device_mac"))
                .or_else(|| first_text(&c, "device_mac").and_then(|m| mac::normalize(&m)));
            let port = pair
                .and_then(|p| text(p, "port_id").map(str::to_string))
                .or_else(|| first_text(&c, "port_id"));
            let (Some(switch), Some(port)) = (switch, port) else {
                reject(&mut batch, i, &c, "no switch device_mac and port_id");
                continue;
            };
            let ip = pair
                .and_then(|p| text(p, "ip").map(str::to_string))
                .or_else(|| first_text(&c, "ip"))
                .filter(|ip| ip.parse::<std::net::IpAddr>().is_ok());
            // The client's VLAN: the last non-zero of the list (Mist lists 0, the untagged one,
            // before the access VLAN).
            let vlan = pair
                .and_then(|p| int(p, "vlan"))
                .or_else(|| {
                    c.get("vlan")
                        .and_then(Value::as_array)?
                        .iter()
                        .rev()
                        .filter_map(number)
                        .find(|v| *v > 0.0)
                        .map(|v| v.round() as i64)
                })
                .and_then(|v| i32::try_from(v).ok());
            let binding = ClientBinding {
                random_mac: mac::is_randomized(&client),
                client_mac: client,
                kind: BindingKind::WiredAttach,
                client_ip: ip,
                switch_mac: Some(switch),
                port_id: Some(port.trim_end_matches(".0").to_string()),
                vlan,
                ..Default::default()
            };
            batch
                .records
                .push(scope.sample(scope.poll_ms, 0, SampleBody::ClientBinding(binding)));
        }
        batch
    }

    /// `GET /sites/{site}/stats/devices?type=ap`: AP health, one sample per radio, and the AP's
    /// inventory (radios, and the switch port it is cabled to, from LLDP).
    pub fn aps(&mut self, scope: &Scope<'_>, aps: &[Value]) -> Batch {
        let mut batch = Batch::default();
        for (i, a) in objects(aps, &mut batch) {
            let Some(ap) = mac_of(&a, "mac") else {
                reject(&mut batch, i, &a, "no usable mac");
                continue;
            };
            let time = a
                .get("last_seen")
                .and_then(epoch_ms)
                .unwrap_or(scope.poll_ms);
            batch.records.push(scope.sample(
                time,
                0,
                SampleBody::Ap(ApSample {
                    ap_mac: ap.clone(),
                    uptime_s: num(&a, "uptime"),
                    cpu_util_ratio: ratio_from_pct(&a, "cpu_util"),
                    num_clients: int(&a, "num_clients").map(|v| v as i32),
                    power_constrained: a.get("power_constrained").and_then(Value::as_bool),
                }),
            ));
            let mut radios = Vec::new();
            if let Some(stats) = a.get("radio_stat").and_then(Value::as_object) {
                for (seq, (key, r)) in stats.iter().enumerate() {
                    let Some(r) = r.as_object() else { continue };
                    let band = band::parse(key);
                    if band == WifiBand::Unknown {
                        continue;
                    }
                    let radio_mac = mac_of(r, "mac");
                    batch.records.push(scope.sample(
                        time,
                        seq as i64 + 1,
                        SampleBody::ApRadio(ApRadioSample {
                            ap_mac: ap.clone(),
                            radio_mac: radio_mac.clone(),
                            band,
                            channel: int(r, "channel").map(|v| v as i32),
                            bandwidth_mhz: int(r, "bandwidth").map(|v| v as i32),
                            tx_power_dbm: num(r, "power"),
                            noise_floor_dbm: num(r, "noise_floor"),
                            num_clients: int(r, "num_clients").map(|v| v as i32),
                            util_all_ratio: ratio_from_pct(r, "util_all"),
                            util_tx_ratio: ratio_from_pct(r, "util_tx"),
                            util_rx_in_bss_ratio: ratio_from_pct(r, "util_rx_in_bss"),
                            util_rx_other_bss_ratio: ratio_from_pct(r, "util_rx_other_bss"),
                            util_non_wifi_ratio: ratio_from_pct(r, "util_non_wifi"),
                            util_undecodable_wifi_ratio: ratio_from_pct(r, "util_undecodable_wifi"),
                            util_unknown_wifi_ratio: ratio_from_pct(r, "util_unknown_wifi"),
                        }),
                    ));
                    if let Some(radio_mac) = radio_mac {
                        radios.push(RadioInfo {
                            band,
                            radio_mac,
                            bssids: Vec::new(),
                        });
                    }
                }
            }
            let uplink = a
                .get("lldp_stat")
                .and_then(Value::as_object)
                .map(|l| LldpNeighbor {
                    chassis_mac: mac_of(l, "chassis_id"),
                    system_name: text(l, "system_name").map(str::to_string),
                    port_id: text(l, "port_id").map(str::to_string),
                });
            batch.records.push(scope.inventory(
                keys::inventory::ap(&ap),
                InventoryBody::AccessPoint(AccessPointInfo {
                    ap_mac: ap,
                    name: text(&a, "name").map(str::to_string),
                    model: text(&a, "model").map(str::to_string),
                    radios,
                    uplink,
                }),
            ));
        }
        batch
    }

    /// `GET /sites/{site}/stats/ports/search` results, routed by the row's device `type`:
    ///
    /// - switch rows: one sample per port with counters turned into rates, and each switch's
    ///   inventory (ports, LLDP neighbours; a port whose neighbour is one of the gateways is an
    ///   uplink). `switches` gives names and models by switch MAC.
    /// - gateway rows (`type: gateway`, or a gateway's MAC): a WAN port is a WAN link, an
    ///   underlay path sample with the row's latency, jitter, loss (percent to ratio) and traffic,
    ///   and the negotiated `speed` as the link's capacity both ways; its link inventory comes
    ///   from here unless the gateway's `if_stat` gave it. A gateway port that the row or
    ///   `if_stat` calls LAN is a port sample of the gateway (clients cabled to a branch
    ///   gateway), never a switch.
    pub fn switch_ports(
        &mut self,
        scope: &Scope<'_>,
        ports: &[Value],
        switches: &BTreeMap<String, (Option<String>, Option<String>)>,
        gateways: &GatewayPorts,
    ) -> Batch {
        let mut batch = Batch::default();
        let mut inventory: BTreeMap<String, Vec<PortInfo>> = BTreeMap::new();
        for (i, p) in objects(ports, &mut batch) {
            let (Some(switch), Some(port_id)) = (mac_of(&p, "mac"), text(&p, "port_id")) else {
                reject(&mut batch, i, &p, "no usable mac or port_id");
                continue;
            };
            let time = scope.poll_ms;
            let gateway_row =
                text(&p, "type") == Some("gateway") || gateways.macs.contains(&switch);
            if gateway_row && !gateways.is_lan(&switch, port_id, text(&p, "port_usage")) {
                self.gateway_wan_port(scope, &p, &switch, port_id, gateways, &mut batch);
                continue;
            }
            let entity = keys::port_id(&switch, port_id);
            let up = p.get("up").and_then(Value::as_bool).unwrap_or(false);
            let speed = int(&p, "speed").filter(|s| *s > 0).map(|s| s as i32);
            let neighbor = mac_of(&p, "neighbor_mac");
            let sample = SwitchPortSample {
                switch_mac: switch.clone(),
                port_id: port_id.to_string(),
                up,
                speed_mbps: speed,
                full_duplex: p.get("full_duplex").and_then(Value::as_bool),
                rx_bps: int(&p, "rx_bps"),
                tx_bps: int(&p, "tx_bps"),
                rx_errors_per_s: self.rate(&entity, "rx_errors", time, num(&p, "rx_errors")),
                tx_errors_per_s: self.rate(&entity, "tx_errors", time, num(&p, "tx_errors")),
                rx_drops_per_s: None,
                tx_drops_per_s: None,
                rx_pkts_per_s: self.rate(&entity, "rx_pkts", time, num(&p, "rx_pkts")),
                tx_pkts_per_s: self.rate(&entity, "tx_pkts", time, num(&p, "tx_pkts")),
                last_flapped_at: p.get("last_flapped").and_then(epoch_ms),
                neighbor_mac: neighbor.clone(),
                poe_power_w: num(&p, "power_draw"),
                interval_s: None,
            };
            batch
                .records
                .push(scope.sample(time, 0, SampleBody::SwitchPort(sample)));
            if gateway_row {
                continue;
            }
            inventory.entry(switch).or_default().push(PortInfo {
                port_id: port_id.to_string(),
                speed_mbps: speed,
                uplink: neighbor.as_ref().is_some_and(|n| gateways.macs.contains(n)),
                neighbor: neighbor.map(|n| LldpNeighbor {
                    chassis_mac: Some(n),
                    system_name: text(&p, "neighbor_system_name").map(str::to_string),
                    port_id: text(&p, "neighbor_port_desc").map(str::to_string),
                }),
            });
        }
        for (switch, mut ports) in inventory {
            ports.sort_by(|a, b| a.port_id.cmp(&b.port_id));
            let (name, model) = switches.get(&switch).cloned().unwrap_or_default();
            batch.records.push(scope.inventory(
                keys::inventory::switch(&switch),
                InventoryBody::Switch(SwitchInfo {
                    switch_mac: switch,
                    name,
                    model,
                    ports,
                }),
            ));
        }
        batch
    }

    /// One gateway WAN port of the port search: its underlay sample, and its link's inventory
    /// when `if_stat` did not give it.
    fn gateway_wan_port(
        &mut self,
        scope: &Scope<'_>,
        p: &Object,
        gateway: &str,
        port_id: &str,
        gateways: &GatewayPorts,
        batch: &mut Batch,
    ) {
        // The negotiated speed is what Mist reports of a link's size; Mbit/s to bit/s.
        let capacity = int(p, "speed")
            .filter(|s| *s > 0)
            .map(|s| s.saturating_mul(1_000_000));
        if !gateways
            .wan
            .contains(&(gateway.to_string(), port_id.to_string()))
        {
            batch.records.push(scope.inventory(
                keys::inventory::wan_link(gateway, port_id),
                InventoryBody::WanLink(WanLinkInfo {
                    gateway_mac: gateway.to_string(),
                    port_id: port_id.to_string(),
                    wan_name: text(p, "wan_name").map(str::to_string),
                    isp: None,
                    public_ip: None,
                    capacity_down_bps: capacity,
                    capacity_up_bps: capacity,
                }),
            ));
        }
        batch.records.push(scope.sample(
            scope.poll_ms,
            0,
            SampleBody::WanPath(WanPathSample {
                gateway_mac: gateway.to_string(),
                wan_port_id: port_id.to_string(),
                wan_name: text(p, "wan_name").map(str::to_string),
                peer_mac: None,
                peer_port_id: None,
                peer_site_id: None,
                path_type: Some("internet".into()),
                up: p.get("up").and_then(Value::as_bool).unwrap_or(false),
                active: p.get("active").and_then(Value::as_bool),
                latency_ms: num(p, "latency"),
                jitter_ms: num(p, "jitter"),
                loss_ratio: ratio_from_pct(p, "loss"),
                mos: None,
                rx_bps: int(p, "rx_bps"),
                tx_bps: int(p, "tx_bps"),
                capacity_down_bps: capacity,
                capacity_up_bps: capacity,
            }),
        ));
    }

    /// `GET /sites/{site}/stats/devices?type=gateway` (with `fields=*`): the gateway, its WAN
    /// links (from `if_stat`, with the ISP), and one underlay path sample per WAN port (loss in
    /// percent becomes a ratio).
    pub fn gateways(&mut self, scope: &Scope<'_>, gateways: &[Value]) -> Batch {
        let mut batch = Batch::default();
        for (i, g) in objects(gateways, &mut batch) {
            let Some(gateway) = mac_of(&g, "mac") else {
                reject(&mut batch, i, &g, "no usable mac");
                continue;
            };
            let time = g
                .get("last_seen")
                .and_then(epoch_ms)
                .unwrap_or(scope.poll_ms);
            batch.records.push(
                scope.inventory(
                    keys::inventory::gateway(&gateway),
                    InventoryBody::Gateway(GatewayInfo {
                        gateway_mac: gateway.clone(),
                        name: text(&g, "name")
                            .or_else(|| text(&g, "hostname"))
                            .map(str::to_string),
                        model: text(&g, "model").map(str::to_string),
                    }),
                ),
            );
            let mut wan_names: BTreeMap<String, Option<String>> = BTreeMap::new();
            if let Some(interfaces) = g.get("if_stat").and_then(Value::as_object) {
                for interface in interfaces.values().filter_map(Value::as_object) {
                    if text(interface, "port_usage") != Some("wan") {
                        continue;
                    }
                    let Some(port_id) = text(interface, "port_id") else {
                        continue;
                    };
                    let wan_name = text(interface, "wan_name").map(str::to_string);
                    wan_names.insert(port_id.to_string(), wan_name.clone());
                    let public_ip = interface
                        .get("ips")
                        .and_then(Value::as_array)
                        .and_then(|ips| ips.first())
                        .and_then(Value::as_str)
                        .map(|ip| ip.split('/').next().unwrap_or(ip).to_string());
                    let isp = interface
                        .get("servp_info")
                        .and_then(Value::as_object)
                        .and_then(|s| text(s, "org"))
                        .map(str::to_string);
                    batch.records.push(scope.inventory(
                        keys::inventory::wan_link(&gateway, port_id),
                        InventoryBody::WanLink(WanLinkInfo {
                            gateway_mac: gateway.clone(),
                            port_id: port_id.to_string(),
                            wan_name,
                            isp,
                            public_ip,
                            capacity_down_bps: None,
                            capacity_up_bps: None,
                        }),
                    ));
                }
            }
            for (seq, port) in g
                .get("ports")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_object)
                .enumerate()
            {
                let Some(port_id) = text(port, "port_id") else {
                    continue;
                };
                let Some(wan_name) = wan_names.get(port_id) else {
                    continue;
                };
                batch.records.push(scope.sample(
                    time,
                    seq as i64,
                    SampleBody::WanPath(WanPathSample {
                        gateway_mac: gateway.clone(),
                        wan_port_id: port_id.to_string(),
                        wan_name: wan_name.clone(),
                        peer_mac: None,
                        peer_port_id: None,
                        peer_site_id: None,
                        path_type: Some("internet".into()),
                        up: port.get("up").and_then(Value::as_bool).unwrap_or(false),
                        active: port.get("active").and_then(Value::as_bool),
                        latency_ms: num(port, "latency"),
                        jitter_ms: num(port, "jitter"),
                        loss_ratio: ratio_from_pct(port, "loss"),
                        mos: None,
                        rx_bps: int(port, "rx_bps"),
                        tx_bps: int(port, "tx_bps"),
                        capacity_down_bps: None,
                        capacity_up_bps: None,
                    }),
                ));
            }
        }
        batch
    }

    /// `GET /orgs/{org}/stats/vpn_peers/search` results: overlay path samples (site from each
    /// row; loss in percent becomes a ratio).
    pub fn vpn_peers(&mut self, org_id: &str, poll_ms: i64, peers: &[Value]) -> Batch {
        let mut batch = Batch::default();
        for (i, p) in objects(peers, &mut batch) {
            let (Some(gateway), Some(port_id), Some(site_id)) =
                (mac_of(&p, "mac"), text(&p, "port_id"), text(&p, "site_id"))
            else {
                reject(&mut batch, i, &p, "no usable mac, port_id or site_id");
                continue;
            };
            let scope = Scope {
                org_id,
                site_id,
                poll_ms,
            };
            let time = p.get("last_seen").and_then(epoch_ms).unwrap_or(poll_ms);
            batch.records.push(scope.sample(
                time,
                i as i64,
                SampleBody::WanPath(WanPathSample {
                    gateway_mac: gateway,
                    wan_port_id: port_id.to_string(),
                    wan_name: None,
                    peer_mac: mac_of(&p, "peer_mac"),
                    peer_port_id: text(&p, "peer_port_id").map(str::to_string),
                    peer_site_id: text(&p, "peer_site_id").map(str::to_string),
                    path_type: text(&p, "type").map(str::to_string),
                    up: p.get("up").and_then(Value::as_bool).unwrap_or(false),
                    active: p.get("is_active").and_then(Value::as_bool),
                    latency_ms: num(&p, "latency"),
                    jitter_ms: num(&p, "jitter"),
                    loss_ratio: ratio_from_pct(&p, "loss"),
                    mos: num(&p, "mos"),
                    rx_bps: None,
                    tx_bps: None,
                    capacity_down_bps: None,
                    capacity_up_bps: None,
                }),
            ));
        }
        batch
    }
}
