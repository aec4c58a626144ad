//! The simulated Mist org: what the Mist cloud would know of a network whose truth arrives as
//! lines of callsight's vendor-neutral NDJSON format (the inventory, then each minute's
//! statistics and events, as `callsight-lab sim` writes them). Pure: lines in, Mist-shaped
//! objects and webhook events out.
//!
//! What Mist reports is not what the lines say: percentages instead of ratios, cumulative counters
//! (errors, retries, bytes) instead of rates, bands as `24` and `5`, times in epoch seconds, a
//! WAN port's negotiated speed instead of a contracted capacity, and no drops at all. Events
//! become webhook events of Mist's topics (`client-join`, `client-sessions`, `client-info`,
//! `device-events`, and `nac-accounting` for a wired client's new attachment).

use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// The speed of every simulated gateway WAN port, Mbit/s: Mist reports the interface's
/// negotiated speed, not the contract behind it.
pub const WAN_PORT_SPEED_MBPS: i64 = 1000;

/// A wireless client not heard of for this long (its AP went silent, or it left) is no longer
/// listed among the site's clients, as Mist lists connected clients only.
pub const CLIENT_GONE_AFTER_MS: i64 = 3 * 60_000;

fn text(line: &Value, key: &str) -> Option<String> {
    line.get(key).and_then(Value::as_str).map(str::to_string)
}
fn num(line: &Value, key: &str) -> Option<f64> {
    line.get(key).and_then(Value::as_f64)
}
fn seconds(ms: i64) -> f64 {
    ms as f64 / 1000.0
}
fn pct(ratio: Option<f64>) -> Option<f64> {
    ratio.map(|r| (r * 1000.0).round() / 10.0)
}
fn band(symbol: &str) -> &'static str {
    match symbol {
        "band_2_4ghz" => "24",
        "band_6ghz" => "6",
        _ => "5",
    }
}
/// Inserts `value` under `key` unless it is absent: Mist omits what it does not know.
fn put(object: &mut Map<String, Value>, key: &str, value: Option<impl Into<Value>>) {
    if let Some(v) = value {
        object.insert(key.into(), v.into());
    }
}

/// An access point.
#[derive(Debug, Clone, Default)]
struct Ap {
    name: String,
    model: String,
    id: String,
    /// Radios by band symbol: (radio MAC, latest `ap_radio` line).
    radios: BTreeMap<String, (String, Option<Value>)>,
    uplink: Option<Value>,
    health: Option<Value>,
    last_seen_ms: i64,
}

/// A switch port's latest line and its counters since the simulation began.
#[derive(Debug, Clone, Default)]
struct Port {
    line: Option<Value>,
    speed_mbps: i64,
    neighbor: Option<Value>,
    rx_errors: f64,
    tx_errors: f64,
    rx_bytes: f64,
    tx_bytes: f64,
    last_flapped_ms: Option<i64>,
}

/// A switch.
#[derive(Debug, Clone, Default)]
struct Switch {
    name: String,
    model: String,
    id: String,
    ports: BTreeMap<String, Port>,
    last_seen_ms: i64,
}

/// A gateway WAN link.
#[derive(Debug, Clone, Default)]
struct WanLink {
    wan_name: Option<String>,
    isp: Option<String>,
    line: Option<Value>,
    rx_bytes: f64,
    tx_bytes: f64,
}

/// The site's gateway.
#[derive(Debug, Clone, Default)]
struct Gateway {
    mac: String,
    name: String,
    model: String,
    id: String,
    links: BTreeMap<String, WanLink>,
    last_seen_ms: i64,
}

/// A wireless client's latest line and its retry counters.
#[derive(Debug, Clone, Default)]
struct Client {
    line: Value,
    tx_retries: f64,
    rx_retries: f64,
    last_seen_ms: i64,
}

/// A wired client's attachment.
#[derive(Debug, Clone, Default)]
struct Wired {
    switch: String,
    port: String,
    ip: Option<String>,
    vlan: Option<i64>,
    first_seen_ms: i64,
}

/// One site.
#[derive(Debug, Clone, Default)]
struct Site {
    name: String,
    /// Networks: name, CIDR, VLAN.
    networks: Vec<(String, String, Option<i64>)>,
    aps: BTreeMap<String, Ap>,
    switches: BTreeMap<String, Switch>,
    gateway: Option<Gateway>,
    clients: BTreeMap<String, Client>,
    wired: BTreeMap<String, Wired>,
}

/// Webhook events of one topic, as Mist batches them into one delivery.
pub type Deliveries = BTreeMap<&'static str, Vec<Value>>;

/// What the simulated Mist cloud knows of the org.
#[derive(Debug, Clone, Default)]
pub struct MistState {
    org_id: String,
    sites: BTreeMap<String, Site>,
    /// The latest time of any line, epoch ms: the cloud's "now".
    now_ms: i64,
}

/// A stable Mist-style id (a version-4-shaped UUID) for a name.
fn id_for(name: &str) -> String {
    let mut h: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    for b in name.bytes() {
        h ^= u128::from(b);
        h = h.wrapping_mul(0x0000_0000_0100_0000_0000_0000_0000_013b);
    }
    uuid::Builder::from_random_bytes(h.to_be_bytes())
        .into_uuid()
        .hyphenated()
        .to_string()
}

impl MistState {
    /// An org with nothing in it yet.
    pub fn new(org_id: &str) -> Self {
        MistState {
            org_id: org_id.to_string(),
            ..Self::default()
        }
    }

    /// The org.
    pub fn org_id(&self) -> &str {
        &self.org_id
    }

    /// The cloud's "now": the latest time of any line, epoch ms.
    pub fn now_ms(&self) -> i64 {
        self.now_ms
    }

    fn site(&mut self, line: &Value) -> Option<&mut Site> {
        let id = text(line, "site_id")?;
        Some(self.sites.entry(id).or_default())
    }

    /// Takes lines (inventory, statistics, events) and returns the webhook events they cause.
    pub fn apply(&mut self, lines: &[Value]) -> Deliveries {
        let mut out = Deliveries::new();
        for line in lines {
            let time = line.get("time").and_then(Value::as_i64).unwrap_or(0);
            self.now_ms = self.now_ms.max(time);
            let org = self.org_id.clone();
            let Some(site_id) = text(line, "site_id") else {
                continue;
            };
            let Some(site) = self.site(line) else {
                continue;
            };
            match line.get("type").and_then(Value::as_str).unwrap_or("") {
                "site" => site.name = text(line, "name").unwrap_or_default(),
                "subnet" => {
                    if let Some(cidr) = text(line, "cidr") {
                        let name = text(line, "name").unwrap_or_else(|| cidr.clone());
                        site.networks.retain(|(n, _, _)| *n != name);
                        site.networks.push((
                            name,
                            cidr,
                            line.get("vlan_id").and_then(Value::as_i64),
                        ));
                    }
                }
                "access_point" => {
                    let Some(mac) = text(line, "ap_mac") else {
                        continue;
                    };
                    let ap = site.aps.entry(mac.clone()).or_default();
                    ap.name = text(line, "name").unwrap_or_else(|| mac.clone());
                    ap.model = text(line, "model").unwrap_or_else(|| "AP45".into());
                    ap.id = id_for(&format!("device/{mac}"));
                    ap.uplink = line.get("uplink").cloned();
                    for radio in line["radios"].as_array().into_iter().flatten() {
                        if let (Some(b), Some(radio_mac)) =
                            (text(radio, "band"), text(radio, "radio_mac"))
                        {
                            ap.radios.entry(b).or_default().0 = radio_mac;
                        }
                    }
                }
                "switch" => {
                    let Some(mac) = text(line, "switch_mac") else {
                        continue;
                    };
                    let switch = site.switches.entry(mac.clone()).or_default();
                    switch.name = text(line, "name").unwrap_or_else(|| mac.clone());
                    switch.model = text(line, "model").unwrap_or_else(|| "EX2300-48P".into());
                    switch.id = id_for(&format!("device/{mac}"));
                    for p in line["ports"].as_array().into_iter().flatten() {
                        if let Some(port_id) = text(p, "port_id") {
                            let port = switch.ports.entry(port_id).or_default();
                            port.speed_mbps = p["speed_mbps"].as_i64().unwrap_or(1000);
                            port.neighbor = p.get("neighbor").cloned();
                        }
                    }
                }
                "gateway" => {
                    let Some(mac) = text(line, "gateway_mac") else {
                        continue;
                    };
                    let gateway = site.gateway.get_or_insert_with(Gateway::default);
                    gateway.id = id_for(&format!("device/{mac}"));
                    gateway.mac = mac;
                    gateway.name = text(line, "name").unwrap_or_default();
                    gateway.model = text(line, "model").unwrap_or_else(|| "SRX320".into());
                }
                "wan_link" => {
                    let (Some(mac), Some(port)) =
                        (text(line, "gateway_mac"), text(line, "port_id"))
                    else {
                        continue;
                    };
                    let gateway = site.gateway.get_or_insert_with(Gateway::default);
                    gateway.mac = mac;
                    let link = gateway.links.entry(port).or_default();
                    link.wan_name = text(line, "wan_name");
                    link.isp = text(line, "isp");
                }
                "ap" => {
                    if let Some(ap) = text(line, "ap_mac").and_then(|m| site.aps.get_mut(&m)) {
                        ap.health = Some(line.clone());
                        ap.last_seen_ms = ap.last_seen_ms.max(time);
                    }
                }
                "ap_radio" => {
                    if let (Some(ap), Some(b)) = (
                        text(line, "ap_mac").and_then(|m| site.aps.get_mut(&m)),
                        text(line, "band"),
                    ) {
                        let radio = ap.radios.entry(b).or_default();
                        if radio.0.is_empty() {
                            radio.0 = text(line, "radio_mac").unwrap_or_default();
                        }
                        radio.1 = Some(line.clone());
                        ap.last_seen_ms = ap.last_seen_ms.max(time);
                    }
                }
                "wireless_client" => {
                    let Some(mac) = text(line, "client_mac").filter(|m| !m.is_empty()) else {
                        continue;
                    };
                    let client = site.clients.entry(mac).or_default();
                    client.tx_retries += num(line, "tx_retries_per_s").unwrap_or(0.0) * 60.0;
                    client.rx_retries += num(line, "rx_retries_per_s").unwrap_or(0.0) * 60.0;
                    client.line = line.clone();
                    client.last_seen_ms = time;
                }
                "switch_port" => {
                    let (Some(mac), Some(port_id)) =
                        (text(line, "switch_mac"), text(line, "port_id"))
                    else {
                        continue;
                    };
                    let switch = site.switches.entry(mac).or_default();
                    switch.last_seen_ms = switch.last_seen_ms.max(time);
                    let port = switch.ports.entry(port_id).or_default();
                    let interval = num(line, "interval_s").unwrap_or(60.0);
                    port.rx_errors += num(line, "rx_errors_per_s").unwrap_or(0.0) * interval;
                    port.tx_errors += num(line, "tx_errors_per_s").unwrap_or(0.0) * interval;
                    port.rx_bytes += num(line, "rx_bps").unwrap_or(0.0) / 8.0 * interval;
                    port.tx_bytes += num(line, "tx_bps").unwrap_or(0.0) / 8.0 * interval;
                    port.line = Some(line.clone());
                }
                "wan_path" => {
                    let (Some(mac), Some(port)) =
                        (text(line, "gateway_mac"), text(line, "wan_port_id"))
                    else {
                        continue;
                    };
                    if line.get("peer_mac").is_some_and(|p| !p.is_null()) {
                        continue;
                    }
                    let gateway = site.gateway.get_or_insert_with(Gateway::default);
                    gateway.mac = mac;
                    gateway.last_seen_ms = gateway.last_seen_ms.max(time);
                    let link = gateway.links.entry(port).or_default();
                    link.rx_bytes += num(line, "rx_bps").unwrap_or(0.0) / 8.0 * 60.0;
                    link.tx_bytes += num(line, "tx_bps").unwrap_or(0.0) / 8.0 * 60.0;
                    if link.wan_name.is_none() {
                        link.wan_name = text(line, "wan_name");
                    }
                    link.line = Some(line.clone());
                }
                "client_binding" => {
                    binding(site, &org, &site_id, line, time, &mut out);
                }
                "event" => {
                    event(site, &org, &site_id, line, time, &mut out);
                }
                _ => {}
            }
        }
        out
    }

    /// Site ids, in order.
    pub fn site_ids(&self) -> Vec<String> {
        self.sites.keys().cloned().collect()
    }

    /// Whether the org has this site.
    pub fn has_site(&self, site_id: &str) -> bool {
        self.sites.contains_key(site_id)
    }

    /// `GET /api/v1/orgs/{org}/sites`.
    pub fn sites(&self) -> Value {
        Value::Array(
            self.sites
                .iter()
                .map(|(id, s)| {
                    json!({"id": id, "org_id": self.org_id, "name": s.name,
                        "timezone": "Europe/Zurich", "country_code": "CH"})
                })
                .collect(),
        )
    }

    /// `GET /api/v1/orgs/{org}/networks`: none org-wide, every network is a site's own.
    pub fn networks(&self) -> Value {
        json!([])
    }

    /// `GET /api/v1/sites/{site}/setting/derived`: the site's networks.
    pub fn derived(&self, site_id: &str) -> Option<Value> {
        let site = self.sites.get(site_id)?;
        let networks: Map<String, Value> = site
            .networks
            .iter()
            .map(|(name, cidr, vlan)| {
                let mut n = Map::new();
                n.insert("subnet".into(), cidr.clone().into());
                put(&mut n, "vlan_id", *vlan);
                (name.clone(), Value::Object(n))
            })
            .collect();
        Some(
            json!({"id": id_for(&format!("setting/{site_id}")), "site_id": site_id,
            "org_id": self.org_id, "networks": networks, "vars": {}}),
        )
    }

    /// `GET /api/v1/sites/{site}/stats/clients`: the clients heard of lately.
    pub fn clients(&self, site_id: &str) -> Option<Value> {
        let site = self.sites.get(site_id)?;
        Some(Value::Array(
            site.clients
                .iter()
                .filter(|(_, c)| self.now_ms - c.last_seen_ms <= CLIENT_GONE_AFTER_MS)
                .map(|(mac, c)| {
                    let l = &c.line;
                    let mut o = Map::new();
                    o.insert("mac".into(), mac.clone().into());
                    o.insert("site_id".into(), site_id.into());
                    o.insert("last_seen".into(), seconds(c.last_seen_ms).into());
                    put(&mut o, "ap_mac", text(l, "ap_mac"));
                    put(&mut o, "bssid", text(l, "bssid"));
                    put(
                        &mut o,
                        "band",
                        text(l, "band").map(|b| band(&b).to_string()),
                    );
                    put(&mut o, "channel", l["channel"].as_i64());
                    put(&mut o, "ssid", text(l, "ssid"));
                    put(&mut o, "ip", text(l, "client_ip"));
                    put(&mut o, "rssi", num(l, "rssi_dbm"));
                    put(&mut o, "snr", num(l, "snr_db"));
                    put(&mut o, "tx_rate", num(l, "tx_rate_mbps"));
                    put(&mut o, "rx_rate", num(l, "rx_rate_mbps"));
                    o.insert("tx_retries".into(), (c.tx_retries.round() as i64).into());
                    o.insert("rx_retries".into(), (c.rx_retries.round() as i64).into());
                    o.insert("is_guest".into(), false.into());
                    Value::Object(o)
                })
                .collect(),
        ))
    }

    /// `GET /api/v1/sites/{site}/stats/devices?type=ap`.
    pub fn aps(&self, site_id: &str) -> Option<Value> {
        let site = self.sites.get(site_id)?;
        Some(Value::Array(
            site.aps
                .iter()
                .map(|(mac, ap)| {
                    let mut o = Map::new();
                    o.insert("mac".into(), mac.clone().into());
                    o.insert("id".into(), ap.id.clone().into());
                    o.insert("name".into(), ap.name.clone().into());
                    o.insert("model".into(), ap.model.clone().into());
                    o.insert("type".into(), "ap".into());
                    o.insert("site_id".into(), site_id.into());
                    o.insert("org_id".into(), self.org_id.clone().into());
                    o.insert("status".into(), "connected".into());
                    o.insert("last_seen".into(), seconds(ap.last_seen_ms).into());
                    if let Some(h) = &ap.health {
                        put(&mut o, "uptime", h["uptime_s"].as_i64());
                        put(
                            &mut o,
                            "cpu_util",
                            pct(num(h, "cpu_util_ratio")).map(|p| p.round() as i64),
                        );
                        put(&mut o, "num_clients", h["num_clients"].as_i64());
                    }
                    let mut radio_stat = Map::new();
                    for (b, (radio_mac, line)) in &ap.radios {
                        let mut r = Map::new();
                        if !radio_mac.is_empty() {
                            r.insert("mac".into(), radio_mac.clone().into());
                        }
                        if let Some(l) = line {
                            put(&mut r, "channel", l["channel"].as_i64());
                            put(&mut r, "bandwidth", l["bandwidth_mhz"].as_i64());
                            put(
                                &mut r,
                                "noise_floor",
                                num(l, "noise_floor_dbm").map(|n| n.round() as i64),
                            );
                            put(&mut r, "num_clients", l["num_clients"].as_i64());
                            // Whole percents, as Mist reports utilisation.
                            let whole = |key: &str| pct(num(l, key)).map(|p| p.round() as i64);
                            put(&mut r, "util_all", whole("util_all_ratio"));
                            put(&mut r, "util_non_wifi", whole("util_non_wifi_ratio"));
                            put(
                                &mut r,
                                "util_rx_other_bss",
                                whole("util_rx_other_bss_ratio"),
                            );
                        }
                        radio_stat.insert(format!("band_{}", band(b)), Value::Object(r));
                    }
                    o.insert("radio_stat".into(), Value::Object(radio_stat));
                    if let Some(u) = &ap.uplink {
                        let mut l = Map::new();
                        put(&mut l, "chassis_id", text(u, "chassis_mac"));
                        put(&mut l, "system_name", text(u, "system_name"));
                        put(&mut l, "port_id", text(u, "port_id"));
                        o.insert("lldp_stat".into(), Value::Object(l));
                    }
                    Value::Object(o)
                })
                .collect(),
        ))
    }

    /// `GET /api/v1/sites/{site}/stats/devices?type=switch`.
    pub fn switches(&self, site_id: &str) -> Option<Value> {
        let site = self.sites.get(site_id)?;
        Some(Value::Array(
            site.switches
                .iter()
                .map(|(mac, s)| {
                    json!({"mac": mac, "id": s.id, "name": s.name, "model": s.model, "type": "switch",
                        "site_id": site_id, "org_id": self.org_id, "status": "connected",
                        "last_seen": seconds(s.last_seen_ms)})
                })
                .collect(),
        ))
    }

    /// `GET /api/v1/sites/{site}/stats/devices?type=gateway`: WAN interfaces in `if_stat`.
    pub fn gateways(&self, site_id: &str) -> Option<Value> {
        let site = self.sites.get(site_id)?;
        Some(Value::Array(
            site.gateway
                .iter()
                .map(|g| {
                    let if_stat: Map<String, Value> = g
                        .links
                        .iter()
                        .enumerate()
                        .map(|(i, (port, link))| {
                            let mut o = Map::new();
                            o.insert("port_id".into(), port.clone().into());
                            o.insert("port_usage".into(), "wan".into());
                            put(&mut o, "wan_name", link.wan_name.clone());
                            o.insert("up".into(), link.line.as_ref().and_then(|l| l["up"].as_bool()).unwrap_or(true).into());
                            o.insert("ips".into(), json!([format!("198.51.100.{}/24", 10 + i)]));
                            o.insert("rx_bytes".into(), (link.rx_bytes.round() as i64).into());
                            o.insert("tx_bytes".into(), (link.tx_bytes.round() as i64).into());
                            if let Some(isp) = &link.isp {
                                o.insert("servp_info".into(), json!({"org": isp}));
                            }
                            (format!("{port}.0"), Value::Object(o))
                        })
                        .collect();
                    json!({"mac": g.mac, "id": g.id, "name": g.name, "model": g.model, "type": "gateway",
                        "site_id": site_id, "org_id": self.org_id, "status": "connected",
                        "last_seen": seconds(g.last_seen_ms), "if_stat": if_stat})
                })
                .collect(),
        ))
    }

    /// The rows of `GET /api/v1/sites/{site}/stats/ports/search`: every switch port, and every
    /// gateway WAN port (`type: gateway`).
    pub fn ports(&self, site_id: &str) -> Option<Vec<Value>> {
        let site = self.sites.get(site_id)?;
        let mut rows = Vec::new();
        for (mac, switch) in &site.switches {
            for (port_id, port) in &switch.ports {
                let Some(l) = &port.line else {
                    continue;
                };
                let mut o = Map::new();
                o.insert("mac".into(), mac.clone().into());
                o.insert("port_id".into(), port_id.clone().into());
                o.insert("port_mac".into(), mac.clone().into());
                o.insert("type".into(), "switch".into());
                o.insert("site_id".into(), site_id.into());
                o.insert("org_id".into(), self.org_id.clone().into());
                o.insert("up".into(), l["up"].as_bool().unwrap_or(true).into());
                o.insert(
                    "speed".into(),
                    l["speed_mbps"].as_i64().unwrap_or(port.speed_mbps).into(),
                );
                o.insert(
                    "full_duplex".into(),
                    l["full_duplex"].as_bool().unwrap_or(true).into(),
                );
                traffic(&mut o, l, port.rx_bytes, port.tx_bytes);
                o.insert("rx_errors".into(), (port.rx_errors.round() as i64).into());
                o.insert("tx_errors".into(), (port.tx_errors.round() as i64).into());
                put(&mut o, "last_flapped", port.last_flapped_ms.map(seconds));
                // Required by the specification: empty where LLDP found no neighbour.
                o.insert("neighbor_mac".into(), "".into());
                if let Some(n) = &port.neighbor {
                    put(&mut o, "neighbor_mac", text(n, "chassis_mac"));
                    put(&mut o, "neighbor_system_name", text(n, "system_name"));
                    put(&mut o, "neighbor_port_desc", text(n, "port_id"));
                }
                rows.push(Value::Object(o));
            }
        }
        if let Some(g) = &site.gateway {
            for (port_id, link) in &g.links {
                let Some(l) = &link.line else {
                    continue;
                };
                let up = l["up"].as_bool().unwrap_or(true);
                let mut o = Map::new();
                o.insert("mac".into(), g.mac.clone().into());
                o.insert("port_id".into(), port_id.clone().into());
                o.insert("port_mac".into(), g.mac.clone().into());
                // No `port_usage`: the specification knows only `lan`; the gateway's `if_stat`
                // says the port is a WAN port.
                o.insert("type".into(), "gateway".into());
                o.insert("neighbor_mac".into(), "".into());
                o.insert("site_id".into(), site_id.into());
                o.insert("org_id".into(), self.org_id.clone().into());
                o.insert("up".into(), up.into());
                put(&mut o, "active", l["active"].as_bool());
                o.insert("speed".into(), WAN_PORT_SPEED_MBPS.into());
                o.insert("full_duplex".into(), true.into());
                traffic(&mut o, l, link.rx_bytes, link.tx_bytes);
                if up {
                    put(&mut o, "latency", num(l, "latency_ms"));
                    put(&mut o, "jitter", num(l, "jitter_ms"));
                    put(&mut o, "loss", pct(num(l, "loss_ratio")));
                }
                rows.push(Value::Object(o));
            }
        }
        Some(rows)
    }

    /// The rows of `GET /api/v1/sites/{site}/wired_clients/search`.
    pub fn wired_clients(&self, site_id: &str) -> Option<Vec<Value>> {
        let site = self.sites.get(site_id)?;
        Some(
            site.wired
                .iter()
                .map(|(mac, w)| {
                    let mut pair = Map::new();
                    pair.insert("device_mac".into(), w.switch.clone().into());
                    pair.insert("port_id".into(), w.port.clone().into());
                    put(&mut pair, "ip", w.ip.clone());
                    put(&mut pair, "vlan", w.vlan);
                    let mut o = Map::new();
                    o.insert("mac".into(), mac.clone().into());
                    o.insert("org_id".into(), self.org_id.clone().into());
                    o.insert("site_id".into(), site_id.into());
                    o.insert("device_mac".into(), json!([w.switch]));
                    o.insert("port_id".into(), json!([w.port]));
                    o.insert("device_mac_port".into(), json!([pair]));
                    if let Some(ip) = &w.ip {
                        o.insert("ip".into(), json!([ip]));
                    }
                    if let Some(vlan) = w.vlan {
                        o.insert("vlan".into(), json!([vlan]));
                    }
                    o.insert("timestamp".into(), seconds(w.first_seen_ms).into());
                    Value::Object(o)
                })
                .collect(),
        )
    }
}

/// A port's current traffic (bit/s, from its latest line) and its byte counters.
fn traffic(o: &mut Map<String, Value>, line: &Value, rx_bytes: f64, tx_bytes: f64) {
    for (key, value) in [
        ("rx_bps", num(line, "rx_bps").unwrap_or(0.0)),
        ("tx_bps", num(line, "tx_bps").unwrap_or(0.0)),
        ("rx_bytes", rx_bytes),
        ("tx_bytes", tx_bytes),
    ] {
        o.insert(key.into(), (value.round() as i64).into());
    }
}

/// A client binding: joins and roams become webhook events (the IP with a `client-info`), a
/// wired attachment the wired client's row.
fn binding(
    site: &mut Site,
    org: &str,
    site_id: &str,
    line: &Value,
    time: i64,
    out: &mut Deliveries,
) {
    let Some(mac) = text(line, "client_mac").filter(|m| !m.is_empty()) else {
        return;
    };
    let ts = seconds(time);
    // Mist omits what it does not know: no nulls.
    let common = |extra: Value| {
        let mut e = json!({"mac": mac, "org_id": org, "site_id": site_id, "timestamp": ts});
        if let (Some(o), Value::Object(x)) = (e.as_object_mut(), extra) {
            o.extend(x.into_iter().filter(|(_, v)| !v.is_null()));
        }
        e
    };
    match line.get("kind").and_then(Value::as_str).unwrap_or("") {
        "join" => {
            out.entry("client-join").or_default().push(common(json!({
                "ap": text(line, "ap_mac"), "bssid": text(line, "bssid"),
                "band": text(line, "band").map(|b| band(&b).to_string()),
                "ssid": "corp", "connect": time / 1000, "connect_float": ts,
            })));
            if let Some(ip) = text(line, "client_ip") {
                out.entry("client-info")
                    .or_default()
                    .push(common(json!({"ip": ip})));
            }
        }
        "roam" => {
            out.entry("client-sessions")
                .or_default()
                .push(common(json!({
                    "ap": text(line, "ap_mac"), "bssid": text(line, "bssid"),
                    "band": text(line, "band").map(|b| band(&b).to_string()),
                    "next_ap": text(line, "next_ap_mac"), "termination_reason": 3,
                    "disconnect": time / 1000, "disconnect_float": ts,
                })));
        }
        "leave" => {
            out.entry("client-sessions")
                .or_default()
                .push(common(json!({
                    "ap": text(line, "ap_mac"), "bssid": text(line, "bssid"),
                    "disconnect": time / 1000, "disconnect_float": ts,
                })));
        }
        "wired_attach" => {
            let (Some(switch), Some(port)) = (text(line, "switch_mac"), text(line, "port_id"))
            else {
                return;
            };
            let known = site
                .wired
                .get(&mac)
                .filter(|w| w.switch == switch && w.port == port);
            let first_seen_ms = known.map_or(time, |w| w.first_seen_ms);
            // A new attachment authenticates: its NAC accounting START names the IP and port.
            if known.is_none()
                && let Some(ip) = text(line, "client_ip")
            {
                out.entry("nac-accounting").or_default().push(common(json!({
                    "type": "NAC_ACCOUNTING_START", "client_type": "wired", "client_ip": ip,
                    "device_mac": switch, "port_id": port, "auth_type": "mab",
                })));
            }
            site.wired.insert(
                mac.clone(),
                Wired {
                    switch,
                    port,
                    ip: text(line, "client_ip"),
                    vlan: line.get("vlan").and_then(Value::as_i64),
                    first_seen_ms,
                },
            );
        }
        _ => {}
    }
}

/// A network event: AP restarts, switch port downs and ups, WAN failovers become
/// `device-events` (a failover is its primary WAN port going down).
fn event(site: &mut Site, org: &str, site_id: &str, line: &Value, time: i64, out: &mut Deliveries) {
    let entity = text(line, "entity_id").unwrap_or_default();
    let ts = seconds(time);
    let device = |mac: &str, device_type: &str, kind: &str| {
        json!({"mac": mac, "org_id": org, "site_id": site_id, "timestamp": ts,
            "type": kind, "device_type": device_type})
    };
    match line.get("kind").and_then(Value::as_str).unwrap_or("") {
        "ap_restart" => {
            let mut e = device(&entity, "ap", "AP_RESTARTED");
            if let Some(reason) = text(line, "reason") {
                e["reason"] = reason.into();
            }
            out.entry("device-events").or_default().push(e);
        }
        kind @ ("port_down" | "port_up") => {
            let Some((switch, port)) = entity.split_once('/') else {
                return;
            };
            let mut e = device(
                switch,
                "switch",
                if kind == "port_down" {
                    "SW_PORT_DOWN"
                } else {
                    "SW_PORT_UP"
                },
            );
            e["port_id"] = port.into();
            if kind == "port_down"
                && let Some(p) = site
                    .switches
                    .get_mut(switch)
                    .and_then(|s| s.ports.get_mut(port))
            {
                p.last_flapped_ms = Some(time);
            }
            out.entry("device-events").or_default().push(e);
        }
        "wan_failover" => {
            let primary = site.gateway.as_ref().and_then(|g| {
                g.links
                    .iter()
                    .find(|(_, l)| l.wan_name.as_deref() != Some("backup"))
                    .map(|(port, _)| port.clone())
            });
            if let Some(port) = primary {
                let mut e = device(&entity, "gateway", "GW_PORT_DOWN");
                e["port_id"] = port.into();
                out.entry("device-events").or_default().push(e);
            }
        }
        _ => {}
    }
}
