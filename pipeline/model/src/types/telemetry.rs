//! `callsight.NetworkSample` and the observations it can carry.

use super::common::{EntityKind, WifiBand};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a client binding reports (`callsight.BindingKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "json-schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum BindingKind {
    /// Not recognised.
    #[default]
    Unknown,
    /// The client associated.
    Join,
    /// The client roamed to another AP.
    Roam,
    /// The client left.
    Leave,
    /// An IP address was learned for the client (DHCP, client info, NAC accounting).
    IpLearned,
    /// The client was seen on a switch port.
    WiredAttach,
}

/// Per-interval radio statistics of one Wi-Fi client (`callsight.WirelessClientSample`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "json-schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct WirelessClientSample {
    /// Client MAC.
    pub client_mac: String,
    /// The MAC is randomised.
    #[serde(default)]
    pub random_mac: bool,
    /// Client IP, when known.
    pub client_ip: Option<String>,
    /// AP the client is on.
    pub ap_mac: String,
    /// BSSID the client is on.
    pub bssid: Option<String>,
    /// Band.
    #[serde(default)]
    pub band: WifiBand,
    /// Channel.
    pub channel: Option<i32>,
    /// SSID.
    pub ssid: Option<String>,
    /// Signal, dBm.
    pub rssi_dbm: Option<f64>,
    /// Signal-to-noise ratio, dB.
    pub snr_db: Option<f64>,
    /// PHY rate towards the client, Mbit/s.
    pub tx_rate_mbps: Option<f64>,
    /// PHY rate from the client, Mbit/s.
    pub rx_rate_mbps: Option<f64>,
    /// Throughput towards the client, bit/s.
    pub tx_bps: Option<i64>,
    /// Throughput from the client, bit/s.
    pub rx_bps: Option<i64>,
    /// Retransmissions towards the client per second.
    pub tx_retries_per_s: Option<f64>,
    /// Retransmissions from the client per second.
    pub rx_retries_per_s: Option<f64>,
}

/// Where a client was attached, and with which IP, from a point in time (`callsight.ClientBinding`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "json-schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ClientBinding {
    /// Client MAC.
    pub client_mac: String,
    /// The MAC is randomised.
    #[serde(default)]
    pub random_mac: bool,
    /// What happened.
    #[serde(default)]
    pub kind: BindingKind,
    /// Client IP, when known.
    pub client_ip: Option<String>,
    /// AP (wireless).
    pub ap_mac: Option<String>,
    /// BSSID (wireless).
    pub bssid: Option<String>,
    /// Band (wireless).
    #[serde(default)]
    pub band: WifiBand,
    /// AP roamed to.
    pub next_ap_mac: Option<String>,
    /// Switch (wired).
    pub switch_mac: Option<String>,
    /// Switch port (wired).
    pub port_id: Option<String>,
    /// VLAN.
    pub vlan: Option<i32>,
    /// Signal at the event, dBm.
    pub rssi_dbm: Option<f64>,
    /// Length of the ended association, seconds.
    pub session_seconds: Option<f64>,
}

/// Per-interval health of one access point (`callsight.ApSample`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "json-schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ApSample {
    /// AP MAC.
    pub ap_mac: String,
    /// Seconds since boot.
    pub uptime_s: Option<f64>,
    /// CPU utilisation 0..1.
    pub cpu_util_ratio: Option<f64>,
    /// Associated clients.
    pub num_clients: Option<i32>,
    /// Runs with less PoE power than it needs.
    pub power_constrained: Option<bool>,
}

/// Per-interval statistics of one AP radio (`callsight.ApRadioSample`); utilisation in 0..1.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "json-schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ApRadioSample {
    /// AP MAC.
    pub ap_mac: String,
    /// Radio base MAC.
    pub radio_mac: Option<String>,
    /// Band.
    #[serde(default)]
    pub band: WifiBand,
    /// Channel.
    pub channel: Option<i32>,
    /// Channel width, MHz.
    pub bandwidth_mhz: Option<i32>,
    /// Transmit power, dBm.
    pub tx_power_dbm: Option<f64>,
    /// Noise floor, dBm.
    pub noise_floor_dbm: Option<f64>,
    /// Clients on the radio.
    pub num_clients: Option<i32>,
    /// Total channel utilisation.
    pub util_all_ratio: Option<f64>,
    /// Transmitting.
    pub util_tx_ratio: Option<f64>,
    /// Receiving frames of this BSS.
    pub util_rx_in_bss_ratio: Option<f64>,
    /// Receiving frames of other BSSs.
    pub util_rx_other_bss_ratio: Option<f64>,
    /// Non-Wi-Fi interference.
    pub util_non_wifi_ratio: Option<f64>,
    /// Undecodable Wi-Fi.
    pub util_undecodable_wifi_ratio: Option<f64>,
    /// Corrupted 802.11 frames.
    pub util_unknown_wifi_ratio: Option<f64>,
}

/// Per-interval statistics of one switch or gateway port (`callsight.SwitchPortSample`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "json-schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct SwitchPortSample {
    /// Switch (or gateway) MAC.
    pub switch_mac: String,
    /// Port, e.g. ge-0/0/1.
    pub port_id: String,
    /// Link up.
    pub up: bool,
    /// Negotiated speed, Mbit/s.
    pub speed_mbps: Option<i32>,
    /// Full duplex.
    pub full_duplex: Option<bool>,
    /// Received bit/s.
    pub rx_bps: Option<i64>,
    /// Transmitted bit/s.
    pub tx_bps: Option<i64>,
    /// Input errors per second.
    pub rx_errors_per_s: Option<f64>,
    /// Output errors per second.
    pub tx_errors_per_s: Option<f64>,
    /// Input discards per second.
    pub rx_drops_per_s: Option<f64>,
    /// Output discards per second.
    pub tx_drops_per_s: Option<f64>,
    /// Received packets per second.
    pub rx_pkts_per_s: Option<f64>,
    /// Transmitted packets per second.
    pub tx_pkts_per_s: Option<f64>,
    /// Last link state change, epoch ms.
    pub last_flapped_at: Option<i64>,
    /// LLDP neighbour chassis MAC.
    pub neighbor_mac: Option<String>,
    /// PoE power drawn, watts.
    pub poe_power_w: Option<f64>,
    /// Interval the rates cover, seconds.
    pub interval_s: Option<f64>,
}

/// Per-interval quality of one WAN path (`callsight.WanPathSample`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "json-schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct WanPathSample {
    /// Local gateway MAC.
    pub gateway_mac: String,
    /// Local WAN interface.
    pub wan_port_id: String,
    /// WAN link name.
    pub wan_name: Option<String>,
    /// Peer MAC; `None` for the underlay link itself.
    pub peer_mac: Option<String>,
    /// Peer interface.
    pub peer_port_id: Option<String>,
    /// Peer site.
    pub peer_site_id: Option<String>,
    /// ipsec, svr, or internet.
    pub path_type: Option<String>,
    /// Path up.
    pub up: bool,
    /// Active member of a redundant set.
    pub active: Option<bool>,
    /// Latency, ms.
    pub latency_ms: Option<f64>,
    /// Jitter, ms.
    pub jitter_ms: Option<f64>,
    /// Loss 0..1.
    pub loss_ratio: Option<f64>,
    /// Mean opinion score 0..5.
    pub mos: Option<f64>,
    /// Received bit/s.
    pub rx_bps: Option<i64>,
    /// Transmitted bit/s.
    pub tx_bps: Option<i64>,
    /// Contracted downstream capacity, bit/s.
    pub capacity_down_bps: Option<i64>,
    /// Contracted upstream capacity, bit/s.
    pub capacity_up_bps: Option<i64>,
}

/// Normalised kind of a network event (`callsight.NetworkEventKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "json-schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum NetworkEventKind {
    /// Anything else.
    #[default]
    Other,
    /// An AP restarted.
    ApRestart,
    /// An AP lost its cloud connection.
    ApDisconnected,
    /// An AP came back.
    ApConnected,
    /// A radio changed channel.
    RadioChannelChange,
    /// DFS radar forced a channel change.
    RadarDetected,
    /// A switch restarted.
    SwitchRestart,
    /// A port came up.
    PortUp,
    /// A port went down.
    PortDown,
    /// Storm control hit a port.
    PortStorm,
    /// A gateway restarted.
    GatewayRestart,
    /// A WAN link came up.
    WanLinkUp,
    /// A WAN link went down.
    WanLinkDown,
    /// A WAN path came up.
    WanPathUp,
    /// A WAN path went down.
    WanPathDown,
    /// Traffic failed over to another WAN link.
    WanFailover,
    /// An alarm.
    Alarm,
}

/// A discrete network event (`callsight.NetworkEvent`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "json-schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct NetworkEvent {
    /// Normalised kind.
    #[serde(default)]
    pub kind: NetworkEventKind,
    /// The vendor's own type, e.g. AP_RESTARTED.
    pub vendor_type: String,
    /// Kind of entity.
    #[serde(default)]
    pub entity_kind: EntityKind,
    /// Entity id: a MAC, or MAC/port.
    pub entity_id: String,
    /// Vendor's reason.
    pub reason: Option<String>,
    /// Other vendor fields that matter.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

/// The observation a [`NetworkSample`] carries (the Avro union, in schema order).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "json-schema", derive(schemars::JsonSchema))]
pub enum SampleBody {
    /// A Wi-Fi client's radio statistics.
    WirelessClient(WirelessClientSample),
    /// A client's attachment or IP.
    ClientBinding(ClientBinding),
    /// An AP's health.
    Ap(ApSample),
    /// An AP radio's statistics.
    ApRadio(ApRadioSample),
    /// A switch port's statistics.
    SwitchPort(SwitchPortSample),
    /// A WAN path's quality.
    WanPath(WanPathSample),
    /// A discrete event.
    Event(NetworkEvent),
}

/// One network observation at one event time (topic `net.telemetry`, key `org|site`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "json-schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct NetworkSample {
    /// Organization.
    pub org_id: String,
    /// Site.
    pub site_id: String,
    /// Event time, epoch ms.
    pub time: i64,
    /// Producer: mist, ndjson, snmp, sim, ...
    pub source: String,
    /// Source sequence number.
    #[serde(default)]
    pub sequence: i64,
    /// The observation.
    pub body: SampleBody,
}
